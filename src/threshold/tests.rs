use super::*;

fn ok(expr: &str) -> Threshold {
    match parse(expr) {
        Ok(t) => t,
        Err(e) => panic!("{expr}: {e}"),
    }
}

fn err(expr: &str) -> ThresholdError {
    match parse(expr) {
        Ok(t) => panic!("{expr} was accepted as {t:?}"),
        Err(e) => e,
    }
}

/// The caret line of an error: where it starts and how wide it is (in characters).
fn caret(e: &ThresholdError) -> (usize, usize) {
    let pointer = e.pointer("");
    let line = pointer.lines().nth(1).unwrap_or_default();
    let start = line.chars().take_while(|c| *c == ' ').count();
    (start, line.chars().count() - start)
}

#[test]
fn latency_thresholds_with_units() {
    let t = ok("ttft.p95 > 800ms");
    assert_eq!(t.metric, Metric::Latency(Latency::Ttft, Stat::P95));
    assert_eq!((t.op, t.limit, t.endpoint), (Op::Gt, 800.0, None));
    assert_eq!(ok("tpot.p99 > 80ms").limit, 80.0);
    assert_eq!(ok("ttlt.max >= 1.5s").limit, 1500.0);
    assert_eq!(ok("ttfb.min<500us").limit, 0.5);
    assert_eq!(ok("itl.mean <= 20 µs").limit, 0.02);
    assert_eq!(ok("ttfa.p50 < 2s").op, Op::Lt);
    assert_eq!(ok("ttft.p90 > 1 ms").limit, 1.0);
    assert_eq!(ok("  ttft.p95 > 800ms  ").text, "ttft.p95 > 800ms");
}

#[test]
fn rates_shares_and_costs() {
    let t = ok("error_rate > 1%");
    assert_eq!((t.metric, t.limit), (Metric::ErrorRate, 0.01));
    assert_eq!(ok("error_rate > 0.01").limit, 0.01);
    assert_eq!(ok("success_rate < 99%").limit, 0.99);
    assert_eq!(ok("success_rate < 1").limit, 1.0);
    // The workloads' shares read as the other shares do.
    let t = ok("cache_hit_rate > 10%");
    assert_eq!((t.metric, t.limit), (Metric::CacheHitRate, 0.1));
    assert_eq!(ok("repeat_share > 0.05").metric, Metric::RepeatShare);
    assert_eq!(ok("json_valid < 99%").limit, 0.99);
    assert!(err("cache_hit_rate > 50").to_string().contains("ambiguous"));
    assert_eq!(
        ok("output_tps.p50 < 20").metric,
        Metric::OutputTps(Stat::P50)
    );
    assert_eq!(ok("tokens_per_s < 150.5").limit, 150.5);
    assert_eq!(ok("rpm < 100").metric, Metric::Rpm);
    assert_eq!(ok("rps < 2").metric, Metric::Rps);
    assert_eq!(ok("goodput < 1.5").metric, Metric::Goodput);
    assert_eq!(ok("cost > 0.5").metric, Metric::Cost(CostBasis::Per1k));
    assert_eq!(ok("cost.per_1k > $0.50").limit, 0.5);
    assert_eq!(ok("cost.total > 10").metric, Metric::Cost(CostBasis::Total));
    let per_mtok = ok("cost.per_mtok >= 0.6").metric;
    assert_eq!(per_mtok, Metric::Cost(CostBasis::PerMillionOutput));
}

#[test]
fn parse_all_stops_at_the_first_error() {
    let exprs = ["rpm < 1".to_string(), "rpm < x".to_string()];
    assert_eq!(parse_all(&exprs[..1]).map(|t| t.len()), Ok(1));
    let e = parse_all(&exprs).err();
    assert_eq!(e.map(|e| e.expression), Some("rpm < x".to_string()));
}

#[test]
fn endpoint_prefixes() {
    let t = ok("vllm: ttft.p95 > 800ms");
    assert_eq!(t.endpoint.as_deref(), Some("vllm"));
    // Endpoint names may hold colons (`host:port`, `model:tag`): the last one splits.
    let t = ok("qwen2.5:32b: rpm < 100");
    assert_eq!(t.endpoint.as_deref(), Some("qwen2.5:32b"));
    assert_eq!(ok("a b:rpm<1").endpoint.as_deref(), Some("a b"));
}

#[test]
fn unknown_metric_points_at_it_and_suggests() {
    let e = err("vllm: ttftt.p95 > 800ms");
    assert_eq!(caret(&e), (6, 5));
    assert!(e.problem.contains("unknown metric `ttftt`"), "{e}");
    assert!(e.help.contains("did you mean `ttft`"), "{e}");
    assert!(e.help.contains("error_rate"), "{e}");
    let e = err("latency > 5ms");
    assert_eq!(caret(&e), (0, 7));
    assert!(!e.help.contains("did you mean"), "{e}");
}

#[test]
fn statistics_are_required_and_checked() {
    let e = err("ttft > 800ms");
    assert_eq!(caret(&e), (0, 4));
    assert!(e.help.contains("ttft.p95"), "{e}");
    let e = err("ttft.p42 > 800ms");
    assert_eq!(caret(&e), (5, 3));
    assert!(e.help.contains("p50, p90, p95, p99, mean, max, min"), "{e}");
    let e = err("ttft.p955 > 800ms");
    assert!(e.help.contains("did you mean `p95`"), "{e}");
    let e = err("rpm.p50 < 100");
    assert_eq!(caret(&e), (3, 4));
    assert!(e.problem.contains("no statistics"), "{e}");
    let e = err("cost.monthly > 1");
    assert_eq!(caret(&e), (5, 7));
    assert!(e.help.contains("per_1k"), "{e}");
}

