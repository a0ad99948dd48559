//! Checks shared by the race file and the command line: each returns the resolved value or a
//! [`Problem`] (what is wrong, what to write instead) that the caller places in a file or flag.

use std::time::Duration;

use crate::protocol::Protocol;
use crate::spelling::did_you_mean;

use super::error::shown;

/// What is wrong with one value, before the caller says where the value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub problem: String,
    pub help: String,
}

impl Problem {
    pub fn new(problem: impl Into<String>, help: impl Into<String>) -> Problem {
        Problem {
            problem: problem.into(),
            help: help.into(),
        }
    }
}

/// The protocol names users write, as `Protocol`'s serde names spell them.
pub const PROTOCOL_NAMES: [&str; 8] = [
    "openai",
    "openai-completions",
    "anthropic",
    "ollama",
    "responses",
    "gemini",
    "bedrock",
    "openai-embeddings",
];

/// The built-in prompt sets, by name (the workload loads each).
pub const BUILTIN_SETS: [&str; 5] = ["chat", "rag", "code", "long", "tools"];

/// The mock server profiles named in help texts.
pub const MOCK_PROFILES: [&str; 6] = ["instant", "turbo", "steady", "thinker", "flaky", "slow"];

/// Endpoint colours: the terminal's 16 named colours, or `#rrggbb`.
pub const COLOR_NAMES: [&str; 16] = [
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "gray",
    "dark_gray",
    "light_red",
    "light_green",
    "light_yellow",
    "light_blue",
    "light_magenta",
    "light_cyan",
    "white",
];

pub fn protocol(name: &str) -> Result<Protocol, Problem> {
    // Parse through serde so the accepted names can never drift from `Protocol`'s own.
    if let Ok(protocol) = serde_json::from_value(serde_json::Value::String(name.to_string())) {
        return Ok(protocol);
    }
    let allowed = PROTOCOL_NAMES.join(", ");
    let help = match did_you_mean(name, &PROTOCOL_NAMES) {
        Some(guess) => format!("did you mean `{guess}`? allowed protocols: {allowed}"),
        None => format!("allowed protocols: {allowed}"),
    };
    Err(Problem::new(
        format!("unknown protocol {}", shown(name)),
        help,
    ))
}

#[cfg(test)]
pub fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::OpenAiChat => "openai",
        Protocol::OpenAiCompletions => "openai-completions",
        Protocol::Anthropic => "anthropic",
        Protocol::Ollama => "ollama",
        Protocol::Responses => "responses",
        Protocol::Gemini => "gemini",
        Protocol::Bedrock => "bedrock",
        Protocol::OpenAiEmbeddings => "openai-embeddings",
    }
}

/// Paths that protocols append to the base URL themselves; a base URL ending in one of them
/// would have it twice.
const PROTOCOL_PATHS: [&str; 6] = [
    "/chat/completions",
    "/completions",
    "/messages",
    "/api/chat",
    "/responses",
    "/embeddings",
];

