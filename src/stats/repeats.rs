//! Repeats: a prompt sent to the same endpoint a second time within a run. A server with a
//! prefix cache answers a repeat's prompt from its cache, so repeats make it look faster than
//! it is for new prompts; the share of them says how much the race's numbers lean on that.

use std::collections::HashSet;

use crate::event::{EventKind, PromptId};

/// What makes two requests the same prompt: the prompt and, in multi-turn sessions, the turn
/// (a single request is turn 1). A later turn of the same conversation is the same prompt when
/// the answers before it were the same, which a deterministic server makes likely.
pub type RepeatKey = (PromptId, u32);

/// The key of a `Sent` event. None for other events and for retries: a retry sends again a
/// request the server refused, not a prompt it has served.
pub fn repeat_key(kind: &EventKind) -> Option<RepeatKey> {
    match kind {
        EventKind::Sent {
            prompt,
            retry: None,
            turn,
            ..
        } => Some((*prompt, turn.unwrap_or(1))),
        _ => None,
    }
}

/// The prompts one endpoint has been sent so far, warm-ups included (they warm a cache too).
#[derive(Clone, Debug, Default)]
pub struct Repeats {
    seen: HashSet<RepeatKey>,
}

impl Repeats {
    /// Whether the request this event sent repeats a prompt sent to the endpoint before.
    pub fn on_sent(&mut self, kind: &EventKind) -> bool {
        repeat_key(kind).is_some_and(|key| !self.seen.insert(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{RequestId, Retry};

    fn sent(prompt: u32, retry: Option<Retry>) -> EventKind {
        turn(prompt, None, retry)
    }

    fn turn(prompt: u32, turn: Option<u32>, retry: Option<Retry>) -> EventKind {
        EventKind::Sent {
            prompt: PromptId(prompt),
            bytes: 10,
            warmup: false,
            lag_us: None,
            lap: None,
            retry,
            session: turn.map(|_| 0),
            turn,
        }
    }

    #[test]
    fn a_later_turn_is_a_prompt_of_its_own() {
        let mut repeats = Repeats::default();
        let seen: Vec<bool> = [
            turn(0, Some(1), None),
            turn(0, Some(2), None),
            turn(0, Some(1), None),
            turn(0, Some(2), None),
        ]
        .iter()
        .map(|kind| repeats.on_sent(kind))
        .collect();
        assert_eq!(seen, [false, false, true, true]);
    }

    #[test]
    fn the_second_send_of_a_prompt_is_a_repeat_and_a_retry_is_none() {
        let mut repeats = Repeats::default();
        let retry = Some(Retry {
            attempt: 2,
            of: RequestId(0),
        });
        let seen: Vec<bool> = [sent(0, None), sent(1, None), sent(0, retry), sent(0, None)]
            .iter()
            .map(|kind| repeats.on_sent(kind))
            .collect();
        assert_eq!(seen, [false, false, false, true]);
        assert!(!repeats.on_sent(&EventKind::Cancelled { bytes: 0 }));
    }
}
