//! Cache hygiene against the built-in mock over 127.0.0.1: the mock's prefix cache as each
//! protocol reports it, cold races that never hit an earlier run's or another endpoint's
//! cache, `reuse` races that do, repeats, and the salt where it is recorded.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::net::SocketAddr;

use llmrace::config::{CacheMode, PromptSource};
use llmrace::engine::{Target, TargetSpec};
use llmrace::event::{EndpointId, PromptId};
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::{Message, Protocol};
use llmrace::workload::Prompt;
use serde_json::{Value, json};

use crate::common::race;

async fn start(spec: &str) -> MockServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    MockServer::start(addr, Profile::parse(spec).unwrap())
        .await
        .unwrap()
}

/// A prompt of several cache blocks.
const PROMPT: &str = "Summarise the causes of the industrial revolution in Britain, the role of \
    coal, iron and textiles, and why it began there rather than elsewhere in Europe.";

/// The usage object of a non-streamed answer to `PROMPT` through `protocol`.
async fn usage(server: &MockServer, protocol: Protocol, system: &str) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (path, body) = match protocol {
        Protocol::Anthropic => (
            "/messages",
            json!({"model": "m", "max_tokens": 4, "system": system,
                   "messages": [{"role": "user", "content": PROMPT}]}),
        ),
        Protocol::Ollama => (
            "/api/chat",
            json!({"model": "m", "stream": false, "options": {"num_predict": 4},
                   "messages": [{"role": "system", "content": system},
                                {"role": "user", "content": PROMPT}]}),
        ),
        _ => (
            "/chat/completions",
            json!({"model": "m", "max_tokens": 4,
                   "messages": [{"role": "system", "content": system},
                                {"role": "user", "content": PROMPT}]}),
        ),
    };
    let url = format!("{}{path}", server.base_url(protocol));
    let text = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answer: Value = serde_json::from_str(&text).unwrap();
    match protocol {
        Protocol::Ollama => answer,
        _ => answer["usage"].clone(),
    }
}

