//! One table of the sampled search in as little memory as it can take: the stored views
//! bucketed by their key (an id and the key bits below the bucket in one `u32`, the check in
//! another: 8 bytes per view, no key array), the queries streamed in batches of images.
//!
//! At a million images every byte per stored view is 3 MB: one table is built at a time (in
//! parallel over the images, so it costs no wall time), and nothing per image or per view is
//! kept beside it but the buckets.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use rayon::prelude::*;

use super::{CHECK_MAX, CROP75, CROP90, KeyTable, TRIMMED, UNTRIMMED, entry_hash};
use crate::base::hash::{HashList, Transform};
use crate::scan::hash256::{Hash256, Hashes256, apply};

/// Stored views per bucket, about (fewer buckets: a smaller offset array, a few more slots
/// compared per probe, all in one cache line).
const PER_BUCKET: usize = 4;
/// Images per query batch, at most: its queries are grouped by the top bits of their key so
/// that a batch's probes under one transform sweep the buckets once, in order.
const BATCH: usize = 1 << 16;
/// Parts of the images built in parallel, at most: each counts its views per bucket (4 bytes
/// per bucket, about one per view a part).
const BUILD_PARTS: usize = 2;
/// Images whose keys are computed before their views are counted or placed: the random
/// writes then come in a tight loop, many in flight at once (interleaved with the key
/// computations, a build took 4x as long).
const BLOCK: usize = 1024;
/// Fewest images per query batch.
const MIN_BATCH: usize = 4096;

/// The views of image `i` a table stores (every view) or queries with (`queries`: the full
/// views, trimmed and untrimmed), as `(4 * i + view, hash)`.
fn views(h: &Hashes256, i: usize, crops: bool, queries: bool) -> [Option<(u32, Hash256)>; 4] {
    let id = 4 * i as u32;
    let untrimmed = h.untrimmed.filter(|&u| u != h.full);
    let crops = crops && !queries;
    [
        Some((id + TRIMMED, h.full)),
        untrimmed.map(|u| (id + UNTRIMMED, u)),
        crops.then_some((id + CROP90, h.crops[0])),
        crops.then_some((id + CROP75, h.crops[1])),
    ]
}

/// Stored views of all images (every view, crops included when `crops`).
pub(super) fn stored_count<L: HashList + ?Sized>(hashes: &L, crops: bool) -> usize {
    (0..hashes.count())
        .into_par_iter()
        .with_min_len(MIN_BATCH)
        .map(|i| views(&hashes.hashes(i), i, crops, false).iter().flatten().count())
        .sum()
}

/// `range` in blocks of [`BLOCK`].
fn blocks(range: std::ops::Range<usize>) -> impl Iterator<Item = std::ops::Range<usize>> {
    range
        .clone()
        .step_by(BLOCK)
        .map(move |b| b..range.end.min(b + BLOCK))
}

/// The stored views of one table, grouped by the top bits of their key.
pub(super) struct Stored {
    /// Key bits below the bucket (kept in each slot above the id).
    shift: u32,
    /// Bits of an id (`4 * image + view`) at the bottom of a slot.
    id_bits: u32,
    /// Bucket `b` is `slots[offsets[b]..offsets[b + 1]]`.
    offsets: Vec<u32>,
    /// `key_rest << id_bits | id`, where `key_rest` is the key's low `shift` bits.
    slots: Vec<u32>,
    /// The check of each slot's view.
    checks: Vec<u32>,
}

impl Stored {
    /// A counting sort in two parallel passes over a few parts of the images, each reading an
    /// image's hashes once for all its views: count each part's views per bucket, then place
    /// them (keys and checks computed again rather than kept: 8 bytes per view less). Each
    /// part keeps its own bucket cursors, so no update is shared (an atomic update per view
    /// stalls on its cache miss: 2x the CPU), the views are written with plain stores to
    /// places no other part writes, and the layout is the same on every run.
    pub(super) fn new<L: HashList + ?Sized>(
        hashes: &L,
        crops: bool,
        table: &KeyTable,
        check: &KeyTable,
        stored: usize,
    ) -> Self {
        let n = hashes.count();
        let width = table.width();
        let id_bits = u64::BITS - (4 * n as u64).saturating_sub(1).leading_zeros();
        // About PER_BUCKET views per bucket, and never so few buckets that the rest of the
        // key and an id overflow a slot (at most 2n buckets then: 8 bytes per image).
        let bits = (usize::BITS - (stored / PER_BUCKET).max(1).leading_zeros()).clamp(4, width);
        let bits = bits.max(width.saturating_sub(u32::BITS - id_bits)).min(width);
        let shift = width - bits;
        let buckets = 1usize << bits;
        let parts = rayon::current_num_threads().clamp(1, BUILD_PARTS);
        let part_len = n.div_ceil(parts).max(1);
        let stored_views = |i: usize| views(&hashes.hashes(i), i, crops, false).into_iter().flatten();

        // Each part's views per bucket ...
        let mut cursors: Vec<Vec<u32>> = (0..n.div_ceil(part_len).max(1))
            .into_par_iter()
            .map(|p| {
                let mut count = vec![0u32; buckets];
                let mut keys = Vec::with_capacity(4 * BLOCK);
                for block in blocks(p * part_len..n.min((p + 1) * part_len)) {
                    keys.clear();
                    keys.extend(block.flat_map(stored_views).map(|(_, v)| table.key(&v)));
                    for &key in &keys {
                        count[(key >> shift) as usize] += 1;
                    }
                }
                count
            })
            .collect();
        // ... become the end of its stretch of each bucket (the parts in order) ...
        let mut end = 0u32;
        for b in 0..buckets {
            for part in &mut cursors {
                end += part[b];
                part[b] = end;
            }
        }
        debug_assert_eq!(end as usize, stored);
        // ... and each view placed moves its part's cursor down: the first part's cursors
        // end at the buckets' starts.
        let zeros = |len: usize| -> Vec<AtomicU32> { (0..len).map(|_| AtomicU32::new(0)).collect() };
        let (slots, checks) = (zeros(stored), zeros(stored));
        let rest_mask = (1u32 << shift) - 1;
        cursors.par_iter_mut().enumerate().for_each(|(p, cursor)| {
            let mut views = Vec::with_capacity(4 * BLOCK);
            for block in blocks(p * part_len..n.min((p + 1) * part_len)) {
                views.clear();
                views.extend(
                    block
                        .flat_map(stored_views)
                        .map(|(id, v)| (table.key(&v), id, check.key(&v))),
                );
                for &(key, id, c) in &views {
                    let at = &mut cursor[(key >> shift) as usize];
                    *at -= 1;
                    let slot = (u64::from(key & rest_mask) << id_bits) | u64::from(id);
                    slots[*at as usize].store(slot as u32, Relaxed);
                    checks[*at as usize].store(c, Relaxed);
                }
            }
        });
        let mut offsets = cursors.swap_remove(0);
        drop(cursors);
        offsets.push(stored as u32);
        // In place (same size and alignment): no second copy.
        let plain = |v: Vec<AtomicU32>| -> Vec<u32> { v.into_iter().map(AtomicU32::into_inner).collect() };
        Stored {
            shift,
            id_bits,
            offsets,
            slots: plain(slots),
            checks: plain(checks),
        }
    }

