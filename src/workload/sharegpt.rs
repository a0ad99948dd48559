//! `ShareGPT` files (`.json`): an array of `{"id": …, "conversations": [{"from": "human",
//! "value": …}, …]}`. The first human turn is the prompt (after the system turn, if one comes
//! first); the first answer after it is the reference answer, whose length in tokens may become
//! the prompt's `max_tokens`. The array is parsed as it is read, one conversation at a time,
//! and only the turns that matter are kept, so memory follows the prompts, not the file. In a
//! race of sessions (`turns` > 1) the conversation's next human turns are its follow-ups, and
//! a conversation with too few of them is left out (`conversation.rs`).

use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};

use crate::protocol::Message;
use crate::tokenizer::count_tokens;

use super::conversation::{Shortfall, follow_ups_needed};
use super::error::{STOP_EVERY, WorkloadError};

const HELP: &str = "a ShareGPT file is a JSON array of {\"conversations\": [{\"from\": \
                    \"human\", \"value\": \"...\"}, {\"from\": \"gpt\", \"value\": \"...\"}]}";

#[derive(Deserialize)]
struct Entry {
    conversations: Vec<Turn>,
}

#[derive(Deserialize)]
struct Turn {
    from: String,
    #[serde(default)]
    value: Option<String>,
}

/// What a `ShareGPT` file held.
pub(super) struct Conversations {
    /// The messages of each prompt, its reference answer's length in tokens when asked for,
    /// and its follow-ups (the next human turns) in a race of sessions.
    pub prompts: Vec<(Vec<Message>, Option<u32>, Vec<String>)>,
    /// Conversations without a human turn, left out.
    pub skipped: usize,
    /// Conversations with too few human turns for the race's sessions, left out.
    pub shortfall: Shortfall,
}

/// Counts the lines read through it, so a conversation can be named by where it ends: the
/// JSON reader takes its bytes one at a time, so the count is exact at each conversation's end.
struct Lines<R> {
    inner: R,
    lines: std::rc::Rc<Cell<usize>>,
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        #[expect(
            clippy::naive_bytecount,
            reason = "the JSON reader reads a byte at a time: no crate for one byte"
        )]
        let newlines = buf[..n].iter().filter(|b| **b == b'\n').count();
        self.lines.set(self.lines.get() + newlines);
        Ok(n)
    }
}

/// Parses `ShareGPT` JSON from `reader`; `output_len` asks for the reference answers' lengths.
/// Stops soon after `stop` is set.
pub(super) fn parse(
    reader: impl Read,
    source_name: &str,
    output_len: bool,
    turns: u32,
    stop: &AtomicBool,
) -> Result<Conversations, WorkloadError> {
    let json_error = |e: &serde_json::Error| {
        let full = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        WorkloadError::Json {
            source_name: source_name.to_string(),
            line: e.line(),
            column: e.column(),
            problem: full.strip_suffix(&at).unwrap_or(&full).to_string(),
            help: HELP.to_string(),
        }
    };
    let mut collected = Conversations {
        prompts: Vec::new(),
        skipped: 0,
        shortfall: Shortfall::new(turns),
    };
    let lines = std::rc::Rc::new(Cell::new(1));
    let mut json = serde_json::Deserializer::from_reader(Lines {
        inner: std::io::BufReader::new(reader),
        lines: std::rc::Rc::clone(&lines),
    });
    let parsed = Collect {
        output_len,
        follow_ups: follow_ups_needed(turns),
        lines: &lines,
        stop,
        into: &mut collected,
    }
    .deserialize(&mut json);
    if stop.load(Ordering::Relaxed) {
        return Err(WorkloadError::Stopped);
    }
    parsed.map_err(|e| json_error(&e))?;
    json.end().map_err(|e| json_error(&e))?;
    if collected.prompts.is_empty() && collected.shortfall.left_out() == 0 {
        return Err(WorkloadError::NoConversations {
            source_name: source_name.to_string(),
            skipped: collected.skipped,
        });
    }
    Ok(collected)
}

/// Visits the array one conversation at a time, keeping only each one's prompt.
struct Collect<'a> {
    output_len: bool,
    /// Follow-ups each conversation must give (0: single requests).
    follow_ups: usize,
    /// The line the reader is on.
    lines: &'a Cell<usize>,
    stop: &'a AtomicBool,
    into: &'a mut Conversations,
}

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<Entry>()? {
            let seen = self.into.prompts.len() + self.into.skipped;
            if seen.is_multiple_of(STOP_EVERY) && self.stop.load(Ordering::Relaxed) {
                return Err(serde::de::Error::custom("stopped"));
            }
            match prompt_of(&entry.conversations, self.output_len) {
                Some((messages, max_tokens, human)) => {
                    let follow_ups = if self.follow_ups == 0 {
                        Vec::new()
                    } else {
                        let next = human_turns_after(&entry.conversations, human);
                        if !self.into.shortfall.keeps(self.lines.get(), next.len() + 1) {
                            continue;
                        }
                        next.take(self.follow_ups).map(str::to_string).collect()
                    };
                    self.into.prompts.push((messages, max_tokens, follow_ups));
                }
                None => self.into.skipped += 1,
            }
        }
        Ok(())
    }
}

