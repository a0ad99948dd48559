//! Repeats: a prompt sent to the same endpoint a second time within a run. A server with a
//! prefix cache answers a repeat's prompt from its cache, so repeats make it look faster than
//! it is for new prompts; the share of them says how much the race's numbers lean on that.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::event::{EventKind, PromptId};
use crate::protocol::Message;

/// What makes two requests the same prompt: the prompt and, in multi-turn sessions, the turn
/// (a single request is turn 1). A later turn of the same conversation is the same prompt when
/// the answers before it were the same, which a deterministic server makes likely.
pub type RepeatKey = (PromptId, u32);

/// The key of a `Sent` event, its prompt named by the first prompt of the same messages
/// (`same`, from [`first_of_each`]; a prompt past its end is its own). None for other events
/// and for retries: a retry sends again a request the server refused, not a prompt it has
/// served.
pub fn repeat_key(kind: &EventKind, same: &[PromptId]) -> Option<RepeatKey> {
    match kind {
        EventKind::Sent {
            prompt,
            retry: None,
            turn,
            ..
        } => {
            let first = same.get(prompt.0 as usize).copied().unwrap_or(*prompt);
            Some((first, turn.unwrap_or(1)))
        }
        _ => None,
    }
}

/// For each prompt, the first prompt with the same messages: a dataset that holds a prompt
/// twice sends it twice, and the second is a repeat however far apart they are.
pub fn first_of_each<'a>(prompts: impl IntoIterator<Item = &'a [Message]>) -> Vec<PromptId> {
    let mut seen: HashMap<u64, Vec<(PromptId, &'a [Message])>> = HashMap::new();
    let mut firsts = Vec::new();
    for (index, messages) in prompts.into_iter().enumerate() {
        let id = PromptId(u32::try_from(index).unwrap_or(u32::MAX));
        let mut hasher = DefaultHasher::new();
        for message in messages {
            message.role.hash(&mut hasher);
            message.content.hash(&mut hasher);
            message.images.len().hash(&mut hasher);
        }
        let alike = seen.entry(hasher.finish()).or_default();
        let first = if let Some((first, _)) = alike.iter().find(|(_, other)| *other == messages) {
            *first
        } else {
            alike.push((id, messages));
            id
        };
        firsts.push(first);
    }
    firsts
}

/// Whether `record` failed before it reached a server: its host did not resolve, or no
/// connection (TCP, TLS, a proxy's tunnel) could be opened in time. Its prompt was never sent.
pub fn never_reached(record: &crate::stats::RequestRecord) -> bool {
    use crate::event::ErrorClass;
    matches!(
        record.error_class,
        Some(ErrorClass::Dns | ErrorClass::Connect | ErrorClass::ConnectTimeout)
    )
}

/// The prompts one endpoint has been sent so far, warm-ups included (they warm a cache too).
#[derive(Clone, Debug, Default)]
pub struct Repeats {
    seen: HashSet<RepeatKey>,
}

impl Repeats {
    /// Whether the request this event sent repeats a prompt sent to the endpoint before;
    /// `same` as [`repeat_key`] takes it.
    pub fn on_sent(&mut self, kind: &EventKind, same: &[PromptId]) -> bool {
        repeat_key(kind, same).is_some_and(|key| !self.seen.insert(key))
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
            inputs: None,
        }
    }

    #[test]
    fn a_prompt_written_twice_is_a_repeat_the_second_time() {
        let a = [Message::user("same")];
        let b = [Message::user("other")];
        let same = first_of_each([&a[..], &b[..], &a[..]]);
        assert_eq!(same, [PromptId(0), PromptId(1), PromptId(0)]);
        let mut repeats = Repeats::default();
        let seen: Vec<bool> = [sent(0, None), sent(1, None), sent(2, None)]
            .iter()
            .map(|kind| repeats.on_sent(kind, &same))
            .collect();
        assert_eq!(seen, [false, false, true]);
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
        .map(|kind| repeats.on_sent(kind, &[]))
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
            .map(|kind| repeats.on_sent(kind, &[]))
            .collect();
        assert_eq!(seen, [false, false, false, true]);
        assert!(!repeats.on_sent(&EventKind::Cancelled { bytes: 0 }, &[]));
    }
}
