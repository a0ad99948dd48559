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
    /// parameters}}`), its flat form (`{name, description, parameters}`) or Anthropic's
    /// (`{name, description, input_schema}`). A field none of them has is refused rather than
    /// dropped: a misplaced schema would otherwise be sent as no arguments at all.
    ///
    /// # Errors
    /// What is wrong with `value`, for a message naming the line it came from.
    pub fn from_value(value: &Value) -> Result<ToolDef, String> {
        let Value::Object(object) = value else {
            return Err("must be a JSON object".to_owned());
        };
        if let Some(kind) = object.get("type")
            && kind.as_str() != Some("function")
        {
            return Err(format!("`type` {kind}: only \"function\" tools are sent"));
        }
        let (fields, schema_key, known): (&Map<String, Value>, &str, &[&str]) =
            match object.get("function") {
                Some(Value::Object(function)) => {
                    if let Some(key) = ["name", "description", "parameters"]
                        .into_iter()
                        .find(|k| object.contains_key(*k))
                    {
                        return Err(format!("has `{key}` beside `function`: it goes inside it"));
                    }
                    unknown(object, &["type", "function"], "")?;
                    (
                        function,
                        "parameters",
                        &["name", "description", "parameters", "strict"],
                    )
                }
                Some(_) => return Err("`function` must be an object".to_owned()),
                None if object.contains_key("input_schema") => (
                    object,
                    "input_schema",
                    &["name", "description", "input_schema", "type"],
                ),
                None => (
                    object,
                    "parameters",
                    &["name", "description", "parameters", "type", "strict"],
                ),
            };
        let prefix = if std::ptr::eq(fields, object) {
            ""
        } else {
            "function."
        };
        unknown(fields, known, prefix)?;
        let name = fields
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("needs a `{prefix}name` string"))?;
        let description = match fields.get("description") {
            None | Some(Value::Null) => "",
            Some(Value::String(d)) => d,
            Some(_) => return Err(format!("`{prefix}description` must be a string")),
        };
        let parameters = match fields.get(schema_key) {
            None | Some(Value::Null) => empty_object_schema(),
            Some(p @ Value::Object(_)) => p.clone(),
            Some(_) => {
                return Err(format!(
                    "`{prefix}{schema_key}` must be a JSON schema object"
                ));
            }
        };
        Ok(ToolDef::new(name, description, parameters))
    }
}

/// Refuses the first field of `fields` not in `known`, `prefix` naming where it is.
fn unknown(fields: &Map<String, Value>, known: &[&str], prefix: &str) -> Result<(), String> {
    match fields.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(format!("has `{prefix}{key}`, which no tool shape has")),
        None => Ok(()),
    }
}

/// Puts `tools` into a request `body` as `protocol` expects them; nothing when there are none
/// or the protocol has no tools (legacy completions, which a race with tools refuses first).
pub(super) fn insert(protocol: Protocol, tools: &[ToolDef], body: &mut Map<String, Value>) {
    if tools.is_empty() {
        return;
    }
    let list: Value = match protocol {
        // Gemini's `functionDeclarations` are put in by `gemini::request`, Bedrock's
        // `toolConfig` by its own request builder.
        Protocol::OpenAiCompletions
        | Protocol::Gemini
        | Protocol::Bedrock
        | Protocol::OpenAiEmbeddings => return,
        Protocol::OpenAiChat | Protocol::Ollama => tools
            .iter()
            .map(|t| {
                let mut function = json!({ "name": t.name, "parameters": t.parameters });
                described(&mut function, t);
                json!({ "type": "function", "function": function })
            })
            .collect(),
        Protocol::Anthropic => tools
            .iter()
            .map(|t| {
                let mut tool = json!({ "name": t.name, "input_schema": t.parameters });
                described(&mut tool, t);
                tool
            })
            .collect(),
        // The Responses API's function tools are flat: no `function` object.
        Protocol::Responses => tools
            .iter()
            .map(|t| {
                let mut tool =
                    json!({ "type": "function", "name": t.name, "parameters": t.parameters });
                described(&mut tool, t);
                tool
            })
            .collect(),
    };
    body.insert("tools".to_owned(), list);
}

