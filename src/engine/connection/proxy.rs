//! Reaching an origin through an HTTP proxy. For an https origin the connection asks the proxy
//! for a tunnel (`CONNECT host:port`) and speaks TLS to the origin through it, so TLS (and
//! ALPN) stay end to end; for an http origin every request goes to the proxy in absolute form
//! (`POST http://host:port/path`), on a connection to the proxy kept alive like any other. The
//! socket llmrace reads is the one to the proxy, so the kernel stamps its bytes there: every
//! figure includes what the proxy adds, and connecting includes the tunnel.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ConnectFailure, Origin};
use crate::event::ErrorClass;
use crate::proxy_env::ProxyUrl;

/// The most of a proxy's answer to `CONNECT` read before it is refused as garbage.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Where the connection's TCP stream goes: the proxy, or the origin itself.
pub(super) fn first_hop(origin: &Origin) -> (&str, u16) {
    match &origin.proxy {
        Some(proxy) => (proxy.host(), proxy.port()),
        None => (origin.host.as_str(), origin.port),
    }
}

/// What a failure to reach the first hop names: the origin, and the proxy when there is one.
pub(super) fn hop_name(origin: &Origin) -> String {
    match &origin.proxy {
        Some(proxy) => format!("{} through the proxy {}", origin.authority, proxy.shown()),
        None => origin.authority.clone(),
    }
}

/// Said after a host name that is the proxy's: ` (of the proxy http://…)`.
pub(super) fn of_proxy(origin: &Origin) -> String {
    origin
        .proxy
        .as_ref()
        .map_or_else(String::new, |p| format!(" (of the proxy {})", p.shown()))
}

/// The proxy requests go through in absolute form: an http origin's proxy (an https origin's
/// is a tunnel, invisible to HTTP).
pub(super) fn forward_proxy(origin: &Origin) -> Option<&ProxyUrl> {
    origin.proxy.as_deref().filter(|_| !origin.https)
}

/// `host:port` as `CONNECT` names it: always with the port, an IPv6 address in brackets.
fn connect_target(origin: &Origin) -> String {
    if origin.host.contains(':') {
        format!("[{}]:{}", origin.host, origin.port)
    } else {
        format!("{}:{}", origin.host, origin.port)
    }
}

/// Asks `proxy` over `stream` for a tunnel to `origin` and reads its answer: `Ok` once the
/// tunnel is open (a 2xx), a connect failure naming the proxy and its status line otherwise.
pub(super) async fn tunnel<S>(
    stream: &mut S,
    origin: &Origin,
    proxy: &ProxyUrl,
) -> Result<(), ConnectFailure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let target = connect_target(origin);
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(authorization) = proxy.authorization() {
        head.push_str("Proxy-Authorization: ");
        head.push_str(authorization);
        head.push_str("\r\n");
    }
    head.push_str(concat!(
        "User-Agent: llmrace/",
        env!("CARGO_PKG_VERSION"),
        "\r\n\r\n"
    ));
    let failed = |class: ErrorClass, what: String| {
        (
            class,
            format!(
                "the proxy {} did not open a tunnel to {target}: {what}",
                proxy.shown()
            ),
        )
    };
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| failed(ErrorClass::Connect, format!("sending CONNECT failed: {e}")))?;
    let mut answer = Vec::new();
    let end = loop {
        let mut buf = [0; 2048];
        let n = stream.read(&mut buf).await.map_err(|e| {
            failed(
                ErrorClass::ConnectionLost,
                format!("reading its answer failed: {e}"),
            )
        })?;
        if n == 0 {
            return Err(failed(
                ErrorClass::ConnectionLost,
                "it closed the connection without answering CONNECT".to_string(),
            ));
        }
        answer.extend_from_slice(&buf[..n]);
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if answer.len() > MAX_ANSWER_BYTES {
            return Err(failed(
                ErrorClass::Connect,
                format!("its answer to CONNECT has no end in {MAX_ANSWER_BYTES} bytes"),
            ));
        }
    };
    let status_line = status_line(&answer);
    match status_code(&status_line) {
        Some(200..=299) if end == answer.len() => Ok(()),
        // The origin speaks only after the TLS client hello: bytes now are no tunnel.
        Some(200..=299) => Err(failed(
            ErrorClass::Connect,
            format!("it answered `{status_line}` and then bytes nobody asked for"),
        )),
        // tinyproxy answers a CONNECT it refuses the credentials of with 401.
        Some(401 | 407) => Err(failed(
            ErrorClass::Connect,
            format!("it answered `{status_line}`{}", auth_hint(proxy)),
        )),
        Some(_) => Err(failed(
            ErrorClass::Connect,
            format!("it answered `{status_line}`"),
        )),
        None => Err(failed(
            ErrorClass::Connect,
            format!("its answer is not HTTP: `{status_line}`"),
        )),
    }
}

