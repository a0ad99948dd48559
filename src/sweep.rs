//! Sweeps: the same race run at rising concurrency levels, one results folder per level, the
//! numbers that matter per endpoint and level in `sweep.json`, and the recommended operating
//! point — the busiest level whose TTFT p95 still meets a target.

pub mod chart;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::RaceConfig;
use crate::pace::Rate;
use crate::race::{RaceError, RaceOptions, Teller};
use crate::record::RecordError;
use crate::signals::Signal;
use crate::stats::EndpointSnapshot;

/// Version of `sweep.json`'s layout.
pub const FORMAT_VERSION: u32 = 1;

/// Error rates at or above this rule a level out of the recommendation.
pub const MAX_ERROR_RATE: f64 = 0.01;

/// The load of one level: requests in flight (closed loop) or requests sent per second per
/// endpoint (open loop).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Level {
    Concurrency(u32),
    Rate(Rate),
}

impl Level {
    /// How tables and `sweep.json` name the level: `8` or `2/s`.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Level::Concurrency(n) => n.to_string(),
            Level::Rate(rate) => rate.to_string(),
        }
    }

    /// The level as a phrase: `concurrency 8` or `rate 2/s`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Level::Concurrency(n) => format!("concurrency {n}"),
            Level::Rate(rate) => format!("rate {rate}"),
        }
    }

    /// `config` set to run at this level: every endpoint at the level's concurrency, or the
    /// level's open-loop rate, in place of any load shape (rate, ramp, concurrency ramp,
    /// laps) the race had.
    fn apply(&self, config: &mut RaceConfig) {
        config.load.ramp = None;
        config.load.concurrency_ramp = None;
        config.load.laps = false;
        match *self {
            Level::Concurrency(n) => {
                config.load.concurrency = n.max(1);
                config.load.rate = None;
                config.load.arrival_seed = None;
                for endpoint in &mut config.endpoints {
                    endpoint.concurrency = None;
                }
            }
            Level::Rate(rate) => config.load.rate = Some(rate),
        }
    }
}

/// One endpoint at one level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The level's label: `8` (concurrency) or `2/s` (rate).
    pub level: String,
    /// Requests in flight, for concurrency levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Requests sent per second per endpoint, for rate levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_s: Option<f64>,
    pub requests_per_s: f64,
    pub output_tokens_per_s: f64,
    /// `None` when no request succeeded at this level.
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
    pub ttlt_p50_ms: Option<f64>,
    /// Failed / (succeeded + failed); cancelled requests count for neither.
    pub error_rate: f64,
    pub succeeded: u64,
    pub failed: u64,
    /// Cached input tokens over input tokens as the server reported them; `None` when it never
    /// said. A level that rises while others stay cold leans on a warm cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_hit_rate: Option<f64>,
    /// The share of requests that repeated a prompt sent before at this level.
    #[serde(default)]
    pub repeat_share: f64,
}

impl Point {
    /// The numbers of one endpoint's final snapshot at `concurrency`.
    #[must_use]
    pub fn from_snapshot(level: Level, e: &EndpointSnapshot) -> Point {
        let ended = e.counts.succeeded + e.counts.failed;
        #[expect(
            clippy::cast_precision_loss,
            reason = "request counts stay far below 2^52"
        )]
        let error_rate = if ended == 0 {
            0.0
        } else {
            e.counts.failed as f64 / ended as f64
        };
        Point {
            level: level.label(),
            concurrency: match level {
                Level::Concurrency(n) => Some(n),
                Level::Rate(_) => None,
            },
            rate_per_s: match level {
                Level::Concurrency(_) => None,
                Level::Rate(rate) => Some(rate.per_sec()),
            },
            requests_per_s: e.rates.requests_per_s,
            output_tokens_per_s: e.rates.output_tokens_per_s,
            ttft_p50_ms: e.latency.ttft_ms.as_ref().map(|s| s.p50),
            ttft_p95_ms: e.latency.ttft_ms.as_ref().map(|s| s.p95),
            ttlt_p50_ms: e.latency.ttlt_ms.as_ref().map(|s| s.p50),
            cache_hit_rate: e.tokens.cache_hit_rate(),
            repeat_share: e.rates.repeat_share,
            error_rate,
            succeeded: e.counts.succeeded,
            failed: e.counts.failed,
        }
    }
}

/// One endpoint across the levels run so far, lowest level first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointSweep {
    pub name: String,
    pub points: Vec<Point>,
    /// The recommended level's label; `None` when no level meets the target.
    pub recommended: Option<String>,
}

/// `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub format_version: u32,
    pub name: String,
    pub ttft_p95_target_ms: f64,
    /// The levels asked for, by label; fewer were run when the sweep was interrupted.
    pub levels: Vec<String>,
    pub interrupted: bool,
    pub endpoints: Vec<EndpointSweep>,
}

