//! What a response's status, headers and error body say, put into words fit for a request's
//! record: nothing that could carry a secret, nothing unbounded.

use std::fmt::Write as _;

/// Response headers that carry the server's id for a request, most specific first.
const REQUEST_ID_HEADERS: [&str; 4] = [
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-correlation-id",
];

/// The response headers worth showing: none that could carry a secret, a bounded number,
/// values shortened.
pub(super) fn shown_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !crate::secret::is_sensitive_header(name.as_str()))
        .take(crate::event::MAX_HEADERS)
        .map(|(name, value)| {
            let text = String::from_utf8_lossy(value.as_bytes());
            let value = if text.chars().count() > 200 {
                format!("{}…", text.chars().take(200).collect::<String>())
            } else {
                text.into_owned()
            };
            (name.as_str().to_string(), value)
        })
        .collect()
}

pub(super) fn server_request_id(headers: &http::HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(super) fn is_html(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/html"))
}

/// The human part of an error body: the protocol's error message (with the error's kind when
/// a header names it: AWS's `x-amzn-ErrorType`), else the start of the text.
pub(super) fn error_message(
    protocol: crate::protocol::Protocol,
    headers: &http::HeaderMap,
    body: &[u8],
) -> String {
    let error_type = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok());
    if let Some(message) = protocol.error_message_typed(body, error_type) {
        return message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// What a 404 adds to its message: the path asked for (without its query), and `/v1` when the
/// base URL lacks the version the protocol's usual paths start with.
pub(super) fn not_found_hint(protocol: crate::protocol::Protocol, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut hint = format!(" — nothing at POST {path}");
    if protocol == crate::protocol::Protocol::Gemini {
        hint.push_str("; check the base URL and the model's name (e.g. gemini-2.5-flash)");
    } else if protocol != crate::protocol::Protocol::Ollama && !path.split('/').any(|s| s == "v1") {
        hint.push_str("; the base URL may need to end in /v1");
    }
    hint
}

/// What a refusal's message adds when the fix is known: Gemini refuses the thoughts every
/// request asks for on a model that does not think, and the race file can stop asking.
pub(super) fn refusal_hint(
    protocol: crate::protocol::Protocol,
    message: &str,
) -> Option<&'static str> {
    let lower = message.to_ascii_lowercase();
    (protocol == crate::protocol::Protocol::Gemini
        && lower.contains("thinking")
        && (lower.contains("not enabled") || lower.contains("not supported")))
    .then_some(
        " — this model does not think: add `body = { generationConfig = { thinkingConfig = { \
         includeThoughts = false } } }` to the endpoint",
    )
}

pub(super) fn describe_status(
    status: u16,
    headers: &http::header::HeaderMap,
    message: &str,
) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut text = format!("HTTP {status} {reason}");
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(message);
    }
    if let Some(retry) = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
    {
        // Writing to a `String` cannot fail.
        let _ = write!(text, " (retry after {retry})");
    }
    if (300..400).contains(&status)
        && let Some(location) = headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
    {
        let _ = write!(
            text,
            " — redirected to {}; set base_url to the final address",
            crate::secret::redact_url(location)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gemini_thinking_refusal_says_how_to_stop_asking() {
        use crate::protocol::Protocol;
        let message = "INVALID_ARGUMENT: Thinking is not enabled for models/gemma-3-27b-it";
        let hint = refusal_hint(Protocol::Gemini, message).unwrap_or_default();
        assert!(hint.contains("includeThoughts = false"), "{hint}");
        assert_eq!(refusal_hint(Protocol::OpenAiChat, message), None);
        assert_eq!(
            refusal_hint(Protocol::Gemini, "INVALID_ARGUMENT: bad temperature"),
            None
        );
    }

    #[test]
    fn response_headers_keep_no_secrets_and_stay_bounded() {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "text/event-stream".parse().unwrap());
        headers.insert("set-cookie", "session=abc".parse().unwrap());
        headers.insert("x-api-key", "sk-123".parse().unwrap());
        headers.insert("x-auth-token", "t".parse().unwrap());
        headers.insert("x-long", "v".repeat(500).parse().unwrap());
        let shown = shown_headers(&headers);
        let names: Vec<&str> = shown.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["content-type", "x-long"]);
        assert_eq!(
            shown[1].1.chars().count(),
            201,
            "200 characters and an ellipsis"
        );
        for i in 0..40 {
            headers.insert(
                http::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
                "1".parse().unwrap(),
            );
        }
        assert_eq!(shown_headers(&headers).len(), crate::event::MAX_HEADERS);
    }
}
