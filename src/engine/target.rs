//! An endpoint ready to race: its URL, headers (with the API key) and the request body for
//! every prompt, built once before the start so that sending costs no serialization; in a race
//! of sessions, what later turns are built with (`target/turns.rs`).

mod embeddings;
mod proxied;
mod signing;
mod turns;

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::Full;

use super::connection::{Body, Origin};

use crate::aws_auth::Signer;
use crate::event::{EndpointId, PromptId};
use crate::protocol::{Message, Protocol, RequestSpec};
use crate::secret::ApiKey;
use crate::workload::{Prompt, salt};

pub struct Target {
    pub id: EndpointId,
    pub name: String,
    pub protocol: Protocol,
    pub stream: bool,
    pub concurrency: u32,
    /// The body asks for a JSON answer: each answer is checked.
    pub wants_json: bool,
    /// Which HTTP its connections speak.
    pub http: crate::config::HttpVersion,
    origin: Arc<Origin>,
    path: String,
    warmup_path: String,
    headers: HeaderMap,
    bodies: Vec<Bytes>,
    prompt_texts: Vec<String>,
    /// Multi-turn sessions: each prompt's conversation.
    turns: Option<turns::Turns>,
    /// A trace's times, a prompt's each, in the trace's time (empty for other workloads).
    trace_times: Vec<std::time::Duration>,
    /// Bedrock with AWS credentials: each request is signed as it is built (`target/signing.rs`).
    signer: Option<Arc<Signer>>,
    /// The race's proxies, when this endpoint is reached as the environment says
    /// (`target/proxied.rs`): its other URLs (the metrics page) go the same way.
    proxies: Option<Arc<crate::proxy_env::Proxies>>,
    /// Embeddings: the inputs each request carries.
    batch: Option<u32>,
}

/// What an endpoint needs to be turned into a [`Target`].
pub struct TargetSpec<'a> {
    pub id: EndpointId,
    pub name: &'a str,
    pub protocol: Protocol,
    /// The real base URL (a mock endpoint's already started server).
    pub base_url: &'a str,
    pub model: &'a str,
    pub api_key: Option<&'a ApiKey>,
    /// User headers with `${VAR}` references already resolved.
    pub headers: &'a [(String, String)],
    pub body: &'a serde_json::Map<String, serde_json::Value>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub stream: bool,
    pub concurrency: u32,
    /// Cache hygiene: put at the very start of every prompt (`workload::salt`).
    pub salt: Option<&'a str>,
    /// Which HTTP its connections speak.
    pub http: crate::config::HttpVersion,
    /// Embeddings endpoints: the prompts each request carries as its inputs.
    pub embed_batch: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("endpoint `{endpoint}`: header `{name}` is not a valid HTTP header name or value")]
    BadHeader { endpoint: String, name: String },
    #[error("endpoint `{endpoint}`: the workload has no prompts")]
    NoPrompts { endpoint: String },
    #[error("endpoint `{endpoint}`: {problem}")]
    BadUrl { endpoint: String, problem: String },
    #[error(
        "endpoint `{endpoint}`: protocol openai-completions (the legacy /completions API) cannot \
         carry images, and prompt {prompt} has some; race this endpoint with protocol \
         \"openai\" (chat completions), or leave the images out of the workload"
    )]
    NoImages { endpoint: String, prompt: u32 },
    #[error(
        "endpoint `{endpoint}`: protocol openai-completions (the legacy /completions API) cannot \
         offer tools, and prompt {prompt} offers some; race this endpoint with protocol \
         \"openai\" (chat completions), or use a workload without tools"
    )]
    NoTools { endpoint: String, prompt: u32 },
    #[error(
        "endpoint `{endpoint}`: protocol openai-embeddings embeds text and cannot carry {what}; \
         race a chat protocol for that, or give this endpoint a workload of plain prompts"
    )]
    Embeddings { endpoint: String, what: String },
    #[error("endpoint `{endpoint}`: {source}")]
    Sign {
        endpoint: String,
        source: crate::aws_auth::SignError,
    },
}

