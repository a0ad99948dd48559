//! An embeddings target: what it refuses before the race (what only generation carries), and
//! its batches: request `i` carries the texts of prompts `i`, `i + 1`, … (`embed_batch` of
//! them, wrapping round the workload), each prompt's messages joined into one input.

use super::{TargetError, TargetSpec};
use crate::protocol::Message;
use crate::workload::Prompt;

/// Fields of an endpoint's `body` that ask for what an embedding cannot give.
const GENERATION_FIELDS: [(&str, &str); 7] = [
    ("tools", "tools"),
    ("tool_choice", "tools"),
    ("response_format", "structured output"),
    ("reasoning_effort", "reasoning"),
    ("reasoning", "reasoning"),
    ("thinking", "reasoning"),
    ("stream", "streaming"),
];

/// Refuses, before anything is sent, a workload or body asking for what only generation
/// carries: tools, images, sessions of turns, structured output, reasoning.
pub(super) fn refuse(spec: &TargetSpec<'_>, prompts: &[Prompt]) -> Result<(), TargetError> {
    let refused = |what: String| TargetError::Embeddings {
        endpoint: spec.name.to_string(),
        what,
    };
    if let Some(p) = prompts.iter().find(|p| !p.tools.is_empty()) {
        return Err(refused(format!("tools (prompt {} offers some)", p.id.0)));
    }
    if let Some(p) = prompts
        .iter()
        .find(|p| p.messages.iter().any(|m| !m.images.is_empty()))
    {
        return Err(refused(format!("images (prompt {} has some)", p.id.0)));
    }
    if prompts.iter().any(|p| !p.follow_ups.is_empty()) {
        return Err(refused("sessions of turns (--turns)".to_owned()));
    }
    if let Some((field, what)) = GENERATION_FIELDS
        .iter()
        .find(|(field, _)| spec.body.contains_key(*field))
    {
        return Err(refused(format!("{what} (its body sets `{field}`)")));
    }
    Ok(())
}

/// The inputs of request `index`: the texts of `batch` prompts from it on, one message each.
pub(super) fn inputs(texts: &[String], index: usize, batch: u32) -> Vec<Message> {
    (0..batch as usize)
        .map(|k| Message::user(texts[(index + k) % texts.len()].as_str()))
        .collect()
}

/// Every input of request `index` as one text, for the tokenizer's estimate of its input
/// when the server reports no usage.
pub(super) fn joined(texts: &[String], index: usize, batch: u32) -> String {
    let mut all = String::new();
    for (k, message) in inputs(texts, index, batch).iter().enumerate() {
        if k > 0 {
            all.push('\n');
        }
        all.push_str(&message.content);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_wrap_round_the_prompts() {
        let texts: Vec<String> = ["a", "b", "c"].iter().map(ToString::to_string).collect();
        let contents =
            |i, n| -> Vec<String> { inputs(&texts, i, n).into_iter().map(|m| m.content).collect() };
        assert_eq!(contents(0, 1), ["a"]);
        assert_eq!(contents(1, 4), ["b", "c", "a", "b"]);
        assert_eq!(joined(&texts, 2, 2), "c\na");
    }
}
