//! Command-line definitions (clap): what can be typed, with help texts. Turning the race flags
//! into a race is `from_args`'s job (`cli/layering.rs`); running anything is `commands.rs`'s.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::CacheMode;
use crate::pace::{ConcurrencyRamp, Ramp, Rate};

mod layering;
mod metrics;
mod share;

pub use metrics::MetricsArgs;
pub use share::ShareArgs;

pub use layering::from_args;

const ABOUT: &str = "Race LLM endpoints head to head and measure every request token by token.";

const LONG_ABOUT: &str = "\
Race LLM endpoints head to head: llmrace sends the same prompts to several endpoints at once \
and measures every request token by token (TTFT, TTLT, TPOT, ITL, tokens/s, errors). In a \
terminal it shows the race live in a dashboard (lanes, leaderboard, charts, and an inspector \
where responses stream in); with --headless, or when output is not a terminal, it prints \
progress lines instead. Either way it prints a per-endpoint table at the end and writes the \
results to a folder (run.json: the race as run; requests.jsonl and requests.csv: one record \
per request; summary.json: the final numbers; replay.jsonl.gz: every event, for playing the \
race back with `llmrace replay`).

With no race file and no --endpoint, llmrace runs a demo race between four built-in mock \
servers, so you can see it work without any server.";

/// The endpoint and layering notes shared by `llmrace --help` and `llmrace race --help`.
macro_rules! race_notes {
    () => {
        "\
Endpoints (-e NAME=PROTOCOL:URL#MODEL):
  protocols   openai (chat completions), openai-completions, anthropic, ollama, responses, gemini, bedrock
              (bedrock: base https://bedrock-runtime.REGION.amazonaws.com, AWS credentials
              from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_BEARER_TOKEN_BEDROCK)
  URL         http(s)://host[:port][/base], or mock://PROFILE for a built-in mock server
              (profiles: instant, turbo, steady, thinker, flaky, slow; settings such as
              mock://steady,ttft=200ms)
  #MODEL      the model to ask for; optional for mock:// URLs
  API key     --api-key-env NAME=VAR: endpoint NAME sends the key held in environment
              variable VAR (keys never go on the command line or into race files)

Layering: built-in defaults < race file < flags. If any -e is given, those endpoints replace
the race file's. --concurrency and --max-tokens also replace per-endpoint values of the file;
--api-key-env sets the key variable of an endpoint from -e or from the file.

Durations are written with a unit: 500ms, 10s, 2m, 1h 30m."
    };
}

const AFTER_HELP: &str = concat!(
    race_notes!(),
    "

Examples:
  llmrace                                   run the demo race against built-in mocks
  llmrace race.toml                         run the race described in race.toml
  llmrace -e a=openai:http://localhost:8000/v1#llama3 -e b=ollama:http://localhost:11434#llama3
  llmrace -e gpt=openai:https://api.openai.com/v1#gpt-4o-mini --api-key-env gpt=OPENAI_API_KEY
  llmrace init race.toml                    write a commented example race file
  llmrace mock --port 8080 --profile steady serve a mock LLM for other tools"
);

const RACE_AFTER_HELP: &str = concat!(
    race_notes!(),
    "

Examples:
  llmrace race                                   the demo race
  llmrace race race.toml -n 50 -c 8              a race file with more load
  llmrace race -e fast=openai:http://localhost:8000/v1#llama3 \\
               -e local=ollama:http://127.0.0.1:11434#llama3.2 --workload rag
  llmrace race race.toml -q -o results/         in CI: only the final table, results in results/"
);

const MOCK_LONG_ABOUT: &str = "\
Serve the built-in mock LLM server. It speaks the OpenAI (chat, legacy completions, \
Responses and embeddings), Anthropic Messages, Ollama, Gemini and AWS Bedrock Converse APIs \
(each at the base URL it prints), with the latency and fault behaviour of a profile.

Profiles: instant, turbo, steady, thinker (reasoning tokens first), flaky (errors and cut \
streams), slow. Settings follow the name: --profile steady,ttft=200ms

Example:
  llmrace mock --port 8080 --profile thinker
  llmrace race -e m=openai:http://127.0.0.1:8080/v1#mock";

const INIT_LONG_ABOUT: &str = "\
Write a commented example race file. Every key is documented in it, and its endpoints are \
built-in mocks, so it runs as is:

  llmrace init race.toml && llmrace race.toml";

/// `llmrace [RACE_ARGS]` is `llmrace race [RACE_ARGS]`.
#[derive(Debug, Parser)]
#[command(
    name = "llmrace",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub race: RaceArgs,
}

impl Cli {
    /// The command to run: a bare `llmrace [RACE_ARGS]` is a race.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Race(self.race))
    }
}

