//! Float-to-integer conversions, named for the rule they follow: `as` saturates (NaN is 0,
//! below zero is 0, beyond the type is its maximum), and that is what every caller here wants:
//! a bucket, a count of steps or a level drawn from a measured or damaged value.

/// `value` toward zero as a `u64`: NaN and negatives are 0, beyond `u64::MAX` is `u64::MAX`.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "saturating is the rule this function names"
)]
pub fn saturating_u64(value: f64) -> u64 {
    value as u64
}

/// `value` toward zero as a `usize`, saturating like [`saturating_u64`].
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "saturating is the rule this function names"
)]
pub fn saturating_usize(value: f64) -> usize {
    value as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate() {
        assert_eq!(saturating_u64(2.9), 2);
        assert_eq!(saturating_u64(-3.0), 0);
        assert_eq!(saturating_u64(f64::NAN), 0);
        assert_eq!(saturating_u64(1e30), u64::MAX);
        assert_eq!(saturating_usize(7.0), 7);
        assert_eq!(saturating_usize(f64::INFINITY), usize::MAX);
    }
}
