//! Whether two shards ran the same race: their races as recorded, equal but for `shard`. What
//! differs is named by its place in the race as `run.json` writes it (`workload.seed: 1 vs 2`),
//! so the user sees which flag or key was not the same.

use serde_json::Value;

use crate::config::RaceConfig;

/// At most this many differences are named; the rest are counted.
const NAMED: usize = 4;

/// A value longer than this is shortened in the message.
const SHOWN_CHARS: usize = 60;

/// What differs between the races `a` and `b` apart from their shard, in one line; empty when
/// nothing does.
pub(crate) fn differences(a: &RaceConfig, b: &RaceConfig) -> String {
    let json = |race: &RaceConfig| {
        let mut race = race.clone();
        race.shard = None;
        serde_json::to_value(&race).unwrap_or(Value::Null)
    };
    let mut found = Vec::new();
    walk("", &json(a), &json(b), &mut found);
    if found.len() > NAMED {
        let more = found.len() - NAMED;
        found.truncate(NAMED);
        found.push(format!("and {more} more"));
    }
    found.join("; ")
}

fn walk(at: &str, a: &Value, b: &Value, found: &mut Vec<String>) {
    if a == b {
        return;
    }
    let place = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match (a, b) {
        (Value::Object(a_map), Value::Object(b_map)) => {
            for (key, value) in a_map {
                walk(
                    &place(key),
                    value,
                    b_map.get(key).unwrap_or(&Value::Null),
                    found,
                );
            }
            for (key, value) in b_map.iter().filter(|(k, _)| !a_map.contains_key(*k)) {
                walk(&place(key), &Value::Null, value, found);
            }
        }
        (Value::Array(a_items), Value::Array(b_items)) if a_items.len() == b_items.len() => {
            for (i, (a, b)) in a_items.iter().zip(b_items).enumerate() {
                walk(&format!("{at}[{i}]"), a, b, found);
            }
        }
        (Value::Array(a_items), Value::Array(b_items)) => found.push(format!(
            "{at}: {} vs {} entries",
            a_items.len(),
            b_items.len()
        )),
        _ => found.push(format!("{at}: {} vs {}", shown(a), shown(b))),
    }
}

fn shown(value: &Value) -> String {
    let text = match value {
        Value::Null => "none".to_string(),
        other => other.to_string(),
    };
    if text.chars().count() <= SHOWN_CHARS {
        return text;
    }
    let cut: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Shard, demo_race};

    #[test]
    fn the_shard_alone_makes_no_difference() {
        let mut a = demo_race();
        let mut b = demo_race();
        a.shard = Some(Shard { index: 0, count: 2 });
        b.shard = Some(Shard { index: 1, count: 2 });
        assert_eq!(differences(&a, &b), "");
    }

    #[test]
    fn a_different_seed_or_endpoint_is_named_where_it_is() {
        let a = demo_race();
        let mut b = demo_race();
        b.workload.seed = 7;
        b.endpoints[1].model = "x".repeat(100);
        let told = differences(&a, &b);
        assert!(told.contains("workload.seed: none vs 7"), "{told}");
        assert!(told.contains("endpoints[1].model: \""), "{told}");
        assert!(told.contains("xxx…"), "{told}");
        b.endpoints.pop();
        let told = differences(&a, &b);
        assert!(told.contains("endpoints: 4 vs 3 entries"), "{told}");
    }
}
