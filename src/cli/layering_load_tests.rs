//! Unit tests of the load settings across layers: the concurrency ramp, open-loop-only
//! settings without an open loop, the arrivals' seed and retries.

use super::tests::args;
use super::*;
use crate::config::from_toml_str;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ENDPOINT: &str =
    "[[endpoint]]\nname = \"a\"\nprotocol = \"openai\"\nbase_url = \"mock://turbo\"\n";

/// Resolves `argv` over a race file holding `load` (a `[load]` table's lines) and one endpoint.
fn over_file(load: &str, argv: &[&str]) -> Result<RaceConfig, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("race.toml");
    std::fs::write(&path, format!("[load]\n{load}\n{ENDPOINT}"))?;
    let mut full = vec![path.to_str().ok_or("a UTF-8 path")?];
    full.extend_from_slice(argv);
    Ok(from_args(&args(&full)?)?.0)
}

fn message(result: Result<RaceConfig, Box<dyn std::error::Error>>) -> String {
    match result {
        Ok(race) => panic!("expected an error, got {:?}", race.load),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_concurrency_ramp_from_the_command_line_sets_the_peak_everywhere() -> TestResult {
    let (race, _) = from_args(&args(&[
        "-e",
        "a=openai:mock://turbo",
        "--concurrency-ramp",
        "2..12:30s",
    ])?)?;
    let ramp = race.load.concurrency_ramp.ok_or("a ramp")?;
    assert_eq!((ramp.from, ramp.to, ramp.over.as_secs()), (2, 12, 30));
    assert_eq!(race.load.concurrency, 12);
    assert!(race.load.open_loop().is_none() && !race.load.laps);
    // Falling: the peak is where it starts.
    let race = over_file("concurrency = 3", &["--concurrency-ramp", "16..4:1m"])?;
    assert_eq!(race.load.concurrency, 16);
    Ok(())
}

#[test]
fn a_concurrency_ramp_conflicts_with_the_other_load_shapes() {
    for other in [
        &["--rate", "5/s"][..],
        &["--ramp", "1/s..2/s:10s"],
        &["--laps"],
        &["-c", "4"],
    ] {
        let mut argv = vec!["--concurrency-ramp", "1..8:10s"];
        argv.extend_from_slice(other);
        let error = args(&argv).expect_err("a usage error");
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::ArgumentConflict,
            "{other:?}"
        );
        assert!(error.to_string().contains("--concurrency-ramp"), "{error}");
    }
    let error = args(&["--concurrency-ramp", "1..8:0s"]).expect_err("a zero ramp");
    assert!(error.to_string().contains("longer than zero"), "{error}");
}

#[test]
fn a_race_files_concurrency_ramp_is_read_and_checked() -> TestResult {
    let race = over_file(
        r#"concurrency_ramp = { from = 1, to = 8, over = "20s" }"#,
        &[],
    )?;
    assert_eq!(race.load.concurrency, 8);
    assert_eq!(
        race.load.concurrency_ramp.map(|r| (r.from, r.to)),
        Some((1, 8))
    );
    let text = message(over_file(
        "rate = \"5/s\"\nconcurrency_ramp = { from = 1, to = 8, over = \"20s\" }",
        &[],
    ));
    assert!(text.contains("race.toml:3:20"), "{text}");
    assert!(
        text.contains("`concurrency_ramp` and `rate` cannot go together"),
        "{text}"
    );
    let text = message(over_file(
        r#"concurrency_ramp = { from = 1, to = 8, over = "0s" }"#,
        &[],
    ));
    assert!(text.contains("load.concurrency_ramp.over"), "{text}");
    assert!(text.contains("longer than zero"), "{text}");
    let text = message(over_file(
        r#"concurrency_ramp = { from = 1, to = 0, over = "5s" }"#,
        &[],
    ));
    assert!(text.contains("load.concurrency_ramp.to"), "{text}");
    Ok(())
}

#[test]
fn a_flag_replaces_the_files_concurrency_ramp() -> TestResult {
    let file = r#"concurrency_ramp = { from = 1, to = 8, over = "20s" }"#;
    let race = over_file(file, &["--rate", "5/s"])?;
    assert!(race.load.concurrency_ramp.is_none() && race.load.open_loop().is_some());
    let race = over_file(file, &["-c", "3"])?;
    assert!(race.load.concurrency_ramp.is_none());
    assert_eq!(race.load.concurrency, 3);
    Ok(())
}

#[test]
fn endpoint_concurrency_and_a_ramp_are_refused_in_a_file() {
    let text = format!(
        "[load]\nconcurrency_ramp = {{ from = 1, to = 8, over = \"20s\" }}\n{ENDPOINT}concurrency = 2\n"
    );
    let error = from_toml_str(&text, Path::new("race.toml")).expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("race.toml:2:20") && text.contains("`a`"),
        "{text}"
    );
}

