//! `ShareGPT` files (`.json`): an array of `{"id": …, "conversations": [{"from": "human",
//! "value": …}, …]}`. The first human turn is the prompt (after the system turn, if one comes
//! first); the first answer after it is the reference answer, whose length in tokens may become
//! the prompt's `max_tokens`. The array is parsed as it is read, one conversation at a time,
//! and only the turns that matter are kept, so memory follows the prompts, not the file.

use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};

use crate::protocol::Message;
use crate::tokenizer::count_tokens;

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
    /// The messages of each prompt, and its reference answer's length in tokens when asked for.
    pub prompts: Vec<(Vec<Message>, Option<u32>)>,
    /// Conversations without a human turn, left out.
    pub skipped: usize,
}

/// Parses `ShareGPT` JSON from `reader`; `output_len` asks for the reference answers' lengths.
/// Stops soon after `stop` is set.
pub(super) fn parse(
    reader: impl Read,
    source_name: &str,
    output_len: bool,
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
    };
    let mut json = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let parsed = Collect {
        output_len,
        stop,
        into: &mut collected,
    }
    .deserialize(&mut json);
    if stop.load(Ordering::Relaxed) {
        return Err(WorkloadError::Stopped);
    }
    parsed.map_err(|e| json_error(&e))?;
    json.end().map_err(|e| json_error(&e))?;
    if collected.prompts.is_empty() {
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
                Some(prompt) => self.into.prompts.push(prompt),
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

fn prompt_of(turns: &[Turn], output_len: bool) -> Option<(Vec<Message>, Option<u32>)> {
    fn text(turn: &Turn) -> Option<&str> {
        turn.value.as_deref().filter(|v| !v.trim().is_empty())
    }
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
    Some((messages, max_tokens))
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
        let parsed = parse(FILE.as_bytes(), "s.json", true, &GO)?;
        assert_eq!(parsed.skipped, 1);
        assert_eq!(parsed.prompts.len(), 2);
        let (messages, max_tokens) = &parsed.prompts[0];
        assert_eq!(messages[0], message("system", "Be brief."));
        assert_eq!(messages[1], message("user", "What is TCP?"));
        assert_eq!(*max_tokens, Some(4));
        assert_eq!(parsed.prompts[1].1, None);
        assert_eq!(
            parse(FILE.as_bytes(), "s.json", false, &GO)?.prompts[0].1,
            None
        );
        Ok(())
    }

    #[test]
    fn errors_name_line_and_column() {
        let error = |text: &str| {
            parse(text.as_bytes(), "s.json", false, &GO)
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
}
