//! The charts screen: TTFT and output tokens/s over the last minute, every endpoint overlaid
//! in its lane colour, and each endpoint's TTFT and TTLT distribution as a row on a shared axis.
//! Everything is read from the snapshot: per-second buckets and the aggregator's summaries.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget};

use crate::format::{ms, rate};
use crate::stats::distribution::Summary;
use crate::stats::snapshot::EndpointSnapshot;
use crate::stats::window::Second;
use crate::tui::{Scene, draw};

mod server;

/// Draws the charts screen into `area`.
pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let endpoints = &scene.snapshot.endpoints;
    if endpoints.is_empty() {
        Paragraph::new("No endpoints in this race.")
            .style(scene.theme.dim)
            .centered()
            .render(area, buf);
        return;
    }
    let lanes: Vec<Style> = (0..endpoints.len()).map(|i| scene.lane_color(i)).collect();
    // A row per endpoint, a header and an axis row, inside a border; never more than half.
    let wanted = u16::try_from(endpoints.len())
        .unwrap_or(u16::MAX)
        .saturating_add(4);
    let x = TimeAxis::of(scene);
    let server = server::ServerSeries::of(endpoints, &x);
    // Server charts take a row under the client's; the distributions give way to them on a
    // short screen.
    let distribution_height = match server {
        None => wanted.min(area.height / 2),
        Some(_) if area.height >= 30 => wanted.min(area.height / 4),
        Some(_) => 0,
    };
    let [legend, over_time, distributions] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(distribution_height),
    ])
    .areas(area);
    render_legend(legend, buf, scene, &lanes);

    let halves = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]);
    let (client, server_row) = match server {
        Some(_) => {
            let [client, server_row] =
                Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(over_time);
            (client, server_row)
        }
        None => (over_time, Rect::default()),
    };
    let [ttft_chart, tokens_chart] = halves.areas(client);
    // Charts stacked in a column share their x axis only if their y labels are as wide.
    let label_width = if server.is_some() { Y_LABEL_WIDTH } else { 0 };
    let ttft: Vec<Vec<(f64, f64)>> = endpoints.iter().map(|e| ttft_means(e, &x)).collect();
    let tokens: Vec<Vec<(f64, f64)>> = (endpoints.iter())
        .map(|e| tokens_per_s(e, &x, sent_all(scene, e)))
        .collect();
    let title = " TTFT · mean per second ";
    // TTFT is known only for the seconds in which first tokens arrived: each is a point, and
    // a long quiet spell leaves a gap.
    let ttft = Series::new(&ttft, &lanes, true).split_after(TTFT_GAP_S);
    let y = YAxis {
        label: ms_label,
        width: label_width,
        top: None,
        floor: 0.0,
        empty: "nothing yet",
    };
    time_chart(ttft_chart, buf, scene, title, &x, &ttft, &y);
    let title = " output tokens/s ";
    let tokens = Series::new(&tokens, &lanes, false);
    let y = YAxis {
        label: rate_label,
        ..y
    };
    time_chart(tokens_chart, buf, scene, title, &x, &tokens, &y);
    if let Some(server) = &server {
        let halves = halves.areas(server_row);
        server::render(halves, buf, scene, &x, server, &lanes, label_width);
    }
    if distributions.is_empty() {
        return;
    }

    let [ttft_rows, ttlt_rows] = halves.areas(distributions);
    let summaries = |pick: fn(&EndpointSnapshot) -> Option<&Summary>| {
        endpoints.iter().map(pick).collect::<Vec<_>>()
    };
    let ttft = summaries(|e| e.latency.ttft_ms.as_ref());
    let ttlt = summaries(|e| e.latency.ttlt_ms.as_ref());
    distribution(ttft_rows, buf, scene, " TTFT distribution ", &ttft, &lanes);
    distribution(ttlt_rows, buf, scene, " TTLT distribution ", &ttlt, &lanes);
}

/// Which summary of an endpoint a distribution shows.
type PickSummary = fn(&EndpointSnapshot) -> Option<&Summary>;