impl SweepReport {
    fn add_level(&mut self, level: Level, snapshots: &[EndpointSnapshot]) {
        for snapshot in snapshots {
            let point = Point::from_snapshot(level, snapshot);
            match self.endpoints.iter_mut().find(|e| e.name == snapshot.name) {
                Some(e) => e.points.push(point),
                None => self.endpoints.push(EndpointSweep {
                    name: snapshot.name.clone(),
                    points: vec![point],
                    recommended: None,
                }),
            }
        }
        for e in &mut self.endpoints {
            e.recommended = recommend(&e.points, self.ttft_p95_target_ms).map(|p| p.level.clone());
        }
    }
}

/// The recommended operating point: the level with the most output tokens/s (then requests/s;
/// the earlier level on a tie) whose TTFT p95 is within `target_ms` and whose error rate is
/// under 1 %. `None` when no level qualifies.
#[must_use]
pub fn recommend(points: &[Point], target_ms: f64) -> Option<&Point> {
    points
        .iter()
        .filter(|p| p.error_rate < MAX_ERROR_RATE && p.succeeded > 0)
        .filter(|p| p.ttft_p95_ms.is_some_and(|t| t <= target_ms))
        .fold(None, |best: Option<&Point>, p| match best {
            Some(b)
                if (b.output_tokens_per_s, b.requests_per_s)
                    >= (p.output_tokens_per_s, p.requests_per_s) =>
            {
                Some(b)
            }
            _ => Some(p),
        })
}

/// How a sweep is run.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// The levels, in the order run.
    pub levels: Vec<Level>,
    pub ttft_p95_target: Duration,
    /// The sweep folder: `level-<n>/` per level and `sweep.json`.
    pub out: PathBuf,
    /// No line per level on stderr.
    pub quiet: bool,
    /// `--force`: earlier results in `out` are removed as the first level starts writing.
    pub replace: bool,
    /// Who hears what each level's race tells as it goes.
    pub tell: Teller,
    /// One exporter for the whole sweep (`--metrics-addr`): each level's series get a
    /// `level` label.
    pub metrics: Option<crate::export::Publisher>,
}

/// What a sweep left behind.
#[derive(Debug)]
pub struct SweepOutcome {
    pub dir: PathBuf,
    pub report: SweepReport,
    /// The signal that stopped it: the exit code is 128 + its number.
    pub signal: Option<Signal>,
}

/// The folder of one level inside the sweep folder: `level-8`, or `level-2ps` for 2/s.
#[must_use]
pub fn level_dir(sweep_dir: &Path, level: &Level) -> PathBuf {
    sweep_dir.join(format!("level-{}", level.label().replace("/s", "ps")))
}

/// Runs `config` once per level, headless, with every endpoint at that concurrency, and
/// rewrites `sweep.json` after each level so an interrupted sweep keeps what finished. Ctrl-C
/// stops the level running and skips the rest.
///
/// # Errors
/// Whatever stops [`crate::race::race`] at a level, or `sweep.json` not being writable.
pub async fn sweep(
    config: RaceConfig,
    base_dir: &Path,
    options: &SweepOptions,
) -> Result<SweepOutcome, RaceError> {
    // Every level's connections are checked before the first: a sweep must not be refused
    // its last level an hour in.
    let machine = crate::capacity::Machine::now();
    for level in &options.levels {
        let mut level_config = config.clone();
        level.apply(&mut level_config);
        let mut demand = crate::capacity::Demand::of(
            &level_config,
            crate::workload::PromptsSize::default(),
            crate::workload::PromptsSize::default(),
            false,
        );
        if let Level::Concurrency(_) = level {
            demand.knob = crate::capacity::Knob::SweepLevels;
        }
        demand.fits(&machine)?;
    }
    std::fs::create_dir_all(&options.out).map_err(|source| RecordError::CreateFolder {
        path: options.out.clone(),
        source,
    })?;
    let mut report = SweepReport {
        format_version: FORMAT_VERSION,
        name: config.name.clone(),
        ttft_p95_target_ms: options.ttft_p95_target.as_secs_f64() * 1000.0,
        levels: options.levels.iter().map(Level::label).collect(),
        interrupted: false,
        endpoints: Vec::new(),
    };
    // Between levels no race listens for Ctrl-C; this listener covers those gaps.
    let signalled = Arc::new(OnceLock::new());
    let listener = tokio::spawn({
        let signalled = Arc::clone(&signalled);
        async move {
            let _ = signalled.set(crate::signals::shutdown().await);
        }
    });
    for (i, &level) in options.levels.iter().enumerate() {
        if signalled.get().is_some() {
            report.interrupted = true;
            break;
        }
        let mut level_config = config.clone();
        level.apply(&mut level_config);
        // Before the level is announced: a signal that follows the announcement stops it.
        let shutdown = crate::signals::Shutdown::listen();
        if !options.quiet {
            crate::print::err(&format!(
                "Level {}/{}: {}",
                i + 1,
                options.levels.len(),
                level.describe()
            ));
        }
        let race_options = RaceOptions {
            out: Some(level_dir(&options.out, &level)),
            quiet: true,
            replay: false,
            dashboard: None,
            replace: (options.replace && i == 0).then(|| options.out.clone()),
            tell: options.tell.clone(),
            metrics: options.metrics.as_ref().map(|m| m.at_level(level.label())),
            start_at: None,
        };
        let outcome = match crate::race::race(level_config, base_dir, &race_options, shutdown).await
        {
            Ok(outcome) => outcome,
            Err(RaceError::StoppedBeforeStart(signal)) => {
                report.interrupted = true;
                let _ = signalled.set(signal);
                break;
            }
            Err(e) => return Err(e),
        };
        if outcome.interrupted {
            // A level cut short would pass for a lighter load than it was: leave it out.
            report.interrupted = true;
            if let Some(signal) = outcome.signal {
                let _ = signalled.set(signal);
            }
            break;
        }
        report.add_level(level, &outcome.summary.endpoints);
        write_report(&options.out, &report)?;
    }
    listener.abort();
    if report.interrupted {
        write_report(&options.out, &report)?;
    }
    Ok(SweepOutcome {
        dir: options.out.clone(),
        report,
        signal: signalled.get().copied(),
    })
}

