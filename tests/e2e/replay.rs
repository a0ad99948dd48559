//! Replays: every race records its event stream; folding it back gives exactly the live
//! race's numbers and records. Damaged, foreign and future files are handled with a clear
//! message, and a replay never holds an API key.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use crate::common::race::{race_config, run};
use llmrace::record::{REPLAY_FILE, Replay, ReplayError};

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The replay's events as JSON lines (format 2), to be damaged line by line.
fn decompressed(path: &Path) -> String {
    crate::common::replay_lines::json_lines(path)
}

async fn recorded_race(dir: &Path) {
    let mut config = race_config(
        &[
            "turbo=openai:mock://instant,tokens=24,itl=1ms#m",
            "thinker=anthropic:mock://instant,tokens=16,reasoning=6,ttft=5ms#m",
            "flaky=ollama:mock://instant,tokens=20,fault=reset_mid_stream:0.3,fault=http_503:0.2#m",
        ],
        12,
        3,
    );
    // Short prompts keep the header small, so cutting the file lands among the events.
    config.workload.prompts =
        llmrace::config::PromptSource::Inline(vec!["Say hello.".into(), "Count to ten.".into()]);
    run(config, dir).await;
}

#[tokio::test]
async fn a_replay_gives_exactly_the_live_numbers_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    recorded_race(&live).await;
    let replay = Replay::open(&live).unwrap();
    assert!(replay.damage.is_none(), "{:?}", replay.damage);
    assert!(replay.end.is_some());
    let again = dir.path().join("again");
    llmrace::report(&replay, &again).unwrap();

    assert_eq!(
        json(&live.join("summary.json")),
        json(&again.join("summary.json"))
    );
    let records = |d: &Path| std::fs::read_to_string(d.join("requests.jsonl")).unwrap();
    assert_eq!(records(&live), records(&again));
    assert_eq!(
        std::fs::read_to_string(live.join("requests.csv")).unwrap(),
        std::fs::read_to_string(again.join("requests.csv")).unwrap()
    );
    // The replay carries what the inspector needs: the prompts and the endpoints.
    assert_eq!(replay.header.endpoints.len(), 3);
    assert!(!replay.header.prompts.is_empty());
}

#[tokio::test]
async fn a_cut_or_corrupt_replay_plays_up_to_its_last_whole_event() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    recorded_race(&live).await;
    let whole = std::fs::read(live.join(REPLAY_FILE)).unwrap();
    let complete = Replay::open(&live).unwrap();

    let cut = dir.path().join("cut.jsonl.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let replay = Replay::open(&cut).unwrap();
    let damage = replay.damage.as_deref().unwrap();
    // Told as a cut file, not as events lost inside it: where the cut falls in the compressed
    // stream decides whether the inflater stops between records or inside one.
    assert!(
        (damage.starts_with("the file is cut or damaged after record ")
            || damage.starts_with("the file ends in the middle of record "))
            && !damage.contains("missing"),
        "{damage}"
    );
    assert!(replay.end.is_none());
    assert!(!replay.events.is_empty() && replay.events.len() < complete.events.len());
    assert_eq!(replay.events[..], complete.events[..replay.events.len()]);
    let first_half = replay.events.len();
    llmrace::report(&replay, &dir.path().join("cut-report")).unwrap();

    let mut corrupt = whole.clone();
    // Past the header (which a damaged file cannot do without), among the events.
    let middle = corrupt.len() * 3 / 4;
    for b in &mut corrupt[middle..middle + 64] {
        *b ^= 0x5a;
    }
    let damaged = dir.path().join("corrupt.jsonl.gz");
    std::fs::write(&damaged, &corrupt).unwrap();
    let replay = Replay::open(&damaged).unwrap();
    assert!(replay.damage.is_some());
    assert!(replay.events.len() < complete.events.len());
    // gzip checks its CRC only at the end of the file, so bytes garbled in place can inflate
    // to different lines that still parse before the damage shows: what is promised is every
    // event decoded from the bytes before the damage, here at least those of the first half.
    assert!(replay.events.len() >= first_half);
    assert_eq!(replay.events[..first_half], complete.events[..first_half]);
}

