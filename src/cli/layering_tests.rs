//! Unit tests of layering: built-in defaults < race file < command-line flags.

use std::time::Duration;

use super::*;
use crate::config::from_toml_str;
use crate::config::{DEFAULT_CONCURRENCY, DEFAULT_REQUESTS, Timeouts};
use crate::protocol::Protocol;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const FILE: &str = r#"
name = "file race"
[workload]
prompts_file = "prompts.jsonl"
max_tokens = 128
[load]
duration = "60s"
concurrency = 4
[timeouts]
idle = "30s"
[[endpoint]]
name = "a"
protocol = "openai"
base_url = "http://localhost:8000/v1"
model = "m"
concurrency = 2
max_tokens = 64
[[endpoint]]
name = "b"
protocol = "ollama"
base_url = "mock://steady"
api_key_env = "FILE_KEY"
"#;

fn file_layer() -> Result<RaceConfig, ConfigError> {
    // The file's layer, before defaults that depend on later layers.
    let mut race = from_toml_str(FILE, Path::new("race.toml"))?;
    race.load.requests = None;
    Ok(race)
}

pub(super) fn args(argv: &[&str]) -> Result<RaceArgs, clap::Error> {
    use clap::Parser;
    let cli =
        crate::cli::Cli::try_parse_from(std::iter::once("llmrace").chain(argv.iter().copied()))?;
    Ok(match cli.into_command() {
        crate::cli::Command::Race(race) => race,
        _ => RaceArgs::default(),
    })
}

