//! TTFT by turn, for races of multi-turn sessions: one distribution per turn of the
//! successful, measured requests, and how many of each turn ended at all (a turn whose requests
//! all failed is still told, with no TTFT). Later turns resend the conversation so far, so a server that
//! caches prefixes answers them faster than the first; this is where that shows.

use serde::{Deserialize, Serialize};

use super::distribution::Distribution;
use super::request::RequestRecord;

/// Turns tracked at most (a session has at most this many, `config::MAX_TURNS`).
const MAX_TURNS: usize = 100;

/// One turn's TTFT, as the summary and the reports show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TurnTtft {
    /// The turn, from 1.
    pub turn: u32,
    /// Successful requests of that turn with a first token.
    pub count: u64,
    /// Measured requests of that turn that ended, however (absent in summaries before it).
    #[serde(default)]
    pub ended: u64,
    /// `None` when no request of the turn succeeded.
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
}

/// Per turn, the TTFT of an endpoint's successful requests.
#[derive(Clone, Debug, Default)]
pub struct TurnStats {
    by_turn: Vec<Distribution>,
    /// Per turn, the measured requests that ended.
    ended: Vec<u64>,
}

impl TurnStats {
    /// Counts a measured request that ended, however: only a session's turns count.
    pub fn on_ended(&mut self, record: &RequestRecord) {
        let Some(index) = record.turn.map(|turn| (turn as usize).saturating_sub(1)) else {
            return;
        };
        if index >= MAX_TURNS {
            return;
        }
        if self.ended.len() <= index {
            self.ended.resize(index + 1, 0);
        }
        self.ended[index] += 1;
    }

    /// Folds in a successful, measured request: only a session's turns count.
    pub fn on_succeeded(&mut self, record: &RequestRecord) {
        let (Some(turn), Some(ttft)) = (record.turn, record.ttft_ms) else {
            return;
        };
        let index = (turn as usize).saturating_sub(1);
        if index >= MAX_TURNS {
            return;
        }
        if self.by_turn.len() <= index {
            self.by_turn.resize_with(index + 1, Distribution::new);
        }
        self.by_turn[index].record_ms(ttft);
    }

    /// Each turn that had a request end, in order, with its TTFT when one succeeded; empty
    /// outside races of sessions.
    pub fn summary(&self) -> Vec<TurnTtft> {
        let turns = self.ended.len().max(self.by_turn.len());
        (1_u32..)
            .zip(0..turns)
            .filter_map(|(turn, index)| {
                let ttft = self.by_turn.get(index).and_then(Distribution::summary);
                let ended = self.ended.get(index).copied().unwrap_or_default();
                (ended > 0 || ttft.is_some()).then(|| TurnTtft {
                    turn,
                    count: ttft.as_ref().map_or(0, |s| s.count),
                    ended,
                    p50_ms: ttft.as_ref().map(|s| s.p50),
                    p90_ms: ttft.as_ref().map(|s| s.p90),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(turn: Option<u32>, ttft: f64) -> RequestRecord {
        let mut record: RequestRecord = serde_json::from_value(serde_json::json!({
            "request": 1, "endpoint": 0, "endpoint_name": "a", "prompt": 0, "warmup": false,
            "request_time": "2026-01-01T00:00:00Z", "sent_at_s": 0.0, "outcome": "succeeded",
            "http_status": 200, "error_class": null, "error_message": null,
            "finish_reason": null, "ttfb_ms": null, "ttft_ms": ttft, "ttfa_ms": null,
            "ttlt_ms": null, "tpot_ms": null, "output_tps": null, "itl_ms": [], "chunks": 1,
            "input_tokens": null, "input_tokens_source": null, "output_tokens": null,
            "output_tokens_source": null, "cached_input_tokens": null,
            "reasoning_tokens": null, "bytes_sent": 0, "bytes_received": 0,
            "new_connection": false, "connect_ms": null, "server_request_id": null,
            "response_id": null
        }))
        .expect("a record");
        record.turn = turn;
        record
    }

    #[test]
    fn ttft_is_told_per_turn_and_not_at_all_without_sessions() {
        let mut stats = TurnStats::default();
        stats.on_succeeded(&record(None, 5.0));
        assert!(stats.summary().is_empty());
        for ttft in [100.0, 120.0] {
            stats.on_succeeded(&record(Some(1), ttft));
        }
        stats.on_succeeded(&record(Some(3), 20.0));
        let summary = stats.summary();
        assert_eq!(summary.len(), 2, "turn 2 had none: left out");
        assert_eq!((summary[0].turn, summary[0].count), (1, 2));
        assert!(
            (summary[0].p90_ms.unwrap() - 120.0).abs() < 0.2,
            "{summary:?}"
        );
        assert_eq!((summary[1].turn, summary[1].count), (3, 1));
        assert!(
            (summary[1].p50_ms.unwrap() - 20.0).abs() < 0.1,
            "{summary:?}"
        );
    }

    #[test]
    fn a_turn_whose_requests_all_failed_is_told_with_no_ttft() {
        let mut stats = TurnStats::default();
        for turn in [1, 1, 2] {
            stats.on_ended(&record(Some(turn), 0.0));
        }
        stats.on_succeeded(&record(Some(1), 100.0));
        let summary = stats.summary();
        assert_eq!(summary.len(), 2, "{summary:?}");
        assert_eq!((summary[0].count, summary[0].ended), (1, 2));
        assert_eq!(
            summary[1],
            TurnTtft {
                turn: 2,
                count: 0,
                ended: 1,
                p50_ms: None,
                p90_ms: None
            }
        );
    }
}
