//! Multi-turn sessions through the real engine against the mock over 127.0.0.1: each turn
//! carries the real answers so far (read from the request bodies the mock received, its
//! test-only log), on the session's own connection; `-c` counts sessions; think time parts the
//! turns; datasets' conversations give their next human turns, and too short ones are refused
//! with their file and line.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::race::{race_config, records, run};
use crate::common::running::run_to_end;
use llmrace::config::{PromptSource, RaceConfig, ThinkDistribution, ThinkTime};
use llmrace::event::EventKind;
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;
use llmrace::record::Replay;
use llmrace::stats::{Outcome, RequestRecord};
use llmrace::workload;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/workload")
}

async fn mock() -> MockServer {
    let profile = Profile::parse("instant,tokens=8").unwrap();
    MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .unwrap()
}

fn sessions_race(server: &MockServer, requests: u64, concurrency: u32, turns: u32) -> RaceConfig {
    let spec = format!("m=openai:{}#m", server.base_url(Protocol::OpenAiChat));
    let mut config = race_config(&[&spec], requests, concurrency);
    config.workload.prompts = PromptSource::Inline(vec!["Say hello.".into(), "Count.".into()]);
    config.workload.turns = turns;
    // Prompts as written, so the bodies can be compared with them; a cold race's salt is
    // checked on its own below.
    config.workload.cache = llmrace::config::CacheMode::Reuse;
    // The mock's connections are counted: no `/metrics` scrape among them.
    config.endpoints[0].server_metrics = llmrace::config::ServerMetricsSource::Off;
    config
}

/// The messages of each request body the mock received, in order.
fn received_messages(server: &MockServer) -> Vec<Vec<(String, String)>> {
    server
        .received_bodies()
        .iter()
        .map(|body| {
            let json: Value = serde_json::from_slice(body).unwrap();
            json["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    let text = |k: &str| m[k].as_str().unwrap().to_string();
                    (text("role"), text("content"))
                })
                .collect()
        })
        .collect()
}

/// Each request's answer (its non-reasoning content) as the replay recorded it.
fn answers(dir: &Path) -> std::collections::BTreeMap<u64, String> {
    let mut answers = std::collections::BTreeMap::new();
    for event in Replay::open(dir).unwrap().events {
        if let EventKind::Content {
            text,
            reasoning: false,
            ..
        } = &event.kind
        {
            answers
                .entry(event.request.0)
                .or_insert_with(String::new)
                .push_str(text);
        }
    }
    answers
}

fn by_session(records: &[RequestRecord]) -> std::collections::BTreeMap<u64, Vec<&RequestRecord>> {
    let mut sessions = std::collections::BTreeMap::<u64, Vec<&RequestRecord>>::new();
    for record in records {
        sessions
            .entry(record.session.expect("every request names its session"))
            .or_default()
            .push(record);
    }
    for turns in sessions.values_mut() {
        turns.sort_by_key(|r| r.turn);
    }
    sessions
}