/// The TTFT and TTLT distributions one above the other in `area`, each as tall as its
/// endpoints need, those that fit: the board's side column on a tall terminal.
pub fn distributions(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let endpoints = &scene.snapshot.endpoints;
    let lanes: Vec<Style> = (0..endpoints.len()).map(|i| scene.lane_color(i)).collect();
    let height = u16::try_from(endpoints.len())
        .unwrap_or(u16::MAX)
        .saturating_add(4);
    let charts: [(&str, PickSummary); 2] = [
        (" TTFT distribution ", |e| e.latency.ttft_ms.as_ref()),
        (" TTLT distribution ", |e| e.latency.ttlt_ms.as_ref()),
    ];
    let mut y = area.y;
    for (title, pick) in charts {
        if y + height > area.bottom() {
            return;
        }
        let rect = Rect { y, height, ..area };
        let summaries: Vec<_> = endpoints.iter().map(pick).collect();
        distribution(rect, buf, scene, title, &summaries, &lanes);
        y += height;
    }
}

/// Which colour is which endpoint, shared by every chart on the screen.
fn render_legend(area: Rect, buf: &mut Buffer, scene: &Scene, lanes: &[Style]) {
    let mut spans = vec![Span::raw(" ")];
    for (endpoint, lane) in scene.snapshot.endpoints.iter().zip(lanes) {
        spans.push(Span::styled("■ ", *lane));
        spans.push(Span::styled(endpoint.name.clone(), scene.theme.text));
        spans.push(Span::raw("  "));
    }
    let note = Span::styled("last minute, by race time ", scene.theme.dim);
    let used: usize = spans.iter().map(Span::width).sum();
    if used + note.width() <= usize::from(area.width) {
        let gap = usize::from(area.width) - used - note.width();
        spans.push(Span::raw(" ".repeat(gap)));
        spans.push(note);
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// Seconds the time charts span (the snapshot keeps more, for the lanes' wide sparklines).
const CHART_SECS: usize = 60;

/// The endpoint's last [`CHART_SECS`] seconds, oldest first.
fn minute(endpoint: &EndpointSnapshot) -> &[Second] {
    let seconds = &endpoint.recent_seconds;
    &seconds[seconds.len().saturating_sub(CHART_SECS)..]
}

/// The race seconds the time charts span: the last minute up to the snapshot.
struct TimeAxis {
    first: f64,
    now: f64,
    /// The second still being filled; its counts are partial while the race runs.
    partial: Option<u64>,
}

impl TimeAxis {
    fn of(scene: &Scene) -> TimeAxis {
        let now = scene.snapshot.t.as_secs_f64();
        let first = scene
            .snapshot
            .endpoints
            .iter()
            .filter_map(|e| minute(e).first())
            .map(|s| s.second)
            .min()
            .unwrap_or(0) as f64;
        TimeAxis {
            first,
            now: now.max(first + 1.0),
            partial: (!scene.snapshot.finished).then_some(draw::whole(now)),
        }
    }

    /// A bucket's point sits in the middle of its second (not past the present).
    fn x(&self, second: &Second) -> f64 {
        (second.second as f64 + 0.5).min(self.now)
    }

    fn labels(&self) -> Vec<Span<'static>> {
        let middle = f64::midpoint(self.first, self.now);
        [self.first, middle, self.now]
            .into_iter()
            .map(|s| {
                let s = draw::whole(s);
                Span::raw(format!("{}:{:02}", s / 60, s % 60))
            })
            .collect()
    }
}

/// Seconds without a first token after which the TTFT line breaks: a line over a longer gap
/// would draw values nobody measured.
const TTFT_GAP_S: f64 = 5.0;

/// Per-second mean TTFT of the first tokens that arrived in it, over the seconds that had one.
/// A slow endpoint has first tokens only every few seconds: the line joins its points (up to
/// [`TTFT_GAP_S`] apart) rather than leaving them apart, unseen.
fn ttft_means(endpoint: &EndpointSnapshot, x: &TimeAxis) -> Vec<(f64, f64)> {
    (minute(endpoint).iter())
        .filter_map(|second| Some((x.x(second), second.ttft_mean_ms()?)))
        .collect()
}

/// Output tokens per second as they streamed: chunks per second, scaled by the tokens per chunk
/// finished requests showed (as the lane's live rate is). The second still being filled is left
/// out so the line does not dip at the end. `done` when the endpoint will send nothing more.
fn tokens_per_s(endpoint: &EndpointSnapshot, x: &TimeAxis, done: bool) -> Vec<(f64, f64)> {
    let tokens = &endpoint.tokens;
    let per_chunk = if tokens.chunks > 0 && tokens.output > 0 {
        tokens.output as f64 / tokens.chunks as f64
    } else {
        1.0
    };
    // A done endpoint's line ends with its last activity rather than running on at 0 tok/s
    // to the end of the race. Nothing in flight alone does not make it done: at a low open-loop
    // rate it is only between two requests, and the line's end would come and go.
    let seconds = minute(endpoint);
    let active = |s: &Second| s.streamed_chunks > 0 || s.completed > 0 || s.failed > 0;
    let end = if done && endpoint.counts.in_flight == 0 {
        seconds.iter().rposition(active).map_or(0, |last| last + 1)
    } else {
        seconds.len()
    };
    seconds[..end]
        .iter()
        .filter(|s| Some(s.second) != x.partial)
        .map(|s| (x.x(s), s.streamed_chunks as f64 * per_chunk))
        .collect()
}

/// Whether `endpoint` will send no more requests: the race is over, or it sent all it was to.
fn sent_all(scene: &Scene, endpoint: &EndpointSnapshot) -> bool {
    let counts = &endpoint.counts;
    scene.snapshot.finished
        || (scene.info.requests).is_some_and(|n| counts.sent.saturating_sub(counts.retries) >= n)
}

fn ms_label(value: f64) -> String {
    if value == 0.0 {
        "0".into()
    } else {
        ms(Some(value))
    }
}

fn rate_label(value: f64) -> String {
    if value == 0.0 {
        "0".into()
    } else {
        rate(value)
    }
}

/// The y labels' width when charts are stacked (the widest `ms`, `12.3 ms`, and more).
const Y_LABEL_WIDTH: usize = 8;

/// A time chart's y axis: how values are labelled, the labels' width (0: as they come), a
/// fixed top (a percentage's 100) or the least top (a queue of zeros still has an axis), and
/// what the chart says when it has nothing to draw.
struct YAxis {
    label: fn(f64) -> String,
    width: usize,
    top: Option<f64>,
    floor: f64,
    empty: &'static str,
}

/// What a time chart draws: a line per endpoint in its colour, whether each point is marked
/// as well, the gap (in seconds) past which a line breaks, and series drawn as dots only.
struct Series<'a> {
    lines: Vec<(Style, &'a [(f64, f64)])>,
    points: bool,
    gap: Option<f64>,
    dots: Vec<(Style, &'a [(f64, f64)])>,
}

impl<'a> Series<'a> {
    fn new(per_endpoint: &'a [Vec<(f64, f64)>], lanes: &[Style], points: bool) -> Self {
        let lines = per_endpoint.iter().zip(lanes);
        Series {
            lines: lines.map(|(line, lane)| (*lane, line.as_slice())).collect(),
            points,
            gap: None,
            dots: Vec::new(),
        }
    }

    /// A second series per endpoint, in the same colours, drawn as dots.
    fn with_dots(self, per_endpoint: &'a [Vec<(f64, f64)>]) -> Self {
        let styles = self.lines.iter().map(|(style, _)| *style);
        let dots = styles.zip(per_endpoint).map(|(s, d)| (s, d.as_slice()));
        Series {
            dots: dots.collect(),
            ..self
        }
    }

    fn split_after(self, gap: f64) -> Self {
        Series {
            gap: Some(gap),
            ..self
        }
    }

    /// Each line cut where its points are further apart than the gap, in its colour.
    fn runs(&self) -> impl Iterator<Item = (Style, &'a [(f64, f64)])> + '_ {
        let joined = |a: &(f64, f64), b: &(f64, f64)| self.gap.is_none_or(|gap| b.0 - a.0 <= gap);
        (self.lines.iter())
            .flat_map(move |&(style, points)| points.chunk_by(joined).map(move |run| (style, run)))
    }
}

/// One time chart: every series in its colour, braille lines, y from zero.
fn time_chart<'a>(
    area: Rect,
    buf: &mut Buffer,
    scene: &Scene,
    title: &str,
    x: &TimeAxis,
    series: &Series<'a>,
    y: &YAxis,
) {
    let theme = scene.theme;
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Span::styled(title.to_string(), theme.title));
    let all = || series.lines.iter().chain(&series.dots);
    let top = all()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let drawn = all().any(|(_, points)| !points.is_empty());
    let top = match y.top {
        Some(top) if drawn => top / 1.1,
        _ if drawn => top.max(y.floor),
        _ => 0.0,
    };
    if top <= 0.0 {
        let inner = block.inner(area);
        block.render(area, buf);
        let middle = Rect::new(inner.x, inner.y + inner.height / 2, inner.width, 1);
        Paragraph::new(y.empty)
            .style(theme.dim)
            .centered()
            .render(middle, buf);
        return;
    }
    let ceiling = top * 1.1;
    let dataset = |(style, points): &(Style, &'a [(f64, f64)]), marker, graph_type| {
        Dataset::default()
            .marker(marker)
            .graph_type(graph_type)
            .style(*style)
            .data(points)
    };
    let mut datasets: Vec<Dataset> = (series.runs())
        .map(|l| dataset(&l, Marker::Braille, GraphType::Line))
        .collect();
    if series.points {
        // A whole cell per point, over the line, where points are a few cells apart; denser
        // ones would bury the line under dots.
        let sparse =
            |(_, points): &&(Style, &[(f64, f64)])| points.len() * 4 <= usize::from(area.width);
        let points = series.lines.iter().filter(sparse);
        datasets.extend(points.map(|l| dataset(l, Marker::Dot, GraphType::Scatter)));
    }
    let dots = series.dots.iter();
    datasets.extend(dots.map(|l| dataset(l, Marker::Dot, GraphType::Scatter)));
    let y_labels: Vec<Span> = [0.0, ceiling / 2.0, ceiling]
        .into_iter()
        .map(|v| Span::raw(format!("{:>w$}", (y.label)(v), w = y.width)))
        .collect();
    Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .style(theme.dim)
                .bounds([x.first, x.now])
                .labels(x.labels()),
        )
        .y_axis(
            Axis::default()
                .style(theme.dim)
                .bounds([0.0, ceiling])
                .labels(y_labels),
        )
        .render(area, buf);
}

