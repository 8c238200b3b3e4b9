//! `GET /api/v1/events?after=`: an operator's live events — the key in the `Authorization`
//! header or a first `auth` frame, then the events of the topics subscribed to (first the
//! stored ones after `after`), read only; a client that cannot keep up is dropped.

use super::frames::{codes, ClientFrame, EventBody, ServerFrame, MAX_FRAME_BYTES};
use crate::auth;
use crate::errors::ApiError;
use crate::socket_refusal::refuse_on_socket;
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError};
use application::ports::Followed;
use application::{Principal, TopicError, Topics};
use domain::{EventId, PublishedEvent};
use futures::stream::BoxStream;
use futures::StreamExt;
use serde::Deserialize;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// How long a socket without the header has to send its `auth` frame.
const AUTH_WITHIN: Duration = Duration::from_secs(5);
/// How often the server pings; a socket silent for [`IDLE_LIMIT`] is closed.
const HEARTBEAT: Duration = Duration::from_secs(20);
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// How long a frame may wait for a client that does not read before the client is dropped.
const SEND_WITHIN: Duration = Duration::from_secs(5);
/// A missing, unknown or revoked key.
const CLOSE_UNAUTHENTICATED: u16 = 4401;
/// The client fell behind the events (it does not read, or reads too slowly).
const CLOSE_TOO_SLOW: u16 = 4408;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/events").route(web::get().to(connect)));
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    after: Option<String>,
}

/// `?after=`: the id of the last event a reconnecting client saw.
fn after(query: EventsQuery) -> Result<Option<EventId>, ApiError> {
    let invalid = |_| ApiError::invalid("after", "must be the `id` of an event frame");
    let after = query.after.filter(|after| !after.is_empty());
    after.map(|id| id.parse().map_err(invalid)).transpose()
}

/// Checks `after` (400) and a key given in the header (refused on the socket with 4401), then
/// hands the socket to a [`Session`], which waits for an `auth` frame if there was no header.
async fn connect(
    state: web::Data<AppState>,
    query: web::Query<EventsQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let after = after(query.into_inner())?;
    let signed_in = match auth::bearer_key(req.headers()) {
        None => None,
        Some(key) => match auth::principal(&state, key).await {
            Ok(principal) => Some((key.to_owned(), principal)),
            Err(ApiError::Unauthenticated) => return refuse(&req, body),
            Err(error) => return Err(error),
        },
    };
    let (response, socket, frames) = actix_ws::handle(&req, body)
        .map_err(|err| ApiError::from_status(err.error_response().status()))?;
    let frames = frames
        .max_frame_size(MAX_FRAME_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME_BYTES);
    let session = Session {
        state: state.clone(),
        socket,
        key: String::new(),
        after,
        topics: Topics::default(),
        live: None,
        replayed: HashSet::new(),
        last_seen: Instant::now(),
    };
    actix_web::rt::spawn(session.run(frames, signed_in));
    Ok(response)
}

fn refuse(req: &HttpRequest, body: web::Payload) -> Result<HttpResponse, ApiError> {
    let frame = unauthenticated("the key is not an active API key");
    refuse_on_socket(
        req,
        body,
        ApiError::Unauthenticated,
        CLOSE_UNAUTHENTICATED,
        frame.to_json(),
    )
}

fn unauthenticated(detail: &str) -> ServerFrame {
    ServerFrame::error(ApiError::Unauthenticated.code(), detail)
}

/// How the session ends: `None` when the client is gone, else the close to send.
type End = Option<CloseReason>;

fn closing(code: u16, description: &str) -> End {
    Some(CloseReason {
        code: CloseCode::Other(code),
        description: Some(description.to_owned()),
    })
}

/// What woke the session.
enum Input {
    Frame(Option<Result<AggregatedMessage, ProtocolError>>),
    Live(Followed),
    Heartbeat,
    /// The server is going away.
    Closing,
}

/// One operator's open socket.
struct Session {
    state: web::Data<AppState>,
    socket: actix_ws::Session,
    /// The key the client signed in with, checked again now and then: a revoked or expired
    /// key ends the session.
    key: String,
    after: Option<EventId>,
    topics: Topics,
    /// The live events, followed from the first subscription on, and since when.
    live: Option<(BoxStream<'static, Followed>, Instant)>,
    /// Events replayed that may come live as well: each is skipped once.
    replayed: HashSet<EventId>,
    last_seen: Instant,
}

impl Session {
    async fn run(
        mut self,
        mut frames: AggregatedMessageStream,
        signed_in: Option<(String, Principal)>,
    ) {
        let signed_in = match signed_in {
            Some(signed_in) => Ok(signed_in),
            None => self.sign_in(&mut frames).await,
        };
        let end = match signed_in {
            Ok((key, principal)) => {
                self.key = key;
                self.follow(frames, principal).await
            }
            Err(end) => end,
        };
        let _ = timeout(SEND_WITHIN, self.socket.close(end)).await;
    }