impl Target {
    pub fn new(spec: &TargetSpec<'_>, prompts: &[Prompt]) -> Result<Target, TargetError> {
        let first = prompts.first().ok_or_else(|| TargetError::NoPrompts {
            endpoint: spec.name.to_string(),
        })?;
        if spec.protocol == Protocol::OpenAiCompletions
            && let Some(with_images) = prompts
                .iter()
                .find(|p| p.messages.iter().any(|m| !m.images.is_empty()))
        {
            return Err(TargetError::NoImages {
                endpoint: spec.name.to_string(),
                prompt: with_images.id.0,
            });
        }
        if spec.protocol == Protocol::OpenAiCompletions
            && let Some(with_tools) = prompts.iter().find(|p| !p.tools.is_empty())
        {
            return Err(TargetError::NoTools {
                endpoint: spec.name.to_string(),
                prompt: with_tools.id.0,
            });
        }
        let batch = embeddings::batch(spec, prompts)?;
        let texts = texts(spec.salt, prompts);
        let build = |index: usize, prompt: &Prompt| {
            let messages = embeddings::inputs(batch, &texts, index)
                .map_or_else(|| messages(spec.salt, prompt), Cow::Owned);
            spec.protocol.build_request(
                spec.base_url,
                &RequestSpec {
                    model: spec.model,
                    messages: &messages,
                    // A prompt's own budget (ShareGPT reference length) wins.
                    max_tokens: prompt.max_tokens.or(spec.max_tokens),
                    temperature: spec.temperature,
                    stream: spec.stream,
                    tools: &prompt.tools,
                    extra_body: spec.body,
                },
            )
        };
        let wire = build(0, first);
        let bad_header = |name: &str| TargetError::BadHeader {
            endpoint: spec.name.to_string(),
            name: name.to_string(),
        };
        let bad_url = |problem: String| TargetError::BadUrl {
            endpoint: spec.name.to_string(),
            problem,
        };
        let (origin, path) = Origin::parse(&wire.url).map_err(bad_url)?;
        let (_, warmup_path) =
            Origin::parse(&spec.protocol.warmup_url(spec.base_url)).map_err(bad_url)?;
        let mut headers = HeaderMap::new();
        insert_header(&mut headers, "host", &origin.authority, false)
            .map_err(|()| bad_header("host"))?;
        let agent = concat!("llmrace/", env!("CARGO_PKG_VERSION"));
        insert_header(&mut headers, "user-agent", agent, false)
            .map_err(|()| bad_header("user-agent"))?;
        let mut insert = |name: &str, value: &str, sensitive: bool| {
            insert_header(&mut headers, name, value, sensitive).map_err(|()| bad_header(name))
        };
        for (name, value) in &wire.headers {
            insert(name, value, false)?;
        }
        if let Some(key) = spec.api_key {
            let (name, value) = spec.protocol.auth_header(key.expose());
            insert(name, &value, true)?;
        }
        for (name, value) in spec.headers {
            insert(name, value, crate::secret::is_sensitive_header(name))?;
        }
        let bodies = std::iter::once(wire.body.clone())
            .chain(
                embeddings::bodied(batch, prompts)
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(i, p)| build(i, p).body),
            )
            .map(Bytes::from)
            .collect();
        Ok(Target {
            id: spec.id,
            name: spec.name.to_string(),
            protocol: spec.protocol,
            stream: spec.stream,
            concurrency: spec.concurrency.max(1),
            wants_json: spec.protocol.asks_for_json(spec.body),
            http: spec.http,
            origin: Arc::new(origin),
            path,
            warmup_path,
            headers,
            bodies,
            prompt_texts: embeddings::prompt_texts(batch, texts),
            turns: turns::Turns::of(spec, prompts),
            trace_times: prompts.iter().map_while(|p| p.at).collect(),
            signer: None,
            proxies: None,
            batch,
        })
    }

    /// Embeddings: the inputs each request carries (one vector is due for each).
    pub fn batch(&self) -> Option<u32> {
        self.batch
    }

    /// When each prompt of a trace is due, in the trace's time from its first row, in order;
    /// empty when the workload is not a trace.
    pub fn trace_times(&self) -> &[std::time::Duration] {
        &self.trace_times
    }

    /// The prompts are sent in order and wrap around when the race asks for more requests.
    pub fn prompt_for(&self, sequence: u64) -> PromptId {
        let n = self.bodies.len().max(1) as u64;
        PromptId(u32::try_from(sequence % n).unwrap_or(0))
    }

    pub fn body_for(&self, prompt: PromptId) -> &Bytes {
        &self.bodies[prompt.0 as usize % self.bodies.len()]
    }

    pub fn prompt_text(&self, prompt: PromptId) -> &str {
        &self.prompt_texts[prompt.0 as usize % self.prompt_texts.len()]
    }

    /// Where this target's connections go.
    pub fn origin(&self) -> &Arc<Origin> {
        &self.origin
    }

    /// The path (and query) every request of this target asks for.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The request for a prompt's body.
    pub fn request(&self, body: Bytes) -> http::Request<Body> {
        self.build(http::Method::POST, &self.path, body)
    }

    /// A cheap request that opens the connection before the race starts. Its answer does not
    /// matter (a 404 still leaves the connection open), only that a connection was made.
    pub fn warmup_request(&self) -> http::Request<Body> {
        self.build(http::Method::GET, &self.warmup_path, Bytes::new())
    }

    fn build(&self, method: http::Method, path: &str, body: Bytes) -> http::Request<Body> {
        let mut request = http::Request::new(Full::new(Bytes::new()));
        *request.method_mut() = method;
        // The path was checked when the target was built; a failed parse cannot happen here.
        *request.uri_mut() = path.parse().unwrap_or_default();
        *request.headers_mut() = self.headers.clone();
        self.sign(&mut request, &body);
        *request.body_mut() = Full::new(body);
        request
    }
}

/// Each prompt's text (its messages joined), salted as its body is.
fn texts(salt: Option<&str>, prompts: &[Prompt]) -> Vec<String> {
    prompts
        .iter()
        .map(|p| match salt {
            Some(salt) => salt::with_salt(&p.text(), salt),
            None => p.text(),
        })
        .collect()
}

fn messages<'p>(salt: Option<&str>, prompt: &'p Prompt) -> Cow<'p, [Message]> {
    match salt {
        Some(salt) => Cow::Owned(salt::salted(&prompt.messages, salt)),
        None => Cow::Borrowed(&prompt.messages),
    }
}

fn insert_header(
    headers: &mut HeaderMap,
    name: &str,
    value: &str,
    sensitive: bool,
) -> Result<(), ()> {
    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| ())?;
    let mut value = HeaderValue::from_str(value).map_err(|_| ())?;
    // Keeps the value out of any debug output of the request.
    value.set_sensitive(sensitive);
    headers.insert(header, value);
    Ok(())
}
