//! The subcommands as the command line runs them: each resolves its input, calls the
//! library, prints for people, and returns the process exit code.

use std::io::IsTerminal;

use crate::config::{self, RaceConfig};
use crate::{RaceError, RaceOptions, cli, mock, print, protocol, race, report, secret, sweep, tui};

/// `llmrace race`: resolves the race, runs it, prints the final table and where the files
/// are. Returns the process exit code.
pub async fn race_command(args: &cli::RaceArgs) -> Result<i32, RaceError> {
    let (config, base_dir) = config::from_args(args)?;
    if let Some(out) = &args.out {
        crate::record::folder::check_named_folder(out, args.force).map_err(RaceError::Init)?;
    }
    // Listening starts before anything is announced or sent, so no signal can end the process
    // between the first request and the files being complete.
    let shutdown = crate::signals::Shutdown::listen();
    // The dashboard needs a terminal to draw on; scripts and CI get progress lines instead.
    let dashboard =
        (!args.headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal())
            .then(|| tui::Theme::new(theme_name(args.theme.as_deref())));
    let options = RaceOptions {
        out: args.out.clone(),
        quiet: args.quiet,
        replay: !args.no_replay,
        dashboard,
        replace: args.out.clone().filter(|_| args.force),
        banner: (!args.quiet).then(|| race_banner(&config)),
    };
    let thresholds =
        crate::threshold::parse_all(&config.fail_if).map_err(|e| RaceError::Init(e.to_string()))?;
    let outcome = match race(config, &base_dir, &options, shutdown).await {
        Ok(outcome) => outcome,
        // Not an error: the user stopped it, and was right to be able to.
        Err(RaceError::StoppedBeforeStart(signal)) => {
            print::err(&format!(
                "Stopped by {} before the race started: nothing was sent, no results were written.",
                signal.name()
            ));
            return Ok(signal.exit_code());
        }
        Err(e) => return Err(e),
    };
    // The terminal may be gone (SIGHUP): nothing here may panic on a failed write.
    let table = report::table::render_within(&outcome.summary.endpoints, print::width());
    print::out(&table);
    print::out(&report::cost::lines(&outcome.summary.costs));
    print::out(&format!("Results: {}\n", outcome.dir.display()));
    if outcome.interrupted {
        let by = outcome
            .signal
            .map(|s| format!(" by {}", s.name()))
            .unwrap_or_default();
        print::err(&format!(
            "Stopped early{by}: requests in flight were cancelled; everything sent so far is in the results."
        ));
    }
    if let Some(failure) = &outcome.dashboard_failure {
        print::err(&format!("error: {failure}"));
    }
    for failure in &outcome.write_failures {
        print::err(&format!("error: {failure}"));
    }
    if !outcome.write_failures.is_empty() {
        print::err(&format!(
            "Some result files in {} are missing or incomplete (see above); the others are whole.",
            outcome.dir.display()
        ));
    }
    let gated = gate(&thresholds, &outcome.summary);
    Ok(race_exit_code(&outcome, gated))
}

/// A signal's own code (128 + its number) first, then 1 for files that could not be written
/// or a dashboard that failed, then the thresholds' verdict.
fn race_exit_code(outcome: &crate::RaceOutcome, gated: i32) -> i32 {
    match outcome.signal {
        Some(signal) => signal.exit_code(),
        None if !outcome.write_failures.is_empty() || outcome.dashboard_failure.is_some() => 1,
        None => gated,
    }
}

