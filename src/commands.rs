//! The subcommands as the command line runs them: each resolves its input, calls the
//! library, prints for people, and returns the process exit code.

use std::io::IsTerminal;

use crate::config::{self, RaceConfig};
use crate::{RaceError, RaceOptions, cli, mock, protocol, race, report, secret, tui};

/// `llmrace race`: resolves the race, runs it, prints the final table and where the files
/// are. Returns the process exit code.
pub async fn race_command(args: &cli::RaceArgs) -> Result<i32, RaceError> {
    let (config, base_dir) = config::resolve(args)?;
    // The dashboard needs a terminal to draw on; scripts and CI get progress lines instead.
    let dashboard =
        (!args.headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal())
            .then(|| tui::Theme::new(theme_name(args.theme.as_deref())));
    let options = RaceOptions {
        out: args.out.clone(),
        quiet: args.quiet,
        dashboard,
    };
    if !options.quiet {
        eprintln!("{}", race_banner(&config));
    }
    let outcome = race(config, &base_dir, &options).await?;
    print!("{}", report::table::render(&outcome.summary.endpoints));
    println!("Results: {}", outcome.dir.display());
    if outcome.interrupted {
        eprintln!(
            "Stopped early: requests in flight were cancelled; everything sent so far is in the results."
        );
    }
    Ok(if outcome.signalled { 130 } else { 0 })
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

/// What is about to be raced, in a few lines.
fn race_banner(config: &RaceConfig) -> String {
    let mut text = format!(
        "Race '{}': {} endpoints",
        config.name,
        config.endpoints.len()
    );
    match (config.load.requests, config.load.duration) {
        (Some(n), Some(d)) => text.push_str(&format!(
            ", {n} requests each or {} whichever first",
            humantime::format_duration(d)
        )),
        (Some(n), None) => text.push_str(&format!(", {n} requests each")),
        (None, Some(d)) => text.push_str(&format!(", for {}", humantime::format_duration(d))),
        (None, None) => {}
    }
    text.push_str(&format!(", concurrency {}", config.load.concurrency));
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

/// `llmrace mock`: serves the mock until Ctrl-C.
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
    println!(
        "llmrace mock (profile '{}') listening on {}",
        args.profile,
        server.addr()
    );
    for (label, protocol) in [
        ("OpenAI chat / completions", protocol::Protocol::OpenAiChat),
        ("Anthropic Messages", protocol::Protocol::Anthropic),
        ("Ollama", protocol::Protocol::Ollama),
    ] {
        println!("  {label:<26} base URL {}", server.base_url(protocol));
    }
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    let stats = server.stats();
    server.shutdown().await;
    println!(
        "Stopped after {} requests on {} connections.",
        stats.requests, stats.connections_accepted
    );
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
    println!(
        "Wrote {}. Run it with: llmrace race {}",
        path.display(),
        path.display()
    );
    Ok(0)
}
