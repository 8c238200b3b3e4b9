//! `switchboard bots create|list`: bots in the configured database, no server needed.

use crate::cli::{BotsAction, NewBot};
use crate::commands::CommandError;
use crate::listing::{all_pages, print_listing, printable, when};
use crate::run::connect_store;
use crate::settings::Settings;
use application::ports::SystemClock;
use application::BotAdmin;
use domain::repositories::BotRepository;
use domain::{Bot, BotDraft};
use presentation::dto::{BotBody, CreateBot};
use std::sync::Arc;

pub async fn bots(settings: &Settings, action: BotsAction) -> Result<(), CommandError> {
    let store = Arc::new(connect_store(settings).await?);
    match action {
        BotsAction::Create(new) => {
            create(
                BotAdmin::new(store.clone(), store, Arc::new(SystemClock)),
                new,
            )
            .await
        }
        BotsAction::List { json } => list(store.as_ref(), json).await,
    }
}

/// The fields as a draft, refused with the field named as the API would.
fn draft(new: NewBot) -> Result<BotDraft, CommandError> {
    let request = CreateBot {
        name: Some(new.name),
        system_prompt: Some(new.system_prompt),
        model: new.model,
        temperature: new.temperature,
        fallback_message: new.fallback_message,
        handoff_keywords: None,
        handoff_message: None,
        handoff_idle_minutes: None,
        provider_id: None,
        budget: None,
        budget_message: None,
        moderation: None,
        blocked_terms: None,
        moderation_message: None,
        rate_limit: None,
        rate_limit_message: None,
        debounce_ms: None,
        streaming: None,
        window_template: None,
        mcp_servers: None,
        vision: None,
        idle_timeout: None,
        retention_days: None,
    };
    request
        .into_draft()
        .map_err(|e| CommandError::Failed(format!("invalid bot: {e}")))
}

/// Prints the new bot's id alone on stdout; what it is goes to stderr.
async fn create(admin: BotAdmin, new: NewBot) -> Result<(), CommandError> {
    let bot = admin
        .create(draft(new)?)
        .await
        .map_err(|e| CommandError::Failed(format!("cannot create the bot: {e}")))?;
    eprintln!("created bot `{}`; its id:", printable(bot.name.as_str()));
    println!("{}", bot.id);
    Ok(())
}

async fn list(bots: &dyn BotRepository, json: bool) -> Result<(), CommandError> {
    let all = all_pages("bots", |request| async move { bots.list(&request).await }).await?;
    print_listing::<_, BotBody, 6>(all, json, COLUMNS, row)
}

const COLUMNS: [&str; 6] = ["ID", "NAME", "STATUS", "MODEL", "TEMPERATURE", "CREATED"];

fn row(bot: &Bot) -> [String; 6] {
    [
        bot.id.to_string(),
        bot.name.as_str().to_owned(),
        bot.status().as_str().to_owned(),
        bot.model.clone().unwrap_or_else(|| "-".to_owned()),
        bot.temperature
            .map_or_else(|| "-".to_owned(), |t| t.value().to_string()),
        when(Some(bot.created_at)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{BotName, SystemPrompt, Temperature};

    fn new_bot(name: &str, temperature: Option<f32>) -> NewBot {
        NewBot {
            name: name.to_owned(),
            system_prompt: String::new(),
            model: None,
            temperature,
            fallback_message: None,
        }
    }

    #[test]
    fn fields_are_checked_like_the_api_checks_them() {
        let ok = draft(new_bot(" Ada ", Some(0.5))).unwrap();
        assert_eq!(ok.name, BotName::parse("Ada").unwrap());
        assert_eq!(ok.system_prompt, SystemPrompt::parse("").unwrap());
        assert_eq!(ok.temperature, Some(Temperature::parse(0.5).unwrap()));
        for (new, field) in [
            (new_bot("  ", None), "name"),
            (new_bot("Ada", Some(2.5)), "temperature"),
            (
                NewBot {
                    model: Some(String::new()),
                    ..new_bot("Ada", None)
                },
                "model",
            ),
        ] {
            let message = draft(new).unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("invalid bot: {field}: ")),
                "{message}"
            );
        }
    }
}
