//! The HTML report's charts, computed from the per-request records: latency CDFs per endpoint,
//! TTFT and output tokens/s over the race, headline bars and the error breakdown.

use std::collections::BTreeMap;

use crate::convert::saturating_u64;
use crate::event::ErrorClass;
use crate::format::{ms, percent, rate};
use crate::replay::Run;
use crate::report::svg::{self, Bar, LineChart, Series, Stack};
use crate::stats::{Outcome, RequestRecord};

/// Most points a CDF line is drawn with: beyond it, evenly spaced quantiles stand in.
const CDF_POINTS: usize = 400;
/// Most buckets a time chart has: longer races get wider buckets.
const TIME_BUCKETS: f64 = 600.0;

/// The measured (not warm-up) requests of each endpoint, in endpoint order.
pub fn by_endpoint(run: &Run) -> Vec<Vec<&RequestRecord>> {
    let names = run.endpoint_names();
    let mut out = vec![Vec::new(); names.len()];
    for r in run.requests.iter().filter(|r| !r.warmup) {
        let index = names
            .iter()
            .position(|n| *n == r.endpoint_name)
            .or_else(|| Some(usize::from(r.endpoint.0)).filter(|i| *i < names.len()));
        if let Some(i) = index {
            out[i].push(r);
        }
    }
    out
}

/// The CDF of one latency (`pick`) per endpoint, over succeeded requests.
pub fn cdf(
    run: &Run,
    requests: &[Vec<&RequestRecord>],
    title: &str,
    pick: fn(&RequestRecord) -> Option<f64>,
) -> String {
    let values: Vec<Vec<f64>> = (requests.iter())
        .map(|rs| {
            let mut values: Vec<f64> = rs
                .iter()
                .filter(|r| r.outcome == Outcome::Succeeded)
                .filter_map(|r| pick(r))
                .filter(|v| v.is_finite())
                .collect();
            values.sort_by(f64::total_cmp);
            values
        })
        .collect();
    let largest = values
        .iter()
        .filter_map(|v| v.last())
        .fold(0.0, |a: f64, b| a.max(*b));
    let unit = DurationUnit::for_up_to(largest);
    let series = (run.summary.endpoints.iter())
        .zip(&values)
        .enumerate()
        .map(|(i, (e, values))| Series {
            name: &e.name,
            color: svg::color(i),
            points: (cdf_points(values).into_iter())
                .map(|(x, y)| (unit.of(x), y))
                .collect(),
        })
        .collect();
    LineChart {
        title,
        x_label: unit.name,
        y_label: "share of requests",
        series,
        steps: true,
        y_max: Some(1.0),
    }
    .render()
}

/// The unit a chart's duration axis counts in: milliseconds, or seconds once the axis would
/// run into five digits of milliseconds.
struct DurationUnit {
    per_ms: f64,
    name: &'static str,
    short: &'static str,
}

impl DurationUnit {
    fn for_up_to(largest_ms: f64) -> Self {
        if largest_ms >= 10_000.0 {
            DurationUnit {
                per_ms: 0.001,
                name: "seconds",
                short: "s",
            }
        } else {
            DurationUnit {
                per_ms: 1.0,
                name: "milliseconds",
                short: "ms",
            }
        }
    }

    fn of(&self, ms: f64) -> f64 {
        ms * self.per_ms
    }
}

/// The points of the empirical CDF of sorted `values`, at most [`CDF_POINTS`] of them.
pub fn cdf_points(values: &[f64]) -> Vec<(f64, f64)> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let take = n.min(CDF_POINTS);
    let mut points = vec![(values[0], 0.0)];
    for k in 1..=take {
        let index = (k * n).div_ceil(take) - 1;
        points.push((values[index], (index + 1) as f64 / n as f64));
    }
    points
}

/// The width of the time charts' buckets for a race of `duration_s`: 1 s, wider past ten
/// minutes.
pub fn bucket_width(duration_s: f64) -> f64 {
    (duration_s / TIME_BUCKETS).ceil().max(1.0)
}

