//! A JSONL prompt line's `tools`: OpenAI's list of tool definitions, read into the
//! protocol-neutral [`ToolDef`]s each protocol's request is built from.

use serde_json::Value;

use crate::protocol::ToolDef;

/// The tools of one JSONL line: none when it has no `tools` field.
pub(super) fn of_line(line: &str) -> Result<Vec<ToolDef>, String> {
    // Most lines have no tools: they are not parsed twice.
    if !line.contains("\"tools\"") {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    match value.get("tools") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| ToolDef::from_openai(item).map_err(|e| format!("tools[{i}]: {e}")))
            .collect(),
        Some(_) => Err(
            "`tools` must be a list of tool definitions ({\"type\": \"function\", \"function\": \
             {\"name\": …, \"description\": …, \"parameters\": {…}}})"
                .to_owned(),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn reads_openai_tools_and_names_the_bad_one() {
        let line = r#"{"prompt": "hi", "tools": [{"type": "function", "function": {"name": "a"}},
            {"type": "function", "function": {"description": "no name"}}]}"#;
        assert_eq!(
            of_line(line).unwrap_err(),
            "tools[1]: needs a `function.name` string"
        );
        let line =
            r#"{"prompt": "hi", "tools": [{"type": "function", "function": {"name": "a"}}]}"#;
        assert_eq!(of_line(line).unwrap()[0].name, "a");
        assert!(of_line(r#"{"prompt": "hi"}"#).unwrap().is_empty());
        assert!(of_line(r#"{"prompt": "hi", "tools": {}}"#).is_err());
    }
}
