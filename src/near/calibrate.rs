//! Choosing the 256-bit radius from the dataset: chance matches of the real decision.
//!
//! The decision ([`crate::near::decide`]) takes the smallest distance over the tried transforms,
//! the trimmed and untrimmed views and the crop hashes, so chance matches are estimated for
//! exactly that distance ([`match_distance`]), never for one hash alone:
//!
//! 1. sample up to 1,000,000 random pairs of informative images (all pairs when there are
//!    fewer) and take their decision distance;
//! 2. drop pairs at or below [`MAX_RADIUS`] (candidate copies, so a set full of duplicates does
//!    not drag the estimate down) and fit a straight line to `log10 F(k)`, the left tail of the
//!    rest, between the quantiles `max(1e-4, 20 / samples)` and `1e-2` (at least the two
//!    lowest occupied distances, when the background starts right above the censor). A straight line in
//!    log-CDF is an exponential tail: heavier than a normal one, so the extrapolation to the
//!    radius overestimates chance matches rather than hiding them (measured: the unrelated pairs
//!    of every shared set fall off faster than the line, docs/DESIGN.md "Calibration");
//! 3. expected chance matches at radius `r`: `n_pairs * F(r)`; take the largest `r` in
//!    `MIN_RADIUS..=MAX_RADIUS` where that is at most 0.1. If even the floor exceeds it, the
//!    floor stays and the printed expectation says how many chance matches that costs.
//!
//! The bounds come from the measurements: print-and-scan copies sit at up to 36 bits, 10% white
//! borders at up to 36, brightness x1.3 at up to 25, 50% resize + JPEG q75 at 2-4 (max 12);
//! the closest different images in the shared sets sit at 59 (X-rays) and 64 (a stereo pair).
//! With fewer than 20,000 sampled pairs the prior tail of the X-ray set (the most look-alike
//! set measured) stands in.

use rayon::prelude::*;
use serde::Serialize;

use crate::base::hash::{HashList, Transform};
use crate::base::rng::splitmix;
use crate::near::decide::match_distance;

/// The radius is never set below this (print-and-scan copies and white frames sit within it)
/// ...
pub const MIN_RADIUS: u32 = 40;
/// ... nor above this (the closest different images measured sit at 59).
pub const MAX_RADIUS: u32 = 48;
/// Random pairs sampled to estimate the background.
pub const SAMPLE_PAIRS: usize = 1_000_000;
/// Fewer sampled pairs than this: use the prior.
const MIN_SAMPLES: usize = 20_000;
/// Expected chance pairs allowed over the whole dataset.
const CHANCE_BUDGET: f64 = 0.1;
/// Upper end of the fitted quantile range (the lower end is `max(1e-4, 20 / samples)`).
const FIT_TOP: f64 = 1e-2;
/// Prior tail `(k4, bits per decade)`: `F(k4) = 1e-4`, ten times fewer pairs every `bits per
/// decade` bits below it; fitted on xray_lookalike (docs/DESIGN.md "Calibration").
pub const PRIOR: (f64, f64) = (64.0, 8.0);

/// The chosen radius and the evidence for it (reported in `summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Calibration256 {
    pub radius: u32,
    pub images: usize,
    pub sample_pairs: usize,
    /// Decision distance at which 1 in 10,000 unrelated pairs match (fitted line).
    pub tail_bits_at_1e4: f64,
    /// Bits per tenfold drop of the left tail (fitted line).
    pub tail_bits_per_decade: f64,
    pub fitted: bool,
    /// Expected chance matches over the whole dataset at the chosen radius.
    pub expected_chance_pairs: f64,
    /// The floor is in force: the budget would have asked for less than `MIN_RADIUS`.
    pub at_floor: bool,
    pub reason: String,
}

/// Least-squares line through `(k, log10 F(k))` over the fitted range: `(k4, bits/decade)`.
fn tail_fit(hist: &[usize], min_q: f64) -> Option<(f64, f64)> {
    let above: usize = hist[MAX_RADIUS as usize + 1..].iter().sum();
    if above == 0 {
        return None;
    }
    // (k, log10 F(k)) at every occupied distance above the censor with F >= min_q, up to
    // FIT_TOP; at least the first two, so a background that starts right above the censor
    // (look-alike images) still gets a line, and a steep one towards the radius.
    let mut points = Vec::new();
    let mut cum = 0;
    for (k, &count) in hist.iter().enumerate().skip(MAX_RADIUS as usize + 1) {
        cum += count;
        let f = cum as f64 / above as f64;
        if count > 0 && f >= min_q {
            if f > FIT_TOP && points.len() >= 2 {
                break;
            }
            points.push((k as f64, f.log10()));
        }
    }
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.into_iter().unzip();
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let b = sxy / sxx;
    if !b.is_finite() || b <= 0.0 {
        return None;
    }
    // log10 F(k) = my + b (k - mx); F(k4) = 1e-4.
    Some((mx + (-4.0 - my) / b, 1.0 / b))
}

