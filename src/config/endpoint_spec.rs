//! Endpoints given on the command line: `-e NAME=PROTOCOL:URL#MODEL`, and the API key
//! variables of endpoints given with `--api-key-env NAME=VAR`.

use std::collections::BTreeMap;

use super::error::{ConfigError, Location, shown};
use super::validate::{self, PROTOCOL_NAMES, Problem};
use super::{EndpointConfig, MOCK_MODEL};
use crate::spelling::did_you_mean;

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
        price: None,
        server_metrics: crate::config::ServerMetricsSource::Auto,
        http: crate::config::HttpVersion::Auto,
    })
}

/// The example variable in `--api-key-env` help texts.
const EXAMPLE_VAR: &str = "OPENAI_API_KEY";

/// Applies `--api-key-env NAME=VAR` flags: endpoint NAME (from `-e` or the race file) reads its
/// API key from variable VAR. Messages echo nothing typed in these flags except a known endpoint
/// name: a key pasted here by mistake must not be printed back into a terminal or CI log.
pub(crate) fn apply_api_key_envs(
    endpoints: &mut [EndpointConfig],
    flags: &[String],
) -> Result<(), ConfigError> {
    let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
    let mut chosen: Vec<(usize, &str)> = Vec::with_capacity(flags.len());
    for (position, flag) in flags.iter().enumerate() {
        let (index, var) = api_key_env(flag, &names).map_err(|p| {
            ConfigError::invalid(
                Location::CommandLine,
                api_key_env_flag(position, flags.len()),
                p.problem,
                p.help,
            )
        })?;
        if chosen.iter().any(|(i, _)| *i == index) {
            return Err(ConfigError::invalid(
                Location::CommandLine,
                api_key_env_flag(position, flags.len()),
                format!("endpoint `{}` is given --api-key-env twice", names[index]),
                "give one --api-key-env NAME=VAR per endpoint",
            ));
        }
        chosen.push((index, var));
    }
    for (index, var) in chosen {
        if let Some(endpoint) = endpoints.get_mut(index) {
            endpoint.api_key_env = Some(var.to_string());
        }
    }
    Ok(())
}

/// Which `--api-key-env` a message is about: its position when there are several, since the
/// value itself may not be echoed.
fn api_key_env_flag(position: usize, count: usize) -> String {
    if count == 1 {
        "--api-key-env".to_string()
    } else {
        format!("--api-key-env (value {} of {count})", position + 1)
    }
}

/// The part before `=` of an `--api-key-env` that names no endpoint, as a message shows it: a
/// name made of short words (`lt-lbridge`, `llama-3-8b`) is echoed; anything longer, odder,
/// or with a long run of letters and digits (as keys have) is not, in case it is a key pasted
/// in the wrong place.
fn shown_name(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    let longest_word = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if plain && name.len() <= 32 && longest_word <= 12 {
        format!("the name before `=`, `{name}`,")
    } else {
        format!(
            "the name before `=` ({} characters, not shown in case it is a key)",
            name.chars().count()
        )
    }
}

/// One `NAME=VAR`: the index of endpoint NAME in `names`, and VAR.
fn api_key_env<'a>(flag: &'a str, names: &[&str]) -> Result<(usize, &'a str), Problem> {
    let listed = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let example = names.first().copied().unwrap_or("NAME");
    let format_help = format!(
        "write NAME=VAR, e.g. `--api-key-env {example}={EXAMPLE_VAR}` after \
         `export {EXAMPLE_VAR}=...`; endpoints: {listed}"
    );
    let Some((name, var)) = flag.split_once('=') else {
        return Err(Problem::new(
            "expected NAME=VAR (an endpoint's name, `=`, then the environment variable that \
             holds its API key)",
            format_help,
        ));
    };
    let (name, var) = (name.trim(), var.trim());
    if name.is_empty() {
        return Err(Problem::new(
            "the endpoint name before `=` is empty",
            format_help,
        ));
    }
    let index = names.iter().position(|n| *n == name);
    if let Err(p) = validate::env_var_name(var) {
        let problem = match index {
            Some(_) => format!("for endpoint `{name}`, the part after `=` {}", p.problem),
            None => format!("the part after `=` {}", p.problem),
        };
        let example = index.map_or(example, |_| name);
        return Err(Problem::new(
            problem,
            format!(
                "give the variable's NAME, e.g. `--api-key-env {example}={EXAMPLE_VAR}`, and \
                 export the key in it (`export {EXAMPLE_VAR}=...`); never put the key itself \
                 on the command line, where shell history and process lists keep it"
            ),
        ));
    }
    let Some(index) = index else {
        let help = match did_you_mean(name, names) {
            Some(guess) => format!("did you mean `{guess}`? endpoints: {listed}"),
            None => format!(
                "NAME must be an endpoint of this race (from -e or the race file); \
                 endpoints: {listed}"
            ),
        };
        return Err(Problem::new(
            format!("{} is not an endpoint of this race", shown_name(name)),
            help,
        ));
    };
    Ok((index, var))
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

        let e = parse_endpoint_spec(
            "g=gemini:https://generativelanguage.googleapis.com#gemini-2.5-flash",
        )?;
        assert_eq!(e.protocol, Protocol::Gemini);
        assert_eq!(e.base_url, "https://generativelanguage.googleapis.com");
        assert_eq!(e.model, "gemini-2.5-flash");

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
