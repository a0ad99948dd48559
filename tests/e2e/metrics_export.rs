//! The race's metrics served for Prometheus (`--metrics-addr`): the real binary against mocks
//! on 127.0.0.1, scraped by a real HTTP client mid-race and during the linger after the end;
//! what it serves must equal `summary.json`.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::time::Duration;

use crate::common::running::{BIN, Running};

const A: &str = "a=openai:mock://ttft=20ms,itl=4ms,tokens=40#m-a";
const B: &str = "b=anthropic:mock://ttft=40ms,itl=4ms,tokens=30#m-b";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn get(url: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut request = client().get(url);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("scrape");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.expect("body"))
}

/// The value of the sample of `name` whose labels include every one of `labels`.
fn sample(page: &str, name: &str, labels: &[&str]) -> Option<f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| {
            let set = &l[..l.rfind('}').unwrap_or(0)];
            labels.iter().all(|want| set.contains(want))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn address(running: &mut Running) -> String {
    let line = running.wait_for_line("the metrics address", |l| {
        l.starts_with("Serving metrics for Prometheus on http://")
    });
    line.rsplit(' ').next().expect("a URL").to_string()
}

/// Checks every histogram of `endpoint` on the page: buckets cumulative, `+Inf` = `_count`.
fn check_histograms(page: &str, endpoint: &str) {
    for family in ["ttft", "ttfa", "ttlt", "itl", "tpot"] {
        let name = format!("llmrace_{family}_seconds");
        let label = format!("endpoint=\"{endpoint}\"");
        let buckets: Vec<f64> = page
            .lines()
            .filter(|l| l.starts_with(&format!("{name}_bucket{{")) && l.contains(&label))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(buckets.len(), 141, "{name}: 140 bounds and +Inf");
        assert!(
            buckets.windows(2).all(|w| w[0] <= w[1]),
            "{name} buckets are cumulative: {buckets:?}"
        );
        let inf = sample(page, &format!("{name}_bucket"), &[&label, "le=\"+Inf\""]).unwrap();
        let count = sample(page, &format!("{name}_count"), &[&label]).unwrap();
        assert!(
            (inf - count).abs() < f64::EPSILON,
            "{name}: +Inf {inf}, count {count}"
        );
        assert!((buckets[140] - count).abs() < f64::EPSILON);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_race_is_scraped_live_and_during_the_linger_and_agrees_with_its_summary() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let mut running = Running::start(&[
        "race",
        "--headless",
        "-e",
        A,
        "-e",
        B,
        "-n",
        "30",
        "-c",
        "2",
        "--metrics-addr",
        "127.0.0.1:0",
        "--metrics-linger",
        "5m",
        "-o",
        out.to_str().unwrap(),
    ]);
    let url = address(&mut running);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"),
        "{url}"
    );

    // Mid-race: polled until some requests have ended and others not yet.
    let mut polls = 0;
    let live = loop {
        let (status, kind, page) = get(&url, None).await;
        assert_eq!(status, 200);
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
        let ok = sample(
            &page,
            "llmrace_requests_total",
            &["endpoint=\"a\"", "outcome=\"ok\""],
        )
        .unwrap_or(0.0);
        if ok > 0.0 && ok < 30.0 {
            break page;
        }
        assert!(ok < 30.0, "the race ended before a scrape saw it under way");
        polls += 1;
        assert!(polls < 3000, "no request ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(live.contains("model=\"m-a\"") && live.contains("protocol=\"anthropic\""));
    check_histograms(&live, "a");

    // The race is over and its files are written; the final values are still served.
    running.wait_for_line("the linger", |l| {
        l.starts_with("Still serving the final metrics")
    });
    let (_, _, final_page) = get(&url, None).await;
    let page = &final_page;
    agrees_with_summary(page, &out);

    other_pages(&url).await;

    // Ctrl-C ends the five-minute wait at once, and the race's code stands.
    running.signal("INT");
    let ended = running.end();
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);

    // A replay serves the recorded race's final values, labelled as the race was.
    let mut replay = Running::start(&[
        "replay",
        "--headless",
        out.to_str().unwrap(),
        "--metrics-addr",
        "0",
        "--metrics-linger",
        "5m",
    ]);
    let replay_url = address(&mut replay);
    replay.wait_for_line("the linger", |l| {
        l.starts_with("Still serving the final metrics")
    });
    let (_, _, replayed) = get(&replay_url, None).await;
    for endpoint in ["a", "b"] {
        let label = format!("endpoint=\"{endpoint}\"");
        for family in [
            "llmrace_requests_total",
            "llmrace_output_tokens_total",
            "llmrace_ttft_seconds_count",
        ] {
            let live = sample(&final_page, family, &[&label]);
            assert!(live.is_some(), "{family}");
            assert_eq!(
                sample(&replayed, family, &[&label]),
                live,
                "{endpoint} {family}"
            );
        }
    }
    replay.signal("INT");
    assert_eq!(replay.end().code, Some(0));
}