#[tokio::test]
async fn each_turn_carries_the_real_answers_so_far_on_the_same_connection() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(sessions_race(&server, 6, 1, 3), dir.path()).await;
    assert_eq!(outcome.summary.endpoints[0].counts.succeeded, 6);
    // TTFT by turn: each of the three turns, twice.
    let by_turn = &outcome.summary.endpoints[0].latency.ttft_by_turn;
    let told: Vec<_> = by_turn.iter().map(|t| (t.turn, t.count)).collect();
    assert_eq!(told, [(1, 2), (2, 2), (3, 2)]);
    let records = records(dir.path());
    let sessions = by_session(&records);
    assert_eq!(sessions.len(), 2, "-n 6 counts requests: two sessions of 3");
    for turns in sessions.values() {
        let numbers: Vec<_> = turns.iter().map(|r| r.turn).collect();
        assert_eq!(numbers, [Some(1), Some(2), Some(3)]);
        assert!(turns.iter().all(|r| r.outcome == Outcome::Succeeded));
        // A session keeps its connection: no later turn opens one.
        assert!(turns[1..].iter().all(|r| !r.new_connection), "{turns:?}");
    }
    // One worker, so the bodies arrived session by session, turn by turn.
    let bodies = received_messages(&server);
    assert_eq!(bodies.len(), 6);
    let answers = answers(dir.path());
    let first = &sessions[&0];
    let answer_1 = &answers[&first[0].request.0];
    let answer_2 = &answers[&first[1].request.0];
    assert!(!answer_1.is_empty());
    assert_eq!(bodies[0], [("user".into(), "Say hello.".into())]);
    assert_eq!(bodies[1].len(), 3);
    assert_eq!(
        bodies[1][..2],
        [
            ("user".into(), "Say hello.".into()),
            ("assistant".into(), answer_1.clone())
        ]
    );
    assert_eq!(bodies[1][2].0, "user");
    assert_eq!(bodies[2][..3], bodies[1][..]);
    assert_eq!(bodies[2][3], ("assistant".into(), answer_2.clone()));
    assert_ne!(
        bodies[1][2], bodies[2][4],
        "each turn asks its own follow-up"
    );

    // The mock answers a body alike every time: the same race again sends the same turns.
    let again = mock().await;
    let dir_again = tempfile::tempdir().unwrap();
    run(sessions_race(&again, 6, 1, 3), dir_again.path()).await;
    assert_eq!(received_messages(&again), bodies);

    // A replay of the race folds to the same numbers and records.
    let replay = Replay::open(dir.path()).unwrap();
    let rebuilt = dir.path().join("rebuilt");
    llmrace::report(&replay, &rebuilt).unwrap();
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(
        read(dir.path(), "summary.json"),
        read(&rebuilt, "summary.json")
    );
    assert_eq!(
        read(dir.path(), "requests.jsonl"),
        read(&rebuilt, "requests.jsonl")
    );
    assert!(read(dir.path(), "summary.json").contains("\"ttft_by_turn\""));
    // The reports break TTFT down by turn.
    let (code, text) = run_to_end(
        Command::new(env!("CARGO_BIN_EXE_llmrace"))
            .args(["report", "--format", "md"])
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("## TTFT by turn") && text.contains("m · turn 3"),
        "{text}"
    );
    for (format, heading) in [("text", "TTFT by turn:"), ("html", "<h2>TTFT by turn</h2>")] {
        let (code, text) = run_to_end(
            Command::new(env!("CARGO_BIN_EXE_llmrace"))
                .args(["report", "--format", format])
                .arg(dir.path()),
        );
        assert_eq!(code, 0, "{text}");
        assert!(text.contains(heading), "{format}: {text}");
    }
}

#[tokio::test]
async fn concurrency_counts_sessions_each_on_its_own_connection() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    run(sessions_race(&server, 12, 2, 3), dir.path()).await;
    let records = records(dir.path());
    let sessions = by_session(&records);
    assert_eq!(sessions.len(), 4);
    assert_eq!(
        server.stats().connections_accepted,
        2,
        "one per session slot"
    );
    // Each session's turns follow one another, and at most two sessions run at any time.
    let spans: Vec<(f64, f64)> = sessions
        .values()
        .map(|turns| {
            for pair in turns.windows(2) {
                let end = pair[0].sent_at_s + pair[0].ttlt_ms.unwrap() / 1000.0;
                assert!(pair[1].sent_at_s >= end, "{pair:?}");
            }
            let last = turns.last().unwrap();
            (
                turns[0].sent_at_s,
                last.sent_at_s + last.ttlt_ms.unwrap() / 1000.0,
            )
        })
        .collect();
    for (start, _) in &spans {
        let running = spans
            .iter()
            .filter(|(s, e)| s <= start && start < e)
            .count();
        assert!(running <= 2, "{spans:?}");
    }
}

/// Each session's turn count, in session order.
fn session_lengths(records: &[RequestRecord]) -> Vec<usize> {
    by_session(records).values().map(Vec::len).collect()
}

