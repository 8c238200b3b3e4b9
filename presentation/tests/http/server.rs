//! `build_server`: serves on a bound listener and stops through its handle.

use presentation::{build_server, HttpSettings};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crate::support::TestApp;

#[actix_web::test]
async fn the_server_answers_on_its_listener_and_stops_on_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let app = TestApp::new().await;
    let state = std::sync::Arc::try_unwrap(app.data.into_inner())
        .ok()
        .expect("the only reference to the state");
    let settings = HttpSettings {
        workers: Some(1),
        shutdown_timeout: Duration::from_secs(1),
        ..HttpSettings::default()
    };
    let server = build_server(listener, state, settings).unwrap();
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);

    let response = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("x-request-id: "),
        "{response}"
    );
    assert!(response.contains(r#"{"status":"ok"}"#), "{response}");

    handle.stop(true).await;
    running.await.unwrap().unwrap();
}
