//! One endpoint's running statistics: counters, distributions and the last minute, folded from
//! finished request records, and its recent requests for the inspector. Memory is bounded
//! whatever the race length.

use std::collections::BTreeMap;
use std::time::Duration;

use super::buckets::SharedBuckets;
use super::distribution::{Distribution, Summary};
use super::health;
use super::recent::{RecentRequests, ViewHandle};
use super::request::{Outcome, RequestRecord, duration_ms};
use super::snapshot::{Counts, Embeddings, EndpointSnapshot, Latency, Rates, Tokens};
use super::window::SecondsWindow;
use crate::config::Slo;
use crate::event::{ErrorClass, EventKind, Offset, PromptId, RequestId, TokenSource};

/// The span of the live rates.
const LIVE_SECS: usize = 10;

#[derive(Clone, Debug, Default)]
pub struct EndpointStats {
    name: String,
    counts: Counts,
    errors: BTreeMap<ErrorClass, u64>,
    ttfb: Distribution,
    ttft: Distribution,
    ttfa: Distribution,
    ttlt: Distribution,
    tpot: Distribution,
    itl: Distribution,
    output_tps: Distribution,
    /// TTFB and TTFT as they arrive, of every request: the lanes show these while requests that
    /// got them stream, instead of a dash for as long as the slowest answer takes.
    first_ttfb: Distribution,
    first_ttft: Distribution,
    /// Open loop: how late requests left after their scheduled time.
    lag: Distribution,
    /// Per request, its latest read of content (when noted).
    read_late: Distribution,
    /// The latest of them exactly, which the histogram gives to within its precision only.
    read_late_max_ms: Option<f64>,
    tokens: Tokens,
    first_sent: Option<Offset>,
    last_finished: Option<Offset>,
    window: SecondsWindow,
    requests: RecentRequests,
    /// Multi-turn sessions: TTFT per turn.
    turns: super::turns::TurnStats,
    /// The latencies again in fixed buckets, for the Prometheus exporter.
    buckets: SharedBuckets,
    /// An embeddings endpoint: its batch, inputs embedded and dimension (rates at snapshots).
    embeddings: Option<Embeddings>,
    /// Embeddings: the input tokens of the succeeded requests, whose inputs `embeddings` counts.
    embedded_input_tokens: u64,
}

