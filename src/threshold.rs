//! Threshold expressions for CI gating (`fail_if`): `[ENDPOINT:] METRIC[.STAT] OP VALUE`, each
//! naming a condition under which the race FAILS, parsed with errors that point at the bad part.
//!
//! Grammar (spaces are free around every part):
//!
//! ```text
//! threshold := [ endpoint ":" ] metric op value
//! metric    := distribution "." stat           ttfb ttft ttfa ttlt tpot itl output_tps
//!            | scalar                          tokens_per_s rpm rps goodput error_rate success_rate
//!                                              cache_hit_rate repeat_share json_valid
//!            | "cost" [ "." basis ]            basis: per_1k (default), total, per_mtok
//! stat      := p50 | p90 | p95 | p99 | mean | max | min
//! op        := ">" | ">=" | "<" | "<="
//! value     := number unit                     durations: ms, s, us (or µs) — a unit is REQUIRED
//!            | number                          output_tps, tokens_per_s: tokens/s; rps, goodput:
//!                                              requests/s; rpm: requests/min
//!            | number "%" | fraction           shares (error_rate, success_rate, cache_hit_rate,
//!                                              repeat_share, json_valid): `1%` or `0.01` (0 to 1)
//!            | [ "$" ] number                  cost: US dollars
//! ```
//!
//! A bare number for a duration is refused rather than read as milliseconds: `ttft.p95 > 1`
//! could mean a second as easily as a millisecond. A bare rate share above 1 is refused too
//! (`error_rate > 5` is 5% or 500%?). Without an endpoint prefix a threshold applies to every
//! endpoint.
//!
//! The race file and the flags parse thresholds here before a race starts (`config`); after
//! it, [`evaluate`] checks them against the final numbers, which the statistics provide through
//! [`Measured`]. Nothing here knows the statistics, so `config` can use it from below them.

use std::fmt;
use std::ops::Range;

mod check;
#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "exact values: parsed from literals or computed from whole numbers"
)]
mod tests;

pub use check::{Check, Measured, check_endpoints, check_streamed, evaluate};

/// One parsed threshold: the race fails when `metric` compares to `limit` as `op` says.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// The expression as written (trimmed), for reports.
    pub text: String,
    /// The endpoint it applies to; every endpoint when `None`.
    pub endpoint: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// In the metric's base unit: milliseconds, a fraction (0–1), per second or minute, USD.
    pub limit: f64,
}

/// What is measured. Distributions carry the statistic compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A latency distribution, in milliseconds.
    Latency(Latency, Stat),
    /// Per-request output tokens/s.
    OutputTps(Stat),
    /// The endpoint's output tokens/s over the race.
    TokensPerS,
    Rpm,
    Rps,
    /// Requests per second that met every SLO.
    Goodput,
    /// Failed / (succeeded + failed).
    ErrorRate,
    /// Succeeded / (succeeded + failed).
    SuccessRate,
    /// Cached input tokens / input tokens, as the server reported them.
    CacheHitRate,
    /// Requests that repeated a prompt sent to the endpoint before / requests.
    RepeatShare,
    /// Answers that were valid JSON / answers checked (their request asked for JSON).
    JsonValid,
    Cost(CostBasis),
    /// An embeddings endpoint's inputs embedded per second over the race.
    InputsPerS,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    Ttfb,
    Ttft,
    Ttfa,
    Ttlt,
    Tpot,
    Itl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    P50,
    P90,
    P95,
    P99,
    Mean,
    Max,
    Min,
}

/// Which cost figure a `cost` threshold compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostBasis {
    /// USD per 1000 requests (`cost`, `cost.per_1k`).
    Per1k,
    /// USD for the whole race (`cost.total`).
    Total,
    /// USD per million output tokens (`cost.per_mtok`).
    PerMillionOutput,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    /// Whether `measured OP limit` holds (that is: the threshold is crossed).
    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Op::Gt => measured > limit,
            Op::Ge => measured >= limit,
            Op::Lt => measured < limit,
            Op::Le => measured <= limit,
        }
    }
}