fn write_report(dir: &Path, report: &SweepReport) -> Result<(), RecordError> {
    use crate::record::files::SWEEP_FILE;
    let path = dir.join(SWEEP_FILE);
    let text = serde_json::to_string_pretty(report).map_err(|e| RecordError::Encode {
        what: SWEEP_FILE,
        reason: e.to_string(),
    })?;
    std::fs::write(&path, text + "\n").map_err(|source| RecordError::Write { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(concurrency: u32, tps: f64, p95: f64, error_rate: f64) -> Point {
        Point {
            level: concurrency.to_string(),
            concurrency: Some(concurrency),
            rate_per_s: None,
            requests_per_s: tps / 10.0,
            output_tokens_per_s: tps,
            ttft_p50_ms: Some(p95 / 2.0),
            ttft_p95_ms: Some(p95),
            ttlt_p50_ms: Some(p95 * 2.0),
            error_rate,
            succeeded: 100,
            failed: 0,
            cache_hit_rate: None,
            repeat_share: 0.0,
        }
    }

    #[test]
    fn recommends_the_busiest_level_within_target() {
        let points = [
            point(1, 100.0, 200.0, 0.0),
            point(2, 190.0, 400.0, 0.0),
            point(4, 300.0, 900.0, 0.0),
            point(8, 320.0, 1800.0, 0.0),
        ];
        assert_eq!(
            recommend(&points, 1000.0).and_then(|p| p.concurrency),
            Some(4)
        );
        assert_eq!(
            recommend(&points, 400.0).and_then(|p| p.concurrency),
            Some(2)
        );
    }

    #[test]
    fn none_within_target() {
        let points = [point(1, 100.0, 1200.0, 0.0), point(2, 150.0, 2000.0, 0.0)];
        assert_eq!(recommend(&points, 1000.0), None);
        assert_eq!(recommend(&[], 1000.0), None);
    }

    #[test]
    fn errors_rule_a_level_out() {
        let points = [
            point(1, 100.0, 200.0, 0.0),
            point(2, 190.0, 300.0, 0.01),
            point(4, 250.0, 350.0, 0.2),
        ];
        assert_eq!(
            recommend(&points, 1000.0).and_then(|p| p.concurrency),
            Some(1)
        );
    }

    #[test]
    fn a_plateau_keeps_the_lower_level() {
        let points = [point(4, 300.0, 500.0, 0.0), point(8, 300.0, 900.0, 0.0)];
        assert_eq!(
            recommend(&points, 1000.0).and_then(|p| p.concurrency),
            Some(4)
        );
    }

    #[test]
    fn a_level_replaces_the_races_load_shape() {
        let mut config = crate::config::demo_race();
        config.load.concurrency_ramp = Some("1..8:10s".parse().expect("a ramp"));
        config.load.laps = true;
        Level::Concurrency(4).apply(&mut config);
        assert!(config.load.concurrency_ramp.is_none() && !config.load.laps);
        assert_eq!(config.load.concurrency, 4);
        config.load.ramp = Some("1/s..2/s:1s".parse().expect("a ramp"));
        Level::Rate("3/s".parse().expect("a rate")).apply(&mut config);
        assert!(config.load.ramp.is_none());
        assert_eq!(
            config.load.open_loop().map(|s| s.rate),
            Some(crate::pace::RateShape::Fixed(
                "3/s".parse().expect("a rate")
            ))
        );
    }

    #[test]
    fn levels_name_their_folders() {
        let rate: Rate = "2.5/s".parse().unwrap_or_else(|e| panic!("{e}"));
        let dir = Path::new("s");
        assert_eq!(level_dir(dir, &Level::Concurrency(8)), dir.join("level-8"));
        assert_eq!(level_dir(dir, &Level::Rate(rate)), dir.join("level-2.5ps"));
        assert_eq!(Level::Rate(rate).describe(), "rate 2.5/s");
    }

    #[test]
    fn no_ttft_is_not_within_target() {
        let mut p = point(1, 0.0, 0.0, 0.0);
        p.ttft_p95_ms = None;
        assert_eq!(recommend(&[p], 1000.0), None);
    }
}
