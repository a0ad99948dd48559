//! One endpoint's lane on the race board: who it is, how it is doing (health, progress, in
//! flight), its latency percentiles, rates, errors and its last minutes as sparklines — drawn at
//! the density the board can afford, under a column header shared by all lanes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Widget;

use crate::format::{ms, percent, rate, usd};
use crate::stats::distribution::Summary;
use crate::stats::{Cost, EndpointSnapshot, Health};
use crate::tui::draw::{Align, Pen, bar, fit, text_width};
use crate::tui::{LaneInfo, Theme};

mod embeddings;
mod server;
mod sparks;

use sparks::spark_width;
pub use sparks::{Scale, spark};

/// How many rows a lane gets: the board picks the richest one that lets every lane fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Density {
    /// Title, then TTFB, TTFT, TTLT, TPOT and ITL percentiles beside rates, two-row
    /// sparklines and errors.
    Tall,
    /// Title, then TTFT, TTLT and TPOT beside rates, one-row sparklines and errors.
    Full,
    /// Title, then one row of the headline numbers.
    Compact,
    /// One row per endpoint: the last resort of a crowded or short terminal.
    Line,
    /// Tall, with sparklines this many rows high (more than Tall's two): a tall terminal's.
    Tower(u16),
}

impl Density {
    pub fn rows(self) -> u16 {
        match self {
            Density::Tall => 6,
            Density::Full => 4,
            Density::Compact => 2,
            Density::Line => 1,
            Density::Tower(spark_rows) => spark_rows.saturating_mul(2).saturating_add(2),
        }
    }
}

pub struct Lane<'a> {
    /// Position in the race (0-based); shown 1-based, as the `1`–`9` keys select it.
    pub index: usize,
    pub info: Option<&'a LaneInfo>,
    pub endpoint: &'a EndpointSnapshot,
    /// What the race has cost at this endpoint so far; `None` when it has no price.
    pub cost: Option<&'a Cost>,
    pub theme: &'a Theme,
    /// The lane's own colour.
    pub color: Style,
    pub selected: bool,
    pub finished: bool,
    /// Requests per endpoint the race stops at.
    pub target: Option<u64>,
    pub density: Density,
    pub scale: Scale,
    /// Width given to names in `Line` density, so the columns after them line up.
    pub name_width: u16,
}

// Column offsets from the start of a lane's content (after the colour bar and marker). The
// header and every lane use the same ones, so the board reads like a table.
const CONTENT: u16 = 2;
const LATENCY: [u16; 3] = [4, 13, 22];
const VALUE: u16 = 9;
const RATES: u16 = 33;
const RATE_LABEL: u16 = 8;
const RATE_VALUE: u16 = 7;
const RIGHT: u16 = 50;
const SPARK_LABEL: u16 = 6;
/// Badge width: the longest badge, so progress and badges line up from lane to lane.
const BADGE: u16 = 12;
/// Compact row: (offset, width, header). Values sit right-aligned under their header, except
/// the last (errors), which takes what is left.
const COMPACT: [(u16, u16, &str); 8] = [
    (0, 8, "TTFT p50"),
    (8, 8, "p99"),
    (18, 8, "TTLT p50"),
    (28, 8, "TPOT p50"),
    (38, 7, "tok/s"),
    (45, 7, "RPM"),
    (52, 7, "ok"),
    (61, 0, "errors"),
];
/// Line row, after the name: (offset, width, header).
const LINE: [(u16, u16, &str); 6] = [
    (0, BADGE, "health"),
    (12, 9, "TTFT p50"),
    (21, 9, "TTLT p50"),
    (30, 7, "tok/s"),
    (37, 7, "ok"),
    (46, 0, "done"),
];

/// The health badge's text and look.
pub fn badge(health: Health, theme: &Theme) -> (&'static str, Style) {
    match health {
        Health::WarmingUp => ("● warming up", theme.dim),
        Health::Healthy => ("● healthy", theme.good),
        Health::Degraded => ("● degraded", theme.warn),
        Health::Failing => ("● failing", theme.bad),
    }
}

/// Errors as `3 errors: rate_limited 2, server_error 1` (the most frequent classes first, at
/// most `max_classes`), then `↻2` when failed attempts were retried, as the headless line
/// shows them: a retry hides nothing.
pub fn errors_text(e: &EndpointSnapshot, max_classes: usize) -> String {
    let text = failures_text(e, max_classes);
    if e.counts.retries > 0 {
        format!("{text} ↻{}", e.counts.retries)
    } else {
        text
    }
}