/// Mean TTFT of the requests whose first token arrived in each bucket, per endpoint.
pub fn ttft_over_time(run: &Run, requests: &[Vec<&RequestRecord>]) -> String {
    let width = bucket_width(run.summary.duration_s);
    let largest = (requests.iter().flatten())
        .filter_map(|r| r.ttft_ms)
        .fold(0.0, f64::max);
    let unit = DurationUnit::for_up_to(largest);
    let series = each_endpoint(run, requests, |rs| {
        let mut buckets: BTreeMap<u64, (f64, u32)> = BTreeMap::new();
        for r in rs {
            if let Some(ttft) = r.ttft_ms {
                let at = r.sent_at_s + ttft / 1000.0;
                let slot = buckets.entry(bucket(at, width)).or_default();
                slot.0 += ttft;
                slot.1 += 1;
            }
        }
        buckets
            .into_iter()
            .map(|(b, (sum, n))| ((b as f64 + 0.5) * width, unit.of(sum / f64::from(n))))
            .collect()
    });
    LineChart {
        title: "TTFT over the race",
        x_label: &time_label(width),
        y_label: &format!("mean TTFT ({})", unit.short),
        series,
        steps: false,
        y_max: None,
    }
    .render()
}

/// Output tokens per second over the race, per endpoint: each succeeded request's tokens are
/// spread evenly from its first token to its last.
pub fn tokens_over_time(run: &Run, requests: &[Vec<&RequestRecord>]) -> String {
    let width = bucket_width(run.summary.duration_s);
    let buckets_in_race = bucket(run.summary.duration_s, width) + 1;
    let series = each_endpoint(run, requests, |rs| {
        let mut buckets = vec![0.0f64; usize::try_from(buckets_in_race).unwrap_or(1)];
        for r in rs.iter().filter(|r| r.outcome == Outcome::Succeeded) {
            let (Some(tokens), Some(ttft), Some(ttlt)) = (r.output_tokens, r.ttft_ms, r.ttlt_ms)
            else {
                continue;
            };
            spread(
                &mut buckets,
                width,
                r.sent_at_s + ttft / 1000.0,
                r.sent_at_s + ttlt / 1000.0,
                f64::from(tokens),
            );
        }
        // An endpoint that finished early is not drawn at 0 tok/s for the rest of the race.
        let until = rs.iter().map(|r| ended_at(r)).fold(0.0, f64::max);
        rates(&buckets, width, until)
    });
    LineChart {
        title: "Output tokens/s over the race",
        x_label: &time_label(width),
        y_label: "output tokens/s",
        series,
        steps: false,
        y_max: None,
    }
    .render()
}

/// Tokens per bucket as tokens/s, up to `until` (seconds): the bucket `until` falls in holds
/// only the part of it before `until`, so it is divided by that part, not the whole width,
/// or every line would dive at its end.
fn rates(buckets: &[f64], width: f64, until: f64) -> Vec<(f64, f64)> {
    (buckets.iter().enumerate())
        .take_while(|(b, _)| *b as f64 * width <= until)
        .filter_map(|(b, tokens)| {
            let start = b as f64 * width;
            let filled = (start + width).min(until) - start;
            // A bucket the endpoint barely entered holds too little to be a rate.
            (filled > width * 0.05).then(|| ((b as f64 + 0.5) * width, tokens / filled))
        })
        .collect()
}

/// The last moment known of a request, in seconds of the race: its last token, else its first
/// byte, else when it left.
fn ended_at(r: &RequestRecord) -> f64 {
    let last_known = r.ttlt_ms.or(r.ttft_ms).or(r.ttfb_ms).unwrap_or(0.0);
    r.sent_at_s + last_known / 1000.0
}

