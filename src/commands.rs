//! The subcommands as the command line runs them: each resolves its input, calls the
//! library, prints for people (what a race tells as it goes included), and returns the process
//! exit code. `race`, `sweep` and `replay` are here; the others in files of their own.

mod check;
mod error;
mod init;
mod merge;
mod metrics;
mod mock;
mod saved;
mod share;

use std::fmt::Write as _;
use std::io::IsTerminal;

use crate::config::RaceConfig;
use crate::race::{RaceError, RaceOptions, RaceOutcome, Teller, Telling, race};
use crate::{cli, print, report, secret, sweep, tui};

pub use error::CommandError;
pub use init::init_command;
pub use merge::merge_command;
pub use mock::mock_command;
pub use saved::{compare_command, report_command};
pub use share::share_command;

/// `llmrace race`: resolves the race, runs it, prints the final table and where the files
/// are. Returns the process exit code.
pub async fn race_command(args: &cli::RaceArgs) -> Result<i32, CommandError> {
    let (config, base_dir) = cli::from_args(args).map_err(RaceError::from)?;
    if args.check {
        return check::check_race(&config, &base_dir);
    }
    if let Some(out) = &args.out {
        crate::record::folder::check_named_folder(out, args.force)
            .map_err(RaceError::ResultsFolder)?;
    }
    // Listening starts before anything is announced or sent, so no signal can end the process
    // between the first request and the files being complete.
    let shutdown = crate::signals::Shutdown::listen();
    // The dashboard needs a terminal to draw on; scripts and CI get progress lines instead.
    let dashboard =
        (!args.headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal())
            .then(|| tui::Theme::new(theme_name(args.theme.as_deref())));
    let thresholds = crate::threshold::parse_all(&config.fail_if)?;
    // Bound before anything is sent: a port in use is a setup error.
    let exporter = metrics::start(&config.export)?;
    let options = RaceOptions {
        metrics: exporter.as_ref().map(crate::export::Exporter::publisher),
        out: args.out.clone(),
        quiet: args.quiet,
        replay: !args.no_replay,
        dashboard,
        replace: args.out.clone().filter(|_| args.force),
        tell: race_teller((!args.quiet).then(|| race_banner(&config)), args.quiet),
        start_at: args.start_at,
    };
    let linger = config.export.linger;
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
        Err(e) => return Err(e.into()),
    };
    // The terminal may be gone (SIGHUP): nothing here may panic on a failed write.
    print::out(&closing_lines(
        &outcome.summary.endpoints,
        &outcome.summary.costs,
        outcome.summary.expected_cache.as_ref(),
    ));
    print::out(&report::proxy::lines(&outcome.endpoint_info));
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
    // A signal that stopped the race means the user wants out now: no lingering.
    metrics::linger(exporter, linger.filter(|_| outcome.signal.is_none())).await;
    Ok(race_exit_code(&outcome, gated))
}

/// A signal's own code (128 + its number) first, then 1 for files that could not be written
/// or a dashboard that failed, then the thresholds' verdict.
fn race_exit_code(outcome: &RaceOutcome, gated: i32) -> i32 {
    match outcome.signal {
        Some(signal) => signal.exit_code(),
        None if !outcome.write_failures.is_empty() || outcome.dashboard_failure.is_some() => 1,
        None => gated,
    }
}

/// Prints what a race tells as it goes, where it was always printed: the banner once the race
/// can start, the warming line and notices unless quiet, a second signal's acknowledgement
/// always (it answers the user who sent it).
fn race_teller(banner: Option<String>, quiet: bool) -> Teller {
    Teller::new(move |telling| match telling {
        Telling::Ready => {
            if let Some(banner) = &banner {
                print::err(banner);
            }
        }
        Telling::Warming(doing) => {
            if !quiet {
                print::err(doing);
            }
        }
        Telling::Notices(notices) => {
            if !quiet {
                for notice in notices {
                    print::err(&format!("! {notice}"));
                }
            }
        }
        Telling::StillSaving(signal) => print::err(&format!(
            "! {}: still saving the results; llmrace exits as soon as they are complete",
            signal.name()
        )),
    })
}

