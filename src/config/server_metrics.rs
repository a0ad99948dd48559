//! Where an endpoint's server metrics are scraped: `server_metrics = "http://host:8000/metrics"`
//! in an `[[endpoint]]` table or `--server-metrics NAME=URL`, `false` (`NAME=off`) for none, and
//! left out for the automatic `/metrics` on the origin of an openai-protocol endpoint.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::EndpointConfig;
use super::error::{ConfigError, Location};
use super::validate::{Problem, authority_port};
use crate::protocol::Protocol;
use crate::spelling::did_you_mean;

/// An endpoint's `server_metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ServerMetricsSource {
    /// Left out: `/metrics` on the endpoint's origin is tried, for the openai protocols over
    /// http(s), and dropped without a word if the first try is not a metrics page.
    #[default]
    Auto,
    /// `false`: never scraped.
    Off,
    /// A URL the user named: scraped whatever the protocol; its failures are notices.
    Url(String),
}

impl ServerMetricsSource {
    pub fn is_auto(&self) -> bool {
        *self == ServerMetricsSource::Auto
    }
}

impl Serialize for ServerMetricsSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ServerMetricsSource::Auto => s.serialize_bool(true),
            ServerMetricsSource::Off => s.serialize_bool(false),
            ServerMetricsSource::Url(url) => s.serialize_str(url),
        }
    }
}

