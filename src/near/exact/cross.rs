//! All pairs between two sets within a radius: the two-set version of the sort-merge join in
//! [`super::pairs`], what `leaks` runs once per (transform, query view) batch
//! ([`crate::near::decide::find_matches`]).
//!
//! Per chunk both sets are copied into bucket order; for every probe mask `x` one pass over
//! the bucket values `v` compares bucket `v` of the queries with bucket `v ^ x` of the entries
//! (all `v` this time, mask 0 included: the sets are different, so no pair of buckets is met
//! twice). A pair is kept only by its first chunk within the chunk radius (pigeonhole), so
//! each (query, entry) pair within the radius is reported exactly once.
//!
//! The cost is that of a self-join of `sqrt(|Q| |E|)` hashes, twice over (every bucket value
//! and every ordered pair is visited), so the self-join's plan is reused with that size.
//!
//! # Memory
//!
//! Transient, one chunk at a time: both sorted copies (32 bytes of hash + 4 of id per hash)
//! and two offset tables of `4 (2^w + 1)` bytes ([`cross_heap_bytes`]); nothing stays.

use rayon::prelude::*;

use super::pairs::{self, Table, first_here};
use super::{BITS, ChunkSpec, ball_size, concat, masks_within};
use crate::base::hash::Hash256;

/// The chunks for a join of `nq` queries with `ne` entries, or `None` for brute force.
pub(super) fn plan(nq: usize, ne: usize, radius: u32) -> Option<Vec<ChunkSpec>> {
    if nq == 0 || ne == 0 {
        return None;
    }
    let n = ((nq as f64) * (ne as f64)).sqrt().round() as usize;
    pairs::plan(n.max(2), radius)
}

/// Peak transient heap bytes of [`cross_within`] for these sizes (0 for brute force).
pub fn cross_heap_bytes(nq: usize, ne: usize, radius: u32) -> usize {
    plan(nq, ne, radius).map_or(0, |specs| {
        specs
            .iter()
            .map(|s| 36 * (nq + ne) + 8 * ((1usize << s.width) + 1))
            .max()
            .unwrap_or(0)
            + specs
                .iter()
                .map(|s| 4 * ball_size(s.width, s.radius) as usize)
                .max()
                .unwrap_or(0)
    })
}

/// All `(q, e, d)`: positions in `queries` and `entries` within `radius` bits, unsorted, each
/// once. Parallel with rayon (the current pool).
pub fn cross_within(queries: &[Hash256], entries: &[Hash256], radius: u32) -> Vec<(u32, u32, u32)> {
    assert!(
        u32::try_from(queries.len().max(entries.len())).is_ok(),
        "cross_within: ids are u32"
    );
    match plan(queries.len(), entries.len(), radius) {
        Some(specs) => cross_with(queries, entries, radius, &specs),
        None => cross_brute(queries, entries, radius),
    }
}

/// [`cross_within`] with explicit chunks (disjoint, `sum(radius + 1) == min(radius, 256) + 1`).
pub(super) fn cross_with(
    queries: &[Hash256],
    entries: &[Hash256],
    radius: u32,
    specs: &[ChunkSpec],
) -> Vec<(u32, u32, u32)> {
    debug_assert_eq!(
        specs.iter().map(|s| s.radius + 1).sum::<u32>(),
        radius.min(BITS) + 1
    );
    let mut out = Vec::new();
    for (k, &spec) in specs.iter().enumerate() {
        let (tq, te) = rayon::join(
            || Table::build(queries, spec),
            || Table::build(entries, spec),
        );
        let earlier = &specs[..k];
        let found = masks_within(spec.width, spec.radius)
            .into_par_iter()
            .fold(Vec::new, |mut acc, mask| {
                join_mask(&tq, &te, spec.width, mask, radius, earlier, &mut acc);
                acc
            })
            .reduce(Vec::new, concat);
        out.extend(found);
    }
    out
}

/// Brute force with the same output set (also the reference in tests).
pub(super) fn cross_brute(
    queries: &[Hash256],
    entries: &[Hash256],
    radius: u32,
) -> Vec<(u32, u32, u32)> {
    queries
        .par_iter()
        .enumerate()
        .fold(Vec::new, |mut acc, (q, h)| {
            for (e, x) in entries.iter().enumerate() {
                let d = h.distance(x);
                if d <= radius {
                    acc.push((q as u32, e as u32, d));
                }
            }
            acc
        })
        .reduce(Vec::new, concat)
}

/// The pairs met by `mask` in one chunk: query bucket `v` against entry bucket `v ^ mask`.
fn join_mask(
    tq: &Table,
    te: &Table,
    width: u32,
    mask: u32,
    radius: u32,
    earlier: &[ChunkSpec],
    acc: &mut Vec<(u32, u32, u32)>,
) {
    let mask = mask as usize;
    for v in 0..1usize << width {
        let here = tq.bucket(v);
        if here.is_empty() {
            continue;
        }
        let there = te.bucket(v ^ mask);
        if there.is_empty() {
            continue;
        }
        let (hq, he) = (&tq.hashes[here.clone()], &te.hashes[there.clone()]);
        for (x, p) in hq.iter().enumerate() {
            for (y, e) in he.iter().enumerate() {
                let d = p.distance(e);
                if d <= radius {
                    report(tq, te, here.start + x, there.start + y, d, earlier, acc);
                }
            }
        }
    }
}

/// Keeps a pair within the radius if this chunk is its first qualifying one.
#[cold]
fn report(
    tq: &Table,
    te: &Table,
    a: usize,
    b: usize,
    d: u32,
    earlier: &[ChunkSpec],
    acc: &mut Vec<(u32, u32, u32)>,
) {
    if first_here(earlier, &tq.hashes[a], &te.hashes[b]) {
        acc.push((tq.ids[a], te.ids[b], d));
    }
}

/// [`cross_within`] forced through the join with `m = min(r + 1, 256 / width)` chunks of
/// `width` bits (tests of callers, whose small inputs would otherwise go to brute force).
#[cfg(test)]
pub(crate) fn cross_within_chunked(
    queries: &[Hash256],
    entries: &[Hash256],
    radius: u32,
    width: u32,
) -> Vec<(u32, u32, u32)> {
    let r = radius.min(BITS);
    let m = (r + 1).min(BITS / width);
    let specs = super::even_chunks(m, width, r);
    cross_with(queries, entries, radius, &specs)
}