#[tokio::test]
async fn the_mock_reports_its_prefix_cache_hits_as_each_protocol_does() {
    let server = start("instant,tokens=4").await;
    let openai = usage(&server, Protocol::OpenAiChat, "be brief").await;
    // A cold prompt: 0 cached, said (as OpenAI and llama.cpp say it).
    assert_eq!(
        openai["prompt_tokens_details"]["cached_tokens"], 0,
        "{openai}"
    );
    let openai = usage(&server, Protocol::OpenAiChat, "be brief").await;
    let cached = openai["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap();
    let prompt = openai["prompt_tokens"].as_u64().unwrap();
    assert!(cached > 0 && cached < prompt, "{openai}");

    // Anthropic's `input_tokens` leaves the cached tokens out.
    let first = usage(&server, Protocol::Anthropic, "be terse").await;
    assert_eq!(first["cache_read_input_tokens"], 0, "{first}");
    let again = usage(&server, Protocol::Anthropic, "be terse").await;
    let read = again["cache_read_input_tokens"].as_u64().unwrap();
    assert!(read > 0, "{again}");
    assert_eq!(
        again["input_tokens"].as_u64().unwrap() + read,
        first["input_tokens"].as_u64().unwrap()
    );

    // Ollama counts them in `prompt_eval_count` and says how many apart.
    let first = usage(&server, Protocol::Ollama, "be kind").await;
    assert_eq!(first.get("prompt_eval_cached_count"), None, "{first}");
    let again = usage(&server, Protocol::Ollama, "be kind").await;
    assert!(
        again["prompt_eval_cached_count"].as_u64().unwrap() > 0,
        "{again}"
    );
    assert_eq!(again["prompt_eval_count"], first["prompt_eval_count"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_mock_without_a_cache_or_with_a_fixed_count_reports_no_hits_of_its_own() {
    let server = start("instant,tokens=4,cache=0").await;
    for _ in 0..2 {
        let openai = usage(&server, Protocol::OpenAiChat, "be brief").await;
        assert_eq!(openai["prompt_tokens_details"], Value::Null, "{openai}");
    }
    server.shutdown().await;
    let server = start("instant,tokens=4,cache_read=5").await;
    for _ in 0..2 {
        let openai = usage(&server, Protocol::OpenAiChat, "be brief").await;
        assert_eq!(
            openai["prompt_tokens_details"]["cached_tokens"], 5,
            "{openai}"
        );
    }
    server.shutdown().await;
}

/// Four prompts that share no block: a race of four requests per endpoint repeats none.
fn distinct_prompts() -> Vec<String> {
    [
        "industrial revolution",
        "french revolution",
        "printing press",
        "steam engine",
    ]
    .iter()
    .map(|topic| {
        format!(
            "Tell me about the {topic}: its causes, its course and its consequences for \
                     the people who lived through it, in three short paragraphs."
        )
    })
    .collect()
}

/// A race of `endpoints` (names) on `server`, each prompt once per endpoint.
fn race_on(
    server: &MockServer,
    endpoints: &[&str],
    cache: CacheMode,
) -> llmrace::config::RaceConfig {
    let url = server.base_url(Protocol::OpenAiChat);
    let specs: Vec<String> = endpoints
        .iter()
        .map(|name| format!("{name}=openai:{url}#m"))
        .collect();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let mut config = race::race_config(&specs, 4, 1);
    config.workload.prompts = PromptSource::Inline(distinct_prompts());
    config.workload.cache = cache;
    config
}

/// Requests of `endpoint` in the race in `dir` that the server answered partly from its cache.
fn hits(dir: &std::path::Path, endpoint: &str) -> usize {
    let records = race::records(dir);
    assert!(
        records.iter().all(|r| r.error_class.is_none()),
        "{records:?}"
    );
    records
        .iter()
        .filter(|r| r.endpoint_name == endpoint && r.cached_input_tokens.unwrap_or(0) > 0)
        .count()
}

fn summary(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn run_json(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn a_cold_race_run_twice_never_hits_its_first_runs_cache_and_a_reuse_race_does() {
    let server = start("instant,tokens=4").await;
    let dirs = tempfile::tempdir().unwrap();
    let mut salts = Vec::new();
    for run in ["cold-1", "cold-2"] {
        let dir = dirs.path().join(run);
        race::run(race_on(&server, &["a"], CacheMode::Cold), &dir).await;
        assert_eq!(hits(&dir, "a"), 0, "{run}");
        let salt = run_json(&dir)["endpoints"][0]["salt"]
            .as_str()
            .unwrap()
            .to_owned();
        salts.push(salt);
    }
    assert_ne!(salts[0], salts[1]);
    for run in ["reuse-1", "reuse-2"] {
        let dir = dirs.path().join(run);
        race::run(race_on(&server, &["a"], CacheMode::Reuse), &dir).await;
        let want = if run == "reuse-1" { 0 } else { 4 };
        assert_eq!(hits(&dir, "a"), want, "{run}");
        let info = run_json(&dir);
        assert_eq!(info["endpoints"][0].get("salt"), None);
        assert_eq!(info["race"]["workload"]["cache"], "reuse");
        // A cold first run: the server said it read nothing from its cache.
        let rate = &summary(&dir)["endpoints"][0]["rates"]["cache_hit_rate"];
        if run == "reuse-1" {
            assert_eq!(rate.as_f64(), Some(0.0), "{rate}");
        } else {
            assert!(rate.as_f64().unwrap() > 0.5, "{rate}");
            let report = llmrace::report::render(
                &llmrace::replay::load::load(&dir).unwrap(),
                llmrace::report::Format::Text,
            );
            assert!(
                report.lines().next().unwrap().ends_with("cache hit"),
                "{report}"
            );
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn two_endpoints_on_one_server_share_no_cache_in_a_cold_race() {
    let server = start("instant,tokens=4").await;
    let dirs = tempfile::tempdir().unwrap();
    let cold = dirs.path().join("cold");
    race::run(race_on(&server, &["a", "b"], CacheMode::Cold), &cold).await;
    assert_eq!((hits(&cold, "a"), hits(&cold, "b")), (0, 0));
    let endpoints = &run_json(&cold)["endpoints"];
    assert_ne!(endpoints[0]["salt"], endpoints[1]["salt"]);
    // As written, each prompt hits the cache that the other endpoint's copy left.
    let reuse = dirs.path().join("reuse");
    race::run(race_on(&server, &["a", "b"], CacheMode::Reuse), &reuse).await;
    assert_eq!(hits(&reuse, "a") + hits(&reuse, "b"), 4);
    server.shutdown().await;
}

#[test]
fn a_salted_target_sends_the_salt_first_and_keeps_the_salted_messages() {
    // A session's prompt: its target keeps the messages later turns are built from.
    let mut prompt = Prompt::new(
        PromptId(0),
        vec![Message::system("be brief"), Message::user("hi")],
    );
    prompt.follow_ups = vec!["and then?".into()];
    let prompts = vec![prompt];
    let body = serde_json::Map::new();
    let spec = |salt| TargetSpec {
        id: EndpointId(0),
        name: "a",
        protocol: Protocol::Anthropic,
        base_url: "http://127.0.0.1:9/v1",
        model: "m",
        api_key: None,
        headers: &[],
        body: &body,
        max_tokens: Some(8),
        temperature: None,
        stream: true,
        concurrency: 1,
        salt,
        http: llmrace::config::HttpVersion::Auto,
        embed_batch: 1,
    };
    let target = Target::new(&spec(Some("[0badc0de]")), &prompts).unwrap();
    let sent: Value = serde_json::from_slice(target.body_for(PromptId(0))).unwrap();
    assert_eq!(sent["system"], "[0badc0de] be brief");
    assert_eq!(sent["messages"][0]["content"], "hi");
    assert_eq!(
        target.messages(PromptId(0))[0].content,
        "[0badc0de] be brief"
    );
    let plain = Target::new(&spec(None), &prompts).unwrap();
    let sent: Value = serde_json::from_slice(plain.body_for(PromptId(0))).unwrap();
    assert_eq!(sent["system"], "be brief");
    assert_eq!(plain.messages(PromptId(0))[0].content, "be brief");
}

#[tokio::test]
async fn a_prompt_sent_again_is_a_repeat_counted_in_the_summary_and_told() {
    let server = start("instant,tokens=4").await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_on(&server, &["a"], CacheMode::Cold);
    config.load.requests = Some(6);
    race::run(config, dir.path()).await;
    let mut records = race::records(dir.path());
    records.sort_by_key(|r| r.request.0);
    let repeats: Vec<bool> = records.iter().map(|r| r.repeat).collect();
    assert_eq!(repeats, [false, false, false, false, true, true]);
    // Within a cold run the salt stays the same: a repeat hits the cache.
    assert!(
        records[4].cached_input_tokens.unwrap_or(0) > 0,
        "{:?}",
        records[4]
    );
    let csv = std::fs::read_to_string(dir.path().join("requests.csv")).unwrap();
    // `repeat`, then a merged race's `shard` and the two embeddings columns (empty here).
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",repeat,shard,inputs,embedding_dimension"));
    assert_eq!(csv.lines().filter(|l| l.ends_with(",true,,,")).count(), 2);
    let summary = summary(dir.path());
    let a = &summary["endpoints"][0];
    assert_eq!(a["counts"]["repeats"], 2);
    assert!((a["rates"]["repeat_share"].as_f64().unwrap() - 2.0 / 6.0).abs() < 1e-9);
    let notices = run_json(dir.path())["notices"].to_string();
    assert!(
        notices.contains("a: 2 of 6 requests (33.3%) repeated a prompt"),
        "{notices}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_cold_race_with_images_starts_every_prompt_with_its_salt_in_every_protocol() {
    // The salt must come before the images too: the same image in two runs would otherwise be
    // a prefix the server caches across them (Anthropic's image blocks once came first).
    let server = start("instant,tokens=4").await;
    let dirs = tempfile::tempdir().unwrap();
    for run in ["first", "second"] {
        let mut config = race_on(&server, &["o"], CacheMode::Cold);
        let anthropic = format!("a=anthropic:{}#m", server.base_url(Protocol::Anthropic));
        config
            .endpoints
            .extend(race::race_config(&[&anthropic], 4, 1).endpoints);
        config.workload.images = Some(llmrace::config::ImageSpec {
            count: 1,
            width: 64,
            height: 64,
        });
        let dir = dirs.path().join(run);
        race::run(config, &dir).await;
        assert_eq!((hits(&dir, "o"), hits(&dir, "a")), (0, 0), "{run}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_prompt_a_dataset_holds_twice_is_a_repeat_when_sent_again() {
    let server = start("instant,tokens=4").await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_on(&server, &["a"], CacheMode::Cold);
    config.workload.prompts = PromptSource::Inline(vec![
        "same words".into(),
        "other".into(),
        "same words".into(),
    ]);
    config.load.requests = Some(3);
    race::run(config, dir.path()).await;
    let repeats: Vec<bool> = race::records(dir.path()).iter().map(|r| r.repeat).collect();
    assert_eq!(repeats, [false, false, true]);
    server.shutdown().await;
}
