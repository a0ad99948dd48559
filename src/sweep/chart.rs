//! A sweep as text: a table per endpoint, a throughput-against-TTFT-p95 plot with one series
//! per endpoint, and the recommendation lines. Pure functions of the sweep's numbers.

use std::fmt::Write as _;

use super::{EndpointSweep, MAX_ERROR_RATE, Point, recommend};
use crate::format::{ms, percent, rate};

/// Series markers, in endpoint order (repeating past the last).
const MARKERS: [char; 6] = ['●', '▲', '■', '◆', '✚', '★'];
/// Where the plot's columns meet the target, drawn under the points.
const TARGET: char = '┊';

/// One endpoint's levels as a table; the recommended level is marked with `*`.
#[must_use]
pub fn table(endpoint: &EndpointSweep) -> String {
    let mut out = format!("{}\n", endpoint.name);
    out.push_str("    level    req/s    tok/s  TTFT p50  TTFT p95  errors  cache hit  repeats\n");
    for p in &endpoint.points {
        let mark = if endpoint.recommended.as_deref() == Some(p.level.as_str()) {
            '*'
        } else {
            ' '
        };
        let _ = writeln!(
            out,
            "  {mark} {:>5} {:>8} {:>8} {:>9} {:>9} {:>7} {:>10} {:>8}",
            p.level,
            rate(p.requests_per_s),
            rate(p.output_tokens_per_s),
            ms(p.ttft_p50_ms),
            ms(p.ttft_p95_ms),
            percent(p.error_rate),
            p.cache_hit_rate.map_or_else(|| "—".to_string(), percent),
            percent(p.repeat_share)
        );
    }
    out
}

/// The recommendation line for one endpoint.
#[must_use]
pub fn recommendation(endpoint: &EndpointSweep, target_ms: f64) -> String {
    match recommend(&endpoint.points, target_ms) {
        Some(p) => format!(
            "{}: {} ({} tok/s, {} req/s, TTFT p95 {})",
            endpoint.name,
            match p.concurrency {
                Some(n) => format!("concurrency {n}"),
                None => format!("rate {}", p.level),
            },
            rate(p.output_tokens_per_s),
            rate(p.requests_per_s),
            ms(p.ttft_p95_ms)
        ),
        None => format!(
            "{}: none within target (TTFT p95 <= {}, errors < {:.0}%)",
            endpoint.name,
            ms(Some(target_ms)),
            MAX_ERROR_RATE * 100.0
        ),
    }
}

/// Output tokens/s (up) against TTFT p95 (across) in a `width` × `height` grid of cells, one
/// marker per endpoint, the target as a dotted column, axis labels and a legend. Levels with no
/// TTFT are left out.
#[must_use]
pub fn plot(endpoints: &[EndpointSweep], target_ms: f64, width: usize, height: usize) -> String {
    let (width, height) = (width.max(10), height.max(3));
    let points = || {
        endpoints
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.points.iter().map(move |p| (i, p)))
            .filter_map(|(i, p): (usize, &Point)| {
                (p.ttft_p95_ms).map(|x| (i, x, p.output_tokens_per_s, p.level.as_str()))
            })
    };
    let x_max = points().map(|(_, x, _, _)| x).fold(target_ms, f64::max) * 1.05;
    let y_max = points().map(|(_, _, y, _)| y).fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.05 } else { 1.0 };
    let x_max = if x_max > 0.0 { x_max } else { 1.0 };
    let col = |x: f64| cell(x / x_max, width);
    let row = |y: f64| height - 1 - cell(y / y_max, height);

    let mut grid = vec![vec![' '; width]; height];
    let target_col = col(target_ms);
    for line in &mut grid {
        line[target_col] = TARGET;
    }
    // Each point is labelled with its level where the cells to its right are free; points
    // of one endpoint that share a cell share a label (`2,4`).
    let mut cells: Vec<((usize, usize), usize, Vec<&str>)> = Vec::new();
    for (i, x, y, level) in points() {
        let at = (row(y), col(x));
        match cells.iter_mut().find(|(c, e, _)| *c == at && *e == i) {
            Some((_, _, levels)) => levels.push(level),
            None => cells.push((at, i, vec![level])),
        }
    }
    for &((r, c), i, _) in &cells {
        grid[r][c] = MARKERS[i % MARKERS.len()];
    }
    for ((r, c), _, levels) in &cells {
        let label: Vec<char> = levels.join(",").chars().collect();
        let span = c + 1..c + 1 + label.len();
        if span.end <= width
            && grid[*r][span.clone()]
                .iter()
                .all(|&g| g == ' ' || g == TARGET)
        {
            grid[*r][span].copy_from_slice(&label);
        }
    }

    let top = format!("{y_max:.0}");
    let label_width = top.len().max(1);
    let mut out = format!("{:>label_width$} tok/s\n", "");
    for (r, line) in grid.iter().enumerate() {
        let label = match r {
            0 => top.clone(),
            r if r == height - 1 => "0".to_owned(),
            _ => String::new(),
        };
        let line: String = line.iter().collect();
        let _ = writeln!(out, "{label:>label_width$} ┤{}", line.trim_end());
    }
    let _ = writeln!(out, "{:>label_width$} └{}", "", "─".repeat(width));
    let right = ms(Some(x_max));
    let _ = writeln!(
        out,
        "{:>label_width$}  0{}{right}  TTFT p95",
        "",
        " ".repeat(width.saturating_sub(1 + right.len()))
    );
    let mut legend: Vec<String> = endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{} {}", MARKERS[i % MARKERS.len()], e.name))
        .collect();
    legend.push(format!("{TARGET} target {}", ms(Some(target_ms))));
    let _ = writeln!(out, "{:>label_width$}  {}", "", legend.join("   "));
    out
}