pub fn base_url(url: &str) -> Result<(), Problem> {
    let examples = "write e.g. `http://localhost:8000/v1`, `https://api.anthropic.com/v1` \
                    or `mock://steady`";
    if let Some(spec) = url.strip_prefix("mock://") {
        return mock_spec(spec);
    }
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Err(Problem::new(
            format!(
                "base URL {} must start with http://, https:// or mock://",
                shown(url)
            ),
            examples,
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(Problem::new(
            format!("base URL {} has no host or contains spaces", shown(url)),
            examples,
        ));
    }
    authority_port(host).map_err(|problem| {
        Problem::new(
            format!("base URL {}: {problem}", shown(url)),
            "write the port the server listens on, or leave `:PORT` out for the scheme's \
             default (80 for http, 443 for https)",
        )
    })?;
    let path = url.trim_end_matches('/');
    if let Some(suffix) = PROTOCOL_PATHS.iter().find(|p| path.ends_with(*p)) {
        return Err(Problem::new(
            format!("base URL {} already ends with `{suffix}`", shown(url)),
            format!(
                "give the base only (e.g. `http://localhost:8000/v1`); llmrace appends \
                 `{suffix}` for the protocol itself"
            ),
        ));
    }
    if let Some(method) = [":streamGenerateContent", ":generateContent"]
        .into_iter()
        .find(|m| url.contains(m))
    {
        return Err(Problem::new(
            format!(
                "base URL {} already names a Gemini method (`{method}`)",
                shown(url)
            ),
            "give the server root (`https://generativelanguage.googleapis.com`) and the model \
             after `#` or in `model`; llmrace appends `/v1beta/models/MODEL:streamGenerateContent`",
        ));
    }
    Ok(())
}

/// The port an authority (`[userinfo@]host[:port]`, an IPv6 host in brackets) names, if any.
///
/// `http::Uri` reads a port that is not a `u16` as no port at all, so a typo such as `:99999`
/// would send the request, key included, to the scheme's default port: every URL's port is
/// read here instead, by the config checks and by the engine alike.
pub fn authority_port(authority: &str) -> Result<Option<u16>, String> {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let after_host = match host_port.rfind(']') {
        Some(end) => &host_port[end + 1..],
        None => host_port.find(':').map_or("", |colon| &host_port[colon..]),
    };
    let port = match after_host.strip_prefix(':') {
        // `host:` with nothing after the colon names no port (RFC 3986).
        Some("") => return Ok(None),
        Some(port) => port,
        None if after_host.is_empty() => return Ok(None),
        None => return Err(format!("`{after_host}` after the host is not `:PORT`")),
    };
    match port.parse::<u16>() {
        Ok(n) if n > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err(format!("port `{port}` is not a number from 1 to 65535")),
    }
}

/// A `mock://SPEC` profile spec: a profile name and/or `,KEY=VALUE` settings, as the mock
/// server reads it.
pub fn mock_spec(spec: &str) -> Result<(), Problem> {
    let help = format!(
        "write `mock://PROFILE` with a profile out of {}, optionally with settings such as \
         `mock://steady,ttft=200ms`",
        MOCK_PROFILES.join(", ")
    );
    match crate::mock::Profile::parse(spec) {
        Ok(_) => Ok(()),
        Err(crate::mock::ProfileError::UnknownProfile { name, .. }) => {
            let help = match did_you_mean(&name, &MOCK_PROFILES) {
                Some(guess) => format!("did you mean `{guess}`? {help}"),
                None => help,
            };
            Err(Problem::new(format!("unknown mock profile `{name}`"), help))
        }
        Err(e) => Err(Problem::new(format!("bad mock spec: {e}"), help)),
    }
}

pub fn endpoint_name(name: &str) -> Result<(), Problem> {
    let help = "give each endpoint a short unique name such as `vllm` or `gpt-4o`";
    if name.trim().is_empty() {
        return Err(Problem::new("endpoint name is empty", help));
    }
    if name.chars().any(char::is_control) || name.chars().count() > 64 {
        return Err(Problem::new(
            "endpoint name has control characters or is longer than 64 characters",
            help,
        ));
    }
    Ok(())
}

pub fn model(model: &str) -> Result<(), Problem> {
    if model.trim().is_empty() {
        return Err(Problem::new(
            "model is empty",
            "name the model the server should run, e.g. `llama3.2` or `gpt-4o-mini`",
        ));
    }
    Ok(())
}

/// The name of an environment variable. The value itself is never echoed: a user who pasted
/// the key here by mistake must not see it printed back into their terminal history or CI log.
pub fn env_var_name(name: &str) -> Result<(), Problem> {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(());
    }
    Err(Problem::new(
        "is not the name of an environment variable (letters, digits and `_`, not starting \
         with a digit)",
        "give the variable's NAME, e.g. `api_key_env = \"OPENAI_API_KEY\"`, and export the key \
         in that variable; never write the key itself into a race file",
    ))
}

pub fn header_name(name: &str) -> Result<(), Problem> {
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !name.is_empty() && name.chars().all(is_token) {
        return Ok(());
    }
    Err(Problem::new(
        format!("`{name}` is not a valid HTTP header name"),
        "header names use letters, digits and `-`, e.g. `X-Team`",
    ))
}

