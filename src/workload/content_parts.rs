//! A JSONL message's `content` as a list of parts (OpenAI's form): the `text` parts make its
//! text, `image_url` parts are images (attached apart, from the prompts file's folder), and a
//! part of any other type is refused rather than dropped, which would send an empty message.

use serde_json::Value;

/// The part types a message's `content` list may hold.
const SUPPORTED: &str = "`text` and `image_url` parts are sent";

/// The text of a message's `parts`, its text parts joined by newlines.
pub(super) fn text_of(parts: &[Value]) -> Result<String, String> {
    let mut texts = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        match part.get("type").and_then(Value::as_str) {
            Some("image_url") => {}
            // A part without a `type` but with a `text` is a text part.
            Some("text") | None => {
                let text = part.get("text").and_then(Value::as_str).ok_or_else(|| {
                    format!("content part {i} has no `text` string ({SUPPORTED})")
                })?;
                texts.push(text);
            }
            Some(other) => {
                return Err(format!(
                    "content part {i} is of type `{other}`, which llmrace cannot send \
                     ({SUPPORTED}): drop it or turn it into text"
                ));
            }
        }
    }
    Ok(texts.join("\n"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_parts_are_joined_and_images_left_to_attach() {
        let parts = [
            json!({"type": "text", "text": "a"}),
            json!({"type": "image_url", "image_url": {"url": "cat.png"}}),
            json!({"text": "b"}),
        ];
        assert_eq!(text_of(&parts).unwrap(), "a\nb");
    }

    #[test]
    fn a_part_of_another_type_is_refused_by_name() {
        let parts = [
            json!({"type": "text", "text": "listen"}),
            json!({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}),
        ];
        let problem = text_of(&parts).unwrap_err();
        assert!(
            problem.contains("part 1 is of type `input_audio`"),
            "{problem}"
        );
        assert!(problem.contains("`text` and `image_url`"), "{problem}");
        assert!(text_of(&[json!({"type": "text"})]).is_err());
    }
}
