//! The `switchboard` binary as a child process (`serve` or `worker`): started with a test's settings, stopped by signal.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a process may take to start listening.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `switchboard serve` process; killed when dropped.
pub struct ServerProcess {
    child: OwnedChild,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `binary serve` with `env` as its only `SWITCHBOARD__…` settings and waits until it
    /// listens. Its log is read as JSON for the address and passed on to this test's stderr.
    pub fn spawn(binary: &Path, env: &HashMap<String, String>) -> Self {
        let (child, address) = start(binary, "serve", env);
        let addr = address
            .recv_timeout(STARTUP)
            .expect("the process logs the address it listens on");
        Self { child, addr }
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

/// Starts `binary <command>` with JSON logs relayed to stderr; the receiver hears the address
/// the process listens on, if it does.
fn start(
    binary: &Path,
    command: &str,
    env: &HashMap<String, String>,
) -> (OwnedChild, mpsc::Receiver<SocketAddr>) {
    let mut child = Command::new(binary)
        .arg(command)
        .env_remove("RUST_LOG")
        .envs(env)
        .env("SWITCHBOARD__LOG__FORMAT", "json")
        .env("SWITCHBOARD__LOG__LEVEL", "warn,switchboard::run=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the switchboard binary starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (found, address) = mpsc::channel();
    std::thread::spawn(move || relay_log(BufReader::new(stderr), &found));
    (OwnedChild(child), address)
}

/// Passes each log line on to stderr and sends the address from the "listening" line.
fn relay_log(log: impl BufRead, found: &mpsc::Sender<SocketAddr>) {
    for line in log.lines().map_while(Result::ok) {
        if let Some(addr) = listening_address(&line) {
            let _ = found.send(addr);
        }
        eprintln!("[switchboard] {line}");
    }
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let entry: Value = serde_json::from_str(line).ok()?;
    if entry["message"] != "listening" {
        return None;
    }
    entry["addr"].as_str()?.parse().ok()
}
