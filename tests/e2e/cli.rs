//! The real `llmrace` binary, as a user runs it: the demo race, bad input, `init`, and Ctrl-C
//! in the middle of a race. Every race talks only to built-in mocks on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::refusing::RefusingPort;

fn llmrace() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmrace"));
    cmd.env_remove("RUST_BACKTRACE").stdin(Stdio::null());
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(args: &[&str]) -> Output {
    llmrace().args(args).output().expect("llmrace runs")
}

#[test]
fn the_demo_race_runs_with_nothing_configured() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = run(&[
        "-n",
        "3",
        "-c",
        "2",
        "--max-tokens",
        "8",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for name in ["turbo", "steady", "thinker", "flaky"] {
        assert!(stdout.contains(name), "{stdout}");
    }
    assert!(stderr.contains("(simulated)"), "{stderr}");
    assert!(
        stdout.contains(&format!("Results: {}", out.display())),
        "{stdout}"
    );
    for file in ["run.json", "requests.jsonl", "requests.csv", "summary.json"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for e in summary["endpoints"].as_array().unwrap() {
        let c = &e["counts"];
        let ended = c["succeeded"].as_u64().unwrap()
            + c["failed"].as_u64().unwrap()
            + c["cancelled"].as_u64().unwrap();
        assert_eq!(c["sent"].as_u64().unwrap(), 3);
        assert_eq!(ended, 3, "{e}");
    }
}

#[test]
fn quiet_prints_only_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&[
        "race",
        "-q",
        "-e",
        "a=openai:mock://instant#m",
        "-n",
        "2",
        "-o",
        dir.path().join("r").to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert!(text(&output.stderr).is_empty(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("endpoint"));
}

#[test]
fn bad_command_lines_and_race_files_exit_2_with_a_message() {
    let output = run(&["race", "-e", "nonsense"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("nonsense"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("race.toml");
    std::fs::write(&file, "name = \"x\"\n[load]\nconcurency = 3\n").unwrap();
    let output = run(&["race", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("concurency"), "{stderr}");
    assert!(stderr.contains("race.toml:3"), "{stderr}");

    let output = run(&["race", dir.path().join("missing.toml").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("missing.toml"));

    let output = run(&["-n", "0"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_port_out_of_range_is_a_config_error_and_no_key_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    for port in ["99999", "65536", "-5", "abc"] {
        let spec = format!("k=openai:http://127.0.0.1:{port}/v1#m");
        let output = llmrace()
            .env("LLMRACE_TEST_PORT_KEY", "FAKE")
            .args(["race", "-q", "-n", "1", "-e", &spec])
            .args(["--api-key-env", "k=LLMRACE_TEST_PORT_KEY", "-o", out])
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("port `{port}`")), "{stderr}");
        assert!(stderr.contains("-e"), "{stderr}");
    }
    let file = dir.path().join("race.toml");
    std::fs::write(
        &file,
        "[[endpoint]]\nname = \"k\"\nprotocol = \"openai\"\nbase_url = \"http://127.0.0.1:99999/v1\"\nmodel = \"m\"\n",
    )
    .unwrap();
    let output = run(&["race", file.to_str().unwrap(), "-n", "1", "-o", out]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("port `99999`") && stderr.contains("race.toml:4"),
        "{stderr}"
    );
}

#[test]
fn an_earlier_race_in_the_out_folder_is_never_overwritten_silently() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    let race = |extra: &[&str]| {
        let mut args = vec!["race", "-q", "-e", "a=openai:mock://instant#m", "-n", "2"];
        args.extend_from_slice(&["-o", out]);
        args.extend_from_slice(extra);
        run(&args)
    };
    assert!(race(&[]).status.success());
    let first = std::fs::read(Path::new(out).join("run.json")).unwrap();
    let again = race(&["--no-replay"]);
    let stderr = text(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already holds llmrace's results") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(Path::new(out).join("run.json")).unwrap(),
        first
    );
    // Forced, but the race fails before it writes: the earlier results are all still there.
    let failed = race(&["--force", "--api-key-env", "a=LLMRACE_TEST_UNSET_KEY"]);
    assert_eq!(failed.status.code(), Some(2), "{}", text(&failed.stderr));
    assert_eq!(
        std::fs::read(Path::new(out).join("run.json")).unwrap(),
        first
    );
    assert!(Path::new(out).join("replay.jsonl.gz").exists());
    // Forced, the earlier race is replaced whole: its replay does not outlive it.
    let forced = race(&["--no-replay", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_ne!(
        std::fs::read(Path::new(out).join("run.json")).unwrap(),
        first
    );
    assert!(!Path::new(out).join("replay.jsonl.gz").exists());
}

#[test]
fn an_earlier_sweep_in_the_out_folder_is_never_overwritten_silently() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let sweep = |extra: &[&str]| {
        let mut args = vec!["sweep", "-q", "-e", "a=openai:mock://instant#m", "-n", "2"];
        args.extend_from_slice(&["-c", "1", "-o", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        run(&args)
    };
    assert!(sweep(&[]).status.success());
    let first = std::fs::read(out.join("level-1").join("run.json")).unwrap();
    let again = sweep(&[]);
    let stderr = text(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already holds llmrace's results") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(out.join("level-1").join("run.json")).unwrap(),
        first
    );
    let forced = sweep(&["--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_ne!(
        std::fs::read(out.join("level-1").join("run.json")).unwrap(),
        first
    );
}

#[test]
fn messages_say_what_happened_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("somefile");
    std::fs::write(&file, "mine").unwrap();
    let endpoint = ["race", "-q", "-e", "a=openai:mock://instant#m", "-n", "1"];
    let output = llmrace()
        .args(endpoint)
        .args(["-o", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a file, not a folder"), "{stderr}");
    assert!(!stderr.contains("File exists"), "{stderr}");

    let out = dir.path().join("run");
    let output = llmrace()
        .args(endpoint)
        .args(["--prompts", dir.path().to_str().unwrap()])
        .args(["-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is a folder") && stderr.contains("help: name a file"),
        "{stderr}"
    );
    assert!(!stderr.contains("UTF-8"), "{stderr}");

    let output = llmrace()
        .args(endpoint)
        .args(["--no-replay", "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let rebuilt = dir.path().join("rebuilt");
    for args in [
        vec!["replay", out.to_str().unwrap(), "--headless"],
        vec![
            "report",
            out.to_str().unwrap(),
            "--results",
            rebuilt.to_str().unwrap(),
        ],
    ] {
        let output = run(&args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("holds no replay") && stderr.contains("--no-replay"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("No such file"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_missing_api_key_is_named_before_anything_is_sent() {
    let output = llmrace()
        .args(["race", "-e", "a=openai:mock://instant#m", "-n", "1"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("race.toml");
    std::fs::write(
        &file,
        "[[endpoint]]\nname = \"k\"\nprotocol = \"openai\"\nbase_url = \"mock://instant\"\nmodel = \"m\"\napi_key_env = \"LLMRACE_TEST_UNSET_KEY\"\n",
    )
    .unwrap();
    let output = llmrace()
        .env_remove("LLMRACE_TEST_UNSET_KEY")
        .args(["race", file.to_str().unwrap(), "-n", "1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("LLMRACE_TEST_UNSET_KEY") && stderr.contains('k'),
        "{stderr}"
    );
}

#[test]
fn the_api_key_never_reaches_the_result_files_or_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("race.toml");
    std::fs::write(
        &file,
        "[[endpoint]]\nname = \"k\"\nprotocol = \"openai\"\nbase_url = \"mock://instant\"\nmodel = \"m\"\napi_key_env = \"LLMRACE_TEST_KEY\"\n[endpoint.headers]\nX-Token = \"${LLMRACE_TEST_KEY}\"\n",
    )
    .unwrap();
    let key = "sk-test-8f3a0c2b9d1e4f5a";
    let out = dir.path().join("r");
    let output = llmrace()
        .env("LLMRACE_TEST_KEY", key)
        .args([
            "race",
            file.to_str().unwrap(),
            "-n",
            "2",
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(!text(&output.stdout).contains(key) && !text(&output.stderr).contains(key));
    let mut scanned = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let contents = if path.extension().is_some_and(|e| e == "gz") {
            // The replay: read what it holds, not its compressed bytes (binary records with
            // the text as UTF-8 among them).
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap()),
                &mut bytes,
            )
            .unwrap();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        assert!(!contents.contains(key), "{} leaks the key", path.display());
        scanned += 1;
    }
    assert_eq!(
        scanned, 6,
        "run.json, requests.jsonl, requests.csv, summary.json, the replay, and the mock's own \
         /metrics scraped (server_metrics.jsonl)"
    );
}

#[test]
fn init_writes_an_example_that_runs_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("race.toml");
    let output = run(&["init", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = run(&["init", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--force"));
    let out = dir.path().join("r");
    let output = run(&[
        "race",
        file.to_str().unwrap(),
        "-n",
        "1",
        "--max-tokens",
        "4",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(out.join("summary.json").is_file());
}

#[test]
fn ctrl_c_cancels_in_flight_requests_and_still_writes_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut child = llmrace()
        .args([
            "race",
            "-e",
            "slow=openai:mock://instant,ttft=20ms,itl=50ms,tokens=400#m",
            "-n",
            "1000",
            "-c",
            "4",
            "--max-tokens",
            "400",
            "-o",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first progress line means the race is under way with requests in flight.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the race ended before any progress"
        );
        if line.starts_with('[') {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stdout));
    check_accounted(&out);
}

fn check_accounted(out: &Path) {
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["interrupted"], true);
    let c = &summary["endpoints"][0]["counts"];
    let n = |k: &str| c[k].as_u64().unwrap();
    assert!(n("cancelled") >= 1, "{c}");
    assert_eq!(
        n("sent"),
        n("succeeded") + n("failed") + n("cancelled"),
        "{c}"
    );
    let lines = std::fs::read_to_string(out.join("requests.jsonl"))
        .unwrap()
        .lines()
        .count() as u64;
    assert_eq!(lines, n("sent"));
}

#[test]
fn the_banner_waits_for_the_race_to_be_able_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let args = ["race", "-e", "m=openai:mock://instant", "-o"];
    let output = run(&[&args[..], &[out.to_str().unwrap(), "--prompts", "/etc"]].concat());
    assert_ne!(output.status.code(), Some(0));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("/etc"), "{stderr}");
    assert!(!stderr.contains("Race '"), "{stderr}");
}

#[test]
fn a_slow_warming_is_told_and_its_timeout_named() {
    // Connections complete in the listener's backlog, and nothing ever answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("a=openai:http://{}#m", listener.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = run(&[
        "race",
        "-e",
        &url,
        "-n",
        "1",
        "--connect-timeout",
        "1s",
        "--first-token-timeout",
        "1s",
        "--headless",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("Warming 1 connection to a (up to 2 s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no answer within 2 s") && stderr.contains("--connect-timeout"),
        "{stderr}"
    );
    drop(listener);
}

/// A quick race into `out`, to read back.
fn a_saved_race(out: &Path) {
    let output = run(&[
        "race",
        "-e",
        "a=openai:mock://instant",
        "-n",
        "1",
        "--max-tokens",
        "4",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn a_report_that_cannot_be_written_exits_1_and_a_bad_report_request_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    a_saved_race(&out);
    // A file that could not be written is a failure, not a usage error (the README's table).
    let nowhere = dir.path().join("no-such-folder").join("race.md");
    let output = run(&[
        "report",
        out.to_str().unwrap(),
        "--format",
        "md",
        "-o",
        nowhere.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("error: cannot write {}: ", nowhere.display())),
        "{stderr}"
    );
    let output = run(&["report", out.to_str().unwrap(), "--format", "pdf"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let missing = dir.path().join("missing");
    let output = run(&["report", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

#[test]
fn init_into_a_folder_that_does_not_exist_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no-such-folder").join("race.toml");
    let output = run(&["init", file.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot write {}: ", file.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("--force"), "{stderr}");
}

#[test]
fn a_race_number_never_recorded_exits_2() {
    let home = tempfile::tempdir().unwrap();
    let output = llmrace()
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .args(["replay", "3"])
        .output()
        .expect("llmrace runs");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("there is no race number 3: 0 recorded races in "),
        "{stderr}"
    );
}

#[test]
fn notices_are_told_before_the_start_and_at_the_end_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    // Held for the whole test, so nothing can listen there meanwhile.
    let refusing = RefusingPort::reserve();
    let endpoint = format!("a=openai:http://{}#m", refusing.addr());
    let race = |out: &str, quiet: bool| {
        let out = dir.path().join(out);
        let mut args = vec![
            "race",
            "--headless",
            "-e",
            &endpoint,
            "-n",
            "1",
            "-o",
            out.to_str().unwrap(),
        ];
        if quiet {
            args.push("-q");
        }
        let output = run(&args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stderr)
    };
    let stderr = race("told", false);
    // The endpoint's notices; on a loaded machine the client's own (it fell behind) may come
    // too, which is no concern of this test's.
    let told: Vec<&str> = stderr.lines().filter(|l| l.starts_with("! a: ")).collect();
    assert_eq!(told.len(), 2, "{stderr}");
    assert!(
        told[0].starts_with("! a: could not open a connection before the start: "),
        "{stderr}"
    );
    assert_eq!(
        told[1],
        "! a: its only request failed: connect — check the URL and the HTTP version (`http`)"
    );
    let banner = stderr.find("Race 'race'").expect("the banner");
    assert!(banner < stderr.find(told[0]).unwrap(), "{stderr}");
    let stderr = race("quiet", true);
    assert!(!stderr.contains("! "), "{stderr}");
}