fn layered(argv: &[&str]) -> Result<RaceConfig, Box<dyn std::error::Error>> {
    let args = args(argv)?;
    let endpoints = args
        .endpoints
        .iter()
        .map(|s| parse_endpoint_spec(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(apply_overrides(
        file_layer()?,
        &args,
        endpoints,
        Location::file(Path::new("race.toml")),
    )?)
}

#[test]
fn file_values_stand_without_flags() -> TestResult {
    let race = layered(&[])?;
    assert_eq!(race.name, "file race");
    assert_eq!(race.workload.max_tokens, Some(128));
    assert_eq!(race.load.duration, Some(Duration::from_secs(60)));
    // Bounded by duration alone: the default request count must not cap it.
    assert_eq!(race.load.requests, None);
    assert_eq!(race.timeouts.idle, Duration::from_secs(30));
    assert_eq!(race.timeouts.connect, Timeouts::default().connect);
    assert_eq!(race.endpoints.len(), 2);
    assert_eq!(race.endpoints[1].model, "mock");
    Ok(())
}

#[test]
fn flags_override_the_file() -> TestResult {
    let race = layered(&[
        "--name",
        "cli",
        "-n",
        "5",
        "-c",
        "16",
        "--max-tokens",
        "32",
        "--no-stream",
        "--idle-timeout",
        "5s",
        "--slo-ttft",
        "300ms",
        "--workload",
        "code",
        "--temperature",
        "0.2",
        "--warmup",
        "3",
        "--no-warm-connections",
    ])?;
    assert_eq!(race.name, "cli");
    assert_eq!(race.load.requests, Some(5));
    assert_eq!(race.load.duration, Some(Duration::from_secs(60)));
    assert_eq!(race.load.concurrency, 16);
    assert_eq!(race.load.warmup_requests, 3);
    assert!(!race.load.warm_connections);
    assert_eq!(race.workload.max_tokens, Some(32));
    assert_eq!(race.workload.temperature, Some(0.2));
    assert!(!race.workload.stream);
    assert_eq!(race.workload.prompts, PromptSource::Builtin("code".into()));
    assert_eq!(race.timeouts.idle, Duration::from_secs(5));
    assert_eq!(race.slo.ttft, Some(Duration::from_millis(300)));
    // Flags apply to every endpoint: per-endpoint file values give way.
    assert!(race.endpoints.iter().all(|e| e.concurrency.is_none()));
    assert!(race.endpoints.iter().all(|e| e.max_tokens.is_none()));
    Ok(())
}

#[test]
fn command_line_endpoints_replace_the_files() -> TestResult {
    let race = layered(&[
        "-e",
        "x=anthropic:mock://turbo",
        "-e",
        "y=openai:http://h/v1#m",
    ])?;
    let names: Vec<&str> = race.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["x", "y"]);
    assert_eq!(race.endpoints[0].protocol, Protocol::Anthropic);
    Ok(())
}

#[test]
fn duplicate_command_line_endpoints_are_refused() {
    let message = error_of(&["-e", "x=openai:mock://turbo", "-e", "x=ollama:mock://slow"]);
    assert!(message.contains("`x` is used twice"), "{message}");
}

fn error_of(argv: &[&str]) -> String {
    layered(argv)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn api_key_env_flags_name_the_variables_of_file_endpoints() -> TestResult {
    let race = layered(&[])?;
    let vars: Vec<Option<&str>> = race
        .endpoints
        .iter()
        .map(|e| e.api_key_env.as_deref())
        .collect();
    assert_eq!(vars, [None, Some("FILE_KEY")]);

    let race = layered(&["--api-key-env", "a=A_KEY", "--api-key-env", " b = B_KEY "])?;
    let vars: Vec<Option<&str>> = race
        .endpoints
        .iter()
        .map(|e| e.api_key_env.as_deref())
        .collect();
    assert_eq!(vars, [Some("A_KEY"), Some("B_KEY")]);
    Ok(())
}

#[test]
fn api_key_env_flags_name_the_variables_of_command_line_endpoints() -> TestResult {
    let (race, _) = from_args(&args(&[
        "-e",
        "gpt=openai:https://api.openai.com/v1#gpt-4o-mini",
        "-e",
        "local=ollama:http://127.0.0.1:11434#llama3.2",
        "--api-key-env",
        "gpt=OPENAI_API_KEY",
    ])?)?;
    let vars: Vec<Option<&str>> = race
        .endpoints
        .iter()
        .map(|e| e.api_key_env.as_deref())
        .collect();
    assert_eq!(vars, [Some("OPENAI_API_KEY"), None]);
    Ok(())
}

#[test]
fn api_key_env_for_an_unknown_endpoint_lists_the_endpoints() {
    let e = error_of(&["--api-key-env", "vllm=VLLM_KEY"]);
    assert!(e.starts_with("command line: --api-key-env: "), "{e}");
    assert!(e.contains("not an endpoint of this race"), "{e}");
    assert!(e.contains("endpoints: `a`, `b`"), "{e}");
    // `-e` endpoints replace the file's, so the file's names are gone.
    let e = error_of(&["-e", "x=openai:mock://turbo", "--api-key-env", "a=K"]);
    assert!(e.ends_with("endpoints: `x`"), "{e}");
    let e = error_of(&["--api-key-env", "c=K"]);
    assert!(e.contains("did you mean `a`?"), "{e}");
}

/// A new user's trial: "(value 6 of 7): the name before = is not an endpoint" did not say
/// which name it was (`lt-lbridge`).
#[test]
fn api_key_env_for_an_unknown_endpoint_names_it_unless_it_may_be_a_key() {
    let e = error_of(&["--api-key-env", "a=K", "--api-key-env", "lt-lbridge=K"]);
    assert!(
        e.contains(
            "--api-key-env (value 2 of 2): the name before `=`, `lt-lbridge`, is not an endpoint"
        ),
        "{e}"
    );
    assert!(e.contains("endpoints: `a`, `b`"), "{e}");
    let key = "sk-proj-0123456789abcdefghijklmnopqrstuvwxyz";
    let e = error_of(&["--api-key-env", &format!("{key}=K")]);
    assert!(e.contains("not shown in case it is a key"), "{e}");
    assert!(!e.contains("sk-proj"), "{e}");
}

#[test]
fn malformed_api_key_env_flags_say_which_value_and_how_to_write_it() {
    let e = error_of(&["--api-key-env", "a=A", "--api-key-env", "OPENAI_API_KEY"]);
    assert!(e.contains("--api-key-env (value 2 of 2)"), "{e}");
    assert!(e.contains("expected NAME=VAR"), "{e}");
    assert!(e.contains("--api-key-env a=OPENAI_API_KEY"), "{e}");
    assert!(e.contains("endpoints: `a`, `b`"), "{e}");
    let e = error_of(&["--api-key-env", "=K"]);
    assert!(e.contains("name before `=` is empty"), "{e}");
    let e = error_of(&["--api-key-env", "a=1KEY"]);
    assert!(e.contains("for endpoint `a`"), "{e}");
    assert!(e.contains("not the name of an environment variable"), "{e}");
    let e = error_of(&["--api-key-env", "a="]);
    assert!(e.contains("not the name of an environment variable"), "{e}");
    let e = error_of(&["--api-key-env", "b=X", "--api-key-env", "b=Y"]);
    assert!(
        e.contains("endpoint `b` is given --api-key-env twice"),
        "{e}"
    );
}

#[test]
fn api_key_env_messages_never_echo_key_like_values() {
    let key = "sk-live-0123456789abcdef";
    for value in [
        format!("a={key}"),
        key.to_string(),
        format!("OPENAI_API_KEY={key}"),
        format!("{key}=OPENAI_API_KEY"),
        format!("b=Bearer {key}"),
    ] {
        let e = error_of(&["--api-key-env", &value]);
        assert!(e.contains("--api-key-env"), "{value}: {e}");
        assert!(
            !e.contains("sk-live") && !e.contains("0123456789"),
            "{value}: {e}"
        );
    }
    let e = error_of(&["--api-key-env", &format!("a={key}")]);
    assert!(
        e.contains("never put the key itself on the command line"),
        "{e}"
    );
}

#[test]
fn prompt_files_from_flags_are_relative_to_the_working_directory() -> TestResult {
    let race = layered(&["--prompts", "mine.jsonl"])?;
    let PromptSource::File(path) = race.workload.prompts else {
        return Err("expected a file source".into());
    };
    assert!(path.is_absolute(), "{}", path.display());
    assert!(path.ends_with("mine.jsonl"));
    Ok(())
}

#[test]
fn nothing_configured_is_the_demo_race() -> TestResult {
    let (race, base_dir) = from_args(&RaceArgs::default())?;
    assert_eq!(race, demo_race());
    assert_eq!(base_dir, PathBuf::from("."));
    let (race, _) = from_args(&args(&["--workload", "rag", "-n", "4"])?)?;
    assert_eq!(race.name, "demo");
    assert_eq!(race.load.requests, Some(4));
    assert_eq!(race.workload.prompts, PromptSource::Builtin("rag".into()));
    Ok(())
}

#[test]
fn endpoints_from_flags_alone_get_the_defaults() -> TestResult {
    let (race, _) = from_args(&args(&["-e", "o=ollama:http://127.0.0.1:11434#llama3.2"])?)?;
    assert_eq!(race.name, "race");
    assert_eq!(race.load.requests, Some(DEFAULT_REQUESTS));
    assert_eq!(race.load.concurrency, DEFAULT_CONCURRENCY);
    assert_eq!(race.workload.prompts, PromptSource::Builtin("chat".into()));
    assert_eq!(race.timeouts, Timeouts::default());
    assert_eq!(race.endpoints.len(), 1);
    let (race, _) = from_args(&args(&["-e", "o=ollama:mock://turbo", "-d", "10s"])?)?;
    assert_eq!(race.load.requests, None);
    Ok(())
}

#[test]
fn a_file_without_endpoints_needs_some_from_flags() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("workload-only.toml");
    std::fs::write(&path, "[workload]\nbuiltin = \"code\"\n")?;
    let path_arg = path.to_string_lossy().into_owned();
    let message = from_args(&args(&[&path_arg])?)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("no endpoints"), "{message}");
    assert!(message.contains("workload-only.toml"), "{message}");

    let (race, base_dir) = from_args(&args(&[&path_arg, "-e", "t=openai:mock://turbo"])?)?;
    assert_eq!(race.name, "workload-only");
    assert_eq!(race.workload.prompts, PromptSource::Builtin("code".into()));
    assert_eq!(base_dir, dir.path());
    Ok(())
}

