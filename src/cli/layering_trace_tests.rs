//! Unit tests of trace replay's settings across layers: `--trace` and `--trace-speed`, a
//! trace's own bound on the race, and what cannot go with a trace, from either layer.

use super::tests::args;
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ENDPOINT: &str =
    "[[endpoint]]\nname = \"a\"\nprotocol = \"openai\"\nbase_url = \"mock://turbo\"\n";

fn layered(argv: &[&str]) -> Result<RaceConfig, Box<dyn std::error::Error>> {
    Ok(from_args(&args(argv)?)?.0)
}

/// Resolves `argv` over a race file of `text` and one endpoint.
fn over_file(text: &str, argv: &[&str]) -> Result<RaceConfig, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("race.toml");
    std::fs::write(&path, format!("{text}\n{ENDPOINT}"))?;
    let mut full = vec![path.to_str().ok_or("a UTF-8 path")?];
    full.extend_from_slice(argv);
    layered(&full)
}

fn message(result: Result<RaceConfig, Box<dyn std::error::Error>>) -> String {
    match result {
        Ok(race) => panic!("expected an error, got {:?}", race.load),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_trace_from_the_command_line_is_the_prompts_and_the_schedule() -> TestResult {
    let race = layered(&[
        "-e",
        "a=openai:mock://turbo",
        "--trace",
        "t.jsonl",
        "--trace-speed",
        "2",
        "--max-in-flight",
        "4",
    ])?;
    let PromptSource::Trace(path) = &race.workload.prompts else {
        return Err("a trace".into());
    };
    assert!(path.is_absolute() && path.ends_with("t.jsonl"), "{path:?}");
    assert_eq!(race.load.trace_speed, Some(2.0));
    // The trace bounds the race: no default request count cuts it.
    assert_eq!(race.load.requests, None);
    assert_eq!(
        race.load.describe(),
        "trace replay at 2× speed, at most 4 in flight"
    );
    let race = layered(&["--trace", "t.csv", "-n", "5"])?;
    assert_eq!(
        (race.load.trace_speed, race.load.requests),
        (Some(1.0), Some(5))
    );
    Ok(())
}

#[test]
fn a_trace_refuses_other_load_shapes_from_either_layer() {
    for (flags, named) in [
        (&["--rate", "5/s"][..], "--rate"),
        (&["--ramp", "1/s..5/s:10s"], "--ramp"),
        (&["--laps"], "--laps"),
        (&["--concurrency-ramp", "1..4:10s"], "--concurrency-ramp"),
        (&["--warmup", "2"], "--warmup"),
    ] {
        let mut argv = vec!["--trace", "t.jsonl"];
        argv.extend_from_slice(flags);
        let text = message(layered(&argv));
        assert!(text.contains(&format!("a trace and {named}")), "{text}");
        assert!(text.contains("max_in_flight"), "{text}");
    }
    // --poisson needs a rate, which a trace refuses: either way, refused.
    let text = message(layered(&[
        "--trace",
        "t.jsonl",
        "--rate",
        "5/s",
        "--poisson",
    ]));
    assert!(text.contains("a trace and --rate"), "{text}");
    // The file's rate and the command line's trace.
    let text = message(over_file("[load]\nrate = \"5/s\"", &["--trace", "t.jsonl"]));
    assert!(text.contains("a trace and --rate (`load.rate`)"), "{text}");
}

#[test]
fn trace_flags_are_checked_as_flags() {
    let text = message(layered(&["--trace-speed", "2"]));
    assert!(
        text.contains("--trace-speed is given but the race replays no trace"),
        "{text}"
    );
    for bad in ["0", "-1", "fast"] {
        let error = args(&["--trace", "t.jsonl", "--trace-speed", bad]).err();
        assert!(error.is_some(), "{bad}");
    }
    for other in [
        &["--prompt", "hi"][..],
        &["--workload", "rag"],
        &["--synthetic", "64"],
        &["--shuffle"],
    ] {
        let mut argv = vec!["--trace", "t.jsonl"];
        argv.extend_from_slice(other);
        let error = args(&argv).expect_err("a usage error");
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::ArgumentConflict,
            "{other:?}"
        );
    }
}

#[test]
fn flags_over_a_files_trace() -> TestResult {
    let file = "[workload]\ntrace = \"t.jsonl\"\n[load]\ntrace_speed = 0.5\nmax_in_flight = 2";
    let race = over_file(file, &["--trace-speed", "4"])?;
    assert_eq!(race.load.trace_speed, Some(4.0));
    assert_eq!(race.load.max_in_flight, Some(2));
    // Other prompts on the command line replace the file's trace, and its speed with it.
    let race = over_file(file, &["--workload", "rag", "--rate", "2/s"])?;
    assert_eq!(
        race.workload.prompts,
        PromptSource::Builtin("rag".to_string())
    );
    assert_eq!(race.load.trace_speed, None);
    Ok(())
}

#[test]
fn a_trace_with_shared_prefixes_is_refused_and_with_the_demo_plays_whole() -> TestResult {
    // Two prompt sources on the command line: the trace was once dropped without a word.
    assert!(args(&["--trace", "t.jsonl", "--shared-prefix", "2x100"]).is_err());
    assert!(args(&["--shared-prefix", "2x100", "--trace", "t.jsonl"]).is_err());
    // Against the demo's mocks, the demo's request count does not cut the trace.
    let race = layered(&["--trace", "t.jsonl"])?;
    assert_eq!(race.load.requests, None);
    // And the reports call it what it is.
    let load = crate::report::headline::describe_load(&race);
    assert!(load.starts_with("the whole trace; trace replay"), "{load}");
    Ok(())
}

#[test]
fn a_conflict_with_a_files_trace_points_at_the_file() {
    let text = message(over_file(
        "[workload]\ntrace = \"t.jsonl\"",
        &["--rate", "2/s"],
    ));
    assert!(text.contains("race.toml"), "{text}");
    assert!(text.contains("workload.trace"), "{text}");
    assert!(text.contains("a trace and --rate (`load.rate`)"), "{text}");
    assert!(!text.contains("command line"), "{text}");
}
