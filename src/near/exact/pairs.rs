//! All pairs within a radius by a chunk-at-a-time sort-merge join: the all-pairs path of
//! [`super::pairs_within`].
//!
//! Answering all pairs one query at a time (as [`super::MultiIndex256`] does) verifies every
//! candidate by a random read of its hash; at radius 48 of 256 bits there are ~31,000
//! candidates per image at n = 1,000,000, and those reads are what the time goes to. Here the
//! chunks are handled one after another: the hashes are copied into the chunk's bucket order
//! (with their ids), and for every probe mask `x` of the chunk, one pass over the bucket values
//! `v` (those whose highest bit of `x` is clear, so `v < v ^ x`) compares bucket `v` with bucket
//! `v ^ x`. Both are contiguous, and as `v` grows, `v ^ x` moves through the array in long
//! increasing runs, so the pass reads memory almost sequentially; a candidate costs one xor and
//! popcount with both hashes in cache. Each unordered pair of buckets is met by exactly one
//! mask, and a pair within the radius is kept only by its first chunk within the chunk radius
//! (pigeonhole), so nothing is reported twice and nothing needs deduplicating.
//!
//! Without per-query random reads, a probe (a bucket pair) is cheap and the plan can afford
//! wider chunks than the query index: fewer candidates for more, mostly empty, bucket pairs.
//!
//! # Memory
//!
//! Transient, one chunk at a time: the sorted copy (32 bytes of hash + 4 of id per image) and
//! `4 (2^w + 1)` bytes of offsets, on top of the caller's hashes; nothing stays after the call.

#[cfg(any(test, feature = "bench"))]
use rayon::prelude::*;

use super::{BITS, ChunkSpec, ball_size, counting_sort};
#[cfg(any(test, feature = "bench"))]
use super::{concat, masks_within};
use crate::base::hash::Hash256;

/// Relative cost of visiting one pair of buckets (offsets, loop set-up, the mispredicted exit
/// of loops over a few entries), in the unit of comparing one candidate pair ...
const VISIT_COST: f64 = 3.0;
/// ... of comparing one candidate pair with both hashes in cache (what brute force pays per
/// pair) ...
const PAIR_COST: f64 = 1.0;
/// ... and of sorting one hash into a chunk's order (counting sort, two passes, a copy).
/// Measured at n = 1,000,000, radius 48 (13 chunks of 19 bits): 141 s of CPU for 3.2 x 10^9
/// bucket pairs and 1.2 x 10^10 candidates, at 6.7 ns per pair of brute force.
const SORT_COST: f64 = 5.0;
/// Widest chunk: 2^24 + 1 offsets (64 MiB).
const MAX_WIDTH: u32 = 24;
/// Offsets may take this many bytes per image ...
const OFFSETS_PER_IMAGE: usize = 8;
/// ... plus this many bytes.
const OFFSETS_FIXED: usize = 4 << 20;

/// Chooses the chunks of the join for `n` hashes and radius `radius`, or `None` when a plain
/// brute force is estimated cheaper: for each chunk count `m <= r + 1` and width
/// `w <= 256 / m`, radii spread `r + 1` as evenly as possible (larger first), and the estimated
/// cost `sum_k ball(w, r_k) (2^w / 2 VISIT + n^2 / 2^(w+1) PAIR) + m n SORT` is minimised
/// under the offsets cap and compared with brute force (`n^2 / 2 PAIR`).
pub(super) fn plan(n: usize, radius: u32) -> Option<Vec<ChunkSpec>> {
    if n < 2 {
        return None;
    }
    let r = radius.min(BITS);
    let nf = n as f64;
    let brute = nf * nf / 2.0 * PAIR_COST;
    let offsets_cap = OFFSETS_PER_IMAGE * n + OFFSETS_FIXED;
    let mut best: Option<(f64, u32, u32)> = None;
    for m in 1..=(r + 1).min(BITS) {
        let (q, rem) = ((r + 1) / m, (r + 1) % m);
        for width in 1..=(BITS / m).min(MAX_WIDTH) {
            if 4 * ((1usize << width) + 1) > offsets_cap {
                break;
            }
            let buckets = (1u64 << width) as f64;
            let cost: f64 = (0..m)
                .map(|k| {
                    let ball = ball_size(width, if k < rem { q } else { q - 1 }) as f64;
                    ball * (buckets / 2.0 * VISIT_COST + nf * nf / (2.0 * buckets) * PAIR_COST)
                        + nf * SORT_COST
                })
                .sum();
            if cost < brute && best.is_none_or(|(c, _, _)| cost < c) {
                best = Some((cost, m, width));
            }
        }
    }
    let (_, m, width) = best?;
    Some(super::even_chunks(m, width, r))
}

