//! What a frame of the dashboard costs with a big race behind it: 8 endpoints × 100 000
//! finished requests (and a live race of the same size), folded by the real aggregator.
//! Measures the aggregator's snapshot build and the full-frame render at 120×40, each view.
//!
//! Run: `cargo bench --bench dashboard` (prints medians and p99 over many repetitions).

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmrace::stats::{Aggregator, Snapshot, fixture};
use llmrace::tui::{RaceInfo, Scene, Screen, Theme, ThemeName, ViewState, screen};
use llmrace::workload::Prompt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const ENDPOINTS: usize = 8;
const REQUESTS: usize = 100_000;
const REPEAT: usize = 300;
/// Events applied between two snapshots in the "changed" case.
const BATCH: usize = 4000;

fn main() {
    let started = Instant::now();
    let (mut live, mut finished, tail) = build();
    eprintln!(
        "built {ENDPOINTS} endpoints × {REQUESTS} requests twice in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let live_t = fixture::live_at(REQUESTS as u64);
    // The realistic case: events arrived since the last snapshot (a batch of this race's
    // traffic), so distributions and request views changed and must be summarised again.
    let ended = tail
        .iter()
        .take(BATCH)
        .filter(|e| matches!(e.kind, llmrace::event::EventKind::Finished { .. }))
        .count();
    eprintln!("a batch of {BATCH} events ends {ended} requests");
    let mut tail = tail.into_iter();
    let mut times = Vec::new();
    for _ in 0..REPEAT {
        let mut t = live_t;
        for event in tail.by_ref().take(BATCH) {
            t = event.t;
            live.apply(&event);
        }
        let start = Instant::now();
        live.snapshot(t, false);
        times.push(start.elapsed());
    }
    times.sort();
    report(
        &format!("live race: snapshot build after {BATCH} new events"),
        &times,
    );
    for (label, aggregator, t, done) in [
        ("live race", &mut live, live_t, false),
        ("finished race", &mut finished, live_t, true),
    ] {
        let build = measure(|| {
            aggregator.snapshot(t, done);
        });
        report(
            &format!("{label}: snapshot build (unchanged aggregator)"),
            &build,
        );
        let snapshot = Arc::new(aggregator.snapshot(t, done));
        for screen in [Screen::Board, Screen::Inspector, Screen::Charts] {
            let render = render_cost(&snapshot, screen);
            report(&format!("{label}: render {screen:?} 120×40"), &render);
        }
    }
}

/// A live race (events up to the fixture's snapshot time), the same race finished, and the
/// live race's remaining events.
fn build() -> (Aggregator, Aggregator, Vec<llmrace::event::RaceEvent>) {
    let until = fixture::live_at(REQUESTS as u64);
    let mut live = fixture::aggregator(ENDPOINTS);
    let mut finished = fixture::aggregator(ENDPOINTS);
    let mut tail = Vec::new();
    for event in fixture::events(ENDPOINTS, REQUESTS) {
        if event.t <= until {
            live.apply(&event);
        } else if tail.len() < REPEAT * BATCH {
            tail.push(event.clone());
        }
        finished.apply(&event);
    }
    (live, finished, tail)
}

fn render_cost(snapshot: &Snapshot, screen_shown: Screen) -> Vec<Duration> {
    let info = RaceInfo {
        name: "bench".into(),
        lanes: fixture::endpoint_names(ENDPOINTS)
            .into_iter()
            .map(|name| llmrace::tui::LaneInfo {
                name,
                model: "model".into(),
                protocol: "openai".into(),
                color: None,
                price: None,
                simulated: true,
                concurrency: 16,
            })
            .collect(),
        requests: Some(REQUESTS as u64),
        duration: None,
        load: "open loop".into(),
        prompts: Arc::from(
            (0..fixture::PROMPTS)
                .map(|i| Prompt {
                    id: llmrace::event::PromptId(i),
                    messages: vec![llmrace::protocol::Message {
                        role: "user".into(),
                        content: format!("prompt {i}"),
                    }],
                    max_tokens: None,
                })
                .collect::<Vec<_>>(),
        ),
        replay: false,
        notices: Vec::new(),
    };
    let theme = Theme::new(ThemeName::Dark);
    let view = ViewState {
        screen: screen_shown,
        ..ViewState::default()
    };
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    measure(|| {
        let scene = Scene {
            info: &info,
            view: &view,
            snapshot,
            theme: &theme,
        };
        terminal
            .draw(|frame| screen::draw(frame, &scene))
            .expect("draw");
    })
}

fn measure(mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..20 {
        f();
    }
    let mut times: Vec<Duration> = (0..REPEAT)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn report(label: &str, times: &[Duration]) {
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    println!(
        "{label:<55} median {:>8.1} µs   p99 {:>8.1} µs",
        at(0.5),
        at(0.99)
    );
}
