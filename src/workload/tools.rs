//! A JSONL prompt line's `tools`: OpenAI's list of tool definitions, read into the
//! protocol-neutral [`ToolDef`]s each protocol's request is built from.

use serde_json::Value;

use crate::protocol::ToolDef;

/// The help under a problem with a line's `tools`: the shapes a tool may have.
pub(super) const TOOLS_HELP: &str = "each tool is {\"type\": \"function\", \"function\": \
    {\"name\": \"get_weather\", \"description\": \"…\", \"parameters\": {\"type\": \"object\", \
    \"properties\": {…}}}} (OpenAI) or {\"name\": \"get_weather\", \"description\": \"…\", \
    \"input_schema\": {\"type\": \"object\", \"properties\": {…}}} (Anthropic); \
    `description` may be left out";

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
            .map(|(i, item)| ToolDef::from_value(item).map_err(|e| format!("tools[{i}]: {e}")))
            .collect(),
        Some(_) => Err("`tools` must be a list of tool definitions".to_owned()),
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
