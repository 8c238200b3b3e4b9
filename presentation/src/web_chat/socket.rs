//! `GET /ws/chat/{bot_id}?visitor_token=`: a visitor's socket — `hello` with the visitor's token
//! and history, then the visitor's messages in through the webhook pipeline (within the
//! visitor's and the address's allowances) and the conversation's messages pushed out.

use super::frames::{external_id, ClientFrame, ServerFrame, MAX_FRAME_BYTES};
use crate::client::client_address;
use crate::dto::MessageBody;
use crate::errors::ApiError;
use crate::socket_refusal::refuse_on_socket;
use crate::AppState;
use actix_web::http::header::ORIGIN;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError};
use application::metrics::OpenSocket;
use application::ports::Recorded;
use application::{Opened, SocketSlot, Speaker, VisitorClaim, WebChat, WebChatError};
use domain::{BotId, ConversationId, DomainEvent, MessageId};
use futures::stream::BoxStream;
use futures::StreamExt;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the server pings; a socket silent for [`IDLE_LIMIT`] is closed.
const HEARTBEAT: Duration = Duration::from_secs(20);
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// The close code of a socket whose visitor was refused (an invalid token, or a bare id while
/// those are refused): the page forgets what it sent and connects as a new visitor.
const CLOSE_VISITOR_REFUSED: u16 = 4401;
/// The close code of a socket beyond the visitor's or the address's cap.
const CLOSE_TOO_MANY_SOCKETS: u16 = 4429;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/chat/{bot_id}").route(web::get().to(connect)));
}

#[derive(Debug, Deserialize)]
struct VisitorQuery {
    visitor_token: Option<String>,
    visitor_id: Option<String>,
}

/// Who the socket says its visitor is: the token if one is given, else the bare id (a UUID, as
/// issued before tokens), else nobody yet.
fn visitor_claim(query: VisitorQuery) -> Result<VisitorClaim, ApiError> {
    let given = |value: Option<String>| value.filter(|v| !v.is_empty());
    if let Some(token) = given(query.visitor_token) {
        return Ok(VisitorClaim::Token(token));
    }
    match given(query.visitor_id) {
        None => Ok(VisitorClaim::New),
        Some(id) => uuid::Uuid::parse_str(&id)
            .map(VisitorClaim::Plain)
            .map_err(|_| ApiError::invalid("visitor_id", "must be a UUID issued in `hello`")),
    }
}

/// The request's `Origin`, if any (one that is not text counts as none). A request naming
/// several, in two headers or as a list in one, is refused: which one counts would be a guess.
fn origin(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let mut headers = req.headers().get_all(ORIGIN);
    let origin = headers.next().and_then(|value| value.to_str().ok());
    if headers.next().is_some() || origin.is_some_and(|o| o.split_ascii_whitespace().count() > 1) {
        return Err(ApiError::RepeatedHeader("Origin"));
    }
    Ok(origin)
}

