//! Shards of one race (`--shard K/N`) as separate `llmrace` processes against one mock on
//! 127.0.0.1: together they send exactly the race's requests, each of the race's ordinals once
//! (the same prompts as one process would send), closed loop, open loop, sessions and trace
//! replay alike; `--start-at` starts them at one instant and each records its skew; laps and a
//! shard left with nothing to do are refused; a signal while waiting for the start leaves
//! nothing behind.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::race::{race_config, records, run};
use crate::common::running::{BIN, Running, run_to_end};
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;

/// The prompts: seven, so that 20 requests wrap around them.
const PROMPTS: usize = 7;

async fn mock() -> MockServer {
    let profile = Profile::parse("instant,tokens=8").unwrap();
    MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .unwrap()
}

/// `llmrace race` against `server` with `extra` flags, headless, results in `out`.
fn race_command(server: &MockServer, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("race")
        .args([
            "-e",
            &format!("m=openai:{}#m", server.base_url(Protocol::OpenAiChat)),
        ])
        .args(["--server-metrics", "m=off", "--headless", "-o"])
        .arg(out);
    for i in 0..PROMPTS {
        command.args(["--prompt", &format!("prompt number {i}")]);
    }
    command.args(extra);
    command
}

/// Runs the commands at once (as the shards of a cluster run) and waits for all of them.
async fn run_all(commands: Vec<Command>) -> Vec<(i32, String)> {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ended = Vec::new();
    for child in children {
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        ended.push((output.status.code().unwrap_or(-1), text));
    }
    ended
}

fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run_json(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap()
}

/// How many measured requests of each prompt the folders' records hold.
fn prompts_sent(dirs: &[&Path]) -> BTreeMap<u64, u64> {
    let mut sent = BTreeMap::new();
    for dir in dirs {
        for record in json_lines(&dir.join("requests.jsonl")) {
            if record["warmup"] == Value::Bool(false) {
                *sent.entry(record["prompt"].as_u64().unwrap()).or_default() += 1;
            }
        }
    }
    sent
}

/// The prompts one process sends for `requests` requests: ordinal i sends prompt i mod 7.
fn whole_race(requests: u64) -> BTreeMap<u64, u64> {
    let mut sent = BTreeMap::new();
    for i in 0..requests {
        *sent.entry(i % PROMPTS as u64).or_default() += 1;
    }
    sent
}

