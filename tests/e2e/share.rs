//! `llmrace share`: a race run by the binary against the built-in mock, shared as a page and
//! opened in headless Chromium at three points of the race (the DOM's text and the
//! screenshot's colours checked against the numbers the page carries, nothing fetched), and as
//! an asciinema recording played through a terminal emulator to the finish panel. Without
//! Chromium the browser test is skipped with a note, except in CI, where it fails.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::browser::{chromium, headless};

const HOSTILE_PROMPT: &str = "Explain </script><script>alert(1)</script> and <b>bold</b> & more.";

/// The endpoints' colours on the page, in endpoint order (the HTML report's palette).
const COLORS: [[u8; 3]; 3] = [[0x00, 0x72, 0xb2], [0xe6, 0x9f, 0x00], [0x00, 0x9e, 0x73]];

fn llmrace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_llmrace"))
}

/// A race of three mock endpoints, recorded in `dir/run`, with a hostile prompt.
fn race(dir: &Path) -> PathBuf {
    let prompts = dir.join("prompts.txt");
    std::fs::write(&prompts, format!("{HOSTILE_PROMPT}\nSay hello.\n")).unwrap();
    let run = dir.join("run");
    let out = llmrace()
        .args([
            "race",
            "--headless",
            "--quiet",
            "-e",
            "turbo=openai:mock://instant,tokens=30,itl=4ms#m",
            "-e",
            "steady=anthropic:mock://instant,tokens=30,itl=9ms,ttft=40ms#m",
            "-e",
            "flaky=ollama:mock://instant,tokens=30,itl=6ms,fault=http_503:0.2#m",
            "-n",
            "12",
            "-c",
            "2",
            "--prompts",
        ])
        .arg(&prompts)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run
}

fn share(run: &Path, out: &Path, extra: &[&str]) {
    let done = llmrace()
        .arg("share")
        .arg(run)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{err}");
    assert!(err.contains("Wrote "), "{err}");
}

/// The JSON the page plays, as embedded in it.
fn page_data(html: &str) -> serde_json::Value {
    let json = html
        .split("id=\"race-data\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    serde_json::from_str(json).unwrap()
}

/// The frame the page shows at race time `t`: the last at or before it.
fn frame_at(data: &serde_json::Value, t: f64) -> &serde_json::Value {
    let frames = data["frames"].as_array().unwrap();
    frames
        .iter()
        .rev()
        .find(|f| f["t"].as_f64().unwrap() <= t)
        .unwrap_or(&frames[0])
}

/// The text of each `td` of the lane rows in `dom` whose key is `key`, in endpoint order.
fn lane_cells(dom: &str, key: &str) -> Vec<String> {
    let marker = format!("data-k=\"{key}\">");
    dom.split(&marker)
        .skip(1)
        .map(|rest| rest.split("</td>").next().unwrap().to_string())
        .collect()
}

/// Pixels of `png` within 3 of `rgb` in every channel.
fn pixels_of(png: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|px| (0..3).all(|c| px[c].abs_diff(rgb[c]) <= 3))
        .count()
}

