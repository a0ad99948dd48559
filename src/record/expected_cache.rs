//! A shared-prefix race's prompt-cache hit rates, per endpoint: the share of input tokens its
//! workload should find in a server's prefix cache, beside the share the server reported
//! (cached input tokens over input tokens). Built once from the final numbers, for `run.json`,
//! `summary.json`, the notices and every report.

use serde::{Deserialize, Serialize};

use crate::config::{PromptSource, RaceConfig};
use crate::format::percent;
use crate::stats::EndpointSnapshot;

/// The expected and reported cache hit rates of a shared-prefix race.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectedCache {
    pub groups: u32,
    pub prefix_tokens: u32,
    pub suffix_tokens: u32,
    /// By endpoint, in the race's order.
    pub endpoints: Vec<EndpointCacheHit>,
    /// Why the server may report less: its requests ran several at a time, so the first ones of
    /// a group could not find each other's prefix. Absent when each endpoint sent one at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// One endpoint's expected and reported cache hit rates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointCacheHit {
    pub endpoint: String,
    /// The measured requests the expectation counts: those sent after the warm-ups.
    pub requests: u64,
    /// The share of input tokens that should be cached when the requests reach the server one
    /// after the other: the first prompt of each group finds nothing, a later one its prefix.
    pub expected: f64,
    /// Cached input tokens over input tokens, as the server reported them; absent when it
    /// never said how many were cached (`Tokens::cache_hit_rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<f64>,
}

impl ExpectedCache {
    /// The rates of `race` over its endpoints' final numbers; `None` unless its prompts are
    /// shared-prefix ones.
    pub fn of(race: &RaceConfig, endpoints: &[EndpointSnapshot]) -> Option<ExpectedCache> {
        let PromptSource::SharedPrefix(spec) = &race.workload.prompts else {
            return None;
        };
        // Later turns resend whole conversations and images add tokens the groups don't
        // share: the single-request arithmetic would be wrong, so none is given.
        if race.workload.turns > 1 || race.workload.images.is_some() {
            return None;
        }
        let endpoints = endpoints
            .iter()
            .map(|e| {
                let requests = e.counts.sent.saturating_sub(e.counts.retries);
                let first = e.counts.warmup;
                let expected = crate::workload::expected_hit_rate(&race.workload, first, requests);
                let reported = e.tokens.cache_hit_rate();
                EndpointCacheHit {
                    endpoint: e.name.clone(),
                    requests,
                    expected: expected.unwrap_or(0.0),
                    reported,
                }
            })
            .collect();
        Some(ExpectedCache {
            groups: spec.groups,
            prefix_tokens: spec.prefix_tokens,
            suffix_tokens: spec.suffix_tokens,
            endpoints,
            remark: remark(race),
        })
    }

    /// One line per endpoint, `turbo: prompt cache hit rate 79.9% reported by the server,
    /// 80.6% expected …`, and the remark.
    pub fn notices(&self) -> Vec<String> {
        let mut notices: Vec<String> = self
            .endpoints
            .iter()
            .filter(|e| e.requests > 0)
            .map(|e| {
                let reported = match e.reported {
                    Some(0.0) if e.expected > 0.0 => "0% reported by the server (it caches no \
                                                      prefix, or does not report cached tokens)"
                        .to_string(),
                    // Well above what the workload alone can produce: the cache was warm.
                    Some(share) if share > e.expected + WARM_MARGIN => format!(
                        "{} reported by the server (more than the workload makes: the server's \
                         cache already held these prompts, from an earlier run with `cache = \
                         \"reuse\"` or another client sending them)",
                        percent(share)
                    ),
                    Some(share) => format!("{} reported by the server", percent(share)),
                    None => "not reported by the server".to_string(),
                };
                format!(
                    "{}: prompt cache hit rate {reported}, {} expected of {} in {} groups \
                     sharing {}-token prefixes",
                    e.endpoint,
                    percent(e.expected),
                    crate::format::count(e.requests, "request"),
                    self.groups,
                    self.prefix_tokens,
                )
            })
            .collect();
        notices.extend(self.remark.clone());
        notices
    }
}

/// How far above the expected rate a reported one must be to say the cache was warm before
/// the race: the salt, a shared system prompt and rounding to the server's cache blocks add a
/// few points.
const WARM_MARGIN: f64 = 0.15;

