//! The mock's `GET /metrics` over real HTTP on 127.0.0.1: a vLLM page that llmrace's own
//! reader recognises, whose running count and KV-cache use follow the requests in progress and
//! whose prefix-cache counters follow the mock's prefix cache, only growing.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::net::SocketAddr;
use std::time::Duration;

use llmrace::mock::{MockServer, Profile};
use llmrace::server_metrics::{ServerKind, ServerReading, read};
use serde_json::json;

async fn start(spec: &str) -> MockServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    MockServer::start(addr, Profile::parse(spec).unwrap())
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn reading(client: &reqwest::Client, server: &MockServer) -> ServerReading {
    let response = client
        .get(format!("http://{}/metrics", server.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    read(&response.text().await.unwrap(), Some("mock"))
        .unwrap()
        .reading
}

/// Waits, without sleeping blind, until `/metrics` shows no request in progress: a response's
/// last byte reaches the client a moment before the mock drops the generation.
async fn idle(client: &reqwest::Client, server: &MockServer) -> ServerReading {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = reading(client, server).await;
        if r.running == Some(0.0) || tokio::time::Instant::now() > deadline {
            return r;
        }
        tokio::task::yield_now().await;
    }
}

fn chat(prompt: &str) -> String {
    json!({
        "model": "mock",
        "messages": [{"role": "user", "content": prompt}],
        "stream": true,
        "max_tokens": 8,
    })
    .to_string()
}

#[tokio::test]
async fn metrics_follow_the_mocks_load_and_prefix_cache() {
    // Slow (TTFT ~1 s, ~60 ms a token): the first request is still in progress, whatever the
    // machine's load, when `/metrics` is read after its headers.
    let server = start("slow").await;
    let client = client();
    let url = format!("http://{}/v1/chat/completions", server.addr());
    let before = reading(&client, &server).await;
    assert_eq!(
        before,
        ServerReading {
            server: Some(ServerKind::LlmraceMock),
            queue: Some(0.0),
            running: Some(0.0),
            kv_cache: Some(0.0),
            prefix_queries_total: Some(0.0),
            prefix_hits_total: Some(0.0),
            preemptions_total: Some(0.0),
            ..ServerReading::default()
        }
    );

    // A request in progress: its headers are back, its tokens still coming.
    let prompt =
        "the same long prompt, long enough to fill several blocks of the cache. ".repeat(8);
    let first = client.post(&url).body(chat(&prompt)).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let during = reading(&client, &server).await;
    assert_eq!(during.running, Some(1.0));
    assert!(during.kv_cache.unwrap() > 0.0, "{during:?}");
    let looked_up = during.prefix_queries_total.unwrap();
    assert!(looked_up > 100.0, "{during:?}");
    assert_eq!(during.prefix_hits_total, Some(0.0));
    first.text().await.unwrap();
    let after = idle(&client, &server).await;
    assert_eq!((after.running, after.kv_cache), (Some(0.0), Some(0.0)));

    // The same prompt again is found in the cache: all but its last block.
    let second = client.post(&url).body(chat(&prompt)).send().await.unwrap();
    second.text().await.unwrap();
    let again = idle(&client, &server).await;
    assert_eq!(again.prefix_queries_total, Some(2.0 * looked_up));
    let hits = again.prefix_hits_total.unwrap();
    assert!(hits > 0.5 * looked_up && hits < looked_up, "{again:?}");
    // Scrapes take no request number: the generations were the mock's requests 1 and 2.
    assert_eq!(server.stats().requests, 2);
}

#[tokio::test]
async fn without_a_prefix_cache_there_are_no_prefix_counters_and_posting_is_refused() {
    let server = start("turbo,cache=0").await;
    let client = client();
    let r = reading(&client, &server).await;
    assert_eq!((r.prefix_queries_total, r.prefix_hits_total), (None, None));
    assert_eq!(r.running, Some(0.0));
    let posted = client
        .post(format!("http://{}/metrics", server.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 405);
}
