//! Server metrics in: a race scrapes its endpoints' servers' `/metrics` (here a tiny server of
//! the test's own on 127.0.0.1) once a second on a connection of its own, sends them no key,
//! records every scrape in the replay and `server_metrics.jsonl`, folds them into the
//! summary's server view (a replay gives the same), and tells failures as notices; the
//! automatic `/metrics` of an endpoint that has none stays quiet.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::race::{race_config, run};
use llmrace::config::ServerMetricsSource;
use llmrace::record::Replay;

const PAGE: &str = "# TYPE vllm:num_requests_waiting gauge\n\
                    vllm:num_requests_waiting{model_name=\"m\"} 2\n\
                    vllm:num_requests_running{model_name=\"m\"} 5\n";

/// A metrics server on 127.0.0.1 answering every request with `answer`; the request heads.
async fn metrics_server(answer: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (seen, answer) = (Arc::clone(&seen), answer.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0; 4096];
                loop {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    if head.ends_with(b"\r\n\r\n") {
                        seen.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&head).to_string());
                        head.clear();
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (format!("http://{addr}/metrics"), heads)
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn scrapes_are_recorded_folded_and_replayed_and_no_key_is_sent() {
    let (url, heads) = metrics_server(ok(PAGE)).await;
    // A key-like query parameter is redacted wherever the URL is written.
    let named = format!("{url}?token=sk-scrape-secret");
    let mut config = race_config(&["a=openai:mock://instant,tokens=8#m"], 20, 2);
    let endpoint = &mut config.endpoints[0];
    endpoint.server_metrics = ServerMetricsSource::Url(named);
    endpoint
        .headers
        .insert("Authorization".into(), "Bearer sk-endpoint-key".into());
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    run(config, &live).await;

    // Before the start and after the finish, at least.
    let heads = heads.lock().unwrap().clone();
    assert!(heads.len() >= 2, "{heads:?}");
    for head in &heads {
        let lower = head.to_ascii_lowercase();
        assert!(
            !lower.contains("authorization") && !lower.contains("sk-endpoint-key"),
            "the endpoint's key went to the metrics page: {head}"
        );
    }

    let text = std::fs::read_to_string(live.join("server_metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), heads.len(), "one line per scrape");
    for line in &lines {
        assert_eq!(line["endpoints"], serde_json::json!(["a"]));
        assert!(line.get("error").is_none(), "{line}");
        assert!(line["time"].as_str().unwrap().ends_with('Z'));
    }

    let summary = json(&live.join("summary.json"));
    let server = &summary["endpoints"][0]["server"];
    assert_eq!(server["scrapes"], lines.len());
    assert_eq!(server["failed"], 0);
    for file in ["summary.json", "server_metrics.jsonl", "run.json"] {
        let text = std::fs::read_to_string(live.join(file)).unwrap();
        assert!(!text.contains("sk-scrape-secret"), "{file}: {text}");
    }

    // The replay holds every scrape and folds into the same server view.
    let replay = Replay::open(&live).unwrap();
    let scrapes = replay
        .events
        .iter()
        .filter(|e| e.request == llmrace::event::RequestId::SERVER)
        .count();
    assert_eq!(scrapes, lines.len());
    let folded = llmrace::fold_replay(&replay, |_| {});
    assert_eq!(
        serde_json::to_value(&folded.endpoints[0].server).unwrap(),
        *server
    );
    let again = dir.path().join("again");
    llmrace::report(&replay, &again).unwrap();
    assert_eq!(
        json(&live.join("summary.json")),
        json(&again.join("summary.json"))
    );
    let scraped = |d: &Path| std::fs::read_to_string(d.join("server_metrics.jsonl")).unwrap();
    assert_eq!(
        scraped(&live),
        scraped(&again),
        "rebuilt as the race wrote it"
    );
    // `llmrace report --results` rebuilds it from the replay file too.
    let rebuilt = dir.path().join("rebuilt");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .arg("report")
        .arg(&live)
        .arg("--results")
        .arg(&rebuilt)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(scraped(&live), scraped(&rebuilt));
}

#[tokio::test]
async fn a_named_page_that_fails_is_a_notice_never_a_failed_race() {
    let (url, _) = metrics_server(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n".to_string(),
    )
    .await;
    let mut config = race_config(&["a=openai:mock://instant,tokens=8#m"], 10, 2);
    config.endpoints[0].server_metrics = ServerMetricsSource::Url(url.clone());
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(config, dir.path()).await;
    assert_eq!(outcome.summary.endpoints[0].counts.succeeded, 10);
    let run_json = json(&dir.path().join("run.json"));
    let notices: Vec<String> = run_json["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let notice = notices
        .iter()
        .find(|n| n.contains("server metrics from"))
        .unwrap_or_else(|| panic!("no notice: {notices:?}"));
    assert!(notice.starts_with("a: "), "{notice}");
    assert!(
        notice.contains("none of") && notice.contains("HTTP 500"),
        "{notice}"
    );
    let text = std::fs::read_to_string(dir.path().join("server_metrics.jsonl")).unwrap();
    assert!(
        text.lines().all(|l| l.contains("\"class\":\"status\"")),
        "{text}"
    );
}

#[tokio::test]
async fn an_endpoint_without_metrics_stays_quiet() {
    // The mock has no /metrics page of its own yet: the automatic try finds nothing, and an
    // anthropic endpoint is not tried at all.
    let config = race_config(
        &[
            "a=openai:mock://instant,tokens=8#m",
            "b=anthropic:mock://instant,tokens=8#m",
        ],
        10,
        2,
    );
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(config, dir.path()).await;
    if outcome.summary.endpoints[0].server.is_some() {
        // The mock serves /metrics by now: then it is a page that works.
        let server = outcome.summary.endpoints[0].server.clone().unwrap();
        assert_eq!(server.failed, 0, "{server:?}");
        return;
    }
    assert!(!dir.path().join("server_metrics.jsonl").exists());
    let run_json = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
    assert!(!run_json.contains("server metrics"), "{run_json}");
    assert!(outcome.summary.endpoints[1].server.is_none());
}

/// Ctrl-C stops the scraper with everything else, a page that hangs included: the run ends
/// with the signal's code, and `server_metrics.jsonl` is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_scraper_with_the_race() {
    use crate::common::running::Running;
    let (working, _) = metrics_server(ok(PAGE)).await;
    // Reads each request and never answers.
    let (hanging, _) = metrics_server(String::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args: Vec<String> = [
        "--headless",
        "-e",
        "a=openai:mock://steady,ttft=50ms,itl=30ms,tokens=400",
        "-e",
        "b=openai:mock://steady,ttft=50ms,itl=30ms,tokens=400",
        "--server-metrics",
        &format!("a={working}"),
        "--server-metrics",
        &format!("b={hanging}"),
        "-n",
        "1000",
        "-c",
        "2",
        "--max-tokens",
        "400",
        "-o",
        &out.display().to_string(),
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let mut running = Running::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    running.wait_for_progress(2);
    running.signal("INT");
    let ended = running.end();
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(!out.join("server_metrics.jsonl.partial").exists());
    let text = std::fs::read_to_string(out.join("server_metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["endpoints"] == serde_json::json!(["a"])),
        "{text}"
    );
    // b's page timed out every time it was given the time to.
    for line in lines
        .iter()
        .filter(|l| l["endpoints"] == serde_json::json!(["b"]))
    {
        assert_eq!(line["error"]["class"], "timeout", "{line}");
    }
}

/// The server's prefix-cache hit rate is measured from a scrape taken before the first
/// request: against the mock, whose counters start at zero with the race, it is the cached
/// share the client saw (the two agree on the mock), not the share after the first cold
/// prompts had been counted.
#[tokio::test]
async fn the_servers_prefix_hit_counts_from_before_the_first_request() {
    use llmrace::config::{PromptSource, SharedPrefixSpec};
    let mut config = race_config(&["o=openai:mock://instant,tokens=4#m"], 24, 4);
    config.workload.prompts = PromptSource::SharedPrefix(SharedPrefixSpec {
        groups: 4,
        prefix_tokens: 1024,
        suffix_tokens: 128,
        count: 100,
        seed: 3,
    });
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(config, dir.path()).await;
    let endpoint = &outcome.summary.endpoints[0];
    let server = endpoint
        .server
        .clone()
        .expect("the mock's /metrics was read");
    let prefix_hit = server.summary.prefix_hit.expect("prefix counters");
    let t = endpoint.tokens;
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let client = t.cached_input as f64 / t.input as f64;
    assert!(client > 0.0, "{t:?}");
    assert!(
        (prefix_hit - client).abs() < 0.01,
        "server {prefix_hit} vs client {client}"
    );
}

/// A metrics page that hangs does not make the race longer at its end: the race's duration
/// is taken when its last request ended, before the scrape after the finish, which is given
/// up soon (it would wait 2 s for its timeout).
#[tokio::test]
async fn a_hanging_page_does_not_lengthen_the_race_at_its_end() {
    use crate::common::race::records;
    let (hanging, _) = metrics_server(String::new()).await;
    let mut config = race_config(&["a=openai:mock://instant,tokens=8#m"], 6, 2);
    config.endpoints[0].server_metrics = ServerMetricsSource::Url(hanging);
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(config, dir.path()).await;
    let last_end = records(dir.path())
        .iter()
        .filter_map(|r| Some(r.sent_at_s + r.ttlt_ms? / 1000.0))
        .fold(0.0_f64, f64::max);
    assert!(last_end > 0.0);
    let duration = outcome.summary.duration_s;
    assert!(
        duration - last_end < 1.0,
        "duration {duration} s, last request ended at {last_end} s"
    );
}
