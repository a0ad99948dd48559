//! Which series of which server mean queue, running, KV-cache use, prefix-cache hits,
//! speculative decoding and preemptions, and how several label sets of one series fold into
//! one number. The names, types and units were read in each project's source (cited per
//! table); a server llmrace does not know gets no reading, only its raw series.
//!
//! Several label sets (a server serving two models, vLLM's `engine` label, SGLang's data-
//! parallel ranks): when the race names a model, the series labelled with it (`model_name`,
//! as vLLM and SGLang label, or `model`) are kept if any are; the rest fold together: counts
//! and counters are summed (requests and tokens add up across engines), the KV-cache share
//! is the largest (the fullest engine is the one that preempts and queues first: a mean
//! would hide it), and a rate a server states itself is the unweighted mean (the page says
//! nothing of each engine's volume to weigh it by).

use super::reading::{ServerKind, ServerReading};
use super::text::Sample;

/// How a series' label sets fold into one number.
#[derive(Clone, Copy)]
enum Fold {
    /// Counts and counters, ≥ 0.
    Sum,
    /// A share from 0 to 1: the largest.
    Max,
    /// A rate from 0 to 1: the mean.
    Mean,
}

/// One field of the reading and the names that fill it, the first present winning (a
/// server's current name first, then the names it had before).
struct Source {
    field: fn(&mut ServerReading) -> &mut Option<f64>,
    names: &'static [&'static str],
    fold: Fold,
}

const fn source(
    field: fn(&mut ServerReading) -> &mut Option<f64>,
    names: &'static [&'static str],
    fold: Fold,
) -> Source {
    Source { field, names, fold }
}

/// vLLM, V1 names first, then V0's. `vllm/v1/metrics/loggers.py` (`PrometheusStatLogger`):
/// gauges `vllm:num_requests_running`, `vllm:num_requests_waiting`,
/// `vllm:kv_cache_usage_perc` ("1 means 100 percent usage", so 0 to 1; its deprecated twin
/// `vllm:gpu_cache_usage_perc` is V0's name); counters `vllm:prefix_cache_queries` and
/// `vllm:prefix_cache_hits` in tokens (deprecated `vllm:gpu_prefix_cache_*`) and
/// `vllm:num_preemptions`, written by `prometheus_client` with `_total`; labels `model_name`,
/// `engine`. `vllm/v1/spec_decode/metrics.py`: counters `vllm:spec_decode_num_draft_tokens`
/// and `vllm:spec_decode_num_accepted_tokens`. V0 (`vllm/engine/metrics.py`) stated gauges
/// instead: `vllm:gpu_prefix_cache_hit_rate`, `vllm:spec_decode_draft_acceptance_rate`.
const VLLM: &[Source] = &[
    source(|r| &mut r.queue, &["vllm:num_requests_waiting"], Fold::Sum),
    source(
        |r| &mut r.running,
        &["vllm:num_requests_running"],
        Fold::Sum,
    ),
    source(
        |r| &mut r.kv_cache,
        &["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"],
        Fold::Max,
    ),
    source(
        |r| &mut r.prefix_queries_total,
        &[
            "vllm:prefix_cache_queries_total",
            "vllm:gpu_prefix_cache_queries_total",
        ],
        Fold::Sum,
    ),
    source(
        |r| &mut r.prefix_hits_total,
        &[
            "vllm:prefix_cache_hits_total",
            "vllm:gpu_prefix_cache_hits_total",
        ],
        Fold::Sum,
    ),
    source(
        |r| &mut r.prefix_hit_rate,
        &["vllm:gpu_prefix_cache_hit_rate"],
        Fold::Mean,
    ),
    source(
        |r| &mut r.spec_drafted_total,
        &["vllm:spec_decode_num_draft_tokens_total"],
        Fold::Sum,
    ),
    source(
        |r| &mut r.spec_accepted_total,
        &["vllm:spec_decode_num_accepted_tokens_total"],
        Fold::Sum,
    ),
    source(
        |r| &mut r.spec_accept_rate,
        &["vllm:spec_decode_draft_acceptance_rate"],
        Fold::Mean,
    ),
    source(
        |r| &mut r.preemptions_total,
        &["vllm:num_preemptions_total"],
        Fold::Sum,
    ),
];