fn gzip(path: &Path, text: &str) {
    let mut out = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    out.write_all(text.as_bytes()).unwrap();
    out.finish().unwrap();
}

#[test]
fn foreign_and_future_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    assert!(matches!(
        Replay::open(&text),
        Err(ReplayError::NotAReplay { .. })
    ));
    let other = dir.path().join("other.jsonl.gz");
    gzip(&other, "{\"some\":\"json\"}\n");
    let err = Replay::open(&other).unwrap_err();
    assert!(err.to_string().contains("not an llmrace replay"), "{err}");
    let future = dir.path().join("future.jsonl.gz");
    gzip(&future, "{\"llmrace_replay\":99}\n");
    let err = Replay::open(&future).unwrap_err();
    assert!(
        matches!(err, ReplayError::TooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade llmrace"), "{err}");
    assert!(matches!(
        Replay::open(&dir.path().join("missing.gz")),
        Err(ReplayError::Read { .. })
    ));

    // Through the real binary: exit 2 and the message, never a panic.
    for (file, says) in [
        (&text, "not an llmrace replay"),
        (&future, "upgrade llmrace"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_llmrace"))
            .args(["replay", file.to_str().unwrap(), "--headless"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(says) && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

#[test]
fn a_replay_never_holds_the_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("race.toml");
    std::fs::write(
        &file,
        "[[endpoint]]\nname = \"k\"\nprotocol = \"openai\"\nbase_url = \"mock://instant\"\nmodel = \"m\"\napi_key_env = \"LLMRACE_TEST_KEY\"\n[endpoint.headers]\nX-Token = \"Bearer ${LLMRACE_TEST_KEY}\"\n",
    )
    .unwrap();
    let key = "sk-replay-5b7c1d9e0f2a3b4c";
    let out = dir.path().join("r");
    let status = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .env("LLMRACE_TEST_KEY", key)
        .args([
            "race",
            file.to_str().unwrap(),
            "-n",
            "3",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let replay = decompressed(&out.join(REPLAY_FILE));
    assert!(
        replay.contains("LLMRACE_TEST_KEY"),
        "the variable's name is kept"
    );
    assert!(!replay.contains(key), "the replay holds the key");
}

#[test]
fn replay_headless_and_report_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let status = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args([
            "race",
            "-e",
            "a=openai:mock://instant#m",
            "-n",
            "4",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let played = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["replay", out.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert!(played.status.success());
    let table = String::from_utf8_lossy(&played.stdout);
    assert!(
        table.starts_with("endpoint") && table.contains("4/4"),
        "{table}"
    );

    let rebuilt = dir.path().join("rebuilt");
    let report = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args([
            "report",
            out.join(REPLAY_FILE).to_str().unwrap(),
            "--results",
            rebuilt.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(report.status.success(), "{stderr}");
    assert!(stderr.contains("rebuilt from the replay"), "{stderr}");
    assert_eq!(
        json(&out.join("summary.json")),
        json(&rebuilt.join("summary.json"))
    );
    // Rebuilding reads the replay once for the files and the report: the report is the one
    // given without rebuilding, from the replay or from the race's own files.
    let report_of = |source: &Path, results: Option<&Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_llmrace"));
        command.arg("report").arg(source);
        if let Some(results) = results {
            command.arg("--results").arg(results);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let alone = report_of(&out.join(REPLAY_FILE), None);
    assert!(alone.contains("4/4"), "{alone}");
    assert_eq!(String::from_utf8_lossy(&report.stdout), alone);
    // And it is the report of the race's own files.
    assert_eq!(alone, report_of(&out, None));
    let again = dir.path().join("again");
    assert_eq!(report_of(&out, Some(&again)), report_of(&out, None));
    assert_eq!(
        json(&out.join("summary.json")),
        json(&again.join("summary.json"))
    );

    // The race knows how far its pipeline fell behind, and its JSON report says so; a replay
    // cannot know, and its rebuilt run.json says nothing rather than 0.
    let live = json(&out.join("run.json"));
    assert!(live["event_backlog_max"].as_u64() >= Some(1), "{live}");
    assert!(
        live["event_backlog_age_max_ms"].as_f64().is_some(),
        "{live}"
    );
    let as_json = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["report", out.to_str().unwrap(), "-f", "json"])
        .output()
        .unwrap();
    assert!(as_json.status.success(), "{as_json:?}");
    let document: serde_json::Value = serde_json::from_slice(&as_json.stdout).unwrap();
    assert_eq!(
        document["run"]["event_backlog_max"],
        live["event_backlog_max"]
    );
    let rebuilt_run = json(&rebuilt.join("run.json"));
    assert!(
        rebuilt_run.get("event_backlog_max").is_none(),
        "{rebuilt_run}"
    );
    assert!(rebuilt_run.get("event_backlog_age_max_ms").is_none());
}

/// The number of the event on line index `line`, events starting at line index `first_event`.
fn event_number(first_event: usize, line: usize) -> usize {
    line - first_event + 1
}

/// Writes `lines` (a replay's, its events from line index `first_event`) to `file` with the
/// first `sent` event repeated after itself, the fifth line after it lost and the fifth after
/// that garbled. Returns what every output must say of them: the repeat, the loss, the
/// garbled line.
fn damage(lines: &[&str], first_event: usize, file: &Path) -> [String; 3] {
    let sent_line = (first_event..lines.len())
        .find(|&i| lines[i].contains("\"kind\":\"sent\""))
        .unwrap();
    let lost_line = sent_line + 5;
    let mut damaged: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    damaged[lost_line + 5] = "{\"garbled\n".to_string();
    damaged.remove(lost_line);
    damaged.insert(sent_line + 1, lines[sent_line].to_string());
    gzip(file, &damaged.concat());
    let number = |i: usize| event_number(first_event, i);
    // Line numbers count from 1; the repeat sits right after the line it repeats.
    let repeated = format!(
        "event {} is repeated at line {} and left out",
        number(sent_line),
        sent_line + 2
    );
    let missing = format!(
        "event {} is missing before line {}",
        number(lost_line),
        lost_line + 2
    );
    // A garbled line is told once, with the event it held.
    let garbled = format!(
        "line {} is unreadable: event {} is lost with it",
        lost_line + 6,
        number(lost_line + 5),
    );
    [repeated, missing, garbled]
}

/// A replay with event lines repeated, lost or garbled: the repeats are left out so that the
/// counts stay right, and every output says exactly which events are missing or repeated.
#[test]
fn lines_repeated_or_lost_in_a_replay_are_named_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let status = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["race", "-q", "-e", "a=openai:mock://instant#m", "-n", "40"])
        .args(["-c", "1", "-o", out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let text = decompressed(&out.join(REPLAY_FILE));
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let first_event = lines
        .iter()
        .position(|l| l.starts_with("{\"n\":1,"))
        .unwrap();
    let number = |i: usize| event_number(first_event, i);
    let file = dir.path().join("damaged.jsonl.gz");
    let [repeated, missing, garbled] = damage(&lines, first_event, &file);

    let played = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["replay", file.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&played.stderr);
    assert!(played.status.success(), "{stderr}");
    for told in [&repeated, &missing, &garbled] {
        assert!(stderr.contains(told.as_str()), "{told} not in: {stderr}");
    }
    assert!(
        stderr.contains("2 events missing, 1 event repeated"),
        "{stderr}"
    );
    // The repeated `sent` is not counted twice.
    let table = String::from_utf8_lossy(&played.stdout);
    assert!(table.contains("/40"), "{table}");

    for format in ["text", "md", "json", "html"] {
        let report = Command::new(env!("CARGO_BIN_EXE_llmrace"))
            .args(["report", file.to_str().unwrap(), "-f", format, "--results"])
            .arg(dir.path().join(format!("rebuilt-{format}")))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&report.stdout);
        assert!(report.status.success(), "{format}: {report:?}");
        for told in [&repeated, &missing] {
            assert!(
                stdout.contains(told.as_str()),
                "{format}: {told} not in {stdout}"
            );
        }
        // Told in the report, once: not again on stderr.
        if format == "text" {
            assert_eq!(stdout.matches(repeated.as_str()).count(), 1, "{stdout}");
        }
        let stderr = String::from_utf8_lossy(&report.stderr);
        assert!(!stderr.contains(repeated.as_str()), "{format}: {stderr}");
    }
    // compare tells each run's damage too.
    let compared = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["compare", out.to_str().unwrap(), file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&compared.stderr);
    assert!(compared.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: the replay is damaged: ", file.display()))
            && stderr.contains(repeated.as_str()),
        "{stderr}"
    );
    let rebuilt = json(&dir.path().join("rebuilt-json/run.json"));
    let notices = rebuilt["notices"].to_string();
    assert!(notices.contains(&repeated), "{notices}");
    let summary = json(&dir.path().join("rebuilt-json/summary.json"));
    assert_eq!(summary["endpoints"][0]["counts"]["sent"], 40);

    // Lines lost at the end show against the count the end line keeps.
    let mut cut: Vec<&str> = lines.clone();
    let end = cut.pop().unwrap();
    cut.pop();
    cut.push(end);
    gzip(&file, &cut.concat());
    let replay = Replay::open(&file).unwrap();
    let damage = replay.damage.unwrap();
    assert_eq!(
        damage,
        format!(
            "1 event missing: event {} is missing before the end line, line {}",
            number(lines.len() - 2),
            lines.len() - 1
        )
    );
}

/// The sample shipped in `replays/` (recorded from the demo race) plays with this llmrace.
/// It is in format 1, prompts in the header and events unnumbered: still read whole.
#[test]
fn the_sample_replay_plays_headless() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("replays/demo.jsonl.gz");
    let replay = Replay::open(&sample).unwrap();
    assert!(replay.damage.is_none(), "{:?}", replay.damage);
    assert_eq!(replay.header.endpoints.len(), 4);
    assert_eq!(replay.header.prompts.len(), 20);
    let out = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["replay", sample.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    for name in ["turbo", "steady", "thinker", "flaky"] {
        assert!(table.contains(name), "{table}");
    }
}

/// A replay of format 2 (every event a numbered JSON line), recorded by llmrace before format
/// 3 with its summary: it still opens whole, folds to the numbers the live race had, and its
/// events come back from `replay --jsonl` as the very lines it holds.
#[test]
fn a_format_2_replay_still_plays_and_gives_its_lines_back() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replays/format2");
    let file = folder.join(REPLAY_FILE);
    let replay = Replay::open(&file).unwrap();
    assert_eq!(replay.header.llmrace_replay, 2);
    assert!(replay.damage.is_none(), "{:?}", replay.damage);
    assert!(replay.end.is_some());
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("again");
    let report = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["report", file.to_str().unwrap(), "--results"])
        .arg(&again)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let live = json(&folder.join("summary.json"));
    let rebuilt = json(&again.join("summary.json"));
    for (live, rebuilt) in live["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rebuilt["endpoints"].as_array().unwrap())
    {
        assert_eq!(live["counts"], rebuilt["counts"]);
        assert_eq!(live["tokens"], rebuilt["tokens"]);
        assert_eq!(live["latency"]["ttft"], rebuilt["latency"]["ttft"]);
    }
    let mut original = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&file).unwrap())
        .read_to_string(&mut original)
        .unwrap();
    let lines = crate::common::replay_lines::json_lines(&file);
    // After the header and its one prompt line: every event and the end, as written.
    let events = |text: &str| text.lines().skip(2).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(events(&lines), events(&original));
}

/// A race of this llmrace writes format 3: the header is still a JSON line, the events are
/// binary records, and `replay --jsonl` gzip'd is a format-2 replay that reads the same.
#[tokio::test]
async fn a_new_replay_is_format_3_and_its_json_lines_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    recorded_race(&live).await;
    let bytes = crate::common::replay_lines::decompressed(&live.join(REPLAY_FILE));
    let header_end = bytes.iter().position(|&b| b == b'\n').unwrap();
    let header: serde_json::Value = serde_json::from_slice(&bytes[..header_end]).unwrap();
    assert_eq!(header["llmrace_replay"], 3);
    let recorded = Replay::open(&live).unwrap();
    assert!(recorded.damage.is_none(), "{:?}", recorded.damage);
    let lines = crate::common::replay_lines::json_lines(&live);
    // The events smaller than as JSON lines (what follows the header and prompt lines; this
    // race's JSON-carried kinds, headers and usage, are a large part of it).
    let prompts = usize::try_from(header["prompt_lines"].as_u64().unwrap()).unwrap();
    let after_prompts = |text: &[u8]| {
        let mut newlines = text.iter().enumerate().filter(|(_, b)| **b == b'\n');
        text.len() - newlines.nth(prompts).unwrap().0
    };
    let (binary, json) = (after_prompts(&bytes), after_prompts(lines.as_bytes()));
    assert!(
        binary < json,
        "{binary} bytes of records against {json} of lines"
    );
    let file = dir.path().join("as-lines.jsonl.gz");
    gzip(&file, &lines);
    let read = Replay::open(&file).unwrap();
    assert_eq!(read.header.llmrace_replay, 2);
    assert_eq!(read.events, recorded.events);
    assert_eq!(read.end, recorded.end);
    assert!(read.damage.is_none(), "{:?}", read.damage);
}

#[test]
fn recent_races_are_listed_and_picked_by_number() {
    let data = tempfile::tempdir().unwrap();
    let llmrace = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmrace"));
        cmd.env("XDG_DATA_HOME", data.path())
            .env("HOME", data.path());
        cmd
    };
    let empty = llmrace().arg("replay").output().unwrap();
    assert!(empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stdout).contains("No races recorded yet"));
    for name in ["first", "second"] {
        let status = llmrace()
            .args([
                "race",
                "-e",
                "a=openai:mock://instant#m",
                "-n",
                "2",
                "-q",
                "--name",
                name,
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let list = llmrace().arg("replay").output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("  1  second ") && text.contains("  2  first "),
        "newest first:\n{text}"
    );
    assert!(text.contains("fastest first token: a"), "{text}");
    let played = llmrace()
        .args(["replay", "1", "--headless"])
        .output()
        .unwrap();
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    let missing = llmrace()
        .args(["replay", "9", "--headless"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no race number 9"));
}

#[tokio::test]
async fn an_over_long_line_is_damage_and_the_events_before_it_still_play() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    recorded_race(&live).await;
    let complete = Replay::open(&live).unwrap();
    let text = decompressed(&live.join(REPLAY_FILE));
    // The header, the prompts and the first ten events, then a line past the 16 MiB cap.
    let prompts = complete.header.prompts.len();
    let kept: String = text.split_inclusive('\n').take(11 + prompts).collect();
    let long = format!(
        "{kept}{}\n",
        "x".repeat(llmrace::record::replay::MAX_LINE_BYTES + 1)
    );
    let file = dir.path().join("long.jsonl.gz");
    gzip(&file, &long);
    let replay = Replay::open(&file).unwrap();
    assert_eq!(replay.events[..], complete.events[..10]);
    assert_eq!(
        replay.damage.as_deref(),
        Some(format!("line {} is longer than 16 MiB", 12 + prompts).as_str())
    );

    let out = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["report", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("line {} is longer than 16 MiB", 12 + prompts)),
        "{stdout}"
    );
}

/// `report DIR --results OUT` when DIR's files are whole but its replay is cut: the report
/// comes from DIR's files, OUT from the cut replay, and stderr says both and the damage.
#[test]
fn a_folder_report_rebuilding_from_a_cut_replay_tells_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let status = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args([
            "race",
            "-e",
            "a=openai:mock://instant,tokens=24#m",
            "-n",
            "12",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let replay = out.join(REPLAY_FILE);
    // The file as written (binary records), cut late in the race.
    let whole = crate::common::replay_lines::decompressed(&replay);
    let cut = whole.len() - whole.len() / 10;
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&replay).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&whole[..cut]).unwrap();
    gz.finish().unwrap();
    let rebuilt = dir.path().join("rebuilt");
    let report = Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["report", out.to_str().unwrap(), "--results"])
        .arg(&rebuilt)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(report.status.success(), "{stderr}");
    assert!(stderr.contains("the replay is damaged"), "{stderr}");
    assert!(
        stderr.contains("the report printed comes from the result files in")
            && stderr.contains("rebuilt from its damaged replay"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&report.stdout).contains("12/12"));
}
