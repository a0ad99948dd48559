//! Replays made in memory from the synthetic race of [`crate::stats::fixture`], for replay,
//! playback and view tests: the same endpoints, objectives and start, ending at the last event.

use crate::config::demo_race;
use crate::record::{EndpointInfo, Replay, ReplayEnd, ReplayHeader};
use crate::stats::fixture;

/// The fixture race of `endpoints` × `requests` as a complete replay.
pub(crate) fn replay(endpoints: usize, requests: usize) -> Replay {
    let events: Vec<_> = fixture::events(endpoints, requests).collect();
    let end = events.last().map(|e| ReplayEnd {
        t: e.t,
        interrupted: false,
    });
    // The objectives and the start are the fixture aggregator's, so both fold alike.
    let mut race = demo_race();
    race.slo = crate::config::Slo {
        ttft: Some(std::time::Duration::from_millis(500)),
        tpot: Some(std::time::Duration::from_millis(40)),
        ttlt: None,
    };
    let started_at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(20_454);
    let endpoints = fixture::endpoint_names(endpoints)
        .into_iter()
        .map(|name| EndpointInfo {
            name,
            protocol: "openai".to_string(),
            model: "mock".to_string(),
            base_url: "mock://turbo".to_string(),
            simulated: true,
            concurrency: 4,
            salt: None,
            proxy: None,
            http_version: None,
        })
        .collect();
    Replay {
        header: ReplayHeader::new(race, endpoints, Vec::new(), started_at),
        events,
        end,
        damage: None,
    }
}

/// Writes `replay` as a replay file in `dir`, cut after `cut_after` events when given: the
/// file then stops without its end line, as after a crash.
pub(crate) fn write_file(dir: &std::path::Path, replay: &Replay, cut_after: Option<usize>) {
    let mut writer = crate::record::ReplayWriter::create(dir, &replay.header).unwrap();
    let kept = cut_after.unwrap_or(replay.events.len());
    for event in &replay.events[..kept] {
        writer.write(event).unwrap();
    }
    if cut_after.is_none() {
        writer.finish(replay.end.unwrap()).unwrap();
    }
}
