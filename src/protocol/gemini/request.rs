//! Gemini requests: the URL (`{base}/v1beta/models/{model}:streamGenerateContent?alt=sse`), and
//! the body (`contents` with roles `user`/`model`, `systemInstruction`, `generationConfig`,
//! images as `inlineData`, tools as `functionDeclarations`). Gemini's body has no `model` or
//! `stream` field (both are in the URL) and refuses fields it does not know, so it shares
//! nothing with the other protocols' bodies.

use serde_json::{Map, Value, json};

use super::super::extra_body::merge;
use super::super::image::Image;
use super::super::tools::ToolDef;

/// The API version put after a base URL that names none.
const API_VERSION: &str = "v1beta";

/// One message of the prompt: its role (`system`, `user`, `assistant`), text and images.
pub(crate) struct Turn<'a> {
    pub role: &'a str,
    pub text: &'a str,
    pub images: &'a [Image],
}

/// What a request asks for besides its messages.
pub(crate) struct Settings<'a> {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub tools: &'a [ToolDef],
    /// The endpoint's `body`, merged in last (see [`merge`]).
    pub extra_body: &'a Map<String, Value>,
}

/// The JSON body for `turns`.
pub(crate) fn body<'a>(
    turns: impl Iterator<Item = Turn<'a>>,
    settings: &Settings<'_>,
) -> Map<String, Value> {
    let mut body = Map::new();
    let (system, chat): (Vec<Turn<'a>>, Vec<Turn<'a>>) = turns.partition(|t| t.role == "system");
    body.insert("contents".to_owned(), chat.iter().map(content).collect());
    if !system.is_empty() {
        let parts: Vec<Value> = system.iter().map(|t| json!({ "text": t.text })).collect();
        body.insert("systemInstruction".to_owned(), json!({ "parts": parts }));
    }
    let mut config = Map::new();
    if let Some(max) = settings.max_tokens {
        config.insert("maxOutputTokens".to_owned(), max.into());
    }
    if let Some(temperature) = settings.temperature {
        config.insert("temperature".to_owned(), number(temperature));
    }
    // Thoughts are streamed when the model thinks: they are the reasoning llmrace shows and
    // times. A model that does not think refuses the field; `includeThoughts = false` in the
    // endpoint's body leaves `thinkingConfig` out (see `drop_thoughts_if_off`).
    config.insert(
        "thinkingConfig".to_owned(),
        json!({ "includeThoughts": true }),
    );
    body.insert("generationConfig".to_owned(), config.into());
    if !settings.tools.is_empty() {
        let declarations: Vec<Value> = settings
            .tools
            .iter()
            .map(|t| {
                // `parametersJsonSchema` takes any JSON schema; `parameters` only an OpenAPI
                // subset, which refuses keys such as `additionalProperties`.
                let mut declaration =
                    json!({ "name": t.name, "parametersJsonSchema": t.parameters });
                if !t.description.is_empty()
                    && let Some(object) = declaration.as_object_mut()
                {
                    object.insert("description".to_owned(), json!(t.description));
                }
                declaration
            })
            .collect();
        body.insert(
            "tools".to_owned(),
            json!([{ "functionDeclarations": declarations }]),
        );
    }
    for (key, value) in settings.extra_body {
        merge(&mut body, key, value);
    }
    drop_thoughts_if_off(&mut body);
    body
}

/// One chat message as a `Content`: Gemini's roles are `user` and `model`.
fn content(turn: &Turn<'_>) -> Value {
    let role = if turn.role == "assistant" {
        "model"
    } else {
        "user"
    };
    // The text first: a cold race's salt starts it, so it must start the prompt.
    let mut parts = Vec::with_capacity(turn.images.len() + 1);
    if !turn.text.is_empty() || turn.images.is_empty() {
        parts.push(json!({ "text": turn.text }));
    }
    parts.extend(turn.images.iter().map(|image| {
        json!({ "inlineData": { "mimeType": image.media_type.name(), "data": image.base64() } })
    }));
    json!({ "role": role, "parts": parts })
}

/// `includeThoughts = false` with nothing else in `thinkingConfig` leaves it out altogether: a
/// model that cannot think refuses any `thinkingConfig` ("Thinking is not enabled for …").
fn drop_thoughts_if_off(body: &mut Map<String, Value>) {
    let Some(Value::Object(config)) = body.get_mut("generationConfig") else {
        return;
    };
    let off = config
        .get("thinkingConfig")
        .and_then(Value::as_object)
        .is_some_and(|t| t.len() == 1 && t.get("includeThoughts") == Some(&Value::Bool(false)));
    if off {
        config.remove("thinkingConfig");
    }
    if config.is_empty() {
        body.remove("generationConfig");
    }
}

