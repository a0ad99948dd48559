//! Race configuration: what to race, with what workload and load, as built from defaults <
//! race file < command line (that last layer is laid by `cli/layering.rs`). Secrets are never
//! stored here: only the names of the environment variables that hold them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::pace::{Arrivals, ConcurrencyRamp, LoadShape, Ramp, Rate, RateShape};
use crate::protocol::Protocol;

pub use cache_mode::CacheMode;

mod cache_mode;
mod defaults;
mod demo;
mod endpoint_spec;
mod error;
mod export;
mod fail_if;
mod headers;
mod http_version;
mod race_file;
mod raw;
mod redact;
mod server_metrics;
mod sessions;
mod shard;
mod shard_split;
mod toml_error;
mod trace;
mod validate;

pub(crate) use defaults::{bare_race, fill_defaults};
pub use demo::{DEMO_NAME, demo_race};
pub(crate) use endpoint_spec::apply_api_key_envs;
pub use endpoint_spec::parse_endpoint_spec;
pub use error::{ConfigError, Location};
pub use export::ExportConfig;
pub(crate) use export::{check as check_export, listen_addr};
pub use fail_if::add_fail_if;
pub use http_version::{HttpVersion, apply_flags as apply_http_flags};
#[cfg(any(test, feature = "test-support"))]
pub use race_file::from_toml_str;
pub(crate) use race_file::load_file_layer;
pub use redact::redact_config;
pub(crate) use server_metrics::apply_flags as apply_server_metrics_flags;
pub use server_metrics::{
    ServerMetricsSource, tried_by_default as server_metrics_tried_by_default,
};
pub use sessions::{
    MAX_TURNS, ThinkDistribution, ThinkTime, budget as session_budget,
    parse_flag as parse_think_time,
};
pub use shard::Shard;
pub(crate) use shard_split::check_shard;
pub(crate) use trace::{
    CONFLICT_HELP as TRACE_CONFLICT_HELP, speed as trace_speed, trace_conflict,
};
#[cfg(test)]
pub use validate::BUILTIN_SETS;
pub(crate) use validate::embed_batch;
pub use validate::{
    MAX_IMAGE_COUNT, MAX_IMAGE_SIDE, MAX_SYNTHETIC_COUNT, MAX_SYNTHETIC_TOKENS, authority_port,
};

/// The commented example race file that `llmrace init` writes.
pub const EXAMPLE_RACE_FILE: &str = include_str!("../assets/race.example.toml");

/// Requests per endpoint when neither `requests` nor `duration` bounds the race.
pub const DEFAULT_REQUESTS: u64 = 20;
/// Requests in flight per endpoint when nothing says otherwise: one at a time measures latency
/// without queueing effects.
pub const DEFAULT_CONCURRENCY: u32 = 1;
/// The prompt set used when the workload names none.
pub const DEFAULT_BUILTIN: &str = "chat";
/// The model asked of `mock://` endpoints that name none (the mock serves any name).
pub const MOCK_MODEL: &str = "mock";