#[test]
fn open_loop_flags_without_a_rate_are_refused() {
    for (flag, argv) in [
        ("--poisson", &["--poisson"][..]),
        ("--max-in-flight", &["--max-in-flight", "4"]),
    ] {
        let mut full = vec!["-e", "a=openai:mock://turbo"];
        full.extend_from_slice(argv);
        let text = message(
            from_args(&args(&full).expect("parses"))
                .map(|r| r.0)
                .map_err(Into::into),
        );
        assert!(text.contains("command line"), "{text}");
        assert!(
            text.contains(flag) && text.contains("only to an open loop"),
            "{text}"
        );
        assert!(text.contains("--rate"), "what to do: {text}");
    }
}

#[test]
fn open_loop_keys_without_a_rate_are_refused_where_they_are() -> TestResult {
    let text = message(over_file("concurrency = 2\narrivals = \"poisson\"", &[]));
    assert!(text.contains("race.toml:3:12"), "{text}");
    assert!(
        text.contains("load.arrivals") && text.contains("rate"),
        "{text}"
    );
    let text = message(over_file("max_in_flight = 4", &[]));
    assert!(
        text.contains("race.toml:2:17") && text.contains("load.max_in_flight"),
        "{text}"
    );
    // Without flags, loading the file alone refuses it too.
    let error = from_toml_str(
        &format!("[load]\nmax_in_flight = 4\n{ENDPOINT}"),
        Path::new("race.toml"),
    )
    .expect_err("refused");
    assert!(error.to_string().contains("race.toml:2:17"), "{error}");
    // A rate from the command line gives them their open loop.
    let race = over_file(
        "arrivals = \"poisson\"\nmax_in_flight = 4",
        &["--rate", "5/s"],
    )?;
    assert_eq!(race.load.max_in_flight, Some(4));
    Ok(())
}

#[test]
fn poisson_arrivals_record_the_seed_they_are_drawn_from() -> TestResult {
    let base = ["-e", "a=openai:mock://turbo", "--rate", "5/s"];
    let seeded = |extra: &[&str]| -> Result<RaceConfig, Box<dyn std::error::Error>> {
        let mut argv = base.to_vec();
        argv.extend_from_slice(extra);
        Ok(from_args(&args(&argv)?)?.0)
    };
    assert_eq!(
        seeded(&["--poisson", "--seed", "9"])?.load.arrival_seed,
        Some(9)
    );
    assert_eq!(seeded(&["--poisson"])?.load.arrival_seed, Some(0));
    assert_eq!(seeded(&[])?.load.arrival_seed, None);
    let json = serde_json::to_value(&seeded(&["--poisson", "--seed", "9"])?)?;
    assert_eq!(json["load"]["arrival_seed"], 9);
    Ok(())
}

#[test]
fn retries_are_off_unless_asked_for() -> TestResult {
    let (race, _) = from_args(&args(&["-e", "a=openai:mock://turbo"])?)?;
    assert_eq!(race.load.retries, 0);
    assert!(
        serde_json::to_value(&race)?["load"]
            .get("retries")
            .is_none()
    );
    assert_eq!(over_file("retries = 2", &[])?.load.retries, 2);
    assert_eq!(
        over_file("retries = 2", &["--retries", "0"])?.load.retries,
        0
    );
    assert_eq!(over_file("", &["--retries", "3"])?.load.retries, 3);
    Ok(())
}
