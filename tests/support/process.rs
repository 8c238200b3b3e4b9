//! The `switchboard` binary as a child process (`serve` or `worker`): started with a test's settings, stopped by signal.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// How long a process may take to start listening.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `switchboard serve` process; killed when dropped.
pub struct ServerProcess {
    child: OwnedChild,
    pub addr: SocketAddr,
    /// The console URL with a setup token, when the process logged one before listening.
    pub console_url: Option<String>,
    log: Log,
}

/// Every line a process logged so far.
type Log = Arc<Mutex<Vec<String>>>;

impl ServerProcess {
    /// Starts `binary serve` with `env` as its only `SWITCHBOARD__…` settings and waits until it
    /// listens. Its log is read as JSON for the address and passed on to this test's stderr.
    pub fn spawn(binary: &Path, env: &HashMap<String, String>) -> Self {
        let (child, found, log) = start(binary, "serve", env);
        let mut console_url = None;
        let addr = loop {
            match found.recv_timeout(STARTUP) {
                Ok(Found::Console(url)) => console_url = Some(url),
                Ok(Found::Listening(addr)) => break addr,
                Err(_) => panic!("the process logs the address it listens on"),
            }
        };
        Self {
            child,
            addr,
            console_url,
            log,
        }
    }

    /// The lines the process logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The process id, for reading its memory use from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        self.child.terminate()
    }
}

/// A running `switchboard worker` process (workers only, no HTTP); killed when dropped.
pub struct WorkerProcess(OwnedChild);

impl WorkerProcess {
    /// Starts `binary worker` with `env`; its log is passed on to this test's stderr.
    pub fn spawn(binary: &Path, env: &HashMap<String, String>) -> Self {
        Self(start(binary, "worker", env).0)
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        self.0.terminate()
    }
}

/// A child process, killed and reaped when dropped.
struct OwnedChild(Child);

impl OwnedChild {
    /// Sends SIGTERM and waits for the process to exit.
    fn terminate(&mut self) -> ExitStatus {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(signalled.success(), "SIGTERM was not delivered");
        self.0.wait().expect("the process exits")
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a process's log says that a test waits for.
enum Found {
    Console(String),
    Listening(SocketAddr),
}

/// Starts `binary <command>` with JSON logs relayed to stderr (and kept); the receiver hears the
/// console URL the process offers and the address it listens on, if it does. The log level is
/// `env`'s `SWITCHBOARD__LOG__LEVEL` (else `warn`), with `switchboard::run` at `info` for the
/// lines a test waits for.
fn start(
    binary: &Path,
    command: &str,
    env: &HashMap<String, String>,
) -> (OwnedChild, mpsc::Receiver<Found>, Log) {
    let level = env
        .get("SWITCHBOARD__LOG__LEVEL")
        .map_or("warn", String::as_str);
    let level = format!("{level},switchboard::run=info");
    let mut child = Command::new(binary)
        .arg(command)
        .env_remove("RUST_LOG")
        .envs(env)
        .env("SWITCHBOARD__LOG__FORMAT", "json")
        .env("SWITCHBOARD__LOG__LEVEL", &level)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the switchboard binary starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (found, address) = mpsc::channel();
    let log = Log::default();
    let kept = log.clone();
    std::thread::spawn(move || relay_log(BufReader::new(stderr), &found, &kept));
    (OwnedChild(child), address, log)
}

/// Passes each log line on to stderr, keeps it, and sends what a test waits for.
fn relay_log(lines: impl BufRead, found: &mpsc::Sender<Found>, log: &Log) {
    for line in lines.lines().map_while(Result::ok) {
        if let Some(news) = news(&line) {
            let _ = found.send(news);
        }
        eprintln!("[switchboard] {line}");
        log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
}

/// The address of the "listening" line, or the URL of the line offering the console.
fn news(line: &str) -> Option<Found> {
    let entry: Value = serde_json::from_str(line).ok()?;
    if let Some(url) = entry["console_url"].as_str() {
        return Some(Found::Console(url.to_owned()));
    }
    if entry["message"] != "listening" {
        return None;
    }
    entry["addr"].as_str()?.parse().ok().map(Found::Listening)
}
