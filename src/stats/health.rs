//! The lane badge: how an endpoint is doing lately, judged from its per-second window and its
//! overall TTFT. A pure function, so the thresholds can be read and tested in one place.

use super::distribution::Summary;
use super::snapshot::Health;
use super::window::Second;

/// Requests that must have ended (succeeded or failed) before an endpoint is judged.
pub const MIN_ENDED: u64 = 3;
/// The span, in seconds, of "recently" for the failure share and the TTFT mean.
pub const SHORT_SECS: usize = 10;
/// The span, in seconds, within which any failure marks an endpoint degraded.
pub const LONG_SECS: usize = 30;
/// Requests that must have ended in the short span before its failure share counts.
pub const MIN_RECENT_ENDED: u32 = 2;
/// Recent TTFTs, and TTFTs overall, needed before recent latency is compared with the norm.
pub const MIN_RECENT_TTFTS: u32 = 3;
pub const MIN_OVERALL_TTFTS: u64 = 10;
/// Recent mean TTFT above this multiple of the overall p50 is degraded.
pub const SLOW_FACTOR: f64 = 2.0;

/// The badge for an endpoint whose last seconds are `recent` (oldest first, the current second
/// last), of which `ended` requests have succeeded or failed so far, with TTFT summary `ttft`.
///
/// - `WarmingUp` until [`MIN_ENDED`] requests have ended;
/// - `Failing` when at least half of the requests that ended in the last [`SHORT_SECS`]
///   seconds failed (and at least [`MIN_RECENT_ENDED`] ended), or none of the last
///   [`LONG_SECS`] seconds' succeeded and at least [`MIN_RECENT_ENDED`] failed (an endpoint
///   nobody can reach is retried ever more slowly, so its failures thin out);
/// - `Degraded` when any request failed in the last [`LONG_SECS`] seconds, or the mean TTFT
///   of the last [`SHORT_SECS`] seconds is over [`SLOW_FACTOR`] × the overall p50 (with at
///   least [`MIN_RECENT_TTFTS`] recent and [`MIN_OVERALL_TTFTS`] overall values);
/// - `Healthy` otherwise.
pub fn judge(recent: &[Second], ended: u64, ttft: Option<&Summary>) -> Health {
    if ended < MIN_ENDED {
        return Health::WarmingUp;
    }
    let last = |secs: usize| recent.iter().rev().take(secs);
    let (succeeded, failed) = last(SHORT_SECS).fold((0u32, 0u32), |(s, f), second| {
        (s + second.completed, f + second.failed)
    });
    let ended_short = succeeded + failed;
    if ended_short >= MIN_RECENT_ENDED && failed * 2 >= ended_short {
        return Health::Failing;
    }
    let (succeeded_long, failed_long) = last(LONG_SECS).fold((0u32, 0u32), |(s, f), second| {
        (s + second.completed, f + second.failed)
    });
    if succeeded_long == 0 && failed_long >= MIN_RECENT_ENDED {
        return Health::Failing;
    }
    if failed_long > 0 {
        return Health::Degraded;
    }
    let (sum_ms, count) = last(SHORT_SECS).fold((0.0, 0u32), |(sum, n), second| {
        (sum + second.ttft_sum_ms, n + second.ttft_count)
    });
    if let Some(ttft) = ttft
        && ttft.count >= MIN_OVERALL_TTFTS
        && count >= MIN_RECENT_TTFTS
        && sum_ms / f64::from(count) > SLOW_FACTOR * ttft.p50
    {
        return Health::Degraded;
    }
    Health::Healthy
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `spec[i]` is second i: (succeeded, failed, mean TTFT in ms), one first token per success.
    fn window(spec: &[(u32, u32, f64)]) -> Vec<Second> {
        spec.iter()
            .enumerate()
            .map(|(i, &(completed, failed, ttft))| Second {
                second: i as u64,
                completed,
                failed,
                ttft_sum_ms: ttft * f64::from(completed),
                ttft_count: completed,
                ..Second::default()
            })
            .collect()
    }

    fn quiet(secs: usize) -> Vec<(u32, u32, f64)> {
        vec![(0, 0, 0.0); secs]
    }

    fn ttft(p50: f64, count: u64) -> Summary {
        Summary {
            count,
            min: p50,
            mean: p50,
            p50,
            p90: p50,
            p95: p50,
            p99: p50,
            max: p50,
        }
    }

    #[test]
    fn too_few_ended_requests_are_warming_up() {
        let w = window(&[(1, 1, 100.0)]);
        assert_eq!(judge(&w, 2, None), Health::WarmingUp);
        assert_eq!(judge(&[], 0, None), Health::WarmingUp);
        assert_eq!(judge(&window(&[(3, 0, 100.0)]), 3, None), Health::Healthy);
    }

    #[test]
    fn half_of_the_last_ten_seconds_failing_is_failing() {
        let mut spec = quiet(50);
        spec[45] = (2, 0, 100.0);
        spec[49] = (0, 2, 0.0);
        assert_eq!(judge(&window(&spec), 20, None), Health::Failing);
        // Just under half is only degraded.
        spec[45] = (3, 0, 100.0);
        assert_eq!(judge(&window(&spec), 20, None), Health::Degraded);
    }

    #[test]
    fn one_recent_failure_alone_is_not_failing() {
        let mut spec = quiet(50);
        spec[49] = (0, 1, 0.0);
        assert_eq!(judge(&window(&spec), 20, None), Health::Degraded);
    }

    #[test]
    fn failures_older_than_ten_seconds_do_not_count_for_failing() {
        let mut spec = quiet(50);
        spec[38] = (0, 5, 0.0);
        spec[45] = (2, 0, 100.0);
        assert_eq!(judge(&window(&spec), 20, None), Health::Degraded);
    }

    /// An endpoint nobody can reach is retried ever more slowly: two failures in thirty
    /// seconds and no success is failing, though fewer than two ended in the last ten.
    #[test]
    fn nothing_but_sparse_failures_is_failing() {
        let mut spec = quiet(60);
        spec[59 - 25] = (0, 1, 0.0);
        spec[59 - 5] = (0, 1, 0.0);
        assert_eq!(judge(&window(&spec), 20, None), Health::Failing);
        spec[59 - 20] = (1, 0, 100.0);
        assert_eq!(judge(&window(&spec), 20, None), Health::Degraded);
    }

    #[test]
    fn a_failure_within_thirty_seconds_is_degraded_and_then_forgotten() {
        let mut spec = quiet(60);
        spec[59 - 29] = (0, 1, 0.0);
        assert_eq!(judge(&window(&spec), 20, None), Health::Degraded);
        let mut spec = quiet(60);
        spec[59 - 30] = (0, 1, 0.0);
        assert_eq!(judge(&window(&spec), 20, None), Health::Healthy);
    }

    #[test]
    fn recent_ttft_far_above_the_norm_is_degraded() {
        let mut spec = quiet(20);
        spec[15] = (2, 0, 250.0);
        spec[19] = (1, 0, 190.0);
        // Mean of the last ten seconds: (500 + 190) / 3 = 230 > 2 × 100.
        assert_eq!(
            judge(&window(&spec), 30, Some(&ttft(100.0, 30))),
            Health::Degraded
        );
        assert_eq!(
            judge(&window(&spec), 30, Some(&ttft(120.0, 30))),
            Health::Healthy
        );
    }

    #[test]
    fn slow_ttft_needs_enough_data_to_count() {
        let mut spec = quiet(20);
        spec[19] = (2, 0, 900.0);
        assert_eq!(
            judge(&window(&spec), 30, Some(&ttft(100.0, 30))),
            Health::Healthy,
            "two recent values are not enough"
        );
        spec[18] = (1, 0, 900.0);
        assert_eq!(
            judge(&window(&spec), 30, Some(&ttft(100.0, 9))),
            Health::Healthy,
            "nine overall values are not enough"
        );
        assert_eq!(
            judge(&window(&spec), 30, Some(&ttft(100.0, 10))),
            Health::Degraded
        );
    }
}
