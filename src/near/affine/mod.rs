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
//!    skipped. Pairs with at least [`MIN_VOTES`] votes are candidates.
//! 2. **Verification** ([`verify`]) of candidates only: putative matches by ratio test,
//!    a RANSAC similarity refined to an affine fit, inlier count, spread and scale bounds.
//!
//! Verified pairs become near pairs like any other (`view` = `affine` in `pairs.csv`, with
//! the estimated transform in the last columns).

pub mod verify;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use crate::base::hash::Hash256;
use crate::index::Record;
use crate::scan::features::Features;
use crate::scan::features::sidecar::{self, Sidecar};
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
}

/// How candidates are drawn (the defaults are [`TABLES`], [`KEY_BITS`], [`MAX_BUCKET`],
/// [`MIN_VOTES`]; `examples/affine_study.rs` sweeps them).
#[derive(Debug, Clone, Copy)]
pub struct KeyPlan {
    pub tables: usize,
    pub bits: usize,
    pub max_bucket: usize,
    pub min_votes: u32,
}

impl Default for KeyPlan {
    fn default() -> Self {
        KeyPlan {
            tables: TABLES,
            bits: KEY_BITS,
            max_bucket: MAX_BUCKET,
            min_votes: MIN_VOTES,
        }
    }
}

/// Bit positions of the key tables: a fixed pseudo-random permutation of 0..256, cut into
/// keys of `bits` bits (disjoint while they last, then drawn from a second permutation).
fn key_positions(plan: &KeyPlan) -> Vec<Vec<u8>> {
    let mut all: Vec<u8> = Vec::new();
    let mut state = 0xaff1_4e5e_ed00_0022;
    while all.len() < plan.tables * plan.bits {
        let mut perm: Vec<u8> = (0..=255).collect();
        crate::base::rng::shuffle(&mut perm, &mut state);
        all.extend(perm);
    }
    all.chunks(plan.bits)
        .take(plan.tables)
        .map(<[u8]>::to_vec)
        .collect()
}

fn key(d: &Hash256, positions: &[u8], mirror: bool) -> u32 {
    let mut k = 0u32;
    for (i, &p) in positions.iter().enumerate() {
        // The mirrored descriptor swaps the two halves: its bit p is bit p ^ 128.
        let p = if mirror { p ^ 128 } else { p } as usize;
        k |= (((d.0[p / 64] >> (p % 64)) & 1) as u32) << i;
    }
    k
}

/// Candidate pairs `(i, j)`, `i < j`, of positions in `feats`.
pub fn candidates(feats: &[Features]) -> Vec<(u32, u32)> {
    let plan = KeyPlan::default();
    let mut out: Vec<(u32, u32)> = votes(feats, &plan)
        .into_iter()
        .filter(|&(_, v)| v >= plan.min_votes)
        .map(|(p, _)| p)
        .collect();
    out.sort_unstable();
    out
}

/// Orientation bins of the vote: a true copy's shared keys agree on the rotation (the
/// difference of the two keypoints' orientations), chance collisions do not.
const ANGLE_BINS: usize = 16;

fn angle_bin(a: f32) -> u8 {
    let t = (a + std::f32::consts::PI) / std::f32::consts::TAU;
    ((t * ANGLE_BINS as f32).floor() as i32).rem_euclid(ANGLE_BINS as i32) as u8
}

/// Keys of one table: `(key, image, orientation bin)`, sorted, one per key and image.
fn table(feats: &[Features], positions: &[u8], mirror: bool) -> Vec<(u32, u32, u8)> {
    let mut t: Vec<(u32, u32, u8)> = feats
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, f)| {
            let mut ks: Vec<(u32, u8)> = f
                .desc
                .iter()
                .zip(&f.points)
                .map(|(d, p)| {
                    let a = if mirror {
                        std::f32::consts::PI - p.angle
                    } else {
                        p.angle
                    };
                    (key(d, positions, mirror), angle_bin(a))
                })
                .collect();
            ks.sort_unstable();
            ks.dedup_by_key(|k| k.0);
            ks.into_iter().map(move |(k, b)| (k, i as u32, b))
        })
        .collect();
    t.par_sort_unstable();
    t
}

