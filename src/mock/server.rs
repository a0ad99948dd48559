//! The mock's HTTP side: accepting connections (one task each, HTTP/1.1 keep-alive, or HTTP/2
//! when the client's first bytes are its preface: h2c with prior knowledge), routing
//! requests, and turning a request, the profile and its fault into a response.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::body::{Announced, MockBody, TokenStream};
use super::faults::Fault;
use super::linger::Linger;
use super::metrics;
use super::plan::Plan;
use super::prefix::PrefixCache;
use super::profile::{DEFAULT_H2_STREAMS, GOAWAY_GRACE, Profile};
use super::request::{Ask, BadRequest};
use super::stats::{Counters, FirstContent, OpenConnection};
use super::text::mix;
use super::wire::{
    INVALID_UTF8, Stamp, Wire, bedrock_authorized, bedrock_error_type, error_body, foreign_body,
};
use crate::protocol::Protocol;
use crate::rx_time::{self, TimedStream};

/// Larger request bodies are refused with 413: no prompt a race sends comes close.
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

const HTML_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
    <body><h1>502 Bad Gateway</h1><p>The upstream server is temporarily unavailable.</p>\n\
    <hr><address>nginx (llmrace mock)</address></body></html>\n";

/// What every connection shares.
pub(crate) struct Shared {
    pub profile: Profile,
    /// One prefix cache for every endpoint this server serves.
    pub cache: Option<PrefixCache>,
    pub counters: Arc<Counters>,
    /// Server start, Unix seconds and RFC 3339: the `created` stamps of every response, so
    /// the same request gets the same body.
    pub created: u64,
    pub created_at: String,
}

/// The service's error: hyper closes the connection without a response.
#[derive(Debug, thiserror::Error)]
#[error("mock closed the connection without a response")]
pub(crate) struct Refused;

/// Accepts connections until `stop`, then drops every connection still open.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    // Bytes queued before their connection is accepted get stamped too.
    rx_time::stamp_arrivals(&listener);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let open = shared.counters.connection_accepted();
                    connections.spawn(serve_connection(stream, Arc::clone(&shared), open));
                }
                // Out of file descriptors and the like: pause instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, _open: OpenConnection) {
    // Tokens are small writes that must leave at once.
    let _ = stream.set_nodelay(true);
    // A request's time starts when its bytes reached the machine, not when this one core got
    // round to reading them: the intake queue is the mock's lateness, not the client's.
    let stream = TimedStream::new(stream);
    let arrival = stream.arrival();
    let Some(linger) = shared.profile.close_after_stream else {
        serve_either(stream, arrival, shared).await;
        return;
    };
    let counters = Arc::clone(&shared.counters);
    let streamed = Arc::new(Notify::new());
    let done = Arc::clone(&streamed);
    let service = service_fn(move |req| {
        let arrived = arrival.get().map(Instant::from_std);
        let handled = handle(Arc::clone(&shared), arrived, req);
        let done = Arc::clone(&done);
        async move {
            let mut response = handled.await?;
            response
                .headers_mut()
                .insert("keep-alive", HeaderValue::from_static("timeout=5, max=100"));
            let announce = response.body().is_stream().then_some(done);
            Ok::<_, Refused>(response.map(|body| Announced::new(body, announce)))
        }
    });
    let stream = TokioIo::new(Linger::new(stream, linger, counters));
    let connection = http1::Builder::new().serve_connection(stream, service);
    tokio::pin!(connection);
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            // The response in progress is finished, then the connection closes, the headers'
            // keep-alive notwithstanding: a request sent meanwhile is never read.
            () = streamed.notified() => connection.as_mut().graceful_shutdown(),
        }
    }
}

