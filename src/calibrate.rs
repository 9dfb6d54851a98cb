//! Choosing the near-duplicate radius from the dataset itself.
//!
//! One fixed radius does not fit every dataset: unrelated web photos sit about 32 bits apart
//! in pHash, unrelated chest X-rays much closer, so a radius that is safe for one floods the
//! other with chance matches. We estimate the background distribution of distances between
//! unrelated images from a deterministic sample of random pairs, and pick the largest radius
//! within fixed bounds at which the expected number of chance matches over all pairs (times
//! the number of transforms tried) stays within a small budget.

use serde::Serialize;

/// The radius is never set below this (re-encodes and resizes sit within it) ...
pub const MIN_RADIUS: u32 = 4;
/// ... nor above this (beyond it, distinct photos start to match).
pub const MAX_RADIUS: u32 = 12;
/// Random pairs sampled to estimate the background distribution.
pub const SAMPLE_PAIRS: usize = 50_000;

/// The chosen radius and the evidence for it (reported in `summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub radius: u32,
    pub sample_pairs: usize,
    pub background_mean: f64,
    pub background_sd: f64,
    /// Expected chance matches over the whole dataset at the chosen radius.
    pub expected_chance_pairs: f64,
    /// Chance matches allowed: max(1, images / 1000).
    pub budget: f64,
    pub reason: String,
}

/// splitmix64: a tiny deterministic generator, so the same hashes give the same radius.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Upper tail bound of the standard normal CDF at `z` (Abramowitz-Stegun 7.1.26 on erfc).
fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

/// Chooses the pHash radius for `hashes` when `transforms` variants of each are queried.
pub fn choose_radius(hashes: &[u64], transforms: usize) -> Calibration {
    let n = hashes.len();
    let budget = (n as f64 / 1000.0).max(1.0);
    if n < 3 {
        return Calibration {
            radius: MAX_RADIUS,
            sample_pairs: 0,
            background_mean: 32.0,
            background_sd: 4.0,
            expected_chance_pairs: 0.0,
            budget,
            reason: format!("{MAX_RADIUS} bits (too few images to calibrate)"),
        };
    }
    let mut state = 0x5EED_u64 ^ n as u64;
    let mut hist = [0usize; 65];
    let samples = SAMPLE_PAIRS.min(n * (n - 1) / 2);
    let mut taken = 0;
    while taken < samples {
        let i = (splitmix(&mut state) % n as u64) as usize;
        let j = (splitmix(&mut state) % n as u64) as usize;
        if i == j {
            continue;
        }
        hist[(hashes[i] ^ hashes[j]).count_ones() as usize] += 1;
        taken += 1;
    }
    let mean = hist.iter().enumerate().map(|(d, c)| d as f64 * *c as f64).sum::<f64>() / taken as f64;
    let var = hist.iter().enumerate().map(|(d, c)| (d as f64 - mean).powi(2) * *c as f64).sum::<f64>() / taken as f64;
    let sd = var.sqrt().max(1.0);
    let total_pairs = n as f64 * (n as f64 - 1.0) / 2.0 * transforms.max(1) as f64;
    // P(d <= r): the larger of the empirical fraction and the normal tail, so that heavy
    // empirical tails (many similar-looking images) are never underestimated.
    let chance = |r: u32| {
        let below: usize = hist[..=r as usize].iter().sum();
        let empirical = below as f64 / taken as f64;
        let normal = normal_cdf((r as f64 + 0.5 - mean) / sd);
        total_pairs * empirical.max(normal)
    };
    let mut radius = MIN_RADIUS;
    for r in MIN_RADIUS..=MAX_RADIUS {
        if chance(r) <= budget {
            radius = r;
        }
    }
    let expected = chance(radius);
    let reason = format!(
        "{radius} bits: unrelated images here are {mean:.1} ± {sd:.1} bits apart ({taken} random pairs); \
         at {radius} bits about {expected:.2} chance matches are expected over all pairs (allowed {budget:.0}), \
         bounds {MIN_RADIUS}..={MAX_RADIUS}"
    );
    Calibration {
        radius,
        sample_pairs: taken,
        background_mean: mean,
        background_sd: sd,
        expected_chance_pairs: expected,
        budget,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_hashes(n: usize, seed: u64) -> Vec<u64> {
        let mut s = seed;
        (0..n).map(|_| splitmix(&mut s)).collect()
    }

    #[test]
    fn spread_out_hashes_get_a_wide_radius() {
        let c = choose_radius(&random_hashes(2000, 1), 2);
        assert!(c.radius >= 8, "{c:?}");
        assert!((c.background_mean - 32.0).abs() < 1.0);
    }

    #[test]
    fn look_alike_hashes_get_a_narrow_radius() {
        // Hashes that share 40 of 64 bits: unrelated images only ~12 bits apart.
        let hs: Vec<u64> = random_hashes(2000, 2).into_iter().map(|h| h & 0xFF_FFFF).collect();
        let c = choose_radius(&hs, 2);
        assert_eq!(c.radius, MIN_RADIUS, "{c:?}");
    }

    #[test]
    fn deterministic() {
        let hs = random_hashes(500, 3);
        assert_eq!(choose_radius(&hs, 1).radius, choose_radius(&hs, 1).radius);
        assert_eq!(choose_radius(&hs, 1).background_mean, choose_radius(&hs, 1).background_mean);
    }

    #[test]
    fn normal_cdf_is_sane() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-6);
        assert!((normal_cdf(-1.96) - 0.025).abs() < 1e-3);
        assert!(normal_cdf(-7.0) < 1e-11);
    }
}
