//! `GET /ws/chat/{bot_id}?visitor_id=`: a visitor's socket — `hello` with the history, then the
//! visitor's messages in through the webhook pipeline and the conversation's messages pushed out.

use super::frames::{external_id, ClientFrame, RateLimit, ServerFrame, MAX_FRAME_BYTES};
use crate::errors::ApiError;
use crate::AppState;
use actix_web::http::header::ORIGIN;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError};
use application::ports::Recorded;
use application::{WebChat, WebChatError};
use domain::{BotId, ConversationId, DomainEvent, ExternalChatId, MessageId};
use futures::stream::BoxStream;
use futures::StreamExt;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A visitor may send this many messages at once, then one per [`RATE_PERIOD`].
const RATE_BURST: u32 = 5;
const RATE_PERIOD: Duration = Duration::from_secs(2);
/// How often the server pings; a socket silent for [`IDLE_LIMIT`] is closed.
const HEARTBEAT: Duration = Duration::from_secs(20);
const IDLE_LIMIT: Duration = Duration::from_secs(60);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/chat/{bot_id}").route(web::get().to(connect)));
}

#[derive(Debug, Deserialize)]
struct VisitorQuery {
    visitor_id: Option<String>,
}

/// The visitor's id: the one given (a UUID, as issued), or a new one.
fn visitor_id(query: &VisitorQuery) -> Result<String, ApiError> {
    match query.visitor_id.as_deref().filter(|id| !id.is_empty()) {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(id) => uuid::Uuid::parse_str(id)
            .map(|id| id.hyphenated().to_string())
            .map_err(|_| ApiError::invalid("visitor_id", "must be a UUID issued in `hello`")),
    }
}

/// Checks the binding and the origin (404 / 403 before any upgrade), then hands the socket to
/// a [`Session`].
async fn connect(
    state: web::Data<AppState>,
    bot_id: web::Path<BotId>,
    query: web::Query<VisitorQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bot_id = bot_id.into_inner();
    let visitor = visitor_id(&query)?;
    let chat = ExternalChatId::parse(visitor.clone())?;
    let origin = req.headers().get(ORIGIN).and_then(|v| v.to_str().ok());
    // Subscribed before the history is read, so that nothing falls between the two.
    let events = state.web_chat.events();
    let opened = state.web_chat.open(bot_id, &chat, origin).await?;
    let (response, socket, frames) = actix_ws::handle(&req, body)
        .map_err(|err| ApiError::from_status(err.error_response().status()))?;
    let frames = frames
        .max_frame_size(MAX_FRAME_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME_BYTES);
    let mut session = Session {
        web_chat: state.web_chat.clone(),
        bot_id,
        visitor,
        chat,
        conversations: opened.conversation_id.into_iter().collect(),
        socket,
        limit: RateLimit::new(RATE_BURST, RATE_PERIOD),
        last_seen: Instant::now(),
    };
    let hello = ServerFrame::Hello {
        visitor_id: session.visitor.clone(),
        conversation_id: opened.conversation_id,
        history: opened.history.into_iter().map(Into::into).collect(),
    };
    actix_web::rt::spawn(async move {
        if session.push(&hello).await.is_ok() {
            session.run(frames, events).await;
        }
    });
    Ok(response)
}

/// The socket is gone (or must go): stop the session.
struct Closed;

/// One visitor's open socket.
struct Session {
    web_chat: Arc<WebChat>,
    bot_id: BotId,
    visitor: String,
    chat: ExternalChatId,
    /// The conversations whose messages this socket shows: the active one at connect, and each
    /// one a message of this socket went to (a `/reset` starts another).
    conversations: HashSet<ConversationId>,
    socket: actix_ws::Session,
    limit: RateLimit,
    last_seen: Instant,
}

impl Session {
    async fn run(
        mut self,
        mut frames: AggregatedMessageStream,
        mut events: BoxStream<'static, DomainEvent>,
    ) {
        let mut heartbeat = actix_web::rt::time::interval(HEARTBEAT);
        let reason = loop {
            let step = tokio::select! {
                frame = frames.recv() => self.on_frame(frame).await,
                Some(event) = events.next() => self.on_event(event).await,
                _ = heartbeat.tick() => self.on_heartbeat().await,
            };
            if let Err(reason) = step {
                break reason;
            }
        };
        let _ = self.socket.close(reason).await;
    }