/// A whole race, fully resolved (every default filled in). Serialized into `run.json` as "the
/// race as run", so it must never hold a secret value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RaceConfig {
    pub name: String,
    pub workload: WorkloadConfig,
    pub load: LoadConfig,
    pub timeouts: Timeouts,
    pub slo: Slo,
    pub endpoints: Vec<EndpointConfig>,
    /// Threshold expressions (`[thresholds] fail_if`, then `--fail-if`): the race fails CI when
    /// any holds. Checked with `threshold::parse` when the config is built.
    #[serde(default)]
    pub fail_if: Vec<String>,
    /// The race's own metrics served for Prometheus (`[export]`, `--metrics-addr`): how the
    /// race is watched, not what is raced, so left out of the result files.
    #[serde(skip)]
    pub export: ExportConfig,
    /// `--shard K/N`: this process sends shard K of N of the race (`config/shard.rs`); the
    /// rest of the race is the same in every shard, so `merge` can tell shards of one race.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Where the race's HTTP proxies come from (`--proxy`, `--no-proxy`, the environment by
    /// default): how servers are reached, not what is raced; each endpoint's proxy is in the
    /// result files' endpoint information instead, redacted.
    #[serde(skip)]
    pub proxy: crate::proxy_env::ProxyChoice,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    pub prompts: PromptSource,
    /// Default `max_tokens` for every endpoint (an endpoint may override it).
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    /// Ask for a streamed response (the default); `false` measures non-streaming requests.
    pub stream: bool,
    /// Send the prompts in an order shuffled with `seed` (same seed, same order) instead of
    /// the file's order.
    // Left out of `run.json` at their defaults, so races that use none of them record as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shuffle: bool,
    /// The seed of `shuffle`, and of `synthetic` prompts that name no seed of their own.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seed: u64,
    /// ShareGPT files: each prompt's `max_tokens` is the token count of its reference answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sharegpt_output_len: bool,
    /// Turns per session: each session sends its prompt, then its follow-ups with the answers
    /// so far; 1 sends single requests.
    #[serde(default = "one_turn", skip_serializing_if = "is_one_turn")]
    pub turns: u32,
    /// Embeddings endpoints: the prompts each request carries as its inputs (1 to 2048).
    #[serde(default = "one_turn", skip_serializing_if = "is_one_turn")]
    pub embed_batch: u32,
    /// The pause between a session's answer and its next turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// Generated images attached to every prompt's last user message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImageSpec>,
    /// Cache hygiene: `cold` salts every prompt per endpoint and run, `reuse` does not.
    #[serde(default = "CacheMode::before_salts")]
    pub cache: CacheMode,
}

/// `images = { count = 1, width = 512, height = 512 }`: PNG images made from `[workload] seed`,
/// the same `count` of them on every prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSpec {
    pub count: u32,
    pub width: u32,
    pub height: u32,
}

fn one_turn() -> u32 {
    1
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes &T"
)]
fn is_one_turn(turns: &u32) -> bool {
    *turns == 1
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes &T"
)]
fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// Where the prompts come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptSource {
    /// One or more prompts given inline (`--prompt`, `prompt = "…"`).
    Inline(Vec<String>),
    /// A file: `.jsonl` (`{"prompt":…}` or `{"messages":[…]}` per line), `.json` (ShareGPT) or
    /// text (a prompt per line).
    File(PathBuf),
    /// A built-in set: `chat`, `rag`, `code` (shipped in `assets/`) or `long` (composed from
    /// `rag` at load time).
    Builtin(String),
    /// Prompts generated to a length in tokens.
    Synthetic(SyntheticSpec),
    /// A production trace replayed: each row's prompt is made to its input length and sent at
    /// its time (Mooncake JSONL, the Azure LLM inference CSV or `BurstGPT`'s CSV).
    Trace(PathBuf),
    /// Generated prompts in groups that share a long prefix (`shared_prefix = { … }`).
    SharedPrefix(SharedPrefixSpec),
}

/// `synthetic = { input_tokens = 512, distribution = "normal", spread = 128, count = 100 }`:
/// prompts of generated words whose o200k token counts follow a distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntheticSpec {
    /// The length of every prompt (`fixed`), or the middle of the distribution.
    pub input_tokens: u32,
    pub distribution: LengthDistribution,
    /// Half the width (`uniform`) or the standard deviation (`normal`); unused for `fixed`.
    pub spread: u32,
    /// How many prompts to generate.
    pub count: u32,
    /// Same seed, same prompts.
    pub seed: u64,
}

/// How the lengths of synthetic prompts are spread around `input_tokens`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthDistribution {
    Fixed,
    /// Evenly from `input_tokens - spread` to `input_tokens + spread`.
    Uniform,
    /// Normal with mean `input_tokens` and standard deviation `spread` (at least 1 token).
    Normal,
}

/// Synthetic prompts generated when `count` is not given.
pub const DEFAULT_SYNTHETIC_COUNT: u32 = 100;

