//! The leaderboard: endpoints ranked by the metric the user chose (`s` cycles), with each
//! one's move since the previous order and the leader picked out.

use std::cmp::Ordering;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Widget};

use super::board::lane_color;
use super::draw::{Pen, fit, text_width};
use super::{Rank, Scene};
use crate::config::Price;
use crate::report::cost::{cost, usd_short};
use crate::report::format::{ms, percent, rate};
use crate::stats::{EndpointSnapshot, Snapshot};

/// The value `rank` orders by, `None` while the endpoint has none. `price` is the endpoint's,
/// for ranking by cost.
pub fn value(endpoint: &EndpointSnapshot, rank: Rank, price: Option<&Price>) -> Option<f64> {
    let value = match rank {
        Rank::TtftP50 => endpoint.latency.ttft_ms.map(|s| s.p50),
        Rank::TtltP50 => endpoint.latency.ttlt_ms.map(|s| s.p50),
        // The race-long rate, not the live one: places should not swap on a burst.
        Rank::OutputTokensPerS => {
            (endpoint.counts.succeeded > 0).then_some(endpoint.rates.output_tokens_per_s)
        }
        // The rate reads 1 before anything ended: that is no data, not a perfect score.
        Rank::SuccessRate => (endpoint.counts.succeeded + endpoint.counts.failed > 0)
            .then_some(endpoint.rates.success_rate),
        // An unpriced endpoint has no cost to compare: it comes last, not first.
        Rank::Cost => price.and_then(|p| cost(endpoint, p).per_1k_requests_usd),
    };
    value.filter(|v| v.is_finite())
}

/// `value` written for people, `—` when absent.
pub fn show(rank: Rank, value: Option<f64>) -> String {
    match rank {
        Rank::TtftP50 | Rank::TtltP50 => ms(value),
        Rank::OutputTokensPerS => value.map_or_else(|| "—".to_string(), rate),
        Rank::SuccessRate => value.map_or_else(|| "—".to_string(), percent),
        Rank::Cost => value.map_or_else(|| "—".to_string(), usd_short),
    }
}

fn lower_is_better(rank: Rank) -> bool {
    matches!(rank, Rank::TtftP50 | Rank::TtltP50 | Rank::Cost)
}

/// Better first under `rank`; endpoints without a value come last.
pub fn compare(a: Option<f64>, b: Option<f64>, rank: Rank) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if lower_is_better(rank) => a.total_cmp(&b),
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The price of the endpoint at `index` in `prices` (lane order), if it has one.
pub fn price_of(prices: &[Option<Price>], index: usize) -> Option<&Price> {
    prices.get(index).and_then(Option::as_ref)
}

/// Endpoint indices, leader first. Ties and endpoints without data keep the race's endpoint
/// order (the sort is stable), so equal endpoints never swap places from frame to frame.
/// `prices` are the endpoints' prices in lane order (only ranking by cost reads them).
pub fn order(snapshot: &Snapshot, rank: Rank, prices: &[Option<Price>]) -> Vec<usize> {
    let values: Vec<Option<f64>> = (snapshot.endpoints.iter().enumerate())
        .map(|(i, e)| value(e, rank, price_of(prices, i)))
        .collect();
    let mut indices: Vec<usize> = (0..values.len()).collect();
    indices.sort_by(|&a, &b| compare(values[a], values[b], rank));
    indices
}

/// Rows the leaderboard needs for `endpoints` (borders and column header included).
pub fn height(endpoints: usize) -> u16 {
    u16::try_from(endpoints)
        .unwrap_or(u16::MAX)
        .saturating_add(3)
}

/// `▲2` when the endpoint climbed two places since `previous`, `▼1` when it fell one.
fn movement(previous: &[usize], endpoint: usize, now: usize) -> Option<(bool, usize)> {
    let before = previous.iter().position(|&e| e == endpoint)?;
    match before.cmp(&now) {
        Ordering::Greater => Some((true, before - now)),
        Ordering::Less => Some((false, now - before)),
        Ordering::Equal => None,
    }
}

