//! Whole races over real HTTP on 127.0.0.1 against the built-in mock, one per protocol and
//! mode: every request succeeds, with the timings and token counts the protocol provides.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use llmrace::config::Price;
use llmrace::event::TokenSource;
use llmrace::replay::Records;
use llmrace::stats::{Outcome, RequestRecord};

async fn check_protocol(protocol: &str, stream: bool) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("ep={protocol}:mock://instant,tokens=12#m");
    let mut config = race_config(&[&spec], 4, 2);
    config.workload.stream = stream;
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.sent, 4, "{protocol} stream={stream}");
    assert_eq!(
        e.counts.succeeded, 4,
        "{protocol} stream={stream}: {:?}",
        e.errors
    );
    let records = records(dir.path());
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r.outcome, Outcome::Succeeded);
        assert_eq!(r.http_status, Some(200));
        assert_eq!(r.output_tokens, Some(12), "{protocol}: {r:?}");
        assert_eq!(r.output_tokens_source, Some(TokenSource::Usage));
        assert!(r.input_tokens.unwrap_or(0) > 0);
        let ttft = r.ttft_ms.expect("ttft");
        let ttlt = r.ttlt_ms.expect("ttlt");
        assert!(ttft <= ttlt);
        assert!(r.ttfb_ms.unwrap() <= ttft);
        assert!(r.chunks >= 1);
        if stream {
            assert!(r.chunks >= 4, "streamed in several chunks: {r:?}");
            // TPOT needs tokens that arrived apart; the instant mock may send them in one go.
            let spread = r.itl_ms.iter().any(|gap| *gap > 0.0);
            assert_eq!(r.tpot_ms.is_some(), spread, "{r:?}");
        } else {
            // A whole body arrives at once: there is no time per output token to tell.
            assert_eq!(r.tpot_ms, None, "{protocol}: {r:?}");
        }
    }
}

#[tokio::test]
async fn openai_chat_streaming_and_not() {
    check_protocol("openai", true).await;
    check_protocol("openai", false).await;
}

#[tokio::test]
async fn openai_completions_streaming_and_not() {
    check_protocol("openai-completions", true).await;
    check_protocol("openai-completions", false).await;
}

#[tokio::test]
async fn anthropic_streaming_and_not() {
    check_protocol("anthropic", true).await;
    check_protocol("anthropic", false).await;
}

#[tokio::test]
async fn ollama_streaming_and_not() {
    check_protocol("ollama", true).await;
    check_protocol("ollama", false).await;
}

#[tokio::test]
async fn reasoning_tokens_are_timed_apart_from_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let config = race_config(&["t=openai:mock://instant,tokens=8,reasoning=5#m"], 2, 1);
    run(config, dir.path()).await;
    for r in records(dir.path()) {
        assert_eq!(r.outcome, Outcome::Succeeded);
        assert!(r.ttfa_ms.unwrap() >= r.ttft_ms.unwrap(), "{r:?}");
        assert!(r.reasoning_tokens.unwrap_or(0) > 0, "{r:?}");
    }
}

#[tokio::test]
async fn every_endpoint_gets_the_same_prompts_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = race_config(
        &["a=openai:mock://instant#m", "b=anthropic:mock://instant#m"],
        5,
        1,
    );
    run(config, dir.path()).await;
    let records = records(dir.path());
    let prompts = |name: &str| {
        let mut v: Vec<(f64, u32)> = records
            .iter()
            .filter(|r| r.endpoint_name == name)
            .map(|r| (r.sent_at_s, r.prompt.0))
            .collect();
        v.sort_by(|x, y| x.0.total_cmp(&y.0));
        v.into_iter().map(|(_, p)| p).collect::<Vec<_>>()
    };
    assert_eq!(prompts("a"), vec![0, 1, 2, 3, 4]);
    assert_eq!(prompts("a"), prompts("b"));
}

#[tokio::test]
async fn a_stream_whose_tokens_arrive_apart_has_a_tpot() {
    for protocol in ["openai", "openai-completions", "anthropic", "ollama"] {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("ep={protocol}:mock://instant,itl=5ms,tokens=6#m");
        run(race_config(&[&spec], 2, 1), dir.path()).await;
        for r in records(dir.path()) {
            assert_eq!(r.outcome, Outcome::Succeeded, "{protocol}: {r:?}");
            assert!(r.tpot_ms.is_some(), "{protocol}: {r:?}");
            assert!(!r.itl_ms.is_empty(), "{protocol}: {r:?}");
        }
    }
}

