//! The charts screen's server row, under the client's charts: each scraped server's queue
//! (a line) and running batch (dots) under TTFT, its KV-cache use under tokens/s, on the same
//! race-time axis, so a TTFT spike sits above the queue that caused it. Drawn only when some
//! endpoint has server metrics; the points are the snapshot's, as scraped.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::{Series, TimeAxis, YAxis, time_chart};
use crate::stats::server::ServerPoint;
use crate::stats::snapshot::EndpointSnapshot;
use crate::tui::Scene;

/// A scrape is due every second: two missed ones break the line rather than join values
/// nobody read.
const SCRAPE_GAP_S: f64 = 2.5;

/// The server series of every endpoint (empty for one without server metrics), over the
/// axis's span.
pub(super) struct ServerSeries {
    queue: Vec<Vec<(f64, f64)>>,
    running: Vec<Vec<(f64, f64)>>,
    kv_percent: Vec<Vec<(f64, f64)>>,
    /// Some server's page was read: an empty chart is a figure it does not publish (llama.cpp
    /// has no KV gauge), not one still to come.
    read: bool,
}

impl ServerSeries {
    /// `None` when no endpoint has server metrics: the screen is then as it always was.
    pub(super) fn of(endpoints: &[EndpointSnapshot], x: &TimeAxis) -> Option<ServerSeries> {
        if endpoints.iter().all(|e| e.server.is_none()) {
            return None;
        }
        let pick = |value: fn(&ServerPoint) -> Option<f64>| -> Vec<Vec<(f64, f64)>> {
            (endpoints.iter())
                .map(|e| {
                    let points = e.server.as_deref().map_or(&[][..], |v| &v.points);
                    points
                        .iter()
                        .filter_map(|p| {
                            let t = p.t.as_secs_f64();
                            let v = value(p)?;
                            // A server's garbage (NaN, negative) is not drawn.
                            let shown = v.is_finite() && v >= 0.0;
                            (shown && t >= x.first && t <= x.now).then_some((t, v))
                        })
                        .collect()
                })
                .collect()
        };
        let read = (endpoints.iter())
            .filter_map(|e| e.server.as_deref())
            .any(|v| v.scrapes > v.failed);
        Some(ServerSeries {
            queue: pick(|p| p.queue),
            running: pick(|p| p.running),
            kv_percent: pick(|p| p.kv_cache.map(|k| k * 100.0)),
            read,
        })
    }
}

/// Draws the queue and running chart into `left` and the KV-cache chart into `right`.
pub(super) fn render(
    [left, right]: [Rect; 2],
    buf: &mut Buffer,
    scene: &Scene,
    x: &TimeAxis,
    series: &ServerSeries,
    lanes: &[Style],
    label_width: usize,
) {
    let queue = Series::new(&series.queue, lanes, false)
        .split_after(SCRAPE_GAP_S)
        .with_dots(&series.running);
    let y = YAxis {
        label: count_label,
        width: label_width,
        top: None,
        floor: 1.0,
        empty: if series.read {
            "not published by the server"
        } else {
            "no scrapes yet"
        },
    };
    let title = " server queue ⣀ · running • ";
    time_chart(left, buf, scene, title, x, &queue, &y);
    let kv = Series::new(&series.kv_percent, lanes, false).split_after(SCRAPE_GAP_S);
    let y = YAxis {
        label: percent_label,
        top: Some(100.0),
        ..y
    };
    time_chart(right, buf, scene, " server KV cache % ", x, &kv, &y);
}

/// A count on the axis, short whatever the server said: `6.6`, `13`, `12k`, `1.1e12`.
fn count_label(value: f64) -> String {
    if value >= 1e7 {
        format!("{value:.1e}")
    } else if value >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if value < 10.0 && value.fract() != 0.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

fn percent_label(value: f64) -> String {
    format!("{value:.0}%")
}