/// Every counter served equals the summary's, histograms included.
fn agrees_with_summary(page: &str, out: &std::path::Path) {
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for endpoint in summary["endpoints"].as_array().unwrap() {
        let name = endpoint["name"].as_str().unwrap();
        let label = format!("endpoint=\"{name}\"");
        let n = |v: &serde_json::Value| v.as_f64().unwrap();
        let counts = &endpoint["counts"];
        for (outcome, key) in [
            ("ok", "succeeded"),
            ("failed", "failed"),
            ("cancelled", "cancelled"),
        ] {
            let outcome = format!("outcome=\"{outcome}\"");
            let served = sample(page, "llmrace_requests_total", &[&label, &outcome]).unwrap();
            assert!(
                (served - n(&counts[key])).abs() < f64::EPSILON,
                "{name} {key}"
            );
        }
        let tokens = &endpoint["tokens"];
        for (family, key) in [
            ("llmrace_output_tokens_total", "output"),
            ("llmrace_input_tokens_total", "input"),
            ("llmrace_cached_input_tokens_total", "cached_input"),
        ] {
            let served = sample(page, family, &[&label]).unwrap();
            assert!(
                (served - n(&tokens[key])).abs() < f64::EPSILON,
                "{name} {family}"
            );
        }
        let in_flight = sample(page, "llmrace_in_flight", &[&label]).unwrap();
        assert!(
            in_flight.abs() < f64::EPSILON,
            "{name}: nothing in flight at the end"
        );
        check_histograms(page, name);
        let ttft = endpoint["latency"]["ttft_ms"]["count"].as_f64().unwrap();
        let count = sample(page, "llmrace_ttft_seconds_count", &[&label]).unwrap();
        assert!((ttft - count).abs() < f64::EPSILON, "{name}: TTFT count");
        assert!((count - n(&counts["succeeded"])).abs() < f64::EPSILON);
        // The sum is exact: the mean it gives is the summary's.
        let sum = sample(page, "llmrace_ttft_seconds_sum", &[&label]).unwrap();
        let mean_ms = endpoint["latency"]["ttft_ms"]["mean"].as_f64().unwrap();
        assert!(
            (sum / count * 1000.0 - mean_ms).abs() < 0.01,
            "{name}: {sum} / {count} vs {mean_ms}"
        );
    }
}

