//! Unit tests of the command-line definitions: what parses, what is refused, what help says.

use super::*;
use clap::CommandFactory;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn race(args: &[&str]) -> Result<RaceArgs, clap::Error> {
    let cli = Cli::try_parse_from(std::iter::once("llmrace").chain(args.iter().copied()))?;
    match cli.into_command() {
        Command::Race(race) => Ok(race),
        other => panic!("expected a race, got {other:?}"),
    }
}

#[test]
fn definitions_are_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn bare_invocation_is_the_demo_race() -> TestResult {
    assert_eq!(race(&[])?, RaceArgs::default());
    Ok(())
}

#[test]
fn race_flags_parse_with_and_without_subcommand() -> TestResult {
    let argv = [
        "race.toml",
        "-e",
        "a=openai:http://h:8000/v1#m",
        "--endpoint",
        "b=ollama:http://h:11434#m",
        "-n",
        "50",
        "-d",
        "90s",
        "-c",
        "8",
        "--warmup",
        "2",
        "--max-tokens",
        "64",
        "--temperature",
        "0.5",
        "--no-stream",
        "--no-warm-connections",
        "--first-token-timeout",
        "30s",
        "--slo-ttft",
        "500ms",
        "--name",
        "nightly",
        "-o",
        "out",
        "--headless",
        "-q",
        "--workload",
        "rag",
        "--api-key-env",
        "a=A_KEY",
        "--api-key-env",
        "b=B_KEY",
    ];
    let bare = race(&argv)?;
    let mut with_subcommand = vec!["race"];
    with_subcommand.extend(argv);
    assert_eq!(race(&with_subcommand)?, bare);
    assert_eq!(bare.race_file, Some(PathBuf::from("race.toml")));
    assert_eq!(bare.endpoints.len(), 2);
    assert_eq!(bare.requests, Some(50));
    assert_eq!(bare.duration, Some(Duration::from_secs(90)));
    assert_eq!(bare.concurrency, Some(8));
    assert_eq!(bare.workload.temperature, Some(0.5));
    assert!(bare.workload.no_stream && bare.no_warm_connections && bare.headless && bare.quiet);
    assert_eq!(bare.first_token_timeout, Some(Duration::from_secs(30)));
    assert_eq!(bare.slo_ttft, Some(Duration::from_millis(500)));
    assert_eq!(bare.workload.builtin.as_deref(), Some("rag"));
    assert_eq!(bare.api_key_envs, ["a=A_KEY", "b=B_KEY"]);
    Ok(())
}

#[test]
fn api_key_env_values_are_checked_by_config_not_clap() -> TestResult {
    // clap would echo a refused value; a key pasted here by mistake must not be printed.
    let args = race(&["--api-key-env", "sk-live-0123456789abcdef"])?;
    assert_eq!(args.api_key_envs, ["sk-live-0123456789abcdef"]);
    Ok(())
}

#[test]
fn bad_values_are_refused() {
    for argv in [
        &["-n", "0"][..],
        &["-c", "0"],
        &["-d", "10"],
        &["-d", "0s"],
        &["--temperature", "3"],
        &["--workload", "poetry"],
        &["--prompt", "hi", "--workload", "chat"],
        &["--prompts", "p.jsonl", "--prompt", "hi"],
    ] {
        assert!(race(argv).is_err(), "{argv:?}");
    }
}

#[test]
fn shared_prefix_groups_prefix_and_suffix() -> TestResult {
    let args = race(&["--shared-prefix", "8x2048"])?;
    let expected = SharedPrefixArg {
        groups: 8,
        prefix_tokens: 2048,
        suffix_tokens: None,
    };
    assert_eq!(args.workload.shared_prefix, Some(expected));
    let args = race(&["--shared-prefix", "8X2048+64"])?;
    assert_eq!(
        args.workload.shared_prefix.map(|a| a.suffix_tokens),
        Some(Some(64))
    );
    for (bad, says) in [
        ("8", "no `x`"),
        ("0x2048", "groups must be from 1 to 100000, not 0"),
        ("8x0", "prefix tokens must be from 1"),
        ("8x2048+0", "suffix tokens must be from 1"),
        (
            "8xmany",
            "expected a whole number of prefix tokens, not `many`",
        ),
        ("8x999900+200", "a prompt of 1000100 tokens"),
        ("8x1000000+1", "a prompt of 1000001 tokens"),
    ] {
        let error = race(&["--shared-prefix", bad])
            .err()
            .ok_or(bad)?
            .to_string();
        assert!(error.contains(says), "{bad}: {error}");
        assert!(error.contains("e.g. 8x2048"), "{bad}: {error}");
    }
    assert!(race(&["--shared-prefix", "8x64", "--synthetic", "512"]).is_err());
    assert!(race(&["--shared-prefix", "8x64", "--workload", "chat"]).is_err());
    Ok(())
}

#[test]
fn synthetic_lengths_and_ranges() -> TestResult {
    let args = race(&["--synthetic", "512", "--shuffle", "--seed", "7"])?;
    assert_eq!(
        args.workload.synthetic,
        Some(TokenRange { min: 512, max: 512 })
    );
    assert!(args.workload.shuffle);
    assert_eq!(args.workload.seed, Some(7));
    let args = race(&["--synthetic", "256..1024"])?;
    assert_eq!(
        args.workload.synthetic,
        Some(TokenRange {
            min: 256,
            max: 1024
        })
    );
    for bad in ["0", "1024..256", "lots", "..5", "100000000", "1..1000001"] {
        assert!(race(&["--synthetic", bad]).is_err(), "{bad}");
    }
    assert!(race(&["--synthetic", "512", "--workload", "chat"]).is_err());
    // Too big for a number is too big for the bound, and said so.
    for big in ["99999999999999999999", "10..99999999999", "1000000000"] {
        let error = race(&["--synthetic", big]).err().ok_or(big)?.to_string();
        assert!(error.contains("at most 1000000 tokens"), "{big}: {error}");
    }
    Ok(())
}

