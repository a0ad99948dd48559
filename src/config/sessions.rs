//! Multi-turn sessions as configured: how many turns a session has and the think time between
//! them (`[workload] turns`, `think_time`; `--turns`, `--think-time`).

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::raw::RawThinkTime;
use super::validate::Problem;

/// Most turns a session may have: far beyond any chat, and a bound on a typo's cost.
pub const MAX_TURNS: u32 = 100;

/// The pause between a turn's answer and the session's next turn: the user reading and typing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThinkTime {
    /// The pause (fixed), or its mean (exponential).
    #[serde(with = "super::humantime_serde")]
    pub mean: Duration,
    pub distribution: ThinkDistribution,
}

/// How think times are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThinkDistribution {
    /// Always the mean.
    Fixed,
    /// Exponential with that mean, drawn from a seeded generator (same seed, same pauses).
    Exponential,
}

const THINK_HELP: &str = "write e.g. think_time = \"2s\" (fixed) or think_time = { mean = \"2s\", \
                          distribution = \"exponential\" }; on the command line --think-time 2s \
                          or --think-time exp:2s";

/// `turns = N`: 1 (single requests) to [`MAX_TURNS`].
pub fn turns(n: u32) -> Result<u32, Problem> {
    if n == 0 || n > MAX_TURNS {
        return Err(Problem::new(
            format!("{n} turns: a session has 1 to {MAX_TURNS}"),
            "write e.g. turns = 4 (1 sends single requests, as without it)",
        ));
    }
    Ok(n)
}

/// What a request limit of `requests` runs as sessions of `turns` (above 1), for the banner:
/// each session reserves all its turns when it starts, so only whole sessions are sent.
pub fn budget(requests: u64, turns: u32) -> String {
    let turns = u64::from(turns);
    let (sessions, left) = (requests / turns, requests % turns);
    let mut text = format!(
        "{} of {turns} turns",
        crate::format::count(sessions, "session")
    );
    if left > 0 {
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            ": {} requests; the {left} left over are not sent, as a session the limit cannot \
             finish is not started",
            sessions * turns
        );
    }
    text
}

/// A distribution's name as written in a race file.
pub fn distribution(name: &str) -> Result<ThinkDistribution, Problem> {
    match name.trim().to_ascii_lowercase().as_str() {
        "fixed" => Ok(ThinkDistribution::Fixed),
        "exponential" | "exp" => Ok(ThinkDistribution::Exponential),
        other => Err(Problem::new(
            format!("unknown think-time distribution `{other}`"),
            "use \"fixed\" or \"exponential\"",
        )),
    }
}

/// `--think-time 2s` (fixed) or `--think-time exp:2s` (exponential with mean 2 s).
pub fn parse_flag(text: &str) -> Result<ThinkTime, String> {
    let (distribution, mean) = match text.trim().split_once(':') {
        Some((name, mean)) => (
            distribution(name).map_err(|p| format!("{}; {}", p.problem, p.help))?,
            mean,
        ),
        None => (ThinkDistribution::Fixed, text),
    };
    let mean = humantime::parse_duration(mean.trim())
        .map_err(|e| format!("`{mean}` is not a duration ({e}); {THINK_HELP}"))?;
    Ok(ThinkTime { mean, distribution })
}

/// The two shapes `think_time` takes, for messages.
const THINK_SHAPES: &str = "a duration with its unit such as \"2s\" (fixed), or a table such as \
                            { mean = \"2s\", distribution = \"exponential\" }";