#[cfg(any(test, feature = "bench"))]
/// Peak transient heap bytes of [`pairs`] with these chunks (the largest chunk's table).
pub(super) fn heap_bytes(n: usize, specs: &[ChunkSpec]) -> usize {
    specs
        .iter()
        .map(|s| 36 * n + 4 * ((1usize << s.width) + 1) + 4 * ball_size(s.width, s.radius) as usize)
        .max()
        .unwrap_or(0)
}

/// One chunk's table: the hashes and their ids in bucket order.
pub(super) struct Table {
    pub(super) offsets: Vec<u32>,
    pub(super) hashes: Vec<Hash256>,
    pub(super) ids: Vec<u32>,
}

impl Table {
    pub(super) fn build(input: &[Hash256], spec: ChunkSpec) -> Self {
        let (offsets, ids) = counting_sort(input, spec);
        let hashes = ids.iter().map(|&i| input[i as usize]).collect();
        Table {
            offsets,
            hashes,
            ids,
        }
    }

    #[inline]
    pub(super) fn bucket(&self, v: usize) -> std::ops::Range<usize> {
        self.offsets[v] as usize..self.offsets[v + 1] as usize
    }
}

#[cfg(any(test, feature = "bench"))]
/// All pairs `(i, j, d)`, `i < j` positions in `hashes`, within `radius`, unsorted. `specs`
/// must be disjoint chunks with `sum(radius + 1) == min(radius, 256) + 1`.
pub(super) fn pairs(hashes: &[Hash256], radius: u32, specs: &[ChunkSpec]) -> Vec<(u32, u32, u32)> {
    debug_assert_eq!(
        specs.iter().map(|s| s.radius + 1).sum::<u32>(),
        radius.min(BITS) + 1
    );
    let mut out = Vec::new();
    for (k, &spec) in specs.iter().enumerate() {
        let table = Table::build(hashes, spec);
        let earlier = &specs[..k];
        let found = masks_within(spec.width, spec.radius)
            .into_par_iter()
            .fold(Vec::new, |mut acc, mask| {
                join_mask(&table, spec.width, mask, radius, earlier, &mut acc);
                acc
            })
            .reduce(Vec::new, concat);
        out.extend(found);
    }
    out
}

#[cfg(any(test, feature = "bench"))]
/// The pairs met by `mask` in one chunk: within a bucket for mask 0, otherwise between each
/// bucket `v` and `v ^ mask > v`.
fn join_mask(
    table: &Table,
    width: u32,
    mask: u32,
    radius: u32,
    earlier: &[ChunkSpec],
    acc: &mut Vec<(u32, u32, u32)>,
) {
    let size = 1usize << width;
    if mask == 0 {
        for v in 0..size {
            let bucket = table.bucket(v);
            for a in bucket.clone() {
                let b = a + 1..bucket.end;
                join_buckets(table, a..a + 1, b, radius, earlier, acc);
            }
        }
        return;
    }
    let mask = mask as usize;
    // Values with the mask's highest bit clear, in blocks of `high` consecutive values.
    let high = 1usize << (usize::BITS - 1 - mask.leading_zeros());
    for block in (0..size).step_by(2 * high) {
        for v in block..block + high {
            let here = table.bucket(v);
            if !here.is_empty() {
                join_buckets(table, here, table.bucket(v ^ mask), radius, earlier, acc);
            }
        }
    }
}

#[cfg(any(test, feature = "bench"))]
/// Compares every entry of range `a` with every entry of range `b` (the hot loop: both are
/// contiguous, so it runs on slices without bounds checks).
#[inline]
fn join_buckets(
    table: &Table,
    a: std::ops::Range<usize>,
    b: std::ops::Range<usize>,
    radius: u32,
    earlier: &[ChunkSpec],
    acc: &mut Vec<(u32, u32, u32)>,
) {
    let (ha, hb) = (&table.hashes[a.clone()], &table.hashes[b.clone()]);
    for (x, p) in ha.iter().enumerate() {
        for (y, q) in hb.iter().enumerate() {
            let d = p.distance(q);
            if d <= radius {
                report(table, a.start + x, b.start + y, d, earlier, acc);
            }
        }
    }
}

/// Keeps a pair within the radius if this chunk is its first qualifying one.
#[cold]
#[cfg(any(test, feature = "bench"))]
fn report(
    table: &Table,
    a: usize,
    b: usize,
    d: u32,
    earlier: &[ChunkSpec],
    acc: &mut Vec<(u32, u32, u32)>,
) {
    if first_here(earlier, &table.hashes[a], &table.hashes[b]) {
        let (ia, ib) = (table.ids[a], table.ids[b]);
        acc.push((ia.min(ib), ia.max(ib), d));
    }
}

/// True when no chunk of `earlier` has `a` and `b` within its radius: the pair belongs to a
/// later chunk.
#[inline]
pub(super) fn first_here(earlier: &[ChunkSpec], a: &Hash256, b: &Hash256) -> bool {
    earlier
        .iter()
        .all(|c| (c.value(a) ^ c.value(b)).count_ones() > c.radius)
}