    /// The stored views whose key is `key`, as `(id, check)`: the bucket's slots, those with
    /// another key skipped before anything else is read.
    #[inline]
    fn get(&self, key: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let b = (key >> self.shift) as usize;
        let range = self.offsets[b] as usize..self.offsets[b + 1] as usize;
        let id_mask = (1u64 << self.id_bits) - 1;
        let want = (u64::from(key & ((1u32 << self.shift) - 1)) << self.id_bits) as u32;
        let rest_mask = !(id_mask as u32);
        self.slots[range.clone()]
            .iter()
            .zip(&self.checks[range])
            .filter(move |&(&slot, _)| slot & rest_mask == want)
            .map(move |(&slot, &check)| (slot & id_mask as u32, check))
    }
}

/// One table's pairs within the radius, as `a << 32 | b` (`a < b`, unsorted, repeats
/// possible).
///
/// The images are taken in batches, in parallel; a batch's full views (key, check, id) are
/// grouped by the top bits of their key ([`KeyTable::group_bits`]) and, for each transform,
/// each picks one bucket by its key under the transform ([`KeyTable::key_under`], no
/// hashing). A transform maps a group into one group, so a batch's probes under one
/// transform sweep the buckets in order instead of jumping across them.
pub(super) fn table_pairs<L: HashList + ?Sized>(
    hashes: &L,
    radius: u32,
    transforms: &[Transform],
    table: &KeyTable,
    check: &KeyTable,
    stored: &Stored,
) -> Vec<u64> {
    let n = hashes.count();
    let batch = n
        .div_ceil(4 * rayon::current_num_threads())
        .clamp(MIN_BATCH, BATCH);
    let group_bits = table.group_bits();
    let group_shift = table.width() - group_bits;
    (0..n.div_ceil(batch))
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(queries, grouped): &mut (Vec<(u32, u32, u32)>, Vec<(u32, u32, u32)>), b| {
                queries.clear();
                for i in b * batch..n.min((b + 1) * batch) {
                    let h = hashes.hashes(i);
                    for (id, v) in views(&h, i, false, true).into_iter().flatten() {
                        queries.push((table.key(&v), check.key(&v), id));
                    }
                }
                group(queries, grouped, group_shift, group_bits);
                let mut out = Vec::new();
                for &t in transforms {
                    for &(key, qcheck, q) in grouped.iter() {
                        let qcheck = check.key_under(qcheck, t);
                        let want = table.key_under(key, t);
                        for (e, echeck) in stored.get(want) {
                            let (i, j) = (q >> 2, e >> 2);
                            if i != j && (qcheck ^ echeck).count_ones() <= CHECK_MAX {
                                let d = apply(t, entry_hash(hashes, q))
                                    .distance(&entry_hash(hashes, e));
                                if d <= radius {
                                    out.push((u64::from(i.min(j)) << 32) | u64::from(i.max(j)));
                                }
                            }
                        }
                    }
                }
                out
            },
        )
        .flatten_iter()
        .collect()
}

/// `items` reordered into `out` by the top `bits` of their key (above `shift`): one counting
/// pass, order within a group kept.
fn group(items: &[(u32, u32, u32)], out: &mut Vec<(u32, u32, u32)>, shift: u32, bits: u32) {
    let mut starts = vec![0usize; (1 << bits) + 1];
    for &(k, _, _) in items {
        starts[(k >> shift) as usize + 1] += 1;
    }
    for g in 1..starts.len() {
        starts[g] += starts[g - 1];
    }
    out.clear();
    out.resize(items.len(), (0, 0, 0));
    for &item in items {
        let at = &mut starts[(item.0 >> shift) as usize];
        out[*at] = item;
        *at += 1;
    }
}