fn failures_text(e: &EndpointSnapshot, max_classes: usize) -> String {
    if e.counts.failed == 0 {
        return "no errors".to_string();
    }
    let mut classes: Vec<_> = e.errors.iter().collect();
    // Stable: equal counts keep the class order, so the text does not flicker.
    classes.sort_by(|a, b| b.1.cmp(a.1));
    let top: Vec<String> = classes
        .iter()
        .take(max_classes)
        .map(|(class, n)| format!("{} {n}", class.name()))
        .collect();
    let noun = if e.counts.failed == 1 {
        "error"
    } else {
        "errors"
    };
    if top.is_empty() {
        format!("{} {noun}", e.counts.failed)
    } else {
        format!("{} {noun}: {}", e.counts.failed, top.join(", "))
    }
}

/// A count in a few characters: `950`, `12.3k`, `4.56M`.
fn count(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}

/// Draws the column header above the lanes; `area` is one row. `race`: how long the race has
/// run, so the sparklines' span is not said to be longer than the race.
pub fn header(
    area: Rect,
    buf: &mut Buffer,
    density: Density,
    name_width: u16,
    race: std::time::Duration,
    theme: &Theme,
) {
    let mut pen = Pen::new(buf, area);
    let x0 = area.x + CONTENT;
    let y = area.y;
    let style = theme.dim;
    match density {
        Density::Tall | Density::Full | Density::Tower(_) => {
            for (x, label) in LATENCY.iter().zip(["p50", "p90", "p99"]) {
                pen.right(x0 + x, y, VALUE, label, style);
            }
            let ran = u16::try_from(race.as_secs() + 1).unwrap_or(u16::MAX);
            let label = format!("last {} s", spark_width(area.width).min(ran));
            pen.left(x0 + RIGHT + SPARK_LABEL, y, area.width, &label, style);
        }
        Density::Compact => {
            for (x, width, label) in COMPACT {
                let (width, align) = if width == 0 {
                    (area.width, Align::Left)
                } else {
                    (width, Align::Right)
                };
                pen.put(x0 + x, y, width, label, style, align);
            }
        }
        Density::Line => {
            let xs = x0 + 3 + name_width + 2;
            for (x, width, label) in LINE {
                let (width, align) = line_cell(x, width, area.width);
                pen.put(xs + x, y, width, label, style, align);
            }
        }
    }
}

/// A `Line` cell's width and alignment: the badge (first) and the last cell (open-ended) read
/// left to right, numbers line up on the right.
fn line_cell(x: u16, width: u16, rest: u16) -> (u16, Align) {
    match (x, width) {
        (_, 0) => (rest, Align::Left),
        (0, w) => (w, Align::Left),
        (_, w) => (w, Align::Right),
    }
}