/// `{base}[/v1beta]/{models/MODEL}:streamGenerateContent?alt=sse` (`:generateContent` when not
/// streaming). The base is the server root (`https://generativelanguage.googleapis.com`) or a
/// gateway's prefix, and may already end in an API version (`…/v1beta`, `…/v1`), which is then
/// kept. A model named with its collection (`models/…`, `tunedModels/…`) keeps it. The name
/// itself is one path segment whatever it holds: a `/` in it is percent-encoded, so a name with
/// `..` or slashes (a typo, a gateway's `provider/model` spelling) can never walk the path;
/// the server answers 404 for a name it does not have.
pub(crate) fn url(base_url: &str, model: &str, stream: bool) -> String {
    let (base, query) = match base_url.find('?') {
        Some(q) => base_url.split_at(q),
        None => (base_url, ""),
    };
    let base = base.trim_end_matches('/');
    let model = model.trim().trim_start_matches('/');
    let model = match ["models/", "tunedModels/"]
        .iter()
        .find_map(|c| model.strip_prefix(c).map(|name| (c, name)))
    {
        Some((collection, name)) => format!("{collection}{}", encode_segment(name)),
        None => format!("models/{}", encode_segment(model)),
    };
    let version = if names_version(base) {
        String::new()
    } else {
        format!("/{API_VERSION}")
    };
    let (method, alt) = if stream {
        ("streamGenerateContent", "alt=sse")
    } else {
        ("generateContent", "")
    };
    let query = match (query.trim_start_matches('?'), alt) {
        ("", "") => String::new(),
        ("", alt) => format!("?{alt}"),
        (query, "") => format!("?{query}"),
        (query, alt) => format!("?{query}&{alt}"),
    };
    format!("{base}{version}/{model}:{method}{query}")
}

/// A cheap GET that opens the connection: the list of models.
pub(crate) fn warmup_url(base_url: &str) -> String {
    let (base, query) = match base_url.find('?') {
        Some(q) => base_url.split_at(q),
        None => (base_url, ""),
    };
    let base = base.trim_end_matches('/');
    if names_version(base) {
        format!("{base}/models{query}")
    } else {
        format!("{base}/{API_VERSION}/models{query}")
    }
}

/// Whether the base's last path segment is an API version: `v1`, `v1beta`, `v1alpha`, `v2`…
fn names_version(base: &str) -> bool {
    let path = base.split_once("://").map_or(base, |(_, rest)| rest);
    let Some((_, last)) = path.rsplit_once('/') else {
        return false;
    };
    last.strip_prefix('v').is_some_and(|rest| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && matches!(&rest[digits..], "" | "beta" | "alpha")
    })
}

/// A model name made one safe URL path segment: bytes outside the unreserved set (`/`, `%`,
/// spaces…) are percent-encoded. Gemini's names never have any; a typo with a space must not
/// break the request line, nor a `/` add a segment. The method (`:generateContent`) follows
/// the name in the same segment, so even `..` is no dot segment.
fn encode_segment(model: &str) -> String {
    let mut out = String::with_capacity(model.len());
    for byte in model.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
    out
}

