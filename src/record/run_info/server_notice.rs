//! The notice for scrapes of a server's metrics that failed: how many, of how many, by kind,
//! and the last error. Only pages that were scraped at all have a view: one the user named,
//! or a `/metrics` found by itself that worked at least once (one that never did is dropped
//! without a word). Endpoints sharing a page share its notice.

use crate::event::ScrapeFailure;
use crate::stats::EndpointSnapshot;

pub fn server_metrics_notices(endpoints: &[EndpointSnapshot]) -> Vec<String> {
    // Endpoints of one page, with the same counts, are told together.
    let mut told: Vec<(String, u64, u64, Vec<&str>, String)> = Vec::new();
    for e in endpoints {
        let Some(view) = &e.server else { continue };
        if view.failed == 0 {
            continue;
        }
        if let Some(entry) = told
            .iter_mut()
            .find(|t| t.0 == view.source && t.1 == view.scrapes && t.2 == view.failed)
        {
            entry.3.push(&e.name);
            continue;
        }
        let kinds: Vec<String> = view
            .failed_by
            .iter()
            .map(|(kind, n)| format!("{n} {}", kind_words(*kind)))
            .collect();
        let last = view.last_error.as_deref().unwrap_or("not known");
        // The message names the page; the notice already does.
        let prefix = format!("{}: ", view.source);
        let last = last.strip_prefix(&prefix).unwrap_or(last);
        let what = if view.failed == view.scrapes {
            format!("none of {} scrapes worked", view.scrapes)
        } else {
            format!("{} of {} scrapes failed", view.failed, view.scrapes)
        };
        let detail = if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        };
        told.push((
            view.source.clone(),
            view.scrapes,
            view.failed,
            vec![&e.name],
            format!(
                "{what}{detail}, each a gap in its series (the race itself is not affected); \
                 the last: {last}"
            ),
        ));
    }
    told.into_iter()
        .map(|(source, _, _, names, text)| {
            format!("{}: server metrics from {source}: {text}", names.join(", "))
        })
        .collect()
}

fn kind_words(kind: ScrapeFailure) -> &'static str {
    match kind {
        ScrapeFailure::Connect => "not connected or cut off",
        ScrapeFailure::Timeout => "timed out",
        ScrapeFailure::Status => "answered with an HTTP error",
        ScrapeFailure::TooLarge => "too large",
        ScrapeFailure::Garbage => "not a metrics page",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::stats::server::ServerView;

    fn endpoint(name: &str, view: Option<ServerView>) -> EndpointSnapshot {
        let mut e = crate::stats::fixture::finished_race(1, 1).endpoints[0].clone();
        e.name = name.to_string();
        e.server = view.map(Arc::new);
        e
    }

    #[test]
    fn failed_scrapes_are_counted_by_kind_once_per_page() {
        let view = ServerView {
            source: "http://127.0.0.1:9/metrics".into(),
            scrapes: 10,
            failed: 3,
            failed_by: [(ScrapeFailure::Timeout, 2), (ScrapeFailure::Garbage, 1)]
                .into_iter()
                .collect(),
            last_error: Some("http://127.0.0.1:9/metrics: an empty page".into()),
            ..ServerView::default()
        };
        let fine = ServerView {
            scrapes: 10,
            ..view.clone()
        };
        let endpoints = [
            endpoint("a", Some(view.clone())),
            endpoint("b", Some(view)),
            endpoint("c", None),
            endpoint("d", Some(ServerView { failed: 0, ..fine })),
        ];
        let notices = server_metrics_notices(&endpoints);
        assert_eq!(notices.len(), 1, "{notices:?}");
        let n = &notices[0];
        assert!(
            n.starts_with("a, b: server metrics from http://127.0.0.1:9/metrics"),
            "{n}"
        );
        assert!(!n.contains("metrics: an empty"), "the URL once: {n}");
        for part in [
            "3 of 10 scrapes failed",
            "2 timed out",
            "1 not a metrics page",
            "an empty page",
        ] {
            assert!(n.contains(part), "{part}: {n}");
        }
    }

    #[test]
    fn a_page_that_never_worked_says_so() {
        let view = ServerView {
            source: "http://127.0.0.1:9/metrics".into(),
            scrapes: 4,
            failed: 4,
            ..ServerView::default()
        };
        let notices = server_metrics_notices(&[endpoint("a", Some(view))]);
        assert!(
            notices[0].contains("none of 4 scrapes worked"),
            "{notices:?}"
        );
    }
}