/// `llmrace sweep`: resolves the race like `llmrace race`, runs it once per level, prints a
/// table per endpoint, the throughput/TTFT plot and the recommended operating points.
pub async fn sweep_command(args: &cli::SweepArgs) -> Result<i32, CommandError> {
    let (config, base_dir) = cli::from_args(&args.race_args()).map_err(RaceError::from)?;
    // A trace sets its own pace, which no level would change: every level would be the same.
    if config.load.trace_speed.is_some() {
        return Err(RaceError::from(crate::config::ConfigError::invalid(
            crate::config::Location::CommandLine,
            "--trace",
            "a sweep cannot replay a trace: a trace sets its own times, so every level would \
             send the same",
            "race the trace with `llmrace race --trace FILE` (--trace-speed 2 plays it twice \
             as fast), or sweep other prompts",
        ))
        .into());
    }
    let out = if let Some(dir) = &args.out {
        crate::record::folder::check_named_folder(dir, args.force)
            .map_err(RaceError::ResultsFolder)?;
        dir.clone()
    } else {
        let parent = crate::record::default_runs_dir().ok_or(RaceError::NoDataDir)?;
        crate::record::race_folder(
            &parent,
            &format!("{}-sweep", config.name),
            chrono::Utc::now(),
        )
    };
    // Bound before anything is sent: a port in use is a setup error.
    let exporter = metrics::start(&config.export)?;
    let linger = config.export.linger;
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
        // Levels tell nothing but a second signal's acknowledgement, as a quiet race.
        tell: race_teller(None, true),
        metrics: exporter.as_ref().map(crate::export::Exporter::publisher),
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
    metrics::linger(exporter, linger.filter(|_| outcome.signal.is_none())).await;
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
        (Some(n), Some(d)) => {
            let _ = write!(
                text,
                ", {} each or {} whichever first",
                crate::format::count(n, "request"),
                humantime::format_duration(d)
            );
        }
        (Some(n), None) => {
            let _ = write!(text, ", {} each", crate::format::count(n, "request"));
        }
        (None, Some(d)) => {
            let _ = write!(text, ", for {}", humantime::format_duration(d));
        }
        (None, None) => {}
    }
    if let Some(n) = config.load.requests.filter(|_| config.workload.turns > 1) {
        let _ = write!(
            text,
            " ({})",
            crate::config::session_budget(n, config.workload.turns)
        );
    }
    text.push_str(&load_shape(&config.load));
    if let Some(shard) = config.shard {
        let _ = write!(text, "\n  {}", shard.share(config));
    }
    for e in &config.endpoints {
        let simulated = if e.base_url.starts_with("mock://") {
            "  (simulated)"
        } else {
            ""
        };
        let http = match e.http {
            crate::config::HttpVersion::Auto => "",
            crate::config::HttpVersion::Http1 => "  (HTTP/1.1)",
            crate::config::HttpVersion::Http2 => "  (HTTP/2)",
        };
        let _ = write!(
            text,
            "\n  {:<12} {:<18} {} {}{simulated}{http}",
            e.name,
            e.protocol.name(),
            secret::redact_url(&e.base_url),
            e.model
        );
    }
    text
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

