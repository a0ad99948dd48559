//! Turns the TOML parser's errors into [`ConfigError`]s that name the key path (found from the
//! error's byte span), list the keys a table allows and show how to write a value.

// `write!` to a String cannot fail: its `Result` is dropped with `let _ =`.
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Location};
use super::raw::{KEYS, example_of, keys_of, table_display};
use crate::spelling::did_you_mean;

pub(super) fn from_toml(err: &toml::de::Error, text: &str, path: &Path) -> ConfigError {
    let at = err.span().map_or_else(
        || Location::file(path),
        |span| Location::at_offset(path, text, span.start),
    );
    // Parse again without a target type: if that fails too, it is a syntax error.
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(syntax) => return syntax_error(&syntax, text, path),
    };
    let segments = err
        .span()
        .map(|span| path_at(doc.get_ref(), span.start))
        .unwrap_or_default();
    let key = format_path(&segments);
    let message = err.message();

    if let Some(unknown) = unknown_field(message) {
        let table = table_of(&segments);
        return unknown_key(at, key, unknown, &table);
    }
    if key == "endpoint" && message.contains("expected a sequence") {
        return ConfigError::invalid(
            at,
            key,
            "endpoints must be written as [[endpoint]] tables (double brackets)",
            "start each endpoint with a `[[endpoint]]` line; the race file can hold many",
        );
    }
    let help = nearest_example(&segments)
        .map(|example| format!("write it like `{example}`"))
        .unwrap_or_default();
    // A session's turns are bounded far below u32's range: say the real limit.
    let message = if key == "workload.turns" {
        message.replace(
            "expected u32",
            &format!("expected a whole number from 1 to {}", super::MAX_TURNS),
        )
    } else {
        message.to_string()
    };
    ConfigError::invalid(at, key, plain_type_words(&message), help)
}

fn syntax_error(err: &toml::de::Error, text: &str, path: &Path) -> ConfigError {
    let span = err.span();
    let at = span.clone().map_or_else(
        || Location::file(path),
        |span| Location::at_offset(path, text, span.start),
    );
    let message = match (err.message(), span) {
        ("duplicate key", Some(span)) => {
            let key = text.get(span).unwrap_or_default();
            format!("key `{key}` is defined twice (each key may appear once per table)")
        }
        (message, _) => message.to_string(),
    };
    ConfigError::Syntax { at, message }
}

fn unknown_key(at: Location, key: String, unknown: &str, table: &str) -> ConfigError {
    let allowed = keys_of(table);
    let shown_table = table_display(table);
    let mut help = String::new();
    if let Some(guess) = did_you_mean(unknown, &allowed) {
        let _ = write!(help, "did you mean `{guess}`? ");
    } else if let Some(home) = KEYS.iter().find(|d| d.key == unknown && d.table != table) {
        let _ = write!(
            help,
            "`{unknown}` belongs in {}; ",
            table_display(home.table)
        );
    }
    if allowed.is_empty() {
        help.push_str("this table takes no keys");
    } else {
        let _ = write!(
            help,
            "allowed keys in {shown_table}: {}",
            allowed.join(", ")
        );
    }
    ConfigError::invalid(
        at,
        key,
        format!("unknown key `{unknown}` in {shown_table}"),
        help,
    )
}