/// Width of a metric column.
const METRIC: u16 = 10;
/// Longest name the table makes room for when it shows every metric.
const NAME_MAX: u16 = 24;

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let theme = scene.theme;
    let rank = scene.view.rank;
    let title = Line::styled(format!(" Leaderboard · {} ", rank.label()), theme.title);
    let block = Block::bordered()
        .border_style(theme.border)
        .title(title)
        .title_bottom(Line::styled(" s: next metric ", theme.dim).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.is_empty() {
        return;
    }
    let pen = &mut Pen::new(buf, inner);
    let endpoints = &scene.snapshot.endpoints;
    let names = endpoints
        .iter()
        .map(|e| text_width(&e.name))
        .max()
        .unwrap_or(0);
    // `  1 ▲2 ● name`: place, move, lane colour, name.
    let name_x = inner.x + 9;
    let used = name_x - inner.x + 1;
    let prices = scene.info.prices();
    let available = Rank::available(scene.info.priced());
    let columns = u16::try_from(available.len()).unwrap_or(4);
    let all = inner.width >= used + names.min(NAME_MAX) + 2 + METRIC * columns;
    let metrics: Vec<Rank> = if all { available.to_vec() } else { vec![rank] };
    let metrics_width = METRIC * u16::try_from(metrics.len()).unwrap_or(1);
    let room = inner.width.saturating_sub(used + metrics_width);
    // Every metric: a table as narrow as its names. One metric: the value at the right edge.
    let name_width = if all {
        (names + 2).clamp(10, NAME_MAX + 2).min(room)
    } else {
        room
    };
    let metrics_x = name_x + name_width;

    let order = order(scene.snapshot, rank, &prices);
    let mut rows = inner.y..inner.bottom();
    // The column header goes first when there is room for it and every endpoint.
    if usize::from(inner.height) > order.len() {
        let y = inner.y;
        rows.next();
        pen.right(inner.x + 1, y, 2, "#", theme.dim);
        pen.left(name_x, y, name_width, "endpoint", theme.dim);
        for (i, m) in (0u16..).zip(&metrics) {
            let style = if *m == rank { theme.title } else { theme.dim };
            let label = short_label(*m);
            pen.right(metrics_x + i * METRIC, y, METRIC, label, style);
        }
    }
    let shown = if rows.len() < order.len() {
        rows.len().saturating_sub(1)
    } else {
        order.len()
    };
    for (place, (y, &index)) in rows.clone().zip(&order[..shown]).enumerate() {
        let Some(endpoint) = endpoints.get(index) else {
            continue;
        };
        let price = price_of(&prices, index);
        let has_value = value(endpoint, rank, price).is_some();
        let style = match (place, has_value) {
            (0, true) => theme.leader,
            (_, true) => theme.text,
            (_, false) => theme.dim,
        };
        let place_text = (place + 1).to_string();
        pen.right(inner.x + 1, y, 2, &place_text, style);
        // An endpoint without data has no place to have moved from or to.
        let moved = movement(&scene.view.previous_order, index, place).filter(|_| has_value);
        if let Some((up, by)) = moved {
            let (arrow, arrow_style) = if up {
                ("▲", theme.good)
            } else {
                ("▼", theme.warn)
            };
            let text = format!("{arrow}{by}");
            pen.left(inner.x + 4, y, 3, &text, arrow_style);
        }
        pen.left(name_x - 2, y, 1, "●", lane_color(scene, index));
        let name = fit(&endpoint.name, usize::from(name_width.saturating_sub(1)));
        pen.left(name_x, y, name_width, &name, style);
        for (i, m) in (0u16..).zip(&metrics) {
            let text = show(*m, value(endpoint, *m, price));
            let cell_style = if *m == rank { style } else { theme.text };
            let x = metrics_x + i * METRIC;
            pen.right(x, y, METRIC, &text, cell_style);
        }
    }
    if shown < order.len()
        && let Some(y) = rows.nth(shown)
    {
        let more = format!("… {} more", order.len() - shown);
        pen.left(name_x, y, name_width, &more, theme.dim);
    }
}