const LATENCIES: [(&str, Latency); 6] = [
    ("ttfb", Latency::Ttfb),
    ("ttft", Latency::Ttft),
    ("ttfa", Latency::Ttfa),
    ("ttlt", Latency::Ttlt),
    ("tpot", Latency::Tpot),
    ("itl", Latency::Itl),
];
const SCALARS: [(&str, Metric); 11] = [
    ("tokens_per_s", Metric::TokensPerS),
    ("rpm", Metric::Rpm),
    ("rps", Metric::Rps),
    ("goodput", Metric::Goodput),
    ("error_rate", Metric::ErrorRate),
    ("success_rate", Metric::SuccessRate),
    ("cache_hit_rate", Metric::CacheHitRate),
    ("repeat_share", Metric::RepeatShare),
    ("json_valid", Metric::JsonValid),
    ("cost", Metric::Cost(CostBasis::Per1k)),
    ("inputs_per_s", Metric::InputsPerS),
];
const STATS: [(&str, Stat); 7] = [
    ("p50", Stat::P50),
    ("p90", Stat::P90),
    ("p95", Stat::P95),
    ("p99", Stat::P99),
    ("mean", Stat::Mean),
    ("max", Stat::Max),
    ("min", Stat::Min),
];
const COST_BASES: [(&str, CostBasis); 3] = [
    ("per_1k", CostBasis::Per1k),
    ("total", CostBasis::Total),
    ("per_mtok", CostBasis::PerMillionOutput),
];

/// Every metric name, for messages and suggestions.
pub const METRIC_NAMES: [&str; 18] = [
    "ttfb",
    "ttft",
    "ttfa",
    "ttlt",
    "tpot",
    "itl",
    "output_tps",
    "tokens_per_s",
    "rpm",
    "rps",
    "goodput",
    "error_rate",
    "success_rate",
    "cache_hit_rate",
    "repeat_share",
    "json_valid",
    "cost",
    "inputs_per_s",
];

const EXAMPLE: &str =
    "write e.g. `ttft.p95 > 800ms`, `error_rate > 1%` or `vllm: output_tps.p50 < 20`";

/// A threshold that cannot be parsed (or names an endpoint not in the race): the expression,
/// the part that is wrong (a byte range into it), what is wrong and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdError {
    pub expression: String,
    pub span: Range<usize>,
    pub problem: String,
    pub help: String,
}

impl ThresholdError {
    fn new(
        expression: &str,
        span: Range<usize>,
        problem: impl Into<String>,
        help: impl Into<String>,
    ) -> ThresholdError {
        ThresholdError {
            expression: expression.to_string(),
            span,
            problem: problem.into(),
            help: help.into(),
        }
    }

    /// The expression with a caret line under the bad part, each line indented by `indent`.
    pub fn pointer(&self, indent: &str) -> String {
        let start = self.span.start.min(self.expression.len());
        let end = self.span.end.clamp(start, self.expression.len());
        let column = self
            .expression
            .get(..start)
            .map_or(0, |s| s.chars().count());
        let width = self
            .expression
            .get(start..end)
            .map_or(0, |s| s.chars().count())
            .max(1);
        format!(
            "{indent}{}\n{indent}{}{}",
            self.expression,
            " ".repeat(column),
            "^".repeat(width)
        )
    }
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid threshold: {}\n{}\n  help: {}",
            self.problem,
            self.pointer("    "),
            self.help
        )
    }
}

impl std::error::Error for ThresholdError {}

/// Parses one threshold expression (see the module documentation for the grammar).
pub fn parse(expr: &str) -> Result<Threshold, ThresholdError> {
    let err = |span: Range<usize>, problem: String, help: String| {
        ThresholdError::new(expr, span, problem, help)
    };
    let (op, op_span) = operator(expr)?;
    let left = 0..op_span.start;
    let (endpoint, metric_span) = match expr[left.clone()].rfind(':') {
        Some(colon) => {
            let name = trimmed(expr, 0..colon);
            if name.is_empty() {
                return Err(err(
                    colon..colon + 1,
                    "the endpoint name before `:` is empty".into(),
                    "write `ENDPOINT: METRIC OP VALUE`, or leave out `:` to check every endpoint"
                        .into(),
                ));
            }
            (
                Some(expr[name].to_string()),
                trimmed(expr, colon + 1..left.end),
            )
        }
        None => (None, trimmed(expr, left)),
    };
    if metric_span.is_empty() {
        return Err(err(
            metric_span.start..op_span.start.max(metric_span.start + 1),
            "no metric before the comparison".into(),
            format!("metrics: {}; {EXAMPLE}", METRIC_NAMES.join(", ")),
        ));
    }
    let metric = metric(expr, metric_span)?;
    let value_span = trimmed(expr, op_span.end..expr.len());
    let limit = value(expr, metric, value_span)?;
    Ok(Threshold {
        text: expr.trim().to_string(),
        endpoint,
        metric,
        op,
        limit,
    })
}

