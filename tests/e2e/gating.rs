//! CI gating through the real binary: thresholds on a race, on a saved run, and regressions
//! between runs set the exit code; malformed expressions are refused before anything runs.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::process::{Command, Output};

fn llmrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn race(out: &Path, endpoint: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "race",
        "-q",
        "-e",
        endpoint,
        "-n",
        "12",
        "-c",
        "2",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    llmrace(&args)
}

#[test]
fn thresholds_on_a_race_set_the_exit_code_and_list_each_check() {
    let dir = tempfile::tempdir().unwrap();
    let fast = "a=openai:mock://instant,tokens=8,ttft=20ms#m";
    let pass = race(
        &dir.path().join("pass"),
        fast,
        &["--fail-if", "ttft.p95 > 2s", "--fail-if", "error_rate > 1%"],
    );
    assert_eq!(pass.status.code(), Some(0), "{}", text(&pass.stderr));
    let checks = text(&pass.stderr);
    assert!(
        checks.contains("ttft.p95 > 2s") && checks.contains("pass"),
        "{checks}"
    );

    let fail = race(
        &dir.path().join("fail"),
        fast,
        &["--fail-if", "ttft.p50 > 1ms"],
    );
    assert_eq!(fail.status.code(), Some(1), "{}", text(&fail.stderr));
    assert!(
        text(&fail.stderr).contains("FAIL"),
        "{}",
        text(&fail.stderr)
    );
    // The race ran and its files are there even though the gate failed.
    assert!(dir.path().join("fail").join("summary.json").is_file());
}

#[test]
fn malformed_thresholds_are_refused_before_the_race() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let bad = race(
        &out,
        "a=openai:mock://instant#m",
        &["--fail-if", "ttft.p95 > 800"],
    );
    assert_eq!(bad.status.code(), Some(2));
    let stderr = text(&bad.stderr);
    assert!(
        stderr.contains("ttft.p95 > 800") && stderr.contains('^'),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing ran");
    let unknown = race(
        &out,
        "a=openai:mock://instant#m",
        &["--fail-if", "zz: ttft.p95 > 1s"],
    );
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown.stderr));
}

#[test]
fn report_formats_and_gating_on_a_saved_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    assert!(
        race(&run, "a=anthropic:mock://instant,tokens=8#m", &[])
            .status
            .success()
    );
    let run = run.to_str().unwrap();
    let md = llmrace(&["report", run, "--format", "md"]);
    assert!(md.status.success());
    assert!(text(&md.stdout).contains("| a "), "{}", text(&md.stdout));
    let json = llmrace(&["report", run, "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(parsed.is_object());
    let html = dir.path().join("r.html");
    let out = llmrace(&[
        "report",
        run,
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
    let gated = llmrace(&["report", run, "--fail-if", "rpm < 1000000"]);
    assert_eq!(gated.status.code(), Some(1));
    let missing = llmrace(&["report", dir.path().join("nope").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));

    // Rebuilding from the replay with a threshold that names no endpoint: refused before a
    // file is written.
    let replay = Path::new(run).join("replay.jsonl.gz");
    let rebuilt = dir.path().join("rebuilt");
    let rebuild_gated_by = |threshold: &str| {
        llmrace(&[
            "report",
            replay.to_str().unwrap(),
            "--results",
            rebuilt.to_str().unwrap(),
            "--fail-if",
            threshold,
        ])
    };
    let typo = rebuild_gated_by("zz: ttft.p95 > 1s");
    assert_eq!(typo.status.code(), Some(2), "{}", text(&typo.stderr));
    assert!(text(&typo.stderr).contains("zz"), "{}", text(&typo.stderr));
    assert!(
        !rebuilt.exists(),
        "nothing is written for a refused threshold"
    );
    let gated = rebuild_gated_by("rpm < 1000000");
    assert_eq!(gated.status.code(), Some(1), "{}", text(&gated.stderr));
    assert!(rebuilt.join("summary.json").is_file());
}

#[test]
fn compare_flags_a_regression_and_not_an_identical_run() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let same = dir.path().join("same");
    let slow = dir.path().join("slow");
    let endpoint = |ttft: &str| format!("a=openai:mock://instant,tokens=8,ttft={ttft}#m");
    // Long enough that a loaded machine's scheduling jitter stays well under the 10 % gate.
    assert!(race(&base, &endpoint("150ms"), &[]).status.success());
    assert!(race(&same, &endpoint("150ms"), &[]).status.success());
    assert!(race(&slow, &endpoint("450ms"), &[]).status.success());
    let (base, same, slow) = (
        base.to_str().unwrap(),
        same.to_str().unwrap(),
        slow.to_str().unwrap(),
    );

    let ok = llmrace(&["compare", base, same, "--fail-on-regression", "10"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}{}",
        text(&ok.stdout),
        text(&ok.stderr)
    );
    let worse = llmrace(&["compare", base, slow, "--fail-on-regression", "10"]);
    assert_eq!(worse.status.code(), Some(1), "{}", text(&worse.stdout));
    assert!(
        text(&worse.stdout).contains("worse"),
        "{}",
        text(&worse.stdout)
    );
    assert!(
        text(&worse.stderr).contains("TTFT"),
        "{}",
        text(&worse.stderr)
    );
    let md = llmrace(&["compare", base, same, slow, "--format", "md"]);
    assert!(md.status.success());
    assert!(text(&md.stdout).contains('|'));
}

#[test]
fn compare_refuses_to_gate_runs_that_measure_different_things() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, endpoint: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        assert!(race(&out, endpoint, extra).status.success());
        out.to_str().unwrap().to_string()
    };
    let base = run("base", "a=openai:mock://instant,tokens=8#m", &[]);
    let other = run("other", "b=openai:mock://instant,tokens=8#m", &[]);
    let longer = run(
        "longer",
        "a=openai:mock://instant,tokens=8#m",
        &["--max-tokens", "4"],
    );

    let unrelated = llmrace(&["compare", &base, &other, "--fail-on-regression", "1"]);
    let stderr = text(&unrelated.stderr);
    assert_eq!(unrelated.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no endpoint is in both runs (base: a; current: b)")
            && stderr.contains("--force"),
        "{stderr}"
    );
    let workload = llmrace(&["compare", &base, &longer, "--fail-on-regression", "1"]);
    let stderr = text(&workload.stderr);
    assert_eq!(workload.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("max_tokens: null → 4"), "{stderr}");

    // Forced, a different workload is gated on what the runs share; with no endpoint in
    // common there is nothing to gate on, forced or not.
    let gated = |current: &str| {
        let args = [
            "compare",
            &base,
            current,
            "--fail-on-regression",
            "50",
            "--force",
        ];
        llmrace(&args)
    };
    let forced = gated(&longer);
    assert_ne!(forced.status.code(), Some(2), "{}", text(&forced.stderr));
    let forced = gated(&other);
    let stderr = text(&forced.stderr);
    assert_eq!(forced.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no endpoint is in both runs") && stderr.contains("cannot gate on nothing"),
        "{stderr}"
    );
    // Without gating the comparison is shown, saying nothing was compared.
    let shown = llmrace(&["compare", &base, &other]);
    assert_eq!(shown.status.code(), Some(0));
    let table = text(&shown.stdout);
    assert!(
        table.contains("no endpoint is in both runs: nothing is compared"),
        "{table}"
    );
}

