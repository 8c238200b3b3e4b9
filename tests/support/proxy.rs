//! A TCP proxy in front of PostgreSQL that a test can cut and restore, to take the database away mid-run, and that counts the client's round trips.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct TcpProxy {
    pub addr: SocketAddr,
    /// Round trips the clients asked of the server (see [`WireCounter`]).
    round_trips: Arc<AtomicUsize>,
    /// Those of them that were a bare `Sync` (a ping).
    pings: Arc<AtomicUsize>,
    open: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let open = Arc::new(AtomicBool::new(true));
        let pipes: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let round_trips = Arc::new(AtomicUsize::new(0));
        let pings = Arc::new(AtomicUsize::new(0));
        let link = Link {
            target,
            open: open.clone(),
            pipes: pipes.clone(),
            round_trips: round_trips.clone(),
            pings: pings.clone(),
        };
        let accept = tokio::spawn(accept_loop(listener, link)).abort_handle();
        Self {
            addr,
            round_trips,
            pings,
            open,
            pipes,
            accept,
        }
    }

    /// Drops every open connection and refuses new ones, as a database that went away.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for pipe in self.pipes.lock().expect("pipes").drain(..) {
            pipe.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// `url` (a postgres:// URL) through this proxy, without TLS so that the wire can be read.
    pub fn proxied(&self, url: &str) -> String {
        let through = url.replacen(&postgres_addr(url).to_string(), &self.addr.to_string(), 1);
        let separator = if through.contains('?') { '&' } else { '?' };
        format!("{through}{separator}sslmode=disable")
    }

    /// How many round trips (simple queries and extended-protocol syncs) the clients have made.
    pub fn round_trips(&self) -> usize {
        self.round_trips.load(Ordering::SeqCst)
    }

    /// How many of the round trips were a bare `Sync`: sqlx pings every connection it returns
    /// to its pool this way, after the statement's answer is in (off the caller's path).
    pub fn pings(&self) -> usize {
        self.pings.load(Ordering::SeqCst)
    }
}

/// The host:port of a postgres:// URL, as a socket address.
pub fn postgres_addr(url: &str) -> SocketAddr {
    let authority = url.split("://").nth(1).unwrap().split('/').next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    with_port
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("a numeric host:port in the test database URL")
}

/// Where the proxy forwards to, and what its connections share.
#[derive(Clone)]
struct Link {
    target: SocketAddr,
    open: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<AbortHandle>>>,
    round_trips: Arc<AtomicUsize>,
    pings: Arc<AtomicUsize>,
}

/// Reads the frontend side of the PostgreSQL protocol: after the untyped startup message, every
/// message is a type byte and a 4-byte length (counting itself). A simple query (`Q`) or an
/// extended-protocol `Sync` (`S`) is one round trip: the client then waits for ReadyForQuery.
/// A `Sync` with no other message since the last one is a ping.
#[derive(Default)]
struct WireCounter {
    started: bool,
    /// A message other than `Sync` was sent since the last `Sync`.
    pending: bool,
    /// Bytes of the current message's header read so far.
    header: Vec<u8>,
    /// Body bytes still to skip.
    remaining: usize,
}

impl WireCounter {
    /// Feeds bytes sent to the server; answers the round trips they complete, and how many of
    /// them were pings.
    fn feed(&mut self, mut bytes: &[u8]) -> (usize, usize) {
        let (mut trips, mut pings) = (0, 0);
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let skip = self.remaining.min(bytes.len());
                self.remaining -= skip;
                bytes = &bytes[skip..];
                continue;
            }
            let header_len = if self.started { 5 } else { 4 };
            let take = (header_len - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < header_len {
                break;
            }
            let length = &self.header[header_len - 4..];
            let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
            if self.started {
                match self.header[0] {
                    b'Q' => trips += 1,
                    b'S' => {
                        trips += 1;
                        pings += usize::from(!self.pending);
                        self.pending = false;
                    }
                    _ => self.pending = true,
                }
            }
            // The startup message's length counts its own 4 bytes; so does a typed one's.
            self.remaining = length - 4;
            // An SSL or GSS request is untyped too; with sslmode=disable none is sent.
            self.started = true;
            self.header.clear();
        }
        (trips, pings)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, link: Link) {
    while let Ok((inbound, _)) = listener.accept().await {
        if !link.open.load(Ordering::SeqCst) {
            drop(inbound);
            continue;
        }
        let pipe = tokio::spawn(pipe(inbound, link.clone()));
        link.pipes.lock().expect("pipes").push(pipe.abort_handle());
    }
}

/// Copies both ways, counting the client's round trips on the way to the server.
async fn pipe(inbound: TcpStream, link: Link) {
    let Ok(outbound) = TcpStream::connect(link.target).await else {
        return;
    };
    let (mut from_client, mut to_client) = inbound.into_split();
    let (mut from_server, mut to_server) = outbound.into_split();
    let answers = tokio::io::copy(&mut from_server, &mut to_client);
    let requests = async {
        let mut counter = WireCounter::default();
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = match from_client.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            let (trips, pings) = counter.feed(&buffer[..read]);
            link.round_trips.fetch_add(trips, Ordering::SeqCst);
            link.pings.fetch_add(pings, Ordering::SeqCst);
            if to_server.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = answers => {}
        () = requests => {}
    }
}