#[test]
fn durations_need_units() {
    let e = err("ttft.p95 > 800");
    assert_eq!(caret(&e), (11, 3));
    assert!(e.problem.contains("needs a unit"), "{e}");
    assert!(e.help.contains("800ms"), "{e}");
    let e = err("ttft.p95 > 800 min");
    assert_eq!(caret(&e), (15, 3));
    assert!(e.problem.contains("unknown duration unit `min`"), "{e}");
    let e = err("rpm < 100ms");
    assert_eq!(caret(&e), (9, 2));
    assert!(e.problem.contains("plain number"), "{e}");
}

#[test]
fn ambiguous_or_impossible_shares_are_refused() {
    let e = err("error_rate > 5");
    assert_eq!(caret(&e), (13, 1));
    assert!(e.problem.contains("ambiguous"), "{e}");
    assert!(e.help.contains("5%"), "{e}");
    let e = err("success_rate < 120%");
    assert!(e.problem.contains("above 100%"), "{e}");
    let e = err("error_rate > 1 percent");
    assert_eq!(caret(&e), (15, 7));
}

#[test]
fn comparisons_are_checked() {
    let e = err("ttft.p95 800ms");
    assert!(e.problem.contains("no comparison"), "{e}");
    assert_eq!(caret(&e), (14, 1));
    let e = err("ttft.p95 == 800ms");
    assert_eq!(caret(&e), (9, 2));
    assert!(e.help.contains("`>=`"), "{e}");
    let e = err("ttft.p95 => 800ms");
    assert_eq!(caret(&e), (9, 2));
    let e = err("ttft.p95 != 800ms");
    assert_eq!(caret(&e), (9, 2));
    let e = err("1ms < ttft.p95 < 5ms");
    assert!(e.problem.contains("more than one comparison"), "{e}");
    assert_eq!(caret(&e), (15, 1));
}

#[test]
fn missing_and_malformed_parts() {
    let e = err("ttft.p95 >");
    assert!(e.problem.contains("no value"), "{e}");
    assert_eq!(caret(&e), (10, 1));
    let e = err("> 800ms");
    assert!(e.problem.contains("no metric"), "{e}");
    let e = err(": rpm < 1");
    assert!(e.problem.contains("endpoint name"), "{e}");
    assert_eq!(caret(&e), (0, 1));
    let e = err("rpm < -5");
    assert!(e.problem.contains("negative"), "{e}");
    let e = err("rpm < fast");
    assert!(e.problem.contains("not a number"), "{e}");
    assert_eq!(caret(&e), (6, 1));
    let e = err("rpm < 1.2.3");
    assert!(e.problem.contains("not a number"), "{e}");
    let e = err("rpm < $5");
    assert!(e.problem.contains("cost"), "{e}");
    let e = err("");
    assert!(e.problem.contains("no comparison"), "{e}");
}

#[test]
fn the_message_shows_the_expression_a_caret_and_what_is_allowed() {
    let e = err("vllm: ttftt.p95 > 800ms");
    let shown = e.to_string();
    let expected = "invalid threshold: unknown metric `ttftt`\n    vllm: ttftt.p95 > 800ms\n          ^^^^^\n  help: did you mean `ttft`?";
    assert!(shown.starts_with(expected), "{shown}");
}

#[test]
fn carets_count_characters_not_bytes() {
    let e = err("µé: ttft.p95 > 1 parsec");
    let (start, width) = caret(&e);
    assert_eq!((start, width), (17, 6), "{e}");
}

#[test]
fn tpot_and_itl_thresholds_need_a_streamed_race() {
    let thresholds = [ok("ttlt.p95 > 1s"), ok("itl: tpot.p95 > 50ms")];
    assert_eq!(check_streamed(&thresholds, true), Ok(()));
    assert_eq!(check_streamed(&thresholds[..1], false), Ok(()));
    let Err(e) = check_streamed(&thresholds, false) else {
        panic!("a TPOT threshold was accepted for a race that does not stream")
    };
    // The caret is under the metric, not the endpoint of the same letters.
    assert_eq!(caret(&e), (5, 4));
    assert!(e.problem.contains("does not stream"), "{e}");
    assert!(check_streamed(&[ok("itl.max > 1s")], false).is_err());
}

#[test]
fn endpoint_prefixes_must_name_an_endpoint() {
    let names = vec!["vllm".to_string(), "ollama".to_string()];
    let thresholds = [ok("ttft.p95 > 1s"), ok("vllm: rpm < 10")];
    assert_eq!(check_endpoints(&thresholds, &names), Ok(()));
    let e = check_endpoints(&[ok("  olama: rpm < 10")], &names).err();
    let Some(e) = e else {
        panic!("an unknown endpoint was accepted")
    };
    assert_eq!(caret(&e), (0, 5));
    assert!(e.problem.contains("no endpoint is named `olama`"), "{e}");
    assert!(e.help.contains("did you mean `ollama`"), "{e}");
    assert!(e.help.contains("vllm, ollama"), "{e}");
}