#[tokio::test]
async fn the_request_limit_runs_whole_sessions_only_at_any_concurrency_or_rate() {
    // -c 3 -n 20 --turns 4: five whole sessions, none cut by the limit.
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(sessions_race(&server, 20, 3, 4), dir.path()).await;
    assert_eq!(session_lengths(&records(dir.path())), [4; 5]);
    let by_turn = &outcome.summary.endpoints[0].latency.ttft_by_turn;
    assert!(by_turn.iter().all(|t| t.count == 5), "{by_turn:?}");

    // --rate -n 12 --turns 3: four whole sessions.
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = sessions_race(&server, 12, 1, 3);
    config.load.rate = Some("50/s".parse().unwrap());
    run(config, dir.path()).await;
    assert_eq!(session_lengths(&records(dir.path())), [3; 4]);

    // -n 22 --turns 4: five sessions (20 requests); the two left over are not sent.
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    run(sessions_race(&server, 22, 2, 4), dir.path()).await;
    assert_eq!(session_lengths(&records(dir.path())), [4; 5]);
}

#[tokio::test]
async fn an_answer_that_only_called_a_tool_is_resent_as_its_call_never_empty() {
    for (name, protocol) in [
        ("openai", Protocol::OpenAiChat),
        ("anthropic", Protocol::Anthropic),
    ] {
        let server = mock().await;
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("m={name}:{}#m", server.base_url(protocol));
        let mut config = race_config(&[&spec], 2, 1);
        // The tools workload's answers are tool calls only, with no text.
        config.workload.prompts = PromptSource::Builtin("tools".into());
        config.workload.turns = 2;
        let outcome = run(config, dir.path()).await;
        assert_eq!(outcome.summary.endpoints[0].counts.succeeded, 2);
        let bodies = server.received_bodies();
        let second: Value = serde_json::from_slice(&bodies[1]).unwrap();
        let assistant = second["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["role"] == "assistant")
            .expect("turn 2 resends the first answer");
        let content = match &assistant["content"] {
            Value::String(text) => text.clone(),
            blocks => blocks[0]["text"].as_str().unwrap().to_string(),
        };
        assert!(
            content.starts_with("[called ") && content.ends_with(")]"),
            "{name}: {content}"
        );
        assert!(content.contains("({"), "the call's arguments: {content}");
    }
}

#[tokio::test]
async fn think_time_parts_a_sessions_turns() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = sessions_race(&server, 4, 1, 2);
    config.workload.think_time = Some(ThinkTime {
        mean: Duration::from_millis(40),
        distribution: ThinkDistribution::Fixed,
    });
    run(config, dir.path()).await;
    let records = records(dir.path());
    for turns in by_session(&records).values() {
        let end = turns[0].sent_at_s + turns[0].ttlt_ms.unwrap() / 1000.0;
        // An ordering: the second turn leaves no sooner than the think time after the answer.
        assert!(turns[1].sent_at_s - end >= 0.040, "{turns:?}");
    }
}

#[tokio::test]
async fn an_open_loop_starts_sessions_at_its_rate() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = sessions_race(&server, 6, 1, 3);
    config.load.rate = Some("50/s".parse().unwrap());
    run(config, dir.path()).await;
    let records = records(dir.path());
    let sessions = by_session(&records);
    assert_eq!(records.len(), 6);
    for turns in sessions.values() {
        // The schedule is the first turn's: later turns have no lag of their own.
        assert!(turns[0].send_lag_ms.is_some());
        assert!(turns[1..].iter().all(|r| r.send_lag_ms.is_none()));
        assert!(turns[1..].iter().all(|r| !r.new_connection), "{turns:?}");
    }
}

#[tokio::test]
async fn a_cold_sessions_later_turns_carry_the_salt_of_its_first() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = sessions_race(&server, 3, 1, 3);
    config.workload.cache = llmrace::config::CacheMode::Cold;
    run(config, dir.path()).await;
    let bodies = received_messages(&server);
    assert_eq!(bodies.len(), 3);
    let (role, first) = &bodies[0][0];
    assert_eq!(role, "user");
    assert!(
        first.starts_with('[') && first.ends_with("] Say hello."),
        "{first}"
    );
    // The conversation so far is resent as the first turn sent it: salt included.
    assert!(bodies[1..].iter().all(|b| b[0].1 == *first), "{bodies:?}");
}