#[test]
fn compare_gates_runs_of_the_same_work_from_other_folders_and_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = "a=openai:mock://instant,tokens=8#m";
    let run = |name: &str, prompts: &str, seed: &str| {
        let checkout = dir.path().join(name);
        std::fs::create_dir(&checkout).unwrap();
        let file = checkout.join("p.txt");
        std::fs::write(&file, prompts).unwrap();
        let out = checkout.join("run");
        let extra = ["--prompts", file.to_str().unwrap(), "--seed", seed];
        let raced = race(&out, endpoint, &extra);
        assert!(raced.status.success(), "{}", text(&raced.stderr));
        out.to_str().unwrap().to_string()
    };
    // A CI runner's checkout folder differs from run to run; without --shuffle the seed
    // changes nothing that is sent.
    let base = run("ci-1", "hello\nworld\n", "1");
    let current = run("ci-2", "hello\nworld\n", "2");
    let gated = llmrace(&["compare", &base, &current, "--fail-on-regression", "50"]);
    let stderr = text(&gated.stderr);
    assert_ne!(gated.status.code(), Some(2), "{stderr}");
    assert!(
        text(&gated.stdout).contains("prompt files are compared by name only (p.txt)"),
        "{}",
        text(&gated.stdout)
    );
}

#[test]
fn prices_give_costs_in_the_summary_and_every_report_and_can_be_gated() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("race.toml");
    std::fs::write(
        &file,
        "[load]\nrequests = 4\n[[endpoint]]\nname = \"cheap\"\nprotocol = \"openai\"\nbase_url = \"mock://instant,tokens=10\"\nprice = { input = 1.0, output = 2.0 }\n[[endpoint]]\nname = \"free\"\nprotocol = \"ollama\"\nbase_url = \"mock://instant,tokens=10\"\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    let ran = llmrace(&[
        "race",
        file.to_str().unwrap(),
        "-q",
        "-o",
        out.to_str().unwrap(),
        "--fail-if",
        "cheap: cost.total > $1",
    ]);
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
    assert!(
        text(&ran.stdout).contains("cheap: cost $"),
        "{}",
        text(&ran.stdout)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cost = summary["costs"]["cheap"]["total_usd"].as_f64().unwrap();
    assert!(cost > 0.0);
    assert!(
        summary["costs"].get("free").is_none(),
        "unpriced endpoints have no cost"
    );
    let run = out.to_str().unwrap();
    assert!(text(&llmrace(&["report", run, "--format", "md"]).stdout).contains("## Cost"));
    assert!(text(&llmrace(&["report", run, "--format", "html"]).stdout).contains("<h2>Cost</h2>"));
    let csv = text(&llmrace(&["report", run, "--format", "csv"]).stdout);
    assert!(csv.lines().next().unwrap().contains("cost_usd"), "{csv}");
    let gated = llmrace(&["report", run, "--fail-if", "cheap: cost.total > $0.0000001"]);
    assert_eq!(gated.status.code(), Some(1), "{}", text(&gated.stderr));
}

