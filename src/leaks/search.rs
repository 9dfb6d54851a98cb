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
    /// Sampled only: estimated share of pairs found at 16, 24, 32, 36 bits and at the
    /// radius, when their differing bits fall at random (`sampled::Plan::recall_at`).
    pub estimated_recall: Option<BTreeMap<u32, f64>>,
    /// Sampled only: how the number of tables was chosen (the default rule, or the
    /// `--search-rounds` override).
    pub effort: Option<String>,
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
            effort: None,
            affine: None,
        };
        return (found, report);
    }
    let plan = sampled::plan(hashes, transforms, crops, rounds, width);
    let found = decide::find_matches_sampled(hashes, radius, transforms, crops, &plan);
    let effort = match rounds {
        Some(r) => format!("{r} rounds (--search-rounds)"),
        None => format!(
            "default: the fewest estimated to find {:.0}% of pairs {} bits apart, at least {} \
             million image-tables",
            100.0 * sampled::TARGET_RECALL,
            sampled::TARGET_DISTANCE,
            sampled::MIN_IMAGE_TABLES / 1_000_000
        ),
    };
    let recall = [16, 24, 32, 36, radius]
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
        effort: Some(effort),
        affine: None,
    };
    (found, report)
}
