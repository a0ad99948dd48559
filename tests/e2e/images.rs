//! Prompts with images, raced against the built-in mock on 127.0.0.1: generated images make
//! every request larger and the mock's first token later (it counts the images as input), a
//! JSONL file's images reach the server, the replay keeps descriptions rather than bytes, and
//! an endpoint that cannot carry images stops the race before it starts.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::process::Command;

use crate::common::race::{race_config, records, run};
use crate::common::running::BIN;
use llmrace::config::{ImageSpec, PromptSource, RaceConfig};
use llmrace::stats::{Outcome, RequestRecord};

const PROTOCOLS: [&str; 4] = ["openai", "anthropic", "ollama", "gemini"];

fn config(protocol: &str, images: Option<ImageSpec>) -> RaceConfig {
    let spec = format!("ep={protocol}:mock://instant,tokens=4#m");
    let mut config = race_config(&[&spec], 3, 1);
    config.workload.prompts = PromptSource::Inline(vec!["What is in this picture?".into()]);
    config.workload.images = images;
    config
}

async fn race(config: RaceConfig) -> (tempfile::TempDir, Vec<RequestRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(config, dir.path()).await;
    assert_eq!(outcome.summary.endpoints[0].counts.succeeded, 3);
    let records = records(dir.path());
    assert!(records.iter().all(|r| r.outcome == Outcome::Succeeded));
    (dir, records)
}

/// The replay's events as JSON lines.
fn replay_text(dir: &Path) -> String {
    crate::common::replay_lines::json_lines(dir)
}

#[tokio::test]
async fn generated_images_make_requests_larger_and_the_first_token_later() {
    let two = ImageSpec {
        count: 2,
        width: 512,
        height: 512,
    };
    for protocol in PROTOCOLS {
        let (_, plain) = race(config(protocol, None)).await;
        let (dir, pictured) = race(config(protocol, Some(two))).await;
        for (text, image) in plain.iter().zip(&pictured) {
            // Two 512×512 PNGs, base64 in the body: hundreds of kB more on the wire.
            assert!(
                image.bytes_sent > text.bytes_sent + 200_000,
                "{protocol}: {} vs {} bytes",
                image.bytes_sent,
                text.bytes_sent
            );
            // The mock counts each image as 512 × 512 / 750 = 350 input tokens...
            assert_eq!(
                image.input_tokens.unwrap(),
                text.input_tokens.unwrap() + 700,
                "{protocol}"
            );
            // ...and takes 100 µs a token to read them before its first token (the instant
            // profile has no other delay): at least 70 ms.
            assert!(image.ttft_ms.unwrap() >= 70.0, "{protocol}: {image:?}");
        }
        // The summary and the table tell the request size.
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap())
                .unwrap();
        let sent = summary["endpoints"][0]["tokens"]["request_bytes"]
            .as_u64()
            .unwrap();
        assert_eq!(sent, pictured.iter().map(|r| r.bytes_sent).sum::<u64>());
        // The replay keeps each image as a description: a few kB, not the megabyte sent.
        let replay = replay_text(dir.path());
        assert!(replay.len() < 64_000, "{protocol}: {} bytes", replay.len());
        assert!(
            !replay.contains("iVBORw0KGgo"),
            "{protocol}: PNG bytes in the replay"
        );
        assert!(replay.contains(r#""source":"generated #2""#), "{protocol}");
        assert!(replay.contains(r#""width":512"#), "{protocol}");
    }
}

#[tokio::test]
async fn a_jsonl_files_images_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, 300, 250);
    encoder.set_color(png::ColorType::Grayscale);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&vec![128; 300 * 250]).unwrap();
    writer.finish().unwrap();
    std::fs::write(dir.path().join("cat.png"), &png).unwrap();
    let prompts = dir.path().join("prompts.jsonl");
    std::fs::write(
        &prompts,
        "{\"prompt\": \"What is in this picture?\", \"images\": [\"cat.png\"]}\n",
    )
    .unwrap();
    let mut config = config("openai", None);
    config.workload.prompts = PromptSource::File(prompts);
    let (_, with) = race(config).await;
    let (_, without) = race(self::config("openai", None)).await;
    // 300 × 250 / 750 = 100 tokens of image.
    assert_eq!(
        with[0].input_tokens.unwrap(),
        without[0].input_tokens.unwrap() + 100
    );
}

#[tokio::test]
async fn a_completions_endpoint_with_images_stops_the_race_before_it_starts() {
    let spec = "legacy=openai-completions:mock://instant#m";
    let mut config = race_config(&[spec], 1, 1);
    config.workload.images = Some(ImageSpec {
        count: 1,
        width: 8,
        height: 8,
    });
    let dir = tempfile::tempdir().unwrap();
    let error = crate::common::race::attempt(config, dir.path())
        .await
        .err()
        .unwrap();
    assert_eq!(error.exit_code(), 2);
    let message = error.to_string();
    assert!(message.contains("endpoint `legacy`"), "{message}");
    assert!(message.contains("cannot carry images"), "{message}");
    assert!(message.contains("protocol \"openai\""), "{message}");
}

#[test]
fn the_images_flag_races_from_the_command_line_and_bad_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = Command::new(BIN)
        .args([
            "race",
            "-e",
            "pic=anthropic:mock://instant,tokens=4#m",
            "-n",
            "2",
            "--images",
            "1x256x128",
            "--headless",
            "-q",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let records = records(&out);
    // 256 × 128 / 750 = 43.7: 44 tokens of image on every request.
    assert!(records.iter().all(|r| r.input_tokens.unwrap() > 44));
    let bad = Command::new(BIN)
        .args(["race", "--images", "512", "-n", "1"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("WIDTHxHEIGHT such as 512x512"), "{stderr}");
}
