//! Endpoints given on the command line: `-e NAME=PROTOCOL:URL#MODEL`.

use std::collections::BTreeMap;

use super::error::{ConfigError, Location, shown};
use super::validate::{self, PROTOCOL_NAMES, Problem};
use super::{EndpointConfig, MOCK_MODEL};

const FORMAT_HELP: &str = "write NAME=PROTOCOL:URL#MODEL, e.g. \
    `-e fast=openai:http://localhost:8000/v1#llama3` or `-e t=anthropic:mock://turbo`";

/// Parses `NAME=PROTOCOL:URL#MODEL`. The URL holds colons of its own, so the protocol ends at
/// the first `:` after the `=`; `#MODEL` may be left out for `mock://` URLs (model "mock").
pub fn parse_endpoint_spec(spec: &str) -> Result<EndpointConfig, ConfigError> {
    parse(spec).map_err(|p| {
        ConfigError::invalid(
            Location::CommandLine,
            format!("--endpoint {}", shown(spec)),
            p.problem,
            p.help,
        )
    })
}

fn parse(spec: &str) -> Result<EndpointConfig, Problem> {
    let Some((name, rest)) = spec.split_once('=') else {
        return Err(Problem::new("no `NAME=` before the protocol", FORMAT_HELP));
    };
    let name = name.trim();
    validate::endpoint_name(name).map_err(|p| Problem::new(p.problem, FORMAT_HELP))?;
    let Some((protocol, target)) = rest.split_once(':') else {
        return Err(Problem::new("no `PROTOCOL:` before the URL", FORMAT_HELP));
    };
    if matches!(protocol, "http" | "https" | "mock") {
        return Err(Problem::new(
            "the protocol is missing (the URL came right after `=`)",
            format!(
                "put one of {} before the URL, e.g. `{name}=openai:{}`",
                PROTOCOL_NAMES.join(", "),
                crate::secret::redact_url(rest)
            ),
        ));
    }
    let protocol = validate::protocol(protocol)?;
    let (url, model) = match target.split_once('#') {
        Some((url, model)) => (url, Some(model)),
        None => (target, None),
    };
    validate::base_url(url)?;
    let model = match model {
        Some(model) => {
            validate::model(model).map_err(|p| Problem::new(p.problem, FORMAT_HELP))?;
            model.to_string()
        }
        None if url.starts_with("mock://") => MOCK_MODEL.to_string(),
        None => {
            return Err(Problem::new(
                "no model given",
                format!(
                    "add `#MODEL` after the URL, e.g. `{}#llama3.2`",
                    crate::secret::redact_url(spec)
                ),
            ));
        }
    };
    Ok(EndpointConfig {
        name: name.to_string(),
        protocol,
        base_url: url.to_string(),
        model,
        api_key_env: None,
        headers: BTreeMap::new(),
        body: serde_json::Map::new(),
        concurrency: None,
        max_tokens: None,
        color: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn parses_full_specs() -> TestResult {
        let e = parse_endpoint_spec("fast=openai:http://localhost:8000/v1#llama3")?;
        assert_eq!(e.name, "fast");
        assert_eq!(e.protocol, Protocol::OpenAiChat);
        assert_eq!(e.base_url, "http://localhost:8000/v1");
        assert_eq!(e.model, "llama3");

        let e = parse_endpoint_spec("o=ollama:http://127.0.0.1:11434#llama3.2:3b")?;
        assert_eq!(e.protocol, Protocol::Ollama);
        assert_eq!(e.base_url, "http://127.0.0.1:11434");
        assert_eq!(e.model, "llama3.2:3b");

        let e = parse_endpoint_spec("a=anthropic:mock://turbo#claude")?;
        assert_eq!(e.protocol, Protocol::Anthropic);
        assert_eq!(e.base_url, "mock://turbo");
        assert_eq!(e.model, "claude");

        let e = parse_endpoint_spec("c=openai-completions:mock://steady,ttft=200ms")?;
        assert_eq!(e.protocol, Protocol::OpenAiCompletions);
        assert_eq!(e.base_url, "mock://steady,ttft=200ms");
        assert_eq!(e.model, "mock");
        Ok(())
    }

    fn error_of(spec: &str) -> String {
        parse_endpoint_spec(spec)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn explains_what_is_wrong() {
        let e = error_of("fast=openai:http://localhost:8000/v1");
        assert!(e.contains("add `#MODEL`"), "{e}");
        assert!(e.contains("--endpoint"), "{e}");
        let e = error_of("fast=http://localhost:8000/v1#m");
        assert!(e.contains("protocol is missing"), "{e}");
        let e = error_of("fast=opneai:http://h/v1#m");
        assert!(e.contains("did you mean `openai`"), "{e}");
        let e = error_of("openai:http://h/v1#m");
        assert!(e.contains("NAME="), "{e}");
        let e = error_of("=openai:http://h/v1#m");
        assert!(e.contains("name is empty"), "{e}");
        let e = error_of("x=openai:localhost:8000#m");
        assert!(e.contains("http://"), "{e}");
        let e = error_of("x=openai:mock://nope");
        assert!(e.contains("unknown mock profile"), "{e}");
        let e = error_of("x=openai:http://h/v1?key=sk-secret");
        assert!(e.contains("#MODEL") && !e.contains("sk-secret"), "{e}");
    }
}