/// An `f32` as the JSON number a person would write: `0.7`, not `0.699999988079071`.
fn number(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use super::*;

    const ROOT: &str = "https://generativelanguage.googleapis.com";

    fn turn<'a>(role: &'a str, text: &'a str) -> Turn<'a> {
        Turn {
            role,
            text,
            images: &[],
        }
    }

    fn settings(extra: &Map<String, Value>) -> Settings<'_> {
        Settings {
            max_tokens: Some(64),
            temperature: Some(0.7),
            tools: &[],
            extra_body: extra,
        }
    }

    fn json_of(turns: Vec<Turn<'_>>, settings: &Settings<'_>) -> Value {
        Value::Object(body(turns.into_iter(), settings))
    }

    #[test]
    fn the_url_adds_the_version_only_when_the_base_has_none() {
        let want = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
        assert_eq!(url(ROOT, "gemini-2.5-flash", true), want);
        assert_eq!(url(&format!("{ROOT}/"), "gemini-2.5-flash", true), want);
        assert_eq!(
            url(&format!("{ROOT}/v1beta"), "gemini-2.5-flash", true),
            want
        );
        assert_eq!(
            url(&format!("{ROOT}/v1beta/"), "models/gemini-2.5-flash", true),
            want
        );
        assert_eq!(
            url(&format!("{ROOT}/v1"), "gemini-2.5-flash", false),
            format!("{ROOT}/v1/models/gemini-2.5-flash:generateContent")
        );
        // A gateway's prefix is kept, and its query goes before `alt`.
        assert_eq!(
            url("http://gw/google-ai-studio?team=a", "g", true),
            "http://gw/google-ai-studio/v1beta/models/g:streamGenerateContent?team=a&alt=sse"
        );
        assert_eq!(
            url("http://gw/vertex", "tunedModels/mine", true),
            "http://gw/vertex/v1beta/tunedModels/mine:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            url("http://h", "bad name", true),
            "http://h/v1beta/models/bad%20name:streamGenerateContent?alt=sse"
        );
        // A name is one segment: slashes and `..` in it never walk the path.
        assert_eq!(
            url("http://h/gw", "../../admin", true),
            "http://h/gw/v1beta/models/..%2F..%2Fadmin:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            url("http://h", "models/../x/y", false),
            "http://h/v1beta/models/..%2Fx%2Fy:generateContent"
        );
        assert_eq!(
            url("http://h", "gemini/gemini-2.5-flash", false),
            "http://h/v1beta/models/gemini%2Fgemini-2.5-flash:generateContent"
        );
        assert_eq!(
            url("http://h", "tunedModels/a%2F", false),
            "http://h/v1beta/tunedModels/a%252F:generateContent"
        );
        // A host alone is never a version, however it is spelled.
        assert_eq!(
            url("http://v1", "m", true),
            "http://v1/v1beta/models/m:streamGenerateContent?alt=sse"
        );
        assert_eq!(warmup_url(ROOT), format!("{ROOT}/v1beta/models"));
        assert_eq!(warmup_url("http://gw/v1beta/"), "http://gw/v1beta/models");
    }

    #[test]
    fn the_body_has_contents_system_and_generation_config() {
        let none = Map::new();
        let turns = vec![
            turn("system", "be terse"),
            turn("user", "hi"),
            turn("assistant", "hello"),
            turn("user", "again"),
        ];
        let b = json_of(turns, &settings(&none));
        assert_eq!(
            b["systemInstruction"],
            json!({"parts": [{"text": "be terse"}]})
        );
        assert_eq!(
            b["contents"],
            json!([
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"text": "hello"}]},
                {"role": "user", "parts": [{"text": "again"}]},
            ])
        );
        assert_eq!(
            b["generationConfig"],
            json!({"maxOutputTokens": 64, "temperature": 0.7,
                   "thinkingConfig": {"includeThoughts": true}})
        );
        assert!(b.get("model").is_none() && b.get("stream").is_none(), "{b}");
    }

    #[test]
    fn the_endpoint_body_merges_into_generation_config() {
        let extra: Map<String, Value> = serde_json::from_value(json!({
            "generationConfig": {"seed": 7, "thinkingConfig": {"thinkingBudget": 0}},
            "safetySettings": [],
        }))
        .unwrap();
        let b = json_of(vec![turn("user", "hi")], &settings(&extra));
        assert_eq!(
            b["generationConfig"],
            json!({"maxOutputTokens": 64, "temperature": 0.7, "seed": 7,
                   "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 0}})
        );
        assert_eq!(b["safetySettings"], json!([]));
    }

    #[test]
    fn include_thoughts_false_leaves_thinking_config_out() {
        let extra: Map<String, Value> = serde_json::from_value(json!({
            "generationConfig": {"thinkingConfig": {"includeThoughts": false}},
        }))
        .unwrap();
        let b = json_of(vec![turn("user", "hi")], &settings(&extra));
        assert_eq!(
            b["generationConfig"],
            json!({"maxOutputTokens": 64, "temperature": 0.7})
        );
        let bare = Settings {
            max_tokens: None,
            temperature: None,
            ..settings(&extra)
        };
        assert!(
            json_of(vec![turn("user", "hi")], &bare)
                .get("generationConfig")
                .is_none()
        );
    }

    #[test]
    fn images_go_as_inline_data_after_the_text() {
        let images = [Image::tiny_png("a.png")];
        let none = Map::new();
        let turns = vec![Turn {
            role: "user",
            text: "what is this?",
            images: &images,
        }];
        let b = json_of(turns, &settings(&none));
        let parts = &b["contents"][0]["parts"];
        assert_eq!(parts[0], json!({"text": "what is this?"}));
        assert_eq!(parts[1]["inlineData"]["mimeType"], "image/png");
        assert_eq!(parts[1]["inlineData"]["data"], json!(images[0].base64()));
    }

    #[test]
    fn tools_go_as_function_declarations() {
        let none = Map::new();
        let tools = [ToolDef::new(
            "get_weather",
            "the weather in a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )];
        let with_tools = Settings {
            tools: &tools,
            ..settings(&none)
        };
        let b = json_of(vec![turn("user", "weather?")], &with_tools);
        assert_eq!(
            b["tools"],
            json!([{"functionDeclarations": [{
                "name": "get_weather",
                "description": "the weather in a city",
                "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }]}])
        );
    }
}