/// OpenMetrics when asked as Prometheus asks; anything but `GET /metrics`: a page that says
/// where the metrics are, 404, 405.
async fn other_pages(url: &str) {
    // OpenMetrics when asked, as Prometheus asks.
    let (status, kind, page) = get(
        url,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    let page = &page;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    assert!(page.ends_with("# EOF\n"));
    assert!(page.contains("# TYPE llmrace_requests counter"));
    // Anything else: a page that says where the metrics are, 404, 405.
    let root = url.trim_end_matches("metrics");
    let (status, _, text) = get(root, None).await;
    assert_eq!(status, 200);
    assert!(text.contains("/metrics"));
    assert_eq!(get(&format!("{root}nope"), None).await.0, 404);
    let posted = client().post(url).send().await.unwrap().status().as_u16();
    assert_eq!(posted, 405);
}

#[test]
fn a_port_in_use_is_a_setup_error_before_anything_is_sent() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let output = std::process::Command::new(BIN)
        .args([
            "race",
            "--headless",
            "-e",
            A,
            "-n",
            "2",
            "--metrics-addr",
            &port,
        ])
        .args(["-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot serve metrics on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("pick another port"), "{stderr}");
    assert!(!out.exists(), "nothing was raced");
}

#[test]
fn a_bad_address_is_refused_with_what_to_write() {
    let output = std::process::Command::new(BIN)
        .args([
            "race",
            "--headless",
            "-e",
            A,
            "-n",
            "1",
            "--metrics-addr",
            "http://x:1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--metrics-addr"), "{stderr}");
    assert!(stderr.contains("127.0.0.1:9464"), "{stderr}");
    // A linger with nothing to linger on is refused, not ignored.
    let output = std::process::Command::new(BIN)
        .args([
            "race",
            "--headless",
            "-e",
            A,
            "-n",
            "1",
            "--metrics-linger",
            "5s",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--metrics-linger"), "{stderr}");
    assert!(stderr.contains("add --metrics-addr 9464"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_serves_every_level_from_one_exporter() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let exporter =
        llmrace::export::Exporter::bind("127.0.0.1:0".parse().unwrap()).expect("a free port");
    let mut config = crate::common::race::race_config(&[A], 4, 1);
    config.load.warmup_requests = 0;
    let options = llmrace::sweep::SweepOptions {
        levels: [1, 2].map(llmrace::sweep::Level::Concurrency).to_vec(),
        ttft_p95_target: Duration::from_secs(1),
        out: tmp.path().join("sweep"),
        quiet: true,
        replace: false,
        tell: llmrace::race::Teller::default(),
        metrics: Some(exporter.publisher()),
    };
    llmrace::sweep::sweep(config, std::path::Path::new("."), &options)
        .await
        .expect("sweep");
    let url = format!("http://{}/metrics", exporter.addr());
    let (_, _, page) = get(&url, None).await;
    for level in ["1", "2"] {
        let level = format!("level=\"{level}\"");
        let ok = sample(&page, "llmrace_requests_total", &[&level, "outcome=\"ok\""]);
        assert_eq!(ok, Some(4.0), "{level}:\n{page}");
    }
    exporter.close_after(None).await;
}

const ENDPOINT: &str = "[[endpoint]]\nname = \"a\"\nprotocol = \"openai\"\n\
                        base_url = \"mock://steady\"\nmodel = \"m\"\n";

#[test]
fn the_race_file_sets_address_and_linger() {
    let text = format!("[export]\nprometheus = \":9100\"\nlinger = \"30s\"\n{ENDPOINT}");
    let race = llmrace::config::from_toml_str(&text, std::path::Path::new("race.toml")).unwrap();
    assert_eq!(
        race.export.prometheus,
        Some("127.0.0.1:9100".parse().unwrap())
    );
    assert_eq!(race.export.linger, Some(Duration::from_secs(30)));
    let off = llmrace::config::from_toml_str(ENDPOINT, std::path::Path::new("race.toml")).unwrap();
    assert_eq!(off.export, llmrace::config::ExportConfig::default());
}

#[test]
fn a_bad_address_in_the_race_file_is_pointed_at() {
    let text = format!("[export]\nprometheus = \"http://x:1\"\n{ENDPOINT}");
    let e = llmrace::config::from_toml_str(&text, std::path::Path::new("race.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("race.toml:2:"), "{e}");
    assert!(e.contains("export.prometheus"), "{e}");
    assert!(e.contains("127.0.0.1:9464"), "{e}");
}