#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "built once per process from the command line; boxing would only add noise (an \
              allow, not an expect: whether it fires depends on which variant grows)"
)]
pub enum Command {
    /// Race endpoints (the default command).
    #[command(
        long_about = "Race endpoints: send the same prompts to each endpoint and measure every \
                      request. Without a race file or -e, runs the demo race against built-in \
                      mock servers.",
        after_help = RACE_AFTER_HELP
    )]
    Race(RaceArgs),
    /// Serve the built-in mock LLM (OpenAI, Anthropic, Ollama, Gemini, Bedrock) for demos and tests.
    #[command(long_about = MOCK_LONG_ABOUT)]
    Mock(MockArgs),
    /// Write a commented example race file to start from.
    #[command(long_about = INIT_LONG_ABOUT)]
    Init(InitArgs),
    /// Play a recorded race back in the dashboard (or list recent races to pick from).
    #[command(long_about = REPLAY_LONG_ABOUT)]
    Replay(ReplayArgs),
    /// Regenerate a race's result files and table from its replay.
    #[command(long_about = REPORT_LONG_ABOUT)]
    Report(ReportArgs),
    /// Compare runs: per endpoint and metric, the change and whether it is beyond noise.
    #[command(long_about = COMPARE_LONG_ABOUT)]
    Compare(CompareArgs),
    /// Run a race at rising concurrency levels and recommend an operating point per endpoint.
    #[command(long_about = SWEEP_LONG_ABOUT)]
    Sweep(SweepArgs),
    /// Merge the results folders of one race's shards (--shard K/N) into one, exactly.
    #[command(long_about = MERGE_LONG_ABOUT)]
    Merge(MergeArgs),
    /// Share a recorded race: a page that plays it in a browser, or an asciinema recording.
    #[command(long_about = share::SHARE_LONG_ABOUT)]
    Share(ShareArgs),
}

const MERGE_LONG_ABOUT: &str = "\
Merge the results folders of one race's shards (`llmrace race --shard K/N`, run by as many
processes or machines) into one results folder: requests.jsonl and .csv of every shard in time
order (each record naming its shard), summary.json counted again from every event (the same
numbers as if one process had sent every request: exact percentiles, not averaged ones), one
replay of all shards on the shared wall clock (`llmrace replay DIR` plays it), and run.json
listing the shards, their hosts and start skew. --fail-if and the race's [thresholds] are
judged on the merged race (exit 1 when one holds).

Folders of different races, a shard given twice, or a missing shard are refused (exit 2);
--allow-missing merges the shards there are and says what is missing in every output.

Examples:
  llmrace merge shard-0 shard-1 shard-2 shard-3 -o merged
  llmrace merge results/shard-* -o merged --fail-if 'ttft.p95 > 800ms'";

/// `llmrace merge`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct MergeArgs {
    /// The shards' results folders, in any order.
    #[arg(value_name = "SHARD_DIR", num_args = 1.., required = true)]
    pub shards: Vec<PathBuf>,

    /// The folder to write the merged race to (created when missing).
    #[arg(short = 'o', long = "out", value_name = "DIR", required = true)]
    pub out: PathBuf,

    /// Merge the shards given even when some of the race's are missing (or have no replay):
    /// every output says which.
    #[arg(long)]
    pub allow_missing: bool,

    /// Fail (exit 1) if this holds for an endpoint of the merged race, e.g. 'ttft.p95 >
    /// 800ms' (repeatable); the race's own [thresholds] are judged too.
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub fail_if: Vec<String>,

    /// Replace llmrace's earlier results in the output folder.
    #[arg(long)]
    pub force: bool,
}

const SWEEP_LONG_ABOUT: &str = "Run the same race once per concurrency level, headless, each \
level's results in DIR/level-<n>/ and every level's numbers in DIR/sweep.json. Prints a table \
per endpoint, a plot of throughput against TTFT p95, and the recommended operating point: the \
level with the most output tokens/s whose TTFT p95 meets --ttft-p95-target and whose error \
rate is under 1 %.\n\
Example: llmrace sweep race.toml --concurrency 1,2,4,8,16 --per-level-requests 100 -o sweep";

/// `llmrace sweep`: what to race (as `llmrace race`) and the levels to race it at.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct SweepArgs {
    /// Race file (TOML); relative paths inside it are relative to the file.
    #[arg(value_name = "RACE.toml")]
    pub race_file: Option<PathBuf>,

    /// An endpoint to race (NAME=PROTOCOL:URL#MODEL), repeatable; replaces the race file's.
    #[arg(short = 'e', long = "endpoint", value_name = "NAME=PROTOCOL:URL#MODEL")]
    pub endpoints: Vec<String>,

    /// Endpoint NAME sends the API key held in environment variable VAR (repeatable).
    #[arg(long = "api-key-env", value_name = "NAME=VAR")]
    pub api_key_envs: Vec<String>,

    /// What is sent, as for `llmrace race`.
    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// Concurrency levels to run, in order, comma separated.
    #[arg(short = 'c', long, value_name = "N,N,...", value_delimiter = ',',
          value_parser = parse_positive_u32, default_value = "1,2,4,8,16")]
    pub concurrency: Vec<u32>,

    /// Open-loop rates to run instead of concurrency levels, e.g. 1/s,2/s,5/s (per endpoint).
    #[arg(
        long,
        value_name = "RATE,RATE,...",
        value_delimiter = ',',
        conflicts_with = "concurrency"
    )]
    pub rates: Vec<Rate>,

    /// Rate levels: Poisson arrivals (random gaps, as independent users) instead of even
    /// spacing.
    #[arg(long, requires = "rates")]
    pub poisson: bool,

    /// Rate levels: at most N requests in flight per endpoint.
    #[arg(long, value_name = "N", requires = "rates", value_parser = parse_positive_u32)]
    pub max_in_flight: Option<u32>,

    /// Retry a request that got HTTP 429 or 503 up to N times, as for `llmrace race`.
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Requests per endpoint at each level.
    #[arg(short = 'n', long, value_name = "N", value_parser = parse_positive_u64)]
    pub per_level_requests: Option<u64>,

    /// How long each level runs; with --per-level-requests, whichever comes first.
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = parse_duration)]
    pub per_level_duration: Option<Duration>,

    /// Warm-up requests per endpoint at each level, kept out of the statistics.
    #[arg(long, value_name = "N")]
    pub warmup: Option<u32>,

    /// The recommended level's TTFT p95 must be at most this.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    pub ttft_p95_target: Duration,

    /// The sweep's name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// The sweep folder (a fresh folder under the platform data folder otherwise).
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Replace the results of an earlier sweep or race in the --out folder (refused otherwise).
    #[arg(long)]
    pub force: bool,

    /// No line per level, only the tables, the plot and the recommendation.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// One exporter for the whole sweep, each level's series labelled `level`.
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