#[test]
fn lap_wins_are_in_the_markdown_and_html_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("laps");
    let ran = llmrace(&[
        "race",
        "-q",
        "--laps",
        "-n",
        "3",
        "-o",
        out.to_str().unwrap(),
        "-e",
        "fast=openai:mock://instant,tokens=4,ttft=2ms#m",
        // 300 ms behind: a loaded machine once made the fast one 88 ms late for a lap.
        "-e",
        "slow=openai:mock://instant,tokens=4,ttft=300ms#m",
    ]);
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    let run = out.to_str().unwrap();
    let md = text(&llmrace(&["report", run, "--format", "md"]).stdout);
    assert!(md.contains("## Head-to-head laps"), "{md}");
    assert!(md.contains("| fast | 3 | 3 | 3 |"), "{md}");
    let html = text(&llmrace(&["report", run, "--format", "html"]).stdout);
    assert!(html.contains("<h2>Head-to-head laps</h2>"));
    // A race without laps has no laps section.
    let plain = dir.path().join("plain");
    assert!(
        race(&plain, "a=openai:mock://instant#m", &[])
            .status
            .success()
    );
    let md = text(&llmrace(&["report", plain.to_str().unwrap(), "--format", "md"]).stdout);
    assert!(!md.contains("laps"), "{md}");
}

#[test]
fn a_gate_that_could_judge_nothing_fails_and_a_different_load_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, requests: &str, concurrency: &str| {
        let out = dir.path().join(name);
        let done = llmrace(&[
            "race",
            "-q",
            "-e",
            "a=openai:mock://instant,tokens=8#m",
            "-n",
            requests,
            "-c",
            concurrency,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(done.status.success(), "{}", text(&done.stderr));
        out.to_str().unwrap().to_string()
    };
    let (base, few) = (run("base", "3", "1"), run("few", "3", "1"));
    let gate = llmrace(&["compare", &base, &few, "--fail-on-regression", "1"]);
    assert_eq!(gate.status.code(), Some(2), "{}", text(&gate.stderr));
    let stderr = text(&gate.stderr);
    assert!(
        stderr.contains("not enough samples to judge any metric") && stderr.contains("at least 8"),
        "{stderr}"
    );
    assert!(!stderr.contains("No regression"), "{stderr}");

    // Runs under another load are compared, and the difference is said under the table.
    let (one, four) = (run("c1", "12", "1"), run("c4", "12", "4"));
    let shown = llmrace(&["compare", &one, &four]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    assert!(
        text(&shown.stdout).contains("concurrency: 1 → 4"),
        "{}",
        text(&shown.stdout)
    );
}

#[test]
fn runs_of_another_cache_mode_say_so_under_the_comparison_and_are_not_gated() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = "a=openai:mock://instant,tokens=8#m";
    let (cold, reuse) = (dir.path().join("cold"), dir.path().join("reuse"));
    assert!(race(&cold, endpoint, &[]).status.success());
    assert!(
        race(&reuse, endpoint, &["--cache", "reuse"])
            .status
            .success()
    );
    let (cold, reuse) = (cold.to_str().unwrap(), reuse.to_str().unwrap());
    let shown = llmrace(&["compare", cold, reuse]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    assert!(
        text(&shown.stdout).contains(r#"cache: "cold" → "reuse""#),
        "{}",
        text(&shown.stdout)
    );
    // A gate between a cold and a warm run would judge the cache: refused.
    let gate = llmrace(&["compare", cold, reuse, "--fail-on-regression", "10"]);
    assert_eq!(gate.status.code(), Some(2), "{}", text(&gate.stderr));
}

#[test]
fn the_workloads_shares_gate_a_race() {
    // 12 requests of one prompt: 11 repeats.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let done = race(
        &out,
        "a=openai:mock://instant,tokens=8#m",
        &[
            "--prompt",
            "the same words every time",
            "--fail-if",
            "repeat_share > 10%",
            "--fail-if",
            "cache_hit_rate > 99%",
        ],
    );
    let stderr = text(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("FAIL   repeat_share > 10%"), "{stderr}");
}
