//! The demo race: what `llmrace` runs with nothing configured. Four built-in mock endpoints,
//! one per protocol, so a first run shows every part of the product in about 15 seconds.

use std::collections::BTreeMap;

use crate::protocol::Protocol;

use super::{
    EndpointConfig, LoadConfig, MOCK_MODEL, PromptSource, RaceConfig, Slo, Timeouts, WorkloadConfig,
};

/// The demo race: `chat` prompts against the `turbo`, `steady`, `thinker` and `flaky` mocks.
pub fn demo_race() -> RaceConfig {
    RaceConfig {
        name: "demo".to_string(),
        workload: WorkloadConfig {
            prompts: PromptSource::Builtin("chat".to_string()),
            max_tokens: Some(96),
            temperature: None,
            stream: true,
            shuffle: false,
            seed: 0,
            sharegpt_output_len: false,
        },
        load: LoadConfig {
            requests: Some(24),
            duration: None,
            concurrency: 4,
            warmup_requests: 0,
            warm_connections: true,
            rate: None,
            ramp: None,
            arrivals: crate::pace::Arrivals::Constant,
            max_in_flight: None,
            laps: false,
            concurrency_ramp: None,
            arrival_seed: None,
            retries: 0,
        },
        timeouts: Timeouts::default(),
        slo: Slo::default(),
        endpoints: vec![
            mock("turbo", Protocol::OpenAiChat, "cyan"),
            mock("steady", Protocol::Anthropic, "green"),
            mock("thinker", Protocol::OpenAiChat, "yellow"),
            mock("flaky", Protocol::Ollama, "magenta"),
        ],
        fail_if: Vec::new(),
    }
}

fn mock(profile: &str, protocol: Protocol, color: &str) -> EndpointConfig {
    EndpointConfig {
        name: profile.to_string(),
        protocol,
        base_url: format!("mock://{profile}"),
        model: MOCK_MODEL.to_string(),
        api_key_env: None,
        headers: BTreeMap::new(),
        body: serde_json::Map::new(),
        concurrency: None,
        max_tokens: None,
        color: Some(color.to_string()),
        price: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_race_exercises_every_protocol() {
        let race = demo_race();
        for protocol in [Protocol::OpenAiChat, Protocol::Anthropic, Protocol::Ollama] {
            assert!(race.endpoints.iter().any(|e| e.protocol == protocol));
        }
        let mut names: Vec<&str> = race.endpoints.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 4);
        for endpoint in &race.endpoints {
            assert!(crate::config::validate::base_url(&endpoint.base_url).is_ok());
        }
    }
}