impl SweepArgs {
    /// The race this sweep runs, as `llmrace race` would read it (the levels set later).
    #[must_use]
    pub fn race_args(&self) -> RaceArgs {
        RaceArgs {
            race_file: self.race_file.clone(),
            endpoints: self.endpoints.clone(),
            api_key_envs: self.api_key_envs.clone(),
            workload: self.workload.clone(),
            requests: self.per_level_requests,
            duration: self.per_level_duration,
            // The first level stands for them all while the race is resolved, so open-loop
            // settings are checked as open-loop settings; each level sets its own rate.
            rate: self.rates.first().copied(),
            poisson: self.poisson,
            max_in_flight: self.max_in_flight,
            retries: self.retries,
            warmup: self.warmup,
            name: self.name.clone(),
            metrics: self.metrics.clone(),
            headless: true,
            no_replay: true,
            quiet: true,
            ..RaceArgs::default()
        }
    }
}

/// The workload flags, the same for `llmrace race` and `llmrace sweep`: which prompts, in
/// what order, with what request settings. Every flag overrides the race file.
#[derive(Debug, Default, Clone, PartialEq, Args)]
pub struct WorkloadArgs {
    /// A prompt to send (repeatable; each is one prompt of the workload).
    #[arg(long = "prompt", value_name = "TEXT", help_heading = "Workload", conflicts_with_all = ["prompts_file", "workload"])]
    pub prompts: Vec<String>,

    /// Prompts from a file: .jsonl ({"prompt": ...} or {"messages": [...]} per line), .json
    /// (`ShareGPT`: the first human turn of each conversation) or text (one prompt per line).
    #[arg(
        long = "prompts",
        value_name = "FILE",
        help_heading = "Workload",
        conflicts_with = "workload"
    )]
    pub prompts_file: Option<PathBuf>,

    /// A built-in prompt set: chat (~256 input tokens), rag (~4k), code (~512), long (~32k),
    /// tools (prompts with tool definitions that need a tool call).
    #[arg(long = "workload", id = "workload", value_name = "SET", help_heading = "Workload",
          value_parser = ["chat", "rag", "code", "long", "tools"])]
    pub builtin: Option<String>,

    /// Synthetic prompts of N tokens (o200k), or of MIN..MAX tokens spread evenly; 100 prompts
    /// unless the race file's `synthetic` says otherwise.
    #[arg(long, value_name = "N|MIN..MAX", help_heading = "Workload",
          value_parser = parse_token_range,
          conflicts_with_all = ["prompts", "prompts_file", "workload"])]
    pub synthetic: Option<TokenRange>,

    /// Generated PNG images on every prompt: `WIDTHxHEIGHT` (one image) or
    /// `COUNTxWIDTHxHEIGHT`, e.g. 512x512 or 2x1024x768; made from --seed.
    #[arg(long, value_name = "[COUNTx]WxH", help_heading = "Workload",
          value_parser = parse_images)]
    pub images: Option<crate::config::ImageSpec>,

    /// Replay a production trace: each row sent at its time with its input and output
    /// lengths (Mooncake JSONL, the Azure LLM inference CSV or `BurstGPT`'s CSV). The trace sets
    /// the prompts and the schedule; -n and --duration cut it short.
    #[arg(long, value_name = "FILE", help_heading = "Workload",
          conflicts_with_all = ["prompts", "prompts_file", "workload", "synthetic", "shuffle",
                                "shared_prefix"])]
    pub trace: Option<PathBuf>,

    /// Play the --trace this many times faster (2: twice as fast, 0.5: half as fast).
    #[arg(long, value_name = "X", help_heading = "Workload", value_parser = parse_trace_speed)]
    pub trace_speed: Option<f64>,

    /// Prompts in groups that share a prefix, for measuring prefix caching: 8x2048 makes 8
    /// groups whose prompts begin with the same 2048 tokens (o200k) and end in 256 of their
    /// own; 8x2048+64 ends them in 64. 100 prompts (or one per group if more) unless the race
    /// file's `shared_prefix` says otherwise.
    #[arg(long, value_name = "GxP[+S]", help_heading = "Workload",
          value_parser = parse_shared_prefix,
          conflicts_with_all = ["prompts", "prompts_file", "workload", "synthetic"])]
    pub shared_prefix: Option<SharedPrefixArg>,

    /// Send the prompts in a shuffled order, the same for the same --seed.
    #[arg(long, help_heading = "Workload")]
    pub shuffle: bool,

    /// Seed of --shuffle, of synthetic prompts and of --poisson arrivals (same seed, same
    /// prompts, order and schedule).
    #[arg(long, value_name = "N", help_heading = "Workload")]
    pub seed: Option<u64>,

    /// `ShareGPT` files: each prompt's `max_tokens` is the length of its reference answer.
    #[arg(long, help_heading = "Workload")]
    pub sharegpt_output_len: bool,

    /// Sessions of N turns: each turn sends the conversation so far with the real answers and
    /// the next user message, on the same connection (1: single requests).
    #[arg(long, value_name = "N", help_heading = "Workload", value_parser = parse_positive_u32)]
    pub turns: Option<u32>,

    /// openai-embeddings endpoints: N prompts as the inputs of each request (1 to 2048), so
    /// inputs/s = requests/s × N.
    #[arg(long, value_name = "N", help_heading = "Workload", value_parser = parse_embed_batch)]
    pub embed_batch: Option<u32>,

    /// The pause between a session's answer and its next turn: 2s (fixed) or exp:2s
    /// (exponential with that mean, seeded by --seed). Needs --turns above 1.
    #[arg(long, value_name = "DURATION|exp:DURATION", help_heading = "Workload",
          value_parser = crate::config::parse_think_time)]
    pub think_time: Option<crate::config::ThinkTime>,

    /// cold (the default): a salt unique to the run and endpoint starts every prompt, so no
    /// server cache can answer it; reuse: prompts as written.
    #[arg(long, value_name = "MODE", help_heading = "Workload", value_parser = CacheMode::NAMES)]
    pub cache: Option<String>,

    /// Most output tokens per request (replaces per-endpoint values).
    #[arg(long, value_name = "N", help_heading = "Workload", value_parser = parse_positive_u32)]
    pub max_tokens: Option<u32>,

    /// Sampling temperature, 0.0 to 2.0.
    #[arg(long, value_name = "F", help_heading = "Workload", value_parser = parse_temperature)]
    pub temperature: Option<f32>,

    /// Ask for complete (non-streamed) responses.
    #[arg(long, help_heading = "Workload")]
    pub no_stream: bool,
}

