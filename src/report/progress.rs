//! The progress of a headless race, once a second: enough to see it is alive and who is ahead,
//! without a terminal UI. One line per endpoint, so eight endpoints still fit 80 columns.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::event::Offset;
use crate::format::{ms, rate};
use crate::stats::Snapshot;

/// The columns a name may take: longer ones are cut, so a line stays within 80 columns.
const NAME_COLUMNS: usize = 20;

/// Writes the progress blocks, each snapshot at most once.
pub struct Progress {
    /// Requests each endpoint will send, when known.
    targets: Vec<Option<u64>>,
    /// The race time of the last block written.
    written: Option<Offset>,
    /// Put before the time: which shard of a race this is (`shard 2/4`).
    label: Option<String>,
}

impl Progress {
    pub fn new(targets: Vec<Option<u64>>) -> Self {
        Progress {
            targets,
            written: None,
            label: None,
        }
    }

    /// With `label` (a shard's) before each block's time.
    #[must_use]
    pub fn labelled(self, label: Option<String>) -> Self {
        Progress { label, ..self }
    }

    /// The block for `snapshot`, or `None` when it is the one written last (the race was quiet
    /// for a while: repeating the same numbers under the same time says nothing), e.g.
    /// ```text
    /// [  4.0s] turbo   12/24  TTFT 81.0 ms   95.0 tok/s
    ///          steady   8/24  TTFT  250 ms   41.2 tok/s  ✗1
    /// ```
    pub fn block(&mut self, snapshot: &Snapshot) -> Option<String> {
        if snapshot.endpoints.is_empty() || self.written == Some(snapshot.t) {
            return None;
        }
        self.written = Some(snapshot.t);
        let stamp = match &self.label {
            Some(label) => format!("[{label} {:>5.1}s]", snapshot.t.as_secs_f64()),
            None => format!("[{:>5.1}s]", snapshot.t.as_secs_f64()),
        };
        let names: Vec<Cow<'_, str>> = (snapshot.endpoints.iter())
            .map(|e| cut(&e.name, NAME_COLUMNS))
            .collect();
        let name_width = names.iter().map(|n| n.width()).max().unwrap_or(0);
        let counts: Vec<String> = (snapshot.endpoints.iter().enumerate())
            .map(|(i, e)| {
                let of = (self.targets.get(i).copied().flatten())
                    .map_or(String::new(), |n| format!("/{n}"));
                format!("{}{of}", e.counts.requests_done())
            })
            .collect();
        // Wide enough for the end (`24/24`), so the columns stay put as the race goes on.
        let finals = self
            .targets
            .iter()
            .flatten()
            .map(|n| 2 * n.to_string().len() + 1);
        let count_width = counts
            .iter()
            .map(String::len)
            .chain(finals)
            .max()
            .unwrap_or(0);
        let mut block = String::new();
        let rows = snapshot.endpoints.iter().zip(&names).zip(&counts);
        for (i, ((e, name), count)) in rows.enumerate() {
            let lead = if i == 0 {
                stamp.clone()
            } else {
                " ".repeat(stamp.len())
            };
            let pad = " ".repeat(name_width - name.width());
            // An embeddings endpoint has no first token and no output: its latency is the
            // request's, its rate the inputs it embeds.
            let (label, latency, per_s, unit) = match e.embeddings {
                Some(m) => ("TTLT", e.latency.ttlt_ms, m.inputs_per_s, "in/s"),
                None => (
                    "TTFT",
                    e.latency.ttft_ms,
                    e.rates.live_output_tokens_per_s,
                    "tok/s",
                ),
            };
            // Writing to a String cannot fail.
            let _ = write!(
                block,
                "{lead} {name}{pad}  {count:>count_width$}  {label} {:>7}  {:>6} {unit}",
                ms(latency.map(|s| s.p50)),
                rate(per_s),
            );
            if e.counts.failed > 0 {
                let _ = write!(block, "  ✗{}", e.counts.failed);
            }
            if e.counts.retries > 0 {
                let _ = write!(block, "  ↻{}", e.counts.retries);
            }
            block.push('\n');
        }
        block.pop();
        Some(block)
    }
}

