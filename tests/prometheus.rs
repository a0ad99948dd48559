//! llmrace scraped by the real Prometheus server (Debian's `prometheus` package): a race with
//! `--metrics-addr` and a linger, scraped every second; Prometheus's own `histogram_quantile`
//! over llmrace's TTFT buckets must agree with llmrace's p50 within the buckets' resolution,
//! and every query of the Grafana dashboard (`assets/grafana/llmrace.json`) must
//! evaluate without error against it (a failing expression is a broken panel).
//!
//! Ignored by default: it needs `/usr/bin/prometheus` (`apt-get install prometheus`; never
//! started as the system service here). CI installs it and runs this on its own:
//! `cargo test --test prometheus -- --ignored`. `LLMRACE_PROMETHEUS` names another binary.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LLMRACE: &str = env!("CARGO_BIN_EXE_llmrace");
const PATIENCE: Duration = Duration::from_secs(90);
const RACE: &str = "prometheus-e2e";
/// Neighbouring bucket bounds are at most this far apart (`stats/buckets.rs`).
const BUCKET_RATIO: f64 = 1.106;

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Percent-encodes a query parameter (every byte but the unreserved ones).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Prometheus's answer to an instant query, as JSON (its `status` checked by the caller).
async fn query(prometheus: &str, expr: &str) -> serde_json::Value {
    let url = format!("{prometheus}/api/v1/query?query={}", encode(expr));
    let response = client().get(url).send().await.unwrap();
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// The single value an instant query gives, once it gives one.
async fn value(prometheus: &str, expr: &str) -> Option<f64> {
    let answer = query(prometheus, expr).await;
    let result = answer["data"]["result"].as_array()?;
    let [one] = result.as_slice() else {
        return None;
    };
    one["value"][1].as_str()?.parse().ok()
}

/// Polls until `done` holds, failing the test after [`PATIENCE`].
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done().await {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(dir: &std::path::Path, target: &str) -> (Killed, String) {
    let binary =
        std::env::var("LLMRACE_PROMETHEUS").unwrap_or_else(|_| "/usr/bin/prometheus".into());
    assert!(
        std::path::Path::new(&binary).exists(),
        "{binary} is missing: install Debian's prometheus package (`apt-get install -y \
         --no-install-recommends prometheus`), or name the binary in LLMRACE_PROMETHEUS"
    );
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
             - job_name: llmrace\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(&binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
    (Killed(child), format!("http://127.0.0.1:{port}"))
}

/// Every `expr` of the dashboard, with its variables set for this race and endpoint.
fn dashboard_exprs(endpoint: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/grafana/llmrace.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    collect_exprs(&dashboard["panels"], &mut exprs);
    assert!(exprs.len() > 20, "{} expressions", exprs.len());
    exprs
        .into_iter()
        .map(|e| {
            e.replace("$race", RACE)
                .replace("$level", ".*")
                .replace("$endpoint", endpoint)
                .replace("$__rate_interval", "1m")
        })
        .collect()
}

fn collect_exprs(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", serde_json::Value::String(e)) => into.push(e.clone()),
                    _ => collect_exprs(v, into),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, into)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the prometheus binary; CI runs it: cargo test --test prometheus -- --ignored"]
async fn prometheus_scrapes_llmrace_and_its_quantile_agrees_with_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut race = Command::new(LLMRACE)
        .args(["race", "--headless", "--name", RACE])
        .args(["-e", "a=openai:mock://ttft=30ms,itl=2ms,tokens=20#m"])
        .args(["-e", "b=ollama:mock://flaky#m"])
        .args(["-n", "60", "-c", "4", "--metrics-addr", "127.0.0.1:0"])
        .args(["--metrics-linger", "5m", "-o", out.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(race.stderr.take().unwrap());
    let race = Killed(race);
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for = |prefix: &str| loop {
        let line = lines.recv_timeout(PATIENCE).unwrap();
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_string();
        }
    };
    let url = wait_for("Serving metrics for Prometheus on http://");
    let target = url.trim_end_matches("/metrics").to_string();
    let (prometheus, api) = start_prometheus(tmp.path(), &target);
    wait_for("Still serving the final metrics");

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let a = &summary["endpoints"][0];
    assert_eq!(a["name"], "a");
    let ok = a["counts"]["succeeded"].as_f64().unwrap();
    // Prometheus has scraped the final values (and parsed the page: `up` is 1).
    until("Prometheus to scrape the final values", async || {
        value(&api, r#"up{job="llmrace"}"#).await == Some(1.0)
            && value(
                &api,
                r#"llmrace_requests_total{endpoint="a", outcome="ok", race="prometheus-e2e"}"#,
            )
            .await
                == Some(ok)
    })
    .await;

    let p50_s = a["latency"]["ttft_ms"]["p50"].as_f64().unwrap() / 1000.0;
    let from_buckets = value(
        &api,
        r#"histogram_quantile(0.5, sum by (le) (llmrace_ttft_seconds_bucket{endpoint="a"}))"#,
    )
    .await
    .unwrap();
    eprintln!("TTFT p50: Prometheus {from_buckets} s from the buckets, llmrace {p50_s} s");
    assert!(
        from_buckets <= p50_s * BUCKET_RATIO && from_buckets >= p50_s / BUCKET_RATIO,
        "Prometheus's p50 {from_buckets} s against llmrace's {p50_s} s"
    );

    for endpoint in ["a", "b"] {
        for expr in dashboard_exprs(endpoint) {
            let answer = query(&api, &expr).await;
            assert_eq!(answer["status"], "success", "{expr}: {answer}");
            // The level variable's All (`.*`) keeps the series of a race without levels.
            if expr.contains("llmrace_requests_total") {
                let found = answer["data"]["result"].as_array().map_or(0, Vec::len);
                assert!(found > 0, "{expr} found nothing: {answer}");
            }
        }
    }
    drop(prometheus);
    drop(race);
}

/// A sweep labels its series with `level`: every query filters on the dashboard's `level`
/// variable and keeps the label where it aggregates, so levels are never summed together.
#[test]
fn every_dashboard_query_filters_on_level_and_keeps_it() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/grafana/llmrace.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let level = variables.iter().find(|v| v["name"] == "level").unwrap();
    assert_eq!(
        level["allValue"], ".*",
        "All must match series without a level"
    );
    let mut exprs = Vec::new();
    collect_exprs(&dashboard["panels"], &mut exprs);
    for expr in exprs {
        assert!(expr.contains(r#"level=~"$level""#), "{expr}");
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("sum") {
            rest = &rest[at + 3..];
            let by = rest.trim_start().strip_prefix("by (");
            let groups = by.and_then(|b| b.split(')').next()).unwrap_or("");
            assert!(
                groups.contains("level"),
                "{expr}: a sum without `by (.., level)`"
            );
        }
    }
}
