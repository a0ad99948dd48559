//! A prompt's attempts: sent once, then again while it fails with a status the retry policy
//! (`retry.rs`) retries and retries are left. Every attempt is a request of its own — its own
//! events, record and counts — and a retry names the attempt it repeats, so retried failures
//! stay visible. A retry still waiting when the race stops is abandoned: it was never sent, so
//! it is not counted.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::connection::Connection;
use super::controls::{Controls, wait_while_paused};
use super::request::{Payload, RequestContext, SendTag, run_request};
use super::retry::backoff;
use super::target::Target;
use crate::event::{Offset, RequestId, Retry};

/// How a worker's requests are retried.
pub(super) struct Attempts<'a> {
    /// Retries after the first attempt, at most.
    pub retries: u32,
    /// Where request ids come from: each attempt takes one.
    pub next_request: &'a AtomicU64,
    pub controls: &'a Controls,
    /// Set by the race's first measured request, when it is handed to be sent: then, and
    /// when it was due ([`SendTag::due`], the zero in a closed loop).
    pub first_measured: &'a OnceLock<(Offset, Offset)>,
    /// Whether the last attempt could not reach its server (no connection): the closed loop
    /// backs off (`reconnect.rs`).
    pub unreached: AtomicBool,
}

/// Sends `payload` as [`run_request`] does, then retries it while it fails with a retryable
/// status and retries are left. Returns the answer when an attempt finished and collected one
/// (a session's turn; a retry is still that turn).
pub(super) async fn run_attempts(
    ctx: &RequestContext<'_>,
    connection: &mut Connection,
    target: &Target,
    payload: &Payload,
    tag: SendTag,
    attempts: &Attempts<'_>,
) -> Option<String> {
    let mut tag = tag;
    if !tag.warmup {
        attempts
            .first_measured
            .get_or_init(|| (ctx.clock.now(), tag.due.unwrap_or(Offset::ZERO)));
    }
    let mut request = RequestId(attempts.next_request.fetch_add(1, Ordering::Relaxed));
    for retry in 1.. {
        let ended = run_request(ctx, connection, target, request, payload, tag).await;
        attempts.unreached.store(ended.unreached, Ordering::Relaxed);
        let Some(hint) = ended.hint else {
            return ended.answer;
        };
        if retry > attempts.retries {
            return None;
        }
        let wait = backoff(retry, hint, rand::random::<f64>());
        let stop = &attempts.controls.stop_sending;
        tokio::select! {
            biased;
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(wait) => {}
        }
        if !wait_while_paused(&attempts.controls.paused, stop).await {
            return None;
        }
        tag = SendTag {
            // The schedule was the first attempt's: a retry's lag would only measure the wait.
            scheduled: None,
            retry: Some(Retry {
                of: request,
                attempt: retry + 1,
            }),
            ..tag
        };
        request = RequestId(attempts.next_request.fetch_add(1, Ordering::Relaxed));
    }
    None
}