    /// One frame from the page; `Err` with the close reason to stop.
    async fn on_frame(
        &mut self,
        frame: Option<Result<AggregatedMessage, ProtocolError>>,
    ) -> Result<(), Option<CloseReason>> {
        self.last_seen = Instant::now();
        let closing = |code: CloseCode| Some(CloseReason::from(code));
        match frame {
            None | Some(Ok(AggregatedMessage::Close(_))) => Err(None),
            Some(Ok(AggregatedMessage::Text(text))) => self.on_text(&text).await.map_err(|_| None),
            Some(Ok(AggregatedMessage::Binary(_))) => {
                let frame = ServerFrame::error("unsupported_frame", "frames are JSON text");
                self.push(&frame).await.map_err(|_| None)
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                self.socket.pong(&bytes).await.map_err(|_| None)
            }
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
            Some(Err(ProtocolError::Overflow)) => {
                let detail = format!("a frame may carry at most {MAX_FRAME_BYTES} bytes");
                let _ = self
                    .push(&ServerFrame::error("frame_too_large", detail))
                    .await;
                Err(closing(CloseCode::Size))
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "web chat socket protocol error");
                Err(closing(CloseCode::Protocol))
            }
        }
    }

    /// A JSON frame: a message is stored (and echoed back through the events), anything else
    /// is answered with an error frame.
    async fn on_text(&mut self, text: &str) -> Result<(), Closed> {
        let (text, client_id) = match serde_json::from_str::<ClientFrame>(text) {
            Ok(ClientFrame::Message { text, client_id }) => (text, client_id),
            Err(error) => {
                let detail = format!("expected {{\"type\": \"message\", \"text\"}}: {error}");
                return self
                    .push(&ServerFrame::error("malformed_frame", detail))
                    .await;
            }
        };
        if !self.limit.allow(Instant::now()) {
            let frame = ServerFrame::error("rate_limited", "too many messages; wait a moment");
            return self.push(&frame).await;
        }
        match self.say(&text, client_id.as_deref()).await {
            Ok(Recorded::New {
                conversation_id, ..
            }) => {
                self.conversations.insert(conversation_id);
                Ok(())
            }
            Ok(Recorded::Duplicate) => Ok(()),
            Err(error) => self.push(&refusal(error)).await,
        }
    }

    async fn say(&self, text: &str, client_id: Option<&str>) -> Result<Recorded, WebChatError> {
        let external_id = external_id(&self.visitor, client_id)?;
        self.web_chat
            .say(self.bot_id, self.chat.clone(), external_id, text)
            .await
    }

    /// Pushes the conversation's stored messages (the visitor's, echoed, and every reply or
    /// operator message once delivered, so in delivery order) and the typing signal.
    async fn on_event(&mut self, event: DomainEvent) -> Result<(), Option<CloseReason>> {
        if !self.conversations.contains(&event.conversation_id()) {
            return Ok(());
        }
        let pushed = match event {
            DomainEvent::MessageReceived { message_id, .. }
            | DomainEvent::MessageDelivered { message_id, .. } => {
                self.push_message(message_id).await
            }
            DomainEvent::ReplyStarted { .. } => self.push(&ServerFrame::Typing).await,
            _ => Ok(()),
        };
        pushed.map_err(|_| None)
    }

    async fn push_message(&mut self, id: MessageId) -> Result<(), Closed> {
        match self.web_chat.message(id).await {
            Ok(Some(message)) => {
                let frame = ServerFrame::Message {
                    message: message.into(),
                };
                self.push(&frame).await
            }
            Ok(None) => Ok(()),
            Err(error) => {
                tracing::warn!(%error, message_id = %id, "cannot load a message to push");
                Ok(())
            }
        }
    }

    /// Pings, and closes a socket that has been silent too long.
    async fn on_heartbeat(&mut self) -> Result<(), Option<CloseReason>> {
        if self.last_seen.elapsed() > IDLE_LIMIT {
            return Err(Some(CloseReason::from(CloseCode::Away)));
        }
        self.socket.ping(b"").await.map_err(|_| None)
    }

    async fn push(&mut self, frame: &ServerFrame) -> Result<(), Closed> {
        self.socket.text(frame.to_json()).await.map_err(|_| Closed)
    }
}

/// The error frame for a message that was not stored.
fn refusal(error: WebChatError) -> ServerFrame {
    match error {
        WebChatError::Invalid(invalid) => ServerFrame::error(
            "invalid_field",
            format!("{}: {}", invalid.field, invalid.reason),
        ),
        WebChatError::NotBound => {
            ServerFrame::error("not_found", "this bot is no longer bound to the web chat")
        }
        WebChatError::OriginRefused => ServerFrame::error("forbidden", error.to_string()),
        WebChatError::Unavailable(cause) => {
            tracing::warn!(error = %cause, "a web chat message was not stored");
            ServerFrame::error(
                "service_unavailable",
                "the message was not stored; retry later",
            )
        }
    }
}
