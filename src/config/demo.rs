//! The demo race: what `llmrace` runs with nothing configured. Four built-in mock endpoints,
//! one per protocol, so a first run shows every part of the product in about 15 seconds.

use std::collections::BTreeMap;

use crate::protocol::Protocol;

use super::{EndpointConfig, MOCK_MODEL, PromptSource, RaceConfig, bare_race};

/// The demo race's name: its dashboard ends on the arena, so a first run shows the point.
pub const DEMO_NAME: &str = "demo";

/// The demo race: `chat` prompts against the `turbo`, `steady`, `thinker` and `flaky` mocks.
pub fn demo_race() -> RaceConfig {
    let mut race = bare_race();
    race.name = DEMO_NAME.to_string();
    race.workload.prompts = PromptSource::Builtin("chat".to_string());
    race.workload.max_tokens = Some(96);
    // As many as the `chat` set has prompts: no prompt is sent twice, so no server cache
    // answers a repeat.
    race.load.requests = Some(20);
    race.load.concurrency = 4;
    race.endpoints = vec![
        mock("turbo", Protocol::OpenAiChat, "cyan"),
        mock("steady", Protocol::Anthropic, "green"),
        mock("thinker", Protocol::OpenAiChat, "yellow"),
        mock("flaky", Protocol::Ollama, "magenta"),
    ];
    race
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
        server_metrics: crate::config::ServerMetricsSource::Auto,
        http: crate::config::HttpVersion::Auto,
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
