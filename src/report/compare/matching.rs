//! Whether two runs measure the same thing: a verdict between races with no endpoint in
//! common, or that sent different work, says nothing, so gating on it is refused unless the
//! user insists, and a partial match is said next to the table.

use std::path::PathBuf;

use super::Comparison;
use crate::config::{PromptSource, WorkloadConfig};
use crate::replay::Run;

/// Why `current` cannot be gated against `base`: one line per reason, none when they can.
pub fn mismatches(base: &Run, current: &Run, comparison: &Comparison) -> Vec<String> {
    let mut reasons = Vec::new();
    if comparison.endpoints.is_empty() {
        reasons.push(format!(
            "no endpoint is in both runs (base: {}; current: {})",
            names(base),
            names(current)
        ));
    }
    let differ = workload_differences(base, current);
    if !differ.is_empty() {
        reasons.push(format!(
            "the runs sent different workloads ({})",
            differ.join("; ")
        ));
    }
    reasons
}

/// The endpoints compared out of those raced, when not all of them were in both runs.
pub fn partial_match(comparison: &Comparison) -> Option<String> {
    if comparison.added.is_empty() && comparison.removed.is_empty() {
        return None;
    }
    let both = comparison.endpoints.len();
    if both == 0 {
        return Some("no endpoint is in both runs: nothing is compared".to_string());
    }
    Some(format!(
        "{both} of {} endpoints are in both runs: only {} compared",
        both + comparison.added.len() + comparison.removed.len(),
        if both == 1 { "it is" } else { "those are" }
    ))
}