/// A TOML type's name with its article: `an integer`.
fn a(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

impl<'de> Deserialize<'de> for RawThinkTime {
    /// By hand rather than untagged, whose error names no shape: the message says which part is
    /// wrong and what the two accepted shapes are (the file's line and column come with it).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        use toml::Value;
        let text = |value: Option<Value>, what: &str| match value {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(D::Error::custom(format!(
                "think_time's `{what}` is {}, not text: think_time is {THINK_SHAPES}",
                a(other.type_str())
            ))),
        };
        match Value::deserialize(deserializer)? {
            Value::String(mean) => Ok(RawThinkTime::Fixed(mean)),
            Value::Table(mut table) => {
                let mean = text(table.remove("mean"), "mean")?.ok_or_else(|| {
                    D::Error::custom(format!("think_time has no `mean`: write {THINK_SHAPES}"))
                })?;
                let distribution = text(table.remove("distribution"), "distribution")?;
                Ok(RawThinkTime::Table {
                    mean,
                    distribution,
                    unknown: table.into_iter().collect(),
                })
            }
            other => Err(D::Error::custom(format!(
                "think_time is {}: write {THINK_SHAPES}",
                a(other.type_str())
            ))),
        }
    }
}

/// `think_time` as written in a race file.
pub(super) fn think_time(raw: &RawThinkTime) -> Result<ThinkTime, Problem> {
    let (mean, distribution) = match raw {
        RawThinkTime::Fixed(mean) => (mean, ThinkDistribution::Fixed),
        RawThinkTime::Table { unknown, .. } if !unknown.is_empty() => {
            let keys: Vec<&str> = unknown.keys().map(String::as_str).collect();
            return Err(Problem::new(
                format!("unknown key `{}` in think_time", keys.join("`, `")),
                THINK_HELP,
            ));
        }
        RawThinkTime::Table {
            mean, distribution, ..
        } => (
            mean,
            distribution
                .as_deref()
                .map_or(Ok(ThinkDistribution::Fixed), self::distribution)?,
        ),
    };
    let mean = humantime::parse_duration(mean.trim())
        .map_err(|e| Problem::new(format!("`{mean}` is not a duration ({e})"), THINK_HELP))?;
    Ok(ThinkTime { mean, distribution })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_time_flags_are_fixed_or_exponential() {
        let fixed = parse_flag("2s").expect("fixed");
        assert_eq!(fixed.mean, Duration::from_secs(2));
        assert_eq!(fixed.distribution, ThinkDistribution::Fixed);
        let exp = parse_flag("exp:500ms").expect("exponential");
        assert_eq!(exp.mean, Duration::from_millis(500));
        assert_eq!(exp.distribution, ThinkDistribution::Exponential);
        assert!(parse_flag("gauss:2s").is_err());
        assert!(parse_flag("soon").is_err_and(|e| e.contains("--think-time exp:2s")));
    }

    #[test]
    fn a_request_limit_runs_whole_sessions() {
        assert_eq!(budget(20, 4), "5 sessions of 4 turns");
        assert!(budget(22, 4).starts_with("5 sessions of 4 turns: 20 requests; the 2 left over"));
        assert_eq!(budget(4, 4), "1 session of 4 turns");
    }

    #[test]
    fn a_wrong_think_time_shape_is_told_with_both_shapes() {
        let parse = |text: &str| {
            toml::from_str::<std::collections::BTreeMap<String, RawThinkTime>>(text)
                .map_err(|e| e.message().to_string())
        };
        assert!(parse("t = \"2s\"").is_ok());
        assert!(parse("t = { mean = \"2s\", distribution = \"exp\" }").is_ok());
        for (text, says) in [
            ("t = 2", "think_time is an integer"),
            ("t = { distribution = \"exponential\" }", "no `mean`"),
            ("t = { mean = 2 }", "`mean` is an integer"),
        ] {
            let message = parse(text).expect_err(text);
            assert!(message.contains(says), "{message}");
            assert!(message.contains("\"2s\" (fixed), or a table"), "{message}");
        }
    }

    #[test]
    fn turns_are_bounded() {
        assert!(turns(0).is_err());
        assert_eq!(turns(4).ok(), Some(4));
        assert!(turns(MAX_TURNS + 1).is_err());
    }
}
