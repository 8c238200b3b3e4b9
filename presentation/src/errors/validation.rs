//! Input validation failures (the domain's and validator's) translated to a 422's field errors.

use super::{ApiError, FieldError};

impl From<domain::ValidationError> for ApiError {
    fn from(err: domain::ValidationError) -> Self {
        Self::invalid(err.field, err.reason)
    }
}

impl From<validator::ValidationErrors> for ApiError {
    /// Every invalid field with its first failure, in name order so the answer is stable.
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields: Vec<FieldError> = errors
            .field_errors()
            .into_iter()
            .map(|(name, failures)| FieldError {
                field: name,
                reason: failures
                    .first()
                    .map_or_else(|| "is invalid".to_owned(), describe),
            })
            .collect();
        if fields.is_empty() {
            return Self::invalid("body", "is invalid");
        }
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        Self::Invalid(fields)
    }
}

/// A validator failure as a sentence fragment: `must be 1-100 characters`.
fn describe(error: &validator::ValidationError) -> String {
    if let Some(message) = &error.message {
        return message.to_string();
    }
    let param = |name: &str| error.params.get(name).map(ToString::to_string);
    match error.code.as_ref() {
        "required" => "is required".into(),
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min}-{max} characters"),
            (None, Some(max)) => format!("must be at most {max} characters"),
            (Some(min), None) => format!("must be at least {min} characters"),
            (None, None) => "has an invalid length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            _ => "is out of range".into(),
        },
        code => format!("is invalid ({code})"),
    }
}
