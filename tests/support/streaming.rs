//! A fake OpenAI-compatible server that streams: each chat completion answered as server-sent events, one piece at a time with a pause between, optionally cut off mid-way.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct StreamingOpenAi {
    url: String,
    /// Each request's JSON body, in arrival order.
    requests: Arc<Mutex<Vec<Value>>>,
    accept: AbortHandle,
}

/// How the fake answers.
#[derive(Clone)]
struct Script {
    pieces: Vec<String>,
    gap: Duration,
    /// Answers left to cut off after half the pieces, without finishing.
    cuts: Arc<AtomicUsize>,
}

impl StreamingOpenAi {
    /// Answers every chat completion with `pieces`, `gap` apart; the first `cuts` answers stop
    /// after half of them, as a dropped connection would.
    pub async fn start(pieces: &[&str], gap: Duration, cuts: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<Value>>> = Arc::default();
        let script = Script {
            pieces: pieces.iter().map(|p| (*p).to_owned()).collect(),
            gap,
            cuts: Arc::new(AtomicUsize::new(cuts)),
        };
        let seen = requests.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, script.clone(), seen.clone()));
            }
        })
        .abort_handle();
        Self {
            url,
            requests,
            accept,
        }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for StreamingOpenAi {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Reads one request and streams the answer on a connection closed at its end.
async fn answer(mut stream: TcpStream, script: Script, seen: Arc<Mutex<Vec<Value>>>) {
    let Some(body) = read_request(&mut stream).await else {
        return;
    };
    seen.lock().unwrap().push(body);
    let cut = script
        .cuts
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let shown = if cut {
        script.pieces.len() / 2
    } else {
        script.pieces.len()
    };
    for piece in &script.pieces[..shown] {
        let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1,
            "model": "test-model", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        let event = format!("data: {chunk}\n\n");
        if stream.write_all(event.as_bytes()).await.is_err() {
            return;
        }
        let _ = stream.flush().await;
        tokio::time::sleep(script.gap).await;
    }
    if !cut {
        let stop = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        let usage =
            json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": shown}});
        let end = format!("data: {stop}\n\ndata: {usage}\n\ndata: [DONE]\n\n");
        let _ = stream.write_all(end.as_bytes()).await;
    }
    let _ = stream.shutdown().await;
}

/// The JSON body of one HTTP/1.1 request (its `content-length` bytes after the head).
async fn read_request(stream: &mut TcpStream) -> Option<Value> {
    let mut read = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        read.extend_from_slice(&buffer[..n]);
        if let Some(at) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&read[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while read.len() < head_end + length {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        read.extend_from_slice(&buffer[..n]);
    }
    serde_json::from_slice(&read[head_end..head_end + length]).ok()
}
