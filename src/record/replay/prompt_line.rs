//! A prompt as the replay keeps it: whole, unless its line would be longer than the reader
//! reads, in which case its text is cut and says so. The replay keeps prompts only for the
//! inspector to show; a file that cannot be read back would lose the whole race.

use std::borrow::Cow;

use super::MAX_LINE_BYTES;
use crate::protocol::Message;

/// Bytes of roles and contents a prompt line may carry: JSON escapes a byte into at most six,
/// so this many always fit in a line with room left for the field names.
const TEXT_BUDGET: usize = MAX_LINE_BYTES / 8;

/// The field names, quotes and braces of one message in JSON.
const MESSAGE_OVERHEAD: usize = 32;

/// The field names and numbers of one image's description in JSON, its source aside.
const IMAGE_OVERHEAD: usize = 128;

/// What a cut prompt ends with.
pub(super) const CUT_MARK: &str = " […the replay keeps only the start of this prompt]";

/// `messages` as a prompt line can hold them: the same when they fit, else the first ones up
/// to the budget, the last of them cut.
pub(super) fn fit(messages: &[Message]) -> Cow<'_, [Message]> {
    // An image is kept as its description (media type, sizes, source), never its bytes.
    let size = |m: &Message| {
        let images: usize = m
            .images
            .iter()
            .map(|i| i.source.len() + IMAGE_OVERHEAD)
            .sum();
        m.role.len() + m.content.len() + MESSAGE_OVERHEAD + images
    };
    if messages.iter().map(size).sum::<usize>() <= TEXT_BUDGET {
        return Cow::Borrowed(messages);
    }
    let mut left = TEXT_BUDGET;
    let mut kept = Vec::new();
    for message in messages {
        if size(message) + CUT_MARK.len() <= left {
            left -= size(message);
            kept.push(message.clone());
            continue;
        }
        let role = cut(&message.role, 64);
        let room = left.saturating_sub(role.len() + MESSAGE_OVERHEAD + CUT_MARK.len());
        kept.push(Message {
            content: format!("{}{CUT_MARK}", cut(&message.content, room)),
            ..Message::new(role, "")
        });
        break;
    }
    Cow::Owned(kept)
}

/// The longest start of `text` of at most `bytes` bytes that ends on a character.
fn cut(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(content: String) -> Message {
        Message::user(content)
    }

    #[test]
    fn prompts_that_fit_are_kept_whole() {
        let messages = vec![message("hello".to_string()); 3];
        assert!(matches!(fit(&messages), Cow::Borrowed(_)));
    }

    #[test]
    fn a_prompt_too_long_for_a_line_is_cut_and_says_so_even_when_every_byte_is_escaped() {
        // Control characters take six bytes each in JSON: the worst case for the budget.
        let long = message("\u{1}é".repeat(MAX_LINE_BYTES));
        let messages = vec![message("short".to_string()), long, message("x".to_string())];
        let fitted = fit(&messages);
        assert_eq!(fitted.len(), 2);
        assert_eq!(fitted[0], messages[0]);
        assert!(fitted[1].content.ends_with(CUT_MARK));
        assert!(
            messages[1]
                .content
                .starts_with(fitted[1].content.trim_end_matches(CUT_MARK))
        );
        let line = serde_json::to_vec(&fitted).unwrap();
        assert!(line.len() < MAX_LINE_BYTES, "{} bytes", line.len());
    }
}
