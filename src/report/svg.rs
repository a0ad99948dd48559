//! Charts as inline SVG, drawn here rather than by a script library so the HTML report works
//! offline and shows its charts even with scripts off: line charts (CDFs, values over time)
//! and horizontal bar charts. Every text is escaped.

use std::fmt::Write as _;

use crate::convert::saturating_usize;

/// Endpoint colours, in endpoint order (repeating beyond eight): distinct on white and in
/// print, and told apart by most colour-blind readers.
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7f7f7f", "#332288",
];

/// The colour of the endpoint at `index`.
pub fn color(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// Series of at most this many points have each point marked.
const MARKED_POINTS: usize = 30;

/// One line of a chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'static str,
    /// In data units, sorted by x.
    pub points: Vec<(f64, f64)>,
}

pub struct LineChart<'a> {
    /// Read by screen readers and shown on hover.
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: Vec<Series<'a>>,
    /// Draw steps (a CDF) rather than straight segments.
    pub steps: bool,
    /// The y axis's top, when it is fixed (1 for a CDF).
    pub y_max: Option<f64>,
}

impl LineChart<'_> {
    pub fn render(&self) -> String {
        let points = self.series.iter().flat_map(|s| s.points.iter());
        let x_max = points.clone().map(|p| p.0).fold(0.0, f64::max);
        let y_max = self
            .y_max
            .unwrap_or_else(|| points.map(|p| p.1).fold(0.0, f64::max));
        let (x_ticks, x_top) = ticks(x_max);
        let (y_ticks, y_top) = ticks(y_max);
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let x = |v: f64| LEFT + v / x_top * plot_w;
        let y = |v: f64| TOP + plot_h - v / y_top * plot_h;

        let mut out = open(self.title);
        axes(
            &mut out,
            &x_ticks,
            &y_ticks,
            x,
            y,
            self.x_label,
            self.y_label,
        );
        for s in &self.series {
            if s.points.is_empty() {
                continue;
            }
            let mut d = String::new();
            for (i, &(px, py)) in s.points.iter().enumerate() {
                let _ = if i == 0 {
                    write!(d, "M{:.1},{:.1}", x(px), y(py))
                } else if self.steps {
                    write!(d, "H{:.1}V{:.1}", x(px), y(py))
                } else {
                    write!(d, "L{:.1},{:.1}", x(px), y(py))
                };
            }
            let _ = write!(
                out,
                r#"<path class="series" d="{d}" fill="none" stroke="{}" stroke-width="2"><title>{}</title></path>"#,
                s.color,
                escape(s.name)
            );
            // Few points (a short race, a slow endpoint) are each marked, so a lone one shows
            // and the reader sees what the line joins; a CDF's steps need no marks.
            if s.points.len() == 1 || (!self.steps && s.points.len() <= MARKED_POINTS) {
                for &(px, py) in &s.points {
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
                        x(px),
                        y(py),
                        s.color
                    );
                }
            }
        }
        out.push_str("</svg>");
        out
    }
}

/// One bar of a horizontal bar chart.
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Written after the bar (the value in its unit).
    pub text: String,
    pub color: &'static str,
}

/// Horizontal bars, one per row, scaled to the largest.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let row = 26.0;
    let label_w = 130.0;
    let text_w = 90.0;
    let height = TOP + row * bars.len().max(1) as f64 + 8.0;
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let bar_w = WIDTH - label_w - text_w - 16.0;
    let mut out = open_sized(title, height);
    for (i, b) in bars.iter().enumerate() {
        let top = TOP + row * i as f64;
        let w = if max > 0.0 {
            b.value / max * bar_w
        } else {
            0.0
        };
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" class="label">{}</text><rect x="{label_w:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
            label_w - 6.0,
            top + row * 0.6,
            escape(&clip(&b.label, 18)),
            top + 4.0,
            row - 8.0,
            b.color,
            escape(&b.label),
            escape(&b.text),
            label_w + w + 6.0,
            top + row * 0.6,
            escape(&b.text),
        );
    }
    out.push_str("</svg>");
    out
}

/// One row of a stacked bar chart: a label and its parts (value, colour, name).
pub struct Stack {
    pub label: String,
    pub parts: Vec<(f64, &'static str, String)>,
}

/// Horizontal stacked bars, all on one scale (the largest row's total).
pub fn stacked_bars(title: &str, rows: &[Stack]) -> String {
    let row = 26.0;
    let label_w = 130.0;
    let text_w = 60.0;
    let height = TOP + row * rows.len().max(1) as f64 + 8.0;
    let total = |s: &Stack| s.parts.iter().map(|p| p.0).sum::<f64>();
    let max = rows.iter().map(total).fold(0.0, f64::max);
    let bar_w = WIDTH - label_w - text_w - 16.0;
    let mut out = open_sized(title, height);
    for (i, stack) in rows.iter().enumerate() {
        let top = TOP + row * i as f64;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" class="label">{}</text>"#,
            label_w - 6.0,
            top + row * 0.6,
            escape(&clip(&stack.label, 18)),
        );
        let mut left = label_w;
        for (value, color, name) in &stack.parts {
            let w = if max > 0.0 { value / max * bar_w } else { 0.0 };
            let _ = write!(
                out,
                r#"<rect x="{left:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{color}"><title>{}: {} ×{value}</title></rect>"#,
                top + 4.0,
                row - 8.0,
                escape(&stack.label),
                escape(name),
            );
            left += w;
        }
        // Written as a count: an empty row's float sum is -0.
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
            left + 6.0,
            top + row * 0.6,
            total(stack).round().abs()
        );
    }
    out.push_str("</svg>");
    out
}

