//! A results folder written by `rebuild.rs` from a replay, then loaded by `load.rs`: whole, it
//! loads as its replay folds; cut as a race killed without a replay leaves it, it is rebuilt
//! from its whole records.

use super::load::{Records, Run, from_replay, load, load_with};
use super::rebuild::report;
use crate::record::files::{REQUESTS_JSONL, RUN_JSON, SUMMARY_JSON};
use crate::record::replay::fixture;

#[test]
fn a_results_folder_and_its_replay_load_alike() {
    // Through the files as the folder went: the snapshot's view-only fields are not
    // stored, and JSON may move a float by its last bit.
    fn through_json<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
        serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
    }
    let replay = fixture::replay(3, 20);
    let dir = tempfile::tempdir().unwrap();
    report(&replay, dir.path()).unwrap();
    let from_folder = load(dir.path()).unwrap();
    let folded = from_replay(&replay);
    assert!(from_folder.summary == through_json(&folded.summary));
    assert!(from_folder.requests == through_json(&folded.requests));
    assert_eq!(from_folder.info.endpoints, folded.info.endpoints);
    assert!(!from_folder.requests.is_empty());
}

/// A folder as a race killed without a replay leaves it: the request records so far under
/// their `.partial` name, with a cut last line, and no summary.
fn cut_folder(keep_run_json: bool) -> (tempfile::TempDir, Run) {
    let replay = fixture::replay(3, 40);
    let dir = tempfile::tempdir().unwrap();
    report(&replay, dir.path()).unwrap();
    let complete = load(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join(SUMMARY_JSON)).unwrap();
    if !keep_run_json {
        std::fs::remove_file(dir.path().join(RUN_JSON)).unwrap();
    }
    let mut records = std::fs::read(dir.path().join(REQUESTS_JSONL)).unwrap();
    records.extend_from_slice(b"{\"request\":12,\"endpo");
    std::fs::write(
        crate::record::files::partial(dir.path(), REQUESTS_JSONL),
        records,
    )
    .unwrap();
    std::fs::remove_file(dir.path().join(REQUESTS_JSONL)).unwrap();
    (dir, complete)
}

#[test]
fn a_cut_folder_without_a_replay_is_rebuilt_from_its_whole_records() {
    let (dir, complete) = cut_folder(true);
    let rebuilt = load(dir.path()).unwrap();
    assert_eq!(
        rebuilt.requests.len(),
        complete.requests.len(),
        "the half line is left out"
    );
    assert!(rebuilt.summary.interrupted);
    let note = rebuilt.info.notices.last().unwrap();
    assert!(
        note.contains(&format!("{} request records", complete.requests.len())),
        "{note}"
    );
    assert!(note.contains("cut last line"), "{note}");
    assert_eq!(
        rebuilt.summary.endpoints.len(),
        complete.summary.endpoints.len()
    );
    for (got, want) in rebuilt
        .summary
        .endpoints
        .iter()
        .zip(&complete.summary.endpoints)
    {
        assert_same_numbers(got, want);
    }
    assert_eq!(rebuilt.summary.costs, complete.summary.costs);
}

#[test]
fn a_cut_folder_without_run_json_says_what_is_unknown() {
    let (dir, complete) = cut_folder(false);
    let rebuilt = load_with(dir.path(), Records::Skip).unwrap();
    assert!(rebuilt.requests.is_empty());
    let names = rebuilt.endpoint_names();
    let want = complete.endpoint_names();
    assert_eq!(names, want);
    assert_eq!(rebuilt.summary.started_at, complete.summary.started_at);
    assert!(
        rebuilt
            .info
            .notices
            .iter()
            .any(|n| n.contains("run.json is missing"))
    );
    // What the race's reads said is rebuilt as a complete run tells it.
    let reads = crate::record::run_info::read_notices(&complete.summary.endpoints, None);
    assert!(!reads.is_empty());
    for notice in &reads {
        assert!(rebuilt.info.notices.contains(notice), "{notice}");
    }
    assert_eq!(
        rebuilt.info.read_late_max_ms,
        complete.info.read_late_max_ms
    );
    for (got, want) in rebuilt
        .summary
        .endpoints
        .iter()
        .zip(&complete.summary.endpoints)
    {
        assert_eq!(got.counts.sent, want.counts.sent, "{}", want.name);
        assert!(got.latency == want.latency, "{}", want.name);
    }
}

/// What a summary rebuilt from request records must share with the race's own: everything
/// but the live rate, and the rate window to the microsecond the records keep.
#[expect(
    clippy::float_cmp,
    reason = "the success rate is a ratio of the same two counts"
)]
fn assert_same_numbers(
    got: &crate::stats::EndpointSnapshot,
    want: &crate::stats::EndpointSnapshot,
) {
    assert_eq!(got.counts, want.counts, "{}", want.name);
    assert_eq!(got.errors, want.errors, "{}", want.name);
    assert!(got.latency == want.latency, "{}", want.name);
    assert_eq!(got.tokens, want.tokens, "{}", want.name);
    let (g, w) = (&got.rates, &want.rates);
    assert!(
        (g.window_s - w.window_s).abs() < 1e-6,
        "{} {g:?} {w:?}",
        want.name
    );
    for (g, w) in [
        (g.requests_per_s, w.requests_per_s),
        (g.output_tokens_per_s, w.output_tokens_per_s),
        (g.goodput_per_s, w.goodput_per_s),
    ] {
        assert!(
            (g - w).abs() <= w.abs() * 1e-6,
            "{}: {g} against {w}",
            want.name
        );
    }
    assert_eq!(g.success_rate, w.success_rate, "{}", want.name);
}
