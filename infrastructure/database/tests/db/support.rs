//! Fixtures shared by the tests: bots, inbound records, fixed times and raw-SQL probes.

use application::ports::{ClaimedJob, InboundRecord, JobQueue, Ledger, Recorded, ReplyStored};
use chrono::{DateTime, Utc};
use database::{SeaStore, Sealer};
use domain::repositories::{BotRepository, MessageRepository};
use domain::{
    Bot, BotDraft, BotId, BotName, ConversationId, Cost, Credentials, DiscordCredentials,
    ExternalChatId, ExternalMessageId, Message, MessageContent, MessageId, MessengerCredentials,
    Page, PageRequest, PlatformBinding, PlatformKind, RepoError, SystemPrompt, TelegramCredentials,
    Temperature, TokenUsage, WhatsappCredentials,
};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};
use std::future::Future;
use std::time::Duration;

/// A fixed instant (whole milliseconds, as stored) plus `secs` seconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_900_000_000_000 + secs * 1000).unwrap()
}

/// Now, truncated to the milliseconds the database keeps.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

pub const LEASE: Duration = Duration::from_secs(30);

pub fn draft(name: &str) -> BotDraft {
    BotDraft {
        name: BotName::parse(name).unwrap(),
        system_prompt: SystemPrompt::parse("Be brief.").unwrap(),
        model: Some("gpt-4o-mini".into()),
        temperature: Some(Temperature::parse(0.7).unwrap()),
        fallback_message: None,
        handoff: domain::HandoffPolicy::default(),
        provider_id: None,
        guardrails: Default::default(),
        replies: Default::default(),
        lifecycle: Default::default(),
    }
}

pub async fn new_bot(store: &SeaStore, name: &str) -> Bot {
    let bot = Bot::create(draft(name), now());
    store.insert(&bot).await.unwrap();
    bot
}

pub fn record(bot_id: BotId, chat: &str, external_id: &str, secs: i64) -> InboundRecord {
    InboundRecord {
        bot_id,
        platform: PlatformKind::Telegram,
        chat: ExternalChatId::parse(chat).unwrap(),
        external_id: ExternalMessageId::parse(external_id).unwrap(),
        content: MessageContent::text(format!("message {external_id}")),
        reply_handle: None,
        received_at: at(secs),
        trace_parent: None,
    }
}

/// Records a message that must be new; returns what was stored.
pub async fn receive(store: &SeaStore, bot_id: BotId, chat: &str, external_id: &str) -> Recorded {
    let recorded = store
        .record_inbound(&record(bot_id, chat, external_id, 0))
        .await
        .unwrap();
    assert!(matches!(recorded, Recorded::New { .. }), "{recorded:?}");
    recorded
}

/// [`receive`]d as new: its conversation and message.
pub async fn received(
    store: &SeaStore,
    bot_id: BotId,
    chat: &str,
    external_id: &str,
) -> (ConversationId, MessageId) {
    match receive(store, bot_id, chat, external_id).await {
        Recorded::New {
            conversation_id,
            message_id,
            ..
        } => (conversation_id, message_id),
        other => unreachable!("{other:?}"),
    }
}

/// A whole turn in `chat`: `external_id` received at `at(received)`, answered at `at(replied)`
/// with `usage`, the answer's delivery completed (the reply stays pending). Returns the stored
/// reply.
pub async fn answered_turn(
    store: &SeaStore,
    bot_id: BotId,
    chat: &str,
    external_id: &str,
    times: (i64, i64),
    usage: Option<TokenUsage>,
) -> Message {
    priced_turn(store, bot_id, chat, external_id, times, usage, None).await
}

/// [`answered_turn`], the reply costing `cost`.
pub async fn priced_turn(
    store: &SeaStore,
    bot_id: BotId,
    chat: &str,
    external_id: &str,
    (received, replied): (i64, i64),
    usage: Option<TokenUsage>,
    cost: Option<Cost>,
) -> Message {
    let recorded = store
        .record_inbound(&record(bot_id, chat, external_id, received))
        .await
        .unwrap();
    let Recorded::New { message_id, .. } = recorded else {
        panic!("{external_id} was a duplicate")
    };
    let job = claim_at(store, replied).await.unwrap();
    let inbound = MessageRepository::get(store, message_id)
        .await
        .unwrap()
        .unwrap();
    let reply = Message::reply(&inbound, "answer", at(replied)).with_usage(usage, cost);
    let ReplyStored::Delivering(delivery) = store.store_reply(&job, &reply).await.unwrap() else {
        panic!("{external_id}'s reply was not stored")
    };
    assert!(store.complete(&delivery).await.unwrap());
    reply
}

/// Claims one job at `at(secs)` with the standard lease.
pub async fn claim_at(store: &SeaStore, secs: i64) -> Option<ClaimedJob> {
    let claimed = store.claim(at(secs), LEASE, 1).await.unwrap();
    assert!(claimed.len() <= 1, "a claim of one took {}", claimed.len());
    claimed.into_iter().next()
}

