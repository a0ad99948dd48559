//! What a lane says about its endpoint's server, from the last scrape the snapshot carries:
//! `q 12 · run 8 · KV 73%` (queue, running batch, KV-cache use), or nothing when the endpoint
//! has no server metrics. Only what the server published is shown.

use ratatui::style::Style;

use super::{CONTENT, Density, Lane};
use crate::stats::server::{ServerPoint, ServerView};
use crate::tui::draw::text_width;

/// A lane title's right-hand items (text, style, least width) and their total width.
type Items = (Vec<(String, Style, u16)>, u16);

/// The title's right-hand items with the server's text before the progress (Full and Compact
/// lanes; a Tall one shows it under its TTFT sparkline), in the longest form that leaves the
/// endpoint's name whole; unchanged when none does.
pub(super) fn in_title(
    lane: &Lane,
    mut right: Vec<(String, Style, u16)>,
    total: u16,
    width: u16,
) -> Items {
    let Some(view) = lane.endpoint.server.as_deref() else {
        return (right, total);
    };
    if matches!(lane.density, Density::Tall | Density::Tower(_)) || right.len() < 2 {
        return (right, total);
    }
    let number = format!("{} ", lane.index + 1);
    let name = text_width(&number) + text_width(&lane.endpoint.name) + 2;
    let room = width.saturating_sub(CONTENT + total + name + 2);
    let Some(text) = fitting(view, room) else {
        return (right, total);
    };
    let total = total + text_width(&text) + 2;
    right.insert(right.len() - 2, (text, lane.theme.text, 0));
    (right, total)
}

/// The forms of the text, longest first: `q 12 · run 8 · KV 73%`, `q12 run8 KV73%`. Empty
/// when no scrape published queue, running or KV use.
pub fn forms(view: &ServerView) -> Vec<String> {
    let Some(last) = last(view) else {
        return Vec::new();
    };
    let parts: Vec<(&str, String)> = [
        ("q", last.queue.map(count)),
        ("run", last.running.map(count)),
        ("KV", last.kv_cache.map(share)),
    ]
    .into_iter()
    .filter_map(|(label, value)| Some((label, value?)))
    .collect();
    let spaced: Vec<String> = parts.iter().map(|(l, v)| format!("{l} {v}")).collect();
    let tight: Vec<String> = parts.iter().map(|(l, v)| format!("{l}{v}")).collect();
    vec![spaced.join(" · "), tight.join(" ")]
}

/// The longest form of [`forms`] that fits `room` columns.
pub fn fitting(view: &ServerView, room: u16) -> Option<String> {
    forms(view).into_iter().find(|f| text_width(f) <= room)
}

/// The newest scrape that published any of the three.
fn last(view: &ServerView) -> Option<&ServerPoint> {
    (view.points.iter().rev())
        .find(|p| p.queue.is_some() || p.running.is_some() || p.kv_cache.is_some())
}

/// A gauge of requests, whole (a server may publish `3.0`); huge or odd values stay short.
fn count(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        "?".to_string()
    } else if v < 10_000.0 {
        format!("{v:.0}")
    } else if v < 10_000_000.0 {
        format!("{:.0}k", v / 1e3)
    } else {
        ">10M".to_string()
    }
}

/// A share 0–1 as a whole percentage; a server that says more than 1 is shown as it said.
fn share(v: f64) -> String {
    if v.is_finite() && v >= 0.0 {
        format!("{:.0}%", (v * 100.0).min(9_999.0))
    } else {
        "?".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Offset;

    fn view(points: &[ServerPoint]) -> ServerView {
        ServerView {
            points: points.to_vec(),
            ..ServerView::default()
        }
    }

    #[test]
    fn the_last_scrape_in_two_lengths() {
        let p = |t, queue| ServerPoint {
            t: Offset(t),
            queue: Some(queue),
            running: Some(8.0),
            kv_cache: Some(0.734),
            ..ServerPoint::default()
        };
        let v = view(&[p(1, 3.0), p(2, 12.0)]);
        assert_eq!(forms(&v), ["q 12 · run 8 · KV 73%", "q12 run8 KV73%"]);
        assert_eq!(fitting(&v, 21).as_deref(), Some("q 12 · run 8 · KV 73%"));
        assert_eq!(fitting(&v, 14).as_deref(), Some("q12 run8 KV73%"));
        assert_eq!(fitting(&v, 10), None);
    }

    #[test]
    fn only_what_the_server_published() {
        let tgi = ServerPoint {
            queue: Some(2.0),
            ..ServerPoint::default()
        };
        assert_eq!(forms(&view(&[tgi]))[0], "q 2");
        // A scrape with none of the three (only a prefix-cache rate) is passed over.
        let rate_only = ServerPoint {
            prefix_hit: Some(0.5),
            ..ServerPoint::default()
        };
        assert_eq!(forms(&view(&[tgi, rate_only]))[0], "q 2");
        assert!(forms(&view(&[rate_only])).is_empty());
        assert!(forms(&ServerView::default()).is_empty());
    }

    #[test]
    fn a_lying_server_cannot_make_the_text_long() {
        let liar = ServerPoint {
            queue: Some(f64::NAN),
            running: Some(1e300),
            kv_cache: Some(-3.0),
            ..ServerPoint::default()
        };
        assert_eq!(forms(&view(&[liar]))[0], "q ? · run >10M · KV ?");
    }
}