impl EndpointStats {
    pub fn new(name: &str) -> Self {
        EndpointStats {
            name: name.to_string(),
            ..EndpointStats::default()
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A request was sent at `t`; the handle follows it in the inspector's ring.
    pub fn on_sent(
        &mut self,
        t: Offset,
        request: RequestId,
        prompt: PromptId,
        warmup: bool,
        lag_us: Option<u64>,
        retry: bool,
    ) -> ViewHandle {
        if warmup {
            self.counts.warmup += 1;
        } else {
            if retry {
                self.counts.retries += 1;
            }
            if let Some(lag) = lag_us {
                #[expect(clippy::cast_precision_loss, reason = "a lag is far below 2^52 µs")]
                self.lag.record_ms(lag as f64 / 1000.0);
            }
            self.counts.sent += 1;
            self.counts.in_flight += 1;
            // The earliest, not the first told: workers' events reach the channel out of time
            // order, and a rebuild from the records (sorted by time) must give the same window.
            self.first_sent = Some(self.first_sent.map_or(t, |first| first.min(t)));
        }
        self.requests.sent(request, prompt, warmup, t)
    }

    /// A measured embeddings request carrying `inputs` was sent: the endpoint is one.
    pub fn on_embeddings_sent(&mut self, inputs: u32) {
        let embeddings = self.embeddings.get_or_insert_with(Embeddings::default);
        embeddings.batch = embeddings.batch.max(inputs);
    }

    /// Any later event of a request, for the inspector.
    pub fn follow(&mut self, view: &mut ViewHandle, t: Offset, kind: &EventKind) {
        self.requests.apply(view, t, kind);
    }

    /// Content arriving now, for the live rate.
    pub fn on_content(&mut self, t: Offset, chunks: u32) {
        self.window.at(t.as_secs_f64()).streamed_chunks += u64::from(chunks);
    }

    /// A request's first byte or first token arrived at `t`: `before` and `after` are its
    /// (TTFB, TTFT) around the event. The TTFT goes into its second of the window at once, for
    /// the charts and sparklines; both stand in for the distributions while requests that got
    /// them have not ended yet.
    pub fn on_first_moments(
        &mut self,
        t: Offset,
        before: (Option<Duration>, Option<Duration>),
        after: (Option<Duration>, Option<Duration>),
    ) {
        if let (None, Some(ttfb)) = (before.0, after.0) {
            self.first_ttfb.record_ms(duration_ms(ttfb));
        }
        if let (None, Some(ttft)) = (before.1, after.1) {
            let ttft = duration_ms(ttft);
            let second = self.window.at(t.as_secs_f64());
            second.ttft_sum_ms += ttft;
            second.ttft_count += 1;
            self.first_ttft.record_ms(ttft);
        }
    }

    /// Folds a finished request in; `t` is when it ended, `view` its inspector entry (which
    /// has seen the terminal event already).
    pub fn on_finished(&mut self, t: Offset, record: &RequestRecord, view: &ViewHandle, slo: &Slo) {
        self.requests.ended(view, record.output_tokens);
        if record.warmup {
            return;
        }
        self.counts.in_flight = self.counts.in_flight.saturating_sub(1);
        // A request no server saw repeated nothing to one (a dead port sends thousands).
        if super::repeats::never_reached(record) {
            self.counts.unreached += 1;
        } else if record.repeat {
            self.counts.repeats += 1;
        }
        self.last_finished = Some(self.last_finished.map_or(t, |l| l.max(t)));
        if record.new_connection {
            self.counts.new_connections += 1;
        }
        self.turns.on_ended(record);
        let second = self.window.at(t.as_secs_f64());
        match record.outcome {
            Outcome::Succeeded => {
                self.counts.succeeded += 1;
                second.completed += 1;
                let output = u64::from(record.output_tokens.unwrap_or(0));
                second.output_tokens += output;
                self.tokens.output += output;
                if record.output_tokens_source == Some(TokenSource::Estimate) {
                    self.tokens.estimated_output_requests += 1;
                }
                if record.usage_contradicted {
                    self.tokens.contradicted_output_requests += 1;
                }
                if record.meets(slo) {
                    self.counts.good += 1;
                }
                record_opt(&mut self.ttft, record.ttft_ms);
                self.turns.on_succeeded(record);
                record_opt(&mut self.ttfa, record.ttfa_ms);
                record_opt(&mut self.ttlt, record.ttlt_ms);
                record_opt(&mut self.tpot, record.tpot_ms);
                if let Some(tps) = record.output_tps {
                    self.output_tps.record_value(tps);
                }
                for gap in &record.itl_ms {
                    self.itl.record_ms(*gap);
                }
                self.bucket(record);
                if record.batched_first_token {
                    self.counts.batched_first_token += 1;
                }
                if record.tool_calls > 0 {
                    self.counts.tool_call_requests += 1;
                }
                if let Some(valid) = record.json_valid {
                    self.counts.json_checked += 1;
                    self.counts.json_valid += u64::from(valid);
                }
                if let (Some(embeddings), Some(inputs)) = (&mut self.embeddings, record.inputs) {
                    embeddings.inputs += u64::from(inputs);
                    self.embedded_input_tokens += u64::from(record.input_tokens.unwrap_or(0));
                    embeddings.dimension = record.embedding_dimension.or(embeddings.dimension);
                }
            }
            Outcome::Failed => {
                self.counts.failed += 1;
                second.failed += 1;
                if let Some(class) = record.error_class {
                    *self.errors.entry(class).or_default() += 1;
                }
            }
            Outcome::Cancelled => self.counts.cancelled += 1,
        }
        record_opt(&mut self.ttfb, record.ttfb_ms);
        record_opt(&mut self.read_late, record.read_late_max_ms);
        if let Some(late) = record.read_late_max_ms {
            self.read_late_max_ms = Some(self.read_late_max_ms.map_or(late, |max| max.max(late)));
        }
        if record.unstamped_reads > 0 {
            self.counts.unstamped_reads += 1;
        }
        self.tokens.input += u64::from(record.input_tokens.unwrap_or(0));
        self.tokens.cached_input += u64::from(record.cached_input_tokens.unwrap_or(0));
        if record.cached_input_tokens.is_some() {
            self.tokens.cache_reported += 1;
        }
        self.tokens.cache_write_input += u64::from(record.cache_write_input_tokens.unwrap_or(0));
        if let Some(n) = record.reasoning_tokens {
            self.tokens.reasoning = Some(self.tokens.reasoning.unwrap_or(0) + u64::from(n));
        }
        self.tokens.chunks += u64::from(record.chunks);
        self.tokens.request_bytes += record.bytes_sent;
    }

    /// Its first request sent and its last request's end (`None`: none yet).
    pub fn span(&self) -> (Option<Offset>, Option<Offset>) {
        (self.first_sent, self.last_finished)
    }

    /// The endpoint as of `now`; `finished` when the race is over, so that only ended requests
    /// count.
    pub fn snapshot(&self, now: Offset, finished: bool) -> EndpointSnapshot {
        let window_s = match (self.first_sent, self.last_finished) {
            (Some(first), Some(last)) => last.since(first).as_secs_f64(),
            _ => 0.0,
        };
        let per_s = |n: f64| if window_s > 0.0 { n / window_s } else { 0.0 };
        let recent_seconds = self.window.recent(now.as_secs_f64());
        // The live window ends at the last whole second, so a half-begun second does not
        // drag the rate down.
        let live_seconds = recent_seconds.len().saturating_sub(1).min(LIVE_SECS);
        let live_chunks: u64 = recent_seconds
            .iter()
            .rev()
            .skip(1)
            .take(LIVE_SECS)
            .map(|s| s.streamed_chunks)
            .sum();
        // Servers may batch several tokens per chunk: scale by what finished requests showed.
        let tokens_per_chunk = if self.tokens.chunks > 0 && self.tokens.output > 0 {
            self.tokens.output as f64 / self.tokens.chunks as f64
        } else {
            1.0
        };
        let live = live_chunks as f64 * tokens_per_chunk;
        let ended = self.counts.succeeded + self.counts.failed;
        let latency = Latency {
            ttfb_ms: live_or_ended(&self.first_ttfb, &self.ttfb, finished),
            ttft_ms: live_or_ended(&self.first_ttft, &self.ttft, finished),
            ttfa_ms: self.ttfa.summary(),
            ttlt_ms: self.ttlt.summary(),
            tpot_ms: self.tpot.summary(),
            itl_ms: self.itl.summary(),
            output_tps: self.output_tps.summary(),
            send_lag_ms: self.lag.summary(),
            read_late_ms: self.read_late.summary(),
            read_late_max_ms: self.read_late_max_ms,
            ttft_by_turn: self.turns.summary(),
        };
        let health = health::judge(&recent_seconds, ended, latency.ttft_ms.as_ref());
        EndpointSnapshot {
            name: self.name.clone(),
            counts: self.counts,
            errors: self.errors.clone(),
            latency,
            tokens: self.tokens,
            rates: Rates {
                window_s,
                requests_per_s: per_s(self.counts.succeeded as f64),
                requests_per_min: per_s(self.counts.succeeded as f64) * 60.0,
                output_tokens_per_s: per_s(self.tokens.output as f64),
                goodput_per_s: per_s(self.counts.good as f64),
                success_rate: if ended == 0 {
                    1.0
                } else {
                    self.counts.succeeded as f64 / ended as f64
                },
                // Over the seconds there were: a race younger than the window is not
                // divided by seconds it has not run.
                live_output_tokens_per_s: if live_seconds == 0 {
                    0.0
                } else {
                    live / live_seconds as f64
                },
                repeat_share: self.counts.repeat_share().unwrap_or(0.0),
                cache_hit_rate: self.tokens.cache_hit_rate(),
            },
            recent_seconds,
            requests: self.requests.shared(),
            health,
            wins_first_token: 0,
            wins_first_finished: 0,
            laps: 0,
            server: None,
            buckets: self.buckets.shared(),
            embeddings: self.embeddings.map(|e| Embeddings {
                inputs_per_s: per_s(e.inputs as f64),
                input_tokens_per_s: per_s(self.embedded_input_tokens as f64),
                ..e
            }),
        }
    }

    /// A succeeded request's latencies into the exporter's buckets, as into the distributions.
    fn bucket(&mut self, record: &RequestRecord) {
        let buckets = self.buckets.edit();
        for (b, ms) in [
            (&mut buckets.ttft, record.ttft_ms),
            (&mut buckets.ttfa, record.ttfa_ms),
            (&mut buckets.ttlt, record.ttlt_ms),
            (&mut buckets.tpot, record.tpot_ms),
        ] {
            if let Some(ms) = ms {
                b.record_ms(ms);
            }
        }
        for gap in &record.itl_ms {
            buckets.itl.record_ms(*gap);
        }
    }
}

/// Every first moment so far (`arrived`) stands in for the ended requests' figures (`ended`)
/// until as many have ended as arrived: switching earlier would jump from one set of requests
/// to another (or show nothing while the first answers are long). When the counts meet, both
/// hold the same requests unless some failed after their first token, so the switch shows no
/// move. A finished race shows ended requests only, as the final table and summary do.
fn live_or_ended(arrived: &Distribution, ended: &Distribution, finished: bool) -> Option<Summary> {
    if finished || ended.len() >= arrived.len() {
        ended.summary()
    } else {
        arrived.summary()
    }
}

fn record_opt(d: &mut Distribution, ms: Option<f64>) {
    if let Some(ms) = ms {
        d.record_ms(ms);
    }
}
