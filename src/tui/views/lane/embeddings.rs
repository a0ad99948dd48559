//! An embeddings endpoint's lane: its latency is the request's (TTFB, TTLT), its rates are
//! inputs and requests, its sparkline the requests it completed each second. TTFT, TPOT, ITL
//! and tokens/s belong to generated text: where the board's columns have them, the lane says
//! "n/a" rather than a dash that would read as a failure.

use ratatui::style::Style;

use crate::format::rate;
use crate::stats::snapshot::Embeddings;
use crate::tui::draw::{Pen, fit};

use super::{CONTENT, Lane, RIGHT, SPARK_LABEL, count, errors_text, spark, spark_width};

/// A column the board shares with lanes of generated text, which this lane has no figure for.
const NOT_APPLICABLE: &str = "n/a";

impl Lane<'_> {
    /// Tall: TTFB and TTLT percentiles; inputs/s, requests/min, success, batch and new
    /// connections; four rows of requests completed per second, then the errors.
    pub(super) fn embeddings_tall(&self, m: &Embeddings, spark_rows: u16, pen: &mut Pen) {
        let l = &self.endpoint.latency;
        self.latency(&[("TTFB", l.ttfb_ms), ("TTLT", l.ttlt_ms)], pen);
        let rates = [
            ("in/s", self.inputs_per_s(m)),
            ("RPM", self.rpm()),
            ("ok", self.success()),
            ("batch", m.batch.to_string()),
            ("new conn", count(self.endpoint.counts.new_connections)),
        ];
        self.rates(&rates, pen);
        self.completions(spark_rows, pen);
    }

    /// Full: TTLT; inputs/s, requests/min and success; two rows of completions, the errors.
    pub(super) fn embeddings_full(&self, m: &Embeddings, pen: &mut Pen) {
        self.latency(&[("TTLT", self.endpoint.latency.ttlt_ms)], pen);
        let rates = [
            ("in/s", self.inputs_per_s(m)),
            ("RPM", self.rpm()),
            ("ok", self.success()),
        ];
        self.rates(&rates, pen);
        self.completions(1, pen);
    }

    /// The Compact row: "n/a" under TTFT, TPOT and tok/s; inputs/s before the errors.
    pub(super) fn embeddings_compact(&self, values: &mut [String; 7], errors: &mut String) {
        let Some(m) = &self.endpoint.embeddings else {
            return;
        };
        for i in [0, 1, 3, 4] {
            values[i] = NOT_APPLICABLE.to_string();
        }
        *errors = format!("{} in/s · {errors}", self.inputs_per_s(m));
    }

    /// The Line row: "n/a" under TTFT and tok/s; inputs/s after the progress.
    pub(super) fn embeddings_line(&self, cells: &mut [(String, Style); 6]) {
        let Some(m) = &self.endpoint.embeddings else {
            return;
        };
        for i in [1, 3] {
            cells[i].0 = NOT_APPLICABLE.to_string();
        }
        cells[5].0 = format!("{} · {} in/s", cells[5].0, self.inputs_per_s(m));
    }

    /// Inputs embedded per second over the race so far; a dash before any request succeeded.
    pub(super) fn inputs_per_s(&self, m: &Embeddings) -> String {
        if self.endpoint.counts.succeeded == 0 {
            "—".to_string()
        } else {
            rate(m.inputs_per_s)
        }
    }

    /// The title's words about the batch and the vectors: `16 inputs · 384-d`.
    pub(super) fn embeddings_title(m: &Embeddings) -> String {
        match m.dimension {
            Some(d) => format!("{} in · {d}-d", m.batch),
            None => format!("{} in", m.batch),
        }
    }

    /// Requests completed per second of the last minute, twice `height` rows, on the lane's own
    /// scale (the board's shared scales are of TTFT and tokens, which it has none of); then
    /// the errors.
    fn completions(&self, height: u16, pen: &mut Pen) {
        let area = pen.clip;
        let x = area.x + CONTENT + RIGHT;
        let span = usize::from(spark_width(area.width));
        let recent = &self.endpoint.recent_seconds;
        let skip = recent.len().saturating_sub(span);
        let done: Vec<Option<f64>> = recent
            .iter()
            .skip(skip)
            .map(|s| Some(f64::from(s.completed)))
            .collect();
        let max = done.iter().flatten().copied().fold(0.0, f64::max);
        let width = area.right().saturating_sub(x);
        let mut y = area.y + 1;
        pen.left(x, y, SPARK_LABEL, "req/s", self.theme.dim);
        // The rows a chat lane gives its TTFT and tokens/s sparklines: one taller chart.
        for row in spark(&done, max, 2 * height) {
            let w = width.saturating_sub(SPARK_LABEL);
            pen.left(x + SPARK_LABEL, y, w, &row, self.color);
            y += 1;
        }
        let errors = fit(&errors_text(self.endpoint, 2), usize::from(width));
        pen.left(x, y, width, &errors, self.error_style());
    }
}