/// Column headers short enough for a 10-cell column.
fn short_label(rank: Rank) -> &'static str {
    match rank {
        Rank::TtftP50 => "TTFT p50",
        Rank::OutputTokensPerS => "tok/s",
        Rank::TtltP50 => "TTLT p50",
        Rank::SuccessRate => "ok",
        Rank::Cost => "$/1k req",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Offset;
    use crate::stats::distribution::Summary;
    use crate::stats::snapshot::{Counts, Health, Latency, Rates, Tokens};

    fn summary(p50: f64) -> Summary {
        Summary {
            count: 10,
            min: p50,
            mean: p50,
            p50,
            p90: p50,
            p95: p50,
            p99: p50,
            max: p50,
        }
    }

    /// An endpoint with `ttft` p50 (or none), `tps` tokens/s and `ok`/`failed` requests.
    fn endpoint(name: &str, ttft: Option<f64>, tps: f64, ok: u64, failed: u64) -> EndpointSnapshot {
        EndpointSnapshot {
            name: name.to_string(),
            counts: Counts {
                sent: ok + failed,
                succeeded: ok,
                failed,
                ..Counts::default()
            },
            errors: Default::default(),
            latency: Latency {
                ttft_ms: ttft.map(summary),
                ttlt_ms: ttft.map(|t| summary(t * 10.0)),
                ..Latency::default()
            },
            tokens: Tokens::default(),
            rates: Rates {
                output_tokens_per_s: tps,
                success_rate: if ok + failed == 0 {
                    1.0
                } else {
                    ok as f64 / (ok + failed) as f64
                },
                ..Rates::default()
            },
            recent_seconds: Vec::new(),
            requests: Vec::new(),
            health: Health::default(),
            wins_first_token: 0,
            wins_first_finished: 0,
            laps: 0,
        }
    }

    fn snapshot(endpoints: Vec<EndpointSnapshot>) -> Snapshot {
        Snapshot {
            playback: None,
            t: Offset::ZERO,
            finished: false,
            endpoints,
        }
    }

    #[test]
    fn lower_latency_and_higher_throughput_lead() {
        let s = snapshot(vec![
            endpoint("a", Some(300.0), 50.0, 10, 0),
            endpoint("b", Some(100.0), 20.0, 10, 0),
            endpoint("c", Some(200.0), 90.0, 5, 5),
        ]);
        assert_eq!(order(&s, Rank::TtftP50, &[]), vec![1, 2, 0]);
        assert_eq!(order(&s, Rank::TtltP50, &[]), vec![1, 2, 0]);
        assert_eq!(order(&s, Rank::OutputTokensPerS, &[]), vec![2, 0, 1]);
        assert_eq!(order(&s, Rank::SuccessRate, &[]), vec![0, 1, 2]);
    }

    #[test]
    fn ties_keep_the_race_order() {
        let s = snapshot(vec![
            endpoint("a", Some(200.0), 50.0, 10, 0),
            endpoint("b", Some(100.0), 50.0, 10, 0),
            endpoint("c", Some(100.0), 50.0, 10, 0),
        ]);
        assert_eq!(order(&s, Rank::TtftP50, &[]), vec![1, 2, 0]);
        assert_eq!(order(&s, Rank::OutputTokensPerS, &[]), vec![0, 1, 2]);
        assert_eq!(order(&s, Rank::SuccessRate, &[]), vec![0, 1, 2]);
    }

    #[test]
    fn endpoints_without_data_come_last() {
        let s = snapshot(vec![
            // Nothing ended yet: success rate reads 1 but is no data.
            endpoint("idle", None, 0.0, 0, 0),
            // Everything failed: no latency, no throughput, but a (bad) success rate.
            endpoint("failing", None, 0.0, 0, 4),
            endpoint("slow", Some(900.0), 5.0, 3, 1),
        ]);
        assert_eq!(order(&s, Rank::TtftP50, &[]), vec![2, 0, 1]);
        assert_eq!(order(&s, Rank::OutputTokensPerS, &[]), vec![2, 0, 1]);
        assert_eq!(order(&s, Rank::SuccessRate, &[]), vec![2, 1, 0]);
        assert_eq!(value(&s.endpoints[0], Rank::SuccessRate, None), None);
        assert_eq!(value(&s.endpoints[1], Rank::SuccessRate, None), Some(0.0));
    }

    #[test]
    fn not_a_number_counts_as_missing() {
        let s = snapshot(vec![
            endpoint("nan", Some(f64::NAN), 1.0, 1, 0),
            endpoint("ok", Some(500.0), 1.0, 1, 0),
        ]);
        assert_eq!(order(&s, Rank::TtftP50, &[]), vec![1, 0]);
    }

    #[test]
    fn cost_ranks_cheapest_first_and_unpriced_last() {
        let mut cheap = endpoint("cheap", Some(100.0), 1.0, 10, 0);
        cheap.tokens.output = 1000;
        let mut dear = endpoint("dear", Some(100.0), 1.0, 10, 0);
        dear.tokens.output = 1000;
        let unpriced = endpoint("free?", Some(100.0), 1.0, 10, 0);
        let s = snapshot(vec![dear, unpriced, cheap]);
        let price = |output| Price {
            input: 1.0,
            cached_input: None,
            cache_write: None,
            output,
        };
        let prices = [Some(price(10.0)), None, Some(price(1.0))];
        assert_eq!(order(&s, Rank::Cost, &prices), vec![2, 0, 1]);
        // 1000 output tokens at $1/M over 10 requests: $0.001 per request, $0.10 per 1000.
        let per_1k = value(&s.endpoints[2], Rank::Cost, prices[2].as_ref());
        assert_eq!(show(Rank::Cost, per_1k), "$0.1000");
        assert_eq!(value(&s.endpoints[1], Rank::Cost, None), None);
    }

    #[test]
    fn moves_against_the_previous_order() {
        let previous = [2, 0, 1];
        assert_eq!(movement(&previous, 1, 0), Some((true, 2)));
        assert_eq!(movement(&previous, 2, 1), Some((false, 1)));
        assert_eq!(movement(&previous, 0, 1), None);
        assert_eq!(movement(&[], 0, 0), None);
        assert_eq!(show(Rank::SuccessRate, None), "—");
        assert_eq!(show(Rank::TtftP50, Some(212.0)), "212 ms");
    }
}
