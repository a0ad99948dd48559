//! Each page in tests/fixtures/server-metrics/ read into the reading it should give (how each
//! page was made: that folder's README.md).

use std::fmt::Write as _;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/server-metrics/",
            $name
        ))
    };
}

const QWEN: Option<&str> = Some("Qwen/Qwen2.5-7B-Instruct");

#[test]
fn real_llamacpp_page_mid_race() {
    let page = read(fixture!("llamacpp-busy.txt"), Some("smollm2")).unwrap();
    assert_eq!(
        page.reading,
        ServerReading {
            server: Some(ServerKind::Llamacpp),
            queue: Some(2.0),
            running: Some(2.0),
            prefix_queries_total: Some(1074.0 + 998.0),
            prefix_hits_total: Some(998.0),
            spec_drafted_total: Some(0.0),
            spec_accepted_total: Some(0.0),
            ..ServerReading::default()
        }
    );
    assert_eq!(page.series.len(), 15);
    assert_eq!(
        page.series[0],
        ("llamacpp:prompt_tokens_total".to_owned(), 1074.0)
    );
}

#[test]
fn real_llamacpp_page_after_the_race() {
    let reading = read(fixture!("llamacpp-after.txt"), None).unwrap().reading;
    assert_eq!((reading.queue, reading.running), (Some(0.0), Some(0.0)));
    assert_eq!(reading.prefix_hits_total, Some(1464.0));
    assert_eq!(reading.prefix_queries_total, Some(1126.0 + 1464.0));
}

#[test]
fn vllm_v1_two_engines() {
    let page = read(fixture!("vllm-v1.txt"), QWEN).unwrap();
    assert_eq!(
        page.reading,
        ServerReading {
            server: Some(ServerKind::Vllm),
            queue: Some(7.0),
            running: Some(46.0),
            kv_cache: Some(0.8125),
            prefix_queries_total: Some(1_048_576.0 + 950_272.0),
            prefix_hits_total: Some(655_360.0 + 589_824.0),
            spec_drafted_total: Some(234_000.0),
            spec_accepted_total: Some(148_000.0),
            preemptions_total: Some(3.0),
            ..ServerReading::default()
        }
    );
    assert!(page.series.contains(&(
        "vllm:time_to_first_token_seconds_bucket{engine=\"0\",le=\"+Inf\",model_name=\"Qwen/Qwen2.5-7B-Instruct\"}"
            .to_owned(),
        1108.0
    )));
    // Another model's race on the same page sees everything (no series is labelled with it).
    assert_eq!(
        read(fixture!("vllm-v1.txt"), Some("other"))
            .unwrap()
            .reading,
        page.reading
    );
}

#[test]
fn vllm_v1_openmetrics_with_crlf_exemplars_and_eof() {
    let page = read(fixture!("vllm-v1-openmetrics.txt"), Some("tiny")).unwrap();
    assert_eq!(
        page.reading,
        ServerReading {
            server: Some(ServerKind::Vllm),
            queue: Some(0.0),
            running: Some(2.0),
            kv_cache: Some(0.031_25),
            prefix_queries_total: Some(4096.0),
            prefix_hits_total: Some(1024.0),
            preemptions_total: Some(0.0),
            ..ServerReading::default()
        }
    );
    assert_eq!(page.series.len(), 14);
}

#[test]
fn vllm_v0_states_its_rates() {
    let reading = read(fixture!("vllm-v0.txt"), None).unwrap().reading;
    assert_eq!(
        reading,
        ServerReading {
            server: Some(ServerKind::Vllm),
            queue: Some(3.0),
            running: Some(12.0),
            kv_cache: Some(0.4375),
            prefix_hit_rate: Some(0.625),
            spec_drafted_total: Some(100_000.0),
            spec_accepted_total: Some(71_000.0),
            spec_accept_rate: Some(0.71),
            preemptions_total: Some(7.0),
            ..ServerReading::default()
        }
    );
}

#[test]
fn sglang_two_data_parallel_ranks() {
    let reading = read(fixture!("sglang.txt"), Some("deepseek-ai/DeepSeek-V3"))
        .unwrap()
        .reading;
    let mean = |a: f64, b: f64| f64::midpoint(a, b);
    assert_eq!(
        reading,
        ServerReading {
            server: Some(ServerKind::Sglang),
            queue: Some(10.0),
            running: Some(93.0),
            kv_cache: Some(0.57),
            prefix_hit_rate: Some(mean(0.42, 0.38)),
            spec_accept_rate: Some(mean(0.8, 0.7)),
            preemptions_total: Some(3.0),
            ..ServerReading::default()
        }
    );
}

#[test]
fn tgi_queue_and_batch() {
    let reading = read(fixture!("tgi.txt"), Some("any")).unwrap().reading;
    assert_eq!(
        reading,
        ServerReading {
            server: Some(ServerKind::Tgi),
            queue: Some(9.0),
            running: Some(32.0),
            ..ServerReading::default()
        }
    );
}

#[test]
fn a_404_page_and_an_html_page_are_errors() {
    assert!(read("404 page not found\n", None).is_err());
    assert!(read("<html><body>Not Found</body></html>", None).is_err());
}

const PAGES: [&str; 7] = [
    fixture!("llamacpp-busy.txt"),
    fixture!("llamacpp-after.txt"),
    fixture!("vllm-v1.txt"),
    fixture!("vllm-v1-openmetrics.txt"),
    fixture!("vllm-v0.txt"),
    fixture!("sglang.txt"),
    fixture!("tgi.txt"),
];

proptest::proptest! {
    /// The fuzz target's promise on stable Rust, on the fixtures with random edits: no panic,
    /// and a page that reads, written back series by series, reads the same.
    #[test]
    fn edited_pages_never_panic_and_read_back_the_same(
        page in 0..PAGES.len(),
        edits in proptest::collection::vec((0.0..1.0f64, proptest::char::any()), 1..8),
    ) {
        let mut text: Vec<char> = PAGES[page].chars().collect();
        for (at, c) in edits {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a share of the length")]
            let at = (at * text.len() as f64) as usize;
            let last = text.len() - 1;
            text[at.min(last)] = c;
        }
        let text: String = text.into_iter().collect();
        if let Ok(page) = read(&text, Some("m")) {
            let mut written = String::new();
            for (series, value) in &page.series {
                let _ = writeln!(written, "{series} {value}");
            }
            let again = read(&written, Some("m")).unwrap();
            proptest::prop_assert_eq!(&again.reading, &page.reading);
            proptest::prop_assert_eq!(again.series.len(), page.series.len());
            for ((a, x), (b, y)) in again.series.iter().zip(&page.series) {
                proptest::prop_assert_eq!(a, b);
                proptest::prop_assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
            }
        }
    }
}
