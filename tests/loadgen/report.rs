//! The load run's figures: throughput, latency percentiles and resident memory, as Markdown.

use crate::{Acks, Args};
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

pub struct Figures {
    updates: usize,
    accepted_per_second: f64,
    ack: Vec<Duration>,
    end_to_end: Vec<Duration>,
    replies_per_second: f64,
    sends: usize,
    memory: [Memory; 3],
}

impl Figures {
    /// `replies` maps each reply text (`re: u<i>`) to when it first reached the fake.
    pub fn new(
        acks: &Acks,
        replies: &HashMap<String, Instant>,
        sends: usize,
        memory: [Memory; 3],
    ) -> Self {
        let end_to_end: Vec<Duration> = (0..acks.posted.len())
            .filter_map(|i| {
                let arrived = replies.get(&format!("re: u{i}"))?;
                Some(arrived.duration_since(acks.posted[i]))
            })
            .collect();
        let first = acks.posted.iter().min().copied();
        let last = replies.values().max().copied();
        let span = first.zip(last).map(|(a, b)| b.duration_since(a));
        Self {
            updates: acks.posted.len(),
            accepted_per_second: per_second(acks.posted.len(), acks.elapsed),
            ack: sorted(acks.latency.clone()),
            replies_per_second: span.map_or(0.0, |s| per_second(end_to_end.len(), s)),
            end_to_end: sorted(end_to_end),
            sends,
            memory,
        }
    }

    pub fn markdown(&self, args: &Args) -> String {
        let [idle, loaded, after] = self.memory;
        let pace = match args.rate {
            0 => "as fast as acknowledged".to_owned(),
            rate => format!("{rate}/s"),
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| {}: {} updates from {} chats, {pace}, {} in flight, {} workers | |",
            args.database, self.updates, args.chats, args.concurrency, args.workers
        );
        let _ = writeln!(out, "|---|---|");
        let _ = writeln!(
            out,
            "| accepted webhooks/s | {:.0} |",
            self.accepted_per_second
        );
        let _ = writeln!(
            out,
            "| ack latency p50 / p99 / max | {} / {} / {} |",
            ms(&self.ack, 0.50),
            ms(&self.ack, 0.99),
            ms(&self.ack, 1.0)
        );
        let _ = writeln!(
            out,
            "| replies answered | {} of {} ({} sendMessage calls) |",
            self.end_to_end.len(),
            self.updates,
            self.sends
        );
        let _ = writeln!(
            out,
            "| replies/s (first post to last reply) | {:.0} |",
            self.replies_per_second
        );
        let _ = writeln!(
            out,
            "| end-to-end p50 / p99 / max | {} / {} / {} |",
            ms(&self.end_to_end, 0.50),
            ms(&self.end_to_end, 0.99),
            ms(&self.end_to_end, 1.0)
        );
        let _ = writeln!(out, "| RSS idle | {} |", mib(idle.rss));
        let _ = writeln!(
            out,
            "| RSS after posting / after replying | {} / {} |",
            mib(loaded.rss),
            mib(after.rss)
        );
        let _ = writeln!(out, "| RSS peak (VmHWM) | {} |", mib(after.peak));
        out
    }
}

fn sorted(mut durations: Vec<Duration>) -> Vec<Duration> {
    durations.sort_unstable();
    durations
}

fn per_second(count: usize, over: Duration) -> f64 {
    count as f64 / over.as_secs_f64().max(f64::EPSILON)
}

/// The `q` quantile of sorted durations, in milliseconds.
fn ms(sorted: &[Duration], q: f64) -> String {
    if sorted.is_empty() {
        return "–".to_owned();
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    format!("{:.1} ms", sorted[index].as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
