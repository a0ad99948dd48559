//! Multi-turn sessions: a session sends its prompt, waits for the real answer, appends it and
//! the next user message, and sends the conversation so far as its next turn, on the same
//! connection, after a think time. Each turn is a request of its own (its own events, record,
//! retries) that names its session and turn. A failed turn ends its session; a stop ends it
//! before its next turn. The request limit counts turns, and a session reserves all of its turns
//! when it starts: one that what is left of the limit cannot finish is not started.

use std::sync::atomic::Ordering;

use super::attempts::{Attempts, run_attempts};
use super::connection::Connection;
use super::controls::wait_while_paused;
use super::request::{Payload, RequestContext, SendTag};
use super::senders::Shared;
use super::target::Target;
use crate::event::PromptId;
use crate::protocol::Message;

/// One session of `prompt` (the `number`th at its endpoint) on `connection`: its turns, each
/// with the answers so far, until the last turn, a failed one or a stop; none when the request
/// limit cannot take all of its turns.
/// `tag` is the first turn's (an open loop's schedule); later turns have none.
pub(super) async fn run_session(
    shared: &Shared,
    ctx: &RequestContext<'_>,
    connection: &mut Connection,
    target: &Target,
    (prompt, number): (PromptId, u64),
    tag: SendTag,
    // The sender's: a closed-loop worker reads from it whether the last turn could connect.
    attempts: &Attempts<'_>,
) {
    let Some(sessions) = shared.sessions else {
        return;
    };
    if !shared.reserve_session(target, sessions.turns) {
        return;
    }
    let session = shared.next_session.fetch_add(1, Ordering::Relaxed);
    // Numbered across the whole race: a shard's sessions keep the numbers of their ordinals.
    let session = shared.limits.shard.map_or(session, |s| s.ordinal(session));
    let controls = &shared.controls;
    let stop = &controls.stop_sending;
    let follow_ups = target.follow_ups(prompt);
    let mut conversation: Vec<Message> = Vec::new();
    for turn in 1..=sessions.turns {
        if turn > 1 {
            let think = sessions.think_before(number, turn);
            if !think.is_zero() {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(think) => {}
                }
            }
        }
        if stop.is_cancelled() || !wait_while_paused(&controls.paused, stop).await {
            return;
        }
        let payload = if turn == 1 {
            Payload::of(target, prompt)
        } else {
            Payload {
                prompt,
                body: target.turn_body(prompt, &conversation),
                text: Some(text_of(&conversation)),
            }
        };
        let tag = SendTag {
            session: Some(session),
            turn: Some(turn),
            scheduled: tag.scheduled.filter(|_| turn == 1),
            ..tag
        };
        let Some(answer) = run_attempts(ctx, connection, target, &payload, tag, attempts).await
        else {
            return;
        };
        let Some(next) = follow_ups.get(turn as usize - 1) else {
            return;
        };
        if conversation.is_empty() {
            conversation = target.messages(prompt).to_vec();
        }
        conversation.push(Message::assistant(answer));
        conversation.push(Message::user(next.as_str()));
    }
}

/// A conversation's text, for token estimates.
fn text_of(messages: &[Message]) -> String {
    messages
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