/// `shared_prefix = { groups = 8, prefix_tokens = 2048, suffix_tokens = 256, count = 100 }`:
/// generated prompts in `groups` groups; the prompts of a group begin with the same
/// `prefix_tokens` o200k tokens and end in `suffix_tokens` of their own. Prompt `i` is in
/// group `i % groups`, so the first `groups` prompts start one group each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedPrefixSpec {
    pub groups: u32,
    pub prefix_tokens: u32,
    pub suffix_tokens: u32,
    /// How many prompts to generate, at least `groups`.
    pub count: u32,
    /// Same seed, same prompts.
    pub seed: u64,
}

/// The suffix of shared-prefix prompts when neither the file nor the flag gives one.
pub const DEFAULT_SUFFIX_TOKENS: u32 = 256;

/// Shared-prefix prompts generated when `count` is not given: as many as synthetic ones, or
/// one per group if there are more groups.
pub fn default_prefix_count(groups: u32) -> u32 {
    DEFAULT_SYNTHETIC_COUNT.max(groups)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadConfig {
    /// Stop after this many requests per endpoint (warm-up requests not included).
    pub requests: Option<u64>,
    /// Stop sending after this long; whichever of `requests` and `duration` comes first wins.
    #[serde(with = "humantime_serde_opt")]
    pub duration: Option<Duration>,
    /// Requests in flight per endpoint (closed loop), unless the endpoint overrides it.
    pub concurrency: u32,
    /// Requests per endpoint sent first and kept out of the statistics.
    pub warmup_requests: u32,
    /// Open every connection before the synchronized start.
    pub warm_connections: bool,
    /// Open loop: send at this rate per endpoint, however many requests are in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Open loop with a rate that changes linearly (exclusive with `rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<Ramp>,
    /// How open-loop requests are spaced.
    #[serde(default, skip_serializing_if = "Arrivals::is_constant")]
    pub arrivals: Arrivals,
    /// Open loop: at most this many requests in flight per endpoint; a request due while the
    /// cap is reached waits, and its lag shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// Head-to-head laps: each prompt to every endpoint at the same instant, one lap at a
    /// time (`requests` counts laps). Exclusive with the open loop.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub laps: bool,
    /// Closed loop with the number of requests in flight per endpoint changing linearly
    /// (`concurrency` is then its peak). Exclusive with the open loop and laps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_ramp: Option<ConcurrencyRamp>,
    /// Poisson arrivals: the seed their gaps are drawn from (each endpoint's own seed is
    /// derived from it). Set from the workload's `seed` when the race has Poisson arrivals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_seed: Option<u64>,
    /// Retries of a request that failed with 429 or 503, at most (0: none). Each attempt is
    /// sent, recorded and counted as a request of its own.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub retries: u32,
    /// Trace replay: how many times faster than the trace the rows are sent (`Some` exactly
    /// when the workload is a trace; 1 plays it as recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_speed: Option<f64>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes &T"
)]
fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

impl LoadConfig {
    /// The load shape in a few words, for banners and the dashboard: `concurrency 4`,
    /// `open loop at 5/s poisson, at most 64 in flight`, `closed loop ramping 1 to 16 in
    /// flight over 1m`, …, and the retries when there are any.
    pub fn describe(&self) -> String {
        let arrivals = match self.arrivals {
            Arrivals::Constant => "",
            Arrivals::Poisson => " poisson",
        };
        let cap = self
            .max_in_flight
            .map(|n| format!(", at most {n} in flight"))
            .unwrap_or_default();
        let shape = match (self.ramp, self.rate, self.concurrency_ramp) {
            _ if self.trace_speed.is_some() => {
                let speed = self.trace_speed.unwrap_or(1.0);
                if (speed - 1.0).abs() < f64::EPSILON {
                    format!("trace replay{cap}")
                } else {
                    format!("trace replay at {speed}× speed{cap}")
                }
            }
            (Some(ramp), ..) => format!(
                "open loop ramping {} to {} over {}{arrivals}{cap}",
                ramp.from,
                ramp.to,
                humantime::format_duration(ramp.over)
            ),
            (None, Some(rate), _) => format!("open loop at {rate}{arrivals}{cap}"),
            _ if self.laps => "head-to-head laps".to_string(),
            (None, None, Some(ramp)) => format!("closed loop ramping {ramp}"),
            (None, None, None) => format!("concurrency {}", self.concurrency),
        };
        match self.retries {
            0 => shape,
            1 => format!("{shape}, retrying 429/503 once"),
            n => format!("{shape}, retrying 429/503 up to {n} times"),
        }
    }

