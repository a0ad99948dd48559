//! The mock's `GET /metrics`: its own load told in vLLM's names (V1, Prometheus text 0.0.4),
//! so llmrace's server-metrics path is tested offline end to end, and a series naming the mock
//! (`llmrace_mock_info`) so that no reader takes it for a real vLLM. Running is the generations
//! in progress (from a request's body read to its last byte, as the load profiles count
//! them); waiting is 0, as the mock starts every request at once; KV-cache usage is the
//! tokens those generations hold (their prompt and their planned output, as if reserved up
//! front) over [`KV_CAPACITY_TOKENS`], at most 1; the prefix-cache counters are the prompt
//! tokens looked up in the mock's prefix cache and those found, when the profile keeps one
//! (`cache`), and absent otherwise, as a vLLM without prefix caching reports 0 hits; no
//! preemptions. The counters only grow.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::server_metrics::MOCK_MARKER;

/// The KV cache the mock pretends to have, in tokens: 8192 blocks of 16.
pub(crate) const KV_CAPACITY_TOKENS: u64 = 131_072;
/// The `model_name` label: the name the mock lists at `/v1/models`.
const MODEL: &str = "mock";

/// What `/metrics` reports beyond the counters the mock keeps anyway.
#[derive(Default)]
pub(crate) struct Load {
    /// Tokens held by the generations in progress.
    kv_tokens: AtomicU64,
    prefix_queries: AtomicU64,
    prefix_hits: AtomicU64,
}

impl Load {
    pub(crate) fn hold(&self, tokens: u64) {
        self.kv_tokens.fetch_add(tokens, Ordering::Relaxed);
    }

    pub(crate) fn release(&self, tokens: u64) {
        self.kv_tokens.fetch_sub(tokens, Ordering::Relaxed);
    }

    /// One prompt of `tokens` looked up in the prefix cache, `hits` of them found.
    pub(crate) fn looked_up(&self, tokens: u32, hits: u32) {
        self.prefix_queries
            .fetch_add(u64::from(tokens), Ordering::Relaxed);
        self.prefix_hits
            .fetch_add(u64::from(hits.min(tokens)), Ordering::Relaxed);
    }
}

/// The page: `running` generations in progress, holding what `load` holds, for a mock with a
/// prefix cache or without.
pub(crate) fn page(running: u64, load: &Load, prefix_cache: bool) -> String {
    let kv = load.kv_tokens.load(Ordering::Relaxed);
    // Both counts are far below 2^52: exact as floats.
    #[expect(clippy::cast_precision_loss, reason = "token counts far below 2^52")]
    let usage = (kv as f64 / KV_CAPACITY_TOKENS as f64).min(1.0);
    let mut out = String::with_capacity(1024);
    let mut family = |name: &str, kind: &str, help: &str, value: String| {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n\
             {name}{{engine=\"0\",model_name=\"{MODEL}\"}} {value}\n"
        );
    };
    family(
        "vllm:num_requests_running",
        "gauge",
        "Number of requests in model execution batches.",
        running.to_string(),
    );
    family(
        "vllm:num_requests_waiting",
        "gauge",
        "Number of requests waiting to be processed.",
        "0".into(),
    );
    family(
        "vllm:kv_cache_usage_perc",
        "gauge",
        "KV-cache usage. 1 means 100 percent usage.",
        usage.to_string(),
    );
    if prefix_cache {
        family(
            "vllm:prefix_cache_queries_total",
            "counter",
            "Prefix cache queries, in terms of number of queried tokens.",
            load.prefix_queries.load(Ordering::Relaxed).to_string(),
        );
        family(
            "vllm:prefix_cache_hits_total",
            "counter",
            "Prefix cache hits, in terms of number of cached tokens.",
            load.prefix_hits.load(Ordering::Relaxed).to_string(),
        );
    }
    family(
        "vllm:num_preemptions_total",
        "counter",
        "Cumulative number of preemption from the engine.",
        "0".into(),
    );
    // The page names itself, so no reader takes the mock's figures for a real vLLM's.
    let _ = write!(
        out,
        "# HELP {MOCK_MARKER} This page is llmrace's built-in mock server (llmrace mock), its \
         load told in vLLM's names.\n# TYPE {MOCK_MARKER} gauge\n\
         {MOCK_MARKER}{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::server_metrics::{ServerKind, ServerReading, read};

    fn reading(running: u64, load: &Load, prefix_cache: bool) -> ServerReading {
        read(&page(running, load, prefix_cache), Some("mock"))
            .unwrap()
            .reading
    }

    #[test]
    fn the_page_reads_as_the_mock_in_vllm_names_and_follows_the_load() {
        let load = Load::default();
        let idle = reading(0, &load, true);
        assert_eq!(idle.server, Some(ServerKind::LlmraceMock));
        assert_eq!(
            (idle.running, idle.queue, idle.kv_cache),
            (Some(0.0), Some(0.0), Some(0.0))
        );
        assert_eq!(
            (idle.prefix_queries_total, idle.preemptions_total),
            (Some(0.0), Some(0.0))
        );

        load.hold(KV_CAPACITY_TOKENS / 4);
        load.hold(KV_CAPACITY_TOKENS / 4);
        load.looked_up(100, 64);
        load.looked_up(10, 16);
        let busy = reading(2, &load, true);
        assert_eq!((busy.running, busy.kv_cache), (Some(2.0), Some(0.5)));
        assert_eq!(
            (busy.prefix_queries_total, busy.prefix_hits_total),
            (Some(110.0), Some(74.0))
        );

        load.release(KV_CAPACITY_TOKENS / 4);
        assert_eq!(reading(1, &load, true).kv_cache, Some(0.25));
        load.release(KV_CAPACITY_TOKENS / 4);
        let done = reading(0, &load, false);
        assert_eq!((done.running, done.kv_cache), (Some(0.0), Some(0.0)));
        assert_eq!(done.prefix_queries_total, None);
    }

    #[test]
    fn kv_usage_is_at_most_one() {
        let load = Load::default();
        load.hold(3 * KV_CAPACITY_TOKENS);
        assert_eq!(reading(1, &load, false).kv_cache, Some(1.0));
    }
}
