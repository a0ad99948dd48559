//! Tools a prompt offers the model, in one protocol-neutral shape, and how each protocol's
//! request carries them; and structured output: whether a request asks for a JSON answer,
//! and whether an answer is JSON.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Protocol;

/// A tool the model may call: its name, what it does, and its arguments as a JSON schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// A JSON schema of the arguments (`{"type": "object", "properties": …}`).
    #[serde(default = "empty_object_schema")]
    pub parameters: Value,
}

fn empty_object_schema() -> Value {
    json!({ "type": "object", "properties": {} })
}

impl ToolDef {
    /// A tool named `name` that does `description`, taking arguments shaped by the schema
    /// `parameters`.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        ToolDef {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }

    /// A tool in OpenAI's shape (`{"type": "function", "function": {name, description,
    /// parameters}}`) or the flat one (`{name, description, parameters}`).
    ///
    /// # Errors
    /// What is wrong with `value`, for a message naming the line it came from.
    pub fn from_openai(value: &Value) -> Result<ToolDef, String> {
        let function = match value.get("function") {
            Some(function) => function,
            None => value,
        };
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or("needs a `function.name` string")?;
        let description = match function.get("description") {
            None | Some(Value::Null) => "",
            Some(Value::String(d)) => d,
            Some(_) => return Err("`description` must be a string".to_owned()),
        };
        let parameters = match function.get("parameters") {
            None | Some(Value::Null) => empty_object_schema(),
            Some(p @ Value::Object(_)) => p.clone(),
            Some(_) => return Err("`parameters` must be a JSON schema object".to_owned()),
        };
        Ok(ToolDef::new(name, description, parameters))
    }
}

/// Puts `tools` into a request `body` as `protocol` expects them; nothing when there are none
/// or the protocol has no tools (legacy completions).
pub(super) fn insert(protocol: Protocol, tools: &[ToolDef], body: &mut Map<String, Value>) {
    if tools.is_empty() {
        return;
    }
    let list: Value = match protocol {
        Protocol::OpenAiCompletions => return,
        Protocol::OpenAiChat | Protocol::Ollama => tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    }
                })
            })
            .collect(),
        Protocol::Anthropic => tools
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "description": t.description,
                    "input_schema": t.parameters,
                })
            })
            .collect(),
    };
    body.insert("tools".to_owned(), list);
}

impl Protocol {
    /// Whether a request body with these extra fields asks for a JSON answer: OpenAI's
    /// `response_format` of type `json_object` or `json_schema`, Ollama's `format` (`"json"`
    /// or a schema), Anthropic's `output_format` of type `json_schema`.
    pub fn asks_for_json(self, extra_body: &Map<String, Value>) -> bool {
        let kind = |field: &str| {
            extra_body
                .get(field)
                .and_then(|f| f.get("type"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match self {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
                matches!(
                    kind("response_format").as_deref(),
                    Some("json_object" | "json_schema")
                )
            }
            Protocol::Anthropic => kind("output_format").as_deref() == Some("json_schema"),
            Protocol::Ollama => match extra_body.get("format") {
                Some(Value::String(f)) => f == "json",
                Some(Value::Object(_)) => true,
                _ => false,
            },
        }
    }
}

/// Whether an answer is one JSON value (whitespace around it allowed). Checks the syntax
/// only, without building the value: cheap enough for the end of every request.
pub fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn openai_and_flat_shapes_read_alike() {
        let openai = json!({"type": "function", "function": {"name": "f", "description": "d",
            "parameters": {"type": "object"}}});
        let flat = json!({"name": "f", "description": "d", "parameters": {"type": "object"}});
        assert_eq!(
            ToolDef::from_openai(&openai).unwrap(),
            ToolDef::from_openai(&flat).unwrap()
        );
        assert!(ToolDef::from_openai(&json!({"type": "function"})).is_err());
        assert!(ToolDef::from_openai(&json!({"name": "f", "parameters": 3})).is_err());
    }

    #[test]
    fn json_is_asked_for_per_protocol() {
        let map = |v: Value| v.as_object().unwrap().clone();
        let schema = map(json!({"response_format": {"type": "json_schema", "json_schema": {}}}));
        assert!(Protocol::OpenAiChat.asks_for_json(&schema));
        assert!(
            !Protocol::OpenAiChat.asks_for_json(&map(json!({"response_format": {"type": "text"}})))
        );
        assert!(Protocol::Ollama.asks_for_json(&map(json!({"format": "json"}))));
        assert!(Protocol::Ollama.asks_for_json(&map(json!({"format": {"type": "object"}}))));
        assert!(!Protocol::Ollama.asks_for_json(&schema));
        assert!(
            Protocol::Anthropic
                .asks_for_json(&map(json!({"output_format": {"type": "json_schema"}})))
        );
    }

    #[test]
    fn json_check_is_syntax_only() {
        assert!(is_json(" {\"a\": [1, 2]}\n"));
        assert!(!is_json("{\"a\": 1"));
        assert!(!is_json("```json\n{}\n```"));
        assert!(!is_json("{} {}"));
    }
}
