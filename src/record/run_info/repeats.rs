//! The notice for an endpoint sent many repeats: a server's prefix cache may have answered
//! them, and its numbers lean on that cache rather than on the server.

use crate::stats::EndpointSnapshot;

/// Above this share of repeats, the race says so.
pub const REPEAT_NOTICE_SHARE: f64 = 0.10;

pub fn repeat_notice(e: &EndpointSnapshot) -> Option<String> {
    let share = e.counts.repeat_share()?;
    if share <= REPEAT_NOTICE_SHARE {
        return None;
    }
    let ended = e.counts.succeeded + e.counts.failed + e.counts.cancelled;
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
    }
}