#[test]
fn repeated_prompts_accumulate() -> TestResult {
    let args = race(&["--prompt", "one", "--prompt", "two"])?;
    assert_eq!(args.workload.prompts, ["one", "two"]);
    Ok(())
}

#[test]
fn mock_and_init_subcommands() -> TestResult {
    let cli = Cli::try_parse_from(["llmrace", "mock"])?;
    let Some(Command::Mock(mock)) = cli.command else {
        panic!("expected mock");
    };
    assert_eq!((mock.host.as_str(), mock.port), ("127.0.0.1", 8080));
    assert!(!mock.allow_non_loopback);

    let cli = Cli::try_parse_from([
        "llmrace",
        "mock",
        "--host",
        "0.0.0.0",
        "--port",
        "9000",
        "--profile",
        "steady,ttft=200ms",
        "--allow-non-loopback",
    ])?;
    let Some(Command::Mock(mock)) = cli.command else {
        panic!("expected mock");
    };
    assert_eq!(mock.profile, "steady,ttft=200ms");
    assert!(mock.allow_non_loopback);

    let cli = Cli::try_parse_from(["llmrace", "init"])?;
    let Some(Command::Init(init)) = cli.command else {
        panic!("expected init");
    };
    assert_eq!((init.path, init.force), (PathBuf::from("race.toml"), false));
    let cli = Cli::try_parse_from(["llmrace", "init", "x.toml", "--force"])?;
    assert!(matches!(
        cli.command,
        Some(Command::Init(InitArgs { force: true, .. }))
    ));
    Ok(())
}

#[test]
fn help_mentions_protocols_and_profiles() {
    let mut command = Cli::command();
    let race_help = command
        .find_subcommand_mut("race")
        .map(|c| c.render_long_help().to_string())
        .unwrap_or_default();
    for word in [
        "openai-completions",
        "anthropic",
        "ollama",
        "thinker",
        "--endpoint",
    ] {
        assert!(race_help.contains(word), "{word} missing from race help");
    }
}

fn long_help_of(command: &mut clap::Command, arg: &str) -> String {
    command
        .get_arguments()
        .find(|a| a.get_id() == arg)
        .and_then(clap::Arg::get_long_help)
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[test]
fn help_tells_how_to_give_an_api_key() {
    let mut command = Cli::command();
    let endpoint_help = long_help_of(&mut command, "endpoints");
    assert!(
        endpoint_help.contains("--api-key-env NAME=VAR"),
        "{endpoint_help}"
    );
    let help = command.render_long_help().to_string();
    assert!(help.contains("Endpoints:"), "{help}");
    assert!(help.contains("--api-key-env <NAME=VAR>"), "{help}");
}

#[test]
fn help_claims_only_what_exists_today() {
    let mut command = Cli::command();
    let help = command.render_long_help().to_string();
    for file in ["run.json", "requests.jsonl", "requests.csv", "summary.json"] {
        assert!(help.contains(file), "{file} missing from help");
    }
    assert!(
        help.contains("dashboard") && help.contains("--headless"),
        "{help}"
    );
    assert!(help.contains("replay.jsonl.gz"), "{help}");
    assert!(!help.contains("on screen"), "{help}");
    let race_help = command
        .find_subcommand_mut("race")
        .map(|c| c.render_long_help().to_string())
        .unwrap_or_default();
    for claim in ["no dashboard", "on screen"] {
        assert!(!race_help.contains(claim), "race help claims {claim:?}");
    }
}

#[test]
fn a_sweep_races_with_every_workload_flag_of_a_race() -> TestResult {
    let workload = [
        "--synthetic",
        "64..128",
        "--shuffle",
        "--seed",
        "3",
        "--max-tokens",
        "32",
        "--temperature",
        "0.2",
        "--no-stream",
        "--sharegpt-output-len",
    ];
    let race = race(&workload)?;
    let cli = Cli::try_parse_from(
        [
            "llmrace",
            "sweep",
            "--rates",
            "1/s,2/s",
            "--poisson",
            "--retries",
            "2",
        ]
        .into_iter()
        .chain(workload),
    )?;
    let Some(Command::Sweep(sweep)) = cli.command else {
        panic!("expected a sweep");
    };
    let args = sweep.race_args();
    assert_eq!(args.workload, race.workload);
    assert!(args.poisson && args.headless);
    assert_eq!(args.retries, Some(2));
    assert_eq!(args.rate, Some("1/s".parse()?));
    // Open-loop settings need rate levels.
    assert!(Cli::try_parse_from(["llmrace", "sweep", "--poisson"]).is_err());
    assert!(Cli::try_parse_from(["llmrace", "sweep", "--max-in-flight", "4"]).is_err());
    Ok(())
}

#[test]
fn images_take_a_size_and_an_optional_count() -> TestResult {
    let spec = |count, width, height| crate::config::ImageSpec {
        count,
        width,
        height,
    };
    assert_eq!(
        race(&["--images", "512x512"])?.workload.images,
        Some(spec(1, 512, 512))
    );
    assert_eq!(
        race(&["--images", "2X1024x768"])?.workload.images,
        Some(spec(2, 1024, 768))
    );
    for bad in ["512", "0x512x512", "17x8x8", "8x9000", "axb", "1x2x3x4"] {
        let error = race(&["--images", bad]).err().ok_or(bad)?.to_string();
        assert!(error.contains("512x512"), "{bad}: {error}");
    }
    Ok(())
}
