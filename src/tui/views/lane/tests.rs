//! A lane's pieces: sparklines, the title's wins, errors beside retries, short counts.

use super::*;

#[test]
fn sparklines_share_a_scale_and_stack_rows() {
    let values = [None, Some(0.0), Some(1.0), Some(4.0), Some(8.0)];
    assert_eq!(spark(&values, 8.0, 1), vec!["  ▁▄█"]);
    assert_eq!(spark(&values, 8.0, 2), vec!["    █", "  ▂██"]);
    assert_eq!(spark(&values, 0.0, 1), vec!["     "]);
    // Above the scale (a stale maximum) is drawn full, never wrapped.
    assert_eq!(spark(&[Some(20.0)], 8.0, 1), vec!["█"]);
}

fn title_of(endpoint: &EndpointSnapshot) -> String {
    let theme = Theme::new(crate::tui::ThemeName::Dark);
    let lane = Lane {
        index: 0,
        info: None,
        endpoint,
        cost: None,
        theme: &theme,
        color: Style::default(),
        selected: false,
        finished: true,
        target: Some(5),
        density: Density::Compact,
        scale: Scale::default(),
        name_width: 8,
    };
    let area = Rect::new(0, 0, 80, 2);
    let mut buf = Buffer::empty(area);
    (&lane).render(area, &mut buf);
    (0..area.width)
        .map(|x| buf[(x, 0)].symbol().to_string())
        .collect()
}

/// The snapshot of an endpoint that has run nothing yet.
fn empty_endpoint(name: &str) -> EndpointSnapshot {
    crate::stats::Aggregator::new(
        &[name.to_string()],
        crate::config::Slo::default(),
        chrono::DateTime::UNIX_EPOCH,
    )
    .snapshot(crate::event::Offset::ZERO, true)
    .endpoints
    .remove(0)
}

#[test]
fn lanes_show_lap_wins_only_when_laps_were_run() {
    let mut endpoint = empty_endpoint("fast");
    assert!(!title_of(&endpoint).contains("wins"));
    endpoint.laps = 5;
    endpoint.wins_first_token = 3;
    let title = title_of(&endpoint);
    assert!(title.contains("wins 3/5"), "{title}");
}

#[test]
fn errors_show_retries_beside_the_failures() {
    let mut endpoint = empty_endpoint("busy");
    assert_eq!(errors_text(&endpoint, 2), "no errors");
    endpoint.counts.failed = 3;
    endpoint
        .errors
        .insert(crate::event::ErrorClass::RateLimited, 3);
    assert_eq!(errors_text(&endpoint, 2), "3 errors: rate_limited 3");
    endpoint.counts.retries = 2;
    assert_eq!(errors_text(&endpoint, 2), "3 errors: rate_limited 3 ↻2");
}

#[test]
fn counts_stay_short() {
    assert_eq!(count(950), "950");
    assert_eq!(count(12_345), "12.3k");
    assert_eq!(count(4_560_000), "4.56M");
}
