//! How numbers are written for people: durations with sensible units, rates, counts, shares,
//! dollars. Every view and report writes its numbers through here, so `26.0 ms` reads the same
//! everywhere; it imports nothing of the crate, so every layer may use it.

/// Milliseconds as `850 µs`, `42.1 ms`, `1.23 s`, or `—` when absent.
pub fn ms(value: Option<f64>) -> String {
    match value {
        None => "—".to_string(),
        Some(v) if v < 1.0 => format!("{:.0} µs", v * 1000.0),
        Some(v) if v < 100.0 => format!("{v:.1} ms"),
        Some(v) if v < 1000.0 => format!("{v:.0} ms"),
        Some(v) if v < 100_000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) => format!("{:.0} s", v / 1000.0),
    }
}

/// A rate such as tokens/s: `1234`, `56.7`, `0.25`.
pub fn rate(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A count of things, with the noun's plural when it is not one: `1 chunk`, `3 chunks`.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    match n.into() {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// A share as a percentage: `99.5%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 99.95 || p == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Dollars for people: `$12.35`, `$0.0123`, `$0.000041`.
pub fn usd(value: f64) -> String {
    if value >= 1.0 || value == 0.0 {
        format!("${value:.2}")
    } else if value >= 0.01 {
        format!("${value:.4}")
    } else {
        format!("${value:.6}")
    }
}

/// Dollars in at most 7 characters, for narrow columns: `$1234`, `$12.35`, `$0.0073`,
/// `<$0.001`.
pub fn usd_short(value: f64) -> String {
    if value >= 1000.0 {
        format!("${value:.0}")
    } else if value >= 1.0 || value == 0.0 {
        format!("${value:.2}")
    } else if value >= 0.001 {
        format!("${value:.4}")
    } else {
        "<$0.001".to_string()
    }
}

/// Bytes for people, in powers of 1000: `512 B`, `84 kB`, `1.2 MB`.
#[must_use]
pub fn bytes(n: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a size shown to a person")]
    let x = n as f64;
    if n < 1000 {
        format!("{n} B")
    } else if n < 1_000_000 {
        format!("{:.0} kB", x / 1e3)
    } else {
        format!("{:.1} MB", x / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_readable_units() {
        assert_eq!(ms(None), "—");
        assert_eq!(ms(Some(0.25)), "250 µs");
        assert_eq!(ms(Some(42.14)), "42.1 ms");
        assert_eq!(ms(Some(250.0)), "250 ms");
        assert_eq!(ms(Some(1234.0)), "1.23 s");
        assert_eq!(ms(Some(123_456.0)), "123 s");
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(1u32, "chunk"), "1 chunk");
        assert_eq!(count(0u32, "endpoint"), "0 endpoints");
        assert_eq!(count(8usize as u64, "endpoint"), "8 endpoints");
    }

    #[test]
    fn rates_and_percentages() {
        assert_eq!(rate(1234.4), "1234");
        assert_eq!(rate(56.78), "56.8");
        assert_eq!(rate(0.25), "0.25");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.875), "87.5%");
        assert_eq!(percent(0.0), "0%");
    }

    #[test]
    fn dollars_keep_their_significant_digits() {
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.01234), "$0.0123");
        assert_eq!(usd(0.000_041_2), "$0.000041");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd_short(0.007_336), "$0.0073");
        assert_eq!(usd_short(12.345), "$12.35");
        assert_eq!(usd_short(4321.0), "$4321");
        assert_eq!(usd_short(0.000_041_2), "<$0.001");
    }
}