#[test]
fn the_share_page_plays_the_race_in_a_headless_browser_and_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = race(dir.path());
    let page = dir.path().join("race.html");
    share(&run, &page, &[]);
    let html = std::fs::read_to_string(&page).unwrap();
    // Nothing on the page points anywhere, and its policy forbids any load.
    for reference in ["src=", "href=", "url(", "@import", "http://", "https://"] {
        assert!(!html.contains(reference), "found {reference}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none';"));
    let data = page_data(&html);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    let keep = std::env::var_os("LLMRACE_KEEP_SHARE").map(PathBuf::from);
    if let Some(keep) = &keep {
        let _ = std::fs::copy(&page, keep.join("race.html"));
    }
    let Some(browser) = chromium() else {
        return;
    };
    let duration = data["duration"].as_f64().unwrap();
    for (n, fraction) in [0.2_f64, 0.6, 1.0].into_iter().enumerate() {
        let url = format!("file://{}#t={fraction}", page.display());
        let out = headless(&browser, &dir.path().join(format!("dom{n}")))
            .arg("--dump-dom")
            .arg(&url)
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&out.stdout);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "chromium failed: {log}");
        assert!(
            dom.contains("data-ready=\"1\""),
            "the script did not run:\n{log}"
        );
        assert!(!log.contains("Uncaught"), "a script error:\n{log}");
        let t = fraction * duration;
        assert!(dom.contains(&format!("data-t=\"{t:.3}\"")), "seeked to {t}");
        // The lanes show the numbers the page carries for that moment.
        let frame = frame_at(&data, t);
        let lanes = frame["lanes"].as_array().unwrap();
        let done: Vec<String> = lanes
            .iter()
            .map(|l| l["done"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(lane_cells(&dom, "done"), done, "at {fraction}");
        let ttft: Vec<String> = lanes
            .iter()
            .map(|l| l["ttft"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(lane_cells(&dom, "ttft"), ttft, "at {fraction}");
        // The hostile prompt is text, never markup: the page's own two scripts only.
        assert_eq!(dom.matches("<script").count(), 2);
        assert!(!dom.contains("<b>bold"));
        for external in ["src=", "href=", "http://", "https://"] {
            assert!(!dom.contains(external), "the DOM loads {external}");
        }
        let finale = dom.split("id=\"final\"").nth(1).unwrap();
        if fraction < 1.0 {
            assert!(
                finale.starts_with(" hidden"),
                "no final table before the end"
            );
        } else {
            // At the end: every endpoint's final count as summary.json has it.
            assert!(!finale.starts_with(" hidden"));
            for e in summary["endpoints"].as_array().unwrap() {
                let counts = &e["counts"];
                let row = format!(
                    "{}</bdi></td><td class=\"n\">{}/{}</td>",
                    e["name"].as_str().unwrap(),
                    counts["succeeded"],
                    counts["sent"]
                );
                assert!(finale.contains(&row), "{row} in the final table");
            }
            assert!(lanes.iter().all(|l| l["progress"] == 1.0));
        }

        let shot = dir.path().join(format!("shot{n}.png"));
        let out = headless(&browser, &dir.path().join(format!("shot{n}")))
            .arg(format!("--screenshot={}", shot.display()))
            .arg("--window-size=1280,1400")
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(keep) = &keep {
            let _ = std::fs::copy(&shot, keep.join(format!("share-{n}.png")));
        }
        // Each endpoint's colour is painted: its car, swatches and arena column.
        for (i, rgb) in COLORS.iter().enumerate() {
            let count = pixels_of(&shot, *rgb);
            assert!(
                count > 500,
                "endpoint {i}'s colour: {count} pixels at {fraction}"
            );
        }
    }
}

#[test]
fn the_share_page_plays_on_its_own_to_the_finish() {
    let dir = tempfile::tempdir().unwrap();
    let run = race(dir.path());
    let page = dir.path().join("race.html");
    share(&run, &page, &[]);
    let data = page_data(&std::fs::read_to_string(&page).unwrap());
    let Some(browser) = chromium() else {
        return;
    };
    let duration = data["duration"].as_f64().unwrap();
    // Opened without a position, the page plays at 1x on the browser's (virtual) clock: after
    // the race's length and a little more it has reached the finish and offers a replay.
    let budget = format!("{:.0}", duration * 1000.0 + 1500.0);
    let out = headless(&browser, &dir.path().join("play"))
        .arg(format!("--virtual-time-budget={budget}"))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dom.contains(&format!("data-t=\"{duration:.3}\"")),
        "played to {duration}: {}",
        dom.split("<body")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take(80)
            .collect::<String>()
    );
    assert!(
        dom.contains("type=\"button\">Replay</button>"),
        "the button offers a replay"
    );
    let finale = dom.split("id=\"final\"").nth(1).unwrap();
    assert!(!finale.starts_with(" hidden"), "the final table is shown");
}

#[test]
fn the_share_cast_plays_the_board_to_its_finish_then_the_arena_in_a_terminal_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let run = race(dir.path());
    let cast = dir.path().join("race.cast");
    share(&run, &cast, &["--size", "100x30"]);
    let text = std::fs::read_to_string(&cast).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(header["width"], 100);
    assert_eq!(header["height"], 30);
    let mut terminal = vt100::Parser::new(
        std::num::NonZero::new(30).unwrap(),
        std::num::NonZero::new(100).unwrap(),
        0,
    );
    let mut last = 0.0;
    let mut events = 0;
    // The board plays first and holds its finish; the arena plays after it. A screen that
    // shows the finish panel was on the terminal at some point.
    let mut board_finished = false;
    for line in lines {
        let (t, kind, data): (f64, String, String) = serde_json::from_str(line).unwrap();
        assert_eq!(kind, "o");
        assert!(t >= last, "time goes forward");
        last = t;
        terminal.process(data.as_bytes());
        board_finished |= terminal.screen().contents().contains("Finish · winners");
        events += 1;
    }
    assert!(events > 5, "{events} events");
    assert!(
        board_finished,
        "the board's finish panel was never on screen"
    );
    let screen = terminal.screen().contents();
    assert!(screen.contains("FINISHED"), "{screen}");
    assert!(
        screen.contains("1st"),
        "the arena's finishing order:\n{screen}"
    );
    for name in ["turbo", "steady", "flaky"] {
        assert!(screen.contains(name), "{name} in\n{screen}");
    }
}

