//! What kind of answer a request asks the mock for: plain text, a JSON text (the request asked
//! for JSON with `response_format`, Ollama's `format` or Anthropic's `output_format`), or a
//! tool call (the request offered tools). The same request always gets the same shape: the
//! tool is picked by the body's hash.

use serde::Deserialize;
use serde_json::Value;

use crate::protocol::Protocol;

/// The shape of one answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Text,
    /// The answer's words wrapped as one JSON object: `{"answer":"<words>"}`.
    Json,
    /// A JSON answer left unclosed (the `bad_json` fault): `{"answer":"<words>`.
    BrokenJson,
    /// One call of `name` (already escaped for a JSON string), its arguments
    /// `{"<key>":"<words>"}`.
    Tool {
        name: String,
        key: String,
    },
}

/// A tool offered in a request: OpenAI and Ollama nest it in `function`, Bedrock in
/// `toolSpec`, Anthropic and the Responses API do not; Gemini lists several in one entry's
/// `functionDeclarations`.
#[derive(Deserialize)]
pub(crate) struct OfferedTool {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    function: Option<Box<OfferedTool>>,
    #[serde(default, rename = "toolSpec")]
    tool_spec: Option<Box<OfferedTool>>,
    #[serde(default, rename = "functionDeclarations")]
    function_declarations: Vec<OfferedTool>,
    /// OpenAI and Ollama's schema; Anthropic's is `input_schema`, Gemini's
    /// `parametersJsonSchema`, Bedrock's `inputSchema.json`.
    #[serde(default)]
    parameters: Option<Value>,
    #[serde(default)]
    input_schema: Option<Value>,
    #[serde(default, rename = "parametersJsonSchema")]
    parameters_json_schema: Option<Value>,
    #[serde(default, rename = "inputSchema")]
    bedrock_schema: Option<Value>,
}

impl OfferedTool {
    /// The tools this entry offers, each with its name and schema.
    fn offered(&self) -> Vec<&OfferedTool> {
        if !self.function_declarations.is_empty() {
            return self.function_declarations.iter().collect();
        }
        vec![
            self.function
                .as_deref()
                .or(self.tool_spec.as_deref())
                .unwrap_or(self),
        ]
    }

    fn schema(&self) -> Option<&Value> {
        self.parameters
            .as_ref()
            .or(self.input_schema.as_ref())
            .or(self.parameters_json_schema.as_ref())
            .or_else(|| self.bedrock_schema.as_ref().and_then(|s| s.get("json")))
    }
}

/// An object with a `type` (`response_format`, `output_format`).
#[derive(Deserialize)]
pub(crate) struct Typed {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// The fields of a request body that decide the shape.
pub(crate) struct Asked<'a> {
    pub tools: &'a [OfferedTool],
    pub response_format: Option<&'a Typed>,
    pub output_format: Option<&'a Typed>,
    pub format: Option<&'a Value>,
    /// The Responses API's `text` (`{"format": {"type": "json_schema", …}}`).
    pub text: Option<&'a Value>,
}

impl Shape {
    pub(crate) fn of(protocol: Protocol, asked: &Asked<'_>, body_hash: u64) -> Shape {
        let names: Vec<(&str, &str)> = asked
            .tools
            .iter()
            .flat_map(OfferedTool::offered)
            .filter_map(|t| Some((t.name.as_deref()?, first_property(t.schema()))))
            .collect();
        if protocol != Protocol::OpenAiCompletions && !names.is_empty() {
            let pick = usize::try_from(body_hash % names.len() as u64).unwrap_or(0);
            let (name, key) = names[pick];
            // The name goes inside a JSON string as it is: escaped once, without its quotes.
            let quoted = serde_json::to_string(name).unwrap_or_else(|_| "\"tool\"".to_owned());
            let name = quoted[1..quoted.len() - 1].to_owned();
            return Shape::Tool {
                name,
                key: key.to_owned(),
            };
        }
        let typed = |t: Option<&Typed>| t.and_then(|t| t.kind.as_deref()).map(str::to_owned);
        let json = match protocol {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => matches!(
                typed(asked.response_format).as_deref(),
                Some("json_object" | "json_schema")
            ),
            Protocol::Anthropic => typed(asked.output_format).as_deref() == Some("json_schema"),
            Protocol::Ollama => match asked.format {
                Some(Value::String(f)) => f == "json",
                Some(Value::Object(_)) => true,
                _ => false,
            },
            Protocol::Responses => matches!(
                asked
                    .text
                    .and_then(|t| t.get("format"))
                    .and_then(|f| f.get("type"))
                    .and_then(Value::as_str),
                Some("json_object" | "json_schema")
            ),
            // The mock answers Gemini and Bedrock in text (or a tool call), never JSON;
            // embeddings are vectors, never text.
            Protocol::Gemini | Protocol::Bedrock | Protocol::OpenAiEmbeddings => false,
        };
        if json { Shape::Json } else { Shape::Text }
    }
}

/// The schema's first property, when its name needs no escaping; `input` otherwise.
fn first_property(schema: Option<&Value>) -> &str {
    schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .and_then(|p| p.keys().next())
        .map(String::as_str)
        .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or("input")
}

/// The opening of a JSON answer, as it stands inside a JSON string.
pub(crate) const JSON_OPEN: &[u8] = br#"{\"answer\":\""#;
/// The closing of a JSON answer (and of tool arguments), inside a JSON string.
pub(crate) const JSON_CLOSE: &[u8] = br#"\"}"#;

impl Shape {
    /// Whether the answer opens as JSON.
    pub(crate) fn is_json(&self) -> bool {
        matches!(self, Shape::Json | Shape::BrokenJson)
    }

    /// `answer` (JSON-safe words) as this shape's JSON answer, inside a JSON string.
    pub(crate) fn json_answer(&self, answer: &[u8]) -> Vec<u8> {
        let close = if *self == Shape::Json {
            JSON_CLOSE
        } else {
            b""
        };
        [JSON_OPEN, answer, close].concat()
    }
}