/// One distribution per endpoint as a row on a shared linear axis from zero:
/// `├───███──┤ ·` — whiskers from min to p99, the box from p50 to p90, a dot at the max.
fn distribution(
    area: Rect,
    buf: &mut Buffer,
    scene: &Scene,
    title: &str,
    summaries: &[Option<&Summary>],
    lanes: &[Style],
) {
    let theme = scene.theme;
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Span::styled(title.to_string(), theme.title))
        .title_bottom(Line::styled(" ├─┤ min–p99 █ p50–p90 · max ", theme.dim));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 3 || inner.width < 20 {
        return;
    }
    let width = usize::from(inner.width);
    let names: Vec<&str> = scene
        .snapshot
        .endpoints
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    let name_width = names
        .iter()
        .map(|n| draw::width(n))
        .max()
        .unwrap_or(0)
        .min(width / 4);
    let p99_column = width >= 50;
    let values_width = if p99_column { 16 } else { 8 };
    let bar_width = width.saturating_sub(name_width + 1 + values_width + 1);
    // Up to the largest p99, so one outlier does not squash every box to a cell.
    let top = summaries
        .iter()
        .flatten()
        .map(|s| s.p99)
        .fold(0.0, f64::max)
        * 1.05;
    let scale = Scale {
        top,
        width: bar_width,
    };

    let rows = usize::from(inner.height) - 2;
    let hidden = summaries.len().saturating_sub(rows);
    let lead = if hidden > 0 {
        format!("+{hidden} more")
    } else {
        String::new()
    };
    let mut header = format!("{lead:<w$}", w = name_width + 1 + bar_width + 1);
    header.push_str("     p50");
    if p99_column {
        header.push_str("     p99");
    }
    buf.set_line(
        inner.x,
        inner.y,
        &Line::styled(header, theme.dim),
        inner.width,
    );

    let rows_y = (inner.y + 1..inner.bottom()).take(rows);
    for (((name, summary), lane), y) in names.iter().zip(summaries).zip(lanes).zip(rows_y) {
        let mut spans = vec![Span::styled(
            format!("{} ", draw::pad(&draw::fit(name, name_width), name_width)),
            theme.text,
        )];
        match summary {
            Some(summary) if top > 0.0 => {
                spans.extend(scale.bar(summary, *lane, theme.dim));
                spans.push(Span::styled(
                    format!(" {:>8}", ms(Some(summary.p50))),
                    theme.text,
                ));
                if p99_column {
                    spans.push(Span::styled(
                        format!("{:>8}", ms(Some(summary.p99))),
                        theme.text,
                    ));
                }
            }
            _ => spans.push(Span::styled("no requests ended yet", theme.dim)),
        }
        buf.set_line(inner.x, y, &Line::from(spans), inner.width);
    }

    // The axis under the bars: zero, the middle, the top.
    let axis_y = inner.y + inner.height - 1;
    let bar_x = inner.x + u16::try_from(name_width + 1).unwrap_or(0);
    if top > 0.0 && bar_width >= 12 {
        let labels = [ms_label(0.0), ms(Some(top / 2.0)), ms(Some(top))];
        let bar = u16::try_from(bar_width).unwrap_or(0);
        let middle = draw::text_width(&labels[1]) / 2;
        buf.set_string(bar_x, axis_y, &labels[0], theme.dim);
        buf.set_string(
            bar_x + bar / 2 - middle.min(bar / 2),
            axis_y,
            &labels[1],
            theme.dim,
        );
        let end = draw::text_width(&labels[2]);
        buf.set_string(
            bar_x + bar.saturating_sub(end),
            axis_y,
            &labels[2],
            theme.dim,
        );
    }
}