/// Checks the binding and the origin (404 / 403 before any upgrade), then the visitor and the
/// socket caps, and hands the socket to a [`Session`]. A refused visitor or a socket beyond a
/// cap is told on the socket itself (an error frame, then close code 4401 / 4429), which a
/// browser can read where it cannot read a refused upgrade's status; a request that is no
/// WebSocket handshake gets the problem (401 / 429) instead.
async fn connect(
    state: web::Data<AppState>,
    bot_id: web::Path<BotId>,
    query: web::Query<VisitorQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bot_id = bot_id.into_inner();
    let claim = visitor_claim(query.into_inner())?;
    let origin = origin(&req)?;
    let address = client_address(&req);
    // Subscribed before the history is read, so that nothing falls between the two.
    let events = state.web_chat.events();
    let opened = match state.web_chat.open(bot_id, &claim, origin, address).await {
        Ok(opened) => opened,
        Err(error) => return refuse(&req, body, error),
    };
    let (response, socket, frames) = actix_ws::handle(&req, body)
        .map_err(|err| ApiError::from_status(err.error_response().status()))?;
    let frame_limit = frame_limit(state.web_chat.max_upload_bytes());
    let frames = frames
        .max_frame_size(frame_limit)
        .aggregate_continuations()
        .max_continuation_size(frame_limit);
    let Opened {
        visitor,
        conversation_id,
        history,
        slot,
    } = opened;
    let hello = ServerFrame::Hello {
        visitor_id: visitor.chat.as_str().to_owned(),
        visitor_token: visitor.token,
        conversation_id,
        history: history.into_iter().map(MessageBody::for_visitor).collect(),
    };
    let mut session = Session {
        web_chat: state.web_chat.clone(),
        closing: state.closing.clone(),
        bot_id,
        speaker: Speaker {
            chat: visitor.chat,
            address: Some(address),
        },
        conversations: conversation_id.into_iter().collect(),
        socket,
        _slot: slot,
        _open: OpenSocket::open(),
        last_seen: Instant::now(),
    };
    actix_web::rt::spawn(async move {
        if session.push(&hello).await.is_ok() {
            session.run(frames, events).await;
        }
    });
    Ok(response)
}

/// Refuses the socket: on the socket itself (error frame and close code) for a refusal the page
/// must act on, else (or when no WebSocket is asked for) with the problem.
fn refuse(
    req: &HttpRequest,
    body: web::Payload,
    error: WebChatError,
) -> Result<HttpResponse, ApiError> {
    let close_code = match &error {
        WebChatError::VisitorRefused(_) => CLOSE_VISITOR_REFUSED,
        WebChatError::TooManySockets => CLOSE_TOO_MANY_SOCKETS,
        _ => return Err(error.into()),
    };
    let problem = ApiError::from(error);
    let frame = ServerFrame::error(problem.code(), problem.to_string()).to_json();
    refuse_on_socket(req, body, problem, close_code, frame)
}

/// The socket is gone (or must go): stop the session.
struct Closed;