#[tokio::test]
async fn zero_output_usage_for_a_response_with_text_is_counted_by_the_tokenizer() {
    for protocol in ["openai", "anthropic", "ollama"] {
        for stream in [true, false] {
            let case = format!("{protocol} stream={stream}");
            let dir = tempfile::tempdir().unwrap();
            let zero = format!("zero={protocol}:mock://instant,tokens=12,fault=zero_usage#m");
            let honest = format!("honest={protocol}:mock://instant,tokens=12#m");
            let mut config = race_config(&[&zero, &honest], 3, 1);
            config.workload.stream = stream;
            let outcome = run(config, dir.path()).await;
            let records = records(dir.path());
            for r in records.iter().filter(|r| r.endpoint_name == "zero") {
                assert_eq!(r.outcome, Outcome::Succeeded, "{case}: {r:?}");
                assert!(r.output_tokens.unwrap_or(0) >= 12, "{case}: {r:?}");
                assert_eq!(
                    r.output_tokens_source,
                    Some(TokenSource::Estimate),
                    "{case}"
                );
                assert!(r.usage_contradicted, "{case}: {r:?}");
                // What the server said stays in the record, under its own name for output.
                let output_key = match protocol {
                    "openai" => "completion_tokens",
                    "anthropic" => "output_tokens",
                    _ => "eval_count",
                };
                assert_eq!(r.usage_reported.get(output_key), Some(&0), "{case}: {r:?}");
                assert!(r.output_tps.is_some(), "{case}: {r:?}");
            }
            let [zero, honest] = &outcome.summary.endpoints[..] else {
                panic!("two endpoints");
            };
            assert_eq!(zero.tokens.contradicted_output_requests, 3, "{case}");
            assert_eq!(honest.tokens.contradicted_output_requests, 0, "{case}");
            assert!(zero.tokens.output >= 36, "{case}: {:?}", zero.tokens);
            assert!(zero.rates.output_tokens_per_s > 0.0, "{case}");
            let run_json = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
            let notices = serde_json::from_str::<serde_json::Value>(&run_json).unwrap()["notices"]
                .to_string();
            assert!(
                notices.contains("zero: the server reported 0 output tokens for 3 responses"),
                "{case}: {notices}"
            );
            assert!(
                !notices.contains("honest: the server reported 0"),
                "{case}: {notices}"
            );
            // Told where no notice is printed too: in the table a quiet race and a headless
            // replay print, and in a report rebuilt from the replay.
            let told =
                "zero: the server reported 0 output tokens for 3 responses that carried text";
            let table = llmrace::report::table::render(&outcome.summary.endpoints);
            assert!(table.contains(told), "{case}: {table}");
            assert!(
                !table.contains("honest: the server reported 0"),
                "{case}: {table}"
            );
            let rebuilt =
                llmrace::replay::load::from_replay_file(dir.path(), Records::Skip).unwrap();
            assert!(
                rebuilt.info.notices.iter().any(|n| n.starts_with(told)),
                "{case}: {:?}",
                rebuilt.info.notices
            );
        }
    }
}

#[tokio::test]
async fn input_tokens_mean_the_same_whatever_the_protocol_and_cache_tokens_are_priced_apart() {
    let dir = tempfile::tempdir().unwrap();
    let profile = "mock://instant,tokens=12,cache_read=8,cache_write=3#m";
    let mut config = race_config(
        &[
            &format!("o=openai:{profile}"),
            &format!("a=anthropic:{profile}"),
        ],
        4,
        1,
    );
    let price = Price {
        input: 3.0,
        cached_input: Some(0.3),
        cache_write: Some(3.75),
        output: 15.0,
    };
    for endpoint in &mut config.endpoints {
        endpoint.price = Some(price);
    }
    let outcome = run(config, dir.path()).await;
    let records = records(dir.path());
    let of = |name: &str| -> Vec<&RequestRecord> {
        let mut v: Vec<_> = records.iter().filter(|r| r.endpoint_name == name).collect();
        v.sort_by_key(|r| r.prompt);
        v
    };
    for (o, a) in of("o").into_iter().zip(of("a")) {
        assert_eq!(o.prompt, a.prompt);
        let input = o.input_tokens.unwrap();
        assert!(input > 11, "the prompts are longer than the cache: {o:?}");
        // The same prompt counts the same through either protocol, cached tokens included.
        assert_eq!(a.input_tokens, Some(input), "{a:?}");
        assert_eq!(a.input_tokens_source, Some(TokenSource::Usage));
        assert_eq!(
            (o.cached_input_tokens, a.cached_input_tokens),
            (Some(8), Some(8))
        );
        // OpenAI does not report cache writes; Anthropic does, and leaves cached tokens out of
        // its own `input_tokens`, which the record keeps as the server sent it.
        assert_eq!(o.cache_write_input_tokens, None);
        assert_eq!(a.cache_write_input_tokens, Some(3));
        assert_eq!(a.usage_reported.get("input_tokens"), Some(&(input - 11)));
        assert_eq!(o.usage_reported.get("prompt_tokens"), Some(&input));
    }
    let [o, a] = &outcome.summary.endpoints[..] else {
        panic!("two endpoints");
    };
    assert_eq!(o.tokens.input, a.tokens.input);
    assert_eq!((o.tokens.cached_input, a.tokens.cached_input), (32, 32));
    assert_eq!(a.tokens.cache_write_input, 12);
    let bill = |t: &llmrace::stats::snapshot::Tokens| {
        ((t.input - t.cached_input - t.cache_write_input) as f64 * 3.0
            + t.cached_input as f64 * 0.3
            + t.cache_write_input as f64 * 3.75
            + t.output as f64 * 15.0)
            / 1e6
    };
    for e in [o, a] {
        let cost = outcome.summary.costs[&e.name].total_usd;
        assert!((cost - bill(&e.tokens)).abs() < 1e-12, "{}: {cost}", e.name);
    }
}
