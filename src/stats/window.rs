//! Per-second buckets over the last few minutes: live rates and sparklines without keeping
//! samples.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::convert::saturating_u64;

/// How many one-second buckets are kept: the longest sparkline (a lane on a 240-column
/// terminal shows about 140 s) and the charts' span.
pub const WINDOW_SECS: usize = 180;

/// What happened during one second of the race.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[expect(
    clippy::struct_field_names,
    reason = "`second` is the result files' key for the second's number"
)]
pub struct Second {
    /// Seconds since the race started.
    pub second: u64,
    pub completed: u32,
    pub failed: u32,
    pub output_tokens: u64,
    /// Protocol chunks with content that arrived in this second (for live rates: tokens are
    /// only known for sure when a request ends).
    pub streamed_chunks: u64,
    /// Sum and count of TTFTs that arrived in this second (first tokens of measured requests,
    /// whatever became of them), for the mean.
    pub ttft_sum_ms: f64,
    pub ttft_count: u32,
}

impl Second {
    pub fn ttft_mean_ms(&self) -> Option<f64> {
        (self.ttft_count > 0).then(|| self.ttft_sum_ms / f64::from(self.ttft_count))
    }
}

#[derive(Clone, Debug, Default)]
pub struct SecondsWindow {
    seconds: VecDeque<Second>,
}

impl SecondsWindow {
    /// The bucket for the second containing `t_secs`, creating it (and any empty seconds before
    /// it) as time moves on. Events from a second already dropped land in the oldest bucket.
    pub fn at(&mut self, t_secs: f64) -> &mut Second {
        let second = saturating_u64(t_secs.max(0.0));
        let last = self.seconds.back().map(|s| s.second);
        match last {
            None => self.seconds.push_back(Second {
                second,
                ..Second::default()
            }),
            Some(last) if second > last => {
                let first_new = last + 1 + (second - last).saturating_sub(WINDOW_SECS as u64);
                for s in first_new..=second {
                    self.seconds.push_back(Second {
                        second: s,
                        ..Second::default()
                    });
                }
            }
            Some(_) => {}
        }
        while self.seconds.len() > WINDOW_SECS {
            self.seconds.pop_front();
        }
        let front = self.seconds.front().map_or(second, |s| s.second);
        let index = usize::try_from(second.saturating_sub(front)).unwrap_or(0);
        let index = index.min(self.seconds.len() - 1);
        &mut self.seconds[index]
    }

    /// The last `WINDOW_SECS` seconds up to and including `now_secs`, oldest first, with
    /// empty seconds filled in. The buckets are consecutive seconds, so each is found by its
    /// offset from the oldest: linear in the window, however long it is.
    pub fn recent(&self, now_secs: f64) -> Vec<Second> {
        let now = saturating_u64(now_secs.max(0.0));
        let first = now.saturating_sub(WINDOW_SECS as u64 - 1);
        let front = self.seconds.front().map_or(0, |s| s.second);
        (first..=now)
            .map(|s| {
                s.checked_sub(front)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| self.seconds.get(i))
                    .filter(|b| b.second == s)
                    .copied()
                    .unwrap_or(Second {
                        second: s,
                        ..Second::default()
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_time_and_stay_bounded() {
        let mut w = SecondsWindow::default();
        w.at(0.5).completed += 1;
        w.at(0.9).completed += 1;
        w.at(3.2).output_tokens += 10;
        let recent = w.recent(3.5);
        assert_eq!(recent.len(), 4);
        assert_eq!(recent[0].completed, 2);
        assert_eq!(recent[3].output_tokens, 10);
        w.at(500.0).completed += 1;
        assert!(w.seconds.len() <= WINDOW_SECS);
        let recent = w.recent(500.0);
        assert_eq!(recent.len(), WINDOW_SECS);
        assert_eq!(recent.last().unwrap().completed, 1);
        assert_eq!(recent.iter().map(|s| s.completed).sum::<u32>(), 1);
    }

    #[test]
    fn recent_finds_every_kept_second_and_fills_the_rest() {
        let mut w = SecondsWindow::default();
        for t in [2.0, 5.5, 6.0, 6.9, 100.0, 191.0, 300.0] {
            w.at(t).completed += 1;
        }
        // Only the last WINDOW_SECS seconds are kept: 191 and 300, not 100 (too old by 300).
        let recent = w.recent(300.2);
        assert_eq!(recent.len(), WINDOW_SECS);
        assert_eq!(recent[0].second, 300 - WINDOW_SECS as u64 + 1);
        let busy: Vec<(u64, u32)> = (recent.iter())
            .filter(|s| s.completed > 0)
            .map(|s| (s.second, s.completed))
            .collect();
        assert_eq!(busy, [(191, 1), (300, 1)]);
        // Seconds before the first bucket and after the last are empty, not borrowed.
        let mut w = SecondsWindow::default();
        w.at(10.0).completed += 3;
        let recent = w.recent(12.0);
        assert_eq!(recent.len(), 13);
        assert_eq!(recent[10].completed, 3);
        assert_eq!(recent.iter().map(|s| s.completed).sum::<u32>(), 3);
    }
}
