//! A fake Discord gateway on loopback: HELLO, then READY and the scripted events once the client IDENTIFYs; heartbeats acknowledged.

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The gateway's own user id for the bot.
pub const BOT_USER: &str = "1000000000000000001";

pub struct FakeGateway {
    pub url: String,
    /// The `d` of every IDENTIFY received, one per connection that got that far.
    pub identifies: Arc<Mutex<Vec<Value>>>,
}

impl FakeGateway {
    /// Serves every connection: HELLO, then on IDENTIFY a READY for [`BOT_USER`] and `events`
    /// (dispatches as `(name, data)`).
    pub async fn start(application_id: &str, events: Vec<(&'static str, Value)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let identifies = Arc::new(Mutex::new(Vec::new()));
        let script = Script {
            ready: ready(application_id, &url),
            events,
            identifies: identifies.clone(),
        };
        let script = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(script.clone().serve(stream));
            }
        });
        Self { url, identifies }
    }

    pub fn identifies(&self) -> Vec<Value> {
        self.identifies.lock().unwrap().clone()
    }
}

struct Script {
    ready: Value,
    events: Vec<(&'static str, Value)>,
    identifies: Arc<Mutex<Vec<Value>>>,
}

impl Script {
    async fn serve(self: Arc<Self>, stream: TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}});
        if send(&mut ws, hello).await.is_err() {
            return;
        }
        while let Some(Ok(frame)) = ws.next().await {
            let Message::Text(text) = frame else {
                continue;
            };
            let payload: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let answered = match payload["op"].as_u64() {
                Some(1) => send(&mut ws, json!({"op": 11})).await,
                Some(2) => self.identified(&mut ws, payload["d"].clone()).await,
                _ => Ok(()),
            };
            if answered.is_err() {
                return;
            }
        }
    }

    async fn identified(
        &self,
        ws: &mut WebSocketStream<TcpStream>,
        identify: Value,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.identifies.lock().unwrap().push(identify);
        let dispatches = std::iter::once(("READY", self.ready.clone())).chain(self.events.clone());
        for (sequence, (name, data)) in dispatches.enumerate() {
            send(
                ws,
                json!({"op": 0, "s": sequence + 1, "t": name, "d": data}),
            )
            .await?;
        }
        Ok(())
    }
}

async fn send(
    ws: &mut WebSocketStream<TcpStream>,
    payload: Value,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    ws.send(Message::Text(payload.to_string())).await
}

/// A user object; `bot` marks bots.
pub fn user(id: &str, name: &str, bot: bool) -> Value {
    json!({"id": id, "username": name, "discriminator": "0", "global_name": null,
           "avatar": null, "bot": bot})
}

fn ready(application_id: &str, url: &str) -> Value {
    json!({
        "v": 10, "user": user(BOT_USER, "switchboard", true), "guilds": [],
        "session_id": "fake-session", "resume_gateway_url": url, "shard": [0, 1],
        "application": {"id": application_id, "flags": 0}
    })
}

/// A MESSAGE_CREATE's data: `id` in `channel` (a guild's when `guild` is set) by `author`.
pub fn message(
    id: &str,
    channel: &str,
    guild: Option<&str>,
    author: Value,
    content: &str,
    mentions: Vec<Value>,
) -> Value {
    let mut message = json!({
        "id": id, "channel_id": channel, "author": author, "content": content,
        "timestamp": "2024-05-01T12:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": mentions, "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0
    });
    if let Some(guild) = guild {
        message["guild_id"] = json!(guild);
    }
    message
}
