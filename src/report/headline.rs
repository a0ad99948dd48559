//! What every report format says alike: the headline metrics, which endpoint wins each, and
//! where each endpoint's token counts came from.

use serde::Serialize;

use crate::stats::distribution::Summary as Distribution;
use crate::stats::{EndpointSnapshot, Outcome, RequestRecord};

/// Whether a smaller or a larger value is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// A headline metric: its stable key, its label for people, its unit and how to read it.
pub struct Metric {
    pub key: &'static str,
    pub label: &'static str,
    /// `ms`, `tok/s`, `req/min`, `req/s`, `in/s` or `share`.
    pub unit: &'static str,
    pub better: Better,
    pub value: fn(&EndpointSnapshot) -> Option<f64>,
}

impl std::fmt::Debug for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)
    }
}

/// The metrics a winner is named for, in report order.
pub const METRICS: [Metric; 11] = [
    lower("ttft_p50_ms", "TTFT p50", |e| {
        p(e.latency.ttft_ms, |s| s.p50)
    }),
    lower("ttft_p99_ms", "TTFT p99", |e| {
        p(e.latency.ttft_ms, |s| s.p99)
    }),
    lower("ttlt_p50_ms", "TTLT p50", |e| {
        p(e.latency.ttlt_ms, |s| s.p50)
    }),
    lower("ttlt_p99_ms", "TTLT p99", |e| {
        p(e.latency.ttlt_ms, |s| s.p99)
    }),
    lower("tpot_p50_ms", "TPOT p50", |e| {
        p(e.latency.tpot_ms, |s| s.p50)
    }),
    lower("itl_p50_ms", "ITL p50", |e| p(e.latency.itl_ms, |s| s.p50)),
    // An embeddings endpoint writes no tokens: it is not last at this, it is not in it.
    higher("output_tokens_per_s", "output tok/s", "tok/s", |e| {
        e.embeddings
            .is_none()
            .then_some(e.rates.output_tokens_per_s)
    }),
    higher("requests_per_min", "requests/min", "req/min", |e| {
        Some(e.rates.requests_per_min)
    }),
    higher("goodput_per_s", "goodput", "req/s", |e| {
        Some(e.rates.goodput_per_s)
    }),
    higher("success_rate", "success rate", "share", |e| {
        Some(e.rates.success_rate)
    }),
    higher("inputs_per_s", "inputs/s", "in/s", |e| {
        e.embeddings.map(|m| m.inputs_per_s)
    }),
];

const fn lower(
    key: &'static str,
    label: &'static str,
    value: fn(&EndpointSnapshot) -> Option<f64>,
) -> Metric {
    Metric {
        key,
        label,
        unit: "ms",
        better: Better::Lower,
        value,
    }
}

const fn higher(
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    value: fn(&EndpointSnapshot) -> Option<f64>,
) -> Metric {
    Metric {
        key,
        label,
        unit,
        better: Better::Higher,
        value,
    }
}

fn p(d: Option<Distribution>, pick: fn(&Distribution) -> f64) -> Option<f64> {
    d.as_ref().map(pick)
}

/// The best endpoint(s) for one metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Winner {
    pub metric: &'static str,
    /// Every endpoint at the best value (usually one).
    pub endpoints: Vec<String>,
    pub value: f64,
}

/// The winner of each metric, among endpoints that completed at least one request; metrics no
/// endpoint has a value for are left out.
pub fn winners(endpoints: &[EndpointSnapshot]) -> Vec<(&'static Metric, Winner)> {
    METRICS
        .iter()
        .filter_map(|metric| {
            let values: Vec<(&str, f64)> = endpoints
                .iter()
                .filter(|e| e.counts.succeeded > 0)
                .filter_map(|e| (metric.value)(e).map(|v| (e.name.as_str(), v)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            let best = values
                .iter()
                .map(|&(_, v)| v)
                .reduce(|a, b| match metric.better {
                    Better::Lower => a.min(b),
                    Better::Higher => a.max(b),
                })?;
            #[expect(
                clippy::float_cmp,
                reason = "`best` is one of these values: equal bits are a tie, near is not"
            )]
            let endpoints = values
                .iter()
                .filter(|&&(_, v)| v == best)
                .map(|&(name, _)| name.to_string())
                .collect();
            Some((
                metric,
                Winner {
                    metric: metric.key,
                    endpoints,
                    value: best,
                },
            ))
        })
        .collect()
}

/// What a winner's value needs said about its tokens: a token rate made of estimated counts
/// says so; anything else says nothing.
pub fn winner_mark(
    metric: &Metric,
    winner: &Winner,
    endpoints: &[EndpointSnapshot],
) -> &'static str {
    if metric.unit != "tok/s" {
        return "";
    }
    endpoints
        .iter()
        .filter(|e| winner.endpoints.contains(&e.name))
        .map(|e| TokenSource::of(e).mark())
        .find(|mark| !mark.is_empty())
        .unwrap_or("")
}

/// Where an endpoint's output token counts came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The server reported usage for every succeeded request.
    Usage,
    /// The server reported none: every count was estimated with a BPE tokenizer.
    Estimated,
    /// Some requests reported usage, the rest were estimated.
    Mixed,
    /// No request succeeded: there are no counts.
    None,
}