#[test]
fn the_example_race_file_loads_and_uses_mocks() -> TestResult {
    let race = from_toml_str(crate::config::EXAMPLE_RACE_FILE, Path::new("race.toml"))?;
    assert!(!race.endpoints.is_empty());
    assert!(
        race.endpoints
            .iter()
            .all(|e| e.base_url.starts_with("mock://"))
    );
    Ok(())
}

#[test]
fn fail_if_flags_are_appended_to_the_files_thresholds() -> TestResult {
    let mut base = file_layer()?;
    base.fail_if = vec!["ttft.p95 > 800ms".to_string()];
    let args = args(&["--fail-if", "error_rate > 1%", "--fail-if", "b: rpm < 100"])?;
    let race = apply_overrides(base, &args, Vec::new(), Location::CommandLine)?;
    assert_eq!(
        race.fail_if,
        ["ttft.p95 > 800ms", "error_rate > 1%", "b: rpm < 100"]
    );
    Ok(())
}

#[test]
fn a_bad_fail_if_flag_is_refused_with_a_caret() {
    let message = error_of(&["--fail-if", "ttft.p95 > 800"]);
    assert!(
        message.starts_with("command line: --fail-if: "),
        "{message}"
    );
    assert!(message.contains("a duration needs a unit"), "{message}");
    assert!(
        message.contains("    ttft.p95 > 800\n               ^^^"),
        "{message}"
    );
}