/// Loads a replay for the dashboard. A long race takes seconds to load (about a million events
/// a second): past a moment, stderr tells how far it is, and the line is cleared before the
/// dashboard draws.
async fn load_telling_progress(
    reader: crate::record::replay::ReplayReader,
) -> (crate::replay::player::EventLog, crate::stats::Snapshot) {
    let progress = reader
        .progress()
        .filter(|_| std::io::stderr().is_terminal());
    let mut loading = tokio::task::spawn_blocking(move || crate::replay::load_for_playback(reader));
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
pub async fn replay_command(args: &cli::ReplayArgs) -> Result<i32, CommandError> {
    let Some(which) = &args.file else {
        list_recent_races();
        return Ok(0);
    };
    let path = match which.parse::<usize>() {
        Ok(n) if n >= 1 && !std::path::Path::new(which).exists() => {
            let parent = crate::record::default_runs_dir().ok_or(RaceError::NoDataDir)?;
            let races = crate::record::recent_races(&parent);
            races
                .get(n - 1)
                .cloned()
                .ok_or_else(|| CommandError::NoSuchRace {
                    n,
                    count: races.len(),
                    folder: parent.clone(),
                })?
        }
        _ => std::path::PathBuf::from(which),
    };
    if args.jsonl {
        return replay_as_json_lines(&path);
    }
    let interactive =
        !args.headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if args.metrics.linger.is_some() && args.metrics.addr.is_none() {
        return Err(RaceError::from(crate::config::ConfigError::invalid(
            crate::config::Location::CommandLine,
            "--metrics-linger",
            "a metrics linger without a metrics address: nothing is served to linger on",
            "add --metrics-addr 9464, or drop --metrics-linger",
        ))
        .into());
    }
    // Bound before the replay is read: a port in use is a setup error.
    let exporter = args
        .metrics
        .addr
        .map(|addr| {
            metrics::start(&crate::config::ExportConfig {
                prometheus: Some(addr),
                linger: None,
            })
        })
        .transpose()?
        .flatten();
    let race;
    let endpoint_info;
    let last = if interactive {
        let speed = crate::replay::player::Speed::parse(&args.speed).map_err(|why| {
            CommandError::Speed {
                given: args.speed.clone(),
                why,
            }
        })?;
        // The dashboard seeks back and forth: the events are held, compressed, and the race's
        // final numbers are folded as they load.
        let reader = crate::record::replay::ReplayReader::open(&path)?;
        let (log, last) = load_telling_progress(reader).await;
        tell_damage(log.damage.as_deref());
        tell_format(&log.header);
        race = log.header.race.clone();
        endpoint_info = log.header.endpoints.clone();
        let theme = tui::Theme::new(theme_name(args.theme.as_deref()));
        let metrics = exporter.as_ref().map(crate::export::Exporter::publisher);
        if let Some(signal) = crate::play(log, theme, speed, metrics).await? {
            // SIGTERM or a closed terminal: leave without printing to what may be gone.
            return Ok(signal.exit_code());
        }
        last
    } else {
        let mut reader = crate::record::replay::ReplayReader::open(&path)?;
        let last = crate::replay::fold_stream(&mut reader, |_| {});
        tell_damage(reader.damage());
        tell_format(reader.header());
        race = reader.header().race.clone();
        endpoint_info = reader.header().endpoints.clone();
        last
    };
    // As the live race prints it, from the same code.
    let expected = crate::record::expected_cache::ExpectedCache::of(&race, &last.endpoints);
    print::out(&closing_lines(
        &last.endpoints,
        &last.costs,
        expected.as_ref(),
    ));
    print::out(&report::proxy::lines(&endpoint_info));
    if let Some(exporter) = &exporter {
        // The replayed race's final values, labelled as the race was.
        let (_feed, snapshots) = tokio::sync::watch::channel(std::sync::Arc::new(last));
        exporter.publisher().publish(&race, snapshots);
    }
    metrics::linger(exporter, args.metrics.linger).await;
    Ok(0)
}

/// `llmrace replay RUN --jsonl`: the replay's events as JSON lines on stdout, its damage on
/// stderr. A closed pipe (`| head`) ends it quietly.
fn replay_as_json_lines(path: &std::path::Path) -> Result<i32, CommandError> {
    let mut reader = crate::record::replay::ReplayReader::open(path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match crate::record::replay::json_lines::write(&mut reader, &mut out) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => {
            print::err(&format!(
                "llmrace: cannot write the replay's lines to stdout: {e}"
            ));
            return Ok(1);
        }
    }
    tell_damage(reader.damage());
    Ok(0)
}

/// What a race prints when it ends, live or replayed: the final table, then TTFT by turn,
/// costs, a shared-prefix race's expected cache hit rate and what the servers' own metrics
/// said.
fn closing_lines(
    endpoints: &[crate::stats::EndpointSnapshot],
    costs: &std::collections::BTreeMap<String, crate::stats::snapshot::Cost>,
    expected: Option<&crate::record::expected_cache::ExpectedCache>,
) -> String {
    [
        report::table::render_within(endpoints, print::width()),
        report::medals::lines(endpoints, costs),
        report::turns::lines(endpoints),
        report::cost::lines(costs),
        report::expected_cache::lines(expected),
        report::server::lines(endpoints),
    ]
    .concat()
}

/// What the replay's numbers mean differently for its age (see [`replay_notices`]).
///
/// [`replay_notices`]: crate::record::run_info::replay_notices
fn tell_format(header: &crate::record::ReplayHeader) {
    // A merged race's: its missing shards and the shards' damaged files.
    for notice in &header.notices {
        print::err(&format!("note: {notice}"));
    }
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
    use crate::record::{RunInfo, Summary, files::RUN_JSON};
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(run) = RunInfo::read(dir) else {
        return format!("{folder}  (no {RUN_JSON}: the race did not finish writing)");
    };
    let name = &run.name;
    let when = run.started_at.format("%Y-%m-%d %H:%M UTC");
    let names: Vec<&str> = run.endpoints.iter().map(|e| e.name.as_str()).collect();
    let winner = Summary::read(dir).and_then(|s| {
        s.endpoints
            .into_iter()
            .filter_map(|e| Some((e.latency.ttft_ms?.p50, e.name)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, name)| name)
    });
    let mut text = format!(
        "{name:<16} {when}  {}: {}",
        crate::format::count(names.len() as u64, "endpoint"),
        names.join(", ")
    );
    if let Some(winner) = winner {
        let _ = write!(text, "  fastest first token: {winner}");
    }
    if run.interrupted {
        text.push_str("  (stopped early)");
    }
    text
}

#[cfg(test)]
mod tests {
    /// The race list reads `run.json` and `summary.json` typed, as llmrace wrote them.
    #[test]
    fn a_recorded_race_is_described_from_its_files() {
        use crate::record::files::{RUN_JSON, SUMMARY_JSON};
        use crate::record::results::write_json;
        let dir = tempfile::tempdir().unwrap();
        let run = crate::replay::load::fixture(2, 5);
        write_json(dir.path(), RUN_JSON, &run.info).unwrap();
        let folder = dir.path().display().to_string();
        let line = super::describe_race(dir.path());
        assert!(line.starts_with("demo "), "{line}");
        assert!(line.contains("2 endpoints: turbo, steady"), "{line}");
        assert!(!line.contains("fastest"), "{line}");
        write_json(dir.path(), SUMMARY_JSON, &run.summary).unwrap();
        let line = super::describe_race(dir.path());
        assert!(line.ends_with("fastest first token: turbo"), "{line}");
        std::fs::write(dir.path().join(RUN_JSON), "{}").unwrap();
        let line = super::describe_race(dir.path());
        assert!(line.contains("(no run.json"), "{line} in {folder}");
    }

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