/// What to race and how hard; every flag overrides the race file.
#[derive(Debug, Default, Clone, PartialEq, Args)]
pub struct RaceArgs {
    /// Race file (TOML); relative paths inside it are relative to the file.
    #[arg(value_name = "RACE.toml")]
    pub race_file: Option<PathBuf>,

    /// An endpoint to race, repeatable; replaces the race file's endpoints.
    #[arg(
        short = 'e',
        long = "endpoint",
        value_name = "NAME=PROTOCOL:URL#MODEL",
        help_heading = "Endpoints",
        long_help = "An endpoint to race: NAME=PROTOCOL:URL#MODEL. Repeatable. If any is given, \
                     they replace the race file's endpoints.\n\
                     Protocols: openai, openai-completions, anthropic, ollama, responses, gemini, bedrock.\n\
                     API key: export it in an environment variable and name that variable with \
                     --api-key-env NAME=VAR.\n\
                     Example: -e fast=openai:http://localhost:8000/v1#llama3"
    )]
    pub endpoints: Vec<String>,

    /// Endpoint NAME sends the API key held in environment variable VAR (repeatable).
    #[arg(
        long = "api-key-env",
        value_name = "NAME=VAR",
        help_heading = "Endpoints",
        long_help = "Endpoint NAME (from -e or the race file) sends the API key held in \
                     environment variable VAR, like `api_key_env` in a race file. Repeatable, \
                     once per endpoint. Give the variable's name, never the key itself.\n\
                     Example: --api-key-env gpt=OPENAI_API_KEY (after export OPENAI_API_KEY=...)"
    )]
    pub api_key_envs: Vec<String>,

    /// Endpoint NAME's server metrics are scraped from URL (or NAME=off: none). Repeatable.
    #[arg(
        long = "server-metrics",
        value_name = "NAME=URL",
        help_heading = "Endpoints",
        long_help = "Endpoint NAME's server (vLLM, SGLang, llama.cpp, TGI) publishes its \
                     metrics at URL: scraped once a second on a connection of its own, \
                     never sent the endpoint's key, like `server_metrics` in a race file. \
                     NAME=off scrapes none. Without it, openai endpoints over http(s) try \
                     /metrics on their host by themselves and stay quiet if it is not there. \
                     Repeatable, once per endpoint.\n\
                     Example: --server-metrics fast=http://localhost:8000/metrics"
    )]
    pub server_metrics: Vec<String>,

    /// Connect through this HTTP proxy instead of the one the proxy variables name.
    #[arg(
        long = "proxy",
        value_name = "URL",
        help_heading = "Endpoints",
        conflicts_with = "no_proxy",
        long_help = "Connect to every endpoint through this HTTP proxy,                      http://[user:password@]host[:port] (port 1080 when none, as curl),                      instead of the one HTTPS_PROXY, http_proxy or ALL_PROXY names; NO_PROXY                      still exempts hosts. https endpoints go through a CONNECT tunnel. A                      password is better kept in the environment (HTTPS_PROXY) than on a                      command line others can see.
                     Example: --proxy http://proxy.corp:3128"
    )]
    pub proxy: Option<String>,

    /// Ignore the proxy variables (`HTTPS_PROXY`, `http_proxy`, `ALL_PROXY`): connect directly.
    #[arg(
        long = "no-proxy",
        help_heading = "Endpoints",
        long_help = "Ignore the proxy variables (HTTPS_PROXY, http_proxy, ALL_PROXY, NO_PROXY): \
                     connect to every endpoint directly."
    )]
    pub no_proxy: bool,

    /// What is sent: prompts, their order, and the request settings.
    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// Requests per endpoint (warm-up not included).
    #[arg(short = 'n', long, value_name = "N", help_heading = "Load", value_parser = parse_positive_u64)]
    pub requests: Option<u64>,

    /// Stop sending after this long; with --requests, whichever comes first.
    #[arg(short = 'd', long, value_name = "DURATION", help_heading = "Load", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Requests in flight per endpoint (replaces per-endpoint values). A closed loop: each
    /// request leaves when one ends. With --turns, sessions at a time. Ignored with --rate or
    /// --ramp.
    #[arg(short = 'c', long, value_name = "N", help_heading = "Load", value_parser = parse_positive_u32)]
    pub concurrency: Option<u32>,

    /// Closed loop with the requests in flight per endpoint changing linearly: FROM..TO:OVER,
    /// e.g. 1..16:60s (then TO holds). Rising adds workers; falling retires each after its
    /// request ends.
    #[arg(
        long,
        value_name = "RAMP",
        help_heading = "Load",
        conflicts_with_all = ["concurrency", "rate", "ramp", "laps"]
    )]
    pub concurrency_ramp: Option<ConcurrencyRamp>,

    /// Open loop: send at this rate per endpoint (e.g. 5/s, 300/min), however many requests
    /// are in flight; --concurrency is then ignored. With --turns, sessions started.
    #[arg(long, value_name = "RATE", help_heading = "Load", conflicts_with_all = ["ramp", "laps"])]
    pub rate: Option<Rate>,

    /// Open loop with a rate rising (or falling) linearly: FROM..TO:OVER, e.g. 1/s..20/s:60s.
    #[arg(
        long,
        value_name = "RAMP",
        help_heading = "Load",
        conflicts_with = "laps"
    )]
    pub ramp: Option<Ramp>,

    /// Head-to-head laps: each prompt to every endpoint at the same instant, the next lap when
    /// all have finished; the final table counts each endpoint's lap wins. --requests counts
    /// laps; --concurrency is ignored.
    #[arg(long, help_heading = "Load")]
    pub laps: bool,

    /// Open loop: Poisson arrivals (random gaps, as independent users, drawn from --seed)
    /// instead of even spacing. Needs --rate or --ramp.
    #[arg(long, help_heading = "Load")]
    pub poisson: bool,

    /// Open loop: at most N requests in flight per endpoint; a request due beyond that waits
    /// (and its lag shows it). Needs --rate or --ramp.
    #[arg(long, value_name = "N", help_heading = "Load", value_parser = parse_positive_u32)]
    pub max_in_flight: Option<u32>,

    /// Warm-up requests per endpoint, sent first and kept out of the statistics.
    #[arg(long, value_name = "N", help_heading = "Load")]
    pub warmup: Option<u32>,

    /// Retry a request that got HTTP 429 or 503 up to N times (default 0: never), waiting as
    /// its Retry-After says (at most 60 s) or else 0.5 s, 1 s, 2 s, … with jitter. Every
    /// attempt is sent, recorded and counted as a request; the table shows the retries.
    #[arg(long, value_name = "N", help_heading = "Load")]
    pub retries: Option<u32>,

    /// Do not open connections before the start (TTFT then includes connection setup).
    #[arg(long, help_heading = "Load")]
    pub no_warm_connections: bool,

    /// Run shard K of N of the race (K from 0): the race's requests i with i % N == K,
    /// concurrency and rates divided by N; -n counts the whole race's requests.
    #[arg(
        long,
        value_name = "K/N",
        help_heading = "Load",
        value_parser = crate::config::Shard::parse,
        long_help = "Run shard K of N of the race (K counted from 0), one process per shard, \
                     each with the same race file and flags: request ordinals are split by \
                     i % N == K (each prompt is sent once, by one shard), -n counts the whole \
                     race's requests, closed-loop concurrency and open-loop rates are divided \
                     by N (Poisson arrivals get a seed per shard), sessions stay whole on one \
                     shard, a duration is each shard's. Laps cannot be split. Merge the shards' \
                     folders with `llmrace merge`.\n\
                     Example: --shard 0/4 … --shard 3/4"
    )]
    pub shard: Option<crate::config::Shard>,

    /// Start the measured race at this instant (RFC 3339, e.g. 2026-12-06T20:00:00Z) or after
    /// this delay (+30s), by the system clock; prompts and connections are ready before.
    #[arg(
        long,
        value_name = "WHEN",
        help_heading = "Load",
        allow_hyphen_values = true,
        value_parser = crate::race::parse_start_at
    )]
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Speak HTTP/1.1 only: over TLS, offer only http/1.1 by ALPN (every endpoint).
    #[arg(long, help_heading = "Load", conflicts_with = "http2_prior_knowledge")]
    pub http1_only: bool,

    /// Speak HTTP/2 to every endpoint: over http:// without upgrade (h2c), over TLS offering
    /// only h2 by ALPN.
    #[arg(long, help_heading = "Load")]
    pub http2_prior_knowledge: bool,

    /// Give up connecting after this long.
    #[arg(long, value_name = "DURATION", help_heading = "Timeouts", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,

    /// Give up when no token has arrived after this long.
    #[arg(long, value_name = "DURATION", help_heading = "Timeouts", value_parser = parse_duration)]
    pub first_token_timeout: Option<Duration>,

    /// Give up when the response stays silent this long between two chunks.
    #[arg(long, value_name = "DURATION", help_heading = "Timeouts", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// Give up on a request after this long in all.
    #[arg(long, value_name = "DURATION", help_heading = "Timeouts", value_parser = parse_duration)]
    pub total_timeout: Option<Duration>,

    /// Goodput objective: time to first token at most this.
    #[arg(long, value_name = "DURATION", help_heading = "Objectives (goodput)", value_parser = parse_duration)]
    pub slo_ttft: Option<Duration>,

    /// Goodput objective: time per output token at most this.
    #[arg(long, value_name = "DURATION", help_heading = "Objectives (goodput)", value_parser = parse_duration)]
    pub slo_tpot: Option<Duration>,

    /// Goodput objective: time to last token at most this.
    #[arg(long, value_name = "DURATION", help_heading = "Objectives (goodput)", value_parser = parse_duration)]
    pub slo_ttlt: Option<Duration>,

    /// Fail the race (for CI) when this holds for an endpoint, e.g. `ttft.p95 > 800ms`,
    /// `error_rate > 1%`, `vllm: output_tps.p50 < 20`. Repeatable; added to the race file's
    /// `[thresholds] fail_if`.
    #[arg(long = "fail-if", value_name = "EXPR", help_heading = "Gating (CI)")]
    pub fail_if: Vec<String>,

    /// The race's name (printed at the start and stored with the results).
    #[arg(long, value_name = "NAME", help_heading = "Output")]
    pub name: Option<String>,

    #[command(flatten)]
    pub metrics: MetricsArgs,

    /// Write the results folder here instead of the platform data folder.
    #[arg(short = 'o', long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// Replace the results of an earlier race in the --out folder (refused otherwise).
    #[arg(long, help_heading = "Output")]
    pub force: bool,

    /// Check the race file and flags, then exit without racing (0: the race would start).
    #[arg(
        long,
        help_heading = "Output",
        long_help = "Check the race file and flags as the race would (keys and values, the \
                     shard split, --start-at, thresholds, the prompts), then exit without \
                     racing: exit 0 when they hold, 2 with the problem. Nothing is sent, no \
                     mock started, no port bound, no file written, no API key read (keys, \
                     servers and the machine's capacity are checked when the race runs)."
    )]
    pub check: bool,

    /// Run without the dashboard: progress lines, the final table and the result files.
    #[arg(
        long,
        help_heading = "Output",
        long_help = "Run without the dashboard: progress lines on stderr, the final table on \
                     stdout and the result files. Races are headless anyway when stdout or \
                     stdin is not a terminal (CI, pipes)."
    )]
    pub headless: bool,

    /// Dashboard colours: dark (default), light, colorblind (Okabe–Ito palette) or plain.
    /// NO_COLOR in the environment means plain.
    #[expect(
        clippy::doc_markdown,
        reason = "clap prints this comment as the flag's help, where backticks would show"
    )]
    #[arg(long, value_name = "THEME", help_heading = "Output",
          value_parser = ["dark", "light", "colorblind", "plain"])]
    pub theme: Option<String>,

    /// Do not record the race's replay (`replay.jsonl.gz` in the results folder).
    #[arg(long, help_heading = "Output")]
    pub no_replay: bool,

    /// Print less: no progress, only the summary and errors.
    #[arg(short = 'q', long, help_heading = "Output")]
    pub quiet: bool,
}