fn names(run: &Run) -> String {
    let names = run.endpoint_names();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The workload settings that differ, as `key: base → current`. A run rebuilt from its
/// request records alone (its `run.json` never written) does not know its workload, and
/// differs from nothing.
pub fn workload_differences(base: &Run, current: &Run) -> Vec<String> {
    if base.info.race.endpoints.is_empty() || current.info.race.endpoints.is_empty() {
        return Vec::new();
    }
    let shuffled = base.info.race.workload.shuffle || current.info.race.workload.shuffle;
    let fields =
        |run: &Run| match serde_json::to_value(comparable(&run.info.race.workload, shuffled)) {
            Ok(serde_json::Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        };
    let (base, current) = (fields(base), fields(current));
    let mut keys: Vec<&String> = base.keys().chain(current.keys()).collect();
    keys.sort();
    keys.dedup();
    let shown =
        |v: Option<&serde_json::Value>| v.map_or_else(|| "none".to_string(), ToString::to_string);
    keys.into_iter()
        .filter(|k| base.get(*k) != current.get(*k))
        .map(|k| format!("{k}: {} → {}", shown(base.get(k)), shown(current.get(k))))
        .collect()
}

/// The workload as far as it decides what was sent: the seed only when prompts were shuffled
/// (synthetic prompts carry their own), and a prompt file by its name, since the same file is
/// found at another path from another checkout (a CI runner's folder).
fn comparable(workload: &WorkloadConfig, shuffled: bool) -> WorkloadConfig {
    let mut workload = workload.clone();
    if !shuffled {
        workload.seed = 0;
    }
    if let PromptSource::File(path) = &workload.prompts {
        workload.prompts =
            PromptSource::File(path.file_name().map(PathBuf::from).unwrap_or_default());
    }
    if let PromptSource::Trace(path) = &workload.prompts {
        workload.prompts =
            PromptSource::Trace(path.file_name().map(PathBuf::from).unwrap_or_default());
    }
    workload
}

/// What the comparison could not check, to be said under the table: runs record a prompt
/// file's path, not its content, so an edited file of the same name goes unnoticed.
pub fn unchecked(base: &Run, current: &Run) -> Option<String> {
    let file = |run: &Run| match &run.info.race.workload.prompts {
        PromptSource::File(path) => path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned()),
        _ => None,
    };
    match (file(base), file(current)) {
        (Some(name), Some(other)) if name == other => Some(format!(
            "prompt files are compared by name only ({name}): runs do not record their content"
        )),
        _ => None,
    }
}

/// Settings that differ between the runs without changing what was sent: the load and the
/// endpoints' URL and model. The comparison still holds, but its numbers may reflect them, so
/// they are said under the table (as `what: base → current`).
pub fn setup_differences(base: &Run, current: &Run) -> Vec<String> {
    let (b, c) = (&base.info.race, &current.info.race);
    if b.endpoints.is_empty() || c.endpoints.is_empty() {
        return Vec::new();
    }
    let shown = |v: serde_json::Value| match v {
        serde_json::Value::Null => "none".to_string(),
        v => v.to_string(),
    };
    let mut differ = Vec::new();
    let mut differs = |what: String, base: serde_json::Value, current: serde_json::Value| {
        if base != current {
            differ.push(format!("{what}: {} → {}", shown(base), shown(current)));
        }
    };
    differs(
        "concurrency".to_string(),
        json(&b.load.concurrency),
        json(&c.load.concurrency),
    );
    differs("rate".to_string(), json(&b.load.rate), json(&c.load.rate));
    for e in &b.endpoints {
        let Some(other) = c.endpoints.iter().find(|o| o.name == e.name) else {
            continue;
        };
        let name = &e.name;
        differs(
            format!("{name} URL"),
            json(&e.base_url),
            json(&other.base_url),
        );
        differs(format!("{name} model"), json(&e.model), json(&other.model));
        differs(
            format!("{name} concurrency"),
            json(&e.concurrency),
            json(&other.concurrency),
        );
    }
    differ.extend(cache_hit_differences(base, current));
    differ
}

/// Endpoints whose reported cache hit rate moved by more than a tenth of the input between
/// the runs: their latencies then compare caches as much as servers.
fn cache_hit_differences(base: &Run, current: &Run) -> Vec<String> {
    let shown = |rate: Option<f64>| rate.map_or_else(|| "—".to_string(), crate::format::percent);
    base.summary
        .endpoints
        .iter()
        .filter_map(|e| {
            let other = current
                .summary
                .endpoints
                .iter()
                .find(|o| o.name == e.name)?;
            let (b, c) = (e.tokens.cache_hit_rate(), other.tokens.cache_hit_rate());
            let moved = (b.unwrap_or(0.0) - c.unwrap_or(0.0)).abs() > 0.1;
            moved.then(|| format!("{} cache hit: {} → {}", e.name, shown(b), shown(c)))
        })
        .collect()
}

/// A setting as JSON, to compare and show settings of different types alike.
fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::load::fixture;
    use crate::report::compare::compare;

    #[test]
    fn the_same_race_matches() {
        let run = fixture(2, 10);
        let comparison = compare(&run, &run);
        assert!(mismatches(&run, &run, &comparison).is_empty());
        assert_eq!(partial_match(&comparison), None);
    }

    #[test]
    fn runs_with_no_endpoint_in_common_or_another_workload_do_not_match() {
        let base = fixture(2, 10);
        let mut current = fixture(2, 10);
        for e in &mut current.summary.endpoints {
            e.name.push_str("-other");
        }
        current.info.race.workload.max_tokens = Some(64);
        let comparison = compare(&base, &current);
        let reasons = mismatches(&base, &current, &comparison);
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(
            reasons[0].starts_with("no endpoint is in both runs"),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("max_tokens: 96 → 64"), "{reasons:?}");
        // A run rebuilt from its records alone does not know its workload.
        current.info.race.endpoints.clear();
        assert_eq!(mismatches(&base, &current, &comparison).len(), 1);
        assert_eq!(
            partial_match(&comparison).as_deref(),
            Some("no endpoint is in both runs: nothing is compared")
        );
    }

    #[test]
    fn a_seed_that_changes_nothing_and_a_prompt_file_elsewhere_match() {
        let mut base = fixture(2, 10);
        let mut current = fixture(2, 10);
        base.info.race.workload.seed = 1;
        current.info.race.workload.seed = 2;
        base.info.race.workload.prompts = PromptSource::File("/ci/run-1/bench/p.txt".into());
        current.info.race.workload.prompts = PromptSource::File("/ci/run-2/bench/p.txt".into());
        let comparison = compare(&base, &current);
        assert!(mismatches(&base, &current, &comparison).is_empty());
        assert_eq!(
            unchecked(&base, &current).as_deref(),
            Some(
                "prompt files are compared by name only (p.txt): runs do not record their content"
            )
        );
        // Shuffled, the seed decides the order sent.
        current.info.race.workload.shuffle = true;
        let reasons = mismatches(&base, &current, &comparison);
        assert!(reasons[0].contains("seed: 1 → 2"), "{reasons:?}");
        current.info.race.workload.shuffle = false;
        current.info.race.workload.prompts = PromptSource::File("/ci/run-2/bench/q.txt".into());
        let reasons = mismatches(&base, &current, &comparison);
        assert!(
            reasons[0].contains(r#"{"file":"p.txt"} → {"file":"q.txt"}"#),
            "{reasons:?}"
        );
        assert_eq!(unchecked(&base, &current), None);
    }

    #[test]
    fn a_partial_match_is_told() {
        let base = fixture(3, 10);
        let current = fixture(2, 10);
        let comparison = compare(&base, &current);
        assert!(mismatches(&base, &current, &comparison).is_empty());
        assert_eq!(
            partial_match(&comparison).as_deref(),
            Some("2 of 3 endpoints are in both runs: only those are compared")
        );
    }

    #[test]
    fn another_load_url_or_model_is_told_not_refused() {
        let base = fixture(2, 10);
        let mut current = fixture(2, 10);
        assert!(setup_differences(&base, &current).is_empty());
        current.info.race.load.concurrency += 3;
        let e = &mut current.info.race.endpoints[0];
        e.base_url.push_str("/v2");
        e.model.push_str("-next");
        let name = e.name.clone();
        let differ = setup_differences(&base, &current);
        assert_eq!(differ.len(), 3, "{differ:?}");
        assert!(differ[0].starts_with("concurrency: "), "{differ:?}");
        assert!(
            differ[1].starts_with(&format!("{name} URL: ")),
            "{differ:?}"
        );
        assert!(differ[2].contains("-next\""), "{differ:?}");
        let comparison = compare(&base, &current);
        assert!(mismatches(&base, &current, &comparison).is_empty());
    }
}
