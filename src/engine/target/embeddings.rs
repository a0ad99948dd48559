//! An embeddings target: what it refuses before the race (what only generation carries), and
//! its batches: request `i` carries the texts of prompts `i·batch`, `i·batch + 1`, …
//! (`embed_batch` of them, wrapping round the workload), each prompt's messages joined into
//! one input, so a race sends every prompt once before it repeats any.

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

/// The inputs each request of an embeddings target carries (`None` for other protocols), once
/// the workload and body are checked (see [`refuse`]).
pub(super) fn batch(spec: &TargetSpec<'_>, prompts: &[Prompt]) -> Result<Option<u32>, TargetError> {
    if !spec.protocol.is_embeddings() {
        return Ok(None);
    }
    refuse(spec, prompts)?;
    Ok(Some(spec.embed_batch.max(1)))
}

/// Refuses, before anything is sent, a workload or body asking for what only generation
/// carries: tools, images, sessions of turns, structured output, reasoning.
fn refuse(spec: &TargetSpec<'_>, prompts: &[Prompt]) -> Result<(), TargetError> {
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

/// The inputs of request `index` of a target with `batch` inputs a request: the texts of
/// the `batch` prompts from `index · batch` on, one message each; `None` when the target is
/// not embeddings.
pub(super) fn inputs(batch: Option<u32>, texts: &[String], index: usize) -> Option<Vec<Message>> {
    let batch = batch? as usize;
    let start = (index % texts.len()) * batch;
    Some(
        (0..batch)
            .map(|k| Message::user(texts[(start + k) % texts.len()].as_str()))
            .collect(),
    )
}

/// How many different requests a target of `prompts` prompts sends before they repeat: one a
/// prompt, or for embeddings until the batches come round to the first prompt again.
pub(super) fn period(batch: Option<u32>, prompts: usize) -> usize {
    let Some(batch) = batch else {
        return prompts;
    };
    let (mut a, mut b) = (prompts.max(1), batch.max(1) as usize);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    prompts.max(1) / a
}

/// The prompts a target builds a request body for: every one, or for embeddings those that
/// begin a different batch ([`period`]) — the rest would repeat them.
pub(super) fn bodied(batch: Option<u32>, prompts: &[Prompt]) -> &[Prompt] {
    &prompts[..period(batch, prompts.len()).min(prompts.len())]
}

/// What the tokenizer estimates each request's input from when the server reports no usage:
/// the prompt's text, or for embeddings every input of its request.
pub(super) fn prompt_texts(batch: Option<u32>, texts: Vec<String>) -> Vec<String> {
    match batch {
        Some(n) => (0..period(batch, texts.len()))
            .map(|i| joined(&texts, i, n))
            .collect(),
        None => texts,
    }
}

/// Every input of request `index` as one text.
fn joined(texts: &[String], index: usize, batch: u32) -> String {
    let mut all = String::new();
    let inputs = inputs(Some(batch), texts, index).unwrap_or_default();
    for (k, message) in inputs.iter().enumerate() {
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
        let contents = |i, n| -> Vec<String> {
            let batch = inputs(Some(n), &texts, i).unwrap_or_default();
            batch.into_iter().map(|m| m.content).collect()
        };
        assert_eq!(contents(0, 1), ["a"]);
        assert_eq!(contents(1, 1), ["b"]);
        assert_eq!(contents(0, 2), ["a", "b"]);
        assert_eq!(contents(1, 2), ["c", "a"]);
        assert_eq!(contents(1, 4), ["b", "c", "a", "b"]);
        assert_eq!(joined(&texts, 1, 2), "c\na");
        assert_eq!(inputs(None, &texts, 0), None);
    }

    #[test]
    fn every_prompt_is_sent_once_before_any_repeats() {
        let texts: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let sent: Vec<String> = (0..3)
            .flat_map(|i| inputs(Some(4), &texts, i).unwrap_or_default())
            .map(|m| m.content)
            .collect();
        assert_eq!(
            sent,
            ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "1"]
        );
        // 10 prompts in batches of 4: after 5 requests (20 inputs) the batches repeat.
        assert_eq!(period(Some(4), 10), 5);
        assert_eq!(period(Some(4), 12), 3);
        assert_eq!(period(Some(1), 10), 10);
        assert_eq!(period(None, 10), 10);
    }
}