/// Adds `tool`'s description to `into`, unless it has none: an empty one is left out rather
/// than sent as `""`.
fn described(into: &mut Value, tool: &ToolDef) {
    if let Some(object) = into.as_object_mut()
        && !tool.description.is_empty()
    {
        object.insert("description".to_owned(), json!(tool.description));
    }
}

impl Protocol {
    /// Whether a request body with these extra fields asks for a JSON answer: OpenAI's
    /// `response_format` of type `json_object` or `json_schema`, Ollama's `format` (`"json"`
    /// or a schema), Anthropic's `output_format` of type `json_schema`, the Responses API's
    /// `text.format` of type `json_object` or `json_schema`, Gemini's
    /// `generationConfig.responseMimeType` `application/json`.
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
            // `text: {"format": {"type": "json_schema", …}}`.
            Protocol::Responses => matches!(
                extra_body
                    .get("text")
                    .and_then(|t| t.get("format"))
                    .and_then(|f| f.get("type"))
                    .and_then(Value::as_str),
                Some("json_object" | "json_schema")
            ),
            Protocol::Gemini => {
                extra_body
                    .get("generationConfig")
                    .and_then(|c| c.get("responseMimeType"))
                    .and_then(Value::as_str)
                    == Some("application/json")
            }
            // Converse asks for JSON through a tool, not a field llmrace knows.
            // Embeddings: refused before the race (`engine/target/embeddings.rs`).
            Protocol::Bedrock | Protocol::OpenAiEmbeddings => false,
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
    fn openai_flat_and_anthropic_shapes_read_alike() {
        let openai = json!({"type": "function", "function": {"name": "f", "description": "d",
            "parameters": {"type": "object"}}});
        let flat = json!({"name": "f", "description": "d", "parameters": {"type": "object"}});
        let anthropic =
            json!({"name": "f", "description": "d", "input_schema": {"type": "object"}});
        let tool = ToolDef::from_value(&openai).unwrap();
        assert_eq!(tool.parameters, json!({"type": "object"}));
        assert_eq!(ToolDef::from_value(&flat).unwrap(), tool);
        assert_eq!(ToolDef::from_value(&anthropic).unwrap(), tool);
        assert!(ToolDef::from_value(&json!({"type": "function"})).is_err());
        assert!(ToolDef::from_value(&json!({"name": "f", "parameters": 3})).is_err());
    }

    #[test]
    fn a_misplaced_schema_is_refused_not_dropped() {
        let beside = json!({"type": "function", "function": {"name": "f"},
            "parameters": {"type": "object"}});
        assert_eq!(
            ToolDef::from_value(&beside).unwrap_err(),
            "has `parameters` beside `function`: it goes inside it"
        );
        let mixed = json!({"type": "function", "function": {"name": "f",
            "input_schema": {"type": "object"}}});
        assert_eq!(
            ToolDef::from_value(&mixed).unwrap_err(),
            "has `function.input_schema`, which no tool shape has"
        );
        assert!(ToolDef::from_value(&json!({"name": "f", "schema": {}})).is_err());
        assert!(ToolDef::from_value(&json!({"type": "web_search", "name": "f"})).is_err());
    }

    #[test]
    fn a_tool_without_a_description_is_sent_without_one() {
        let tools = [ToolDef::new("f", "", empty_object_schema())];
        for protocol in [Protocol::OpenAiChat, Protocol::Anthropic, Protocol::Ollama] {
            let mut body = Map::new();
            insert(protocol, &tools, &mut body);
            let text = body["tools"].to_string();
            assert!(text.contains("\"f\""), "{protocol:?}: {text}");
            assert!(!text.contains("description"), "{protocol:?}: {text}");
        }
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