    /// Waits [`AUTH_WITHIN`] for the `auth` frame and checks its key.
    async fn sign_in(
        &mut self,
        frames: &mut AggregatedMessageStream,
    ) -> Result<(String, Principal), End> {
        let frame = match timeout(AUTH_WITHIN, frames.recv()).await {
            Err(_) => return Err(self.refuse("no `auth` frame within 5 s").await),
            Ok(None | Some(Ok(AggregatedMessage::Close(_)))) => return Err(None),
            Ok(Some(frame)) => frame,
        };
        let key = match frame {
            Ok(AggregatedMessage::Text(text)) => match serde_json::from_str(&text) {
                Ok(ClientFrame::Auth { key }) => key,
                _ => {
                    return Err(self
                        .refuse("the first frame must be `auth` with a key")
                        .await)
                }
            },
            _ => {
                return Err(self
                    .refuse("the first frame must be `auth` with a key")
                    .await)
            }
        };
        match auth::principal(&self.state, &key).await {
            Ok(principal) => Ok((key, principal)),
            Err(ApiError::Unauthenticated) => {
                Err(self.refuse("the key is not an active API key").await)
            }
            Err(error) => {
                let _ = self
                    .push(&ServerFrame::error(error.code(), error.detail()))
                    .await;
                Err(Some(CloseReason::from(CloseCode::Error)))
            }
        }
    }

    /// Checks the key again: a revoked or expired one ends the session (a store that cannot
    /// answer now leaves it be).
    async fn recheck(&mut self) -> Result<(), End> {
        match auth::principal(&self.state, &self.key).await {
            Err(ApiError::Unauthenticated) => {
                Err(self.refuse("the key was revoked or has expired").await)
            }
            _ => Ok(()),
        }
    }

    async fn refuse(&mut self, detail: &str) -> End {
        let _ = self.push(&unauthenticated(detail)).await;
        closing(CLOSE_UNAUTHENTICATED, ApiError::Unauthenticated.code())
    }

