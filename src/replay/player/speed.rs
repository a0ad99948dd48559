//! Playback speed: a few fixed steps from a quarter of the race's pace to 16 times it, then as
//! fast as the machine folds events. Bounded, so a held `+` key cannot run away.

use std::fmt;

/// The steps `+` and `-` move through; past the last comes [`Speed::MAX`].
pub const STEPS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];
const SLOWEST: f64 = STEPS[0];
const FASTEST: f64 = STEPS[STEPS.len() - 1];

/// How fast race time passes during playback: a factor of real time, or as fast as possible.
/// Always within [0.25, 16] or `MAX` (the field is private so it stays so).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Speed(Option<f64>);

impl Speed {
    /// The race's own pace.
    pub const NORMAL: Speed = Speed(Some(1.0));
    /// As fast as possible: straight to the end.
    pub const MAX: Speed = Speed(None);

    /// Reads `--speed`: a factor from 0.25 to 16 (`2`, `0.5`, `2x`), or `max`.
    pub fn parse(text: &str) -> Result<Speed, String> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("max") {
            return Ok(Speed::MAX);
        }
        let number = trimmed
            .strip_suffix(['x', 'X', '×'])
            .unwrap_or(trimmed)
            .trim();
        match number.parse::<f64>() {
            // Also refuses NaN, which is in no range.
            Ok(factor) if (SLOWEST..=FASTEST).contains(&factor) => Ok(Speed(Some(factor))),
            _ => Err(format!(
                "'{text}' is not a playback speed: give a factor from {SLOWEST} to {FASTEST} \
                 (e.g. 2 or 0.5), or max for as fast as possible"
            )),
        }
    }

    /// The factor of real time; `None` for as fast as possible.
    pub fn factor(self) -> Option<f64> {
        self.0
    }

    /// The next step up: 16 becomes `MAX`, which stays. A speed between steps (`--speed 3`)
    /// goes to the step above it.
    #[must_use]
    pub fn faster(self) -> Speed {
        match self.0 {
            None => Speed::MAX,
            Some(f) => STEPS
                .iter()
                .find(|step| **step > f)
                .map_or(Speed::MAX, |step| Speed(Some(*step))),
        }
    }

    /// The next step down: `MAX` becomes 16; 0.25 stays.
    #[must_use]
    pub fn slower(self) -> Speed {
        match self.0 {
            None => Speed(Some(FASTEST)),
            Some(f) => Speed(Some(
                STEPS
                    .iter()
                    .rev()
                    .find(|step| **step < f)
                    .copied()
                    .unwrap_or(SLOWEST),
            )),
        }
    }
}

impl Default for Speed {
    fn default() -> Self {
        Speed::NORMAL
    }
}

/// `0.25×`, `1×`, `16×`, `max`.
impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(factor) => write!(f, "{factor}×"),
            None => f.write_str("max"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_takes_factors_in_range_and_max() {
        for (text, factor) in [
            ("1", Some(1.0)),
            ("0.25", Some(0.25)),
            ("16", Some(16.0)),
            ("2x", Some(2.0)),
            (" 3 ", Some(3.0)),
            ("0.5×", Some(0.5)),
            ("max", None),
            ("MAX", None),
        ] {
            assert_eq!(Speed::parse(text).map(Speed::factor), Ok(factor), "{text}");
        }
        for text in ["0.1", "17", "0", "-1", "fast", "", "NaN", "inf", "1e9"] {
            let error = Speed::parse(text).unwrap_err();
            assert!(error.contains("0.25 to 16"), "{text}: {error}");
        }
    }

    #[test]
    fn steps_are_bounded_at_both_ends() {
        let mut speed = Speed::NORMAL;
        for _ in 0..20 {
            speed = speed.slower();
        }
        assert_eq!(speed.factor(), Some(0.25));
        let mut seen = vec![speed];
        for _ in 0..20 {
            speed = speed.faster();
            seen.push(speed);
        }
        let factors: Vec<_> = seen.iter().take(9).map(|s| s.factor()).collect();
        assert_eq!(
            factors,
            [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
                .map(Some)
                .into_iter()
                .chain([None, None])
                .collect::<Vec<_>>()
        );
        assert_eq!(speed, Speed::MAX);
        assert_eq!(Speed::MAX.slower().factor(), Some(16.0));
        // Between steps: to the neighbouring steps.
        let three = Speed::parse("3").unwrap();
        assert_eq!(three.faster().factor(), Some(4.0));
        assert_eq!(three.slower().factor(), Some(2.0));
    }

    #[test]
    fn speeds_read_as_people_write_them() {
        let text: Vec<String> = [0.25, 1.0, 16.0]
            .iter()
            .map(|f| Speed::parse(&f.to_string()).unwrap().to_string())
            .chain([Speed::MAX.to_string()])
            .collect();
        assert_eq!(text, ["0.25×", "1×", "16×", "max"]);
    }
}