pub async fn count(store: &SeaStore, sql: &str) -> i64 {
    let db = store.connection();
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

pub async fn text(store: &SeaStore, sql: &str) -> Option<String> {
    let db = store.connection();
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()?;
    row.try_get_by_index::<Option<String>>(0).unwrap()
}

pub async fn exec(store: &SeaStore, sql: &str) {
    store.connection().execute_unprepared(sql).await.unwrap();
}

/// Reads a listing `limit` items at a time to its end: every item in order, and how many pages.
pub async fn all_pages<T, F, Fut>(limit: u32, mut list: F) -> (Vec<T>, usize)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, RepoError>>,
{
    let (mut items, mut pages) = (Vec::new(), 0);
    let mut request = PageRequest::new(None, Some(limit));
    loop {
        let page = list(request).await.unwrap();
        pages += 1;
        items.extend(page.items);
        let Some(cursor) = page.next_cursor else {
            return (items, pages);
        };
        request = PageRequest::new(Some(cursor), Some(limit));
    }
}

/// Reverts the newest migrations until only the first `kept` remain applied.
pub async fn migrate_down_to(store: &SeaStore, kept: usize) {
    let steps = Migrator::migrations().len() - kept;
    let steps = u32::try_from(steps).unwrap();
    Migrator::down(store.connection(), Some(steps))
        .await
        .unwrap();
}

/// Two master keys for the sealing tests (`openssl rand -base64 32`, once each).
pub const MASTER_KEY: &str = "q2v9vQ0m3T0yqkq9y4x6m1Yt9Gx2fS0n4bYHq4uV1lE=";
pub const OTHER_MASTER_KEY: &str = "Zk9yKqS2mX0vT3pW8nB1cD4eF7gH0iJ2kL5mN8oP1qQ=";

pub fn sealer(key: &str) -> Sealer {
    Sealer::from_base64(key).unwrap()
}

/// Every secret in [`every_binding`]: a dump of a sealed database must hold none of them.
pub const PLATFORM_SECRETS: [&str; 9] = [
    "7301:telegram-bot-token-c0ffee-5a6b7c8d9e",
    "telegram-webhook-secret-1a2b",
    "ZGlzY29yZA.Ym90.discord-bot-token-5e6f7a8b",
    "messenger-page-token-9c0d",
    "a55e55e9e55e9ae55e9a000000001e2f",
    "messenger-verify-token-3a4b",
    "whatsapp-access-token-5c6d",
    "3a55a9955a9955a99000000000007e8f",
    "whatsapp-verify-token-9a0b",
];

/// A Telegram token of the real shape that starts `start` (`"1:a"`: the bot `1`).
pub fn telegram_token(start: &str) -> String {
    format!("{start}-AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
}

/// A Discord bot token of the real shape, told apart from others by `tag`.
pub fn discord_token(tag: &str) -> String {
    format!("MTk4NjIyNDgzNDcxOTI1MjQ4.{tag}.ZnCjm1XVW7vRze4b7Cq4se7kKWs")
}

/// A binding of each platform for `bot_id`, carrying [`PLATFORM_SECRETS`].
pub fn every_binding(bot_id: BotId) -> [PlatformBinding; 4] {
    let [tg_token, tg_secret, dc_token, ms_token, ms_app, ms_verify, wa_token, wa_app, wa_verify] =
        PLATFORM_SECRETS;
    let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let credentials = [
        Credentials::Telegram(TelegramCredentials::parse(tg_token, tg_secret).unwrap()),
        Credentials::Discord(
            DiscordCredentials::parse("81384788765712384", key, dc_token).unwrap(),
        ),
        Credentials::Messenger(
            MessengerCredentials::parse("104233455667788", ms_token, ms_app, ms_verify).unwrap(),
        ),
        Credentials::Whatsapp(
            WhatsappCredentials::parse("109876543210987", wa_token, wa_app, wa_verify).unwrap(),
        ),
    ];
    credentials.map(|credentials| PlatformBinding::new(bot_id, credentials, at(0)))
}

/// The `platform_bindings.credentials` column of one row, as stored.
pub async fn stored_credentials(store: &SeaStore, bot_id: BotId, platform: &str) -> String {
    let sql = format!(
        "SELECT credentials FROM platform_bindings WHERE bot_id = '{bot_id}' AND platform = '{platform}'"
    );
    text(store, &sql).await.unwrap()
}

/// One inbound record through the ledger's batch write, as the intake writer stores a lone
/// webhook.
#[async_trait::async_trait]
pub trait RecordOne {
    async fn record_inbound(&self, record: &InboundRecord) -> Result<Recorded, RepoError>;
}

#[async_trait::async_trait]
impl RecordOne for SeaStore {
    async fn record_inbound(&self, record: &InboundRecord) -> Result<Recorded, RepoError> {
        let mut recorded = self
            .record_inbound_batch(std::slice::from_ref(record))
            .await?;
        assert_eq!(recorded.len(), 1, "one answer for one record");
        Ok(recorded.remove(0))
    }
}