    /// Signed in: answers the client's frames and pushes the events of its topics.
    async fn follow(&mut self, mut frames: AggregatedMessageStream, principal: Principal) -> End {
        let ready = ServerFrame::Ready {
            role: principal.role.as_str(),
        };
        if let Err(end) = self.push(&ready).await {
            return end;
        }
        let mut heartbeat = actix_web::rt::time::interval(HEARTBEAT);
        loop {
            let input = tokio::select! {
                frame = frames.recv() => Input::Frame(frame),
                Some(followed) = next_live(&mut self.live) => Input::Live(followed),
                _ = heartbeat.tick() => Input::Heartbeat,
                _ = self.state.closing.closed() => Input::Closing,
            };
            let step = match input {
                Input::Frame(frame) => self.on_frame(frame).await,
                Input::Live(followed) => self.on_live(followed).await,
                Input::Heartbeat => self.on_heartbeat().await,
                Input::Closing => Err(Some(CloseReason::from(CloseCode::Away))),
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// One frame from the client; `Err` to end the session.
    async fn on_frame(
        &mut self,
        frame: Option<Result<AggregatedMessage, ProtocolError>>,
    ) -> Result<(), End> {
        self.last_seen = Instant::now();
        match frame {
            None | Some(Ok(AggregatedMessage::Close(_))) => Err(None),
            Some(Ok(AggregatedMessage::Text(text))) => self.on_text(&text).await,
            Some(Ok(AggregatedMessage::Binary(_))) => {
                self.push(&ServerFrame::error(
                    codes::UNSUPPORTED_FRAME,
                    "frames are JSON text",
                ))
                .await
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                self.socket.pong(&bytes).await.map_err(|_| None)
            }
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
            Some(Err(ProtocolError::Overflow)) => {
                let detail = format!("a frame may carry at most {MAX_FRAME_BYTES} bytes");
                let _ = self
                    .push(&ServerFrame::error(codes::FRAME_TOO_LARGE, detail))
                    .await;
                Err(Some(CloseReason::from(CloseCode::Size)))
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "events socket protocol error");
                Err(Some(CloseReason::from(CloseCode::Protocol)))
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), End> {
        match serde_json::from_str::<ClientFrame>(text) {
            Ok(ClientFrame::Subscribe { topics }) => self.subscribe(&topics).await,
            Ok(ClientFrame::Unsubscribe { topics }) => {
                self.topics.remove(&topics);
                let topics = self.topics.names();
                self.push(&ServerFrame::Subscribed { topics }).await
            }
            Ok(ClientFrame::Auth { .. }) => {
                let frame =
                    ServerFrame::error(codes::ALREADY_AUTHENTICATED, "this socket is signed in");
                self.push(&frame).await
            }
            Err(error) => self.push(&not_understood(text, &error)).await,
        }
    }

    /// Follows `topics` too, then replays what the client missed of them since `after`.
    async fn subscribe(&mut self, topics: &[String]) -> Result<(), End> {
        self.recheck().await?;
        let before = self.topics.scope();
        let new = match self.topics.add(topics) {
            Ok(new) => new,
            Err(error) => return self.push(&topic_refusal(&error)).await,
        };
        let (_, since) = self
            .live
            .get_or_insert_with(|| (self.state.events.follow(), Instant::now()));
        let followed_for = since.elapsed();
        let topics = self.topics.names();
        self.push(&ServerFrame::Subscribed { topics }).await?;
        let Some(after) = self.after else {
            return Ok(());
        };
        let replay = match self.state.events.replay(after, &new, followed_for).await {
            Ok(replay) => replay,
            Err(error) => {
                tracing::warn!(%error, "events could not be replayed");
                let problem = ApiError::from(error);
                return self
                    .push(&ServerFrame::error(
                        problem.code(),
                        "the replay is unavailable; re-read what you show",
                    ))
                    .await;
            }
        };
        for event in replay.events.iter().filter(|e| !before.covers(&e.event)) {
            self.replayed.insert(event.id);
            self.push_event(event).await?;
        }
        self.push(&ServerFrame::replayed(&replay)).await
    }

    /// A live event: pushed if a followed topic covers it (once, if it was replayed); a client
    /// that fell behind is dropped.
    async fn on_live(&mut self, followed: Followed) -> Result<(), End> {
        match followed {
            Followed::Event(event) => {
                if !self.topics.covers(&event.event) || self.replayed.remove(&event.id) {
                    return Ok(());
                }
                self.push_event(&event).await
            }
            Followed::Lagged(missed) => {
                tracing::warn!(missed, "an events client fell behind; closing it");
                Err(closing(CLOSE_TOO_SLOW, "too_slow"))
            }
        }
    }

    async fn push_event(&mut self, event: &PublishedEvent) -> Result<(), End> {
        match EventBody::of(event) {
            Some(event) => self.push(&ServerFrame::Event { event }).await,
            None => Ok(()),
        }
    }

    /// Pings, closes a socket that has been silent too long, and checks the key again.
    async fn on_heartbeat(&mut self) -> Result<(), End> {
        if self.last_seen.elapsed() > IDLE_LIMIT {
            return Err(Some(CloseReason::from(CloseCode::Away)));
        }
        self.recheck().await?;
        self.socket.ping(b"").await.map_err(|_| None)
    }

    /// Sends `frame`; a client that does not take it within [`SEND_WITHIN`] is dropped.
    async fn push(&mut self, frame: &ServerFrame) -> Result<(), End> {
        match timeout(SEND_WITHIN, self.socket.text(frame.to_json())).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(None),
            Err(_) => {
                tracing::warn!("an events client stopped reading; closing it");
                Err(closing(CLOSE_TOO_SLOW, "too_slow"))
            }
        }
    }
}

/// The next live event, once following; never, before.
async fn next_live(live: &mut Option<(BoxStream<'static, Followed>, Instant)>) -> Option<Followed> {
    match live {
        Some((events, _)) => events.next().await,
        None => std::future::pending().await,
    }
}

/// A frame that is not one of ours: one that asks for something (`type` set, but not a
/// follow frame) is told the socket is read only; anything else is malformed.
fn not_understood(text: &str, error: &serde_json::Error) -> ServerFrame {
    let asked = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| value.get("type")?.as_str().map(str::to_owned));
    match asked {
        Some(kind) if !["auth", "subscribe", "unsubscribe"].contains(&kind.as_str()) => {
            ServerFrame::error(
                codes::READ_ONLY,
                "this socket only follows events: act through the REST API",
            )
        }
        _ => ServerFrame::error(
            codes::MALFORMED_FRAME,
            format!("expected `subscribe` or `unsubscribe` with `topics`: {error}"),
        ),
    }
}

fn topic_refusal(error: &TopicError) -> ServerFrame {
    let code = match error {
        TopicError::Unknown(_) => codes::UNKNOWN_TOPIC,
        TopicError::TooMany => codes::TOO_MANY_TOPICS,
    };
    ServerFrame::error(code, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(frame: ServerFrame) -> &'static str {
        match frame {
            ServerFrame::Error { code, .. } => code,
            other => panic!("not an error frame: {}", other.to_json()),
        }
    }

    fn refusal(text: &str) -> &'static str {
        let error = serde_json::from_str::<ClientFrame>(text).unwrap_err();
        code(not_understood(text, &error))
    }

    #[test]
    fn a_frame_asking_for_a_change_is_told_the_socket_is_read_only() {
        assert_eq!(refusal(r#"{"type":"message","text":"hi"}"#), "read_only");
        assert_eq!(refusal(r#"{"type":"release"}"#), "read_only");
        assert_eq!(refusal(r#"{"type":"subscribe"}"#), "malformed_frame");
        assert_eq!(refusal("not json"), "malformed_frame");
        assert_eq!(code(topic_refusal(&TopicError::TooMany)), "too_many_topics");
    }

    #[test]
    fn after_must_be_an_event_id() {
        let query = |after: &str| EventsQuery {
            after: Some(after.into()),
        };
        let id = EventId::new();
        assert_eq!(after(query(&id.to_string())).unwrap(), Some(id));
        assert_eq!(after(query("")).unwrap(), None);
        assert!(after(query("yesterday")).is_err());
    }
}