impl Lane<'_> {
    fn ended(&self) -> u64 {
        self.endpoint.counts.requests_done()
    }

    /// Output tokens/s: the live rate while the race runs, the race-long one at the end.
    fn tokens_per_s(&self) -> String {
        let r = &self.endpoint.rates;
        if self.endpoint.counts.succeeded == 0 && r.live_output_tokens_per_s == 0.0 {
            return "—".to_string();
        }
        rate(if self.finished {
            r.output_tokens_per_s
        } else {
            r.live_output_tokens_per_s
        })
    }

    fn success(&self) -> String {
        let c = &self.endpoint.counts;
        if c.succeeded + c.failed == 0 {
            "—".to_string()
        } else {
            percent(self.endpoint.rates.success_rate)
        }
    }

    fn rpm(&self) -> String {
        if self.endpoint.counts.succeeded == 0 {
            "—".to_string()
        } else {
            rate(self.endpoint.rates.requests_per_min)
        }
    }

    fn progress(&self, with_bar: bool) -> String {
        match self.target {
            Some(target) if with_bar => {
                let fraction = if target == 0 {
                    1.0
                } else {
                    self.ended() as f64 / target as f64
                };
                format!("{}/{target} {}", self.ended(), bar(fraction, 6))
            }
            Some(target) => format!("{}/{target}", self.ended()),
            None => format!("{} done", self.ended()),
        }
    }

    fn error_style(&self) -> Style {
        if self.endpoint.counts.failed > 0 {
            self.theme.warn
        } else {
            self.theme.dim
        }
    }

    /// `1 name (simulated)  model · protocol` and, at the right, in flight, progress and the
    /// health badge. The model gives way first when the row is short.
    fn title(&self, pen: &mut Pen) {
        let area = pen.clip;
        let (x0, y) = (area.x + CONTENT, area.y);
        let (badge, badge_style) = badge(self.endpoint.health, self.theme);
        let mut right = Vec::new();
        let in_flight = self.endpoint.counts.in_flight;
        if !self.finished && in_flight > 0 {
            right.push((format!("{in_flight} in flight"), self.theme.dim, 0));
        }
        // Head-to-head laps won by first token, of the laps judged so far.
        if self.endpoint.laps > 0 {
            let wins = format!(
                "wins {}/{}",
                self.endpoint.wins_first_token, self.endpoint.laps
            );
            right.push((wins, self.theme.text, 0));
        }
        // The share of input tokens the server's prompt cache answered, once it said any.
        if let Some(hit) = self.endpoint.tokens.cache_hit_rate() {
            right.push((format!("cache {}", percent(hit)), self.theme.text, 0));
        }
        // What the race has cost at this endpoint so far, when it has a price.
        if let Some(cost) = self.cost {
            let spent = usd(cost.total_usd);
            right.push((spent, self.theme.text, 0));
        }
        if let Some(m) = &self.endpoint.embeddings {
            right.push((Self::embeddings_title(m), self.theme.text, 0));
        }
        right.push((self.progress(true), self.color, 0));
        right.push((badge.to_string(), badge_style, BADGE));
        let total: u16 = right
            .iter()
            .map(|(text, _, width)| text_width(text).max(*width) + 2)
            .sum();
        // The server's queue, batch and KV use, where a Tall lane has no row for them, when
        // the endpoint's name keeps its whole width.
        let (right, total) = server::in_title(self, right, total, area.width);
        let right_x = area.right().saturating_sub(total - 1).max(x0);
        let mut x = right_x;
        for (text, style, width) in &right {
            let width = text_width(text).max(*width);
            pen.left(x, y, width, text, *style);
            x += width + 2;
        }

        let room = right_x.saturating_sub(x0 + 2);
        let number = format!("{} ", self.index + 1);
        pen.left(x0, y, room, &number, self.theme.dim);
        let mut x = x0 + text_width(&number);
        let name = fit(&self.endpoint.name, usize::from(room.saturating_sub(2)));
        let name_style = self.color.add_modifier(Modifier::BOLD);
        pen.left(x, y, text_width(&name), &name, name_style);
        x += text_width(&name);
        let Some(info) = self.info else { return };
        let mut room = usize::from(right_x.saturating_sub(x + 2));
        if info.simulated && room >= 12 {
            pen.left(x, y, 12, " (simulated)", self.theme.dim);
            x += 12;
            room -= 12;
        }
        // `model · protocol`, or the protocol alone when the model would be cut to nothing.
        let protocol = info.protocol.as_str();
        let protocol_width = usize::from(text_width(protocol));
        let about = match room.checked_sub(protocol_width + 5) {
            Some(model_room) if model_room >= 6 => {
                format!("{} · {protocol}", fit(&info.model, model_room))
            }
            _ if room >= protocol_width + 2 => protocol.to_string(),
            _ => return,
        };
        pen.left(x + 2, y, text_width(&about), &about, self.theme.dim);
    }

    /// Percentile rows of the Tall and Full lanes.
    fn latency(&self, rows: &[(&str, Option<Summary>)], pen: &mut Pen) {
        let area = pen.clip;
        let x0 = area.x + CONTENT;
        for (y, (label, summary)) in (area.y + 1..).zip(rows) {
            pen.left(x0, y, 4, label, self.theme.title);
            let values = [
                summary.map(|s| s.p50),
                summary.map(|s| s.p90),
                summary.map(|s| s.p99),
            ];
            for (x, v) in LATENCY.iter().zip(values) {
                pen.right(x0 + x, y, VALUE, &ms(v), self.theme.text);
            }
        }
    }

    fn rates(&self, rows: &[(&str, String)], pen: &mut Pen) {
        let area = pen.clip;
        let x = area.x + CONTENT + RATES;
        for (y, (label, value)) in (area.y + 1..).zip(rows) {
            let style = if *label == "ok" && self.endpoint.counts.failed > 0 {
                self.theme.warn
            } else {
                self.theme.text
            };
            pen.left(x, y, RATE_LABEL, label, self.theme.dim);
            pen.right(x + RATE_LABEL, y, RATE_VALUE, value, style);
        }
    }

    /// The Tall lane, with sparklines `spark_rows` high (2, or a Tower's more).
    fn tall(&self, spark_rows: u16, pen: &mut Pen) {
        if let Some(m) = &self.endpoint.embeddings {
            return self.embeddings_tall(m, spark_rows, pen);
        }
        let l = &self.endpoint.latency;
        let latency = [
            ("TTFB", l.ttfb_ms),
            ("TTFT", l.ttft_ms),
            ("TTLT", l.ttlt_ms),
            ("TPOT", l.tpot_ms),
            ("ITL", l.itl_ms),
        ];
        self.latency(&latency, pen);
        let rates = [
            ("tok/s", self.tokens_per_s()),
            ("RPM", self.rpm()),
            ("ok", self.success()),
            ("tokens", count(self.endpoint.tokens.output)),
            ("new conn", count(self.endpoint.counts.new_connections)),
        ];
        self.rates(&rates, pen);
        self.sparks(spark_rows, pen);
    }

    fn full(&self, pen: &mut Pen) {
        if let Some(m) = &self.endpoint.embeddings {
            return self.embeddings_full(m, pen);
        }
        let l = &self.endpoint.latency;
        let latency = [
            ("TTFT", l.ttft_ms),
            ("TTLT", l.ttlt_ms),
            ("TPOT", l.tpot_ms),
        ];
        self.latency(&latency, pen);
        let rates = [
            ("tok/s", self.tokens_per_s()),
            ("RPM", self.rpm()),
            ("ok", self.success()),
        ];
        self.rates(&rates, pen);
        self.sparks(1, pen);
    }

    fn compact(&self, pen: &mut Pen) {
        let area = pen.clip;
        let (x0, y) = (area.x + CONTENT, area.y + 1);
        let l = &self.endpoint.latency;
        let mut values = [
            ms(l.ttft_ms.map(|s| s.p50)),
            ms(l.ttft_ms.map(|s| s.p99)),
            ms(l.ttlt_ms.map(|s| s.p50)),
            ms(l.tpot_ms.map(|s| s.p50)),
            self.tokens_per_s(),
            self.rpm(),
            self.success(),
        ];
        let mut errors = errors_text(self.endpoint, 1);
        self.embeddings_compact(&mut values, &mut errors);
        for ((x, width, _), value) in COMPACT.iter().zip(values) {
            pen.right(x0 + x, y, *width, &value, self.theme.text);
        }
        let (x, _, _) = COMPACT[COMPACT.len() - 1];
        let width = area.right().saturating_sub(x0 + x);
        let errors = fit(&errors, usize::from(width));
        pen.left(x0 + x, y, width, &errors, self.error_style());
    }

    fn line(&self, pen: &mut Pen) {
        let area = pen.clip;
        let (x0, y) = (area.x + CONTENT, area.y);
        let number = format!("{}", self.index + 1);
        pen.left(x0, y, 3, &number, self.theme.dim);
        let name = fit(&self.endpoint.name, usize::from(self.name_width));
        let name_style = self.color.add_modifier(Modifier::BOLD);
        pen.left(x0 + 3, y, self.name_width, &name, name_style);
        let xs = x0 + 3 + self.name_width + 2;
        let (badge, badge_style) = badge(self.endpoint.health, self.theme);
        let l = &self.endpoint.latency;
        let mut cells = [
            (badge.to_string(), badge_style),
            (ms(l.ttft_ms.map(|s| s.p50)), self.theme.text),
            (ms(l.ttlt_ms.map(|s| s.p50)), self.theme.text),
            (self.tokens_per_s(), self.theme.text),
            (self.success(), self.theme.text),
            (self.progress(false), self.color),
        ];
        self.embeddings_line(&mut cells);
        for ((x, width, _), (text, style)) in LINE.iter().zip(cells) {
            let (width, align) = line_cell(*x, *width, area.width);
            pen.put(xs + x, y, width, &text, style, align);
        }
    }
}

impl Widget for &Lane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let pen = &mut Pen::new(buf, area);
        for y in area.top()..area.bottom() {
            pen.left(area.x, y, 1, "▌", self.color);
        }
        if self.selected {
            pen.left(area.x + 1, area.y, 1, "▶", self.color);
        }
        match self.density {
            Density::Tall => {
                self.title(pen);
                self.tall(2, pen);
            }
            Density::Tower(spark_rows) => {
                self.title(pen);
                self.tall(spark_rows, pen);
            }
            Density::Full => {
                self.title(pen);
                self.full(pen);
            }
            Density::Compact => {
                self.title(pen);
                self.compact(pen);
            }
            Density::Line => self.line(pen),
        }
        if self.selected {
            pen.buf.set_style(area, self.theme.selected);
        }
    }
}

#[cfg(test)]
mod tests;