/// The remark for a race that sends an endpoint more than one request at a time.
fn remark(race: &RaceConfig) -> Option<String> {
    let load = &race.load;
    let most = race
        .endpoints
        .iter()
        .map(|e| e.concurrency.unwrap_or(load.concurrency))
        .chain(load.concurrency_ramp.map(|r| r.from.max(r.to)))
        .max()
        .unwrap_or(load.concurrency);
    let together = if load.open_loop().is_some() {
        "an open loop sends requests whatever is in flight".to_string()
    } else if load.laps || most <= 1 {
        return None;
    } else {
        format!("up to {most} requests were in flight at once")
    };
    Some(format!(
        "shared prefix: the expected cache hit rate assumes requests that reach the server one \
         after the other; {together}, so the first requests of a group may run together and \
         miss each other's prefix, which lowers the reported rate at the start"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SharedPrefixSpec;

    fn race(concurrency: u32) -> RaceConfig {
        let mut race = crate::config::demo_race();
        race.workload.prompts = PromptSource::SharedPrefix(SharedPrefixSpec {
            groups: 8,
            prefix_tokens: 2048,
            suffix_tokens: 256,
            count: 100,
            seed: 0,
        });
        race.load.concurrency = concurrency;
        for e in &mut race.endpoints {
            e.concurrency = None;
        }
        race
    }

    fn endpoint(name: &str, sent: u64, input: u64, cached: u64) -> EndpointSnapshot {
        use crate::stats::snapshot::{Counts, Latency, Rates, Tokens};
        EndpointSnapshot {
            server: None,
            buckets: std::sync::Arc::default(),
            embeddings: None,
            name: name.to_string(),
            counts: Counts {
                sent,
                succeeded: sent,
                ..Counts::default()
            },
            errors: std::collections::BTreeMap::default(),
            latency: Latency::default(),
            tokens: Tokens {
                input,
                cached_input: cached,
                cache_reported: u64::from(input > 0),
                ..Tokens::default()
            },
            rates: Rates::default(),
            recent_seconds: Vec::new(),
            requests: Vec::new(),
            health: crate::stats::Health::default(),
            wins_first_token: 0,
            wins_first_finished: 0,
            laps: 0,
        }
    }

    #[test]
    fn each_endpoint_gets_its_expected_and_reported_rate() {
        let endpoints = [endpoint("a", 20, 46_080, 24_576), endpoint("b", 4, 0, 0)];
        let expected = ExpectedCache::of(&race(1), &endpoints).expect("shared prefix");
        let a = &expected.endpoints[0];
        assert_eq!(a.requests, 20);
        assert!((a.expected - 12.0 * 2048.0 / (20.0 * 2304.0)).abs() < 1e-12);
        assert!((a.reported.unwrap() - 24_576.0 / 46_080.0).abs() < 1e-12);
        assert_eq!(expected.endpoints[1].reported, None);
        assert_eq!(expected.remark, None);
        let notices = expected.notices();
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert_eq!(
            notices[0],
            "a: prompt cache hit rate 53.3% reported by the server, 53.3% expected of 20 \
             requests in 8 groups sharing 2048-token prefixes"
        );
        assert!(notices[1].contains("not reported"), "{}", notices[1]);
    }

    #[test]
    fn sessions_and_images_get_no_expected_rate() {
        let endpoints = [endpoint("a", 20, 46_080, 24_576)];
        let mut sessions = race(1);
        sessions.workload.turns = 2;
        assert!(ExpectedCache::of(&sessions, &endpoints).is_none());
        let mut images = race(1);
        images.workload.images = Some(crate::config::ImageSpec {
            count: 1,
            width: 8,
            height: 8,
        });
        assert!(ExpectedCache::of(&images, &endpoints).is_none());
    }

    #[test]
    fn a_rate_far_above_the_expected_one_says_the_cache_was_warm() {
        // 20 requests, all but the salt cached: a second run with `cache = "reuse"`.
        let endpoints = [endpoint("a", 20, 46_080, 45_000)];
        let notices = ExpectedCache::of(&race(1), &endpoints)
            .expect("shared prefix")
            .notices();
        assert!(
            notices[0].contains("already held these prompts"),
            "{notices:?}"
        );
        // Close to the expected one: nothing to explain.
        let endpoints = [endpoint("a", 20, 46_080, 27_000)];
        let notices = ExpectedCache::of(&race(1), &endpoints)
            .expect("shared prefix")
            .notices();
        assert!(!notices[0].contains("already held"), "{notices:?}");
    }

    #[test]
    fn concurrency_brings_a_remark_and_other_workloads_nothing() {
        let endpoints = [endpoint("a", 20, 0, 0)];
        let expected = ExpectedCache::of(&race(4), &endpoints).expect("shared prefix");
        let remark = expected.remark.clone().expect("a remark");
        assert!(remark.contains("up to 4 requests"), "{remark}");
        assert_eq!(expected.notices().last(), Some(&remark));
        assert_eq!(
            ExpectedCache::of(&crate::config::demo_race(), &endpoints),
            None
        );
    }

    #[test]
    fn older_files_without_it_read() {
        let json = serde_json::to_string(&ExpectedCache::of(&race(1), &[]).unwrap()).unwrap();
        let read: ExpectedCache = serde_json::from_str(&json).unwrap();
        assert!(read.endpoints.is_empty() && read.remark.is_none());
    }
}
