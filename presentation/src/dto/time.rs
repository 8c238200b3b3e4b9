//! Times in queries: strict RFC 3339, so a value that does not parse is a bad query (400).

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// An RFC 3339 time: a date, a time and an offset (`Z` or `+01:00`).
pub fn rfc3339<'de, D>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|at| Some(at.with_timezone(&Utc)))
        .map_err(|err| D::Error::custom(format!("`{text}` is not an RFC 3339 time: {err}")))
}
