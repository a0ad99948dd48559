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

/// An embeddings endpoint's lane at every density, as the dashboard draws it (a race of chat
/// and embeddings endpoints, finished): no TTFT, TPOT, ITL or tokens/s of its own.
#[test]
fn an_embeddings_lane_shows_its_latency_and_inputs() {
    use std::fmt::Write as _;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let snapshot = crate::stats::fixture::finished_race_with_embeddings(2, 40);
    let endpoint = &snapshot.endpoints[1];
    let theme = Theme::new(crate::tui::ThemeName::Dark);
    let info = crate::tui::LaneInfo {
        name: endpoint.name.clone(),
        model: "bge-small-en-v1.5".to_string(),
        protocol: "openai-embeddings".to_string(),
        color: None,
        price: None,
        simulated: true,
        concurrency: 4,
        salt: None,
    };
    let mut frames = String::new();
    for density in [
        Density::Tall,
        Density::Full,
        Density::Compact,
        Density::Line,
    ] {
        let lane = Lane {
            index: 1,
            info: Some(&info),
            endpoint,
            cost: None,
            theme: &theme,
            color: Style::default(),
            selected: false,
            finished: true,
            target: Some(40),
            density,
            scale: Scale::of(&snapshot.endpoints, 120),
            name_width: 8,
        };
        let mut terminal = Terminal::new(TestBackend::new(120, density.rows() + 1)).unwrap();
        terminal
            .draw(|frame| {
                let area = frame.area();
                header(
                    Rect::new(0, 0, 120, 1),
                    frame.buffer_mut(),
                    density,
                    8,
                    snapshot.t.as_duration(),
                    &theme,
                );
                frame.render_widget(&lane, Rect::new(0, 1, 120, area.height - 1));
            })
            .unwrap();
        let buf = terminal.backend().buffer();
        let _ = writeln!(frames, "{density:?}");
        for y in 0..buf.area.height {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            frames.push_str(row.trim_end());
            frames.push('\n');
        }
    }
    insta::assert_snapshot!(frames);
    // The shared column headers name them; the lane's own rows never do.
    let lanes: Vec<&str> = frames.lines().filter(|l| l.starts_with('▌')).collect();
    assert!(
        lanes
            .iter()
            .all(|l| !l.contains("TTFT") && !l.contains("TPOT") && !l.contains("tok/s")),
        "{frames}"
    );
}