fn open(title: &str) -> String {
    open_sized(title, HEIGHT)
}

fn open_sized(title: &str, height: f64) -> String {
    format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}" role="img" aria-label="{0}"><title>{0}</title>"#,
        escape(title)
    )
}

fn axes(
    out: &mut String,
    x_ticks: &[f64],
    y_ticks: &[f64],
    x: impl Fn(f64) -> f64,
    y: impl Fn(f64) -> f64,
    x_label: &str,
    y_label: &str,
) {
    let bottom = HEIGHT - BOTTOM;
    for &t in y_ticks {
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{right:.1}" y1="{at:.1}" y2="{at:.1}"/><text x="{label_x:.1}" y="{label_y:.1}" text-anchor="end" class="tick">{text}</text>"#,
            right = WIDTH - RIGHT,
            at = y(t),
            label_x = LEFT - 6.0,
            label_y = y(t) + 4.0,
            text = tick_label(t),
        );
    }
    for &t in x_ticks {
        let _ = write!(
            out,
            r#"<line class="grid" x1="{at:.1}" x2="{at:.1}" y1="{TOP}" y2="{bottom:.1}"/><text x="{at:.1}" y="{label_y:.1}" text-anchor="middle" class="tick">{text}</text>"#,
            at = x(t),
            label_y = bottom + 16.0,
            text = tick_label(t),
        );
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom:.1}"/><line class="axis" x1="{LEFT}" x2="{:.1}" y1="{bottom:.1}" y2="{bottom:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis-label">{}</text><text transform="translate(14,{:.1}) rotate(-90)" text-anchor="middle" class="axis-label">{}</text>"#,
        WIDTH - RIGHT,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 6.0,
        escape(x_label),
        TOP + (bottom - TOP) / 2.0,
        escape(y_label),
    );
}

/// Round tick values from 0 to at least `max` (about five steps of 1, 2 or 5 × 10ⁿ), and the
/// axis's top.
pub fn ticks(max: f64) -> (Vec<f64>, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (vec![0.0, 1.0], 1.0);
    }
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    let steps = saturating_usize((max / step).ceil().max(1.0));
    let ticks: Vec<f64> = (0..=steps).map(|i| i as f64 * step).collect();
    let top = step * steps as f64;
    (ticks, top)
}

fn tick_label(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').to_string()
    }
}

/// At most `n` characters, with `…` when cut.
fn clip(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}

/// Text made safe inside HTML and SVG elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in HTML text; tabs and newlines are fine.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(9.0), (vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0], 10.0));
        assert_eq!(ticks(1.0).1, 1.0);
        assert_eq!(ticks(430.0).1, 500.0);
        assert_eq!(ticks(0.0), (vec![0.0, 1.0], 1.0));
        assert_eq!(tick_label(0.2), "0.2");
        assert_eq!(tick_label(20_000.0), "20k");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{1b}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{fffd}"
        );
        let chart = bar_chart(
            "<t>",
            &[Bar {
                label: "<script>".to_string(),
                value: 1.0,
                text: "1".to_string(),
                color: PALETTE[0],
            }],
        );
        assert!(
            !chart.contains("<script>") && !chart.contains("<t>"),
            "{chart}"
        );
    }

    #[test]
    fn a_row_without_errors_counts_zero() {
        let rows = [
            Stack {
                label: "clean".to_string(),
                parts: Vec::new(),
            },
            Stack {
                label: "flaky".to_string(),
                parts: vec![(3.0, PALETTE[0], "stream_cut".to_string())],
            },
        ];
        let chart = stacked_bars("errors", &rows);
        assert!(chart.contains(r#"class="value">0</text>"#), "{chart}");
        assert!(chart.contains(r#"class="value">3</text>"#), "{chart}");
        assert!(!chart.contains("-0"), "{chart}");
    }

    #[test]
    fn a_line_chart_draws_a_path_per_series() {
        let chart = LineChart {
            title: "t",
            x_label: "x",
            y_label: "y",
            series: vec![
                Series {
                    name: "a",
                    color: PALETTE[0],
                    points: vec![(1.0, 0.5), (2.0, 1.0)],
                },
                Series {
                    name: "b",
                    color: PALETTE[1],
                    points: vec![(3.0, 1.0)],
                },
            ],
            steps: true,
            y_max: Some(1.0),
        }
        .render();
        assert_eq!(chart.matches("<path").count(), 2);
        assert!(chart.starts_with("<svg") && chart.ends_with("</svg>"));
        // Steps (a CDF) mark only a lone point.
        assert_eq!(chart.matches("<circle").count(), 1);
    }

    #[test]
    fn a_few_points_over_time_are_marked() {
        let series = |n: u32| Series {
            name: "a",
            color: PALETTE[0],
            points: (0..n).map(|i| (f64::from(i), 1.0)).collect(),
        };
        let chart = |n| {
            LineChart {
                title: "t",
                x_label: "x",
                y_label: "y",
                series: vec![series(n)],
                steps: false,
                y_max: None,
            }
            .render()
        };
        assert_eq!(chart(3).matches("<circle").count(), 3);
        assert_eq!(chart(200).matches("<circle").count(), 0);
    }
}