/// Whether any endpoint's token counts were estimated, so a report explains estimates only
/// when it has some.
pub fn any_estimated(endpoints: &[EndpointSnapshot]) -> bool {
    endpoints
        .iter()
        .any(|e| e.tokens.estimated_output_requests > 0)
}

/// Failed requests of `e` whose output tokens (the text that arrived before the failure) were
/// estimated. The endpoint's counts cover succeeded requests only, so [`TokenSource::of`] does
/// not see them, but the per-request rows show them as estimated.
pub fn failed_estimated(e: &EndpointSnapshot, requests: &[RequestRecord]) -> u64 {
    requests
        .iter()
        .filter(|r| r.endpoint_name == e.name && !r.warmup && r.outcome == Outcome::Failed)
        .filter(|r| r.output_tokens_source == Some(crate::event::TokenSource::Estimate))
        .count() as u64
}

/// Where an endpoint's output token counts came from, said to people: [`TokenSource::label`]
/// for the succeeded requests, and the failed requests whose counts were estimated.
pub fn source_label(e: &EndpointSnapshot, requests: &[RequestRecord]) -> String {
    let label = TokenSource::of(e).label(e);
    match failed_estimated(e, requests) {
        0 => label,
        failed => format!(
            "{label}; {} estimated (o200k)",
            crate::format::count(failed, "failed request")
        ),
    }
}

/// Whether any count a report shows, per endpoint or per request, was estimated.
pub fn any_estimated_in(endpoints: &[EndpointSnapshot], requests: &[RequestRecord]) -> bool {
    any_estimated(endpoints) || endpoints.iter().any(|e| failed_estimated(e, requests) > 0)
}

impl TokenSource {
    pub fn of(e: &EndpointSnapshot) -> TokenSource {
        let estimated = e.tokens.estimated_output_requests;
        if e.counts.succeeded == 0 {
            TokenSource::None
        } else if estimated == 0 {
            TokenSource::Usage
        } else if estimated >= e.counts.succeeded {
            TokenSource::Estimated
        } else {
            TokenSource::Mixed
        }
    }

    /// Said to people, next to a token number.
    pub fn label(self, e: &EndpointSnapshot) -> String {
        match self {
            TokenSource::Usage => "server usage".to_string(),
            TokenSource::Estimated => "estimated (o200k)".to_string(),
            TokenSource::Mixed => format!(
                "{} of {} estimated (o200k)",
                e.tokens.estimated_output_requests,
                crate::format::count(e.counts.succeeded, "request")
            ),
            TokenSource::None => "no requests succeeded".to_string(),
        }
    }

    /// A short mark for a number made of token counts: empty when the server reported them.
    pub fn mark(self) -> &'static str {
        match self {
            TokenSource::Estimated => " (estimated)",
            TokenSource::Mixed => " (partly estimated)",
            TokenSource::Usage | TokenSource::None => "",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Estimated => "estimated",
            TokenSource::Mixed => "mixed",
            TokenSource::None => "none",
        }
    }
}

/// A metric's value for people, in its unit.
pub fn show(metric: &Metric, value: f64) -> String {
    use crate::format::{ms, percent, rate};
    match metric.unit {
        "ms" => ms(Some(value)),
        "share" => percent(value),
        unit => format!("{} {unit}", rate(value)),
    }
}

/// Failed requests by class as `server_error ×3, rate_limited ×1`, or `—` when none.
pub fn errors_line(e: &EndpointSnapshot) -> String {
    if e.errors.is_empty() {
        return "—".to_string();
    }
    let classes: Vec<String> = e
        .errors
        .iter()
        .map(|(c, n)| format!("{} ×{n}", c.name()))
        .collect();
    classes.join(", ")
}

/// The load as run: `24 requests per endpoint, 4 in flight each, 2 warm-up requests`.
pub fn describe_load(race: &crate::config::RaceConfig) -> String {
    let load = &race.load;
    let mut parts = Vec::new();
    match (load.requests, load.duration) {
        (Some(n), Some(d)) => parts.push(format!(
            "{} per endpoint or {}, whichever first",
            crate::format::count(n, "request"),
            humantime::format_duration(d)
        )),
        (Some(n), None) => parts.push(format!(
            "{} per endpoint",
            crate::format::count(n, "request")
        )),
        (None, Some(d)) => parts.push(format!("for {}", humantime::format_duration(d))),
        (None, None) if load.trace_speed.is_some() => parts.push("the whole trace".to_string()),
        (None, None) => parts.push("until stopped".to_string()),
    }
    let plain_closed_loop = load.open_loop().is_none()
        && load.trace_speed.is_none()
        && !load.laps
        && load.concurrency_ramp.is_none()
        && load.retries == 0;
    parts.push(if plain_closed_loop {
        format!("closed loop, {} in flight per endpoint", load.concurrency)
    } else {
        load.describe()
    });
    if load.warmup_requests > 0 {
        parts.push(format!(
            "{} warm-up requests per endpoint (not counted)",
            load.warmup_requests
        ));
    }
    parts.join("; ")
}