/// Parses every expression (as `RaceConfig::fail_if` holds them), stopping at the first error.
pub fn parse_all(exprs: &[String]) -> Result<Vec<Threshold>, ThresholdError> {
    exprs.iter().map(|e| parse(e)).collect()
}

/// `range` of `expr` without surrounding whitespace.
fn trimmed(expr: &str, range: Range<usize>) -> Range<usize> {
    let text = &expr[range.clone()];
    let start = range.start + (text.len() - text.trim_start().len());
    let end = range.end - (text.len() - text.trim_end().len());
    start..end.max(start)
}

fn operator(expr: &str) -> Result<(Op, Range<usize>), ThresholdError> {
    let help = "compare with `>`, `>=`, `<` or `<=`: the race fails when the comparison holds";
    let Some(at) = expr.find(['<', '>', '=', '!']) else {
        let end = expr.trim_end().len();
        return Err(ThresholdError::new(
            expr,
            end..end + 1,
            "no comparison",
            format!("{help}; {EXAMPLE}"),
        ));
    };
    let bytes = expr.as_bytes();
    let (op, len) = match (bytes[at], bytes.get(at + 1)) {
        (b'>', Some(b'=')) => (Op::Ge, 2),
        (b'<', Some(b'=')) => (Op::Le, 2),
        (b'>', _) => (Op::Gt, 1),
        (b'<', _) => (Op::Lt, 1),
        _ => {
            let len = expr[at..]
                .find(|c: char| !"<>=!".contains(c))
                .unwrap_or(expr.len() - at);
            return Err(ThresholdError::new(
                expr,
                at..at + len,
                format!(
                    "`{}` is not a comparison llmrace knows",
                    &expr[at..at + len]
                ),
                help,
            ));
        }
    };
    let span = at..at + len;
    if let Some(again) = expr[span.end..].find(['<', '>', '=', '!']) {
        let again = span.end + again;
        return Err(ThresholdError::new(
            expr,
            again..again + 1,
            "more than one comparison",
            format!("one threshold compares one metric with one value; {EXAMPLE}"),
        ));
    }
    Ok((op, span))
}

fn metric(expr: &str, span: Range<usize>) -> Result<Metric, ThresholdError> {
    let text = &expr[span.clone()];
    let (name, stat) = match text.find('.') {
        Some(dot) => (&text[..dot], Some((&text[dot + 1..], span.start + dot))),
        None => (text, None),
    };
    let name_span = span.start..span.start + name.len();
    let stat_names: Vec<&str> = STATS.iter().map(|(n, _)| *n).collect();
    let stat_list = stat_names.join(", ");
    let lookup_stat = |stat: Option<(&str, usize)>, metric: &str| match stat {
        Some((s, dot)) => STATS
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, st)| *st)
            .ok_or_else(|| {
                ThresholdError::new(
                    expr,
                    dot + 1..span.end.max(dot + 2),
                    format!("unknown statistic `{s}` of `{metric}`"),
                    suggest(s, &stat_names, &format!("statistics: {stat_list}")),
                )
            }),
        None => Err(ThresholdError::new(
            expr,
            name_span.clone(),
            format!("`{metric}` is a distribution: say which statistic"),
            format!("write e.g. `{metric}.p95`; statistics: {stat_list}"),
        )),
    };
    if let Some((_, latency)) = LATENCIES.iter().find(|(n, _)| *n == name) {
        return Ok(Metric::Latency(*latency, lookup_stat(stat, name)?));
    }
    if name == "output_tps" {
        return Ok(Metric::OutputTps(lookup_stat(stat, name)?));
    }
    if name == "cost" {
        let Some((basis, dot)) = stat else {
            return Ok(Metric::Cost(CostBasis::Per1k));
        };
        let bases: Vec<&str> = COST_BASES.iter().map(|(n, _)| *n).collect();
        return COST_BASES
            .iter()
            .find(|(n, _)| *n == basis)
            .map(|(_, b)| Metric::Cost(*b))
            .ok_or_else(|| {
                ThresholdError::new(
                    expr,
                    dot + 1..span.end.max(dot + 2),
                    format!("unknown cost figure `{basis}`"),
                    suggest(
                        basis,
                        &bases,
                        "cost figures: per_1k (USD per 1000 requests, the default), total \
                         (USD for the race), per_mtok (USD per million output tokens)",
                    ),
                )
            });
    }
    if let Some((_, scalar)) = SCALARS.iter().find(|(n, _)| *n == name) {
        if let Some((_, dot)) = stat {
            return Err(ThresholdError::new(
                expr,
                dot..span.end,
                format!("`{name}` is a single number: it has no statistics"),
                format!("write e.g. `{name} {}`", scalar_example(*scalar)),
            ));
        }
        return Ok(*scalar);
    }
    Err(ThresholdError::new(
        expr,
        name_span,
        format!("unknown metric `{name}`"),
        suggest(
            name,
            &METRIC_NAMES,
            &format!("metrics: {}", METRIC_NAMES.join(", ")),
        ),
    ))
}

