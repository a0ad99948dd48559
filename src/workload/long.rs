//! The `long` built-in set: ~32k-token prompts composed at load time from the `rag` set's
//! retrieved contexts (our own text), so the repository ships no giant asset. Each prompt
//! joins eight contexts into one long retrieval and asks the question of the fourth, so the
//! answer sits in the middle of the context, where long-context models are weakest.

use std::fmt::Write as _;

use crate::protocol::Message;

/// Prompts in the set.
const PROMPTS: usize = 5;
/// `rag` contexts (~4k tokens each) per prompt.
const SECTIONS: usize = 8;
/// The section whose question is asked.
const ASKED: usize = 3;

/// The long prompts, from the `rag` prompts' messages (a system message, then the context and
/// its question as the user message).
pub(super) fn compose(rag: &[Vec<Message>]) -> Vec<Vec<Message>> {
    let parts: Vec<(&str, &str, &str)> = rag
        .iter()
        .filter_map(|messages| {
            let system = messages.first().filter(|m| m.role == "system")?;
            let user = messages.last().filter(|m| m.role == "user")?;
            let (context, question) = user.content.rsplit_once("\n\nQuestion:")?;
            Some((system.content.as_str(), context, question.trim()))
        })
        .collect();
    let Some((system, ..)) = parts.first() else {
        return Vec::new();
    };
    (0..PROMPTS)
        .map(|first| {
            let mut text = String::new();
            for section in 0..SECTIONS {
                let (_, context, _) = parts[(first + section) % parts.len()];
                let _ = write!(text, "=== Collection {} ===\n\n", section + 1);
                text.push_str(context);
                text.push_str("\n\n");
            }
            let (_, _, question) = parts[(first + ASKED) % parts.len()];
            let _ = write!(
                text,
                "Question: The answer is in collection {}; cite documents as \
                 [collection.document]. {question}",
                ASKED + 1
            );
            vec![Message::system(*system), Message::user(text)]
        })
        .collect()
}