#[test]
fn no_stream_refuses_tpot_thresholds_and_objectives() -> TestResult {
    let refused = |argv: &[&str]| {
        layered(argv)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let message = refused(&["--no-stream", "--fail-if", "tpot.p95 > 50ms"]);
    assert!(
        message.starts_with("command line: --fail-if: "),
        "{message}"
    );
    assert!(message.contains("`tpot` has no value"), "{message}");
    let message = refused(&["--no-stream", "--fail-if", "itl.p50 > 5ms"]);
    assert!(message.contains("`itl` has no value"), "{message}");
    let message = refused(&["--no-stream", "--slo-tpot", "50ms"]);
    assert!(
        message.starts_with("command line: --slo-tpot: "),
        "{message}"
    );
    assert!(message.contains("needs a streamed race"), "{message}");
    // Streamed, both stand; unstreamed, the other metrics do.
    layered(&["--fail-if", "tpot.p95 > 50ms", "--slo-tpot", "50ms"])?;
    layered(&[
        "--no-stream",
        "--fail-if",
        "ttlt.p95 > 5s",
        "--slo-ttlt",
        "5s",
    ])?;
    Ok(())
}

#[test]
fn fail_if_endpoints_are_checked_against_the_race_as_run() -> TestResult {
    // `a` exists in the file, but `-e` replaces the file's endpoints.
    let message = layered(&["--fail-if", "a: rpm < 1", "-e", "z=openai:mock://turbo"])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("--fail-if"), "{message}");
    assert!(message.contains("no endpoint is named `a`"), "{message}");
    let ok = layered(&["--fail-if", "z: rpm < 1", "-e", "z=openai:mock://turbo"])?;
    assert_eq!(ok.fail_if, ["z: rpm < 1"]);
    Ok(())
}

#[test]
fn prices_price_cached_input_as_input_unless_told() -> TestResult {
    let text = format!(
        "{FILE}price = {{ input = 0.15, output = 0.60 }}\n[thresholds]\nfail_if = [\"b: cost > 1\"]\n"
    );
    let race = from_toml_str(&text, Path::new("race.toml"))?;
    let price = race.endpoints[1].price.ok_or("no price")?;
    assert_eq!((price.input, price.output), (0.15, 0.60));
    assert_eq!((price.cached_input, price.cache_write), (None, None));
    assert_eq!(
        (price.cache_read_price(), price.cache_write_price()),
        (0.15, 0.15)
    );
    assert_eq!(race.endpoints[0].price, None);
    assert_eq!(race.fail_if, ["b: cost > 1"]);
    Ok(())
}