/// Serves HTTP/1.1 or HTTP/2 (told by the preface), saying GOAWAY after the profile's
/// `goaway_after` requests.
async fn serve_either(stream: TimedStream, arrival: rx_time::LastArrival, shared: Arc<Shared>) {
    let goaway_after = shared.profile.goaway_after;
    let streams = shared.profile.h2_streams.unwrap_or(DEFAULT_H2_STREAMS);
    let arrived = Arc::new(AtomicU32::new(0));
    let going = Arc::new(Notify::new());
    let service = {
        let going = Arc::clone(&going);
        service_fn(move |req| {
            let n = arrived.fetch_add(1, Ordering::Relaxed) + 1;
            if goaway_after == Some(n) {
                going.notify_one();
            }
            // HTTP/2: the latest bytes the connection read, no later than this request's.
            let arrived = arrival.get().map(Instant::from_std);
            handle(Arc::clone(&shared), arrived, req)
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().max_concurrent_streams(streams);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    // Errors here are clients going away or faults closing on purpose.
    tokio::select! {
        _ = connection.as_mut() => return,
        () = going.notified() => connection.as_mut().graceful_shutdown(),
    }
    let _ = tokio::time::timeout(GOAWAY_GRACE, connection).await;
}

fn generation_protocol(path: &str) -> Option<Protocol> {
    match path {
        "/v1/chat/completions" => Some(Protocol::OpenAiChat),
        "/v1/completions" => Some(Protocol::OpenAiCompletions),
        "/v1/messages" => Some(Protocol::Anthropic),
        "/api/chat" => Some(Protocol::Ollama),
        "/v1/responses" => Some(Protocol::Responses),
        "/v1/embeddings" => Some(Protocol::OpenAiEmbeddings),
        // `/model/{modelId}/converse-stream` and `/model/{modelId}/converse`.
        _ if path.starts_with("/model/")
            && (path.ends_with("/converse-stream") || path.ends_with("/converse")) =>
        {
            Some(Protocol::Bedrock)
        }
        _ => super::gemini_path::parse(path).map(|_| Protocol::Gemini),
    }
}

/// `arrived`: when the request's bytes reached the machine, if the connection knows.
async fn handle(
    shared: Arc<Shared>,
    arrived: Option<Instant>,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, Refused> {
    let arrived = arrived.unwrap_or_else(Instant::now);
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    if get && req.uri().path() == "/metrics" {
        // The mock's own load in vLLM's names, for llmrace's server metrics. A scrape takes no
        // request number: the seeded faults and the ids of the generations stay where they
        // were, however often and whenever `/metrics` is read.
        let page = metrics::page(
            shared.counters.in_progress(),
            &shared.counters.load,
            shared.cache.is_some(),
        );
        return Ok(plain(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            page,
        ));
    }
    let seq = shared.counters.request_arrived();
    let path = req.uri().path().to_owned();
    let protocol = generation_protocol(&path);
    let response = match (protocol, path.as_str()) {
        (Some(protocol), _) if req.method() == Method::POST => {
            shared.counters.generation_arrived();
            return generate(&shared, protocol, req, arrived, seq).await;
        }
        (Some(protocol), _) => method_not_allowed(Some(protocol), "POST"),
        (None, "/v1/models") if get => json_ok(&json!({
            "object": "list",
            "data": [{"id": "mock", "object": "model", "created": shared.created, "owned_by": "llmrace"}],
        })),
        (None, "/v1beta/models") if get => json_ok(&json!({
            "models": [{"name": "models/mock", "displayName": "mock", "supportedGenerationMethods": ["generateContent", "streamGenerateContent"]}],
        })),
        (None, "/api/tags") if get => json_ok(&json!({
            "models": [{"name": "mock", "model": "mock", "modified_at": shared.created_at, "size": 0}],
        })),
        // Benchmarks read the mock's own lateness here to tell it from the client's.
        (None, "/mock/stats") if get => json_ok(&shared.counters.report()),
        (None, "/") if get => plain(
            StatusCode::OK,
            "text/plain",
            "llmrace mock server is running\n",
        ),
        (None, "/v1/models" | "/api/tags" | "/mock/stats" | "/metrics" | "/") => {
            method_not_allowed(None, "GET")
        }
        (None, _) => {
            let shape = if path.starts_with("/v1beta/") {
                Some(Protocol::Gemini)
            } else {
                path.starts_with("/api/").then_some(Protocol::Ollama)
            };
            error(
                shape,
                StatusCode::NOT_FOUND,
                &format!("no route for {path} on the llmrace mock"),
            )
        }
    };
    Ok(with_request_id(response, seq))
}

async fn generate(
    shared: &Shared,
    protocol: Protocol,
    req: Request<Incoming>,
    arrived: Instant,
    seq: u64,
) -> Result<Response<MockBody>, Refused> {
    let in_path = InPath::of(protocol, req.uri().path());
    let forced = match forced_fault(req.headers()) {
        Ok(forced) => forced,
        Err(message) => {
            return Ok(with_request_id(
                error(Some(protocol), StatusCode::BAD_REQUEST, &message),
                seq,
            ));
        }
    };
    if let Some(refusal) = bedrock_refusal(protocol, req.headers()) {
        return Ok(with_request_id(refusal, seq));
    }
    let body = match Limited::new(req.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            let message = format!("request body over {MAX_REQUEST_BYTES} bytes");
            return Ok(with_request_id(
                error(Some(protocol), StatusCode::PAYLOAD_TOO_LARGE, &message),
                seq,
            ));
        }
        Err(_) => return Err(Refused),
    };
    #[cfg(any(test, feature = "test-support"))]
    shared.counters.received.keep(&body);
    let ask = match Ask::parse(protocol, &body) {
        Ok(ask) => in_path.apply(ask),
        Err(BadRequest(message)) => {
            return Ok(with_request_id(
                error(Some(protocol), StatusCode::BAD_REQUEST, &message),
                seq,
            ));
        }
    };
    let profile = &shared.profile;
    let fault = forced.or_else(|| profile.pick_fault(unit_draw(profile.seed, seq)));
    if let Some(fault) = fault {
        shared.counters.fault_injected(fault);
    }
    let stamp = Stamp {
        seq,
        created: shared.created,
        created_at: &shared.created_at,
        model_json: &ask.model_json,
    };
    let mut origin = arrived;
    match fault {
        Some(Fault::ResetBeforeHeaders) => return Err(Refused),
        Some(Fault::HangBeforeHeaders) => return std::future::pending().await,
        Some(Fault::SlowHeaders) => {
            origin += profile.header_delay;
            sleep_until(origin).await;
        }
        _ => {}
    }
    let (busy, others) = shared.counters.generation_started();
    // A request refused before any generation leaves the cache as it was.
    let cached = match (&shared.cache, fault.is_some_and(answered_up_front)) {
        (Some(cache), false) => {
            let cached = cache.serve(&ask.model_json, &body);
            // At least the prompt's last token is computed, as in vLLM (and `prefilled`).
            let hits = cached.min(ask.input_tokens.saturating_sub(1));
            shared.counters.load.looked_up(ask.input_tokens, hits);
            cached
        }
        _ => 0,
    };
    let plan = Plan::new(profile, protocol, &ask, seq, fault, origin)
        .prefilled(profile, cached)
        .loaded(profile, busy, others);
    let response = match fault.and_then(|f| up_front(f, protocol, &stamp, &plan)) {
        Some(response) => response,
        None if protocol.is_embeddings() => {
            embedded(shared, &body, &ask, plan, fault, seq, arrived).await
        }
        None if ask.stream => {
            let wire = Wire::new(protocol, &stamp).shaped(&plan.shape);
            let content_type = wire.content_type(true);
            let stream = TokenStream::new(wire, plan, Arc::clone(&shared.counters), seq, arrived)
                .delivered(shared.profile.delivery);
            let mut response = Response::new(MockBody::Stream(Box::new(stream)));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
                .headers_mut()
                .insert("cache-control", HeaderValue::from_static("no-cache"));
            response
        }
        None => whole_response(shared, protocol, &stamp, plan, fault, seq, arrived).await,
    };
    Ok(with_request_id(response, seq))
}

/// What a protocol says in its path rather than its body: Gemini's model and streaming
/// (`…/models/{model}:streamGenerateContent`), Bedrock's streaming (`…/converse-stream`).
struct InPath {
    model: Option<String>,
    stream: Option<bool>,
}

impl InPath {
    fn of(protocol: Protocol, path: &str) -> InPath {
        match protocol {
            Protocol::Gemini => match super::gemini_path::parse(path) {
                Some(gemini) => InPath {
                    model: Some(gemini.model),
                    stream: Some(gemini.stream),
                },
                None => InPath::NOTHING,
            },
            Protocol::Bedrock => InPath {
                model: None,
                stream: Some(path.ends_with("/converse-stream")),
            },
            _ => InPath::NOTHING,
        }
    }

    const NOTHING: InPath = InPath {
        model: None,
        stream: None,
    };

    /// The request as asked, the path's word over the body's.
    fn apply(self, ask: Ask) -> Ask {
        Ask {
            model_json: self
                .model
                .and_then(|m| serde_json::to_string(&m).ok())
                .unwrap_or(ask.model_json),
            stream: self.stream.unwrap_or(ask.stream),
            ..ask
        }
    }
}

/// The fault a test asked for in `x-mock-fault`, if any; a name the mock does not know is an
/// error that lists the ones it does.
fn forced_fault(headers: &http::HeaderMap) -> Result<Option<Fault>, String> {
    let Some(value) = headers.get("x-mock-fault") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(Fault::from_name)
        .map(Some)
        .ok_or_else(|| {
            format!(
                "unknown x-mock-fault `{}`: the faults are {}",
                String::from_utf8_lossy(value.as_bytes()),
                Fault::names_list()
            )
        })
}

/// Bedrock's 403 for a request without AWS credentials, as AWS answers one.
fn bedrock_refusal(protocol: Protocol, headers: &http::HeaderMap) -> Option<Response<MockBody>> {
    let message = "Missing Authentication Token: the llmrace mock takes Bedrock requests signed \
                   with SigV4 (Authorization: AWS4-HMAC-SHA256 …) or with a bearer key";
    (protocol == Protocol::Bedrock && !bedrock_authorized(headers))
        .then(|| error(Some(protocol), StatusCode::FORBIDDEN, message))
}

/// Whether a fault answers before any generation (an error status, a page, another API).
fn answered_up_front(fault: Fault) -> bool {
    matches!(
        fault,
        Fault::Http429
            | Fault::Http500
            | Fault::Http503
            | Fault::Http401
            | Fault::Http400
            | Fault::Html
            | Fault::WrongProtocol
    )
}

/// Responses that faults decide before any generation.
fn up_front(
    fault: Fault,
    protocol: Protocol,
    stamp: &Stamp<'_>,
    plan: &Plan,
) -> Option<Response<MockBody>> {
    let status = match fault {
        Fault::Http429 => StatusCode::TOO_MANY_REQUESTS,
        Fault::Http500 => StatusCode::INTERNAL_SERVER_ERROR,
        Fault::Http503 => StatusCode::SERVICE_UNAVAILABLE,
        Fault::Http401 => StatusCode::UNAUTHORIZED,
        Fault::Http400 => StatusCode::BAD_REQUEST,
        Fault::Html => return Some(plain(StatusCode::OK, "text/html; charset=utf-8", HTML_PAGE)),
        Fault::WrongProtocol => {
            let (_, answer) = plan.all_words();
            let (content_type, body) = foreign_body(protocol, stamp, &plan.tally, answer);
            return Some(plain(StatusCode::OK, content_type, body));
        }
        _ => return None,
    };
    let message = format!("mock fault {fault}: {}", fault.description());
    let mut response = error(Some(protocol), status, &message);
    if fault == Fault::Http429 {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Some(response)
}

/// Waits until a whole answer is due, then counts how late its write is and when its content
/// came, against when its request arrived.
async fn written_when_due(counters: &Counters, due: Instant, seq: u64, arrived: Instant) {
    sleep_until(due).await;
    let written = Instant::now();
    counters.write_late(written - due);
    counters.first_content(FirstContent {
        request: seq,
        arrived: arrived.into_std(),
        due: due.into_std(),
        written: written.into_std(),
    });
}

/// A non-streaming answer: sent whole once the last token is due, as real servers do.
async fn whole_response(
    shared: &Shared,
    protocol: Protocol,
    stamp: &Stamp<'_>,
    mut plan: Plan,
    fault: Option<Fault>,
    seq: u64,
    arrived: Instant,
) -> Response<MockBody> {
    let due = plan.schedule_all();
    written_when_due(&shared.counters, due, seq, arrived).await;
    let (reasoning_words, answer_words) = plan.all_words();
    let mut reasoning = BytesMut::new();
    reasoning_words.write_to(&mut reasoning);
    let mut answer = BytesMut::new();
    if fault == Some(Fault::InvalidUtf8) {
        answer.extend_from_slice(INVALID_UTF8);
    }
    answer_words.write_to(&mut answer);
    let wire = Wire::new(protocol, stamp).shaped(&plan.shape);
    let full = wire.full(&plan.tally, &reasoning, &answer).freeze();
    let body = match fault {
        // A clean end after half the object.
        Some(Fault::NoTerminator) => MockBody::whole(full.slice(..full.len() / 2)),
        _ => MockBody::whole_faulted(full, fault, Some(protocol)),
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(wire.content_type(false)),
    );
    response
}

/// An embeddings answer: sent whole once its vectors are due (a request without inputs the
/// mock can read is refused with 400 at once).
async fn embedded(
    shared: &Shared,
    body: &[u8],
    ask: &Ask,
    mut plan: Plan,
    fault: Option<Fault>,
    seq: u64,
    arrived: Instant,
) -> Response<MockBody> {
    let inputs = match super::embeddings::Inputs::parse(body) {
        Ok(inputs) => inputs,
        Err(BadRequest(message)) => {
            let protocol = Some(Protocol::OpenAiEmbeddings);
            return error(protocol, StatusCode::BAD_REQUEST, &message);
        }
    };
    let due = plan.schedule_embedding();
    written_when_due(&shared.counters, due, seq, arrived).await;
    let body = super::embeddings::answer(&inputs, &ask.model_json, ask.input_tokens, fault);
    let mut response = Response::new(body);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(super::embeddings::CONTENT_TYPE),
    );
    response
}

/// A uniform draw in `[0, 1)` for request `seq`: which fault, if any, strikes it.
fn unit_draw(seed: u64, seq: u64) -> f64 {
    let bits = mix(seed ^ mix(seq ^ 0xFA17_FA17));
    #[expect(clippy::cast_precision_loss, reason = "53-bit values are exact in f64")]
    let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

fn plain(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<MockBody> {
    let mut response = Response::new(MockBody::whole(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json_ok(value: &serde_json::Value) -> Response<MockBody> {
    plain(StatusCode::OK, "application/json", value.to_string())
}

fn error(protocol: Option<Protocol>, status: StatusCode, message: &str) -> Response<MockBody> {
    let mut response = plain(
        status,
        "application/json",
        error_body(protocol, status.as_u16(), message),
    );
    if protocol == Some(Protocol::Bedrock)
        && let Ok(value) = HeaderValue::from_str(&bedrock_error_type(status.as_u16()))
    {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn method_not_allowed(protocol: Option<Protocol>, allowed: &'static str) -> Response<MockBody> {
    let message = format!("method not allowed here: use {allowed}");
    let mut response = error(protocol, StatusCode::METHOD_NOT_ALLOWED, &message);
    response
        .headers_mut()
        .insert("allow", HeaderValue::from_static(allowed));
    response
}

fn with_request_id(mut response: Response<MockBody>, seq: u64) -> Response<MockBody> {
    if let Ok(value) = HeaderValue::from_str(&format!("mock-{seq}")) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    /// The mock's `arrived` is when the request reached the machine: the test holds the
    /// accepted connection until the request is queued there, so a stamp taken when the mock
    /// read or handled it would be later than `queued`. The schedule runs from that arrival.
    #[tokio::test]
    async fn requests_are_timed_from_their_arrival_not_their_handling() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let _stamping = rx_time::kernel_stamps_on();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        rx_time::stamp_arrivals(&listener);
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let counters = Arc::new(Counters::new());
        let shared = Arc::new(Shared {
            profile: Profile::parse("steady,ttft=5ms,itl=1ms,tokens=1").unwrap(),
            cache: None,
            counters: Arc::clone(&counters),
            created: 0,
            created_at: "1970-01-01T00:00:00Z".to_owned(),
        });
        let body = r#"{"messages":[{"role":"user","content":"hi"}],"stream":false}"#;
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: mock\r\ncontent-type: \
             application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let before = std::time::Instant::now();
        client.write_all(request.as_bytes()).await.unwrap();
        accepted.readable().await.unwrap();
        let queued = std::time::Instant::now();
        let open = counters.connection_accepted();
        tokio::spawn(serve_connection(accepted, shared, open));
        let mut response = String::new();
        client.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");

        let first = counters.snapshot().recent[0];
        assert!(before <= first.arrived, "{before:?} {:?}", first.arrived);
        #[cfg(target_os = "linux")]
        assert!(first.arrived <= queued, "{:?} {queued:?}", first.arrived);
        #[cfg(not(target_os = "linux"))]
        let _ = queued;
        assert_eq!(first.due - first.arrived, Duration::from_millis(5));
        assert!(first.due <= first.written);
    }

    #[test]
    fn unit_draws_are_uniform_enough() {
        let hits = (0..10_000).filter(|&seq| unit_draw(1, seq) < 0.08).count();
        assert!((600..1000).contains(&hits), "{hits}");
        assert!((0..1000).all(|seq| (0.0..1.0).contains(&unit_draw(7, seq))));
    }
}