/// SGLang. `python/sglang/srt/metrics/collector.py` (`SchedulerMetricsCollector`): gauges
/// `sglang:num_running_reqs`, `sglang:num_queue_reqs`, `sglang:token_usage` (the KV pool's
/// used tokens over its size, 0 to 1, set in the scheduler's metrics mixin),
/// `sglang:cache_hit_rate` (hit tokens over all prompt tokens of the last prefill batches, 0
/// to 1), `sglang:spec_accept_rate` (accepted over drafted tokens, 0 to 1; newer versions);
/// counter `sglang:num_retracted_requests_total` (requests evicted from the batch, SGLang's
/// preemption); labels `model_name` and the parallel ranks.
const SGLANG: &[Source] = &[
    source(|r| &mut r.queue, &["sglang:num_queue_reqs"], Fold::Sum),
    source(|r| &mut r.running, &["sglang:num_running_reqs"], Fold::Sum),
    source(|r| &mut r.kv_cache, &["sglang:token_usage"], Fold::Max),
    source(
        |r| &mut r.prefix_hit_rate,
        &["sglang:cache_hit_rate"],
        Fold::Mean,
    ),
    source(
        |r| &mut r.spec_accept_rate,
        &["sglang:spec_accept_rate"],
        Fold::Mean,
    ),
    source(
        |r| &mut r.preemptions_total,
        &["sglang:num_retracted_requests_total"],
        Fold::Sum,
    ),
];

/// llama.cpp's server (`tools/server/server.cpp`, `/metrics` with `--metrics`), as the real page
/// in `tests/fixtures/server-metrics/` shows it: gauges `llamacpp:requests_processing`,
/// `llamacpp:requests_deferred`; counters `llamacpp:prompt_tokens_total` ("excluding cached
/// tokens") and `llamacpp:prompt_tokens_cached_total`, whose sum is the prompt tokens looked
/// up (see [`reading`]); `llamacpp:spec_decode_num_draft_tokens_total` and
/// `llamacpp:spec_decode_num_accepted_tokens_total`. Older versions also had the gauge
/// `llamacpp:kv_cache_usage_ratio` (0 to 1), which current ones dropped. No labels.
const LLAMACPP: &[Source] = &[
    source(|r| &mut r.queue, &["llamacpp:requests_deferred"], Fold::Sum),
    source(
        |r| &mut r.running,
        &["llamacpp:requests_processing"],
        Fold::Sum,
    ),
    source(
        |r| &mut r.kv_cache,
        &["llamacpp:kv_cache_usage_ratio"],
        Fold::Max,
    ),
    source(
        |r| &mut r.prefix_hits_total,
        &["llamacpp:prompt_tokens_cached_total"],
        Fold::Sum,
    ),
    source(
        |r| &mut r.spec_drafted_total,
        &["llamacpp:spec_decode_num_draft_tokens_total"],
        Fold::Sum,
    ),
    source(
        |r| &mut r.spec_accepted_total,
        &["llamacpp:spec_decode_num_accepted_tokens_total"],
        Fold::Sum,
    ),
];

/// Text Generation Inference: the router's gauges `tgi_queue_size` (requests waiting) and
/// `tgi_batch_current_size` (requests in the running batch), set in its scheduler and queue
/// (router / `backends/v3` `queue.rs`, `backend.rs`); published through the Rust `metrics`
/// crate, without labels. TGI states no KV-cache share, prefix-cache or speculation counts.
const TGI: &[Source] = &[
    source(|r| &mut r.queue, &["tgi_queue_size"], Fold::Sum),
    source(|r| &mut r.running, &["tgi_batch_current_size"], Fold::Sum),
];