/// An instant a few seconds ahead, as a cluster's job would give every shard.
fn soon() -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_started_together_send_the_races_requests_once_each() {
    let server = mock().await;
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = (0..3)
        .map(|k| tmp.path().join(format!("shard-{k}")))
        .collect();
    let at = soon();
    let commands = (0..3)
        .map(|k| {
            let shard = format!("{k}/3");
            let flags = ["-n", "20", "-c", "4", "--shard", &shard, "--start-at", &at];
            race_command(&server, &dirs[k], &flags)
        })
        .collect();
    for (code, text) in run_all(commands).await {
        assert_eq!(code, 0, "{text}");
    }
    let dirs: Vec<&Path> = dirs.iter().map(std::path::PathBuf::as_path).collect();
    // 20 requests in all (7 + 7 + 6), each of the race's prompts as often as one process
    // sends it.
    assert_eq!(prompts_sent(&dirs), whole_race(20));
    let per_shard: Vec<usize> = dirs
        .iter()
        .map(|d| json_lines(&d.join("requests.jsonl")).len())
        .collect();
    assert_eq!(per_shard, [7, 7, 6]);
    // The mock received each prompt's text as often: no request was lost or sent twice.
    let bodies = server.received_bodies();
    for prompt in 0..PROMPTS {
        let text = format!("prompt number {prompt}");
        let received = bodies
            .iter()
            .filter(|b| String::from_utf8_lossy(b).contains(&text))
            .count() as u64;
        assert_eq!(received, whole_race(20)[&(prompt as u64)], "{text}");
    }
    for (k, dir) in dirs.iter().enumerate() {
        let run = run_json(dir);
        let shard = &run["shard"];
        assert_eq!(shard["index"], k);
        assert_eq!(shard["count"], 3);
        assert!(shard["host"].as_str().is_some_and(|h| !h.is_empty()));
        // The same instant in every shard, and a skew recorded against it (sign-agnostic: the
        // clock is this machine's, and only its presence and sanity are checked here).
        let start_at =
            chrono::DateTime::parse_from_rfc3339(shard["start_at"].as_str().unwrap()).unwrap();
        let given = chrono::DateTime::parse_from_rfc3339(&at).unwrap();
        assert_eq!(start_at, given);
        let skew = shard["start_skew_ms"].as_f64().unwrap();
        assert!(skew.abs() < 5000.0, "skew {skew} ms");
        // The race is the same in every shard but for the shard itself.
        assert_eq!(run["race"]["shard"]["index"], k);
        assert_eq!(run["race"]["load"]["requests"], 20);
    }
    // One cold-cache salt for the race, in every shard: the bodies one process would send.
    let salts: Vec<String> = dirs
        .iter()
        .map(|d| {
            run_json(d)["endpoints"][0]["salt"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(salts.iter().all(|s| *s == salts[0]), "{salts:?}");
    let salted = bodies
        .iter()
        .filter(|b| String::from_utf8_lossy(b).contains(&format!("{} prompt number", salts[0])))
        .count();
    assert_eq!(salted, 20, "every measured body carries the race's salt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instant_gives_shards_a_new_salt_and_one_process_draws_its_own() {
    let server = mock().await;
    let tmp = tempfile::tempdir().unwrap();
    let salt = |dir: &Path| {
        run_json(dir)["endpoints"][0]["salt"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let at = soon();
    let later = (chrono::Utc::now() + chrono::Duration::seconds(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut commands = Vec::new();
    for (name, flags) in [
        ("a0", vec!["--shard", "0/2", "--start-at", &at]),
        ("a1", vec!["--shard", "1/2", "--start-at", &at]),
        ("b0", vec!["--shard", "0/2", "--start-at", &later]),
        ("one", vec![]),
        ("two", vec![]),
    ] {
        let mut all = vec!["-n", "2", "-c", "2"];
        all.extend(flags);
        commands.push(race_command(&server, &tmp.path().join(name), &all));
    }
    for (code, text) in run_all(commands).await {
        assert_eq!(code, 0, "{text}");
    }
    let [a0, a1, b0, one, two] =
        ["a0", "a1", "b0", "one", "two"].map(|name| salt(&tmp.path().join(name)));
    assert_eq!(a0, a1, "one race's shards share the salt");
    assert_ne!(a0, b0, "another instant is another race");
    assert_ne!(one, two, "a race in one process draws a fresh salt");
    assert_ne!(one, a0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_at_a_rate_measure_their_skew_against_their_own_first_send() {
    let server = mock().await;
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = (0..4)
        .map(|k| tmp.path().join(format!("shard-{k}")))
        .collect();
    let at = soon();
    let commands = (0..4)
        .map(|k| {
            let shard = format!("{k}/4");
            // 2/s over 4 shards: shard K's first request is due K × 500 ms after the instant.
            let flags = [
                "-n",
                "8",
                "--rate",
                "2/s",
                "--shard",
                &shard,
                "--start-at",
                &at,
            ];
            race_command(&server, &dirs[k], &flags)
        })
        .collect();
    for (code, text) in run_all(commands).await {
        assert_eq!(code, 0, "{text}");
        assert!(
            text.contains("of 8 requests per endpoint, 1/4 of the rate"),
            "{text}"
        );
    }
    for (k, dir) in dirs.iter().enumerate() {
        let skew = run_json(dir)["shard"]["start_skew_ms"].as_f64().unwrap();
        // Against the instant it would be K × 500 ms and more: shard 3's 1 500.
        assert!(skew.abs() < 400.0, "shard {k}: skew {skew} ms");
    }
    let merged = tmp.path().join("merged");
    let output = Command::new(BIN)
        .arg("merge")
        .args(&dirs)
        .arg("-o")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let notices = run_json(&merged)["notices"].to_string();
    assert!(!notices.contains("apart"), "{notices}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_and_session_shards_split_the_race_too() {
    let server = mock().await;
    let tmp = tempfile::tempdir().unwrap();
    // Poisson arrivals at 40/s over two shards: 30 requests in all, as one process sends.
    let open: Vec<_> = (0..2)
        .map(|k| tmp.path().join(format!("open-{k}")))
        .collect();
    let commands = (0..2)
        .map(|k| {
            let shard = format!("{k}/2");
            let flags = ["-n", "30", "--rate", "40/s", "--poisson", "--shard", &shard];
            race_command(&server, &open[k], &flags)
        })
        .collect();
    for (code, text) in run_all(commands).await {
        assert_eq!(code, 0, "{text}");
    }
    let open: Vec<&Path> = open.iter().map(std::path::PathBuf::as_path).collect();
    assert_eq!(prompts_sent(&open), whole_race(30));

    // Sessions of 2 turns, 7 of them in 14 requests, over three shards (3 + 2 + 2): each
    // session whole on one shard, its number the race's.
    let sessions: Vec<_> = (0..3)
        .map(|k| tmp.path().join(format!("sessions-{k}")))
        .collect();
    let commands = (0..3)
        .map(|k| {
            let shard = format!("{k}/3");
            let flags = ["-n", "14", "-c", "3", "--turns", "2", "--shard", &shard];
            race_command(&server, &sessions[k], &flags)
        })
        .collect();
    for (code, text) in run_all(commands).await {
        assert_eq!(code, 0, "{text}");
    }
    let mut turns: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (k, dir) in sessions.iter().enumerate() {
        for record in json_lines(&dir.join("requests.jsonl")) {
            let session = record["session"].as_u64().unwrap();
            assert_eq!(session % 3, k as u64, "session {session} on shard {k}");
            turns
                .entry(session)
                .or_default()
                .push(record["turn"].as_u64().unwrap());
        }
    }
    assert_eq!(turns.len(), 7, "{turns:?}");
    for (session, mut its) in turns {
        its.sort_unstable();
        assert_eq!(its, [1, 2], "session {session}");
    }
}

#[test]
fn what_cannot_be_split_is_refused_with_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let race = |flags: &[&str]| {
        let mut command = Command::new(BIN);
        command
            .args([
                "race",
                "-e",
                "m=openai:mock://instant#m",
                "--headless",
                "-o",
            ])
            .arg(tmp.path().join("never"))
            .args(flags);
        run_to_end(&mut command)
    };
    let (code, text) = race(&["--laps", "-n", "4", "--shard", "0/2"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("laps cannot be split"), "{text}");
    let (code, text) = race(&["-c", "2", "-n", "10", "--shard", "2/3"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("no worker") && text.contains("raise -c"),
        "{text}"
    );
    let (code, text) = race(&["-c", "4", "-n", "2", "--shard", "3/4"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("would send nothing"), "{text}");
    let (code, text) = race(&["--shard", "4/4"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("0 to 3"), "{text}");
    let (code, text) = race(&["--start-at", "20:00"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("RFC 3339"), "{text}");
    assert!(!tmp.path().join("never").exists());
}

#[test]
fn a_signal_while_waiting_for_the_start_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("waiting");
    let mut race = Running::start(&[
        "race",
        "-e",
        "m=openai:mock://instant#m",
        "-n",
        "4",
        "--headless",
        "--start-at",
        "+60s",
        "-o",
        out.to_str().unwrap(),
    ]);
    race.wait_for_line("the wait for the start", |l| l.starts_with("Waiting until"));
    race.signal("INT");
    let ended = race.end();
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("nothing was sent"),
        "{}",
        ended.stderr
    );
    assert!(!out.exists());
}

#[tokio::test]
async fn trace_shards_replay_the_rows_they_own_at_their_times() {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/mooncake.jsonl");
    let tmp = tempfile::tempdir().unwrap();
    // The trace's rows at 4× speed: 0, 62.5, 62.5 and 250 ms, with 12, 8, 5 and 16 tokens out.
    let mut owned = Vec::new();
    for index in 0..2 {
        let mut config = race_config(&["a=openai:mock://instant,tokens=64#m"], 1, 1);
        config.load.requests = None;
        config.workload.max_tokens = None;
        config.workload.prompts = llmrace::config::PromptSource::Trace(trace.clone());
        config.load.trace_speed = Some(4.0);
        config.shard = Some(llmrace::config::Shard { index, count: 2 });
        let dir = tmp.path().join(format!("trace-{index}"));
        run(config, &dir).await;
        let mut rows: Vec<(u32, f64, u32)> = records(&dir)
            .iter()
            .map(|r| {
                // The moment it was scheduled for, from the race's zero: arithmetic on
                // recorded values, not the wall clock.
                let scheduled = r.sent_at_s * 1000.0 - r.send_lag_ms.unwrap();
                (r.prompt.0, scheduled, r.output_tokens.unwrap())
            })
            .collect();
        rows.sort_by_key(|row| row.0);
        owned.push(rows);
    }
    let prompts = |rows: &[(u32, f64, u32)]| rows.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>();
    assert_eq!(prompts(&owned[0]), [(0, 12), (2, 5)]);
    assert_eq!(prompts(&owned[1]), [(1, 8), (3, 16)]);
    // Each row at its own time in the trace: shard 1 waits for its first row's time.
    assert!(
        (owned[0][1].1 - owned[0][0].1 - 62.5).abs() < 0.01,
        "{owned:?}"
    );
    assert!(
        (owned[1][1].1 - owned[1][0].1 - 187.5).abs() < 0.01,
        "{owned:?}"
    );
    assert!(owned[1][0].1 >= 62.5, "{owned:?}");
}
