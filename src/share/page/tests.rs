use super::*;
use crate::event::EventKind;
use crate::record::Replay;
use crate::record::replay::fixture;

const EVIL: &str = "</script><script>alert(\"x\")</script><img src=x onerror=alert(1)>";

fn recording(replay: &Replay) -> Recording {
    let dir = tempfile::tempdir().unwrap();
    fixture::write_file(dir.path(), replay, None);
    crate::share::record(dir.path()).unwrap()
}

/// The fixture race with an endpoint, a model and every response's text hostile.
fn hostile() -> Replay {
    let mut replay = fixture::replay(3, 20);
    replay.header.name = EVIL.to_string();
    replay.header.endpoints[0].name = EVIL.to_string();
    replay.header.endpoints[1].model = EVIL.to_string();
    for event in &mut replay.events {
        if let EventKind::Content { text, .. } = &mut event.kind {
            *text = format!("{EVIL}\u{1b}[31m").into();
        }
    }
    replay
}

#[test]
fn the_page_fetches_nothing_and_has_a_strict_policy() {
    let html = render(&recording(&fixture::replay(3, 20)), &[]);
    for reference in ["src=", "href=", "url(", "@import", "http://", "https://"] {
        assert!(!html.contains(reference), "found {reference}");
    }
    assert!(html.contains(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    )));
    assert_eq!(
        html.matches("<script").count(),
        2,
        "the data and the player"
    );
}

#[test]
fn hostile_names_and_responses_cannot_break_the_page() {
    let replay = hostile();
    let html = render(&recording(&replay), &[]);
    assert_eq!(html.matches("<script").count(), 2, "only the page's own");
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)"));
    assert!(!html.contains('\u{1b}'), "escapes are made inert");
    // The responses are in the data, whole, as JSON the script reads back.
    let json = html
        .split("id=\"race-data\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(json).unwrap();
    let piece = &data["heats"][0]["responses"][0]["pieces"][0][1];
    assert!(piece.as_str().unwrap().starts_with(EVIL), "{piece}");
}

#[test]
fn the_final_table_is_the_last_snapshot_s_and_the_medals_are_shown() {
    let shared = recording(&fixture::replay(3, 20));
    let medals = [
        Medal {
            kind: MedalKind::FastestFirstToken,
            endpoint: 1,
            figure: "212 ms".to_string(),
        },
        Medal {
            kind: MedalKind::ZeroErrors,
            endpoint: 0,
            figure: "<0 failed>".to_string(),
        },
    ];
    let html = render(&shared, &medals);
    let finale = html.split("id=\"final\"").nth(1).unwrap();
    for e in &shared.last.endpoints {
        let row = format!(
            "<bdi>{}</bdi></td><td class=\"n\">{}/{}</td>",
            escape(&e.name),
            e.counts.succeeded,
            e.counts.sent
        );
        assert!(finale.contains(&row), "{row}");
        let ttft = ms(e.latency.ttft_ms.map(|s| s.p50));
        assert!(finale.contains(&ttft), "{ttft}");
    }
    let name = escape(&shared.last.endpoints[1].name);
    assert!(finale.contains(&format!(
        "<li><b>Fastest first token</b>: <span class=\"sw\" style=\"background:{}\"></span>\
         <bdi>{name}</bdi> <span class=\"figure\">(212 ms)</span></li>",
        color(1)
    )));
    assert!(finale.contains("<b>Zero errors</b>"));
    assert!(finale.contains("(&lt;0 failed&gt;)"));
    // Without medals, no heading for them.
    assert!(!render(&shared, &[]).contains("Medals"));
}

#[test]
fn the_frames_carry_the_aggregator_s_numbers() {
    let shared = recording(&fixture::replay(2, 20));
    let built = data::build(&shared);
    assert_eq!(built.frames.len(), shared.frames.len() + 1);
    let last = built.frames.last().unwrap();
    for (lane, e) in last.lanes.iter().zip(&shared.last.endpoints) {
        assert!(
            (lane.progress - 1.0).abs() < f64::EPSILON,
            "all done at the end"
        );
        assert_eq!(lane.ok, e.counts.succeeded);
        assert_eq!(lane.ttft, ms(e.latency.ttft_ms.map(|s| s.p50)));
        assert_eq!(lane.output, e.tokens.output);
    }
    assert!(last.leader.is_some());
    assert_eq!(
        built.frames[0].leader, None,
        "nobody leads before anything is done"
    );
}

#[test]
fn every_name_is_isolated_so_right_to_left_overrides_stay_inside_it() {
    // An unterminated right-to-left override in a name would otherwise reverse the text
    // after it on its line (a medal's figure, say).
    let mut replay = fixture::replay(2, 6);
    replay.header.endpoints[0].name = "ev\u{202e}il".to_string();
    let shared = recording(&replay);
    let medals = [Medal {
        kind: MedalKind::MostOutput,
        endpoint: 0,
        figure: "120 tokens".to_string(),
    }];
    let html = render(&shared, &medals);
    let names = html.matches("ev\u{202e}il").count();
    assert!(
        names >= 4,
        "track, lane, arena, final table, medal: {names}"
    );
    assert_eq!(html.matches("<bdi>ev\u{202e}il</bdi>").count(), names);
}
