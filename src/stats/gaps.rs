//! The gaps between one request's tokens while it is in flight, four bytes each instead of a
//! `Duration`'s sixteen: at 10 000 streams of 200 tokens the aggregator holds two million of
//! them. A gap under 2.1 s (every usual one) is kept to the nanosecond, as its timestamps
//! were; a longer one (a stall) to the microsecond, up to 35 minutes.

use std::time::Duration;

/// Set on a gap kept in microseconds; clear on one kept in nanoseconds.
const IN_MICROS: u32 = 1 << 31;

/// One request's gaps between tokens, in arrival order.
#[derive(Clone, Debug, Default)]
pub struct Gaps(Vec<u32>);

impl Gaps {
    pub fn push(&mut self, gap: Duration) {
        let packed = match u32::try_from(gap.as_nanos()) {
            Ok(nanos) if nanos < IN_MICROS => nanos,
            _ => {
                IN_MICROS
                    | u32::try_from(gap.as_micros()).map_or(!IN_MICROS, |us| us.min(!IN_MICROS))
            }
        };
        self.0.push(packed);
    }

    pub fn iter(&self) -> impl Iterator<Item = Duration> + '_ {
        self.0.iter().map(|&packed| {
            if packed & IN_MICROS == 0 {
                Duration::from_nanos(u64::from(packed))
            } else {
                Duration::from_micros(u64::from(packed & !IN_MICROS))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(gap: Duration) -> Duration {
        let mut gaps = Gaps::default();
        gaps.push(gap);
        gaps.iter().next().unwrap()
    }

    #[test]
    fn gaps_under_two_seconds_keep_every_nanosecond() {
        for nanos in [0, 1, 999, 50_000_123, 2_147_483_647] {
            let gap = Duration::from_nanos(nanos);
            assert_eq!(round_trip(gap), gap);
        }
    }

    #[test]
    fn longer_gaps_keep_microseconds_and_saturate_past_35_minutes() {
        assert_eq!(
            round_trip(Duration::from_nanos(2_147_483_648)),
            Duration::from_micros(2_147_483)
        );
        assert_eq!(
            round_trip(Duration::new(5, 123_456)),
            Duration::new(5, 123_000)
        );
        let most = Duration::from_micros(u64::from(!IN_MICROS));
        assert_eq!(round_trip(Duration::from_secs(3 * 3600)), most);
        assert_eq!(round_trip(Duration::MAX), most);
    }

    #[test]
    fn keeps_the_order_of_arrival() {
        let mut gaps = Gaps::default();
        for ms in [50, 10, 3_000, 7] {
            gaps.push(Duration::from_millis(ms));
        }
        let back: Vec<u128> = gaps.iter().map(|g| g.as_millis()).collect();
        assert_eq!(back, [50, 10, 3_000, 7]);
    }
}