#[tokio::test]
async fn a_jsonl_conversation_sends_its_next_user_messages() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = sessions_race(&server, 3, 1, 3);
    config.workload.prompts = PromptSource::File(fixtures().join("conversations.jsonl"));
    run(config, dir.path()).await;
    let bodies = received_messages(&server);
    assert_eq!(bodies.len(), 3);
    assert_eq!(bodies[0][0], ("system".into(), "Be brief.".into()));
    assert_eq!(bodies[1].last().unwrap().1, "And UDP?");
    assert_eq!(bodies[2].last().unwrap().1, "Which one for video calls?");
}

#[test]
fn datasets_give_their_next_human_turns_and_short_ones_are_left_out() {
    let load = |file: &str, turns: u32| {
        let mut config = llmrace::config::demo_race().workload;
        config.prompts = PromptSource::File(fixtures().join(file));
        config.turns = turns;
        workload::load_workload(&config, Path::new("."))
    };
    let sharegpt = load("sessions.json", 3).unwrap();
    assert_eq!(sharegpt.prompts.len(), 1);
    assert_eq!(
        sharegpt.prompts[0].follow_ups,
        ["Who runs the root servers?", "How many are there?"]
    );
    assert!(
        sharegpt.notes[0].contains("1 conversation(s)"),
        "{:?}",
        sharegpt.notes
    );
    let jsonl = load("conversations.jsonl", 3).unwrap();
    assert_eq!(
        jsonl.prompts.len(),
        2,
        "the two-message conversation is left out"
    );
    assert_eq!(jsonl.prompts[1].follow_ups, ["Another?", "One more?"]);
    // Single requests keep every conversation's first message and no follow-ups.
    let single = load("conversations.jsonl", 1).unwrap();
    assert_eq!(single.prompts.len(), 3);
    assert!(single.prompts.iter().all(|p| p.follow_ups.is_empty()));

    let message = load("conversations.jsonl", 4).unwrap_err().to_string();
    assert!(message.contains("conversations.jsonl:1:"), "{message}");
    assert!(message.contains("the longest has 3"), "{message}");
    assert!(message.contains("lower --turns"), "{message}");
    let message = load("sessions.json", 4).unwrap_err().to_string();
    assert!(message.contains("sessions.json:7:"), "{message}");
}

fn llmrace_race(args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_llmrace"));
    command
        .args(["race", "--headless", "--out"])
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null());
    run_to_end(&mut command)
}

