//! When an attempt that failed is tried again, and after how long: only 429 (rate limited) and
//! 503 (unavailable) are retried; the server's `Retry-After` is honoured (capped), else the
//! wait grows exponentially with jitter. The attempts themselves are sent by `attempts.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest wait before a retry, whatever the server asks.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The wait before the first retry when the server gives no `Retry-After`; doubled for each
/// later one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// A failed attempt worth retrying, and how long the server asked to wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryHint {
    pub retry_after: Option<Duration>,
}

/// 429 and 503 say "not now", not "never": only those are retried.
pub fn is_retryable(status: u16) -> bool {
    status == 429 || status == 503
}

/// A `Retry-After` value, in delay-seconds (`120`) or as an HTTP date, as a wait from `now`;
/// a date in the past is no wait. `None` when it is neither.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        at.with_timezone(&Utc)
            .signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// The wait before retry number `retry` (1 for the first): the server's `Retry-After` capped
/// at [`MAX_WAIT`], else `FIRST_BACKOFF · 2^(retry−1)`, capped, scaled by `jitter` (0 to 1)
/// into its upper half so that clients told off together do not come back together.
pub fn backoff(retry: u32, hint: RetryHint, jitter: f64) -> Duration {
    if let Some(asked) = hint.retry_after {
        return asked.min(MAX_WAIT);
    }
    let doublings = retry.saturating_sub(1).min(16);
    let full = FIRST_BACKOFF.saturating_mul(1 << doublings).min(MAX_WAIT);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn only_429_and_503_are_retried() {
        assert!(is_retryable(429) && is_retryable(503));
        for status in [200, 400, 401, 404, 500, 502, 504] {
            assert!(!is_retryable(status), "{status}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = at("2026-11-23T08:00:00Z");
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 08:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date already past: retry at once.
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 07:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["soon", "-1", "1.5", ""] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn the_servers_wait_is_honoured_up_to_the_cap() {
        let asked = |secs| RetryHint {
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(backoff(1, asked(3), 0.0), Duration::from_secs(3));
        assert_eq!(backoff(5, asked(3), 1.0), Duration::from_secs(3));
        assert_eq!(backoff(1, asked(3600), 0.5), MAX_WAIT);
    }

    #[test]
    fn without_retry_after_the_wait_doubles_with_jitter_and_is_capped() {
        let none = RetryHint::default();
        assert_eq!(backoff(1, none, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(1, none, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(2, none, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(3, none, 1.0), Duration::from_secs(2));
        let middle = backoff(3, none, 0.5);
        assert!(middle > Duration::from_secs(1) && middle < Duration::from_secs(2));
        assert_eq!(backoff(40, none, 1.0), MAX_WAIT);
        assert_eq!(backoff(u32::MAX, none, 0.0), MAX_WAIT / 2);
    }
}