/// `llmrace mock`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct MockArgs {
    /// Address to listen on.
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one).
    #[arg(long, short = 'p', value_name = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Latency and fault profile: instant, turbo, steady, thinker, flaky or slow, with optional
    /// overrides (steady,ttft=200ms). delivery=per-event writes every streamed event on its
    /// own, as inference servers do (default: coalesced, whatever is due in one write).
    #[arg(long, value_name = "SPEC", default_value = "steady")]
    pub profile: String,

    /// Allow listening on an address other than loopback (the mock has no authentication).
    #[arg(long)]
    pub allow_non_loopback: bool,
}

const REPLAY_LONG_ABOUT: &str = "\
Play a recorded race back: every race writes replay.jsonl.gz into its results folder, and
playing it feeds the same statistics and the same dashboard as the live race, so the numbers
are exactly the live ones. In the dashboard: space pauses, + and - change the speed (0.25× to
16×, then as fast as possible), < and > seek 10 s, Home and End jump to the start and the end,
0-9 jump to 0%-90%, and . steps to the next event.

FILE is a replay file or a results folder. Without FILE, lists the most recent races (newest
first); `llmrace replay 1` plays the newest, `llmrace replay 2` the one before.";

const REPORT_LONG_ABOUT: &str = "\
Report a saved race: the per-endpoint table (text), a GitHub-friendly summary (md), JSON, CSV
(a row per endpoint) or one self-contained HTML page with charts (CDFs of TTFT and TTLT, TTFT
and tokens/s over the race, headline bars, errors, a sortable per-request table) that works
offline. RUN is a results folder or a replay. --results DIR rebuilds the result files from
the replay (the same numbers as the live race); --fail-if gates on thresholds (exit 1).