/// The server a page came from: the first series named the way one of them names its own.
fn recognise(samples: &[Sample]) -> Option<ServerKind> {
    // The mock speaks vLLM's names: its own series, wherever it is, says what it is.
    if samples
        .iter()
        .any(|s| s.name.as_str() == super::reading::MOCK_MARKER)
    {
        return Some(ServerKind::LlmraceMock);
    }
    samples.iter().find_map(|s| {
        let name = s.name.as_str();
        if name.starts_with("vllm:") {
            Some(ServerKind::Vllm)
        } else if name.starts_with("sglang:") {
            Some(ServerKind::Sglang)
        } else if name.starts_with("llamacpp:") {
            Some(ServerKind::Llamacpp)
        } else if name.starts_with("tgi_") {
            Some(ServerKind::Tgi)
        } else {
            None
        }
    })
}

/// The reading of a page's samples, for `model` where the server serves several.
pub(crate) fn reading(samples: &[Sample], model: Option<&str>) -> ServerReading {
    let mut reading = ServerReading {
        server: recognise(samples),
        ..ServerReading::default()
    };
    let table = match reading.server {
        Some(ServerKind::Vllm | ServerKind::LlmraceMock) => VLLM,
        Some(ServerKind::Sglang) => SGLANG,
        Some(ServerKind::Llamacpp) => LLAMACPP,
        Some(ServerKind::Tgi) => TGI,
        None => return reading,
    };
    for source in table {
        let value = source
            .names
            .iter()
            .find_map(|name| folded(samples, name, model, source.fold));
        *(source.field)(&mut reading) = value;
    }
    if reading.server == Some(ServerKind::Llamacpp) {
        // llama.cpp counts the prompt tokens it computed and those it found cached apart:
        // together they are every prompt token looked up in its cache.
        let computed = folded(samples, "llamacpp:prompt_tokens_total", model, Fold::Sum);
        reading.prefix_queries_total = reading
            .prefix_hits_total
            .zip(computed)
            .map(|(hits, computed)| hits + computed);
    }
    reading
}

/// Series `name`'s value, its label sets folded; `None` when the page has no usable sample
/// of it (a count below 0, a share outside 0 to 1, or a value that is no number is no
/// reading: a server that says so is not believed).
fn folded(samples: &[Sample], name: &str, model: Option<&str>, fold: Fold) -> Option<f64> {
    let usable = |v: f64| match fold {
        Fold::Sum => v.is_finite() && v >= 0.0,
        Fold::Max | Fold::Mean => (0.0..=1.0).contains(&v),
    };
    let named = || samples.iter().filter(move |s| s.name == name);
    let labelled = |s: &Sample, model: &str| {
        s.label("model_name") == Some(model) || s.label("model") == Some(model)
    };
    let for_model = model.filter(|m| named().any(|s| labelled(s, m)));
    let values = named()
        .filter(|s| for_model.is_none_or(|m| labelled(s, m)))
        .map(|s| s.value)
        .filter(|&v| usable(v));
    let mut count = 0u32;
    let mut total = 0.0f64;
    let mut largest = f64::NEG_INFINITY;
    for v in values {
        count += 1;
        total += v;
        largest = largest.max(v);
    }
    if count == 0 {
        return None;
    }
    Some(match fold {
        Fold::Sum => total,
        Fold::Max => largest,
        Fold::Mean => total / f64::from(count),
    })
}

#[cfg(test)]
mod tests {
    use super::super::text::parse;
    use super::*;

    fn read(page: &str, model: Option<&str>) -> ServerReading {
        reading(&parse(page).unwrap(), model)
    }

    #[test]
    fn an_unknown_server_has_no_reading() {
        assert_eq!(
            read("process_cpu_seconds_total 3\nup 1\n", None),
            ServerReading::default()
        );
    }

