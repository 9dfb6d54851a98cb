//! Choosing the near-duplicate radius from the dataset itself.
//!
//! One fixed radius does not fit every dataset: unrelated web photos sit about 32 bits apart
//! in pHash, unrelated chest X-rays much closer, so a radius that is safe for one floods the
//! other with chance matches. The rule, calibrated on the ground-truth sets in README.md
//! ("Calibration"):
//!
//! 1. sample up to 100,000 random pairs of informative images and take their distance in the
//!    match mode (the minimum over the transforms tried, and the centre-crop queries);
//! 2. drop pairs at distance <= 12 (true copies sit there, so a set full of duplicates does not
//!    drag the estimate down) and fit a normal to the left tail of the rest: least squares of
//!    probit(F(k)) against k + 0.5 where 0.002 <= F(k) <= 0.05;
//! 3. take the largest radius in 4..=10 at which the expected number of chance pairs over the
//!    whole dataset, n_pairs * Phi((r + 0.5 - mu) / sd), is at most 0.1.
//!
//! With fewer than 500 sampled pairs, or a failed fit, the pooled prior (mu 29.1, sd 3.9) of
//! the calibration sets stands in.

use serde::Serialize;

use crate::base::hash::{Transform, distance};
use crate::base::rng::splitmix;

/// The radius is never set below this (re-encodes and resizes sit within it) ...
pub const MIN_RADIUS: u32 = 4;
/// ... nor above this (beyond it, stereo pairs and same-scene shots start to match).
pub const MAX_RADIUS: u32 = 10;
/// Random pairs sampled to estimate the background distribution.
pub const SAMPLE_PAIRS: usize = 100_000;
/// Pairs this close are treated as candidate duplicates, not background.
const CENSOR: u32 = 12;
/// Expected chance pairs allowed over the whole dataset.
const CHANCE_BUDGET: f64 = 0.1;
/// Left-tail quantile range used for the fit.
const FIT_RANGE: (f64, f64) = (0.002, 0.05);
/// Background (mean, sd) of the pooled calibration sets, for datasets too small to fit.
pub const PRIOR: (f64, f64) = (29.1, 3.9);

/// The chosen radius and the evidence for it (reported in `summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub radius: u32,
    pub images: usize,
    pub sample_pairs: usize,
    /// Normal fitted to the left tail of the background (or the prior).
    pub background_mean: f64,
    pub background_sd: f64,
    pub fitted: bool,
    /// Expected chance matches over the whole dataset at the chosen radius.
    pub expected_chance_pairs: f64,
    pub reason: String,
}

/// Standard normal CDF (Abramowitz-Stegun 7.1.26 on erfc, |error| < 1.5e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    0.5 * if x >= 0.0 { erfc } else { 2.0 - erfc }
}