/// Adds `amount` to the buckets from `start` to `end` (seconds), in proportion to overlap.
fn spread(buckets: &mut Vec<f64>, width: f64, start: f64, end: f64, amount: f64) {
    let grow = |buckets: &mut Vec<f64>, b: usize| {
        if buckets.len() <= b {
            buckets.resize(b + 1, 0.0);
        }
    };
    if end <= start {
        let b = usize::try_from(bucket(end, width)).unwrap_or(0);
        grow(buckets, b);
        buckets[b] += amount;
        return;
    }
    let first = bucket(start, width);
    let last = bucket(end, width);
    for b in first..=last {
        let lo = (b as f64 * width).max(start);
        let hi = ((b + 1) as f64 * width).min(end);
        if hi > lo {
            let b = usize::try_from(b).unwrap_or(0);
            grow(buckets, b);
            buckets[b] += amount * (hi - lo) / (end - start);
        }
    }
}

fn bucket(at_s: f64, width: f64) -> u64 {
    // Negative or absurd times (a damaged record) land in the first bucket.
    saturating_u64((at_s.max(0.0) / width).floor())
}

fn time_label(width: f64) -> String {
    if width <= 1.0 {
        "race time (s), per-second buckets".to_string()
    } else {
        format!("race time (s), {width:.0}-second buckets")
    }
}

fn each_endpoint<'a>(
    run: &'a Run,
    requests: &[Vec<&RequestRecord>],
    points: impl Fn(&[&RequestRecord]) -> Vec<(f64, f64)>,
) -> Vec<Series<'a>> {
    run.summary
        .endpoints
        .iter()
        .zip(requests)
        .enumerate()
        .map(|(i, (e, rs))| Series {
            name: &e.name,
            color: svg::color(i),
            points: points(rs),
        })
        .collect()
}

/// Bar charts of the headline numbers, one per metric.
pub fn headline_bars(run: &Run) -> Vec<(&'static str, String)> {
    type Pick = fn(&crate::stats::EndpointSnapshot) -> Option<(f64, String)>;
    let charts: [(&str, Pick); 4] = [
        ("TTFT p50 (lower is better)", |e| {
            e.latency.ttft_ms.map(|s| (s.p50, ms(Some(s.p50))))
        }),
        ("TTLT p50 (lower is better)", |e| {
            e.latency.ttlt_ms.map(|s| (s.p50, ms(Some(s.p50))))
        }),
        ("Output tokens/s (higher is better)", |e| {
            let v = e.rates.output_tokens_per_s;
            let source = crate::report::headline::TokenSource::of(e).mark();
            Some((v, format!("{} tok/s{source}", rate(v))))
        }),
        ("Success rate (higher is better)", |e| {
            let v = e.rates.success_rate;
            Some((v, percent(v)))
        }),
    ];
    charts
        .into_iter()
        .map(|(title, pick)| {
            let bars: Vec<Bar> = run
                .summary
                .endpoints
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (value, text) = pick(e).unwrap_or((0.0, "—".to_string()));
                    Bar {
                        label: e.name.clone(),
                        value,
                        text,
                        color: svg::color(i),
                    }
                })
                .collect();
            (title, svg::bar_chart(title, &bars))
        })
        .collect()
}

/// Colours of error classes, apart from the endpoint colours.
const ERROR_COLORS: [&str; 6] = [
    "#b2182b", "#ef8a62", "#fddbc7", "#762a83", "#af8dc3", "#5e3c99",
];

/// The classes that occurred anywhere in the race, each with its colour.
pub fn error_classes(run: &Run) -> Vec<(ErrorClass, &'static str)> {
    let mut classes: Vec<ErrorClass> = run
        .summary
        .endpoints
        .iter()
        .flat_map(|e| e.errors.keys().copied())
        .collect();
    classes.sort();
    classes.dedup();
    classes
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c, ERROR_COLORS[i % ERROR_COLORS.len()]))
        .collect()
}

