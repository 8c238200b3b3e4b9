//! Gateway mode with serenity: one connection per bot receives direct messages and mentions, and records each for a reply.

use application::backoff::backoff_delay;
use application::ports::{Gateway, GatewayConnection, InboundMessage};
use application::ReceiveWebhook;
use async_trait::async_trait;
use domain::{
    BotId, Credentials, ExternalChatId, ExternalMessageId, MessageContent, PlatformBinding,
    PlatformKind,
};
use serenity::all::{
    Client, ClientBuilder, Context, EventHandler, GatewayIntents, HttpBuilder, Message, Ready,
    ShardManager, UserId,
};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use crate::rest::{base_url, BuildError};

/// How long a closing connection may take before its task is aborted.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a message is offered to the store before it is given up (Discord never resends),
/// and the backoff between the attempts.
const RECORD_ATTEMPTS: u32 = 6;
const RECORD_RETRY_BASE: Duration = Duration::from_millis(500);
const RECORD_RETRY_CAP: Duration = Duration::from_secs(16);

/// Guild messages (for mentions), direct messages, and their text.
fn intents() -> GatewayIntents {
    GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// Opens serenity clients whose REST calls (the gateway URL among them) go to the origin of
/// `discord.api_url`, and records what they receive through [`ReceiveWebhook::record`].
#[derive(Clone)]
pub struct DiscordGateway {
    origin: String,
    receive: Arc<ReceiveWebhook>,
}

impl DiscordGateway {
    /// `api_url` must end in `/api/v10`, as serenity's routes do; its scheme, host and port
    /// replace `https://discord.com`.
    pub fn new(api_url: &str, receive: Arc<ReceiveWebhook>) -> Result<Self, BuildError> {
        Ok(Self {
            origin: origin(api_url)?,
            receive,
        })
    }
}

/// The origin of an API URL that [`base_url`] accepts and whose path is `/api/v10`.
fn origin(api_url: &str) -> Result<String, BuildError> {
    let url = Url::parse(&base_url(api_url)?).map_err(|e| BuildError::ApiUrl {
        url: api_url.to_owned(),
        reason: e.to_string(),
    })?;
    if url.path() != "/api/v10" {
        return Err(BuildError::ApiUrl {
            url: api_url.to_owned(),
            reason: "the gateway needs a URL ending in /api/v10".to_owned(),
        });
    }
    Ok(url.origin().ascii_serialization())
}

#[async_trait]
impl Gateway for DiscordGateway {
    async fn connect(&self, binding: &PlatformBinding) -> Box<dyn GatewayConnection> {
        let shards = Arc::new(OnceLock::new());
        let (task, recorder) = match &binding.credentials {
            Credentials::Discord(credentials) => {
                // Serenity's rate limiter ignores the proxy; this client only asks for the
                // gateway URL, once per connection.
                let http = HttpBuilder::new(credentials.bot_token.expose())
                    .proxy(self.origin.clone())
                    .ratelimiter_disabled(true)
                    .build();
                let (events, queue) = mpsc::unbounded_channel();
                let recorder =
                    tokio::spawn(record_in_order(queue, binding.bot_id, self.receive.clone()));
                let builder =
                    ClientBuilder::new_with_http(http, intents()).event_handler(Handler { events });
                let task = tokio::spawn(run(builder, binding.bot_id, shards.clone()));
                (task, Some(recorder))
            }
            _ => (
                tokio::spawn(async {
                    tracing::warn!("not a Discord binding: no gateway connection");
                }),
                None,
            ),
        };
        Box::new(SerenityConnection {
            shards,
            task,
            recorder,
        })
    }
}

/// Builds the client (asking for the gateway URL) and runs it until it ends or is shut down.
async fn run(builder: ClientBuilder, bot_id: BotId, shards: Arc<OnceLock<Arc<ShardManager>>>) {
    let mut client: Client = match builder.await {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%bot_id, %error, "cannot set up the Discord gateway client");
            return;
        }
    };
    let _ = shards.set(client.shard_manager.clone());
    match client.start().await {
        Ok(()) => tracing::info!(%bot_id, "Discord gateway connection closed"),
        Err(error) => tracing::error!(%bot_id, %error, "Discord gateway connection ended"),
    }
}

/// A running serenity client.
struct SerenityConnection {
    shards: Arc<OnceLock<Arc<ShardManager>>>,
    task: JoinHandle<()>,
    /// Records the connection's messages one at a time; ends when the client does.
    recorder: Option<JoinHandle<()>>,
}

