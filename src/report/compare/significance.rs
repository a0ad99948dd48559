//! The statistics behind a comparison's verdicts, as small pure functions: the Mann–Whitney U
//! test, a two-proportion z-test, and a bootstrap standard error for rates.

/// The result of a two-sided Mann–Whitney U test of sample `a` against sample `b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannWhitney {
    /// U of sample `a`: the pairs (x from a, y from b) with x > y, ties counting a half.
    pub u: f64,
    /// The normal approximation's z (continuity- and tie-corrected); positive when `a` tends to
    /// hold the larger values.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Two-sided Mann–Whitney U test by the normal approximation, with midranks for ties, the tie
/// correction of the variance and a continuity correction (what `scipy.stats.mannwhitneyu`
/// does with `method="asymptotic"`). Non-finite values are ignored; `None` when a side is empty.
#[expect(
    clippy::many_single_char_names,
    clippy::float_cmp,
    reason = "the test's own notation (U, z, p); ties are values exactly equal"
)]
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let mut values: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .filter(|(v, _)| v.is_finite())
        .collect();
    let n_a = values.iter().filter(|(_, from_a)| *from_a).count() as f64;
    let n_b = values.len() as f64 - n_a;
    if n_a == 0.0 || n_b == 0.0 {
        return None;
    }
    values.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut start = 0;
    while start < values.len() {
        let mut end = start + 1;
        while end < values.len() && values[end].0 == values[start].0 {
            end += 1;
        }
        // Positions start..end hold equal values: each gets the mean of ranks start+1..=end.
        let midrank = (start + 1 + end) as f64 / 2.0;
        let in_a = values[start..end]
            .iter()
            .filter(|(_, from_a)| *from_a)
            .count();
        rank_sum_a += midrank * in_a as f64;
        let t = (end - start) as f64;
        tie_term += t * t * t - t;
        start = end;
    }
    let n = n_a + n_b;
    let u = rank_sum_a - n_a * (n_a + 1.0) / 2.0;
    let mean = n_a * n_b / 2.0;
    let variance = n_a * n_b / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    let offset = u - mean;
    // Every value tied: no evidence either way.
    if variance <= 0.0 || offset.abs() <= 0.5 {
        return Some(MannWhitney { u, z: 0.0, p: 1.0 });
    }
    let z = (offset - 0.5 * offset.signum()) / variance.sqrt();
    Some(MannWhitney {
        u,
        z,
        p: two_sided_p(z),
    })
}

/// Two-sided z-test of two proportions `x1/n1` and `x2/n2` with the pooled variance. Returns
/// the p-value: 1 when there is nothing to test (an empty side, or both proportions 0 or 1).
pub fn two_proportion_p(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (n1, n2) = (n1 as f64, n2 as f64);
    let (p1, p2) = (x1 as f64 / n1, x2 as f64 / n2);
    let pooled = (x1 as f64 + x2 as f64) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 {
        return 1.0;
    }
    two_sided_p((p2 - p1) / se)
}

