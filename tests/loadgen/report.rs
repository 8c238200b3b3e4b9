//! The load run's figures: startup, idle load, throughput, latency percentiles and resident
//! memory, as a Markdown table.

use crate::post::Acks;
use crate::{Args, RunMode};
use std::collections::HashMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Resident memory of a process, from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss: u64,
    /// The highest resident so far (`VmHWM`).
    pub peak: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .unwrap_or(0)
        };
        Self {
            rss: field("VmRSS:"),
            peak: field("VmHWM:"),
        }
    }
}

/// The server before any update: how long it took to start, and what it does idle.
pub struct Idle {
    /// From spawning the process to `/health/ready` answering 200.
    pub startup: Duration,
    /// Transactions/s on its PostgreSQL database with the bot bound and nothing to do.
    pub transactions_per_second: Option<f64>,
    pub memory: Memory,
}

/// What reached the Telegram fake: when each reply text (`re: u<i>`) first arrived, and how many
/// `sendMessage` calls there were.
pub struct Replies {
    pub first_arrivals: HashMap<String, Instant>,
    pub sends: usize,
    /// The server's memory once the replies were in.
    pub memory: Memory,
}

pub struct Figures {
    idle: Idle,
    updates: usize,
    accepted_per_second: f64,
    ack: Vec<Duration>,
    /// Memory right after the last acknowledgement.
    loaded: Memory,
    replies: Option<ReplyFigures>,
}

struct ReplyFigures {
    end_to_end: Vec<Duration>,
    sends: usize,
    per_second: f64,
    /// From the first post to the last reply.
    last_after: Option<Duration>,
    memory: Memory,
}

impl Figures {
    pub fn new(idle: Idle, acks: &Acks, loaded: Memory, replies: Option<&Replies>) -> Self {
        Self {
            idle,
            updates: acks.posted.len(),
            accepted_per_second: per_second(acks.posted.len(), acks.elapsed),
            ack: sorted(acks.latency.clone()),
            loaded,
            replies: replies.map(|r| ReplyFigures::new(acks, r)),
        }
    }

    /// Whether every update was answered exactly once (always, when replies were not awaited).
    pub fn complete(&self) -> bool {
        self.replies
            .as_ref()
            .is_none_or(|r| r.end_to_end.len() == self.updates && r.sends == self.updates)
    }

    pub fn markdown(&self, args: &Args) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| {} | |", heading(args));
        let _ = writeln!(out, "|---|---|");
        let mut row = |label: &str, value: String| {
            let _ = writeln!(out, "| {label} | {value} |");
        };
        row("server", server_name(args));
        row(
            "startup (spawn to /health/ready 200)",
            millis(self.idle.startup),
        );
        row(
            "idle transactions/s (PostgreSQL)",
            self.idle
                .transactions_per_second
                .map_or("– (SQLite)".to_owned(), |t| {
                    format!("{t:.1} (over {} s)", args.idle_seconds)
                }),
        );
        row(
            "accepted webhooks/s",
            format!("{:.0}", self.accepted_per_second),
        );
        row("ack latency p50 / p99 / max", spread(&self.ack));
        if let Some(replies) = &self.replies {
            replies.rows(self.updates, &mut row);
        }
        row("RSS idle", mib(self.idle.memory.rss));
        let peak = self.replies.as_ref().map_or(self.loaded, |r| r.memory).peak;
        match &self.replies {
            Some(r) => row(
                "RSS after posting / after replying",
                format!("{} / {}", mib(self.loaded.rss), mib(r.memory.rss)),
            ),
            None => row("RSS after posting", mib(self.loaded.rss)),
        }
        row("RSS peak (VmHWM)", mib(peak));
        out
    }
}

impl ReplyFigures {
    fn new(acks: &Acks, replies: &Replies) -> Self {
        let end_to_end: Vec<Duration> = (0..acks.posted.len())
            .filter_map(|i| {
                let arrived = replies.first_arrivals.get(&format!("re: u{i}"))?;
                Some(arrived.duration_since(acks.posted[i]))
            })
            .collect();
        let first = acks.posted.iter().min().copied();
        let last = replies.first_arrivals.values().max().copied();
        let last_after = first.zip(last).map(|(a, b)| b.duration_since(a));
        Self {
            per_second: last_after.map_or(0.0, |s| per_second(end_to_end.len(), s)),
            end_to_end: sorted(end_to_end),
            sends: replies.sends,
            last_after,
            memory: replies.memory,
        }
    }

    fn rows(&self, updates: usize, row: &mut impl FnMut(&str, String)) {
        row(
            "replies answered",
            format!(
                "{} of {updates} ({} sendMessage calls)",
                self.end_to_end.len(),
                self.sends
            ),
        );
        row(
            "replies/s (first post to last reply)",
            format!("{:.0}", self.per_second),
        );
        row("end-to-end p50 / p99 / max", spread(&self.end_to_end));
        row(
            "last answered after (first post to last reply)",
            self.last_after
                .map_or("–".to_owned(), |d| format!("{:.2} s", d.as_secs_f64())),
        );
    }
}

/// What was run: database, mode, load shape and the server settings given.
fn heading(args: &Args) -> String {
    let pace = match args.rate {
        0 => "as fast as acknowledged".to_owned(),
        rate => format!("{rate}/s"),
    };
    let workers = match (args.mode, args.workers) {
        (RunMode::Intake, _) => "no workers (web tier)".to_owned(),
        (RunMode::Full, Some(n)) => format!("{n} workers"),
        (RunMode::Full, None) => "default workers".to_owned(),
    };
    let mut heading = format!(
        "{}, {}: {} updates from {} chats, {pace}, {} in flight, {workers}",
        args.database,
        args.mode.name(),
        args.updates,
        args.chats,
        args.concurrency
    );
    if args.mode == RunMode::Full {
        let _ = write!(heading, ", model latency {} ms", args.model_latency_ms);
    }
    if let Some(pool) = args.db_pool {
        let _ = write!(heading, ", pool {pool}");
    }
    if let Some(poll) = args.poll_interval_ms {
        let _ = write!(heading, ", poll {poll} ms");
    }
    heading
}

fn server_name(args: &Args) -> String {
    args.server.file_name().map_or_else(
        || args.server.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

fn sorted(mut durations: Vec<Duration>) -> Vec<Duration> {
    durations.sort_unstable();
    durations
}

fn per_second(count: usize, over: Duration) -> f64 {
    count as f64 / over.as_secs_f64().max(f64::EPSILON)
}

/// p50 / p99 / max of sorted durations.
fn spread(sorted: &[Duration]) -> String {
    format!(
        "{} / {} / {}",
        quantile(sorted, 0.50),
        quantile(sorted, 0.99),
        quantile(sorted, 1.0)
    )
}

/// The `q` quantile of sorted durations, in milliseconds.
fn quantile(sorted: &[Duration], q: f64) -> String {
    if sorted.is_empty() {
        return "–".to_owned();
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    millis(sorted[index])
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