#[test]
fn what_cannot_be_shared_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("x.html");
    let refused = |run: &Path, out: &Path| {
        let done = llmrace()
            .arg("share")
            .arg(run)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap();
        (
            done.status.code(),
            String::from_utf8_lossy(&done.stderr).into_owned(),
        )
    };
    let (code, err) = refused(&dir.path().join("missing"), &page);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("missing") && err.contains("No such file"),
        "{err}"
    );
    // A folder without a replay (a race run with --no-replay).
    let (code, err) = refused(dir.path(), &page);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--no-replay"), "{err}");
    // Not a replay at all.
    let garbage = dir.path().join("garbage.gz");
    std::fs::write(&garbage, b"not gzip").unwrap();
    let (code, err) = refused(&garbage, &page);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not an llmrace replay"), "{err}");
    assert!(!page.exists());
    // A file that cannot be written: the race was shared, the file was not.
    let run = race(dir.path());
    // The race's own files are never written over: its replay (by the folder, by the file,
    // by another spelling of its path), another replay, a result file.
    let replay = run.join("replay.jsonl.gz");
    let before = std::fs::read(&replay).unwrap();
    let summary = std::fs::read(run.join("summary.json")).unwrap();
    let other = dir.path().join("other.jsonl.gz");
    std::fs::copy(&replay, &other).unwrap();
    for (shared, out) in [
        (run.clone(), replay.clone()),
        (replay.clone(), replay.clone()),
        (run.clone(), run.join("../run/./replay.jsonl.gz")),
        (run.clone(), other.clone()),
        (run.clone(), run.join("summary.json")),
    ] {
        let (code, err) = refused(&shared, &out);
        assert_eq!(
            code,
            Some(2),
            "{} -o {}: {err}",
            shared.display(),
            out.display()
        );
        assert!(
            err.contains("not writing") && err.contains("help:"),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read(&replay).unwrap(),
        before,
        "the replay is intact"
    );
    assert_eq!(std::fs::read(&other).unwrap(), before);
    assert_eq!(std::fs::read(run.join("summary.json")).unwrap(), summary);
    let (code, err) = refused(&run, &dir.path().join("no/such/folder/x.html"));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot write") && err.contains("x.html"),
        "{err}"
    );
}