/// `llmrace sweep`: resolves the race like `llmrace race`, runs it once per level, prints a
/// table per endpoint, the throughput/TTFT plot and the recommended operating points.
pub async fn sweep_command(args: &cli::SweepArgs) -> Result<i32, RaceError> {
    let (config, base_dir) = config::from_args(&args.race_args())?;
    let out = match &args.out {
        Some(dir) => {
            crate::record::folder::check_named_folder(dir, args.force).map_err(RaceError::Init)?;
            dir.clone()
        }
        None => {
            let parent = crate::record::default_runs_dir().ok_or(RaceError::NoDataDir)?;
            crate::record::race_folder(
                &parent,
                &format!("{}-sweep", config.name),
                chrono::Utc::now(),
            )
        }
    };
    let options = sweep::SweepOptions {
        levels: if args.rates.is_empty() {
            args.concurrency
                .iter()
                .map(|&n| sweep::Level::Concurrency(n))
                .collect()
        } else {
            args.rates.iter().map(|&r| sweep::Level::Rate(r)).collect()
        },
        ttft_p95_target: args.ttft_p95_target,
        out,
        quiet: args.quiet,
        replace: args.force,
    };
    if !args.quiet {
        // The banner's concurrency is the race's own, which the levels replace: leave it out.
        let banner = race_banner(&config);
        let banner = banner.replace(&format!(", concurrency {}", config.load.concurrency), "");
        print::err(&banner);
        print::err(&format!(
            "Sweep over {}",
            options
                .levels
                .iter()
                .map(sweep::Level::describe)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let outcome = sweep::sweep(config, &base_dir, &options).await?;
    let report = &outcome.report;
    for endpoint in &report.endpoints {
        print::out(&format!("{}\n", sweep::chart::table(endpoint)));
    }
    print::out("Throughput against TTFT p95\n");
    print::out(&format!(
        "{}\n",
        sweep::chart::plot(&report.endpoints, report.ttft_p95_target_ms, 60, 14)
    ));
    print::out("Recommended operating point (TTFT p95 within target, errors under 1 %):\n");
    for endpoint in &report.endpoints {
        print::out(&format!(
            "  {}\n",
            sweep::chart::recommendation(endpoint, report.ttft_p95_target_ms)
        ));
    }
    print::out(&format!("Results: {}\n", outcome.dir.display()));
    if report.interrupted {
        print::err("Stopped early: only the levels that finished are in sweep.json.");
    }
    Ok(outcome.signal.map_or(0, crate::signals::Signal::exit_code))
}

/// The theme asked for; `NO_COLOR` (any non-empty value) wins over everything.
fn theme_name(asked: Option<&str>) -> tui::ThemeName {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return tui::ThemeName::Plain;
    }
    match asked {
        Some("light") => tui::ThemeName::Light,
        Some("colorblind") => tui::ThemeName::ColorBlind,
        Some("plain") => tui::ThemeName::Plain,
        _ => tui::ThemeName::Dark,
    }
}

/// The load shape as the banner tells it (see `LoadConfig::describe`).
fn load_shape(load: &crate::config::LoadConfig) -> String {
    format!(", {}", load.describe())
}

/// What is about to be raced, in a few lines.
fn race_banner(config: &RaceConfig) -> String {
    let mut text = format!(
        "Race '{}': {}",
        config.name,
        crate::format::count(config.endpoints.len() as u64, "endpoint")
    );
    match (config.load.requests, config.load.duration) {
        (Some(n), Some(d)) => text.push_str(&format!(
            ", {} each or {} whichever first",
            crate::format::count(n, "request"),
            humantime::format_duration(d)
        )),
        (Some(n), None) => {
            text.push_str(&format!(", {} each", crate::format::count(n, "request")));
        }
        (None, Some(d)) => text.push_str(&format!(", for {}", humantime::format_duration(d))),
        (None, None) => {}
    }
    text.push_str(&load_shape(&config.load));
    for e in &config.endpoints {
        let simulated = if e.base_url.starts_with("mock://") {
            "  (simulated)"
        } else {
            ""
        };
        text.push_str(&format!(
            "\n  {:<12} {:<18} {} {}{simulated}",
            e.name,
            e.protocol.name(),
            secret::redact_url(&e.base_url),
            e.model
        ));
    }
    text
}

/// `llmrace mock`: serves the mock until Ctrl-C, SIGTERM or SIGHUP.
pub async fn mock_command(args: &cli::MockArgs) -> Result<i32, RaceError> {
    let mock_error = |message: String| RaceError::Mock {
        endpoint: "mock".to_string(),
        message,
    };
    let profile = mock::Profile::parse(&args.profile).map_err(|e| mock_error(e.to_string()))?;
    let ip: std::net::IpAddr = args.host.parse().map_err(|_| {
        mock_error(format!(
            "'{}' is not an IP address; use e.g. --host 127.0.0.1",
            args.host
        ))
    })?;
    let server =
        mock::MockServer::start_with((ip, args.port).into(), profile, args.allow_non_loopback)
            .await
            .map_err(|e| mock_error(e.to_string()))?;
    print::out(&format!(
        "llmrace mock (profile '{}') listening on {}\n",
        args.profile,
        server.addr()
    ));
    for (label, protocol) in [
        ("OpenAI chat / completions", protocol::Protocol::OpenAiChat),
        ("Anthropic Messages", protocol::Protocol::Anthropic),
        ("Ollama", protocol::Protocol::Ollama),
    ] {
        print::out(&format!(
            "  {label:<26} base URL {}\n",
            server.base_url(protocol)
        ));
    }
    print::out("Press Ctrl-C to stop.\n");
    crate::signals::shutdown().await;
    let stats = server.stats();
    server.shutdown().await;
    print::out(&format!(
        "Stopped after {} requests on {} connections.\n",
        stats.requests, stats.connections_accepted
    ));
    Ok(0)
}

/// `llmrace init`: writes the commented example race file.
pub fn init_command(args: &cli::InitArgs) -> Result<i32, RaceError> {
    use std::io::Write;
    let path = &args.path;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (it exists; pass --force to overwrite it)"
        } else {
            ""
        };
        RaceError::Init(format!("cannot write {}: {e}{hint}", path.display()))
    })?;
    file.write_all(config::EXAMPLE_RACE_FILE.as_bytes())
        .map_err(|e| RaceError::Init(format!("cannot write {}: {e}", path.display())))?;
    print::out(&format!(
        "Wrote {}. Run it with: llmrace race {}\n",
        path.display(),
        path.display()
    ));
    Ok(0)
}

