//! Layering: built-in defaults < race file < command-line flags. If any `-e` endpoint is given,
//! the command line's endpoints replace the file's; with neither a file nor `-e`, the demo race
//! is the base the flags apply to. The flags are the command edge's, so their layer is laid
//! here; `config` knows the file and the defaults, never the flags.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{RaceArgs, SharedPrefixArg, TokenRange, WorkloadArgs};
use crate::config::CacheMode;
use crate::config::{
    ConfigError, DEFAULT_SUFFIX_TOKENS, DEFAULT_SYNTHETIC_COUNT, EndpointConfig,
    LengthDistribution, Location, PromptSource, RaceConfig, SharedPrefixSpec, SyntheticSpec,
    TRACE_CONFLICT_HELP, WorkloadConfig, add_fail_if, apply_api_key_envs, bare_race,
    default_prefix_count, demo_race, fill_defaults, load_file_layer, parse_endpoint_spec,
    trace_conflict,
};
use crate::pace::Arrivals;

/// The race to run for `llmrace race …`, and the folder that relative paths in it (a
/// `prompts_file`) are relative to: the race file's folder, or `.` without a file.
pub fn from_args(args: &RaceArgs) -> Result<(RaceConfig, PathBuf), ConfigError> {
    let endpoints = args
        .endpoints
        .iter()
        .map(|spec| parse_endpoint_spec(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let (base, open_loop_only, base_dir, origin) = match &args.race_file {
        Some(path) => {
            let layer = load_file_layer(path)?;
            (
                layer.race,
                layer.open_loop_only,
                base_dir_of(path),
                Location::file(path),
            )
        }
        None if endpoints.is_empty() => {
            (demo_race(), None, PathBuf::from("."), Location::CommandLine)
        }
        None => (bare_race(), None, PathBuf::from("."), Location::CommandLine),
    };
    let demo = args.race_file.is_none() && endpoints.is_empty();
    let mut race = apply_overrides(base, args, endpoints, origin)?;
    // A trace against the demo's mocks plays the whole trace, not the demo's request count.
    if demo && args.requests.is_none() && matches!(race.workload.prompts, PromptSource::Trace(_)) {
        race.load.requests = None;
    }
    // The file's open-loop settings are fine if a flag made the race an open loop.
    match open_loop_only {
        Some(problem) if race.load.open_loop().is_none() && race.load.trace_speed.is_none() => {
            Err(problem)
        }
        _ => Ok((race, base_dir)),
    }
}

/// Applies the flags in `args` over `base` (a race file's layer or the demo race), with
/// `endpoints` already parsed from `args.endpoints`. `origin` is where `base` came from, for
/// the message when no endpoint is left.
pub fn apply_overrides(
    mut race: RaceConfig,
    args: &RaceArgs,
    endpoints: Vec<EndpointConfig>,
    origin: Location,
) -> Result<RaceConfig, ConfigError> {
    if !endpoints.is_empty() {
        check_unique(&endpoints)?;
        race.endpoints = endpoints;
    }
    if race.endpoints.is_empty() {
        return Err(ConfigError::invalid(
            origin,
            "endpoint",
            "there are no endpoints to race",
            "add an [[endpoint]] table to the race file, or pass \
             -e NAME=PROTOCOL:URL#MODEL (e.g. -e local=ollama:http://127.0.0.1:11434#llama3.2)",
        ));
    }
    apply_api_key_envs(&mut race.endpoints, &args.api_key_envs)?;
    crate::config::apply_server_metrics_flags(&mut race.endpoints, &args.server_metrics)?;
    if args.no_proxy {
        race.proxy = crate::proxy_env::ProxyChoice::Off;
    } else if let Some(url) = &args.proxy {
        race.proxy = crate::proxy_env::ProxyChoice::Url(url.clone());
    }
    crate::config::apply_http_flags(
        &mut race.endpoints,
        args.http1_only,
        args.http2_prior_knowledge,
    );
    if let Some(name) = &args.name {
        if name.trim().is_empty() {
            return Err(ConfigError::invalid(
                Location::CommandLine,
                "--name",
                "the race name is empty",
                "write e.g. --name nightly",
            ));
        }
        race.name.clone_from(name);
    }

    override_workload(&mut race, &args.workload)?;
    override_load(&mut race, args)?;
    override_limits(&mut race, args, &origin)?;
    check_sessions(&race, &origin)?;
    check_think_time(&race, &origin, args.workload.think_time.is_some())?;
    check_trace(&race, &args.workload, &origin)?;
    add_fail_if(&mut race, &args.fail_if, &origin)?;
    override_with(&mut race.export.prometheus, args.metrics.addr);
    override_with(&mut race.export.linger, args.metrics.linger);
    crate::config::check_export(&race.export).map_err(|p| {
        let (at, key) = if args.metrics.linger.is_some() {
            (Location::CommandLine, "--metrics-linger")
        } else {
            (origin.clone(), "export.linger")
        };
        ConfigError::invalid(at, key, p.problem, p.help)
    })?;
    fill_defaults(&mut race);
    check_session_budget(&race, &origin, args.requests.is_some())?;
    race.shard = args.shard;
    crate::config::check_shard(&race)?;
    Ok(race)
}

/// Sessions and what they cannot be combined with: laps, whose requests must be one prompt to
/// every endpoint at the same instant, and a turn count past the most a session may have.
fn check_sessions(race: &RaceConfig, origin: &Location) -> Result<(), ConfigError> {
    let turns = race.workload.turns;
    if turns > crate::config::MAX_TURNS || turns == 0 {
        return Err(ConfigError::invalid(
            origin.clone(),
            "--turns",
            format!(
                "{turns} turns: a session has 1 to {}",
                crate::config::MAX_TURNS
            ),
            "write e.g. --turns 4",
        ));
    }
    if turns > 1 && race.load.laps {
        return Err(ConfigError::invalid(
            origin.clone(),
            "turns",
            format!("laps and sessions of {turns} turns cannot be combined"),
            "laps send one prompt to every endpoint at once and wait for all of them; sessions \
             run at each endpoint's own pace. Drop --laps (or `laps = true`), or use --turns 1",
        ));
    }
    Ok(())
}

/// A think time parts a session's turns: with single requests (turns = 1) it would do nothing,
/// so it is refused rather than ignored. `flag`: it came from `--think-time`.
fn check_think_time(race: &RaceConfig, origin: &Location, flag: bool) -> Result<(), ConfigError> {
    if race.workload.turns > 1 || race.workload.think_time.is_none() {
        return Ok(());
    }
    let (location, key) = if flag {
        (Location::CommandLine, "--think-time")
    } else {
        (origin.clone(), "think_time")
    };
    Err(ConfigError::invalid(
        location,
        key,
        "a think time pauses between a session's turns, but this race sends single requests \
         (turns = 1)",
        "add --turns N (or `turns = N` in [workload]), e.g. --turns 4, or drop the think time",
    ))
}

/// A session reserves all its turns from the request limit when it starts, so a limit below one
/// session's turns would send nothing: refused. `flag`: the limit came from `-n`.
fn check_session_budget(
    race: &RaceConfig,
    origin: &Location,
    flag: bool,
) -> Result<(), ConfigError> {
    let turns = race.workload.turns;
    let Some(requests) = race
        .load
        .requests
        .filter(|&n| turns > 1 && n < u64::from(turns))
    else {
        return Ok(());
    };
    let (location, key) = if flag {
        (Location::CommandLine, "--requests")
    } else {
        (origin.clone(), "requests")
    };
    Err(ConfigError::invalid(
        location,
        key,
        format!(
            "{requests} requests cannot hold one session of {turns} turns: the limit counts \
             turns and runs whole sessions only"
        ),
        format!(
            "raise -n (or `requests`) to {turns} or more, e.g. -n {}",
            turns * 5
        ),
    ))
}

/// The workload flags: prompts, their order and the request settings.
fn override_workload(race: &mut RaceConfig, flags: &WorkloadArgs) -> Result<(), ConfigError> {
    let workload = &mut race.workload;
    if !flags.prompts.is_empty() {
        if flags.prompts.iter().any(|p| p.trim().is_empty()) {
            return Err(ConfigError::invalid(
                Location::CommandLine,
                "--prompt",
                "a prompt is empty",
                "write the text to send, e.g. --prompt \"Explain TCP slow start.\"",
            ));
        }
        workload.prompts = PromptSource::Inline(flags.prompts.clone());
    }
    if let Some(file) = &flags.prompts_file {
        // Relative to where the command was typed, unlike a race file's `prompts_file`.
        let file = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        workload.prompts = PromptSource::File(file);
    }
    if let Some(set) = &flags.builtin {
        workload.prompts = PromptSource::Builtin(set.clone());
    }
    workload.seed = flags.seed.unwrap_or(workload.seed);
    workload.shuffle |= flags.shuffle;
    workload.sharegpt_output_len |= flags.sharegpt_output_len;
    if let Some(images) = flags.images {
        workload.images = Some(images);
    }
    workload.turns = flags.turns.unwrap_or(workload.turns);
    workload.embed_batch = flags.embed_batch.unwrap_or(workload.embed_batch);
    if flags.think_time.is_some() {
        workload.think_time = flags.think_time;
    }
    if let Some(mode) = flags.cache.as_deref().and_then(CacheMode::parse) {
        workload.cache = mode;
    }
    if let Some(range) = flags.synthetic {
        workload.prompts = PromptSource::Synthetic(synthetic_from_flag(range, workload));
    }
    if let Some(file) = &flags.trace {
        let file = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        workload.prompts = PromptSource::Trace(file);
    }
    override_with(&mut race.load.trace_speed, flags.trace_speed);
    if let (PromptSource::Synthetic(spec), Some(seed)) = (&mut workload.prompts, flags.seed) {
        spec.seed = seed;
    }
    if let Some(arg) = flags.shared_prefix {
        let spec = shared_prefix_from_flag(arg, workload);
        // The flag's prefix with the file's suffix: checked together only here.
        let total = u64::from(spec.prefix_tokens) + u64::from(spec.suffix_tokens);
        if total > u64::from(crate::config::MAX_SYNTHETIC_TOKENS) {
            return Err(ConfigError::invalid(
                Location::CommandLine,
                "--shared-prefix",
                format!(
                    "a prompt of {} + {} = {total} tokens is longer than 1000000 tokens (the \
                     suffix is the race file's `suffix_tokens`, or 256)",
                    spec.prefix_tokens, spec.suffix_tokens
                ),
                "give the suffix too, e.g. --shared-prefix 8x2048+256, or a shorter prefix",
            ));
        }
        workload.prompts = PromptSource::SharedPrefix(spec);
    }
    if let (PromptSource::SharedPrefix(spec), Some(seed)) = (&mut workload.prompts, flags.seed) {
        spec.seed = seed;
    }
    if let Some(max_tokens) = flags.max_tokens {
        workload.max_tokens = Some(max_tokens);
        race.endpoints.iter_mut().for_each(|e| e.max_tokens = None);
    }
    override_with(&mut workload.temperature, flags.temperature);
    if flags.no_stream {
        workload.stream = false;
    }
    Ok(())
}

/// The load flags: how many requests, at what concurrency or pace, with what retries.
fn override_load(race: &mut RaceConfig, args: &RaceArgs) -> Result<(), ConfigError> {
    let traced = matches!(race.workload.prompts, PromptSource::Trace(_));
    let load = &mut race.load;
    override_with(&mut load.requests, args.requests);
    override_with(&mut load.duration, args.duration);
    if let Some(concurrency) = args.concurrency {
        load.concurrency = concurrency;
        race.endpoints.iter_mut().for_each(|e| e.concurrency = None);
    }
    if let Some(warmup) = args.warmup {
        load.warmup_requests = warmup;
    }
    if args.no_warm_connections {
        load.warm_connections = false;
    }
    // A rate, a ramp, laps or a concurrency ramp from the command line replace whichever
    // load shape the file set; a fixed --concurrency replaces the file's concurrency ramp.
    if args.rate.is_some() || args.ramp.is_some() || args.laps || args.concurrency_ramp.is_some() {
        load.rate = args.rate;
        load.ramp = args.ramp;
        load.laps = args.laps;
        load.concurrency_ramp = args.concurrency_ramp;
    }
    if args.concurrency.is_some() {
        load.concurrency_ramp = None;
    }
    if args.poisson {
        load.arrivals = Arrivals::Poisson;
    }
    override_with(&mut load.max_in_flight, args.max_in_flight);
    if let Some(retries) = args.retries {
        load.retries = retries;
    }
    if load.open_loop().is_none() && !traced {
        let flag = if args.poisson {
            Some("--poisson")
        } else if args.max_in_flight.is_some() {
            Some("--max-in-flight")
        } else {
            None
        };
        if let Some(flag) = flag {
            return Err(ConfigError::invalid(
                Location::CommandLine,
                flag,
                format!("{flag} applies only to an open loop, and this race has no rate or ramp"),
                "add --rate (e.g. --rate 5/s) or --ramp (e.g. --ramp 1/s..20/s:60s) to send on \
                 a schedule, or leave the flag out; a closed loop's load is set with \
                 --concurrency",
            ));
        }
    }
    Ok(())
}

/// The timeouts and the objectives (SLOs); `origin` is where the base race came from.
fn override_limits(
    race: &mut RaceConfig,
    args: &RaceArgs,
    origin: &Location,
) -> Result<(), ConfigError> {
    let timeouts = &mut race.timeouts;
    timeouts.connect = args.connect_timeout.unwrap_or(timeouts.connect);
    timeouts.first_token = args.first_token_timeout.unwrap_or(timeouts.first_token);
    timeouts.idle = args.idle_timeout.unwrap_or(timeouts.idle);
    timeouts.total = args.total_timeout.unwrap_or(timeouts.total);

    override_with(&mut race.slo.ttft, args.slo_ttft);
    override_with(&mut race.slo.tpot, args.slo_tpot);
    override_with(&mut race.slo.ttlt, args.slo_ttlt);
    if race.slo.tpot.is_some() && !race.workload.stream {
        let (at, key) = match args.slo_tpot {
            Some(_) => (Location::CommandLine, "--slo-tpot"),
            None => (origin.clone(), "slo.tpot"),
        };
        return Err(ConfigError::invalid(
            at,
            key,
            "a TPOT objective needs a streamed race, and this one does not stream (`stream = \
             false` or --no-stream): each response arrives whole, with no time per output token",
            "stream the race, or leave the TPOT objective out (`slo.ttlt` bounds a whole \
             response)",
        ));
    }
    Ok(())
}

/// A trace with nothing that contradicts it (from the file or the flags), and
/// `--trace-speed` only with a trace.
fn check_trace(
    race: &RaceConfig,
    flags: &WorkloadArgs,
    origin: &Location,
) -> Result<(), ConfigError> {
    let traced = matches!(race.workload.prompts, PromptSource::Trace(_));
    if flags.trace_speed.is_some() && !traced {
        return Err(ConfigError::invalid(
            Location::CommandLine,
            "--trace-speed",
            "--trace-speed is given but the race replays no trace",
            "add --trace FILE (or `trace = \"FILE\"` in the race file's [workload]), or leave \
             --trace-speed out",
        ));
    }
    // Pointed at where the trace was asked for: the command line or the race file.
    let (at, asked) = if flags.trace.is_some() {
        (Location::CommandLine, "--trace")
    } else {
        (origin.clone(), "workload.trace")
    };
    match trace_conflict(race) {
        Some((key, flag)) => Err(ConfigError::invalid(
            at,
            asked,
            format!("a trace and {flag} (`{key}`) cannot go together"),
            TRACE_CONFLICT_HELP,
        )),
        None => Ok(()),
    }
}

/// `--shared-prefix GxP[+S]`, keeping the suffix (unless given), count (if it still gives
/// every group a prompt) and seed of the file's `shared_prefix` table if it has one (`--seed`
/// is applied after).
fn shared_prefix_from_flag(arg: SharedPrefixArg, workload: &WorkloadConfig) -> SharedPrefixSpec {
    let file = match &workload.prompts {
        PromptSource::SharedPrefix(spec) => Some(*spec),
        _ => None,
    };
    let count = file
        .map(|f| f.count)
        .filter(|count| *count >= arg.groups)
        .unwrap_or_else(|| default_prefix_count(arg.groups));
    SharedPrefixSpec {
        groups: arg.groups,
        prefix_tokens: arg.prefix_tokens,
        suffix_tokens: (arg.suffix_tokens)
            .or(file.map(|f| f.suffix_tokens))
            .unwrap_or(DEFAULT_SUFFIX_TOKENS),
        count,
        seed: file.map_or(workload.seed, |f| f.seed),
    }
}

/// `--synthetic N` (fixed) or `MIN..MAX` (uniform), keeping the count and seed of the file's
/// `synthetic` table if it has one (`--seed` is applied after).
fn synthetic_from_flag(range: TokenRange, workload: &WorkloadConfig) -> SyntheticSpec {
    let (count, seed) = match &workload.prompts {
        PromptSource::Synthetic(spec) => (spec.count, spec.seed),
        _ => (DEFAULT_SYNTHETIC_COUNT, workload.seed),
    };
    let distribution = if range.min == range.max {
        LengthDistribution::Fixed
    } else {
        LengthDistribution::Uniform
    };
    SyntheticSpec {
        input_tokens: range.min + (range.max - range.min) / 2,
        distribution,
        spread: (range.max - range.min).div_ceil(2),
        count,
        seed,
    }
}

fn override_with<T>(slot: &mut Option<T>, flag: Option<T>) {
    if flag.is_some() {
        *slot = flag;
    }
}

fn check_unique(endpoints: &[EndpointConfig]) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for endpoint in endpoints {
        if !seen.insert(endpoint.name.as_str()) {
            return Err(ConfigError::invalid(
                Location::CommandLine,
                "--endpoint",
                format!("endpoint name `{}` is used twice", endpoint.name),
                "give each -e endpoint its own NAME (the part before `=`)",
            ));
        }
    }
    Ok(())
}

fn base_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
#[path = "layering_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "layering_load_tests.rs"]
mod load_tests;

#[cfg(test)]
#[path = "layering_trace_tests.rs"]
mod trace_tests;