/// Inverse of [`normal_cdf`] by bisection (only called a few dozen times).
pub fn probit(p: f64) -> f64 {
    let (mut lo, mut hi) = (-12.0, 12.0);
    for _ in 0..80 {
        let mid = (lo + hi) / 2.0;
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The hashes of one image that matching uses.
#[derive(Debug, Clone, Copy)]
pub struct MatchHashes {
    pub phash: u64,
    pub crop: Option<u64>,
}

/// Distance of two images in the match mode: the smallest pHash distance over the transforms
/// tried, and over the centre-crop queries in both directions.
pub fn match_distance(a: MatchHashes, b: MatchHashes, transforms: &[Transform]) -> u32 {
    let mut best = 64;
    for &t in transforms {
        best = best.min(distance(t.apply_to_phash(a.phash), b.phash));
        if let Some(c) = a.crop {
            best = best.min(distance(t.apply_to_phash(c), b.phash));
        }
        if let Some(c) = b.crop {
            best = best.min(distance(t.apply_to_phash(c), a.phash));
        }
    }
    best
}

/// Fits (mu, sd) of a normal to the left tail of the distances above the censoring point.
fn tail_fit(hist: &[usize; 65]) -> Option<(f64, f64)> {
    let above: usize = hist[CENSOR as usize + 1..].iter().sum();
    if above == 0 {
        return None;
    }
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut cum = 0;
    for (k, &count) in hist.iter().enumerate().skip(CENSOR as usize + 1) {
        cum += count;
        let f = cum as f64 / above as f64;
        if (FIT_RANGE.0..=FIT_RANGE.1).contains(&f) {
            xs.push(k as f64 + 0.5);
            ys.push(probit(f));
        }
    }
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let b = sxy / sxx;
    if b.is_nan() || b <= 0.0 {
        return None;
    }
    let a = my - b * mx;
    Some((-a / b, 1.0 / b))
}

/// Chooses the pHash radius for these images under the given match mode.
pub fn choose_radius(hashes: &[MatchHashes], transforms: &[Transform]) -> Calibration {
    let n = hashes.len();
    let all_pairs = n * n.saturating_sub(1) / 2;
    let mut hist = [0usize; 65];
    let mut taken = 0;
    if all_pairs <= SAMPLE_PAIRS {
        for i in 0..n {
            for j in i + 1..n {
                hist[match_distance(hashes[i], hashes[j], transforms) as usize] += 1;
            }
        }
        taken = all_pairs;
    } else {
        let mut state = 0x5EED_u64 ^ n as u64;
        while taken < SAMPLE_PAIRS {
            let i = (splitmix(&mut state) % n as u64) as usize;
            let j = (splitmix(&mut state) % n as u64) as usize;
            if i != j {
                hist[match_distance(hashes[i], hashes[j], transforms) as usize] += 1;
                taken += 1;
            }
        }
    }
    let fit = if taken >= 500 { tail_fit(&hist) } else { None };
    let (mean, sd) = fit.unwrap_or(PRIOR);
    let chance = |r: u32| all_pairs as f64 * normal_cdf((r as f64 + 0.5 - mean) / sd);
    let radius = (MIN_RADIUS..=MAX_RADIUS)
        .filter(|&r| chance(r) <= CHANCE_BUDGET)
        .max()
        .unwrap_or(MIN_RADIUS);
    let expected = chance(radius);
    let source = if fit.is_some() {
        format!(
            "unrelated images here are {mean:.1} ± {sd:.1} bits apart (left-tail fit on {taken} random pairs)"
        )
    } else {
        format!(
            "too few images to fit, so the prior {mean:.1} ± {sd:.1} bits of the calibration sets"
        )
    };
    let reason = format!(
        "{radius} bits: {source}; at {radius} bits about {expected:.3} chance matches are expected over all \
         {all_pairs} pairs (bounds {MIN_RADIUS}..={MAX_RADIUS}, allowed {CHANCE_BUDGET})"
    );
    Calibration {
        radius,
        images: n,
        sample_pairs: taken,
        background_mean: mean,
        background_sd: sd,
        fitted: fit.is_some(),
        expected_chance_pairs: expected,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_hashes(n: usize, seed: u64, mask: u64) -> Vec<MatchHashes> {
        let mut s = seed;
        (0..n)
            .map(|_| MatchHashes {
                phash: splitmix(&mut s) & mask,
                crop: None,
            })
            .collect()
    }

    #[test]
    fn spread_out_hashes_get_the_widest_radius() {
        let c = choose_radius(&random_hashes(2000, 1, u64::MAX), &Transform::ALL[..1]);
        assert_eq!(c.radius, MAX_RADIUS, "{c:?}");
        assert!(c.fitted);
        assert!((c.background_mean - 32.0).abs() < 2.0, "{c:?}");
    }

    #[test]
    fn look_alike_hashes_get_a_narrow_radius() {
        // Unrelated images only ~20 bits apart: the X-ray case.
        let c = choose_radius(
            &random_hashes(3000, 2, 0xFF_FFFF_FFFF),
            &Transform::ALL[..2],
        );
        assert!(c.radius < 8, "{c:?}");
    }

    #[test]
    fn many_duplicates_do_not_shrink_the_radius() {
        // Half the set is exact copies of the other half: censored, not background.
        let mut hs = random_hashes(1500, 3, u64::MAX);
        let copies: Vec<MatchHashes> = hs.clone();
        hs.extend(copies);
        let c = choose_radius(&hs, &Transform::ALL[..1]);
        assert_eq!(c.radius, MAX_RADIUS, "{c:?}");
    }

    #[test]
    fn tiny_sets_use_the_prior_and_are_deterministic() {
        let hs = random_hashes(20, 4, u64::MAX);
        let c = choose_radius(&hs, &Transform::ALL[..2]);
        assert!(!c.fitted);
        assert_eq!(c.background_mean, PRIOR.0);
        assert_eq!(c.radius, choose_radius(&hs, &Transform::ALL[..2]).radius);
    }

    #[test]
    fn normal_cdf_and_probit_are_sane() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-6);
        assert!((normal_cdf(-1.96) - 0.025).abs() < 1e-3);
        assert!(normal_cdf(-7.0) < 1e-11);
        assert!((probit(0.025) + 1.96).abs() < 1e-3);
    }

    #[test]
    fn match_distance_sees_flips_and_crops() {
        let a = MatchHashes {
            phash: 0x1234_5678_9abc_def1,
            crop: Some(0xfff0),
        };
        let flipped = MatchHashes {
            phash: Transform::FlipH.apply_to_phash(a.phash),
            crop: None,
        };
        assert_eq!(match_distance(a, flipped, &Transform::ALL[..2]), 0);
        assert!(match_distance(a, flipped, &Transform::ALL[..1]) > 0);
        let cropped = MatchHashes {
            phash: 0xfff0,
            crop: None,
        };
        assert_eq!(match_distance(a, cropped, &Transform::ALL[..1]), 0);
    }
}
