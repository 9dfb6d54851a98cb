//! Which near-duplicate search `leaks` runs (`--search`): the exact join, or the sampled
//! search above [`AUTO_EXACT_UP_TO`] images, and what the chosen one promises.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::base::hash::{HashList, Hashes256, Transform};
use crate::near::decide::{self, Match};
use crate::near::sampled;

/// `--search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Search {
    /// Exact up to [`AUTO_EXACT_UP_TO`] hashed images, sampled above.
    #[default]
    Auto,
    /// Every pair within the radius, whatever it costs (at 100,000 images with all flips,
    /// turns and crops: ~100 s of CPU; it grows with the square of the images).
    Exact,
    /// Sampled keys ([`crate::near::sampled`]): every pair within the guaranteed distance, farther
    /// ones with the estimated recall.
    Sampled,
}

/// Up to this many hashed images `auto` runs the exact search (about 25 s of CPU at this size
/// with all transforms and crops, 2 cores: docs/BENCHMARKS.md "At a million images").
pub const AUTO_EXACT_UP_TO: usize = 50_000;
/// Rounds of keys of the sampled search by default: about this many image-rounds in all
/// (each round is `255 / w` tables, and a table's time grows with the images), so the search
/// takes about the same time at any size: 2 rounds at a million images (leaks in about 8.5 s
/// on 2 cores), 8 up to 300,000 ...
pub const IMAGE_ROUNDS: usize = 2_500_000;
/// ... never fewer than this ...
pub const MIN_ROUNDS: u32 = 2;
/// ... nor more than this by default (measured: 8 rounds of 26-bit keys find every true pair
/// of the shared sets, docs/DESIGN.md "Near-duplicate search").
pub const MAX_DEFAULT_ROUNDS: u32 = 8;

/// The default rounds for `n` images.
pub fn default_rounds(n: usize) -> u32 {
    let r = IMAGE_ROUNDS / n.max(1);
    (r.min(MAX_DEFAULT_ROUNDS as usize) as u32).max(MIN_ROUNDS)
}

/// What the search that ran promises (`summary.json` `search`).
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    /// `exact` or `sampled`.
    pub mode: &'static str,
    pub reason: String,
    /// Images searched (hashed, informative).
    pub images: usize,
    /// Sampled only: bits per key, number of tables, and the distance (bits of the 256-bit
    /// hash) within which every pair is found.
    pub key_bits: Option<u32>,
    pub tables: Option<usize>,
    pub guaranteed_bits: Option<u32>,
    /// Sampled only: estimated share of pairs found at 16, 24, 32 bits and at the radius,
    /// when their differing bits fall at random (`sampled::Plan::recall_at`).
    pub estimated_recall: Option<BTreeMap<u32, f64>>,
    /// The local-feature search for rotated, shifted and zoomed copies (`crate::near::affine`):
    /// images with features, candidate pairs verified, pairs accepted.
    pub affine: Option<crate::near::affine::AffineReport>,
}

/// Runs the chosen search over `hashes` (positions are the caller's).
pub fn run<L: HashList + ?Sized>(
    hashes: &L,
    radius: u32,
    transforms: &[Transform],
    crops: bool,
    search: Search,
    rounds: Option<u32>,
    width: Option<u32>,
) -> (Vec<Match>, SearchReport) {
    let n = hashes.count();
    let sampled = match search {
        Search::Exact => false,
        Search::Sampled => true,
        Search::Auto => n > AUTO_EXACT_UP_TO,
    };
    let reason = match search {
        Search::Exact => "--search exact".to_string(),
        Search::Sampled => "--search sampled".to_string(),
        Search::Auto => format!("{n} images (exact up to {AUTO_EXACT_UP_TO})"),
    };
    if !sampled {
        let owned: Vec<Hashes256> = (0..n).map(|i| hashes.hashes(i)).collect();
        let found = decide::find_matches(&owned, radius, transforms, crops);
        let report = SearchReport {
            mode: "exact",
            reason,
            images: n,
            key_bits: None,
            tables: None,
            guaranteed_bits: None,
            estimated_recall: None,
            affine: None,
        };
        return (found, report);
    }
    let rounds = rounds.unwrap_or_else(|| default_rounds(n));
    let plan = sampled::plan(hashes, transforms, crops, rounds, width);
    let found = decide::find_matches_sampled(hashes, radius, transforms, crops, &plan);
    let recall = [16, 24, 32, radius]
        .into_iter()
        .map(|d| (d, (plan.recall_at(d) * 1000.0).round() / 1000.0))
        .collect();
    let report = SearchReport {
        mode: "sampled",
        reason,
        images: n,
        key_bits: Some(plan.width),
        tables: Some(plan.tables.len()),
        guaranteed_bits: Some(plan.guaranteed.min(radius)),
        estimated_recall: Some(recall),
        affine: None,
    };
    (found, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rounds_keep_the_work_about_constant() {
        assert_eq!(default_rounds(60_000), MAX_DEFAULT_ROUNDS);
        assert_eq!(default_rounds(500_000), 5);
        assert_eq!(default_rounds(1_000_000), 2);
        assert_eq!(default_rounds(14_000_000), MIN_ROUNDS);
    }
}