pub fn header_value(value: &str) -> Result<(), Problem> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(Problem::new(
            "header value contains a line break or NUL",
            "header values must be a single line",
        ));
    }
    Ok(())
}

pub fn color(color: &str) -> Result<(), Problem> {
    let normalized = color.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    let normalized = match normalized.as_str() {
        "grey" => "gray",
        "dark_grey" => "dark_gray",
        other => other,
    };
    let is_hex = normalized.len() == 7
        && normalized.starts_with('#')
        && normalized[1..].chars().all(|c| c.is_ascii_hexdigit());
    if is_hex || COLOR_NAMES.contains(&normalized) {
        return Ok(());
    }
    let names = COLOR_NAMES.join(", ");
    let help = match did_you_mean(normalized, &COLOR_NAMES) {
        Some(guess) => format!("did you mean `{guess}`? use one of {names}, or `#rrggbb`"),
        None => format!("use one of {names}, or `#rrggbb`"),
    };
    Err(Problem::new(format!("unknown color `{color}`"), help))
}

/// A positive duration such as `500ms`, `10s`, `2m` or `1h 30m`.
pub fn duration(text: &str) -> Result<Duration, Problem> {
    let help = "write a duration with a unit, e.g. \"500ms\", \"10s\", \"2m\" or \"1h 30m\"";
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err(Problem::new("duration must be longer than zero", help)),
        Ok(d) => Ok(d),
        Err(e) => Err(Problem::new(
            format!("`{text}` is not a duration ({e})"),
            help,
        )),
    }
}

pub fn at_least_one(value: u64, example: &str) -> Result<(), Problem> {
    if value == 0 {
        return Err(Problem::new(
            "must be at least 1",
            format!("write e.g. `{example}`"),
        ));
    }
    Ok(())
}

pub fn temperature(value: f32) -> Result<(), Problem> {
    if value.is_finite() && (0.0..=2.0).contains(&value) {
        return Ok(());
    }
    Err(Problem::new(
        format!("temperature {value} is out of range"),
        "use a number from 0.0 to 2.0 (Anthropic accepts up to 1.0), e.g. `temperature = 0.0`",
    ))
}

/// The most inputs one embeddings request carries (OpenAI's own limit).
pub const MAX_EMBED_BATCH: u32 = 2048;

pub fn embed_batch(n: u32) -> Result<u32, Problem> {
    if (1..=MAX_EMBED_BATCH).contains(&n) {
        return Ok(n);
    }
    Err(Problem::new(
        format!(
            "embed_batch {n} is out of range: an embeddings request carries 1 to {MAX_EMBED_BATCH} inputs"
        ),
        "write e.g. `embed_batch = 16` (each request embeds 16 prompts)",
    ))
}

pub fn builtin(name: &str) -> Result<(), Problem> {
    if BUILTIN_SETS.contains(&name) {
        return Ok(());
    }
    Err(Problem::new(
        format!("unknown built-in workload `{name}`"),
        format!("built-in workloads: {}", BUILTIN_SETS.join(", ")),
    ))
}

/// The largest synthetic prompt: far beyond any context window, but bounded so a typo cannot
/// make llmrace generate gigabytes.
pub const MAX_SYNTHETIC_TOKENS: u32 = 1_000_000;
/// The most synthetic prompts: each is built and kept in memory before the race.
pub const MAX_SYNTHETIC_COUNT: u32 = 100_000;

pub fn synthetic_tokens(tokens: u32) -> Result<u32, Problem> {
    if (1..=MAX_SYNTHETIC_TOKENS).contains(&tokens) {
        return Ok(tokens);
    }
    Err(Problem::new(
        format!("input_tokens must be from 1 to {MAX_SYNTHETIC_TOKENS}, not {tokens}"),
        "write the prompt length in tokens, e.g. `input_tokens = 512`",
    ))
}

pub fn synthetic_count(count: u32) -> Result<u32, Problem> {
    if (1..=MAX_SYNTHETIC_COUNT).contains(&count) {
        return Ok(count);
    }
    Err(Problem::new(
        format!("count must be from 1 to {MAX_SYNTHETIC_COUNT}, not {count}"),
        "write how many prompts to generate, e.g. `count = 100`",
    ))
}