/// Bootstrap standard error of `ln(Σ numerator / Σ denominator)` over `pairs` resampled with
/// replacement: the sampling noise of a ratio-of-sums rate such as tokens/s = Σ tokens / Σ time.
/// Deterministic for a given `seed`. 0 for fewer than two pairs.
pub fn log_ratio_se(pairs: &[(f64, f64)], resamples: u32, seed: u64) -> f64 {
    let n = pairs.len();
    if n < 2 || resamples < 2 {
        return 0.0;
    }
    let mut rng = SplitMix64(seed);
    let mut logs = Vec::with_capacity(resamples as usize);
    for _ in 0..resamples {
        let (mut num, mut den) = (0.0, 0.0);
        for _ in 0..n {
            let (x, y) = pairs[rng.below(n)];
            num += x;
            den += y;
        }
        if num > 0.0 && den > 0.0 {
            logs.push((num / den).ln());
        }
    }
    if logs.len() < 2 {
        return 0.0;
    }
    let k = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / k;
    (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt()
}

/// Two-sided p-value of the difference of two log rates with standard errors `se_a`, `se_b`.
pub fn log_rate_p(rate_a: f64, se_a: f64, rate_b: f64, se_b: f64) -> f64 {
    if !(rate_a > 0.0 && rate_b > 0.0) {
        return 1.0;
    }
    let diff = rate_b.ln() - rate_a.ln();
    let se = se_a.hypot(se_b);
    if diff == 0.0 {
        return 1.0;
    }
    if se <= 0.0 {
        // No measured noise at all: any difference is real.
        return 0.0;
    }
    two_sided_p(diff / se)
}

/// P(|Z| ≥ |z|) for a standard normal Z.
pub fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// The complementary error function, to a relative error below 1.2e-7 (the Chebyshev fit of
/// `erfcc` of Numerical Recipes): plenty for p-values judged against 0.05.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// A tiny, stable PRNG (`SplitMix64`) so bootstrap results never change with a dependency's
/// version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (the modulo bias is negligible for sample sizes).
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the remainder is below `n`, a usize"
    )]
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "exact values: parsed from literals or computed from whole numbers"
)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn erfc_matches_tabulated_values() {
        assert!(close(erfc(0.0), 1.0, 1e-7));
        assert!(close(erfc(0.5), 0.479_500_122, 1e-7));
        assert!(close(erfc(1.0), 0.157_299_207, 1e-7));
        assert!(close(erfc(2.0), 0.004_677_735, 1e-8));
        assert!(close(erfc(-1.0), 1.842_700_793, 1e-7));
        assert!(close(two_sided_p(1.959_964), 0.05, 1e-6));
    }

    #[test]
    fn mann_whitney_fully_separated_samples() {
        // a = 1..=8, b = 9..=16: no a exceeds any b, so U_a = 0. μ = 8·8/2 = 32,
        // σ² = 8·8·17/12 = 90.667, z = (0 − 32 + 0.5)/9.5219 = −3.3082, p = 0.000939.
        let a: Vec<f64> = (1..=8).map(f64::from).collect();
        let b: Vec<f64> = (9..=16).map(f64::from).collect();
        let r = mann_whitney(&a, &b).unwrap();
        assert_eq!(r.u, 0.0);
        assert!(close(r.z, -3.308_162, 1e-5), "{r:?}");
        assert!(close(r.p, 0.000_939_1, 1e-6), "{r:?}");
        // Swapping the samples mirrors U and z and keeps p.
        let s = mann_whitney(&b, &a).unwrap();
        assert_eq!(s.u, 64.0);
        assert!(close(s.z, -r.z, 1e-12) && close(s.p, r.p, 1e-12));
    }

    #[test]
    fn mann_whitney_with_ties() {
        // Sorted: 1a 2a 2a 2b 3a 4b 4b 5a 6b 7b 8b. The three 2s share rank 3, the two 4s 6.5.
        // R_a = 1 + 3 + 3 + 5 + 8 = 20, U_a = 20 − 5·6/2 = 5, μ = 15.
        // Tie term Σ(t³ − t) = 24 + 6 = 30; σ² = 5·6/12 · (12 − 30/110) = 29.318.
        // z = (5 − 15 + 0.5)/√29.318 = −1.7545, p = 0.0793.
        let a = [1.0, 2.0, 2.0, 3.0, 5.0];
        let b = [2.0, 4.0, 4.0, 6.0, 7.0, 8.0];
        let r = mann_whitney(&a, &b).unwrap();
        assert_eq!(r.u, 5.0);
        assert!(close(r.z, -1.754_507, 1e-5), "{r:?}");
        assert!(close(r.p, 0.079_344, 1e-5), "{r:?}");
    }

    #[test]
    fn mann_whitney_degenerate_inputs() {
        assert_eq!(mann_whitney(&[], &[1.0]), None);
        assert_eq!(mann_whitney(&[f64::NAN], &[1.0]), None);
        let same = mann_whitney(&[3.0; 10], &[3.0; 10]).unwrap();
        assert_eq!((same.z, same.p), (0.0, 1.0));
        let equal = mann_whitney(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(equal.p, 1.0);
    }

    #[test]
    fn two_proportions_textbook() {
        // 45/100 vs 56/100: pooled 0.505, se = √(0.505·0.495·0.02) = 0.070709,
        // z = 0.11/0.070709 = 1.5557, p = 0.1198.
        assert!(close(two_proportion_p(45, 100, 56, 100), 0.119_776, 1e-5));
        assert!(close(two_proportion_p(56, 100, 45, 100), 0.119_776, 1e-5));
        assert_eq!(two_proportion_p(0, 40, 0, 40), 1.0);
        assert_eq!(two_proportion_p(0, 0, 3, 40), 1.0);
        // 0/40 vs 5/40: z = 0.125/0.054127 = 2.3094, p = 0.0209.
        assert!(close(two_proportion_p(0, 40, 5, 40), 0.020_921, 1e-5));
    }

    #[test]
    fn bootstrap_is_deterministic_and_sized_like_the_delta_method() {
        let constant = vec![(100.0, 1.0); 30];
        assert!(log_ratio_se(&constant, 500, 7) < 1e-12);
        assert_eq!(log_ratio_se(&[(1.0, 1.0)], 500, 7), 0.0);
        // Numerators alternating 90/110 over unit time: relative sd 0.1, so the se of the log of
        // the mean of 100 values is about 0.1/√100 = 0.01.
        let pairs: Vec<(f64, f64)> = (0..100)
            .map(|i| (if i % 2 == 0 { 90.0 } else { 110.0 }, 1.0))
            .collect();
        let se = log_ratio_se(&pairs, 2000, 1);
        assert!(close(se, 0.01, 0.0015), "{se}");
        assert_eq!(se, log_ratio_se(&pairs, 2000, 1));
    }

    #[test]
    fn log_rates() {
        assert_eq!(log_rate_p(10.0, 0.01, 10.0, 0.01), 1.0);
        assert_eq!(log_rate_p(10.0, 0.0, 11.0, 0.0), 0.0);
        assert_eq!(log_rate_p(0.0, 0.1, 11.0, 0.1), 1.0);
        // ln(1.1) = 0.09531 over √2·0.05 = 0.070711: z = 1.3479, p = 0.1777.
        assert!(close(log_rate_p(10.0, 0.05, 11.0, 0.05), 0.177_7, 1e-3));
    }
}
