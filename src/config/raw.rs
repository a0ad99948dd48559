//! The race file as written: every key optional, unknown keys refused, values kept with their
//! place in the file so that validation can point at them. [`KEYS`] documents every key; it
//! feeds the "allowed keys" and "write it like this" parts of error messages.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRace {
    pub name: Option<Spanned<String>>,
    pub workload: Option<RawWorkload>,
    pub load: Option<RawLoad>,
    pub timeouts: Option<RawTimeouts>,
    pub slo: Option<RawSlo>,
    pub thresholds: Option<RawThresholds>,
    pub export: Option<RawExport>,
    #[serde(default)]
    pub endpoint: Vec<Spanned<RawEndpoint>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkload {
    pub prompt: Option<Spanned<String>>,
    pub prompts: Option<Spanned<Vec<String>>>,
    pub prompts_file: Option<Spanned<String>>,
    pub builtin: Option<Spanned<String>>,
    pub max_tokens: Option<Spanned<u32>>,
    pub temperature: Option<Spanned<f32>>,
    pub stream: Option<bool>,
    pub synthetic: Option<Spanned<RawSynthetic>>,
    pub shuffle: Option<bool>,
    pub seed: Option<u64>,
    pub sharegpt_output_len: Option<bool>,
    pub turns: Option<Spanned<u32>>,
    pub embed_batch: Option<Spanned<u32>>,
    pub think_time: Option<Spanned<RawThinkTime>>,
    pub trace: Option<Spanned<String>>,
    pub shared_prefix: Option<Spanned<RawSharedPrefix>>,
    pub images: Option<Spanned<RawImages>>,
    pub cache: Option<Spanned<String>>,
}

/// `images = { count = 1, width = 512, height = 512 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImages {
    pub count: Option<Spanned<u32>>,
    pub width: Spanned<u32>,
    pub height: Spanned<u32>,
}

/// `think_time = "2s"` or `think_time = { mean = "2s", distribution = "exponential" }`
/// (deserialized in `sessions.rs`, so that a wrong shape gets a message naming both).
#[derive(Debug)]
pub(super) enum RawThinkTime {
    Fixed(String),
    Table {
        mean: String,
        distribution: Option<String>,
        /// Keys other than these, refused by name.
        unknown: BTreeMap<String, toml::Value>,
    },
}

/// `synthetic = { input_tokens = 512, distribution = "normal", spread = 128, count = 100 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSynthetic {
    pub input_tokens: Spanned<u32>,
    pub distribution: Option<Spanned<String>>,
    pub spread: Option<Spanned<u32>>,
    pub count: Option<Spanned<u32>>,
    pub seed: Option<u64>,
}

/// `shared_prefix = { groups = 8, prefix_tokens = 2048, suffix_tokens = 256, count = 100 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSharedPrefix {
    pub groups: Spanned<u32>,
    pub prefix_tokens: Spanned<u32>,
    pub suffix_tokens: Option<Spanned<u32>>,
    pub count: Option<Spanned<u32>>,
    pub seed: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoad {
    pub requests: Option<Spanned<u64>>,
    pub duration: Option<Spanned<String>>,
    pub concurrency: Option<Spanned<u32>>,
    pub warmup_requests: Option<u32>,
    pub warm_connections: Option<bool>,
    pub rate: Option<Spanned<String>>,
    pub arrivals: Option<Spanned<String>>,
    pub max_in_flight: Option<Spanned<u32>>,
    pub ramp: Option<Spanned<RawRamp<String>>>,
    pub laps: Option<Spanned<bool>>,
    pub concurrency_ramp: Option<Spanned<RawRamp<u32>>>,
    pub retries: Option<u32>,
    pub trace_speed: Option<Spanned<f64>>,
}