/// The most generated images on one prompt, and the longest side of one: beyond what any
/// provider takes, and bounded so a typo cannot make gigabytes of request bodies.
pub const MAX_IMAGE_COUNT: u32 = 16;
pub const MAX_IMAGE_SIDE: u32 = 8192;

pub fn image_count(count: u32) -> Result<u32, Problem> {
    if (1..=MAX_IMAGE_COUNT).contains(&count) {
        return Ok(count);
    }
    Err(Problem::new(
        format!("count must be from 1 to {MAX_IMAGE_COUNT}, not {count}"),
        "write how many images each prompt carries, e.g. `count = 1`",
    ))
}

pub fn image_side(pixels: u32) -> Result<u32, Problem> {
    if (1..=MAX_IMAGE_SIDE).contains(&pixels) {
        return Ok(pixels);
    }
    Err(Problem::new(
        format!("an image side must be from 1 to {MAX_IMAGE_SIDE} pixels, not {pixels}"),
        "write the size in pixels, e.g. `width = 512, height = 512`",
    ))
}

/// `shared_prefix`'s `groups`: at least one, and no more than the most prompts.
pub fn prefix_groups(groups: u32) -> Result<u32, Problem> {
    if (1..=MAX_SYNTHETIC_COUNT).contains(&groups) {
        return Ok(groups);
    }
    Err(Problem::new(
        format!("groups must be from 1 to {MAX_SYNTHETIC_COUNT}, not {groups}"),
        "write how many groups of prompts share a prefix, e.g. `groups = 8`",
    ))
}

/// `shared_prefix`'s `prefix_tokens` or `suffix_tokens` (`key`): at least one token.
pub fn part_tokens(tokens: u32, key: &str) -> Result<u32, Problem> {
    if (1..=MAX_SYNTHETIC_TOKENS).contains(&tokens) {
        return Ok(tokens);
    }
    Err(Problem::new(
        format!("{key} must be from 1 to {MAX_SYNTHETIC_TOKENS}, not {tokens}"),
        format!("write a length in tokens, e.g. `{key} = 256`"),
    ))
}

/// A shared-prefix prompt, prefix and suffix together, is at most [`MAX_SYNTHETIC_TOKENS`].
pub fn shared_prompt_tokens(prefix: u32, suffix: u32) -> Result<(), Problem> {
    let total = u64::from(prefix) + u64::from(suffix);
    if total <= u64::from(MAX_SYNTHETIC_TOKENS) {
        return Ok(());
    }
    Err(Problem::new(
        format!(
            "a prompt of {prefix} + {suffix} = {total} tokens is longer than \
             {MAX_SYNTHETIC_TOKENS} tokens"
        ),
        "shorten prefix_tokens or suffix_tokens: together at most 1000000 tokens",
    ))
}

/// `shared_prefix`'s `count`: every group gets a prompt, and no more than the most prompts.
pub fn prefix_count(count: u32, groups: u32) -> Result<u32, Problem> {
    if (groups..=MAX_SYNTHETIC_COUNT).contains(&count) {
        return Ok(count);
    }
    Err(Problem::new(
        format!("count must be from `groups` ({groups}) to {MAX_SYNTHETIC_COUNT}, not {count}"),
        "write how many prompts to generate, at least one per group, e.g. `count = 100`",
    ))
}

const DISTRIBUTIONS: [&str; 3] = ["fixed", "uniform", "normal"];

pub fn distribution(name: &str) -> Result<super::LengthDistribution, Problem> {
    use super::LengthDistribution as D;
    match name {
        "fixed" => Ok(D::Fixed),
        "uniform" => Ok(D::Uniform),
        "normal" => Ok(D::Normal),
        other => {
            let allowed = "allowed distributions: fixed, uniform, normal";
            let help = match did_you_mean(other, &DISTRIBUTIONS) {
                Some(guess) => format!("did you mean `{guess}`? {allowed}"),
                None => allowed.to_string(),
            };
            Err(Problem::new(
                format!("unknown distribution {}", shown(other)),
                help,
            ))
        }
    }
}