/// One visitor's open socket.
struct Session {
    web_chat: Arc<WebChat>,
    closing: crate::Closing,
    bot_id: BotId,
    speaker: Speaker,
    /// The conversations whose messages this socket shows: the active one at connect, and each
    /// one a message of this socket went to (a `/reset` starts another).
    conversations: HashSet<ConversationId>,
    socket: actix_ws::Session,
    /// The socket's place in the caps, given back when the session ends.
    _slot: SocketSlot,
    /// Counted in `switchboard_web_chat_sockets` while the session lives.
    _open: OpenSocket,
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
                _ = self.closing.closed() => Err(Some(CloseReason::from(CloseCode::Away))),
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
            Some(Ok(AggregatedMessage::Text(text))) if text.len() > MAX_FRAME_BYTES => {
                self.too_large(MAX_FRAME_BYTES).await
            }
            Some(Ok(AggregatedMessage::Text(text))) => self.on_text(&text).await.map_err(|_| None),
            Some(Ok(AggregatedMessage::Binary(bytes))) => {
                self.on_picture(bytes.to_vec()).await.map_err(|_| None)
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                self.socket.pong(&bytes).await.map_err(|_| None)
            }
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
            Some(Err(ProtocolError::Overflow)) => {
                let limit = frame_limit(self.web_chat.max_upload_bytes());
                self.too_large(limit).await
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "web chat socket protocol error");
                Err(closing(CloseCode::Protocol))
            }
        }
    }

    /// Refuses a frame over `limit` bytes, then closes the socket.
    async fn too_large(&mut self, limit: usize) -> Result<(), Option<CloseReason>> {
        let detail = format!("a frame may carry at most {limit} bytes");
        let _ = self
            .push(&ServerFrame::error("frame_too_large", detail))
            .await;
        Err(Some(CloseReason::from(CloseCode::Size)))
    }

    /// A binary frame: a picture, stored with its message when it is an image within the size
    /// allowed, else refused with an error frame and nothing stored.
    async fn on_picture(&mut self, bytes: Vec<u8>) -> Result<(), Closed> {
        let shown = match external_id(self.speaker.chat.as_str(), None) {
            Ok(external_id) => {
                (self.web_chat)
                    .show(self.bot_id, &self.speaker, external_id, bytes)
                    .await
            }
            Err(error) => Err(error.into()),
        };
        self.stored(shown).await
    }

    /// Follows the conversation a message of this socket went to, or answers its refusal.
    async fn stored(&mut self, result: Result<Recorded, WebChatError>) -> Result<(), Closed> {
        match result {
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

    /// A JSON frame: a message is stored (and echoed back through the events), anything else,
    /// or a message beyond the allowances, is answered with an error frame.
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
        let said = self.say(&text, client_id.as_deref()).await;
        self.stored(said).await
    }

    async fn say(&self, text: &str, client_id: Option<&str>) -> Result<Recorded, WebChatError> {
        let external_id = external_id(self.speaker.chat.as_str(), client_id)?;
        self.web_chat
            .say(self.bot_id, &self.speaker, external_id, text)
            .await
    }

    /// Pushes the conversation's stored messages (the visitor's, echoed, and every reply or
    /// operator message once delivered, so in delivery order), the typing signal, and the
    /// pieces of a reply as the model writes it.
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
            DomainEvent::ReplyDelta {
                message_id, delta, ..
            } => {
                let reply_to = message_id;
                self.push(&ServerFrame::ReplyDelta { reply_to, delta })
                    .await
            }
            DomainEvent::ReplyRestarted { message_id, .. } => {
                let reply_to = message_id;
                self.push(&ServerFrame::ReplyRestart { reply_to }).await
            }
            _ => Ok(()),
        };
        pushed.map_err(|_| None)
    }

    async fn push_message(&mut self, id: MessageId) -> Result<(), Closed> {
        match self.web_chat.message(id).await {
            Ok(Some(message)) => {
                let frame = ServerFrame::Message {
                    message: Box::new(MessageBody::for_visitor(message)),
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

/// The error frame for a message that was not stored, its code from the errors' one table.
/// The largest frame read: a picture of `max_upload` bytes and a text frame's worth more, so that
/// a picture a little too large is refused with an error frame and the socket stays open; a
/// larger frame closes it.
fn frame_limit(max_upload: usize) -> usize {
    max_upload + MAX_FRAME_BYTES
}

fn refusal(error: WebChatError) -> ServerFrame {
    let told = match &error {
        WebChatError::RateLimited { retry_after } => {
            return ServerFrame::rate_limited(*retry_after)
        }
        WebChatError::NotBound => Some("this bot is no longer bound to the web chat"),
        WebChatError::Unavailable(cause) => {
            tracing::warn!(error = %cause, "a web chat message was not stored");
            Some("the message was not stored; retry later")
        }
        _ => None,
    };
    let problem = ApiError::from(error);
    let detail = told.map_or_else(|| problem.detail(), str::to_owned);
    ServerFrame::error(problem.code(), detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use application::VisitorRefused;

    fn code(error: WebChatError) -> &'static str {
        match refusal(error) {
            ServerFrame::Error { code, .. } => code,
            other => panic!("not an error frame: {}", other.to_json()),
        }
    }

    #[test]
    fn error_frames_carry_the_codes_the_same_refusals_have_over_http() {
        assert_eq!(code(WebChatError::OriginRefused), "origin_not_allowed");
        assert_eq!(code(WebChatError::TooManySockets), "too_many_sockets");
        let refused = WebChatError::VisitorRefused(VisitorRefused::InvalidToken);
        assert_eq!(code(refused), "invalid_visitor_token");
        assert_eq!(code(WebChatError::NotBound), "not_found");
        let limited = WebChatError::RateLimited {
            retry_after: Duration::from_secs(3),
        };
        assert_eq!(code(limited), "rate_limited");
    }
}
