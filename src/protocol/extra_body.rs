//! An endpoint's `body` laid over the body llmrace built, for the protocols whose settings sit
//! in nested objects (Gemini's `generationConfig`, Bedrock's `inferenceConfig` and
//! `toolConfig`): setting one field there must not drop the ones llmrace put beside it.

use serde_json::{Map, Value};

/// Lays `value` over `into[key]`: two objects are merged key by key, recursively (so
/// `generationConfig = { seed = 7 }` keeps the token cap, `inferenceConfig = { topP = 0.5 }`
/// keeps `maxTokens` and `temperature`); anything else (a number, a string, an array, an
/// object over a non-object) replaces what was there.
pub(super) fn merge(into: &mut Map<String, Value>, key: &str, value: &Value) {
    match (into.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(extra)) => {
            for (k, v) in extra {
                merge(existing, k, v);
            }
        }
        _ => {
            into.insert(key.to_owned(), value.clone());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use serde_json::{Map, Value, json};

    use super::merge;

    fn merged(built: Value, extra: Value) -> Value {
        let mut into: Map<String, Value> = serde_json::from_value(built).unwrap();
        let extra: Map<String, Value> = serde_json::from_value(extra).unwrap();
        for (key, value) in &extra {
            merge(&mut into, key, value);
        }
        Value::Object(into)
    }

    #[test]
    fn objects_merge_key_by_key_at_every_depth() {
        let out = merged(
            json!({"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": 4}),
            json!({"a": {"c": {"e": 30, "g": 5}}, "h": 6}),
        );
        assert_eq!(
            out,
            json!({"a": {"b": 1, "c": {"d": 2, "e": 30, "g": 5}}, "f": 4, "h": 6})
        );
    }

    #[test]
    fn anything_but_two_objects_replaces() {
        let out = merged(
            json!({"list": [1, 2], "n": 1, "o": {"x": 1}, "s": "a"}),
            json!({"list": [3], "n": {"y": 2}, "o": 7, "s": "b"}),
        );
        assert_eq!(out, json!({"list": [3], "n": {"y": 2}, "o": 7, "s": "b"}));
    }
}