/// Vote score per pair `(i, j)`, `i < j`, of positions in `feats` (pairs without any shared
/// key are left out): over all tables, the shared keys whose orientation difference falls in
/// the best pair of neighbouring bins, plain and mirrored counted apart.
pub fn votes(feats: &[Features], plan: &KeyPlan) -> HashMap<(u32, u32), u32> {
    let max_bucket = plan.max_bucket;
    let mut bins: HashMap<(u32, u32), [u16; 2 * ANGLE_BINS]> = HashMap::new();
    let n = ANGLE_BINS as u8;
    for positions in key_positions(plan) {
        let direct = table(feats, &positions, false);
        let mirror = table(feats, &positions, true);
        let mut vote = |a: (u32, u32, u8), b: (u32, u32, u8)| {
            if a.1 == b.1 {
                return;
            }
            let (lo, hi) = if a.1 < b.1 { (a, b) } else { (b, a) };
            let d = (hi.2 + n - lo.2) % n;
            let e = bins.entry((lo.1, hi.1)).or_insert([0; 2 * ANGLE_BINS]);
            e[d as usize] = e[d as usize].saturating_add(1);
        };
        for run in direct.chunk_by(|a, b| a.0 == b.0) {
            if run.len() > max_bucket {
                continue;
            }
            for (x, &a) in run.iter().enumerate() {
                for &b in &run[x + 1..] {
                    vote(a, b);
                }
            }
        }
        // Mirror votes: a direct key equal to a mirrored key (the mirrored entry's bin is
        // already of the mirrored angle, so both sides give the same difference).
        let (mut x, mut y) = (0, 0);
        while x < direct.len() && y < mirror.len() {
            let (kd, km) = (direct[x].0, mirror[y].0);
            if kd < km {
                x += 1;
            } else if km < kd {
                y += 1;
            } else {
                let xe = x + direct[x..].partition_point(|e| e.0 == kd);
                let ye = y + mirror[y..].partition_point(|e| e.0 == km);
                if xe - x <= max_bucket && ye - y <= max_bucket {
                    for &a in &direct[x..xe] {
                        for &b in &mirror[y..ye] {
                            // direct angle a, mirrored angle b: difference b - a.
                            if a.1 != b.1 {
                                let d = (b.2 + n - a.2) % n;
                                let (lo, hi) = (a.1.min(b.1), a.1.max(b.1));
                                let e = bins.entry((lo, hi)).or_insert([0; 2 * ANGLE_BINS]);
                                let slot = ANGLE_BINS + d as usize;
                                e[slot] = e[slot].saturating_add(1);
                            }
                        }
                    }
                }
                (x, y) = (xe, ye);
            }
        }
    }
    bins.into_iter()
        .map(|(p, c)| {
            let best = (0..2 * ANGLE_BINS)
                .map(|s| {
                    let half = s / ANGLE_BINS * ANGLE_BINS;
                    let next = half + (s - half + 1) % ANGLE_BINS;
                    u32::from(c[s]) + u32::from(c[next])
                })
                .max()
                .unwrap_or(0);
            (p, best)
        })
        .collect()
}

/// Finds the affine pairs among `records` (positions `usable`), skipping pairs in `known`
/// (already found by the hashes), with features from the registered sidecars.
pub fn find_pairs(
    records: &[Record],
    usable: &[u32],
    known: &HashSet<(usize, usize)>,
) -> (Vec<AffinePair>, AffineReport) {
    let sidecars: Vec<Arc<Sidecar>> = sidecar::registered();
    if sidecars.is_empty() {
        return (Vec::new(), AffineReport::default());
    }
    let loaded: Vec<(u32, Features)> = usable
        .par_iter()
        .filter_map(|&i| {
            let d = records[i as usize].blake3()?;
            let f = sidecar::lookup(&sidecars, &d)?;
            (f.len() >= verify::MIN_INLIERS).then_some((i, f))
        })
        .collect();
    let (ids, feats): (Vec<u32>, Vec<Features>) = loaded.into_iter().unzip();
    find_among(records, &ids, &feats, known)
}

/// [`find_pairs`] on features already loaded: `feats[k]` belongs to record `ids[k]`.
pub fn find_among(
    records: &[Record],
    ids: &[u32],
    feats: &[Features],
    known: &HashSet<(usize, usize)>,
) -> (Vec<AffinePair>, AffineReport) {
    let cands: Vec<(usize, usize)> = candidates(feats)
        .into_iter()
        .map(|(i, j)| (i as usize, j as usize))
        .filter(|&(i, j)| {
            let (a, b) = (ids[i] as usize, ids[j] as usize);
            !known.contains(&(a.min(b), a.max(b)))
        })
        .collect();
    let pairs: Vec<AffinePair> = cands
        .par_iter()
        .filter_map(|&(i, j)| {
            // Verified in path order, so the fit reads "b is a transformed a".
            let (i, j) = if records[ids[i] as usize].path <= records[ids[j] as usize].path {
                (i, j)
            } else {
                (j, i)
            };
            let fit = verify::verify(&feats[i], &feats[j])?;
            Some(AffinePair {
                a: ids[i] as usize,
                b: ids[j] as usize,
                fit,
            })
        })
        .collect();
    let report = AffineReport {
        images: feats.len(),
        candidates: cands.len(),
        pairs: pairs.len(),
    };
    (pairs, report)
}

#[cfg(test)]
mod tests;
