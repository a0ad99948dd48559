//! The mock's embeddings answers (`POST /v1/embeddings`): one vector per input, seeded by the
//! input's text and of unit length, so the same input always gets the same vector; the
//! dimension is the request's `dimensions`, else a number ending the model's name
//! (`mock-768`), else 384. Faults take the shapes a JSON answer can take: cut, garbage, one
//! vector short (`no_terminator`), no usage (`zero_usage`).

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use serde::Deserialize;
use serde_json::Value;

use super::body::MockBody;
use super::faults::Fault;
use super::request::BadRequest;
use super::text::{hash_bytes, mix};
use super::wire::INVALID_UTF8;
use crate::protocol::Protocol;

/// The dimension of a model that names none (that of all-MiniLM-L6-v2 and bge-small).
const DEFAULT_DIMENSION: u32 = 384;
/// The largest dimension a request may ask for (OpenAI's largest model gives 3072).
const MAX_DIMENSION: u32 = 65_536;
/// The dimension of every vector under the `huge` fault: 1 MB of JSON a vector.
const HUGE_DIMENSION: u32 = 100_000;
/// More inputs than any server takes in one request (OpenAI takes 2048).
const MAX_INPUTS: usize = 4096;

/// What the mock reads of an embeddings request: each input's seed, and the dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inputs {
    seeds: Vec<u64>,
    dimension: u32,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    dimensions: Option<Value>,
}

impl Inputs {
    /// The request's inputs: a text, a list of texts, or token lists (OpenAI takes all three).
    pub(crate) fn parse(body: &[u8]) -> Result<Inputs, BadRequest> {
        let bad = |message: &str| BadRequest(message.to_owned());
        let parsed: Body = serde_json::from_slice(body)
            .map_err(|e| BadRequest(format!("request body is not valid JSON for this API: {e}")))?;
        let seed = |input: &Value| match input {
            Value::String(text) => Ok(hash_bytes(text.as_bytes())),
            Value::Array(tokens) if tokens.iter().all(Value::is_u64) => {
                Ok(hash_bytes(input.to_string().as_bytes()))
            }
            _ => Err(bad("each `input` must be a string or a list of token ids")),
        };
        let seeds = match &parsed.input {
            Value::Array(list) if list.iter().all(Value::is_u64) && !list.is_empty() => {
                vec![seed(&parsed.input)?]
            }
            Value::Array(list) => list.iter().map(seed).collect::<Result<Vec<u64>, _>>()?,
            Value::Null => return Err(bad("`input` is missing")),
            one => vec![seed(one)?],
        };
        if seeds.is_empty() {
            return Err(bad("`input` is an empty list"));
        }
        if seeds.len() > MAX_INPUTS {
            return Err(BadRequest(format!(
                "{} inputs; the mock takes at most {MAX_INPUTS} in one request",
                seeds.len()
            )));
        }
        let dimension = match parsed.dimensions {
            None | Some(Value::Null) => dimension_of(parsed.model.as_deref().unwrap_or("")),
            Some(asked) => asked
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=MAX_DIMENSION).contains(n))
                .ok_or_else(|| {
                    BadRequest(format!(
                        "`dimensions` must be a whole number from 1 to {MAX_DIMENSION}"
                    ))
                })?,
        };
        Ok(Inputs { seeds, dimension })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seeds.len()
    }
}

/// A number ending the model's name (`mock-768`, `bge-1024`) within bounds, else 384.
fn dimension_of(model: &str) -> u32 {
    let digits = model.len() - model.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    model[model.len() - digits..]
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_DIMENSION).contains(n))
        .unwrap_or(DEFAULT_DIMENSION)
}

/// The answer's body, as `fault` leaves it; `input_tokens` is what its usage reports.
pub(crate) fn answer(
    inputs: &Inputs,
    model_json: &str,
    input_tokens: u32,
    fault: Option<Fault>,
) -> MockBody {
    let dimension = if fault == Some(Fault::Huge) {
        HUGE_DIMENSION
    } else {
        inputs.dimension
    };
    // A well-formed answer one vector short: what a server that drops an input sends.
    let vectors = if fault == Some(Fault::NoTerminator) {
        inputs.seeds.len() - 1
    } else {
        inputs.seeds.len()
    };
    let usage = (fault != Some(Fault::ZeroUsage)).then_some(input_tokens);
    let full = body(&inputs.seeds[..vectors], dimension, model_json, usage).freeze();
    match fault {
        Some(Fault::InvalidUtf8) => MockBody::whole(
            [
                &full[..full.len() / 2],
                INVALID_UTF8,
                &full[full.len() / 2..],
            ]
            .concat(),
        ),
        _ => MockBody::whole_faulted(full, fault, Some(Protocol::OpenAiEmbeddings)),
    }
}