Examples:
  llmrace report RUN --format md > summary.md
  llmrace report RUN --format html -o report.html
  llmrace report RUN --fail-if 'ttft.p95 > 800ms' --fail-if 'error_rate > 1%'";

const COMPARE_LONG_ABOUT: &str = "\
Compare saved races (results folders or replays), endpoints matched by name: for TTFT, TTLT,
TPOT, ITL, tokens/s, requests/min and error rate, the two values, the change, and a verdict —
better, worse, or within noise. Noise is judged from the distributions (Mann-Whitney U on
per-request values, a bootstrap for rates, a two-proportion test for errors) and a change
must also be at least 2% to count. With more than two runs, a trend of all follows.

Examples:
  llmrace compare last-week/ today/
  llmrace compare base.jsonl.gz head.jsonl.gz --format md --fail-on-regression 10";

/// `llmrace replay`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct ReplayArgs {
    /// A replay file, a results folder, or N for the N-th most recent race.
    #[arg(value_name = "FILE")]
    pub file: Option<String>,

    /// Playback speed: 0.25 to 16, or `max` for as fast as possible.
    #[arg(long, value_name = "SPEED", default_value = "1")]
    pub speed: String,

    /// Print the final table instead of opening the dashboard.
    #[arg(long)]
    pub headless: bool,

    /// Print the replay as JSON lines (the header, one line per prompt, every event, the end)
    /// instead of playing it, for jq and scripts: replays keep their events binary since
    /// format 3. Gzip'd, the output is a replay older llmrace versions open.
    #[arg(long, conflicts_with_all = ["headless", "speed", "theme"])]
    pub jsonl: bool,

    /// Dashboard colours: dark (default), light, colorblind or plain.
    #[arg(long, value_name = "THEME", value_parser = ["dark", "light", "colorblind", "plain"])]
    pub theme: Option<String>,

    /// The replayed race's metrics served for Prometheus as it plays.
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// `llmrace report`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ReportArgs {
    /// A results folder or a replay file.
    #[arg(value_name = "RUN")]
    pub run: PathBuf,

    /// text (the terminal table), md (GitHub Markdown), json, csv (a row per endpoint) or
    /// html (one self-contained page with charts, works offline).
    #[arg(short = 'f', long, value_name = "FORMAT", default_value = "text",
          value_parser = ["text", "md", "markdown", "json", "csv", "html"])]
    pub format: String,

    /// Write the report to this file instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also rebuild the result files (summary.json, requests.jsonl, requests.csv, run.json)
    /// from the run's replay into this folder.
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,

    /// Fail (exit 1) if this holds for an endpoint, e.g. 'ttft.p95 > 800ms' (repeatable).
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub fail_if: Vec<String>,
}