/// `llmrace report`: a saved race in the format asked for, optionally its result files rebuilt
/// from the replay, and thresholds checked.
pub fn report_command(args: &cli::ReportArgs) -> Result<i32, RaceError> {
    let thresholds =
        crate::threshold::parse_all(&args.fail_if).map_err(|e| RaceError::Init(e.to_string()))?;
    let format = report::Format::parse(&args.format).map_err(RaceError::Init)?;
    // Only the HTML report draws every request; the others need the summary alone.
    let records = if format == report::Format::Html {
        report::run::Records::Keep
    } else {
        report::run::Records::Skip
    };
    // Thresholds naming no endpoint, or a TPOT or ITL of a race that did not stream.
    let check_names = |names: Vec<String>, stream: bool| {
        crate::threshold::check_endpoints(&thresholds, &names)
            .and_then(|()| crate::threshold::check_streamed(&thresholds, stream))
            .map_err(|e| RaceError::Init(e.to_string()))
    };
    // Result files rebuilt from the replay the report is read from: one pass gives both.
    let (run, rebuilt) = match &args.results {
        Some(dir) if report::run::is_read_from_replay(&args.run) => {
            let reader = crate::record::replay::ReplayReader::open(&args.run)?;
            // A threshold naming no endpoint is refused before anything is written.
            check_names(
                reader
                    .header()
                    .endpoints
                    .iter()
                    .map(|e| e.name.clone())
                    .collect(),
                reader.header().race.workload.stream,
            )?;
            let (dir, run) = crate::playback::report_file(reader, dir, records)?;
            (run, Some(dir))
        }
        _ => (
            report::run::load_with(&args.run, records)
                .map_err(|e| RaceError::Init(e.to_string()))?,
            None,
        ),
    };
    // A replay's damage is told in the report itself (CSV has no room for it: here), the
    // other notices here.
    let told_here = |notice: &String| {
        format == report::Format::Csv || !crate::record::replay::damage::is_notice(notice)
    };
    for notice in run.info.notices.iter().filter(|n| told_here(n)) {
        print::err(&format!("note: {notice}"));
    }
    check_names(
        run.summary
            .endpoints
            .iter()
            .map(|e| e.name.clone())
            .collect(),
        run.info.race.workload.stream,
    )?;
    if let Some(dir) = &args.results {
        // Its damage, if any, was told with the notices above.
        let dir = match rebuilt {
            Some(dir) => dir,
            None => {
                let reader = crate::record::replay::ReplayReader::open(&args.run)?;
                let (out, replayed) =
                    crate::playback::report_file(reader, dir, report::run::Records::Skip)?;
                // The report comes from the folder's own files, which the replay's damage
                // does not touch: the rebuilt files do, and may say something else.
                let damage = (replayed.info.notices.iter())
                    .filter(|n| crate::record::replay::damage::is_notice(n));
                let mut damaged = false;
                for notice in damage {
                    print::err(&format!("note: {}: {notice}", out.display()));
                    damaged = true;
                }
                if damaged {
                    print::err(&format!(
                        "note: the report printed comes from the result files in {}; {} was \
                         rebuilt from its damaged replay and may differ",
                        args.run.display(),
                        out.display()
                    ));
                }
                out
            }
        };
        print::err(&format!(
            "Result files rebuilt from the replay: {}",
            dir.display()
        ));
    }
    let text = report::render(&run, format);
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| RaceError::Init(format!("cannot write {}: {e}", path.display())))?;
            print::err(&format!("Wrote {}", path.display()));
        }
        None => print::out(&text),
    }
    Ok(gate(&thresholds, &run.summary))
}