/// The cell of a fraction (0 to 1) of an axis `cells` long.
fn cell(fraction: f64, cells: usize) -> usize {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "clamped to the axis, which is a few dozen cells"
    )]
    let c = (fraction.clamp(0.0, 1.0) * (cells - 1) as f64).round() as usize;
    c.min(cells - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(name: &str, points: &[(u32, f64, f64)]) -> EndpointSweep {
        EndpointSweep {
            name: name.to_owned(),
            points: points
                .iter()
                .map(|&(concurrency, tps, p95)| Point {
                    level: concurrency.to_string(),
                    concurrency: Some(concurrency),
                    rate_per_s: None,
                    requests_per_s: tps / 10.0,
                    output_tokens_per_s: tps,
                    ttft_p50_ms: Some(p95),
                    ttft_p95_ms: Some(p95),
                    ttlt_p50_ms: Some(p95),
                    error_rate: 0.0,
                    succeeded: 10,
                    failed: 0,
                    cache_hit_rate: None,
                    repeat_share: 0.0,
                })
                .collect(),
            recommended: None,
        }
    }

    #[test]
    fn plot_places_series_and_target() {
        let a = sweep("a", &[(1, 100.0, 100.0), (2, 200.0, 400.0)]);
        let b = sweep("b", &[(1, 50.0, 900.0)]);
        let text = plot(&[a, b], 500.0, 20, 5);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 5 + 2 + 1, "{text}");
        // The busiest point of `a` is on the top row, the lightest one near the bottom.
        assert!(lines[1].contains('●'), "{text}");
        assert!(lines[1].starts_with("210 ┤"), "{text}");
        assert!(lines[4].contains('▲') || lines[5].contains('▲'), "{text}");
        assert!(lines[5].starts_with("  0 ┤"), "{text}");
        assert!(
            lines.iter().all(|l| !l.contains('┤') || l.contains('┊')),
            "{text}"
        );
        assert!(
            lines[8].contains("● a") && lines[8].contains("▲ b"),
            "{text}"
        );
        assert!(lines[8].contains("target 500 ms"), "{text}");
    }

    #[test]
    fn each_point_is_labelled_with_its_level() {
        let a = sweep("a", &[(1, 100.0, 100.0), (8, 400.0, 800.0)]);
        let b = sweep(
            "b",
            &[(1, 100.0, 110.0), (2, 100.0, 112.0), (16, 300.0, 1500.0)],
        );
        let text = plot(&[a, b], 1000.0, 40, 8);
        assert!(text.contains("●8"), "{text}");
        assert!(text.contains("▲16"), "{text}");
        // b's first two levels land on one cell, under a's first: one label for both.
        assert!(text.contains("▲1,2"), "{text}");
    }

    #[test]
    fn durations_read_as_everywhere_else() {
        let a = sweep("a", &[(1, 100.0, 26.0)]);
        assert!(table(&a).contains("26.0 ms"), "{}", table(&a));
        assert!(recommendation(&a, 500.0).ends_with("TTFT p95 26.0 ms)"));
    }

    #[test]
    fn plot_of_nothing_still_draws_axes() {
        let text = plot(&[], 1000.0, 10, 3);
        assert!(text.contains("TTFT p95"));
        assert!(text.contains('┊'));
    }

    #[test]
    fn table_marks_the_recommended_level() {
        let mut a = sweep("a", &[(1, 100.0, 100.0), (2, 200.0, 1500.0)]);
        a.recommended = Some("1".to_owned());
        let text = table(&a);
        assert!(
            text.lines()
                .nth(2)
                .is_some_and(|l| l.starts_with("  *     1")),
            "{text}"
        );
        assert!(text.contains("1.50 s"), "{text}");
        assert_eq!(
            recommendation(&a, 1000.0),
            "a: concurrency 1 (100 tok/s, 10.0 req/s, TTFT p95 100 ms)"
        );
        let none = sweep("b", &[(1, 100.0, 2000.0)]);
        assert!(recommendation(&none, 1000.0).contains("none within target"));
    }
}
