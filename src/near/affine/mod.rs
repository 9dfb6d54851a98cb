//! Copies related by a general similarity or affine transform (issue 22): rotated, shifted,
//! zoomed, sheared and mirrored copies as Keras' `ImageDataGenerator` writes them, found
//! through the local features of [`crate::scan::features`].
//!
//! 1. **Candidates** ([`candidates`]): no all-pairs matching. Each descriptor is keyed by
//!    [`TABLES`] disjoint samples of its bits (bit-sampling LSH, as the 256-bit hashes' sampled
//!    search); two images get a vote for every key they share, and a mirrored copy a vote for
//!    every key of one image's descriptor that equals the key of the other's mirror
//!    permutation (the key positions mirrored: no second extraction). Keys shared by many
//!    images (flat texture, the black corners of rotations) carry no information and are
//!    skipped. Pairs with at least [`MIN_VOTES`] votes are candidates. The keys are streamed
//!    through partitions (temporary files at a million images, [`spill`]), each image's
//!    features read once, so memory does not grow with the descriptors; above
//!    [`FULL_SEARCH_IMAGES`] images each image searches with fewer descriptors ([`effort`]).
//! 2. **Verification** ([`verify`]) of candidates only: putative matches by ratio test,
//!    a RANSAC similarity refined to an affine fit, inlier count, spread and scale bounds.
//!
//! Verified pairs become near pairs like any other (`view` = `affine` in `pairs.csv`, with
//! the estimated transform in the last columns).

pub mod candidates;
pub mod effort;
pub mod spill;
pub mod verify;

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::Result;
use rayon::prelude::*;

use crate::base::hash::Hash256;
use crate::index::Record;
use crate::scan::features::Features;
use crate::scan::features::sidecar::{self, Sidecar};
use candidates::{Source, SpillTo};
pub use effort::FULL_SEARCH_IMAGES;
pub use verify::Fit;

/// Key tables (disjoint bit samples of the 256-bit descriptor).
pub const TABLES: usize = 8;
/// Bits per key.
pub const KEY_BITS: usize = 32;
/// Keys shared by more images than this are skipped (no information, quadratic cost).
pub const MAX_BUCKET: usize = 8;
/// Fewest shared keys (over all tables) for a pair to be verified.
pub const MIN_VOTES: u32 = 6;

/// One verified pair of record numbers, `a` before `b` in path order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffinePair {
    pub a: usize,
    pub b: usize,
    pub fit: Fit,
}

/// What the affine search did (for `summary.json` and the tests).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AffineReport {
    /// Images with features.
    pub images: usize,
    /// Candidate pairs verified.
    pub candidates: usize,
    /// Pairs accepted.
    pub pairs: usize,
    /// Descriptors each image searches with (at most; all of them up to
    /// [`FULL_SEARCH_IMAGES`] images).
    pub keys_per_image: usize,
    /// Key entries made (two per search descriptor and table).
    pub entries: usize,
    /// Whether the entries went through temporary files.
    pub spilled: bool,
}

/// How candidates are drawn (the defaults are [`TABLES`], [`KEY_BITS`], [`MAX_BUCKET`],
/// [`MIN_VOTES`] and [`effort::keys_per_image`]; `examples/affine_study.rs` sweeps them).
#[derive(Debug, Clone, Copy)]
pub struct KeyPlan {
    pub tables: usize,
    pub bits: usize,
    pub max_bucket: usize,
    pub min_votes: u32,
    /// Descriptors each image searches with (`usize::MAX`: all).
    pub keys_per_image: usize,
}

impl Default for KeyPlan {
    fn default() -> Self {
        KeyPlan {
            tables: TABLES,
            bits: KEY_BITS,
            max_bucket: MAX_BUCKET,
            min_votes: MIN_VOTES,
            keys_per_image: usize::MAX,
        }
    }
}

impl KeyPlan {
    /// The plan for a search over `images` images: `keys` descriptors per image if given
    /// (`--affine-keys`), else the default rule ([`effort::keys_per_image`]).
    pub fn for_images(images: usize, keys: Option<usize>) -> Self {
        KeyPlan {
            keys_per_image: keys.unwrap_or_else(|| effort::keys_per_image(images, TABLES)),
            ..KeyPlan::default()
        }
    }
}

/// Images whose features are in the registered sidecars, read on demand: image `k` is entry
/// `at[k] = (sidecar, position)`, found once.
struct Sidecars<'a> {
    at: &'a [(u32, u32)],
    sidecars: &'a [Arc<Sidecar>],
}

impl Sidecars<'_> {
    fn get(&self, k: usize) -> Option<Features> {
        let (s, i) = self.at[k];
        self.sidecars[s as usize].get_at(i as usize)
    }
}