/// The workload as run: `built-in prompts "chat", max_tokens 96, streamed`.
pub fn describe_workload(race: &crate::config::RaceConfig) -> String {
    use crate::config::PromptSource;
    let w = &race.workload;
    let mut parts = vec![match &w.prompts {
        PromptSource::Inline(prompts) if prompts.len() == 1 => "one inline prompt".to_string(),
        PromptSource::Inline(prompts) => format!("{} inline prompts", prompts.len()),
        PromptSource::File(path) => format!("prompts from {}", path.display()),
        PromptSource::Builtin(name) => format!("built-in prompts \"{name}\""),
        PromptSource::Trace(path) => format!("trace {}", path.display()),
        PromptSource::Synthetic(spec) => format!(
            "{} synthetic prompts of ~{} tokens",
            spec.count, spec.input_tokens
        ),
        PromptSource::SharedPrefix(spec) => format!(
            "{} prompts in {} groups sharing a prefix of {} tokens, each with {} of its own",
            spec.count, spec.groups, spec.prefix_tokens, spec.suffix_tokens
        ),
    }];
    if let Some(n) = w.max_tokens {
        parts.push(format!("max_tokens {n}"));
    }
    if let Some(t) = w.temperature {
        parts.push(format!("temperature {t}"));
    }
    parts.push(if w.stream { "streamed" } else { "not streamed" }.to_string());
    if w.turns > 1 {
        let think = w
            .think_time
            .map(|t| {
                let mean = humantime::format_duration(t.mean);
                match t.distribution {
                    crate::config::ThinkDistribution::Fixed => format!(", think time {mean}"),
                    crate::config::ThinkDistribution::Exponential => {
                        format!(", think time exponential, mean {mean}")
                    }
                }
            })
            .unwrap_or_default();
        parts.push(format!("sessions of {} turns{think}", w.turns));
    }
    if let Some(images) = w.images {
        parts.push(format!(
            "{} generated {}×{} image{} a prompt",
            images.count,
            images.width,
            images.height,
            if images.count == 1 { "" } else { "s" }
        ));
    }
    parts.push(match w.cache {
        crate::config::CacheMode::Cold => "cold (salted per endpoint and run)".to_string(),
        crate::config::CacheMode::Reuse => "prompts as written (cache reuse)".to_string(),
    });
    parts.join(", ")
}

/// The objectives set, as `TTFT ≤ 500ms, TPOT ≤ 40ms`, or `None` when none is.
pub fn describe_slo(slo: &crate::config::Slo) -> Option<String> {
    let parts: Vec<String> = [("TTFT", slo.ttft), ("TPOT", slo.tpot), ("TTLT", slo.ttlt)]
        .into_iter()
        .filter_map(|(name, limit)| {
            limit.map(|d| format!("{name} ≤ {}", humantime::format_duration(d)))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Head-to-head laps per endpoint as text cells: endpoint, laps judged, wins by first token,
/// wins by first finished. Empty when the race ran no laps.
pub fn lap_rows(endpoints: &[EndpointSnapshot]) -> Vec<[String; 4]> {
    if endpoints.iter().all(|e| e.laps == 0) {
        return Vec::new();
    }
    endpoints
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.laps.to_string(),
                e.wins_first_token.to_string(),
                e.wins_first_finished.to_string(),
            ]
        })
        .collect()
}

/// Column names for [`lap_rows`].
pub const LAP_COLUMNS: [&str; 4] = [
    "endpoint",
    "laps",
    "won: first token",
    "won: first finished",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture;

    #[test]
    fn the_fastest_endpoint_wins_latency_and_ties_are_shared() {
        let s = fixture::finished_race(3, 40);
        let all = winners(&s.endpoints);
        let ttft = all.iter().find(|(m, _)| m.key == "ttft_p50_ms").unwrap();
        assert_eq!(ttft.1.endpoints, ["turbo"]);
        let success = all.iter().find(|(m, _)| m.key == "success_rate").unwrap();
        assert_eq!(success.1.endpoints.len(), 3, "all succeeded: {success:?}");
    }

    #[test]
    fn token_sources_are_told() {
        let s = fixture::finished_race(6, 20);
        assert_eq!(TokenSource::of(&s.endpoints[0]), TokenSource::Usage);
        assert_eq!(TokenSource::of(&s.endpoints[5]), TokenSource::Estimated);
        let empty = fixture::finished_race(1, 0);
        assert_eq!(TokenSource::of(&empty.endpoints[0]), TokenSource::None);
    }

    #[test]
    fn one_request_is_one_request() {
        let mut e = fixture::finished_race(1, 1).endpoints.remove(0);
        e.counts.succeeded = 1;
        e.tokens.estimated_output_requests = 1;
        assert_eq!(
            TokenSource::Mixed.label(&e),
            "1 of 1 request estimated (o200k)"
        );
        let mut race = crate::config::demo_race();
        race.load.requests = Some(1);
        race.load.duration = None;
        let load = describe_load(&race);
        assert!(load.starts_with("1 request per endpoint;"), "{load}");
    }
}