fn scalar_example(metric: Metric) -> &'static str {
    match metric {
        Metric::ErrorRate => "> 1%",
        Metric::SuccessRate | Metric::JsonValid => "< 99%",
        Metric::CacheHitRate | Metric::RepeatShare => "> 10%",
        Metric::Rpm => "< 100",
        Metric::Cost(_) => "> 0.50",
        _ => "< 20",
    }
}

fn suggest(word: &str, allowed: &[&str], list: &str) -> String {
    match crate::spelling::did_you_mean(word, allowed) {
        Some(guess) => format!("did you mean `{guess}`? {list}"),
        None => list.to_string(),
    }
}

/// The limit in the metric's base unit.
fn value(expr: &str, metric: Metric, span: Range<usize>) -> Result<f64, ThresholdError> {
    let text = &expr[span.clone()];
    let err = |span: Range<usize>, problem: String, help: String| {
        ThresholdError::new(expr, span, problem, help)
    };
    let help = value_help(metric);
    if text.is_empty() {
        return Err(err(
            span.start..span.start + 1,
            "no value after the comparison".into(),
            help.into(),
        ));
    }
    let dollar = usize::from(text.starts_with('$'));
    if dollar == 1 && !matches!(metric, Metric::Cost(_)) {
        return Err(err(
            span.start..span.start + 1,
            "`$` is for cost thresholds".into(),
            help.into(),
        ));
    }
    let digits = text[dollar..]
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(text.len(), |i| i + dollar);
    let number_span = span.start + dollar..span.start + digits;
    let number: f64 = match text[dollar..digits].parse() {
        Ok(n) if f64::is_finite(n) => n,
        _ => {
            let problem = if text.starts_with('-') {
                "the value is negative".to_string()
            } else {
                format!("`{text}` is not a number")
            };
            return Err(err(
                number_span.start..number_span.end.max(number_span.start + 1),
                problem,
                help.into(),
            ));
        }
    };
    let unit = text[digits..].trim();
    let unit_span = trimmed(expr, span.start + digits..span.end);
    let bad_unit = |problem: String| err(unit_span.clone(), problem, help.into());
    match metric {
        Metric::Latency(..) => match unit {
            "ms" => Ok(number),
            "s" => Ok(number * 1000.0),
            "us" | "µs" => Ok(number / 1000.0),
            "" => Err(err(
                number_span,
                "a duration needs a unit".into(),
                help.into(),
            )),
            other => Err(bad_unit(format!("unknown duration unit `{other}`"))),
        },
        Metric::ErrorRate
        | Metric::SuccessRate
        | Metric::CacheHitRate
        | Metric::RepeatShare
        | Metric::JsonValid => match unit {
            "%" if number <= 100.0 => Ok(number / 100.0),
            "%" => Err(err(
                number_span,
                "a percentage above 100%".into(),
                help.into(),
            )),
            "" if number <= 1.0 => Ok(number),
            "" => Err(err(
                number_span,
                format!("`{number}` is ambiguous: a fraction must be from 0 to 1"),
                format!("write `{number}%` for a percentage; {help}"),
            )),
            other => Err(bad_unit(format!("unknown unit `{other}` for a rate"))),
        },
        _ if unit.is_empty() => Ok(number),
        _ => Err(bad_unit(format!(
            "`{unit}`: this metric takes a plain number"
        ))),
    }
}

fn value_help(metric: Metric) -> &'static str {
    match metric {
        Metric::Latency(..) => "durations take a unit: `800ms`, `1.5s` or `500us`",
        Metric::ErrorRate
        | Metric::SuccessRate
        | Metric::CacheHitRate
        | Metric::RepeatShare
        | Metric::JsonValid => "write a percentage (`1%`) or a fraction from 0 to 1 (`0.01`)",
        Metric::OutputTps(_) | Metric::TokensPerS => "write tokens per second, e.g. `20`",
        Metric::Rpm => "write requests per minute, e.g. `100`",
        Metric::Rps | Metric::Goodput => "write requests per second, e.g. `2.5`",
        Metric::Cost(_) => "write US dollars, e.g. `0.50` or `$0.50`",
        Metric::InputsPerS => "write inputs per second, e.g. `200`",
    }
}