/// The field named in serde's "unknown field `x`, expected …" message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// serde names Rust types; users wrote TOML.
fn plain_type_words(message: &str) -> String {
    [
        ("expected u64", "expected a whole number (0 or more)"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected `true` or `false`"),
        (
            "expected a sequence",
            "expected a list such as [\"a\", \"b\"]",
        ),
        (
            "expected a map",
            "expected a table such as { key = \"value\" }",
        ),
        ("expected struct", "expected a table"),
        ("invalid type: ", "wrong type: found "),
        ("invalid value: ", "invalid value: "),
    ]
    .iter()
    .fold(message.to_string(), |m, (from, to)| m.replace(from, to))
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The path of the innermost key or value whose span holds `offset`.
fn path_at(doc: &DeTable<'_>, offset: usize) -> Vec<Segment> {
    let mut best: Option<(usize, Vec<Segment>)> = None;
    let mut path = Vec::new();
    visit_table(doc, offset, &mut path, &mut best);
    best.map(|(_, path)| path).unwrap_or_default()
}

fn consider(
    span: &Range<usize>,
    offset: usize,
    path: &[Segment],
    best: &mut Option<(usize, Vec<Segment>)>,
) {
    // An empty span (a cursor position) holds the offset it points at.
    let holds =
        span.start <= offset && (offset < span.end || span.is_empty() && offset == span.start);
    let len = span.len();
    if holds && best.as_ref().is_none_or(|(best_len, _)| len <= *best_len) {
        *best = Some((len, path.to_vec()));
    }
}

fn visit_table(
    table: &DeTable<'_>,
    offset: usize,
    path: &mut Vec<Segment>,
    best: &mut Option<(usize, Vec<Segment>)>,
) {
    for (key, value) in table {
        path.push(Segment::Key(key.get_ref().to_string()));
        consider(&key.span(), offset, path, best);
        visit_value(value, offset, path, best);
        path.pop();
    }
}

fn visit_value(
    value: &Spanned<DeValue<'_>>,
    offset: usize,
    path: &mut Vec<Segment>,
    best: &mut Option<(usize, Vec<Segment>)>,
) {
    consider(&value.span(), offset, path, best);
    match value.get_ref() {
        DeValue::Table(table) => visit_table(table, offset, path, best),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Segment::Index(index));
                visit_value(item, offset, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `endpoint[1].headers."X Team"`.
fn format_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let bare = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    out.push_str(key);
                } else {
                    let _ = write!(out, "{key:?}");
                }
            }
        }
    }
    out
}

/// How to write the innermost documented key on the path: for `endpoint[0].headers.X-Num`,
/// the example of `headers`.
fn nearest_example(segments: &[Segment]) -> Option<&'static str> {
    let keys = keys_of_path(segments);
    (1..=keys.len()).rev().find_map(|end| {
        let (key, parents) = keys[..end].split_last()?;
        example_of(&parents.join("."), key)
    })
}

fn keys_of_path(segments: &[Segment]) -> Vec<&str> {
    segments
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
        .collect()
}

/// The documented table holding the last key of `segments`: `endpoint` for
/// `endpoint[1].colour`, `""` for a top-level key.
fn table_of(segments: &[Segment]) -> String {
    keys_of_path(segments)
        .split_last()
        .map(|(_, parents)| parents.join("."))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(text: &str, needle: &str) -> String {
        let offset = text.find(needle).unwrap_or_default();
        DeTable::parse(text)
            .map(|doc| format_path(&path_at(doc.get_ref(), offset)))
            .unwrap_or_default()
    }

    #[test]
    fn finds_key_paths_by_offset() {
        let text = "name = \"x\"\n[load]\nrequests = 3\n[[endpoint]]\nname = \"a\"\n\
                    [[endpoint]]\nname = \"b\"\nheaders = { \"X Team\" = \"p\" }\n";
        assert_eq!(path_of(text, "\"x\""), "name");
        assert_eq!(path_of(text, "requests"), "load.requests");
        assert_eq!(path_of(text, "\"b\""), "endpoint[1].name");
        assert_eq!(path_of(text, "\"p\""), "endpoint[1].headers.\"X Team\"");
    }

    #[test]
    fn table_of_strips_indices_and_the_key() {
        let segments = [
            Segment::Key("endpoint".into()),
            Segment::Index(2),
            Segment::Key("colour".into()),
        ];
        assert_eq!(table_of(&segments), "endpoint");
        assert_eq!(table_of(&segments[..1]), "");
    }
}
