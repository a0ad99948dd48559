//! The notice for an endpoint sent many repeats: a server's prefix cache may have answered
//! them, and its numbers lean on that cache rather than on the server.

use crate::config::{CacheMode, RaceConfig};
use crate::stats::EndpointSnapshot;

/// Above this share of repeats, the race says so.
pub const REPEAT_NOTICE_SHARE: f64 = 0.10;

pub fn repeat_notice(e: &EndpointSnapshot) -> Option<String> {
    let share = e.counts.repeat_share()?;
    if share <= REPEAT_NOTICE_SHARE {
        return None;
    }
    // Requests that never reached a server are not counted: no server saw their prompt.
    let ended = e.counts.reached_ended();
    Some(format!(
        "{}: {} of {ended} requests ({:.1}%) repeated a prompt sent to it earlier in the race: a \
         server with a prefix cache answers those partly from its cache, so its numbers look \
         better than for new prompts; give more prompts than requests (a larger prompt file, \
         --synthetic N with `count` at least the requests) or send fewer requests",
        e.name,
        e.counts.repeats,
        100.0 * share
    ))
}

/// With `cache = "reuse"`, endpoints served by one server (the same URL and model) are sent
/// the same prompts unsalted: each finds in the server's cache what the other left, so the
/// one that runs later looks faster. One notice per such group.
pub fn shared_server_notices(race: &RaceConfig) -> Vec<String> {
    if race.workload.cache != CacheMode::Reuse {
        return Vec::new();
    }
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for e in &race.endpoints {
        // A mock endpoint starts a server of its own: nothing is shared.
        if e.base_url.starts_with("mock://") {
            continue;
        }
        let key = (e.base_url.trim_end_matches('/'), e.model.as_str());
        if let Some(i) = keys.iter().position(|k| *k == key) {
            groups[i].push(&e.name);
        } else {
            keys.push(key);
            groups.push(vec![&e.name]);
        }
    }
    groups
        .into_iter()
        .filter(|g| g.len() > 1)
        .map(|g| {
            format!(
                "{} share one server and model, and `cache = \"reuse\"` sends them the same \
                 prompts as written: each finds in the server's prefix cache what the others \
                 left, so their numbers compare the cache as much as the endpoints; race them \
                 cold (the default) to compare them",
                g.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::snapshot::Counts;

    fn endpoint(succeeded: u64, repeats: u64) -> EndpointSnapshot {
        let mut e = crate::stats::fixture::race(1, 1).endpoints.remove(0);
        e.name = "a".into();
        e.counts = Counts {
            succeeded,
            repeats,
            ..Counts::default()
        };
        e
    }

    #[test]
    fn many_repeats_are_told_with_what_to_do_and_few_are_not() {
        assert_eq!(repeat_notice(&endpoint(20, 2)), None);
        let notice = repeat_notice(&endpoint(24, 4)).unwrap_or_default();
        assert!(
            notice.starts_with("a: 4 of 24 requests (16.7%) repeated"),
            "{notice}"
        );
        assert!(notice.contains("--synthetic"), "{notice}");
        assert_eq!(repeat_notice(&endpoint(0, 0)), None);
        // Against a dead port nothing reached a server: nothing repeated.
        let mut dead = endpoint(0, 0);
        dead.counts.failed = 50;
        dead.counts.unreached = 50;
        assert_eq!(repeat_notice(&dead), None);
        let mut some = endpoint(24, 4);
        some.counts.failed = 100;
        some.counts.unreached = 100;
        let notice = repeat_notice(&some).unwrap_or_default();
        assert!(notice.starts_with("a: 4 of 24 requests"), "{notice}");
    }

    #[test]
    fn endpoints_on_one_server_with_reuse_are_told_and_cold_ones_are_not() {
        let mut race = crate::config::demo_race();
        for e in &mut race.endpoints {
            e.base_url = "http://127.0.0.1:8000/v1".into();
        }
        race.endpoints[3].model = "other".into();
        assert!(shared_server_notices(&race).is_empty(), "cold by default");
        race.workload.cache = CacheMode::Reuse;
        let notices = shared_server_notices(&race);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].starts_with("turbo, steady, thinker share one server"));
    }
}