fn role_of(from: &str) -> Option<&'static str> {
    match from.to_ascii_lowercase().as_str() {
        "human" | "user" => Some("user"),
        "gpt" | "assistant" | "chatgpt" | "bard" | "model" => Some("assistant"),
        "system" => Some("system"),
        _ => None,
    }
}

fn text(turn: &Turn) -> Option<&str> {
    turn.value.as_deref().filter(|v| !v.trim().is_empty())
}

/// The human turns (with text) after the one at `human`: a session's follow-ups.
fn human_turns_after(turns: &[Turn], human: usize) -> impl ExactSizeIterator<Item = &str> {
    let next: Vec<&str> = turns[human + 1..]
        .iter()
        .filter(|t| role_of(&t.from) == Some("user"))
        .filter_map(text)
        .collect();
    next.into_iter()
}

/// A conversation's prompt (its first human turn, after its system turn), its reference
/// answer's length when asked for, and where that human turn is.
fn prompt_of(turns: &[Turn], output_len: bool) -> Option<(Vec<Message>, Option<u32>, usize)> {
    let human = turns
        .iter()
        .position(|t| role_of(&t.from) == Some("user") && text(t).is_some())?;
    let mut messages = Vec::with_capacity(2);
    let system = turns[..human]
        .iter()
        .rev()
        .find(|t| role_of(&t.from) == Some("system"))
        .and_then(text);
    if let Some(system) = system {
        messages.push(message("system", system));
    }
    messages.push(message("user", text(&turns[human])?));
    let max_tokens = if output_len {
        turns[human + 1..]
            .iter()
            .take_while(|t| role_of(&t.from) != Some("user"))
            .find(|t| role_of(&t.from) == Some("assistant"))
            .and_then(text)
            .map(count_tokens)
            .filter(|n| *n > 0)
    } else {
        None
    };
    Some((messages, max_tokens, human))
}

fn message(role: &str, content: &str) -> Message {
    Message::new(role, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"[
      {"id": "a", "conversations": [
        {"from": "system", "value": "Be brief."},
        {"from": "human", "value": "What is TCP?"},
        {"from": "gpt", "value": "hello world and more"}]},
      {"id": "b", "conversations": [{"from": "gpt", "value": "orphan answer"}]},
      {"id": "c", "conversations": [{"from": "human", "value": "Hi"}], "extra": 1}
    ]"#;

    static GO: AtomicBool = AtomicBool::new(false);

    #[test]
    fn first_human_turn_with_its_system_turn() -> Result<(), WorkloadError> {
        let parsed = parse(FILE.as_bytes(), "s.json", true, 1, &GO)?;
        assert_eq!(parsed.skipped, 1);
        assert_eq!(parsed.prompts.len(), 2);
        let (messages, max_tokens, _) = &parsed.prompts[0];
        assert_eq!(messages[0], message("system", "Be brief."));
        assert_eq!(messages[1], message("user", "What is TCP?"));
        assert_eq!(*max_tokens, Some(4));
        assert_eq!(parsed.prompts[1].1, None);
        assert_eq!(
            parse(FILE.as_bytes(), "s.json", false, 1, &GO)?.prompts[0].1,
            None
        );
        Ok(())
    }

    #[test]
    fn errors_name_line_and_column() {
        let error = |text: &str| {
            parse(text.as_bytes(), "s.json", false, 1, &GO)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let message = error("[\n {\"conversations\": [}\n]");
        assert!(message.starts_with("s.json:2:"), "{message}");
        assert!(message.contains("help: a ShareGPT file"), "{message}");
        let message = error("[{\"conversations\": [{\"from\": \"gpt\", \"value\": \"x\"}]}]");
        assert!(
            message.contains("no conversation has a human turn"),
            "{message}"
        );
    }

    const SESSIONS: &str = r#"[
      {"id": "a", "conversations": [
        {"from": "human", "value": "one"},
        {"from": "gpt", "value": "answer"},
        {"from": "human", "value": "two"},
        {"from": "gpt", "value": "answer"},
        {"from": "human", "value": "three"}]},
      {"id": "b", "conversations": [
        {"from": "human", "value": "alone"},
        {"from": "gpt", "value": "answer"}]}
    ]"#;

    #[test]
    fn sessions_take_the_next_human_turns_and_leave_short_ones_out() -> Result<(), WorkloadError> {
        let parsed = parse(SESSIONS.as_bytes(), "s.json", false, 3, &GO)?;
        assert_eq!(parsed.prompts.len(), 1);
        assert_eq!(
            parsed.prompts[0].2,
            vec!["two".to_string(), "three".to_string()]
        );
        let mut notes = Vec::new();
        parsed.shortfall.finish("s.json", 1, &mut notes)?;
        // Named by the line it ends on.
        assert!(notes[0].contains("line 10"), "{notes:?}");

        let parsed = parse(SESSIONS.as_bytes(), "s.json", false, 4, &GO)?;
        assert!(parsed.prompts.is_empty());
        let message = parsed
            .shortfall
            .finish("s.json", 0, &mut Vec::new())
            .map_err(|e| e.to_string())
            .expect_err("none has 4 turns");
        assert!(message.starts_with("s.json:7:"), "{message}");
        assert!(message.contains("the longest has 3"), "{message}");
        Ok(())
    }
}