/// `{"object":"list","data":[…],"model":…,"usage":{…}}`, as OpenAI writes it.
fn body(seeds: &[u64], dimension: u32, model_json: &str, usage: Option<u32>) -> BytesMut {
    // About 11 bytes a number.
    let mut out = BytesMut::with_capacity(seeds.len() * (dimension as usize * 11 + 64) + 128);
    out.put_slice(b"{\"object\":\"list\",\"data\":[");
    let mut text = String::new();
    for (index, &seed) in seeds.iter().enumerate() {
        if index > 0 {
            out.put_u8(b',');
        }
        text.clear();
        let _ = write!(
            text,
            "{{\"object\":\"embedding\",\"index\":{index},\"embedding\":["
        );
        out.put_slice(text.as_bytes());
        write_vector(&mut out, seed, dimension);
        out.put_slice(b"]}");
    }
    out.put_slice(b"],\"model\":");
    out.put_slice(model_json.as_bytes());
    if let Some(tokens) = usage {
        text.clear();
        let _ = write!(
            text,
            ",\"usage\":{{\"prompt_tokens\":{tokens},\"total_tokens\":{tokens}}}"
        );
        out.put_slice(text.as_bytes());
    }
    out.put_slice(b"}");
    out
}

/// A vector of unit length whose components are seeded by `seed`, written as JSON numbers.
fn write_vector(out: &mut BytesMut, seed: u64, dimension: u32) {
    let components: Vec<f64> = (0..dimension)
        .map(|j| {
            let bits = mix(seed ^ mix(u64::from(j) ^ 0xE3BE_DD16));
            #[expect(clippy::cast_precision_loss, reason = "53-bit values are exact in f64")]
            let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
            unit * 2.0 - 1.0
        })
        .collect();
    let norm = components
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    let mut number = String::new();
    for (j, x) in components.iter().enumerate() {
        if j > 0 {
            out.put_u8(b',');
        }
        number.clear();
        #[expect(
            clippy::cast_possible_truncation,
            reason = "servers send f32 components"
        )]
        let x = (x / norm) as f32;
        let _ = write!(number, "{x}");
        out.put_slice(number.as_bytes());
    }
}

/// The answer's content type.
pub(crate) const CONTENT_TYPE: &str = "application/json";

/// The body, whole, for tests.
#[cfg(test)]
fn whole(body: MockBody) -> bytes::Bytes {
    match body {
        MockBody::Whole(Some(bytes)) => bytes,
        _ => bytes::Bytes::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn vectors(body: &[u8]) -> Vec<Vec<f64>> {
        let value: Value = serde_json::from_slice(body).unwrap();
        value["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                d["embedding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn each_input_gets_its_own_unit_vector_the_same_every_time() {
        let inputs = Inputs::parse(br#"{"model":"m","input":["a","b","a"]}"#).unwrap();
        let body = whole(answer(&inputs, "\"m\"", 3, None));
        let got = vectors(&body);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|v| v.len() == 384));
        assert_eq!(got[0], got[2]);
        assert_ne!(got[0], got[1]);
        for v in &got {
            let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value["usage"],
            serde_json::json!({"prompt_tokens": 3, "total_tokens": 3})
        );
    }

    #[test]
    fn the_dimension_comes_from_the_request_or_the_model_name() {
        let dim = |body: &str| Inputs::parse(body.as_bytes()).unwrap().dimension;
        assert_eq!(dim(r#"{"model":"mock-768","input":"x"}"#), 768);
        assert_eq!(dim(r#"{"model":"mock","input":"x"}"#), 384);
        assert_eq!(dim(r#"{"model":"mock-0","input":"x"}"#), 384);
        assert_eq!(dim(r#"{"model":"m","input":"x","dimensions":8}"#), 8);
        assert_eq!(Inputs::parse(br#"{"input":[1,2,3]}"#).unwrap().len(), 1);
        assert_eq!(Inputs::parse(br#"{"input":[[1,2],[3]]}"#).unwrap().len(), 2);
        for bad in [
            r#"{"model":"m"}"#,
            r#"{"input":[]}"#,
            r#"{"input":[{"a":1}]}"#,
            r#"{"input":"x","dimensions":0}"#,
            "nope",
        ] {
            assert!(Inputs::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn faults_shape_the_answer() {
        let inputs = Inputs::parse(br#"{"model":"m-4","input":["a","b"]}"#).unwrap();
        let short = whole(answer(&inputs, "\"m-4\"", 2, Some(Fault::NoTerminator)));
        assert_eq!(vectors(&short).len(), 1);
        let no_usage = whole(answer(&inputs, "\"m-4\"", 2, Some(Fault::ZeroUsage)));
        let value: Value = serde_json::from_slice(&no_usage).unwrap();
        assert!(value.get("usage").is_none());
        let garbage = whole(answer(&inputs, "\"m-4\"", 2, Some(Fault::MalformedChunk)));
        assert!(serde_json::from_slice::<Value>(&garbage).is_err());
        let cut = answer(&inputs, "\"m-4\"", 2, Some(Fault::ResetMidStream));
        assert!(matches!(cut, MockBody::Cut { .. }));
    }
}