    /// The open-loop shape, or `None` for a closed loop (`concurrency` workers).
    pub fn open_loop(&self) -> Option<LoadShape> {
        let rate = match (self.ramp, self.rate) {
            (Some(ramp), _) => RateShape::Ramp(ramp),
            (None, Some(rate)) => RateShape::Fixed(rate),
            (None, None) => return None,
        };
        Some(LoadShape {
            rate,
            arrivals: self.arrivals,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    #[serde(with = "humantime_serde")]
    pub connect: Duration,
    #[serde(with = "humantime_serde")]
    pub first_token: Duration,
    #[serde(with = "humantime_serde")]
    pub idle: Duration,
    #[serde(with = "humantime_serde")]
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_token: Duration::from_secs(120),
            idle: Duration::from_secs(60),
            total: Duration::from_secs(600),
        }
    }
}

/// Service-level objectives: a request counts toward goodput when it meets every one that is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    #[serde(with = "humantime_serde_opt")]
    pub ttft: Option<Duration>,
    #[serde(with = "humantime_serde_opt")]
    pub tpot: Option<Duration>,
    #[serde(with = "humantime_serde_opt")]
    pub ttlt: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointConfig {
    pub name: String,
    pub protocol: Protocol,
    /// `http(s)://…` or `mock://PROFILE` for an in-process mock server.
    pub base_url: String,
    pub model: String,
    /// The name of the environment variable holding the API key (never the key).
    pub api_key_env: Option<String>,
    /// Extra request headers. A value written `${NAME}` is read from the environment when the
    /// race starts, so header secrets stay out of files too.
    pub headers: BTreeMap<String, String>,
    /// Extra top-level JSON body fields (`top_p`, `ignore_eos`, …).
    pub body: serde_json::Map<String, serde_json::Value>,
    pub concurrency: Option<u32>,
    pub max_tokens: Option<u32>,
    pub color: Option<String>,
    /// What the endpoint charges, for cost figures; `None` when unpriced.
    #[serde(default)]
    pub price: Option<Price>,
    /// Where its server's `/metrics` is scraped (left out: tried by itself, quietly).
    #[serde(default, skip_serializing_if = "ServerMetricsSource::is_auto")]
    pub server_metrics: ServerMetricsSource,
    /// Which HTTP it is spoken to in (`http = "auto" | "1.1" | "2"`).
    #[serde(default, skip_serializing_if = "HttpVersion::is_auto")]
    pub http: HttpVersion,
}

/// US dollars per million tokens. Providers bill the prompt's cached tokens apart: reads from
/// the prompt cache at a discount (OpenAI, Anthropic), writes to it at a premium (Anthropic).
/// Either price left out prices those tokens as ordinary input, and the race says so.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input: f64,
    /// Input tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    /// Input tokens written to the prompt cache. One rate for every write, though Anthropic
    /// bills 5-minute writes at 1.25× input and 1-hour ones at 2×.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    pub output: f64,
}

impl Price {
    /// The price of a token read from the prompt cache.
    pub fn cache_read_price(&self) -> f64 {
        self.cached_input.unwrap_or(self.input)
    }

    /// The price of a token written to the prompt cache.
    pub fn cache_write_price(&self) -> f64 {
        self.cache_write.unwrap_or(self.input)
    }
}

mod humantime_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[expect(
        clippy::ref_option,
        reason = "serde's `serialize_with` hands the field over by reference"
    )]
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| humantime::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}
