//! Refusing a WebSocket where a browser can read why: on the socket itself (an error frame,
//! then a close code), or, for a request that is no WebSocket handshake, with the problem.

use crate::errors::ApiError;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason};

/// Accepts the handshake only to send `frame` (JSON text) and close with `close_code`, the
/// problem's code as the reason; a request that is no handshake gets `problem` instead.
pub fn refuse_on_socket(
    req: &HttpRequest,
    body: web::Payload,
    problem: ApiError,
    close_code: u16,
    frame: String,
) -> Result<HttpResponse, ApiError> {
    let Ok((response, mut socket, _)) = actix_ws::handle(req, body) else {
        return Err(problem);
    };
    let code = problem.code();
    actix_web::rt::spawn(async move {
        let _ = socket.text(frame).await;
        let reason = CloseReason {
            code: CloseCode::Other(close_code),
            description: Some(code.to_owned()),
        };
        let _ = socket.close(Some(reason)).await;
    });
    Ok(response)
}