#[test]
fn synthetic_flag_and_seed_override_the_file() -> TestResult {
    let (race, _) = from_args(&args(&["--synthetic", "512", "--shuffle", "--seed", "9"])?)?;
    let PromptSource::Synthetic(spec) = race.workload.prompts else {
        panic!(
            "expected synthetic prompts, got {:?}",
            race.workload.prompts
        );
    };
    assert_eq!(spec.input_tokens, 512);
    assert_eq!(spec.distribution, LengthDistribution::Fixed);
    assert_eq!((spec.count, spec.seed), (DEFAULT_SYNTHETIC_COUNT, 9));
    assert!(race.workload.shuffle);
    assert_eq!(race.workload.seed, 9);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("synthetic.toml");
    std::fs::write(
        &path,
        "[workload]\nsynthetic = { input_tokens = 100, count = 7, seed = 3 }\n\
         [[endpoint]]\nname = \"a\"\nprotocol = \"openai\"\nbase_url = \"mock://turbo\"\n",
    )?;
    let path_arg = path.to_string_lossy().into_owned();
    let (race, _) = from_args(&args(&[&path_arg, "--synthetic", "256..1024"])?)?;
    let PromptSource::Synthetic(spec) = race.workload.prompts else {
        panic!("expected synthetic prompts");
    };
    assert_eq!(spec.distribution, LengthDistribution::Uniform);
    assert_eq!((spec.input_tokens, spec.spread), (640, 384));
    assert_eq!((spec.count, spec.seed), (7, 3));
    let (race, _) = from_args(&args(&[&path_arg, "--seed", "5"])?)?;
    assert!(matches!(race.workload.prompts, PromptSource::Synthetic(s) if s.seed == 5));
    Ok(())
}

#[test]
fn load_shape_flags_replace_the_files_shape() -> TestResult {
    let race = layered(&[
        "race",
        "--rate",
        "300/min",
        "--poisson",
        "--max-in-flight",
        "8",
    ])?;
    let shape = race.load.open_loop().ok_or("an open loop")?;
    assert_eq!(shape.arrivals, crate::pace::Arrivals::Poisson);
    assert_eq!(race.load.max_in_flight, Some(8));
    assert!(!race.load.laps);

    let race = layered(&["race", "--ramp", "1/s..20/s:60s"])?;
    assert!(race.load.ramp.is_some() && race.load.rate.is_none());

    let race = layered(&["race", "--laps"])?;
    assert!(race.load.laps && race.load.open_loop().is_none());
    Ok(())
}

#[test]
fn laps_and_a_rate_cannot_both_be_asked_for() {
    assert!(args(&["race", "--laps", "--rate", "5/s"]).is_err());
    assert!(args(&["race", "--ramp", "1/s..2/s:1s", "--rate", "5/s"]).is_err());
    assert!(args(&["race", "--rate", "5/fortnight"]).is_err());
}

#[test]
fn shared_prefix_flag_and_seed_override_the_file() -> TestResult {
    let (race, _) = from_args(&args(&["--shared-prefix", "8x2048", "--seed", "9"])?)?;
    let PromptSource::SharedPrefix(spec) = race.workload.prompts else {
        panic!("expected shared-prefix prompts");
    };
    assert_eq!((spec.groups, spec.prefix_tokens), (8, 2048));
    assert_eq!((spec.suffix_tokens, spec.count, spec.seed), (256, 100, 9));

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("shared.toml");
    std::fs::write(
        &path,
        "[workload]\nshared_prefix = { groups = 2, prefix_tokens = 100, suffix_tokens = 10, \
         count = 12, seed = 3 }\n\
         [[endpoint]]\nname = \"a\"\nprotocol = \"openai\"\nbase_url = \"mock://turbo\"\n",
    )?;
    let path_arg = path.to_string_lossy().into_owned();
    // The flag keeps the file's suffix, count and seed.
    let (race, _) = from_args(&args(&[&path_arg, "--shared-prefix", "4x50"])?)?;
    let PromptSource::SharedPrefix(spec) = race.workload.prompts else {
        panic!("expected shared-prefix prompts");
    };
    assert_eq!(
        (spec.groups, spec.prefix_tokens, spec.suffix_tokens),
        (4, 50, 10)
    );
    assert_eq!((spec.count, spec.seed), (12, 3));
    // More groups than the file's prompts: the default count, one prompt per group at least.
    let (race, _) = from_args(&args(&[&path_arg, "--shared-prefix", "200x50+7"])?)?;
    let PromptSource::SharedPrefix(spec) = race.workload.prompts else {
        panic!("expected shared-prefix prompts");
    };
    assert_eq!((spec.suffix_tokens, spec.count), (7, 200));
    let (race, _) = from_args(&args(&[&path_arg, "--seed", "5"])?)?;
    assert!(matches!(race.workload.prompts, PromptSource::SharedPrefix(s) if s.seed == 5));
    // The flag's prefix and the file's suffix together are too long a prompt.
    let error = from_args(&args(&[&path_arg, "--shared-prefix", "4x999995"])?)
        .err()
        .ok_or("refused")?
        .to_string();
    assert!(error.contains("999995 + 10 = 1000005 tokens"), "{error}");
    assert!(error.contains("--shared-prefix 8x2048+256"), "{error}");
    let error = from_args(&args(&["--shared-prefix", "4x999995"])?)
        .err()
        .ok_or("refused")?
        .to_string();
    assert!(error.contains("999995 + 256 = 1000251 tokens"), "{error}");
    Ok(())
}