/// `llmrace compare`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CompareArgs {
    /// The runs (results folders or replays), oldest first: the first is the baseline and
    /// the last is compared with it; with more than two, a trend of all of them follows.
    #[arg(value_name = "RUN", num_args = 2.., required = true)]
    pub runs: Vec<PathBuf>,

    /// text (terminal table) or md (Markdown for a pull request).
    #[arg(short = 'f', long, value_name = "FORMAT", default_value = "text",
          value_parser = ["text", "md", "markdown"])]
    pub format: String,

    /// Exit 1 when a metric got worse beyond noise by more than PCT percent.
    #[arg(long, value_name = "PCT")]
    pub fail_on_regression: Option<f64>,

    /// Gate on runs that sent different workloads (refused otherwise); runs with no endpoint
    /// in common are refused even so.
    #[arg(long)]
    pub force: bool,
}

/// `llmrace init`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct InitArgs {
    /// Where to write the example race file.
    #[arg(value_name = "PATH", default_value = "race.toml")]
    pub path: PathBuf,

    /// Overwrite the file if it exists.
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// A positive duration with a unit: `500ms`, `10s`, `2m`, `1h 30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let hint = "write a duration with a unit, e.g. 500ms, 10s, 2m or \"1h 30m\"";
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err(format!("must be longer than zero; {hint}")),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e}; {hint}")),
    }
}

/// `--synthetic`: a length in tokens (`512`) or a range (`256..1024`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRange {
    pub min: u32,
    pub max: u32,
}

