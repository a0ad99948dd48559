//! One request's events where a whole race cannot place them: a stop that comes between a
//! lost connection and the request's second send.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::engine::target::TargetSpec;

/// A target on a port nothing is asked of: the tests stop before connecting (or send nothing).
pub(super) fn target() -> Target {
    let prompts = crate::workload::load(
        &crate::config::PromptSource::Inline(vec!["Say hi.".to_string()]),
        std::path::Path::new("."),
    )
    .unwrap();
    let body = serde_json::Map::new();
    let spec = TargetSpec {
        salt: None,
        id: EndpointId(0),
        name: "m",
        protocol: crate::protocol::Protocol::OpenAiChat,
        base_url: "http://127.0.0.1:9/v1",
        model: "m",
        api_key: None,
        headers: &[],
        body: &body,
        max_tokens: Some(8),
        temperature: None,
        stream: true,
        concurrency: 1,
        http: crate::config::HttpVersion::Auto,
        embed_batch: 1,
    };
    Target::new(&spec, &prompts).unwrap()
}

/// A request whose connection was lost, stopped before it went out again, is cancelled as
/// first sent: no `Resent` for a send that never happened.
#[tokio::test]
async fn a_stop_before_the_second_send_is_only_a_cancel() {
    let target = target();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let abort = CancellationToken::new();
    abort.cancel();
    let clock = RaceClock::start();
    let timeouts = Timeouts::default();
    let ctx = RequestContext {
        clock: &clock,
        events: &tx,
        timeouts: &timeouts,
        abort: &abort,
    };
    let mut connection = Connection::new(Arc::clone(target.origin()), None, Duration::from_secs(5));
    let mut lost = super::Resend {
        lost: Some("connection_lost: closed".to_string()),
        times: 1,
    };
    let tag = SendTag::default();
    let hint = send_request(
        &ctx,
        &mut connection,
        &target,
        RequestId(1),
        &super::Payload::of(&target, PromptId(0)),
        tag,
        &mut lost,
    )
    .await;
    assert!(hint.hint.is_none() && hint.answer.is_none());
    drop(tx);
    let mut kinds = Vec::new();
    while let Some(event) = rx.recv().await {
        kinds.push(event.kind);
    }
    assert!(
        matches!(kinds.as_slice(), [EventKind::Cancelled { bytes: 0 }]),
        "{kinds:?}"
    );
}
