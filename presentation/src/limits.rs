//! What one request may hold: a deadline on reading its body, and a bounded number of webhook bodies read at once.

use crate::errors::ApiError;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage;
use futures::Stream;
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// How long a request's body may take to arrive, counted from its headers; registered as app
/// data by [`crate::app`].
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub Duration);

/// Gives every request that carries a body a deadline: past it the body's stream ends in an
/// error that the extractors and [`crate::extractors::read_body`] answer with 408. WebSocket
/// upgrades are left alone (their "body" is the socket).
///
/// A body left unread (refused before it was read, or cut off by its deadline) rides along with
/// the answer's body: actix then closes the connection once the answer is written. Dropped, it
/// would be drained instead — a chunked one at whatever pace its sender likes.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<WithUnread>, actix_web::Error> {
    let unread = Unread::default();
    let timeout = req.app_data::<web::Data<BodyReadTimeout>>().map(|t| t.0);
    if let Some(timeout) = timeout.filter(|_| carries_body(&req)) {
        let body = req.take_payload();
        let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(Deadline::new(body, timeout, unread.clone()));
        req.set_payload(Payload::from(stream));
    }
    let res = next.call(req).await?;
    let left = unread.0.take();
    Ok(res.map_body(|_, answer| WithUnread {
        answer: answer.boxed(),
        _unread: left,
    }))
}

/// Where a [`Deadline`] leaves its body when it goes before the body ended.
#[derive(Clone, Default)]
struct Unread(Rc<Cell<Option<Payload>>>);

/// An answer's body with the request's unread body, kept until the answer has been written so
/// that actix sees the request body unfinished (and closes) rather than dropped (and drains).
pub struct WithUnread {
    answer: BoxBody,
    _unread: Option<Payload>,
}

impl MessageBody for WithUnread {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.answer).poll_next(cx)
    }
}

fn carries_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    !req.head().upgrade()
        && (headers.contains_key(header::CONTENT_LENGTH)
            || headers.contains_key(header::TRANSFER_ENCODING))
}

/// Whether a body read failed because [`body_deadline`]'s deadline passed.
pub fn is_deadline(err: &PayloadError) -> bool {
    matches!(err, PayloadError::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<DeadlinePassed>()))
}

#[derive(Debug, thiserror::Error)]
#[error("the body did not arrive in time")]
struct DeadlinePassed;

/// A body stream that fails once its deadline passes, then ends.
struct Deadline {
    body: Payload,
    sleep: Pin<Box<Sleep>>,
    expired: bool,
    ended: bool,
    unread: Unread,
}

impl Deadline {
    fn new(body: Payload, timeout: Duration, unread: Unread) -> Self {
        Self {
            body,
            sleep: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
            expired: false,
            ended: false,
            unread,
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if !self.ended {
            self.unread
                .0
                .set(Some(std::mem::replace(&mut self.body, Payload::None)));
        }
    }
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(chunk) = Pin::new(&mut self.body).poll_next(cx) {
            self.ended = chunk.is_none();
            return Poll::Ready(chunk);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired = true;
            let error = io::Error::new(io::ErrorKind::TimedOut, DeadlinePassed);
            return Poll::Ready(Some(Err(PayloadError::Io(error))));
        }
        Poll::Pending
    }
}

/// The webhook bodies that may be read at once; a request beyond them is answered 503 at once
/// rather than holding memory and a connection. Registered as app data by [`crate::app`].
#[derive(Debug, Clone)]
pub struct WebhookBodies(Arc<Semaphore>);

impl WebhookBodies {
    pub fn new(slots: usize) -> Self {
        Self(Arc::new(Semaphore::new(slots)))
    }

    /// A slot, held while the body is read and handled.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.0
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn stalled() -> Payload {
        let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(futures::stream::pending());
        Payload::from(stream)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_fails_at_its_deadline_and_then_ends() {
        let mut body = Deadline::new(stalled(), Duration::from_secs(3), Unread::default());
        let error = body.next().await.unwrap().unwrap_err();
        assert!(is_deadline(&error));
        assert!(body.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_arrives_in_time_passes_through() {
        let unread = Unread::default();
        let chunks: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(futures::stream::iter([Ok(Bytes::from_static(b"ok"))]));
        let mut body = Deadline::new(
            Payload::from(chunks),
            Duration::from_secs(3),
            unread.clone(),
        );
        assert_eq!(body.next().await.unwrap().unwrap(), "ok");
        assert!(body.next().await.is_none());
        drop(body);
        assert!(
            unread.0.take().is_none(),
            "a body read to its end is not kept"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_dropped_before_its_end_is_kept_for_the_answer() {
        let unread = Unread::default();
        drop(Deadline::new(
            stalled(),
            Duration::from_secs(3),
            unread.clone(),
        ));
        assert!(unread.0.take().is_some());
    }

    #[test]
    fn other_io_errors_are_not_the_deadline() {
        let error = PayloadError::Io(io::Error::new(io::ErrorKind::TimedOut, "socket"));
        assert!(!is_deadline(&error));
    }
}