#[test]
fn too_many_turns_for_a_dataset_and_laps_with_turns_are_setup_errors() {
    let file = fixtures().join("conversations.jsonl");
    let (code, text) = llmrace_race(&[
        "-e",
        "m=openai:mock://instant#m",
        "--prompts",
        file.to_str().unwrap(),
        "--turns",
        "5",
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("conversations.jsonl:1:"), "{text}");
    let (code, text) = llmrace_race(&["-e", "m=openai:mock://instant#m", "--laps", "--turns", "2"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("laps and sessions"), "{text}");
}

#[test]
fn a_think_time_without_turns_and_a_limit_below_one_session_are_setup_errors() {
    let (code, text) = llmrace_race(&["-e", "m=openai:mock://instant#m", "--think-time", "2s"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--think-time"), "{text}");
    assert!(text.contains("add --turns N"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("race.toml");
    std::fs::write(
        &file,
        "[workload]\nthink_time = \"2s\"\n\n[[endpoint]]\nname = \"m\"\nprotocol = \"openai\"\n\
         base_url = \"mock://instant\"\nmodel = \"m\"\n",
    )
    .unwrap();
    let (code, text) = llmrace_race(&[file.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("race.toml: think_time:"), "{text}");
    // A flag may still give the file's think time its turns.
    let (code, text) = llmrace_race(&[file.to_str().unwrap(), "--turns", "2", "-n", "2"]);
    assert_eq!(code, 0, "{text}");

    let (code, text) =
        llmrace_race(&["-e", "m=openai:mock://instant#m", "-n", "3", "--turns", "4"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("one session of 4 turns"), "{text}");
}

/// The `TTFT by turn` lines of a command's output.
fn turn_lines(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| *l != "TTFT by turn:")
        .take_while(|l| *l == "TTFT by turn:" || l.contains(" · turn "))
        .collect()
}

#[tokio::test]
async fn a_headless_replay_prints_ttft_by_turn_as_the_report_does_failed_turns_included() {
    let profile = Profile::parse("instant,tokens=8,fault=http_500:0.5").unwrap();
    let server = MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    run(sessions_race(&server, 12, 1, 2), dir.path()).await;
    let llmrace = |before: &[&str], after: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_llmrace"));
        command.args(before).arg(dir.path()).args(after);
        let (code, text) = run_to_end(command.stdin(Stdio::null()));
        assert_eq!(code, 0, "{text}");
        text
    };
    let replayed = llmrace(&["replay"], &["--headless"]);
    let reported = llmrace(&["report"], &["-f", "text"]);
    let lines = turn_lines(&replayed);
    assert_eq!(lines, turn_lines(&reported), "{replayed}\n{reported}");
    assert_eq!(lines.len(), 3, "{replayed}");
    // Half the requests fail: every turn that had any is told, with ok of ended.
    assert!(lines[1].contains("m · turn 1: 6 requests, "), "{replayed}");
    assert!(!replayed.contains("1 requests"), "{replayed}");
}

#[tokio::test]
async fn a_retried_turn_is_still_that_turn_and_a_failed_one_ends_its_session() {
    let profile = Profile::parse("instant,tokens=8,fault=http_503:0.3").unwrap();
    let server = MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = sessions_race(&server, 30, 1, 3);
    config.load.retries = 1;
    run(config, dir.path()).await;
    let records = records(dir.path());
    let by_id: std::collections::HashMap<_, _> = records.iter().map(|r| (r.request, r)).collect();
    let retries: Vec<_> = records.iter().filter(|r| r.retry_of.is_some()).collect();
    assert!(!retries.is_empty(), "the fault rate gives some retries");
    for retry in retries {
        let first = by_id[&retry.retry_of.unwrap()];
        assert_eq!((retry.session, retry.turn), (first.session, first.turn));
    }
    for turns in by_session(&records).values() {
        // Within a session, turn k + 1 was sent only after turn k succeeded.
        let mut succeeded = 0;
        for record in turns {
            let turn = record.turn.unwrap();
            assert!(turn <= succeeded + 1, "{turns:?}");
            if record.outcome == Outcome::Succeeded {
                succeeded = turn;
            }
        }
    }
}

#[test]
fn race_file_keys_resolve_and_round_trip_through_run_json() {
    let text = "[workload]\nturns = 4\nthink_time = { mean = \"2s\", distribution = \
                \"exponential\" }\n[[endpoint]]\nname = \"a\"\nprotocol = \"openai\"\n\
                base_url = \"mock://turbo\"\n";
    let race =
        llmrace::config::from_toml_str(text, std::path::Path::new("r.toml")).expect("a valid race");
    assert_eq!(race.workload.turns, 4);
    let think = race.workload.think_time.expect("a think time");
    assert_eq!(think.mean, std::time::Duration::from_secs(2));
    assert_eq!(think.distribution, ThinkDistribution::Exponential);
    let json = serde_json::to_value(&race.workload).expect("serializes");
    assert_eq!(json["think_time"]["distribution"], "exponential");
    let back: llmrace::config::WorkloadConfig = serde_json::from_value(json).expect("reads");
    assert_eq!(back, race.workload);
    // Single requests record as before: neither key.
    let single = serde_json::to_value(llmrace::config::demo_race().workload).expect("json");
    assert!(single.get("turns").is_none() && single.get("think_time").is_none());
}