/// Maps milliseconds to columns of a bar.
struct Scale {
    top: f64,
    width: usize,
}

impl Scale {
    fn column(&self, value: f64) -> usize {
        let last = self.width.saturating_sub(1);
        let column = draw::whole(value / self.top * self.width as f64);
        usize::try_from(column).unwrap_or(usize::MAX).min(last)
    }

    fn bar(&self, s: &Summary, lane: Style, dim: Style) -> Vec<Span<'static>> {
        let (min, p50, p90, p99) = (
            self.column(s.min),
            self.column(s.p50),
            self.column(s.p90),
            self.column(s.p99),
        );
        let max = self.column(s.max);
        let mut cells: Vec<(char, Style)> = vec![(' ', dim); self.width];
        for (column, cell) in cells.iter_mut().enumerate() {
            if column == max && max > p99 {
                *cell = ('·', lane);
            }
            if (min..=p99).contains(&column) {
                *cell = ('─', lane);
            }
        }
        if let Some(cell) = cells.get_mut(min) {
            *cell = ('├', lane);
        }
        if let Some(cell) = cells.get_mut(p99) {
            *cell = ('┤', lane);
        }
        for cell in cells.iter_mut().take(p90 + 1).skip(p50) {
            *cell = ('█', lane);
        }
        let mut spans: Vec<Span<'static>> = Vec::new();
        for (c, style) in cells {
            match spans.last_mut() {
                Some(last) if last.style == style => last.content.to_mut().push(c),
                _ => spans.push(Span::styled(c.to_string(), style)),
            }
        }
        spans
    }
}

#[cfg(test)]
mod tests;