/// Chooses the radius for these images under the decision with `transforms` and `crops`.
/// Takes the hashes by reference or by value (`leaks` lends references into its records, so
/// no copy of the hashes is made at a million images).
pub fn choose_radius<L: HashList + ?Sized>(
    hashes: &L,
    transforms: &[Transform],
    crops: bool,
) -> Calibration256 {
    let n = hashes.count();
    let all_pairs = n * n.saturating_sub(1) / 2;
    let distance = |i: usize, j: usize| {
        match_distance(&hashes.hashes(i), &hashes.hashes(j), transforms, crops) as usize
    };
    let mut hist = vec![0usize; 257];
    let taken;
    if all_pairs <= SAMPLE_PAIRS {
        for i in 0..n {
            for j in i + 1..n {
                hist[distance(i, j)] += 1;
            }
        }
        taken = all_pairs;
    } else {
        // The pairs are drawn in order (the same sample on every machine), their distances
        // taken in parallel.
        let mut state = 0x256_5EED_u64 ^ n as u64;
        let mut pairs = Vec::with_capacity(SAMPLE_PAIRS);
        while pairs.len() < SAMPLE_PAIRS {
            let i = (splitmix(&mut state) % n as u64) as u32;
            let j = (splitmix(&mut state) % n as u64) as u32;
            if i != j {
                pairs.push((i, j));
            }
        }
        hist = pairs
            .par_chunks(4096)
            .fold(
                || vec![0usize; 257],
                |mut h, chunk| {
                    for &(i, j) in chunk {
                        h[distance(i as usize, j as usize)] += 1;
                    }
                    h
                },
            )
            .reduce(
                || vec![0usize; 257],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        taken = pairs.len();
    }
    let fit = if taken >= MIN_SAMPLES {
        tail_fit(&hist, (20.0 / taken as f64).max(1e-4))
    } else {
        None
    };
    let (k4, per_decade) = fit.unwrap_or(PRIOR);
    let chance =
        |r: u32| all_pairs as f64 * 10f64.powf(-4.0 + (r as f64 - k4) / per_decade).min(1.0);
    let within = (MIN_RADIUS..=MAX_RADIUS)
        .filter(|&r| chance(r) <= CHANCE_BUDGET)
        .max();
    let radius = within.unwrap_or(MIN_RADIUS);
    let expected = chance(radius);
    let source = if fit.is_some() {
        format!(
            "1 in 10,000 unrelated pairs here match at {k4:.0} bits, 10x fewer every {per_decade:.1} bits \
             below (left-tail fit on {taken} random pairs)"
        )
    } else {
        format!(
            "too few images to fit, so the prior tail of the X-ray set ({k4:.0} bits at 1 in 10,000, \
             10x fewer every {per_decade:.0} bits)"
        )
    };
    let verdict = if within.is_some() {
        format!(
            "at {radius} bits about {expected:.3} chance matches are expected over all {all_pairs} pairs"
        )
    } else {
        format!(
            "even at the floor of {MIN_RADIUS} bits about {expected:.1} chance matches are expected \
             over all {all_pairs} pairs (more than the {CHANCE_BUDGET} allowed); the floor stays so \
             that print-and-scan copies are still found"
        )
    };
    let reason = format!(
        "{radius} of 256 bits: {source}; {verdict} (bounds {MIN_RADIUS}..={MAX_RADIUS}, allowed \
         {CHANCE_BUDGET})"
    );
    Calibration256 {
        radius,
        images: n,
        sample_pairs: taken,
        tail_bits_at_1e4: k4,
        tail_bits_per_decade: per_decade,
        fitted: fit.is_some(),
        expected_chance_pairs: expected,
        at_floor: within.is_none(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::hash::{Hash256, Hashes256};

    /// Random images whose hash words are masked: fewer free bits, closer unrelated pairs.
    fn images(n: usize, seed: u64, free_words: usize) -> Vec<Hashes256> {
        let mut s = seed;
        let one = |s: &mut u64| {
            let mut w = [0u64; 4];
            for x in w.iter_mut().take(free_words) {
                *x = splitmix(s);
            }
            Hash256(w)
        };
        (0..n)
            .map(|_| Hashes256 {
                full: one(&mut s),
                untrimmed: None,
                crops: [one(&mut s), one(&mut s)],
            })
            .collect()
    }

    const FLIP: &[Transform] = &[Transform::Identity, Transform::FlipH];

    #[test]
    fn spread_out_hashes_get_the_widest_radius() {
        let c = choose_radius(&images(1500, 1, 4), FLIP, true);
        assert!(c.fitted, "{c:?}");
        assert_eq!(c.radius, MAX_RADIUS, "{c:?}");
        assert!(c.expected_chance_pairs < 1e-6, "{c:?}");
        assert!(c.tail_bits_at_1e4 > 80.0, "{c:?}");
    }

    #[test]
    fn look_alike_hashes_stay_at_the_floor_and_say_so() {
        // 128 free bits: unrelated pairs ~57 bits apart in the decision (the minimum over ten
        // comparisons), a tail reaching deep below the radius.
        let c = choose_radius(&images(800, 2, 2), FLIP, true);
        assert!(c.fitted, "{c:?}");
        assert_eq!(c.radius, MIN_RADIUS, "{c:?}");
        assert!(c.at_floor);
        assert!(c.expected_chance_pairs > CHANCE_BUDGET, "{c:?}");
        assert!(c.reason.contains("floor"), "{}", c.reason);
    }

    /// `P(X <= k)` for `X ~ Binomial(256, 1/2)`, summed term by term: the distance of two
    /// independent uniform 256-bit hashes compared once.
    fn binomial_cdf_256() -> Vec<f64> {
        let mut term = 0.5f64.powi(256);
        let mut cum = 0.0;
        let mut cdf = Vec::with_capacity(257);
        for i in 0..=256u32 {
            cum += term;
            cdf.push(cum);
            term *= f64::from(256 - i) / f64::from(i + 1);
        }
        cdf
    }

    /// The fractional distance at which `cdf` reaches `p` (interpolated in log10).
    fn quantile(cdf: &[f64], p: f64) -> f64 {
        let k = cdf.iter().position(|&f| f >= p).unwrap();
        let (a, b) = (cdf[k - 1].log10(), cdf[k].log10());
        (k - 1) as f64 + (p.log10() - a) / (b - a)
    }

    #[test]
    fn the_fit_recovers_a_known_exponential_tail() {
        // A histogram built so that F(k) = 10^(-4 + (k - 70) / 5) over 1,000,000 pairs: 100 at
        // or below 70 bits, 1,000 at 75, 10,000 at 80 (the rest far away, at 120).
        let total = 1_000_000.0;
        let cum = |k: usize| (total * 10f64.powf(-4.0 + (k as f64 - 70.0) / 5.0)).round() as usize;
        let mut hist = vec![0usize; 257];
        hist[70] = cum(70);
        for (k, h) in hist.iter_mut().enumerate().take(86).skip(71) {
            *h = cum(k) - cum(k - 1);
        }
        hist[120] = total as usize - cum(85);
        let (k4, per_decade) = tail_fit(&hist, 1e-4).unwrap();
        assert!((k4 - 70.0).abs() < 0.05, "{k4}");
        assert!((per_decade - 5.0).abs() < 0.05, "{per_decade}");
    }

    #[test]
    fn the_fitted_tail_of_random_hashes_is_their_binomial_tail() {
        // Uniform random hashes compared once (identity, no crops): the decision distance is
        // Binomial(256, 1/2), 1 pair in 10,000 within 97.9 bits and 1 in 100 within 108.9.
        let cdf = binomial_cdf_256();
        let (q4, q2) = (quantile(&cdf, 1e-4), quantile(&cdf, 1e-2));
        assert!(
            (q4 - 97.9).abs() < 0.05 && (q2 - 108.9).abs() < 0.05,
            "{q4} {q2}"
        );
        let n = 1500;
        let c = choose_radius(&images(n, 3, 4), &[Transform::Identity], false);
        assert!(c.fitted, "{c:?}");
        assert_eq!(c.sample_pairs, SAMPLE_PAIRS);
        assert!((c.tail_bits_at_1e4 - q4).abs() < 1.5, "{c:?}: true {q4}");
        let true_per_decade = (q2 - q4) / 2.0;
        assert!(
            (c.tail_bits_per_decade - true_per_decade).abs() < 0.75,
            "{c:?}: true {true_per_decade}"
        );
        // The line is heavier than the true tail below the fitted range: the expectation
        // printed is never below the true one (here 3.6e-19 at 48 bits over 1,124,250 pairs).
        assert_eq!(c.radius, MAX_RADIUS, "{c:?}");
        let truth = (n * (n - 1) / 2) as f64 * cdf[MAX_RADIUS as usize];
        assert!(c.expected_chance_pairs >= truth, "{c:?}: true {truth:e}");
    }

    #[test]
    fn duplicates_do_not_shrink_the_radius_and_tiny_sets_use_the_prior() {
        let mut hs = images(1000, 4, 4);
        let copies = hs.clone();
        hs.extend(copies);
        let c = choose_radius(&hs, FLIP, true);
        assert_eq!(c.radius, MAX_RADIUS, "{c:?}");
        let tiny = choose_radius(&images(30, 5, 4), FLIP, true);
        assert!(!tiny.fitted);
        assert_eq!(tiny.tail_bits_at_1e4, PRIOR.0);
        assert_eq!(tiny.radius, MAX_RADIUS, "{tiny:?}");
        // 30 images, 435 pairs; the prior (1 in 10,000 at 64 bits, 10x fewer every 8 bits)
        // puts 1 pair in 1,000,000 within 48 bits: 0.000435 chance pairs expected.
        assert!(
            (tiny.expected_chance_pairs - 0.000435).abs() < 1e-9,
            "{tiny:?}"
        );
        assert!(tiny.reason.contains("all 435 pairs"), "{}", tiny.reason);
    }
}
