//! What a target keeps for multi-turn sessions: each prompt's messages and follow-ups, and what
//! its request bodies are built with, so a later turn's body (the conversation so far) is built
//! at run time exactly as the first turn's was before the start.

use bytes::Bytes;

use super::{Target, TargetSpec};
use crate::event::PromptId;
use crate::protocol::{Message, Protocol, RequestSpec, ToolDef};
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
    prompts: Vec<Conversation>,
}

/// One prompt as a session sends it.
struct Conversation {
    /// The messages its first turn sends.
    messages: Vec<Message>,
    /// Its own output budget.
    max_tokens: Option<u32>,
    /// The user messages of turns 2, 3, …
    follow_ups: Vec<String>,
    /// The tools every turn offers.
    tools: Vec<ToolDef>,
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
                .map(|p| Conversation {
                    messages: super::messages(spec.salt, p).into_owned(),
                    max_tokens: p.max_tokens,
                    follow_ups: p.follow_ups.clone(),
                    tools: p.tools.clone(),
                })
                .collect(),
        })
    }
}

impl Target {
    fn conversation(&self, prompt: PromptId) -> Option<&Conversation> {
        let turns = self.turns.as_ref()?;
        turns
            .prompts
            .get(prompt.0 as usize % turns.prompts.len().max(1))
    }

    /// A prompt's messages as its first turn sends them: a session's conversation starts here.
    pub fn messages(&self, prompt: PromptId) -> &[Message] {
        self.conversation(prompt)
            .map_or(&[], |c| c.messages.as_slice())
    }

    /// A prompt's follow-up user messages, for turns 2, 3, …
    pub fn follow_ups(&self, prompt: PromptId) -> &[String] {
        self.conversation(prompt)
            .map_or(&[], |c| c.follow_ups.as_slice())
    }

    /// The body of a session's later turn of `prompt`: `messages` is the conversation so far,
    /// ending with the user's next message. Built as the first turn's body was.
    pub fn turn_body(&self, prompt: PromptId, messages: &[Message]) -> Bytes {
        let Some(turns) = self.turns.as_ref() else {
            return self.body_for(prompt).clone();
        };
        let conversation = self.conversation(prompt);
        let own_budget = conversation.and_then(|c| c.max_tokens);
        let wire = turns.protocol.build_request(
            &turns.base_url,
            &RequestSpec {
                model: &turns.model,
                messages,
                max_tokens: own_budget.or(turns.max_tokens),
                temperature: turns.temperature,
                stream: turns.stream,
                tools: conversation.map_or(&[], |c| c.tools.as_slice()),
                extra_body: &turns.extra_body,
            },
        );
        Bytes::from(wire.body)
    }
}
