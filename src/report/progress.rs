//! The one-line-per-update progress of a headless race: enough to see it is alive and who is
//! ahead, without a terminal UI.

use super::format::{ms, rate};
use crate::stats::Snapshot;

/// One line describing the race so far, e.g.
/// `[ 4.0s] turbo 12/24 ttft 81 ms 95 tok/s │ steady 8/24 …`.
pub fn progress_line(snapshot: &Snapshot, targets: &[Option<u64>]) -> String {
    let mut line = format!("[{:>5.1}s]", snapshot.t.as_secs_f64());
    for (i, e) in snapshot.endpoints.iter().enumerate() {
        let done = e.counts.requests_done();
        let of = targets
            .get(i)
            .copied()
            .flatten()
            .map_or(String::new(), |n| format!("/{n}"));
        let sep = if i == 0 { " " } else { " │ " };
        line.push_str(&format!(
            "{sep}{} {done}{of} ttft {} {} tok/s",
            e.name,
            ms(e.latency.ttft_ms.map(|s| s.p50)),
            rate(e.rates.live_output_tokens_per_s),
        ));
        if e.counts.failed > 0 {
            line.push_str(&format!(" ✗{}", e.counts.failed));
        }
        if e.counts.retries > 0 {
            line.push_str(&format!(" ↻{}", e.counts.retries));
        }
    }
    line
}