    #[test]
    fn vllm_engines_fold_counts_by_sum_kv_by_max_and_rates_by_mean() {
        let page = "\
vllm:num_requests_running{model_name=\"m\",engine=\"0\"} 3
vllm:num_requests_running{model_name=\"m\",engine=\"1\"} 4
vllm:num_requests_waiting{model_name=\"m\",engine=\"0\"} 1
vllm:num_requests_waiting{model_name=\"m\",engine=\"1\"} 0
vllm:kv_cache_usage_perc{model_name=\"m\",engine=\"0\"} 0.25
vllm:kv_cache_usage_perc{model_name=\"m\",engine=\"1\"} 0.75
vllm:gpu_prefix_cache_hit_rate{model_name=\"m\",engine=\"0\"} 0.2
vllm:gpu_prefix_cache_hit_rate{model_name=\"m\",engine=\"1\"} 0.4
";
        let r = read(page, None);
        assert_eq!(r.server, Some(ServerKind::Vllm));
        assert_eq!(
            (r.running, r.queue, r.kv_cache),
            (Some(7.0), Some(1.0), Some(0.75))
        );
        assert!((r.prefix_hit_rate.unwrap() - 0.3).abs() < 1e-12);
    }

    #[test]
    fn the_races_model_is_kept_when_labelled_and_everything_summed_when_not() {
        let page = "\
vllm:num_requests_running{model_name=\"a\"} 3
vllm:num_requests_running{model_name=\"b\"} 5
";
        assert_eq!(read(page, Some("b")).running, Some(5.0));
        assert_eq!(read(page, Some("c")).running, Some(8.0));
        assert_eq!(read(page, None).running, Some(8.0));
        assert_eq!(read("tgi_queue_size 2\n", Some("b")).queue, Some(2.0));
        assert_eq!(
            read(
                "sglang:num_queue_reqs{model=\"x\"} 2\nsglang:num_queue_reqs{model=\"y\"} 1\n",
                Some("x")
            )
            .queue,
            Some(2.0)
        );
    }

    #[test]
    fn current_names_win_over_deprecated_twins_never_added() {
        let page = "\
vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.5
vllm:kv_cache_usage_perc{model_name=\"m\"} 0.6
vllm:gpu_prefix_cache_queries_total{model_name=\"m\"} 100
vllm:prefix_cache_queries_total{model_name=\"m\"} 100
";
        let r = read(page, Some("m"));
        assert_eq!(
            (r.kv_cache, r.prefix_queries_total),
            (Some(0.6), Some(100.0))
        );
        let v0 = read("vllm:gpu_cache_usage_perc 0.5\n", None);
        assert_eq!(v0.kv_cache, Some(0.5));
    }

    #[test]
    fn values_a_server_should_not_state_are_not_believed() {
        let page = "\
sglang:num_queue_reqs -3
sglang:num_running_reqs NaN
sglang:token_usage 87
sglang:cache_hit_rate +Inf
sglang:spec_accept_rate 0.5
";
        let r = read(page, None);
        assert_eq!(r.server, Some(ServerKind::Sglang));
        assert_eq!(
            (r.queue, r.running, r.kv_cache, r.prefix_hit_rate),
            (None, None, None, None)
        );
        assert_eq!(r.spec_accept_rate, Some(0.5));
    }

    #[test]
    fn llamacpp_prefix_queries_are_computed_plus_cached_tokens() {
        let page = "llamacpp:prompt_tokens_total 100\nllamacpp:prompt_tokens_cached_total 300\n";
        let r = read(page, None);
        assert_eq!(
            (r.prefix_queries_total, r.prefix_hits_total),
            (Some(400.0), Some(300.0))
        );
        let older = read("llamacpp:prompt_tokens_total 100\n", None);
        assert_eq!(
            (older.prefix_queries_total, older.prefix_hits_total),
            (None, None)
        );
    }
}