impl Source for Sidecars<'_> {
    fn len(&self) -> usize {
        self.at.len()
    }
    /// The entry decoded whole: only where a run of entries could not be mapped.
    fn search_keys(&self, k: usize, keys: usize, out: &mut Vec<(Hash256, f32)>) {
        if let Some(f) = self.get(k) {
            candidates::features_keys(&f, keys, out);
        }
    }
    /// Each sidecar's run of `images` mapped at once (the images go in the sidecar's order,
    /// so a run's entries lie together): read in place, with no system call and copy per
    /// image (at a million images those were a quarter of the keys' CPU).
    fn run_keys(
        &self,
        images: std::ops::Range<usize>,
        keys: usize,
        mut f: impl FnMut(usize, Hash256, f32),
    ) {
        let mut k = images.start;
        while k < images.end {
            let s = self.at[k].0;
            let end = k + self.at[k..images.end].partition_point(|a| a.0 == s);
            let sidecar = &self.sidecars[s as usize];
            match sidecar.map_entries(self.at[k..end].iter().map(|a| a.1 as usize)) {
                Some(mapped) => {
                    for (image, &(_, i)) in (k..end).zip(&self.at[k..end]) {
                        let Some(raw) = mapped.entry(i as usize) else {
                            continue;
                        };
                        candidates::each_search_index(
                            raw.len(),
                            |c| raw.level(c),
                            keys,
                            |c| {
                                f(image, raw.desc(c), raw.angle(c));
                            },
                        );
                    }
                }
                None => candidates::keys_one_by_one(self, k..end, keys, &mut f),
            }
            k = end;
        }
    }
}

/// Finds the affine pairs among `records` (positions `usable`), skipping pairs in `known`
/// (already found by the hashes), with features from the registered sidecars, read once for
/// the keys and again for each candidate (never all held at once).
pub fn find_pairs(
    records: &[Record],
    usable: &[u32],
    known: &HashSet<(usize, usize)>,
    keys: Option<usize>,
) -> Result<(Vec<AffinePair>, AffineReport)> {
    let sidecars: Vec<Arc<Sidecar>> = sidecar::registered();
    if sidecars.is_empty() {
        return Ok((Vec::new(), AffineReport::default()));
    }
    // Each image's entry, found once; the images then go in the sidecars' order, so the
    // search reads each file front to back (at a million images the sidecar is 12 GB, more
    // than the page cache may hold: random reads waited on the disk).
    let t = crate::base::timing::phase("affine locate");
    let mut found: Vec<((u32, u32), u32)> = usable
        .par_iter()
        .filter_map(|&i| {
            let d = records[i as usize].blake3()?;
            let (s, at) = sidecars
                .iter()
                .enumerate()
                .find_map(|(s, sc)| Some((s, sc.position(&d)?)))?;
            (sidecars[s].count_at(at) >= verify::MIN_INLIERS).then_some(((s as u32, at as u32), i))
        })
        .collect();
    found.par_sort_unstable();
    let ids: Vec<u32> = found.iter().map(|f| f.1).collect();
    let at: Vec<(u32, u32)> = found.into_iter().map(|f| f.0).collect();
    drop(t);
    // What the search allocated and freed so far goes back before its peak.
    crate::base::memory::release_freed();
    let source = Sidecars {
        at: &at,
        sidecars: &sidecars,
    };
    let dir = sidecars[0]
        .path()
        .parent()
        .map(std::path::Path::to_path_buf);
    let spill = dir.as_deref().map(|dir| SpillTo {
        dir,
        above: candidates::MEMORY_ENTRIES,
    });
    let plan = KeyPlan::for_images(ids.len(), keys);
    search(records, &ids, &source, known, &plan, spill, |k| {
        source.get(k)
    })
}

/// [`find_pairs`] on features already loaded: `feats[k]` belongs to record `ids[k]`.
pub fn find_among(
    records: &[Record],
    ids: &[u32],
    feats: &[Features],
    known: &HashSet<(usize, usize)>,
) -> Result<(Vec<AffinePair>, AffineReport)> {
    let plan = KeyPlan::for_images(ids.len(), None);
    search(records, ids, feats, known, &plan, None, |k| {
        Some(feats[k].clone())
    })
}

/// Candidates of `source` (image `k` is record `ids[k]`), then the verification of each with
/// the features `load` gives.
fn search<S: Source + ?Sized>(
    records: &[Record],
    ids: &[u32],
    source: &S,
    known: &HashSet<(usize, usize)>,
    plan: &KeyPlan,
    spill: Option<SpillTo>,
    load: impl Fn(usize) -> Option<Features> + Sync,
) -> Result<(Vec<AffinePair>, AffineReport)> {
    let (cands, effort) = candidates::candidates(source, plan, spill)?;
    let cands: Vec<(usize, usize)> = cands
        .into_iter()
        .map(|(i, j)| (i as usize, j as usize))
        .filter(|&(i, j)| {
            let (a, b) = (ids[i] as usize, ids[j] as usize);
            !known.contains(&(a.min(b), a.max(b)))
        })
        .collect();
    let _t = crate::base::timing::phase("affine verify");
    let pairs: Vec<AffinePair> = cands
        .par_iter()
        .filter_map(|&(i, j)| {
            // Verified in path order, so the fit reads "b is a transformed a".
            let (i, j) = if records[ids[i] as usize].path <= records[ids[j] as usize].path {
                (i, j)
            } else {
                (j, i)
            };
            let fit = verify::verify(&load(i)?, &load(j)?)?;
            Some(AffinePair {
                a: ids[i] as usize,
                b: ids[j] as usize,
                fit,
            })
        })
        .collect();
    let report = AffineReport {
        images: ids.len(),
        candidates: cands.len(),
        pairs: pairs.len(),
        keys_per_image: plan.keys_per_image.min(crate::scan::features::MAX_FEATURES),
        entries: effort.entries,
        spilled: effort.spilled,
    };
    Ok((pairs, report))
}

#[cfg(test)]
mod tests;
