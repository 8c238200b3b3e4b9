//! Platform fakes that enforce published send limits: Telegram's Bot API and WhatsApp's Cloud API answering 429 to any send beyond a chat's or a token's allowance, and counting what they took and refused.

use crate::fakes::{load_server, mount_other_methods, sent_message};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A token bucket: `per_second` refill up to `capacity`. A fake's capacity only absorbs the
/// jitter between a paced sender's clock and the fake's: the rate is what it enforces.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub per_second: f64,
    pub capacity: f64,
}

/// The two allowances a send draws on.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_chat: Bucket,
    pub per_token: Bucket,
}

impl Limits {
    /// Telegram: about a message a second in a chat, 30 a second per bot.
    pub const TELEGRAM: Self = Self {
        per_chat: Bucket {
            per_second: 1.0,
            capacity: 2.0,
        },
        per_token: Bucket {
            per_second: 30.0,
            capacity: 5.0,
        },
    };

    /// WhatsApp: a message every 6 s to one user (the pair limit), 80 a second per number.
    pub const WHATSAPP: Self = Self {
        per_chat: Bucket {
            per_second: 1.0 / 6.0,
            capacity: 2.0,
        },
        per_token: Bucket {
            per_second: 80.0,
            capacity: 10.0,
        },
    };
}

/// What the fake took and refused.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub sent: u64,
    pub refused: u64,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

impl Tally {
    /// Accepted sends a second, from the first to the last.
    pub fn throughput(&self) -> f64 {
        match (self.first, self.last) {
            (Some(first), Some(last)) if self.sent > 1 => {
                (self.sent - 1) as f64 / (last - first).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[derive(Default)]
struct Books {
    levels: HashMap<String, (f64, Instant)>,
    tally: Tally,
}

impl Books {
    /// Takes a unit from the bucket under `key` if it has one.
    fn take(&mut self, key: &str, bucket: Bucket, now: Instant) -> bool {
        let (level, at) = self
            .levels
            .get(key)
            .copied()
            .unwrap_or((bucket.capacity, now));
        let level = (level + (now - at).as_secs_f64() * bucket.per_second).min(bucket.capacity);
        let taken = level >= 1.0;
        let left = if taken { level - 1.0 } else { level };
        self.levels.insert(key.to_owned(), (left, now));
        taken
    }

    /// A send to `chat` with `token`: taken from both buckets, or refused.
    fn admit(&mut self, limits: Limits, token: &str, chat: &str) -> bool {
        let now = Instant::now();
        let chat_key = format!("{token}/{chat}");
        // Each bucket is checked on its own, as the platform's limits are.
        let chat_ok = self.take(&chat_key, limits.per_chat, now);
        let token_ok = self.take(token, limits.per_token, now);
        let admitted = chat_ok && token_ok;
        let tally = &mut self.tally;
        if admitted {
            tally.sent += 1;
            tally.first.get_or_insert(now);
            tally.last = Some(now);
        } else {
            tally.refused += 1;
        }
        admitted
    }
}

pub struct LimitedPlatform {
    pub server: MockServer,
    books: Arc<Mutex<Books>>,
}

impl LimitedPlatform {
    /// Telegram's Bot API: `sendMessage` under [`Limits::TELEGRAM`], the bot's token read
    /// from the path; the other methods succeed.
    pub async fn telegram() -> Self {
        let too_many = json!({"ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}});
        let fake = Self::start(
            r"(?i)^/bot[^/]+/sendMessage$",
            Limits::TELEGRAM,
            |request| {
                let token = request.url.path().split('/').nth(1).unwrap_or_default();
                let body: Value = request.body_json().unwrap_or(Value::Null);
                (token.to_owned(), body["chat_id"].to_string())
            },
            (
                sent_message(),
                ResponseTemplate::new(429).set_body_json(too_many),
            ),
        )
        .await;
        mount_other_methods(&fake.server).await;
        fake
    }

    /// WhatsApp's Cloud API: `/{phone_number_id}/messages` under [`Limits::WHATSAPP`]; a send
    /// beyond the pair limit is refused as Meta does (error 131056).
    pub async fn whatsapp() -> Self {
        let sent = json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.out"}]});
        let pair_limit = json!({"error": {"message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            "type": "OAuthException", "code": 131056}});
        Self::start(
            r"^/v21\.0/[0-9]+/messages$",
            Limits::WHATSAPP,
            |request| {
                let number = request.url.path().split('/').nth(2).unwrap_or_default();
                let body: Value = request.body_json().unwrap_or(Value::Null);
                (number.to_owned(), body["to"].to_string())
            },
            (sent, ResponseTemplate::new(400).set_body_json(pair_limit)),
        )
        .await
    }

    /// A fake answering sends on `route` with `answers.0`, or `answers.1` beyond `limits`;
    /// `who` names a send's token and chat.
    async fn start(
        route: &str,
        limits: Limits,
        who: fn(&Request) -> (String, String),
        answers: (Value, ResponseTemplate),
    ) -> Self {
        let server = load_server().await;
        let books: Arc<Mutex<Books>> = Arc::default();
        let (ledger, (sent, refused)) = (books.clone(), answers);
        let ok = ResponseTemplate::new(200).set_body_json(sent);
        Mock::given(method("POST"))
            .and(path_regex(route))
            .respond_with(move |request: &Request| {
                let (token, chat) = who(request);
                let admitted = ledger.lock().expect("books").admit(limits, &token, &chat);
                if admitted {
                    ok.clone()
                } else {
                    refused.clone()
                }
            })
            .mount(&server)
            .await;
        Self { server, books }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    pub fn tally(&self) -> Tally {
        self.books.lock().expect("books").tally.clone()
    }

    /// Waits until `count` sends were taken, or `timeout` passes; the tally then.
    pub async fn wait_for_sent(&self, count: u64, timeout: Duration) -> Tally {
        let deadline = Instant::now() + timeout;
        while self.tally().sent < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.tally()
    }
}
