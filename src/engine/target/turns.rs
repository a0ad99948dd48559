//! What a target keeps for multi-turn sessions: each prompt's messages and follow-ups, and what
//! its request bodies are built with, so a later turn's body (the conversation so far) is built
//! at run time exactly as the first turn's was before the start.

use bytes::Bytes;

use super::{Target, TargetSpec};
use crate::event::PromptId;
use crate::protocol::{Message, Protocol, RequestSpec};
use crate::workload::Prompt;

/// A target's conversations, kept only in a race of sessions.
pub(super) struct Turns {
    protocol: Protocol,
    base_url: String,
    model: String,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    stream: bool,
    extra_body: serde_json::Map<String, serde_json::Value>,
    /// Per prompt: its messages (as its first turn sends them), its own output budget and its
    /// follow-ups.
    prompts: Vec<(Vec<Message>, Option<u32>, Vec<String>)>,
}

impl Turns {
    /// The conversations of `prompts`, if any has follow-ups (a race of sessions).
    pub(super) fn of(spec: &TargetSpec<'_>, prompts: &[Prompt]) -> Option<Turns> {
        if prompts.iter().all(|p| p.follow_ups.is_empty()) {
            return None;
        }
        Some(Turns {
            protocol: spec.protocol,
            base_url: spec.base_url.to_string(),
            model: spec.model.to_string(),
            max_tokens: spec.max_tokens,
            temperature: spec.temperature,
            stream: spec.stream,
            extra_body: spec.body.clone(),
            prompts: prompts
                .iter()
                .map(|p| (p.messages.clone(), p.max_tokens, p.follow_ups.clone()))
                .collect(),
        })
    }
}

impl Target {
    fn conversation(&self, prompt: PromptId) -> Option<&(Vec<Message>, Option<u32>, Vec<String>)> {
        let turns = self.turns.as_ref()?;
        turns
            .prompts
            .get(prompt.0 as usize % turns.prompts.len().max(1))
    }

    /// A prompt's messages as its first turn sends them: a session's conversation starts here.
    pub fn messages(&self, prompt: PromptId) -> &[Message] {
        self.conversation(prompt).map_or(&[], |c| c.0.as_slice())
    }

    /// A prompt's follow-up user messages, for turns 2, 3, …
    pub fn follow_ups(&self, prompt: PromptId) -> &[String] {
        self.conversation(prompt).map_or(&[], |c| c.2.as_slice())
    }

    /// The body of a session's later turn of `prompt`: `messages` is the conversation so far,
    /// ending with the user's next message. Built as the first turn's body was.
    pub fn turn_body(&self, prompt: PromptId, messages: &[Message]) -> Bytes {
        let Some(turns) = self.turns.as_ref() else {
            return self.body_for(prompt).clone();
        };
        let own_budget = self.conversation(prompt).and_then(|c| c.1);
        let wire = turns.protocol.build_request(
            &turns.base_url,
            &RequestSpec {
                model: &turns.model,
                messages,
                max_tokens: own_budget.or(turns.max_tokens),
                temperature: turns.temperature,
                stream: turns.stream,
                extra_body: &turns.extra_body,
            },
        );
        Bytes::from(wire.body)
    }
}