/// A spread only means something for `uniform` and `normal`; a uniform spread as wide as the
/// middle would ask for prompts of 0 tokens.
pub fn spread(
    spread: u32,
    input_tokens: u32,
    distribution: super::LengthDistribution,
) -> Result<u32, Problem> {
    match distribution {
        super::LengthDistribution::Fixed if spread > 0 => Err(Problem::new(
            "`spread` has no effect with distribution = \"fixed\"",
            "add `distribution = \"uniform\"` or `\"normal\"`, or leave `spread` out",
        )),
        super::LengthDistribution::Uniform if spread >= input_tokens => Err(Problem::new(
            format!(
                "a uniform spread of {spread} reaches 0 tokens (input_tokens = {input_tokens})"
            ),
            "keep `spread` below `input_tokens`: lengths run from input_tokens - spread to \
             input_tokens + spread",
        )),
        _ => Ok(spread),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_name_parses_and_round_trips() {
        for name in PROTOCOL_NAMES {
            let parsed = protocol(name).map(protocol_name);
            assert_eq!(parsed, Ok(name));
        }
        let err = protocol("opneai")
            .err()
            .unwrap_or_else(|| Problem::new("", ""));
        assert!(err.help.contains("did you mean `openai`"), "{err:?}");
    }

    #[test]
    fn mock_profile_names_match_the_mock_server() {
        let names: Vec<&str> = crate::mock::Profile::names()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(names, MOCK_PROFILES);
    }

    #[test]
    fn base_urls() {
        assert!(base_url("http://localhost:8000/v1").is_ok());
        assert!(base_url("https://api.anthropic.com/v1/").is_ok());
        assert!(base_url("mock://steady,ttft=200ms").is_ok());
        assert!(base_url("localhost:8000").is_err());
        assert!(base_url("http://").is_err());
        assert!(base_url("mock://").is_err());
        assert!(base_url("mock://stedy").is_err());
        assert!(base_url("mock://ttft=200ms").is_ok());
        assert!(base_url("mock://steady,bogus=1").is_err());
        for bad in ["99999", "65536", "-5", "abc", "0", "+80", "80x"] {
            let err = base_url(&format!("http://127.0.0.1:{bad}/v1")).unwrap_err();
            assert!(err.problem.contains(&format!("port `{bad}`")), "{err:?}");
        }
        assert!(base_url("http://127.0.0.1:65535/v1").is_ok());
        assert!(base_url("http://[::1]:8000/v1").is_ok());
        assert!(base_url("http://[::1]:70000/v1").is_err());
        let err = base_url("http://h/v1/chat/completions").err();
        assert!(err.is_some_and(|e| e.help.contains("appends")));
        let err = base_url("https://h/v1beta/models/g:streamGenerateContent?alt=sse").err();
        assert!(err.is_some_and(|e| e.problem.contains("Gemini method")));
    }

    #[test]
    fn bad_url_messages_never_echo_keys() {
        let err = base_url("ftp://h/?api_key=sk-secret").err();
        assert!(err.is_some_and(|e| !e.problem.contains("sk-secret")));
    }

    #[test]
    fn env_var_names_are_checked_without_echoing() {
        assert!(env_var_name("OPENAI_API_KEY").is_ok());
        assert!(env_var_name("_X1").is_ok());
        let err = env_var_name("sk-abc123").err();
        assert!(err.is_some_and(|e| !e.problem.contains("sk-") && !e.help.contains("sk-abc")));
        assert!(env_var_name("1X").is_err());
    }

    #[test]
    fn colors_and_durations() {
        assert!(color("cyan").is_ok());
        assert!(color("Light-Blue").is_ok());
        assert!(color("#00ff7f").is_ok());
        assert!(color("cyna").is_err());
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(duration("10").is_err());
        assert!(duration("0s").is_err());
    }

    #[test]
    fn header_names_and_values() {
        assert!(header_name("X-Team").is_ok());
        assert!(header_name("X Team").is_err());
        assert!(header_value("a\r\nb").is_err());
    }
}
