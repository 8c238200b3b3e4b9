//! Benchmark: formatting a long Markdown reply for each platform, per reply (`cargo bench -p switchboard-application --bench format`).

use std::hint::black_box;
use std::time::{Duration, Instant};
use switchboard_application::format::{parts, Markup};

/// A long answer as models write them: headings, lists, emphasis, code, links and a table.
fn sample() -> String {
    let section = "## Step {n}\n\nFirst, **install** the `tool` with *care*; see [the guide](https://example.com/guide/{n}).\n\n\
        1. Open a terminal\n2. Run the command below\n3. Check the output\n\n\
        ```sh\ncargo install tool --version 1.{n}\ntool check --all\n```\n\n\
        > Note: the ~~old~~ new flags apply.\n\n| flag | meaning |\n|---|---|\n| `-a` | all |\n\n";
    (1..=8)
        .map(|n| section.replace("{n}", &n.to_string()))
        .collect()
}

fn main() {
    let reply = sample();
    let rounds = 20_000u32;
    println!(
        "a reply of {} bytes, {rounds} rounds per markup",
        reply.len()
    );
    for (markup, max) in [
        (Markup::Entities, 4096),
        (Markup::WhatsApp, 4096),
        (Markup::Markdown, 2000),
        (Markup::Plain, 2000),
    ] {
        let mut count = 0;
        let started = Instant::now();
        for _ in 0..rounds {
            let formatted = parts(black_box(&reply), markup, max);
            count += black_box(formatted).len();
        }
        let per_reply: Duration = started.elapsed() / rounds;
        println!(
            "{markup:?}: {per_reply:?} per reply, {} parts",
            count / rounds as usize
        );
    }
}
