//! A response's head: its status and headers as a `Headers` event, stamped with the arrival of
//! the read that completed them, and an answer that is no stream (an error status, an HTML
//! page) ended with what its body says.

use std::time::Duration;

use http::Response;

use super::send::Sent;
use super::{RequestContext, Stop, Try, failed};
use crate::engine::connection::{Connection, ResponseBody};
use crate::engine::deadlines::Deadlines;
use crate::engine::response_head::{
    describe_status, error_message, is_html, not_found_hint, refusal_hint, server_request_id,
    shown_headers,
};
use crate::engine::retry::{RetryHint, is_retryable, parse_retry_after};
use crate::event::{ErrorClass, EventKind};
use crate::protocol::Protocol;

/// How much of an error body is read for its message.
const ERROR_BODY_LIMIT: usize = 16 * 1024;

impl Try<'_> {
    /// Sends the `Headers` of `response` (on a connection `opened` in that long, if new) and
    /// gives back its body to stream; an error status or an HTML page ends the try instead.
    pub(super) async fn head(
        &self,
        connection: &mut Connection,
        response: Response<ResponseBody>,
        opened: Option<Duration>,
        sent: &Sent,
    ) -> Result<ResponseBody, Stop> {
        let ctx = self.ctx;
        let t_headers = sent.received(ctx.clock, sent.arrival.last_read());
        let status = response.status().as_u16();
        self.out.emit(
            t_headers,
            EventKind::Headers {
                status,
                new_connection: opened.is_some(),
                connect_us: opened.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
                server_request_id: server_request_id(response.headers()),
                headers: shown_headers(response.headers()),
            },
        );
        let (parts, mut response) = response.into_parts();
        let protocol = self.target.protocol;

        if !parts.status.is_success() {
            let (message, bytes) = error_body(
                connection,
                &mut response,
                &parts.headers,
                &sent.deadlines,
                ctx,
                protocol,
            )
            .await;
            let class = ErrorClass::from_status(status);
            let mut message = describe_status(status, &parts.headers, &message);
            if status == 404 {
                message.push_str(&not_found_hint(protocol, self.target.path()));
            }
            if let Some(hint) = refusal_hint(protocol, &message) {
                message.push_str(hint);
            }
            self.out
                .emit(ctx.clock.now(), failed(class, message, Some(status), bytes));
            return Err(Stop::Ended(is_retryable(status).then(|| {
                RetryHint {
                    retry_after: parts
                        .headers
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, chrono::Utc::now())),
                }
            })));
        }
        if is_html(&parts.headers) {
            let (message, bytes) = error_body(
                connection,
                &mut response,
                &parts.headers,
                &sent.deadlines,
                ctx,
                protocol,
            )
            .await;
            let message = format!(
                "the server answered with an HTML page, not {}: {message}",
                protocol.name()
            );
            self.out.emit(
                ctx.clock.now(),
                failed(ErrorClass::Protocol, message, Some(status), bytes),
            );
            return Err(Stop::Ended(None));
        }
        Ok(response)
    }
}

/// Reads up to [`ERROR_BODY_LIMIT`] bytes of an error response and pulls out its message.
async fn error_body(
    connection: &mut Connection,
    response: &mut ResponseBody,
    headers: &http::HeaderMap,
    deadlines: &Deadlines,
    ctx: &RequestContext<'_>,
    protocol: Protocol,
) -> (String, u64) {
    let mut body = Vec::new();
    let mut total = 0u64;
    let deadline = deadlines.before_first_token();
    loop {
        let chunk = tokio::select! {
            biased;
            () = ctx.abort.cancelled() => break,
            r = tokio::time::timeout_at(deadline, connection.next_data(response)) => r,
        };
        match chunk {
            Ok(Some(Ok(bytes))) => {
                total += bytes.len() as u64;
                let room = ERROR_BODY_LIMIT.saturating_sub(body.len());
                body.extend_from_slice(&bytes[..bytes.len().min(room)]);
                if body.len() >= ERROR_BODY_LIMIT {
                    break;
                }
            }
            _ => break,
        }
    }
    (error_message(protocol, headers, &body), total)
}