/// `name` cut to `columns` display columns, its end replaced by `…` when cut.
fn cut(name: &str, columns: usize) -> Cow<'_, str> {
    if name.width() <= columns {
        return Cow::Borrowed(name);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in name.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > columns {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture;

    #[test]
    fn one_aligned_line_per_endpoint_within_80_columns() {
        let mut snapshot = fixture::race(8, 30);
        snapshot.t = Offset::from_duration(std::time::Duration::from_secs(4));
        let block = Progress::new(vec![Some(240); 8]).block(&snapshot).unwrap();
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines.len(), 8, "{block}");
        assert!(lines[0].starts_with("[  4.0s] "), "{block}");
        // Only the first line starts like a progress line: one update is one block.
        assert!(
            lines[1..].iter().all(|l| l.starts_with("         ")),
            "{block}"
        );
        assert!(lines.iter().all(|l| l.width() <= 80), "{block}");
        let at = |l: &str| l.find("TTFT");
        assert!(lines.iter().all(|l| at(l) == at(lines[0])), "{block}");
    }

    #[test]
    fn long_and_wide_names_are_cut_to_fit_80_columns() {
        let mut snapshot = fixture::race(3, 30);
        snapshot.endpoints[0].name = "a-very-long-endpoint-name-from-a-generated-config".into();
        snapshot.endpoints[1].name = "模型服务器模型服务器模型服务器".into();
        snapshot.endpoints[2].name = "short".into();
        for e in &mut snapshot.endpoints {
            e.counts.failed = 123;
            e.counts.retries = 456;
        }
        let block = Progress::new(vec![Some(1000); 3]).block(&snapshot).unwrap();
        let lines: Vec<&str> = block.lines().collect();
        assert!(lines.iter().all(|l| l.width() <= 80), "{block}");
        assert!(lines[0].contains("a-very-long-endpoin…"), "{block}");
        assert!(lines[1].contains("模型服务器模型服务…"), "{block}");
        // Columns line up on the screen, whatever the names' widths.
        let at = |l: &str| l.find("TTFT").map(|i| l[..i].width());
        assert!(lines.iter().all(|l| at(l) == at(lines[0])), "{block}");
    }

    #[test]
    fn an_embeddings_endpoint_shows_its_latency_and_inputs_per_second() {
        let snapshot = fixture::finished_race_with_embeddings(2, 10);
        let block = Progress::new(vec![Some(10); 2]).block(&snapshot).unwrap();
        let lines: Vec<&str> = block.lines().collect();
        assert!(
            lines[0].contains("TTFT") && lines[0].ends_with("tok/s"),
            "{block}"
        );
        assert!(
            lines[1].contains("TTLT") && lines[1].ends_with("in/s"),
            "{block}"
        );
        assert_eq!(lines[0].find("TTFT"), lines[1].find("TTLT"), "{block}");
    }

    #[test]
    fn a_quiet_race_prints_each_moment_once() {
        let snapshot = fixture::race(2, 10);
        let mut progress = Progress::new(Vec::new());
        assert!(progress.block(&snapshot).is_some());
        assert_eq!(progress.block(&snapshot), None);
        let later = Snapshot {
            t: Offset(snapshot.t.0 + 1),
            ..snapshot
        };
        assert!(progress.block(&later).is_some());
    }

    #[test]
    fn a_shard_says_which_before_the_time() {
        let snapshot = fixture::race(2, 10);
        let mut progress = Progress::new(Vec::new()).labelled(Some("shard 2/4".to_string()));
        let block = progress.block(&snapshot).expect("a block");
        assert!(block.starts_with("[shard 2/4 "), "{block}");
    }
}
