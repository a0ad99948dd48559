//! A session turn's answer as the next turn resends it: its text, or, when it has none (an
//! answer that only called tools, or only reasoned), its tool calls written out as text, so that
//! no assistant message goes out empty (Anthropic refuses empty assistant content).

/// Shown for an answer with neither text nor tool calls: never an empty message.
pub(crate) const NO_ANSWER: &str = "(no answer)";

/// The answer collected from a turn's stream.
#[derive(Debug, Default)]
pub(super) struct Answer {
    text: String,
    /// Tool calls by index, with their name and their arguments as the pieces came.
    calls: Vec<(u32, String, String)>,
}

impl Answer {
    /// Content that is not reasoning.
    pub(super) fn push_text(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// A piece of tool call `index`: the piece that names it, or more of its arguments.
    pub(super) fn push_tool(&mut self, index: u32, name: Option<&str>, arguments: &str) {
        match self.calls.iter_mut().find(|(i, ..)| *i == index) {
            Some((_, known, args)) => {
                if known.is_empty()
                    && let Some(name) = name
                {
                    known.push_str(name);
                }
                args.push_str(arguments);
            }
            None => self.calls.push((
                index,
                name.unwrap_or_default().to_string(),
                arguments.to_string(),
            )),
        }
    }

    /// The assistant message's content: the text when there is some, else the tool calls
    /// (`[called get_weather({"city":"Paris"})]`), else [`NO_ANSWER`].
    pub(super) fn into_content(self) -> String {
        if !self.text.trim().is_empty() {
            return self.text;
        }
        if self.calls.is_empty() {
            return NO_ANSWER.to_string();
        }
        self.calls
            .iter()
            .map(|(_, name, args)| {
                let name = if name.is_empty() { "a tool" } else { name };
                format!("[called {name}({args})]")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_the_content_and_tool_calls_stand_in_when_there_is_none() {
        let mut text = Answer::default();
        text.push_text("Sunny.");
        text.push_tool(0, Some("get_weather"), "{}");
        assert_eq!(text.into_content(), "Sunny.");

        let mut calls = Answer::default();
        calls.push_tool(0, Some("get_weather"), "{\"city\":");
        calls.push_tool(1, Some("get_time"), "{}");
        calls.push_tool(0, None, "\"Paris\"}");
        assert_eq!(
            calls.into_content(),
            "[called get_weather({\"city\":\"Paris\"})]\n[called get_time({})]"
        );

        let mut blank = Answer::default();
        blank.push_text("\n");
        assert_eq!(blank.into_content(), NO_ANSWER);
        assert_eq!(Answer::default().into_content(), NO_ANSWER);
    }
}
