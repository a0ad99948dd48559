//! TTFT by turn, for races of multi-turn sessions: one distribution per turn of the
//! successful, measured requests. Later turns resend the conversation so far, so a server that
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
    pub p50_ms: f64,
    pub p90_ms: f64,
}

/// Per turn, the TTFT of an endpoint's successful requests.
#[derive(Clone, Debug, Default)]
pub struct TurnStats {
    by_turn: Vec<Distribution>,
}

impl TurnStats {
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

    /// Each turn that has a TTFT, in order; empty outside races of sessions.
    pub fn summary(&self) -> Vec<TurnTtft> {
        (1_u32..)
            .zip(&self.by_turn)
            .filter_map(|(turn, d)| {
                d.summary().map(|s| TurnTtft {
                    turn,
                    count: s.count,
                    p50_ms: s.p50,
                    p90_ms: s.p90,
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
        assert!((summary[0].p90_ms - 120.0).abs() < 0.2, "{summary:?}");
        assert_eq!((summary[1].turn, summary[1].count), (3, 1));
        assert!((summary[1].p50_ms - 20.0).abs() < 0.1, "{summary:?}");
    }
}