#[async_trait]
impl GatewayConnection for SerenityConnection {
    fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    async fn close(&mut self) {
        if let Some(shards) = self.shards.get() {
            shards.shutdown_all().await;
        }
        // The client is gone, and with it the queue's sender: the recorder drains what is left.
        for task in [Some(&mut self.task), self.recorder.as_mut()]
            .into_iter()
            .flatten()
        {
            if tokio::time::timeout(CLOSE_TIMEOUT, &mut *task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SerenityConnection {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(recorder) = &self.recorder {
            recorder.abort();
        }
    }
}

/// What the handler passes on, in the order the gateway delivered it.
enum Event {
    Ready(UserId),
    Message(Box<Message>),
}

/// Serenity runs each handler call in a task of its own; the handler only queues the events,
/// so that one recorder stores them one after another.
struct Handler {
    events: mpsc::UnboundedSender<Event>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, "Discord gateway ready");
        let _ = self.events.send(Event::Ready(ready.user.id));
    }

    async fn message(&self, _: Context, message: Message) {
        let _ = self.events.send(Event::Message(Box::new(message)));
    }
}

/// Records the queued messages in order; those that come before READY (which names the bot's
/// own user) wait for it.
async fn record_in_order(
    mut events: mpsc::UnboundedReceiver<Event>,
    bot_id: BotId,
    receive: Arc<ReceiveWebhook>,
) {
    let mut me = None;
    let mut early: Vec<Box<Message>> = Vec::new();
    while let Some(event) = events.recv().await {
        match (event, me) {
            (Event::Ready(id), _) => {
                me = Some(id);
                for message in std::mem::take(&mut early) {
                    record_meant(&receive, bot_id, &message, id).await;
                }
            }
            (Event::Message(message), None) => early.push(message),
            (Event::Message(message), Some(me)) => {
                record_meant(&receive, bot_id, &message, me).await;
            }
        }
    }
}

/// Records `message` if it is meant for the bot `me`.
async fn record_meant(receive: &ReceiveWebhook, bot_id: BotId, message: &Message, me: UserId) {
    if let Some(inbound) = inbound(message, me) {
        record_with_retry(receive, bot_id, inbound).await;
    }
}

/// Stores one message, retrying a storage outage with backoff: Discord will not resend it.
async fn record_with_retry(receive: &ReceiveWebhook, bot_id: BotId, message: InboundMessage) {
    for attempt in 0..RECORD_ATTEMPTS {
        match receive
            .record(bot_id, PlatformKind::Discord, message.clone())
            .await
        {
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(%bot_id, %error, attempt, "a gateway message was not recorded");
            }
        }
        if attempt + 1 < RECORD_ATTEMPTS {
            tokio::time::sleep(backoff_delay(
                attempt + 1,
                RECORD_RETRY_BASE,
                RECORD_RETRY_CAP,
            ))
            .await;
        }
    }
    tracing::error!(%bot_id, "a gateway message was given up after {RECORD_ATTEMPTS} attempts");
}

/// The message to answer, if it is one: not from a bot (this one included), and either direct
/// or mentioning `me` (the mention taken out of the text).
pub(crate) fn inbound(message: &Message, me: UserId) -> Option<InboundMessage> {
    if message.author.bot || message.author.id == me {
        return None;
    }
    let direct = message.guild_id.is_none();
    let mentioned = message.mentions.iter().any(|user| user.id == me);
    if !direct && !mentioned {
        return None;
    }
    let text = without_mentions_of(&message.content, me);
    if text.is_empty() {
        return None;
    }
    Some(InboundMessage::new(
        ExternalMessageId::parse(message.id.to_string()).ok()?,
        ExternalChatId::parse(message.channel_id.to_string()).ok()?,
        MessageContent::text(text),
    ))
}

/// `text` without `<@me>` and `<@!me>`, spaces collapsed at the seams and trimmed.
fn without_mentions_of(text: &str, me: UserId) -> String {
    let stripped = text
        .replace(&format!("<@{me}>"), " ")
        .replace(&format!("<@!{me}>"), " ");
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const ME: u64 = 1_000_000_000_000_001;

    fn user(id: u64, bot: bool) -> Value {
        json!({"id": id.to_string(), "username": "u", "discriminator": "0", "avatar": null,
               "bot": bot})
    }

    fn message(author: Value, guild: Option<&str>, content: &str, mentions: Vec<Value>) -> Message {
        let mut message = json!({
            "id": "1200000000000000001", "channel_id": "1300000000000000001",
            "author": author, "content": content, "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false,
            "mentions": mentions, "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": false, "type": 0
        });
        if let Some(guild) = guild {
            message["guild_id"] = json!(guild);
        }
        serde_json::from_value(message).unwrap()
    }

    fn text(inbound: Option<InboundMessage>) -> Option<String> {
        inbound.map(|m| m.content.as_text().unwrap().to_owned())
    }

    #[test]
    fn a_direct_message_from_a_user_is_answered_in_its_channel() {
        let dm = message(user(42, false), None, " hello ", vec![]);
        let inbound = inbound(&dm, UserId::new(ME)).unwrap();
        assert_eq!(inbound.external_id.as_str(), "1200000000000000001");
        assert_eq!(inbound.chat.as_str(), "1300000000000000001");
        assert_eq!(inbound.content, MessageContent::text("hello"));
        assert!(inbound.reply_handle.is_none());
    }

    #[test]
    fn bots_and_unmentioning_guild_messages_are_ignored() {
        let me = UserId::new(ME);
        assert_eq!(
            text(inbound(&message(user(7, true), None, "beep", vec![]), me)),
            None
        );
        assert_eq!(
            text(inbound(&message(user(ME, true), None, "echo", vec![]), me)),
            None
        );
        let chatter = message(user(42, false), Some("99"), "hi all", vec![]);
        assert_eq!(text(inbound(&chatter, me)), None);
        let other = message(user(42, false), Some("99"), "<@5> hi", vec![user(5, false)]);
        assert_eq!(text(inbound(&other, me)), None);
    }

    #[test]
    fn a_mention_in_a_guild_is_answered_without_the_mention() {
        let me = UserId::new(ME);
        let mention = message(
            user(42, false),
            Some("99"),
            &format!("<@{ME}> what is  up? <@!{ME}>"),
            vec![user(ME, true)],
        );
        assert_eq!(text(inbound(&mention, me)).unwrap(), "what is up?");
        let bare = message(
            user(42, false),
            Some("99"),
            &format!("<@{ME}>"),
            vec![user(ME, true)],
        );
        assert_eq!(text(inbound(&bare, me)), None, "nothing to answer");
    }

    #[test]
    fn the_origin_of_the_api_url_replaces_discord_com() {
        assert_eq!(
            origin("https://discord.com/api/v10").unwrap(),
            "https://discord.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:4567/api/v10/").unwrap(),
            "http://127.0.0.1:4567"
        );
        assert!(origin("http://127.0.0.1:4567/v10").is_err());
        assert!(origin("nope").is_err());
    }
}
