//! Conversations for multi-turn sessions: each prompt's follow-up user messages (turns 2..N).
//! Datasets give their own (ShareGPT's next human turns, a JSONL line's `conversation`);
//! conversations shorter than the race's turns are left out with a note, and when none is long
//! enough the error names the first short one's line and the longest there is. Prompts without a
//! conversation of their own (built-in sets, synthetic, inline, text files, JSONL lines without
//! `conversation`) get generated follow-ups: a fixed list, chosen by the prompt's id, so every
//! run and every endpoint sends the same ones.

use serde_json::Value;

use super::error::WorkloadError;
use crate::protocol::Message;

/// Plausible follow-up questions of a chat, in the order a session asks them.
const GENERATED: [&str; 12] = [
    "Can you go into more detail on the second point?",
    "Could you give a concrete example of that?",
    "What are the main trade-offs here?",
    "How would you explain this to a beginner?",
    "What would change if the scale were ten times larger?",
    "Can you summarise that in three bullet points?",
    "What are the most common mistakes people make with this?",
    "Is there an alternative approach worth considering?",
    "How would you test that this works?",
    "What would you do first if you had only one hour?",
    "Which part of your answer are you least sure about, and why?",
    "Can you rewrite the key part more concisely?",
];

/// Fills `follow_ups` (the prompt numbered `id`'s) with generated ones, up to `turns - 1`.
pub(super) fn fill_generated(id: u32, follow_ups: &mut Vec<String>, turns: u32) {
    let needed = follow_ups_needed(turns);
    while follow_ups.len() < needed {
        let k = id as usize + follow_ups.len();
        follow_ups.push(GENERATED[k % GENERATED.len()].to_string());
    }
}

/// Follow-up messages a session of `turns` needs.
pub(super) fn follow_ups_needed(turns: u32) -> usize {
    turns.saturating_sub(1) as usize
}

/// A JSONL line's `conversation` (and optional `system`): the first turn's messages and the
/// user messages after it.
pub(super) fn parse_jsonl(
    conversation: &Value,
    system: Option<&Value>,
) -> Result<(Vec<Message>, Vec<String>), String> {
    let Some(items) = conversation.as_array().filter(|items| !items.is_empty()) else {
        return Err("`conversation` must be a non-empty array of user messages".to_string());
    };
    let mut texts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(text) if !text.trim().is_empty() => texts.push(text.to_string()),
            _ => return Err(format!("conversation[{i}] must be a non-empty string")),
        }
    }
    let mut messages = Vec::with_capacity(2);
    match system {
        None => {}
        Some(Value::String(text)) if !text.trim().is_empty() => {
            messages.push(Message::system(text.as_str()));
        }
        Some(_) => return Err("`system` must be a non-empty string".to_string()),
    }
    let follow_ups = texts.split_off(1);
    messages.extend(texts.into_iter().map(Message::user));
    Ok((messages, follow_ups))
}

/// The conversations of a dataset too short for the race's turns.
pub(super) struct Shortfall {
    turns: u32,
    /// The first one left out: its line and its user turns.
    first: Option<(usize, usize)>,
    /// The most user turns any conversation has.
    longest: usize,
    left_out: usize,
}

impl Shortfall {
    pub(super) fn new(turns: u32) -> Shortfall {
        Shortfall {
            turns,
            first: None,
            longest: 0,
            left_out: 0,
        }
    }

    /// Whether a conversation of `user_turns` (ending at `line`) is long enough; a short one is
    /// counted to be told.
    pub(super) fn keeps(&mut self, line: usize, user_turns: usize) -> bool {
        self.longest = self.longest.max(user_turns);
        if user_turns >= self.turns as usize {
            return true;
        }
        self.left_out += 1;
        self.first.get_or_insert((line, user_turns));
        false
    }

    /// Conversations left out so far.
    pub(super) fn left_out(&self) -> usize {
        self.left_out
    }

    /// A note when some were left out but `kept` remain; an error when none is long enough.
    pub(super) fn finish(
        self,
        source_name: &str,
        kept: usize,
        notes: &mut Vec<String>,
    ) -> Result<(), WorkloadError> {
        let Some((line, has)) = self.first else {
            return Ok(());
        };
        if kept == 0 {
            return Err(WorkloadError::TooFewTurns {
                source_name: source_name.to_string(),
                line,
                has,
                longest: self.longest,
                turns: self.turns,
            });
        }
        notes.push(format!(
            "{source_name}: {} conversation(s) with fewer than {} user turns were left out (the \
             first at line {line}); {kept} remain",
            self.left_out, self.turns
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jsonl_conversation_is_its_first_message_and_follow_ups() {
        let conversation = serde_json::json!(["one", "two", "three"]);
        let system = serde_json::json!("Be brief.");
        let (messages, follow_ups) = parse_jsonl(&conversation, Some(&system)).expect("valid");
        assert_eq!(
            messages,
            vec![Message::system("Be brief."), Message::user("one")]
        );
        assert_eq!(follow_ups, vec!["two".to_string(), "three".to_string()]);
        assert!(parse_jsonl(&serde_json::json!([]), None).is_err());
        assert!(parse_jsonl(&serde_json::json!(["a", 3]), None).is_err_and(|e| e.contains("[1]")));
    }

    #[test]
    fn generated_follow_ups_are_deterministic_and_differ_by_turn() {
        let (mut first, mut second) = (Vec::new(), Vec::new());
        fill_generated(0, &mut first, 3);
        fill_generated(1, &mut second, 3);
        assert_eq!(first, [GENERATED[0], GENERATED[1]]);
        assert_eq!(second[0], GENERATED[1]);
        let mut own = vec!["mine".to_string()];
        fill_generated(0, &mut own, 3);
        assert_eq!(
            own,
            ["mine", GENERATED[1]],
            "follow-ups already there are kept"
        );
    }

    #[test]
    fn short_conversations_are_left_out_with_a_note_or_refused_when_none_is_long() {
        let mut short = Shortfall::new(3);
        assert!(!short.keeps(4, 2));
        assert!(short.keeps(9, 3));
        assert!(!short.keeps(12, 1));
        let mut notes = Vec::new();
        short.finish("d.jsonl", 1, &mut notes).expect("one remains");
        assert!(notes[0].contains("2 conversation(s)"), "{notes:?}");
        assert!(notes[0].contains("line 4"), "{notes:?}");

        let mut none = Shortfall::new(4);
        assert!(!none.keeps(7, 2));
        assert!(!none.keeps(8, 3));
        let message = none
            .finish("d.jsonl", 0, &mut Vec::new())
            .expect_err("none is long enough")
            .to_string();
        assert!(message.starts_with("d.jsonl:7:"), "{message}");
        assert!(message.contains("to 3 or less"), "{message}");
    }
}