#[test]
fn races_are_cold_unless_the_file_or_the_flag_says_reuse() -> TestResult {
    let (race, _) = from_args(&args(&[])?)?;
    assert_eq!(race.workload.cache, crate::config::CacheMode::Cold);
    let (race, _) = from_args(&args(&["--cache", "reuse"])?)?;
    assert_eq!(race.workload.cache, crate::config::CacheMode::Reuse);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("reuse.toml");
    std::fs::write(
        &path,
        "[workload]\ncache = \"reuse\"\n[[endpoint]]\nname = \"a\"\nprotocol = \"openai\"\nbase_url = \"mock://turbo\"\n",
    )?;
    let file = path.to_string_lossy().into_owned();
    let (race, _) = from_args(&args(&[&file])?)?;
    assert_eq!(race.workload.cache, crate::config::CacheMode::Reuse);
    let (race, _) = from_args(&args(&[&file, "--cache", "cold"])?)?;
    assert_eq!(race.workload.cache, crate::config::CacheMode::Cold);
    assert!(args(&["--cache", "warm"]).is_err());
    Ok(())
}

#[test]
fn http1_only_and_http2_prior_knowledge_exclude_each_other() -> TestResult {
    let both = args(&["--http1-only", "--http2-prior-knowledge"]);
    assert!(both.is_err());
    let one = args(&["--http2-prior-knowledge"])?;
    assert!(one.http2_prior_knowledge && !one.http1_only);
    Ok(())
}

const HTTP_FILE: &str = r#"
[[endpoint]]
name = "a"
protocol = "openai"
base_url = "https://api.example.com/v1"
model = "m"
http = "2"

[[endpoint]]
name = "b"
protocol = "openai"
base_url = "http://127.0.0.1:8000/v1"
model = "m"
"#;

#[test]
fn http_is_set_per_endpoint_by_the_race_file_and_for_all_by_the_flags() {
    use crate::config::HttpVersion;
    let path = Path::new("race.toml");
    let mut race = from_toml_str(HTTP_FILE, path).unwrap();
    let versions = |race: &crate::config::RaceConfig| -> Vec<HttpVersion> {
        race.endpoints.iter().map(|e| e.http).collect()
    };
    assert_eq!(versions(&race), [HttpVersion::Http2, HttpVersion::Auto]);
    crate::config::apply_http_flags(&mut race.endpoints, false, false);
    assert_eq!(versions(&race), [HttpVersion::Http2, HttpVersion::Auto]);
    crate::config::apply_http_flags(&mut race.endpoints, true, false);
    assert_eq!(versions(&race), [HttpVersion::Http1, HttpVersion::Http1]);
    crate::config::apply_http_flags(&mut race.endpoints, false, true);
    assert_eq!(versions(&race), [HttpVersion::Http2, HttpVersion::Http2]);
    let bad = HTTP_FILE.replace(r#"http = "2""#, r#"http = "3""#);
    let e = from_toml_str(&bad, path).unwrap_err().to_string();
    assert!(e.contains("race.toml:7"), "{e}");
    assert!(e.contains("`3`"), "{e}");
}