/// Failed requests per endpoint, stacked by class.
pub fn errors(run: &Run, classes: &[(ErrorClass, &'static str)]) -> String {
    let rows: Vec<Stack> = run
        .summary
        .endpoints
        .iter()
        .map(|e| Stack {
            label: e.name.clone(),
            parts: classes
                .iter()
                .filter_map(|(class, color)| {
                    e.errors
                        .get(class)
                        .map(|n| (*n as f64, *color, class.name().to_string()))
                })
                .collect(),
        })
        .collect();
    svg::stacked_bars("Failed requests by error class", &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cdf_reaches_one_and_is_thinned() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        let points = cdf_points(&values);
        assert_eq!(points.first(), Some(&(1.0, 0.0)));
        assert_eq!(points.last(), Some(&(10.0, 1.0)));
        assert_eq!(points.len(), 11);
        let many: Vec<f64> = (0..100_000).map(f64::from).collect();
        let points = cdf_points(&many);
        assert_eq!(points.len(), CDF_POINTS + 1);
        assert_eq!(points.last(), Some(&(99_999.0, 1.0)));
        assert!(cdf_points(&[]).is_empty());
    }

    /// The `x` pixels of the polyline of the chart's series titled `name`.
    fn series_xs(chart: &str, name: &str) -> Vec<f64> {
        let end = chart.find(&format!("<title>{name}</title>")).unwrap();
        let start = chart[..end].rfind(" d=\"").unwrap() + 4;
        let d = &chart[start..chart[start..].find('"').unwrap() + start];
        d.split(['M', 'L'])
            .filter_map(|p| p.split(',').next()?.parse().ok())
            .collect()
    }

    #[test]
    fn an_endpoint_that_finished_early_leaves_the_tokens_chart() {
        let run = crate::replay::load::fixture(2, 60);
        let mut requests = by_endpoint(&run);
        // turbo stops after its first ten requests; steady races on.
        requests[0].truncate(10);
        let chart = tokens_over_time(&run, &requests);
        let last_x = |name| series_xs(&chart, name).last().copied().unwrap_or(0.0);
        assert!(last_x("turbo") < last_x("steady") / 2.0, "{chart}");
    }

    #[test]
    fn long_durations_are_charted_in_seconds() {
        let run = crate::replay::load::fixture(2, 10);
        let mut requests = by_endpoint(&run);
        let chart = cdf(&run, &requests, "TTLT", |r| r.ttlt_ms);
        assert!(chart.contains(">milliseconds</text>"), "{chart}");
        let mut slow = requests[0][0].clone();
        slow.ttlt_ms = Some(15_000.0);
        requests[0].push(&slow);
        let chart = cdf(&run, &requests, "TTLT", |r| r.ttlt_ms);
        assert!(chart.contains(">seconds</text>"), "{chart}");
        assert!(!chart.contains("k</text>"), "no 15k ms ticks: {chart}");
    }

    #[test]
    fn the_last_partial_second_is_a_rate_of_its_part() {
        // 100 tokens/s from 0 s to 2.5 s: the last second is half filled, still 100 tokens/s.
        let mut buckets = vec![0.0; 4];
        spread(&mut buckets, 1.0, 0.0, 2.5, 250.0);
        let points = rates(&buckets, 1.0, 2.5);
        assert_eq!(points, [(0.5, 100.0), (1.5, 100.0), (2.5, 100.0)]);
        // Ending right at (or just past) a bucket's start leaves no rate for it.
        assert_eq!(rates(&[100.0, 0.0], 1.0, 1.0), [(0.5, 100.0)]);
    }

    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn tokens_are_spread_over_the_seconds_they_streamed_in() {
        let mut buckets = vec![0.0; 3];
        spread(&mut buckets, 1.0, 0.5, 2.5, 100.0);
        assert_eq!(buckets, [25.0, 50.0, 25.0]);
        spread(&mut buckets, 1.0, 3.2, 3.2, 10.0);
        assert_eq!(buckets, [25.0, 50.0, 25.0, 10.0]);
        assert_eq!(bucket_width(30.0), 1.0);
        assert_eq!(bucket_width(3600.0), 6.0);
    }
}