fn parse_token_range(text: &str) -> Result<TokenRange, String> {
    let hint = "write a length in tokens such as 512, or a range such as 256..1024";
    // The race file's bound: a typo must not make llmrace generate gigabytes.
    let most = crate::config::MAX_SYNTHETIC_TOKENS;
    let number = |t: &str| {
        let t = t.trim();
        match t.parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            // Digits only, yet too big for a number: the bound is what was missed.
            Err(_) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                Err(format!("at most {most} tokens a prompt, not {t}; {hint}"))
            }
            _ => Err(format!(
                "expected a whole number of tokens, at least 1; {hint}"
            )),
        }
    };
    let (min, max) = if let Some((min, max)) = text.split_once("..") {
        (number(min)?, number(max.trim_start_matches('='))?)
    } else {
        let n = number(text)?;
        (n, n)
    };
    if min > max {
        return Err(format!("the range {min}..{max} is empty; {hint}"));
    }
    if max > most {
        return Err(format!("at most {most} tokens a prompt, not {max}; {hint}"));
    }
    Ok(TokenRange { min, max })
}

/// `--images`: `512x512` (one image) or `2x512x512` (two on every prompt).
fn parse_images(text: &str) -> Result<crate::config::ImageSpec, String> {
    let hint = "write WIDTHxHEIGHT such as 512x512, or COUNTxWIDTHxHEIGHT such as 2x512x512";
    let numbers: Vec<u32> = text
        .split(['x', 'X', '×'])
        .map(|n| n.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected whole numbers; {hint}"))?;
    let (count, width, height) = match numbers[..] {
        [width, height] => (1, width, height),
        [count, width, height] => (count, width, height),
        _ => return Err(format!("expected two or three numbers; {hint}")),
    };
    let (most_count, most_side) = (
        crate::config::MAX_IMAGE_COUNT,
        crate::config::MAX_IMAGE_SIDE,
    );
    if !(1..=most_count).contains(&count) {
        return Err(format!(
            "from 1 to {most_count} images a prompt, not {count}; {hint}"
        ));
    }
    if !(1..=most_side).contains(&width) || !(1..=most_side).contains(&height) {
        return Err(format!(
            "sides from 1 to {most_side} pixels, not {width}x{height}; {hint}"
        ));
    }
    Ok(crate::config::ImageSpec {
        count,
        width,
        height,
    })
}

/// `--shared-prefix`: groups, prefix tokens and, if given, suffix tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedPrefixArg {
    pub groups: u32,
    pub prefix_tokens: u32,
    pub suffix_tokens: Option<u32>,
}

fn parse_shared_prefix(text: &str) -> Result<SharedPrefixArg, String> {
    use crate::config::{MAX_SYNTHETIC_COUNT, MAX_SYNTHETIC_TOKENS};
    let hint = "write GROUPSxPREFIX or GROUPSxPREFIX+SUFFIX in tokens, e.g. 8x2048 or 8x2048+256";
    let number = |t: &str, what: &str, most: u32| match t.trim().parse::<u64>() {
        Ok(n) if (1..=u64::from(most)).contains(&n) => Ok(u32::try_from(n).unwrap_or(most)),
        Ok(n) => Err(format!("{what} must be from 1 to {most}, not {n}; {hint}")),
        Err(_) => Err(format!(
            "expected a whole number of {what}, not `{}`; {hint}",
            t.trim()
        )),
    };
    let (groups, rest) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("no `x` between groups and prefix tokens; {hint}"))?;
    let (prefix, suffix) = match rest.split_once('+') {
        Some((prefix, suffix)) => (prefix, Some(suffix)),
        None => (rest, None),
    };
    let groups = number(groups, "groups", MAX_SYNTHETIC_COUNT)?;
    let prefix_tokens = number(prefix, "prefix tokens", MAX_SYNTHETIC_TOKENS)?;
    let suffix_tokens = suffix
        .map(|s| number(s, "suffix tokens", MAX_SYNTHETIC_TOKENS))
        .transpose()?;
    // Without a suffix, the race file's or the default one: checked when the layers are laid.
    let total = u64::from(prefix_tokens) + u64::from(suffix_tokens.unwrap_or(0));
    if total > u64::from(MAX_SYNTHETIC_TOKENS) {
        return Err(format!(
            "a prompt of {total} tokens (prefix and suffix) is longer than \
             {MAX_SYNTHETIC_TOKENS}; {hint}"
        ));
    }
    Ok(SharedPrefixArg {
        groups,
        prefix_tokens,
        suffix_tokens,
    })
}

fn parse_positive_u64(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number, at least 1".to_string()),
    }
}

fn parse_positive_u32(text: &str) -> Result<u32, String> {
    let n = parse_positive_u64(text)?;
    u32::try_from(n).map_err(|_| format!("must be at most {}", u32::MAX))
}

fn parse_embed_batch(text: &str) -> Result<u32, String> {
    let n = parse_positive_u32(text)?;
    crate::config::embed_batch(n).map_err(|p| format!("{}; {}", p.problem, p.help))
}

fn parse_trace_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number; write e.g. 2 or 0.5"))?;
    crate::config::trace_speed(speed).map_err(|p| format!("{}; {}", p.problem, p.help))
}

fn parse_temperature(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(t) if t.is_finite() && (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err("expected a number from 0.0 to 2.0, e.g. 0.7".to_string()),
    }
}

#[cfg(test)]
mod tests;