/// What a 407 means for this proxy URL.
pub(super) fn auth_hint(proxy: &ProxyUrl) -> &'static str {
    if proxy.authorization().is_some() {
        " (it refused the credentials in the proxy URL)"
    } else {
        " (it wants credentials: put them in the proxy URL, http://user:password@host:port)"
    }
}

/// The first line of `answer`, printable and short: it goes into messages and files.
fn status_line(answer: &[u8]) -> String {
    let line = answer.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// The status code of an `HTTP/1.x NNN reason` line.
fn status_code(line: &str) -> Option<u16> {
    let mut parts = line.split(' ');
    let version = parts.next()?;
    let code = parts.next()?;
    (version.starts_with("HTTP/1.") && code.len() == 3)
        .then(|| code.parse().ok())
        .flatten()
}

/// A response the forwarding proxy gave instead of the origin: its refusal to forward
/// (`407`) is a failure to connect naming the proxy, not the server's error.
pub(super) fn refused<B>(
    forward: Option<&ProxyUrl>,
    response: http::Response<B>,
) -> Result<http::Response<B>, ConnectFailure> {
    match forward {
        Some(proxy) if response.status() == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
            Err((
                ErrorClass::Connect,
                format!(
                    "the proxy {} refused to forward the request: it answered `407 Proxy \
                     Authentication Required`{}",
                    proxy.shown(),
                    auth_hint(proxy)
                ),
            ))
        }
        _ => Ok(response),
    }
}

/// Why a request sent on the connection got no response headers (`why`; `garbage` when the
/// answer was no HTTP). Through a forwarding proxy the bytes read were the proxy's: an answer
/// that is not HTTP is the proxy's failure to forward (`connect`, as a tunnel's garbage is), a
/// close is named as the proxy's connection.
pub(super) fn lost(
    forward: Option<&ProxyUrl>,
    origin: &Origin,
    why: &str,
    garbage: bool,
) -> ConnectFailure {
    match forward {
        Some(proxy) if garbage => (
            ErrorClass::Connect,
            format!(
                "the proxy {} did not forward the request to {}: its answer is not HTTP: {why}",
                proxy.shown(),
                origin.authority
            ),
        ),
        Some(proxy) => (
            ErrorClass::ConnectionLost,
            format!(
                "the connection to the proxy {} closed before the response headers: {why}",
                proxy.shown()
            ),
        ),
        None if garbage => {
            // Garbage where HTTP/1.1 was expected may be an HTTP/2-only server's preface.
            let hint = super::h2::speaks_h2_only(why);
            (
                ErrorClass::ConnectionLost,
                format!("the server's answer is no HTTP/1.1 response: {why}{hint}"),
            )
        }
        None => (
            ErrorClass::ConnectionLost,
            format!("the connection closed before the response headers: {why}"),
        ),
    }
}

/// Rewrites `request` for a proxy forwarding it to an http origin: the absolute-form URI
/// (`http://host:port/path`) and the proxy's credentials.
pub(super) fn absolute_form<B>(request: &mut http::Request<B>, origin: &Origin, proxy: &ProxyUrl) {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    if let Ok(uri) = format!("http://{}{path}", origin.authority).parse() {
        *request.uri_mut() = uri;
    }
    if let Some(authorization) = proxy.authorization()
        && let Ok(mut value) = http::HeaderValue::from_str(authorization)
    {
        // Keeps the credentials out of any debug output of the request.
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(http::header::PROXY_AUTHORIZATION, value);
    }
}

#[cfg(test)]
mod tests;
