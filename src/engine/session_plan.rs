//! How a race's sessions run: their turns and the think time before each later turn, drawn
//! from a seed so that every endpoint and every run with the same seed pauses alike.

use std::time::Duration;

use crate::config::{ThinkDistribution, ThinkTime};

/// How a race's sessions run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sessions {
    /// Turns per session, at least 2.
    pub turns: u32,
    pub think_time: Option<ThinkTime>,
    /// The think times' seed (the workload's): the same seed gives the same pauses.
    pub seed: u64,
}

impl Sessions {
    /// The pause before turn `turn` (from 2) of the session numbered `number` at its endpoint:
    /// the same for every endpoint and every run with the same seed.
    pub fn think_before(&self, number: u64, turn: u32) -> Duration {
        let Some(think) = self.think_time else {
            return Duration::ZERO;
        };
        match think.distribution {
            ThinkDistribution::Fixed => think.mean,
            ThinkDistribution::Exponential => {
                let draw = mix(self.seed ^ mix(number ^ mix(u64::from(turn))));
                // A uniform draw in (0, 1]: never 0, whose logarithm is infinite.
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "53 random bits make an exact double"
                )]
                let u = ((draw >> 11) + 1) as f64 / (1_u64 << 53) as f64;
                think.mean.mul_f64(-u.ln())
            }
        }
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(distribution: ThinkDistribution) -> Sessions {
        Sessions {
            turns: 4,
            think_time: Some(ThinkTime {
                mean: Duration::from_secs(2),
                distribution,
            }),
            seed: 7,
        }
    }

    #[test]
    fn a_fixed_think_time_is_the_mean() {
        let fixed = sessions(ThinkDistribution::Fixed);
        assert_eq!(fixed.think_before(3, 2), Duration::from_secs(2));
        let none = Sessions {
            think_time: None,
            ..fixed
        };
        assert_eq!(none.think_before(3, 2), Duration::ZERO);
    }

    #[test]
    fn exponential_think_times_are_seeded_and_average_to_the_mean() {
        let exp = sessions(ThinkDistribution::Exponential);
        assert_eq!(exp.think_before(5, 2), exp.think_before(5, 2));
        assert_ne!(exp.think_before(5, 2), exp.think_before(5, 3));
        let other = Sessions { seed: 8, ..exp };
        assert_ne!(exp.think_before(5, 2), other.think_before(5, 2));
        let n = 20_000_u32;
        let total: f64 = (0..u64::from(n))
            .map(|i| exp.think_before(i, 2).as_secs_f64())
            .sum();
        let mean = total / f64::from(n);
        assert!((mean - 2.0).abs() < 0.1, "{mean}");
    }
}