/// A linear ramp: `ramp = { from = "1/s", to = "20/s", over = "60s" }` (open-loop rates) or
/// `concurrency_ramp = { from = 1, to = 16, over = "60s" }` (requests in flight).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRamp<T> {
    pub from: Spanned<T>,
    pub to: Spanned<T>,
    pub over: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimeouts {
    pub connect: Option<Spanned<String>>,
    pub first_token: Option<Spanned<String>>,
    pub idle: Option<Spanned<String>>,
    pub total: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlo {
    pub ttft: Option<Spanned<String>>,
    pub tpot: Option<Spanned<String>>,
    pub ttlt: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThresholds {
    #[serde(default)]
    pub fail_if: Vec<Spanned<String>>,
}

/// `[export]`: the race's own metrics served for Prometheus.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExport {
    pub prometheus: Option<Spanned<String>>,
    pub linger: Option<Spanned<String>>,
}

/// `price = { input = 3, cached_input = 0.30, cache_write = 3.75, output = 15 }`, USD per
/// million tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrice {
    pub input: Spanned<f64>,
    pub cached_input: Option<Spanned<f64>>,
    pub cache_write: Option<Spanned<f64>>,
    pub output: Spanned<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEndpoint {
    pub name: Option<Spanned<String>>,
    pub protocol: Option<Spanned<String>>,
    pub base_url: Option<Spanned<String>>,
    pub model: Option<Spanned<String>>,
    pub api_key_env: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub body: serde_json::Map<String, serde_json::Value>,
    pub concurrency: Option<Spanned<u32>>,
    pub max_tokens: Option<Spanned<u32>>,
    pub color: Option<Spanned<String>>,
    pub price: Option<Spanned<RawPrice>>,
    pub server_metrics: Option<Spanned<super::ServerMetricsSource>>,
    pub http: Option<Spanned<String>>,
}

/// One key of the race file and how to write it.
pub(super) struct KeyDoc {
    /// The table holding the key: `""` for the top level, `endpoint` for every `[[endpoint]]`.
    pub table: &'static str,
    pub key: &'static str,
    pub example: &'static str,
}

const fn doc(table: &'static str, key: &'static str, example: &'static str) -> KeyDoc {
    KeyDoc {
        table,
        key,
        example,
    }
}

/// Every key the race file accepts, in the order the example file shows them. Must match the
/// raw structs above (a test checks).
pub(super) const KEYS: &[KeyDoc] = &[
    doc("", "name", r#"name = "my race""#),
    doc("", "workload", "a [workload] table"),
    doc("", "load", "a [load] table"),
    doc("", "timeouts", "a [timeouts] table"),
    doc("", "slo", "an [slo] table"),
    doc("", "thresholds", "a [thresholds] table"),
    doc("", "export", "an [export] table"),
    doc("", "endpoint", "one [[endpoint]] table per endpoint"),
    doc(
        "workload",
        "prompt",
        r#"prompt = "Explain TCP slow start.""#,
    ),
    doc(
        "workload",
        "prompts",
        r#"prompts = ["first prompt", "second prompt"]"#,
    ),
    doc(
        "workload",
        "prompts_file",
        r#"prompts_file = "prompts.jsonl""#,
    ),
    doc(
        "workload",
        "builtin",
        r#"builtin = "chat" (or "rag", "code")"#,
    ),
    doc("workload", "max_tokens", "max_tokens = 128"),
    doc("workload", "temperature", "temperature = 0.0"),
    doc("workload", "stream", "stream = true"),
    doc(
        "workload",
        "synthetic",
        r#"synthetic = { input_tokens = 512, distribution = "normal", spread = 128, count = 100, seed = 7 }"#,
    ),
    doc(
        "workload",
        "shuffle",
        "shuffle = true (send the prompts in an order set by `seed`)",
    ),
    doc("workload", "seed", "seed = 7"),
    doc(
        "workload",
        "sharegpt_output_len",
        "sharegpt_output_len = true (max_tokens = each ShareGPT reference answer's length)",
    ),
    doc(
        "workload",
        "images",
        "images = { count = 1, width = 512, height = 512 } (generated PNG images on every prompt)",
    ),
    doc(
        "workload.images",
        "count",
        "count = 1 (images on every prompt)",
    ),
    doc("workload.images", "width", "width = 512 (pixels)"),
    doc("workload.images", "height", "height = 512 (pixels)"),
    doc(
        "workload",
        "embed_batch",
        "embed_batch = 16 (openai-embeddings: inputs per request)",
    ),
    doc(
        "workload",
        "turns",
        "turns = 4 (sessions of 4 turns, each with the answers so far)",
    ),
    doc(
        "workload",
        "think_time",
        r#"think_time = "2s" (or { mean = "2s", distribution = "exponential" })"#,
    ),
    doc(
        "workload",
        "trace",
        r#"trace = "mooncake_trace.jsonl" (or an Azure LLM inference or BurstGPT .csv)"#,
    ),
    doc(
        "workload",
        "shared_prefix",
        "shared_prefix = { groups = 8, prefix_tokens = 2048, suffix_tokens = 256, count = 100, \
         seed = 7 }",
    ),
    doc(
        "workload",
        "cache",
        r#"cache = "cold" (salt every prompt; or "reuse": send them as written)"#,
    ),
    doc(
        "workload.synthetic",
        "input_tokens",
        "input_tokens = 512 (o200k tokens per prompt, or the middle of the distribution)",
    ),
    doc(
        "workload.synthetic",
        "distribution",
        r#"distribution = "fixed" (or "uniform", "normal")"#,
    ),
    doc(
        "workload.synthetic",
        "spread",
        "spread = 128 (uniform: half the width; normal: the standard deviation)",
    ),
    doc("workload.synthetic", "count", "count = 100"),
    doc(
        "workload.synthetic",
        "seed",
        "seed = 7 (default: [workload] seed)",
    ),
    doc(
        "workload.shared_prefix",
        "groups",
        "groups = 8 (groups of prompts, each sharing its own prefix)",
    ),
    doc(
        "workload.shared_prefix",
        "prefix_tokens",
        "prefix_tokens = 2048 (o200k tokens every prompt of a group begins with)",
    ),
    doc(
        "workload.shared_prefix",
        "suffix_tokens",
        "suffix_tokens = 256 (o200k tokens of each prompt's own after the prefix; default 256)",
    ),
    doc(
        "workload.shared_prefix",
        "count",
        "count = 100 (prompts, at least one per group; default 100, or `groups` if more)",
    ),
    doc(
        "workload.shared_prefix",
        "seed",
        "seed = 7 (default: [workload] seed)",
    ),
    doc("load", "requests", "requests = 20"),
    doc("load", "duration", r#"duration = "60s""#),
    doc("load", "concurrency", "concurrency = 4"),
    doc("load", "warmup_requests", "warmup_requests = 2"),
    doc("load", "warm_connections", "warm_connections = true"),
    doc("load", "rate", r#"rate = "5/s" (or "300/min")"#),
    doc(
        "load",
        "arrivals",
        r#"arrivals = "constant" (or "poisson")"#,
    ),
    doc("load", "max_in_flight", "max_in_flight = 64"),
    doc(
        "load",
        "ramp",
        r#"ramp = { from = "1/s", to = "20/s", over = "60s" }"#,
    ),
    doc("load", "laps", "laps = true"),
    doc(
        "load",
        "concurrency_ramp",
        r#"concurrency_ramp = { from = 1, to = 16, over = "60s" }"#,
    ),
    doc(
        "load",
        "retries",
        "retries = 2 (retry a request that got 429 or 503 up to 2 times; default 0)",
    ),
    doc(
        "load",
        "trace_speed",
        "trace_speed = 2 (play the [workload] trace twice as fast; 0.5: half as fast)",
    ),
    doc("timeouts", "connect", r#"connect = "10s""#),
    doc("timeouts", "first_token", r#"first_token = "120s""#),
    doc("timeouts", "idle", r#"idle = "60s""#),
    doc("timeouts", "total", r#"total = "10m""#),
    doc("slo", "ttft", r#"ttft = "500ms""#),
    doc("slo", "tpot", r#"tpot = "50ms""#),
    doc("slo", "ttlt", r#"ttlt = "10s""#),
    doc(
        "thresholds",
        "fail_if",
        r#"fail_if = ["ttft.p95 > 800ms", "error_rate > 1%", "vllm: output_tps.p50 < 20"]"#,
    ),
    doc(
        "export",
        "prometheus",
        r#"prometheus = "9464" (serve /metrics on 127.0.0.1:9464; "0.0.0.0:9464" for other machines)"#,
    ),
    doc(
        "export",
        "linger",
        r#"linger = "30s" (keep serving the final values after the finish)"#,
    ),
    doc("endpoint", "name", r#"name = "vllm""#),
    doc(
        "endpoint",
        "protocol",
        r#"protocol = "openai" (or "openai-completions", "anthropic", "ollama", "responses")"#,
    ),
    doc(
        "endpoint",
        "base_url",
        r#"base_url = "http://localhost:8000/v1" (or "mock://steady")"#,
    ),
    doc(
        "endpoint",
        "model",
        r#"model = "meta-llama/Llama-3.1-8B-Instruct""#,
    ),
    doc("endpoint", "api_key_env", r#"api_key_env = "VLLM_API_KEY""#),
    doc(
        "endpoint",
        "headers",
        r#"headers = { "X-Team" = "perf", "X-Token" = "${TEAM_TOKEN}" }"#,
    ),
    doc(
        "endpoint",
        "body",
        "body = { top_p = 0.9, ignore_eos = true }",
    ),
    doc("endpoint", "concurrency", "concurrency = 8"),
    doc("endpoint", "max_tokens", "max_tokens = 256"),
    doc("endpoint", "color", r#"color = "cyan""#),
    doc(
        "endpoint",
        "price",
        "price = { input = 3, cached_input = 0.30, cache_write = 3.75, output = 15 } (USD per \
         million tokens)",
    ),
    doc(
        "endpoint",
        "server_metrics",
        r#"server_metrics = "http://localhost:8000/metrics" (or false)"#,
    ),
    doc("endpoint", "http", r#"http = "auto" (or "1.1", "2")"#),
    doc(
        "endpoint.price",
        "input",
        "input = 0.15 (USD per million input tokens)",
    ),
    doc(
        "endpoint.price",
        "cached_input",
        "cached_input = 0.30 (USD per million input tokens read from the prompt cache; \
         default: the input price)",
    ),
    doc(
        "endpoint.price",
        "cache_write",
        "cache_write = 3.75 (USD per million input tokens written to the prompt cache, one \
         rate for 5-minute and 1-hour writes; default: the input price)",
    ),
    doc(
        "endpoint.price",
        "output",
        "output = 0.60 (USD per million output tokens)",
    ),
];

/// The keys allowed in `table`.
pub(super) fn keys_of(table: &str) -> Vec<&'static str> {
    KEYS.iter()
        .filter(|doc| doc.table == table)
        .map(|doc| doc.key)
        .collect()
}

/// How to write `key` of `table`, if it is a known key.
pub(super) fn example_of(table: &str, key: &str) -> Option<&'static str> {
    KEYS.iter()
        .find(|doc| doc.table == table && doc.key == key)
        .map(|doc| doc.example)
}

/// How a table is written in the file, for messages (`[load]`, `[[endpoint]]`, "the top level").
pub(super) fn table_display(table: &str) -> String {
    match table {
        "" => "the top level of the race file".to_string(),
        "endpoint" => "[[endpoint]]".to_string(),
        "endpoint.price" => "an [[endpoint]]'s `price`".to_string(),
        "workload.synthetic" => "[workload] `synthetic`".to_string(),
        "workload.images" => "[workload] `images`".to_string(),
        "workload.shared_prefix" => "[workload] `shared_prefix`".to_string(),
        other => format!("[{other}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(table: &str, key: &str) -> bool {
        let snippet = match (table, key) {
            ("", "endpoint") => "[[endpoint]]\n".to_string(),
            ("", key) if key != "name" => format!("[{key}]\n"),
            ("", key) => format!("{key} = \"x\"\n"),
            ("endpoint", key) => format!("[[endpoint]]\n{key} = {{}}\n"),
            ("endpoint.price", key) => format!("[[endpoint]]\nprice = {{ {key} = {{}} }}\n"),
            ("workload.synthetic", key) => format!("[workload]\nsynthetic = {{ {key} = {{}} }}\n"),
            ("workload.images", key) => format!("[workload]\nimages = {{ {key} = {{}} }}\n"),
            ("workload.shared_prefix", key) => {
                format!("[workload]\nshared_prefix = {{ {key} = {{}} }}\n")
            }
            (table, key) => format!("[{table}]\n{key} = {{}}\n"),
        };
        match toml::from_str::<RawRace>(&snippet) {
            Ok(_) => true,
            // A type error means the key was recognised; only unknown keys matter here.
            Err(e) => !e.message().contains("unknown field"),
        }
    }

    #[test]
    fn every_documented_key_is_accepted() {
        for doc in KEYS {
            assert!(accepts(doc.table, doc.key), "{}.{}", doc.table, doc.key);
        }
    }

    /// Every table of a race file, by its path.
    const TABLES: [&str; 12] = [
        "",
        "workload",
        "load",
        "timeouts",
        "slo",
        "thresholds",
        "export",
        "endpoint",
        "endpoint.price",
        "workload.synthetic",
        "workload.images",
        "workload.shared_prefix",
    ];

    #[test]
    fn undocumented_keys_are_refused() {
        for table in TABLES {
            assert!(!accepts(table, "nonsense"), "{table}");
        }
    }

    #[test]
    fn every_table_documents_all_fields_of_its_struct() {
        // serde lists the expected fields in its unknown-field message: compare with KEYS.
        for table in TABLES {
            let snippet = match table {
                "" => "nonsense = 1\n".to_string(),
                "endpoint" => "[[endpoint]]\nnonsense = 1\n".to_string(),
                "endpoint.price" => "[[endpoint]]\nprice = { nonsense = 1 }\n".to_string(),
                "workload.synthetic" => "[workload]\nsynthetic = { nonsense = 1 }\n".to_string(),
                "workload.images" => "[workload]\nimages = { nonsense = 1 }\n".to_string(),
                "workload.shared_prefix" => {
                    "[workload]\nshared_prefix = { nonsense = 1 }\n".to_string()
                }
                t => format!("[{t}]\nnonsense = 1\n"),
            };
            let message = toml::from_str::<RawRace>(&snippet)
                .err()
                .map(|e| e.message().to_string())
                .unwrap_or_default();
            let listed = message.matches('`').count() / 2 - 1;
            assert_eq!(listed, keys_of(table).len(), "{table}: {message}");
        }
    }
}
