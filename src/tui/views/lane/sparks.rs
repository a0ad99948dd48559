//! A lane's sparklines: per-second TTFT and output tokens/s, as many seconds as the lane is
//! wide (up to the snapshot's window) and as many rows as its density gives them, on a scale
//! every lane shares.

use crate::stats::EndpointSnapshot;
use crate::stats::window::Second;
use crate::tui::draw::{Pen, fit, whole};

use super::{CONTENT, Lane, RIGHT, SPARK_LABEL, errors_text, server};

/// The largest per-second values across all lanes, so sparklines share one scale and lanes
/// can be compared at a glance.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scale {
    pub ttft_ms: f64,
    pub tokens_per_s: f64,
}

impl Scale {
    /// The scale of the seconds lanes `lane_width` wide show (an older peak that scrolled out
    /// of view must not flatten what is shown).
    pub fn of(endpoints: &[EndpointSnapshot], lane_width: u16) -> Scale {
        let span = usize::from(spark_width(lane_width));
        let mut scale = Scale::default();
        for e in endpoints {
            let skip = e.recent_seconds.len().saturating_sub(span);
            for s in &e.recent_seconds[skip..] {
                scale.ttft_ms = scale.ttft_ms.max(s.ttft_mean_ms().unwrap_or(0.0));
            }
            for v in tokens_per_second(e).skip(skip) {
                scale.tokens_per_s = scale.tokens_per_s.max(v);
            }
        }
        scale
    }
}

/// Per-second output tokens/s of the last minute. Chunks are counted as they arrive (tokens are
/// only known once a request ends), scaled by the tokens per chunk finished requests showed.
fn tokens_per_second(e: &EndpointSnapshot) -> impl Iterator<Item = f64> + '_ {
    let per_chunk = if e.tokens.chunks > 0 && e.tokens.output > 0 {
        e.tokens.output as f64 / e.tokens.chunks as f64
    } else {
        1.0
    };
    e.recent_seconds
        .iter()
        .map(move |s| s.streamed_chunks as f64 * per_chunk)
}

/// One character per value and row, from `▁` up to `█` against `max`, top row first;
/// a second without data is blank.
pub fn spark(values: &[Option<f64>], max: f64, rows: u16) -> Vec<String> {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let steps = f64::from(rows) * 8.0;
    let levels: Vec<u16> = values
        .iter()
        .map(|v| match v {
            Some(v) if *v > 0.0 && max > 0.0 => {
                let level = whole((v / max * steps).ceil().clamp(1.0, steps));
                u16::try_from(level).unwrap_or(u16::MAX)
            }
            _ => 0,
        })
        .collect();
    (0..rows)
        .rev()
        .map(|row| {
            levels
                .iter()
                .map(|level| match level.saturating_sub(row * 8).min(8) {
                    0 => ' ',
                    l => LEVELS[usize::from(l) - 1],
                })
                .collect()
        })
        .collect()
}

/// How many seconds of sparkline a lane of this width shows.
pub(super) fn spark_width(lane_width: u16) -> u16 {
    lane_width.saturating_sub(CONTENT + RIGHT + SPARK_LABEL + 1)
}

impl Lane<'_> {
    /// TTFT and tokens/s sparklines, `height` rows each, from the lane's second row; then the
    /// errors on the row after them.
    pub(super) fn sparks(&self, height: u16, pen: &mut Pen) {
        let area = pen.clip;
        let x = area.x + CONTENT + RIGHT;
        let span = usize::from(spark_width(area.width));
        let recent = &self.endpoint.recent_seconds;
        let skip = recent.len().saturating_sub(span);
        let ttft: Vec<Option<f64>> = recent.iter().skip(skip).map(Second::ttft_mean_ms).collect();
        let tokens: Vec<Option<f64>> = tokens_per_second(self.endpoint)
            .skip(skip)
            .map(Some)
            .collect();
        let width = area.right().saturating_sub(x);
        // A two-row TTFT sparkline gives its second row to the server's queue, batch and KV
        // use, right under the TTFT they explain.
        let server = (self.endpoint.server.as_deref())
            .filter(|_| height >= 2)
            .and_then(|view| server::fitting(view, width.saturating_sub(1)));
        let ttft_rows = height - u16::from(server.is_some());
        let charts = [
            ("TTFT", spark(&ttft, self.scale.ttft_ms, ttft_rows)),
            ("tok/s", spark(&tokens, self.scale.tokens_per_s, height)),
        ];
        let mut y = area.y + 1;
        for (label, rows) in charts {
            pen.left(x, y, SPARK_LABEL, label, self.theme.dim);
            for row in rows {
                let w = width.saturating_sub(SPARK_LABEL);
                pen.left(x + SPARK_LABEL, y, w, &row, self.color);
                y += 1;
            }
            if label == "TTFT"
                && let Some(server) = &server
            {
                pen.left(x, y, width, server, self.theme.text);
                y += 1;
            }
        }
        let errors = fit(&errors_text(self.endpoint, 2), usize::from(width));
        pen.left(x, y, width, &errors, self.error_style());
    }
}
