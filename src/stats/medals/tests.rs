//! The medals' rules on the fixture's races and on snapshots changed by hand.

use super::{Medal, MedalKind, medals};
use crate::stats::snapshot::Cost;
use crate::stats::{Snapshot, fixture};

/// Each medal as `kind endpoint figure`.
fn told(snapshot: &Snapshot) -> Vec<String> {
    medals(snapshot)
        .iter()
        .map(
            |Medal {
                 kind,
                 endpoint,
                 figure,
             }| {
                let name = &snapshot.endpoints[*endpoint].name;
                format!("{} {name} {figure}", kind.label())
            },
        )
        .collect()
}

#[test]
fn the_fixture_race_gives_each_medal_to_its_best() {
    let snapshot = fixture::finished_race(4, 50);
    insta::assert_debug_snapshot!(told(&snapshot));
}

#[test]
fn no_medals_before_the_finish_or_for_a_lone_endpoint() {
    assert!(medals(&fixture::race(4, 50)).is_empty());
    assert!(medals(&fixture::finished_race(1, 50)).is_empty());
}

#[test]
fn ties_share_a_medal_and_an_endpoint_without_success_gets_none() {
    let mut snapshot = fixture::finished_race(3, 30);
    let turbo = snapshot.endpoints[0].clone();
    // `steady` becomes turbo's twin: it ties on every figure.
    snapshot.endpoints[1] = turbo.clone();
    snapshot.endpoints[1].name = "twin".to_string();
    // `thinker` never succeeded, though it had no failure either.
    snapshot.endpoints[2].counts.succeeded = 0;
    snapshot.endpoints[2].counts.failed = 0;
    let medals = medals(&snapshot);
    for kind in [
        MedalKind::FastestFirstToken,
        MedalKind::FastestFinisher,
        MedalKind::Steadiest,
        MedalKind::MostOutput,
    ] {
        let winners: Vec<usize> = (medals.iter())
            .filter(|m| m.kind == kind)
            .map(|m| m.endpoint)
            .collect();
        assert_eq!(winners, [0, 1], "{kind:?}");
    }
    assert!(medals.iter().all(|m| m.endpoint != 2), "{medals:?}");
}

#[test]
fn an_embeddings_endpoint_competes_only_for_errors_and_cost() {
    let mut snapshot = fixture::finished_race_with_embeddings(2, 30);
    // Its only rival failed everything: the embedder still gets no latency medal.
    snapshot.endpoints[0].counts.succeeded = 0;
    assert_eq!(told(&snapshot), ["zero errors steady 30 ok"]);
}

#[test]
fn cheapest_only_with_prices() {
    let mut snapshot = fixture::finished_race(2, 20);
    assert!(
        medals(&snapshot)
            .iter()
            .all(|m| m.kind != MedalKind::Cheapest)
    );
    for (name, per_1k) in [("turbo", 0.9), ("steady", 0.25)] {
        let cost = Cost {
            total_usd: per_1k / 50.0,
            per_1k_requests_usd: Some(per_1k),
            per_million_output_usd: None,
        };
        snapshot.costs.insert(name.to_string(), cost);
    }
    let cheapest: Vec<String> = told(&snapshot)
        .into_iter()
        .filter(|m| m.starts_with("cheapest"))
        .collect();
    assert_eq!(cheapest.len(), 1);
    assert!(
        cheapest[0].starts_with("cheapest steady $0.25"),
        "{cheapest:?}"
    );
}

#[test]
fn a_race_of_laps_gives_the_finisher_medal_for_laps_won() {
    let mut snapshot = fixture::finished_race(2, 20);
    for (e, won) in snapshot.endpoints.iter_mut().zip([3, 7]) {
        e.laps = 10;
        e.wins_first_finished = won;
    }
    assert!(
        told(&snapshot).contains(&"fastest finisher steady 7 of 10 laps".to_string()),
        "{:?}",
        told(&snapshot)
    );
}

#[test]
fn a_ranked_medal_needs_two_contenders() {
    // Its only rival failed every request: it beat nobody, but it had no error.
    let mut snapshot = fixture::finished_race(2, 20);
    snapshot.endpoints[1].counts.succeeded = 0;
    snapshot.endpoints[1].counts.failed = 20;
    assert_eq!(told(&snapshot), ["zero errors turbo 20 ok"]);
    // Only one endpoint has a price: no cheapest medal.
    let mut snapshot = fixture::finished_race(2, 20);
    let cost = Cost {
        total_usd: 0.01,
        per_1k_requests_usd: Some(0.5),
        per_million_output_usd: None,
    };
    snapshot.costs.insert("turbo".to_string(), cost);
    assert!(
        medals(&snapshot)
            .iter()
            .all(|m| m.kind != MedalKind::Cheapest)
    );
}