impl<'de> Deserialize<'de> for ServerMetricsSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ServerMetricsSource;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a URL such as \"http://localhost:8000/metrics\", or false to scrape none",
                )
            }
            fn visit_bool<E>(self, on: bool) -> Result<Self::Value, E> {
                Ok(if on {
                    ServerMetricsSource::Auto
                } else {
                    ServerMetricsSource::Off
                })
            }
            fn visit_str<E>(self, url: &str) -> Result<Self::Value, E> {
                Ok(ServerMetricsSource::Url(url.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

const EXAMPLE: &str = "write e.g. `server_metrics = \"http://localhost:8000/metrics\"`, or \
                       `server_metrics = false` to scrape none";

/// Checks a `server_metrics` URL: http(s), a host, a valid port, no credentials (llmrace sends
/// none to it, so a user name and password would be left unused, and shown).
pub fn url(url: &str) -> Result<(), Problem> {
    let shown = crate::secret::redact_url(url);
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Err(Problem::new(
            format!("server metrics URL `{shown}` must start with http:// or https://"),
            EXAMPLE,
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(Problem::new(
            format!("server metrics URL `{shown}` has no host or contains spaces"),
            EXAMPLE,
        ));
    }
    if authority.contains('@') {
        return Err(Problem::new(
            format!("server metrics URL `{shown}` holds credentials"),
            "llmrace sends no credentials to a metrics page (never the endpoint's key \
             either); give a URL the server answers without them",
        ));
    }
    authority_port(authority).map_err(|problem| {
        Problem::new(
            format!("server metrics URL `{shown}`: {problem}"),
            "write the port the metrics are served on, e.g. `http://localhost:8000/metrics`",
        )
    })?;
    Ok(())
}

/// Whether llmrace tries `/metrics` by itself for an endpoint of `protocol` at `base_url`:
/// the openai protocols over http(s) (and their built-in mocks): vLLM, SGLang, llama.cpp and
/// TGI serve them, and the Responses API, beside `/metrics`.
pub fn tried_by_default(protocol: Protocol, base_url: &str) -> bool {
    matches!(
        protocol,
        Protocol::OpenAiChat
            | Protocol::OpenAiCompletions
            | Protocol::Responses
            | Protocol::OpenAiEmbeddings
    ) && ["http://", "https://", "mock://"]
        .iter()
        .any(|scheme| base_url.starts_with(scheme))
}

/// Applies `--server-metrics NAME=URL` (or `NAME=off`) to endpoint NAME, from -e or the file.
pub(crate) fn apply_flags(
    endpoints: &mut [EndpointConfig],
    flags: &[String],
) -> Result<(), ConfigError> {
    let names: Vec<String> = endpoints.iter().map(|e| e.name.clone()).collect();
    let listed = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let example = names.first().map_or("NAME", String::as_str);
    let fail = |problem: String, help: String| {
        ConfigError::invalid(Location::CommandLine, "--server-metrics", problem, help)
    };
    let mut seen = Vec::new();
    for flag in flags {
        let format_help = format!(
            "write NAME=URL, e.g. `--server-metrics {example}=http://localhost:8000/metrics`, \
             or NAME=off; endpoints: {listed}"
        );
        let Some((name, value)) = flag.split_once('=') else {
            return Err(fail(
                format!(
                    "`{}` is not NAME=URL",
                    crate::secret::redact_url(flag.trim())
                ),
                format_help,
            ));
        };
        let (name, value) = (name.trim(), value.trim());
        let Some(index) = names.iter().position(|n| n == name) else {
            let help =
                match did_you_mean(name, &names.iter().map(String::as_str).collect::<Vec<_>>()) {
                    Some(guess) => format!("did you mean `{guess}`? endpoints: {listed}"),
                    None => format_help,
                };
            return Err(fail(
                format!("`{name}` is not an endpoint of this race"),
                help,
            ));
        };
        if seen.contains(&index) {
            return Err(fail(
                format!("endpoint `{name}` is given --server-metrics twice"),
                "give one --server-metrics NAME=URL per endpoint".to_string(),
            ));
        }
        seen.push(index);
        let source = if matches!(value, "off" | "false" | "none") {
            ServerMetricsSource::Off
        } else {
            url(value).map_err(|p| {
                fail(
                    format!("for endpoint `{name}`: {}", p.problem),
                    format!(
                        "write e.g. `--server-metrics {name}=http://localhost:8000/metrics`, \
                         or `{name}=off` to scrape none"
                    ),
                )
            })?;
            ServerMetricsSource::Url(value.to_string())
        };
        if let Some(endpoint) = endpoints.get_mut(index) {
            endpoint.server_metrics = source;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(url("http://127.0.0.1:8000/metrics").is_ok());
        assert!(url("https://vllm.internal/metrics?x=1").is_ok());
        let e = url("ftp://h/metrics").unwrap_err();
        assert!(e.problem.contains("http://"), "{}", e.problem);
        let e = url("http://u:sk-secret@h/metrics").unwrap_err();
        assert!(e.problem.contains("credentials"), "{}", e.problem);
        assert!(!e.problem.contains("sk-secret"), "{}", e.problem);
        assert!(url("http://h:99999/metrics").is_err());
        assert!(url("http:///metrics").is_err());
        assert!(url("mock://steady").is_err());
    }

    #[test]
    fn the_openai_protocols_over_http_are_tried_by_default() {
        assert!(tried_by_default(Protocol::OpenAiChat, "http://h:8000/v1"));
        assert!(tried_by_default(Protocol::Responses, "http://h:8000/v1"));
        assert!(tried_by_default(
            Protocol::OpenAiCompletions,
            "mock://steady"
        ));
        assert!(!tried_by_default(
            Protocol::Anthropic,
            "https://api.anthropic.com/v1"
        ));
        assert!(!tried_by_default(
            Protocol::Ollama,
            "http://127.0.0.1:11434"
        ));
    }

    fn endpoints() -> Vec<EndpointConfig> {
        ["a", "b"]
            .iter()
            .map(|name| EndpointConfig {
                name: (*name).to_string(),
                protocol: Protocol::OpenAiChat,
                base_url: "http://127.0.0.1:8000/v1".into(),
                model: "m".into(),
                api_key_env: None,
                headers: std::collections::BTreeMap::new(),
                body: serde_json::Map::new(),
                concurrency: None,
                max_tokens: None,
                color: None,
                price: None,
                server_metrics: ServerMetricsSource::Auto,
                http: crate::config::HttpVersion::Auto,
            })
            .collect()
    }

    #[test]
    fn flags_set_urls_and_turn_scraping_off() {
        let mut list = endpoints();
        let (a, b) = (list[0].name.clone(), list[1].name.clone());
        let flags = [
            format!("{a}=http://127.0.0.1:9/metrics"),
            format!("{b}=off"),
        ];
        apply_flags(&mut list, &flags).unwrap();
        assert_eq!(
            list[0].server_metrics,
            ServerMetricsSource::Url("http://127.0.0.1:9/metrics".into())
        );
        assert_eq!(list[1].server_metrics, ServerMetricsSource::Off);
    }

    #[test]
    fn bad_flags_say_what_and_how() {
        let mut list = endpoints();
        let a = list[0].name.clone();
        let error = |list: &mut Vec<EndpointConfig>, flags: &[String]| {
            apply_flags(list, flags).unwrap_err().to_string()
        };
        let e = error(&mut list, &["nobody=http://h/metrics".to_string()]);
        assert!(
            e.contains("not an endpoint") && e.contains("--server-metrics"),
            "{e}"
        );
        let e = error(&mut list, &[format!("{a}=localhost:8000")]);
        assert!(e.contains("http://"), "{e}");
        let e = error(&mut list, &["http://h/metrics?key=sk-x".to_string()]);
        assert!(e.contains("NAME=URL") && !e.contains("sk-x"), "{e}");
        let twice = [format!("{a}=off"), format!("{a}=off")];
        assert!(error(&mut list, &twice).contains("twice"));
    }

    #[test]
    fn the_race_file_value_reads_as_a_url_or_false() {
        #[derive(Deserialize)]
        struct T {
            s: ServerMetricsSource,
        }
        let read = |text: &str| toml::from_str::<T>(text).map(|t| t.s);
        assert_eq!(read("s = false").unwrap(), ServerMetricsSource::Off);
        assert_eq!(read("s = true").unwrap(), ServerMetricsSource::Auto);
        assert_eq!(
            read("s = \"http://h/metrics\"").unwrap(),
            ServerMetricsSource::Url("http://h/metrics".into())
        );
        let e = read("s = 3").unwrap_err().to_string();
        assert!(e.contains("false to scrape none"), "{e}");
    }
}