/// Checks thresholds against a race's summary: prints each with its measured value (to
/// stderr, so a report on stdout stays clean) and returns the exit code, 1 if any failed.
fn gate(thresholds: &[crate::threshold::Threshold], summary: &crate::record::Summary) -> i32 {
    if thresholds.is_empty() {
        return 0;
    }
    let checks = crate::threshold::evaluate(
        thresholds,
        &crate::stats::figures::of(&summary.endpoints, &summary.costs),
    );
    print::err_part(&report::verdict::render(&checks));
    i32::from(checks.iter().any(|c| !c.passed))
}

/// `llmrace compare`: the last run against the first, and a trend when there are more.
pub fn compare_command(args: &cli::CompareArgs) -> Result<i32, RaceError> {
    let runs = args
        .runs
        .iter()
        .map(|p| report::load(p).map_err(|e| RaceError::Init(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let (Some(base), Some(current)) = (runs.first(), runs.last()) else {
        return Err(RaceError::Init(
            "compare needs two runs: BASE CURRENT".to_string(),
        ));
    };
    for (path, run) in args.runs.iter().zip(&runs) {
        for notice in &run.info.notices {
            print::err(&format!("note: {}: {notice}", path.display()));
        }
    }
    let comparison = report::compare::compare(base, current);
    // Forced, runs that differ are gated on what they share; when they share no endpoint
    // there is nothing to gate on, and no verdict can pass.
    let nothing_compared = comparison.endpoints.is_empty();
    if args.fail_on_regression.is_some() && (!args.force || nothing_compared) {
        let mismatches = report::compare::mismatches(base, current, &comparison);
        if !mismatches.is_empty() {
            let help = if nothing_compared {
                "help: gate runs that share an endpoint (by name); --force cannot gate on nothing"
            } else {
                "help: compare runs of the same race, or add --force to gate on what they have \
                 in common"
            };
            return Err(RaceError::Init(format!(
                "cannot gate {} against {}: {}\n  {help}",
                args.runs[args.runs.len() - 1].display(),
                args.runs[0].display(),
                mismatches.join("; ")
            )));
        }
    }
    let markdown = matches!(args.format.as_str(), "md" | "markdown");
    if markdown {
        print::out(&report::compare::render_markdown(&comparison));
    } else {
        print::out(&report::compare::render_text(&comparison));
    }
    if let Some(unchecked) = report::compare::unchecked(base, current) {
        print::out(&format!("{unchecked}\n"));
    }
    let differences = report::compare::setup_differences(base, current);
    if !differences.is_empty() {
        print::out(&format!(
            "the runs differ in load or endpoints ({}): changes may come from that\n",
            differences.join("; ")
        ));
    }
    if runs.len() > 2 {
        print::out("\n");
        print::out(&report::compare::trend(&runs));
    }
    let Some(pct) = args.fail_on_regression else {
        return Ok(0);
    };
    // A gate that could judge nothing must not pass: "no regression" would be unfounded.
    let (judged, metrics) = report::compare::judged(&comparison);
    if judged == 0 {
        return Err(RaceError::Init(format!(
            "cannot gate {} against {}: not enough samples to judge any metric (each test \
             needs at least {} succeeded requests per endpoint in both runs)\n  help: race \
             more requests (-n) in both runs",
            args.runs[args.runs.len() - 1].display(),
            args.runs[0].display(),
            report::compare::MIN_SAMPLES
        )));
    }
    if judged < metrics {
        print::err(&format!(
            "note: {} of {metrics} metrics could not be judged (not enough samples or no \
             data): the gate covers the other {judged}",
            metrics - judged
        ));
    }
    let regressions = report::compare::regressions(&comparison, pct);
    if regressions.is_empty() {
        print::err(&format!("No regression beyond noise and {pct}%."));
        return Ok(0);
    }
    print::err(&format!("Regressions beyond noise and {pct}%:"));
    for r in &regressions {
        print::err(&format!("  {r}"));
    }
    Ok(1)
}

/// Loads a replay for the dashboard. A long race takes seconds to load (about a million events
/// a second): past a moment, stderr tells how far it is, and the line is cleared before the
/// dashboard draws.
async fn load_telling_progress(
    reader: crate::record::replay::ReplayReader,
) -> (crate::player::EventLog, crate::stats::Snapshot) {
    let progress = reader
        .progress()
        .filter(|_| std::io::stderr().is_terminal());
    let mut loading =
        tokio::task::spawn_blocking(move || crate::playback::load_for_playback(reader));
    let loaded = match progress {
        None => loading.await,
        Some(progress) => {
            let every = std::time::Duration::from_millis(100);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + 3 * every, every);
            let mut told = false;
            let loaded = loop {
                tokio::select! {
                    loaded = &mut loading => break loaded,
                    _ = tick.tick() => {
                        let percent = (progress.fraction() * 100.0).floor();
                        print::err_part(&format!("\rLoading the replay: {percent:3.0} %"));
                        told = true;
                    }
                }
            };
            // Spaces rather than an escape sequence: any terminal clears the line this way.
            if told {
                let widest = "Loading the replay: 100 %".len();
                print::err_part(&format!("\r{}\r", " ".repeat(widest)));
            }
            loaded
        }
    };
    loaded.unwrap_or_else(|error| match error.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        // The runtime only cancels a blocking task when it shuts down, and it is running this.
        Err(error) => unreachable!("the replay's loading was cancelled: {error}"),
    })
}

/// `llmrace replay`: plays a replay (dashboard or headless), or lists recent races.
pub async fn replay_command(args: &cli::ReplayArgs) -> Result<i32, RaceError> {
    let Some(which) = &args.file else {
        list_recent_races();
        return Ok(0);
    };
    let path = match which.parse::<usize>() {
        Ok(n) if n >= 1 && !std::path::Path::new(which).exists() => {
            let parent = crate::record::default_runs_dir().ok_or(RaceError::NoDataDir)?;
            let races = crate::record::recent_races(&parent);
            races.get(n - 1).cloned().ok_or_else(|| {
                RaceError::Init(format!(
                    "there is no race number {n}: {} recorded races in {} (run `llmrace replay` to list them)",
                    races.len(),
                    parent.display()
                ))
            })?
        }
        _ => std::path::PathBuf::from(which),
    };
    let interactive =
        !args.headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let last = if interactive {
        let speed = crate::player::Speed::parse(&args.speed)
            .map_err(|e| RaceError::Init(format!("--speed {}: {e}", args.speed)))?;
        // The dashboard seeks back and forth: the events are held, compressed, and the race's
        // final numbers are folded as they load.
        let reader = crate::record::replay::ReplayReader::open(&path)?;
        let (log, last) = load_telling_progress(reader).await;
        tell_damage(log.damage.as_deref());
        tell_format(&log.header);
        let theme = tui::Theme::new(theme_name(args.theme.as_deref()));
        if let Some(signal) = crate::play(log, theme, speed).await? {
            // SIGTERM or a closed terminal: leave without printing to what may be gone.
            return Ok(signal.exit_code());
        }
        last
    } else {
        let mut reader = crate::record::replay::ReplayReader::open(&path)?;
        let last = crate::playback::fold_stream(&mut reader, |_| {});
        tell_damage(reader.damage());
        tell_format(reader.header());
        last
    };
    print::out(&report::table::render_within(
        &last.endpoints,
        print::width(),
    ));
    Ok(0)
}

/// What the replay's numbers mean differently for its age (see [`replay_notices`]).
///
/// [`replay_notices`]: crate::record::run_info::replay_notices
fn tell_format(header: &crate::record::ReplayHeader) {
    for notice in crate::record::run_info::replay_notices(header) {
        print::err(&format!("note: {notice}"));
    }
}

fn tell_damage(damage: Option<&str>) {
    if let Some(damage) = damage {
        print::err(&format!(
            "note: {}",
            crate::record::replay::damage::notice(damage)
        ));
    }
}

/// Prints the most recent races, newest first, numbered for `llmrace replay N`.
fn list_recent_races() {
    let Some(parent) = crate::record::default_runs_dir() else {
        print::out("No races recorded yet: the platform data folder is unknown here.\n");
        return;
    };
    let races = crate::record::recent_races(&parent);
    if races.is_empty() {
        print::out(&format!(
            "No races recorded yet in {}. Run `llmrace` to race the built-in mocks.\n",
            parent.display()
        ));
        return;
    }
    print::out(&format!(
        "Recent races in {} (newest first):\n",
        parent.display()
    ));
    for (i, dir) in races.iter().take(15).enumerate() {
        print::out(&format!("{:>3}  {}\n", i + 1, describe_race(dir)));
    }
    print::out("Play one with `llmrace replay N` (or give its folder or replay file).\n");
}

/// `demo  2026-11-23 06:14 UTC  4 endpoints: turbo, steady, …  fastest first token: turbo`
fn describe_race(dir: &std::path::Path) -> String {
    let read = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(dir.join(name)).ok()?).ok()
    };
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(run) = read("run.json") else {
        return format!("{folder}  (no run.json: the race did not finish writing)");
    };
    let name = run["name"].as_str().unwrap_or("?");
    let when = run["started_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let names: Vec<&str> = run["endpoints"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    let winner = read("summary.json").and_then(|s| {
        s["endpoints"]
            .as_array()?
            .iter()
            .filter_map(|e| {
                Some((
                    e["name"].as_str()?.to_string(),
                    e["latency"]["ttft_ms"]["p50"].as_f64()?,
                ))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(name, _)| name)
    });
    let mut text = format!(
        "{name:<16} {when}  {}: {}",
        crate::format::count(names.len() as u64, "endpoint"),
        names.join(", ")
    );
    if let Some(winner) = winner {
        text.push_str(&format!("  fastest first token: {winner}"));
    }
    if run["interrupted"].as_bool() == Some(true) {
        text.push_str("  (stopped early)");
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_banner_counts_one_endpoint_as_one() {
        let mut config = crate::config::demo_race();
        config.endpoints.truncate(1);
        let banner = super::race_banner(&config);
        assert!(banner.starts_with("Race 'demo': 1 endpoint,"), "{banner}");
        config.load.requests = Some(1);
        config.load.duration = None;
        let banner = super::race_banner(&config);
        assert!(banner.contains(", 1 request each"), "{banner}");
    }
}
