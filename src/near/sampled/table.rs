//! One table of the sampled search in as little memory as it can take: the stored views
//! bucketed by their key (the id, the key bits below the bucket and the check in one `u64`:
//! 8 bytes per view, no key array), the queries streamed in batches of images.
//!
//! At a million images every byte per stored view is 3 MB: one table is built at a time (in
//! parallel over the images, so it costs no wall time), and nothing per image or per view is
//! kept beside it but the buckets.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rayon::prelude::*;

use super::codes::Codes;
use super::fast_key::FastKey;
use super::{KeyTable, Plan};
use crate::base::cpu::prefetch;
use crate::base::hash::Transform;

/// Stored views per bucket, 2 to 4 (fewer buckets: a smaller offset array, a few more slots
/// compared per probe, mostly in one cache line).
const PER_BUCKET: usize = 4;
/// Images per query batch, at most: its queries are grouped by the top bits of their key so
/// that a batch's probes under one transform sweep the buckets once, in order.
const BATCH: usize = 1 << 18;
/// Parts of the images built in parallel, at most: each keeps its own cursor per bucket (4
/// bytes per bucket, a bucket per 2 to 4 stored views), the first one becoming the offsets.
const BUILD_PARTS: usize = 2;
/// Units (images) whose keys are computed before their views are counted or placed: the random
/// writes then come in a tight loop, many in flight at once (interleaved with the key
/// computations, a build took 4x as long).
const BLOCK: usize = 1024;
/// Queries between a probe's prefetch of its slots and the probe (its offsets twice as far).
const AHEAD: usize = 16;
/// Fewest units (images) per query batch.
const MIN_BATCH: usize = 4096;

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
    /// Bits of an id at the bottom of a slot.
    id_bits: u32,
    /// Bucket `b` is `slots[offsets[b]..offsets[b + 1]]`.
    offsets: Vec<u32>,
    /// `check << (id_bits + shift) | key_rest << id_bits | id`, where `key_rest` is the key's
    /// low `shift` bits: a probe reads one stretch of memory.
    slots: Vec<u64>,
}

/// How a table of `width`-bit keys over `stored` codes with ids below `id_limit` lays out a
/// slot: `(bucket bits, shift, id bits)`, leaving `64 - shift - id_bits` bits for the check.
pub(super) fn layout(width: u32, stored: usize, id_limit: u64, check_bits: u32) -> (u32, u32, u32) {
    let id_bits = u64::BITS - id_limit.saturating_sub(1).leading_zeros();
    // About PER_BUCKET views per bucket, and never so few buckets that the rest of the key,
    // an id and the check overflow a slot.
    let bits = (usize::BITS - (stored / PER_BUCKET).max(1).leading_zeros()).clamp(4, width);
    let room = 64u32.saturating_sub(id_bits + check_bits);
    let bits = bits.max(width.saturating_sub(room)).min(width);
    (bits, width - bits, id_bits)
}

impl Stored {
    /// A counting sort in two parallel passes over a few parts of the images, each reading an
    /// image's hashes once for all its views: count each part's views per bucket, then place
    /// them (keys and checks computed again rather than kept: 8 bytes per view less). Each
    /// part keeps its own bucket cursors, so no update is shared (an atomic update per view
    /// stalls on its cache miss: 2x the CPU), the views are written with plain stores to
    /// places no other part writes, and the layout is the same on every run.
    pub(super) fn new<C: Codes + ?Sized>(
        codes: &C,
        table: &KeyTable,
        check: &KeyTable,
        stored: usize,
    ) -> Self {
        let n = codes.units();
        let width = table.width();
        let (bits, shift, id_bits) = layout(width, stored, codes.id_limit(), check.width());
        assert!(
            id_bits + shift + check.width() <= 64,
            "an id, the rest of the key and the check fit a slot"
        );
        let buckets = 1usize << bits;
        let parts = rayon::current_num_threads().clamp(1, BUILD_PARTS);
        let part_len = n.div_ceil(parts).max(1);
        let fast = FastKey::new(table, check);
        // The (key, id, check) of the stored codes of the units in `block`, into `out`.
        let keys = |block: std::ops::Range<usize>, out: &mut Vec<(u32, u32, u64)>| {
            out.clear();
            for u in block {
                codes.stored(u, |id, v| {
                    let (key, c) = fast.key(v);
                    out.push((key, id, c));
                });
            }
        };

        // Each part's views per bucket ...
        let mut cursors: Vec<Vec<u32>> = (0..n.div_ceil(part_len).max(1))
            .into_par_iter()
            .map(|p| {
                let mut count = vec![0u32; buckets];
                let mut views = Vec::with_capacity(4 * BLOCK);
                for block in blocks(p * part_len..n.min((p + 1) * part_len)) {
                    keys(block, &mut views);
                    for &(key, _, _) in &views {
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
        let slots: Vec<AtomicU64> = (0..stored).map(|_| AtomicU64::new(0)).collect();
        let rest_mask = (1u32 << shift) - 1;
        cursors.par_iter_mut().enumerate().for_each(|(p, cursor)| {
            let mut views = Vec::with_capacity(4 * BLOCK);
            for block in blocks(p * part_len..n.min((p + 1) * part_len)) {
                keys(block, &mut views);
                for &(key, id, c) in &views {
                    let at = &mut cursor[(key >> shift) as usize];
                    *at -= 1;
                    let slot = (u64::from(key & rest_mask) << id_bits) | u64::from(id);
                    slots[*at as usize].store(c << (id_bits + shift) | slot, Relaxed);
                }
            }
        });
        let mut offsets = cursors.swap_remove(0);
        drop(cursors);
        offsets.push(stored as u32);
        Stored {
            shift,
            id_bits,
            offsets,
            // In place (same size and alignment): no second copy.
            slots: slots.into_iter().map(AtomicU64::into_inner).collect(),
        }
    }

    /// Asks for the cache line of `key`'s bucket offsets.
    #[inline]
    fn prefetch_offsets(&self, key: u32) {
        prefetch(
            self.offsets
                .as_ptr()
                .wrapping_add((key >> self.shift) as usize),
        );
    }

    /// Asks for the cache line of `key`'s bucket's first slots.
    #[inline]
    fn prefetch_slots(&self, key: u32) {
        let start = self.offsets[(key >> self.shift) as usize] as usize;
        prefetch(self.slots.as_ptr().wrapping_add(start));
    }

    /// The ids of the stored codes whose key is `key` and whose check differs from `check`
    /// in at most `check_max` bits: the bucket's slots, each compared in one word.
    #[inline]
    fn get(&self, key: u32, check: u64, check_max: u32) -> impl Iterator<Item = u32> + '_ {
        let b = (key >> self.shift) as usize;
        let range = self.offsets[b] as usize..self.offsets[b + 1] as usize;
        let id_mask = (1u64 << self.id_bits) - 1;
        let rest_mask = ((1u64 << self.shift) - 1) << self.id_bits;
        let check_at = self.id_bits + self.shift;
        let want = (u64::from(key) << self.id_bits) & rest_mask | check << check_at;
        self.slots[range].iter().filter_map(move |&slot| {
            let diff = slot ^ want;
            (diff & rest_mask == 0 && (diff >> check_at).count_ones() <= check_max)
                .then_some((slot & id_mask) as u32)
        })
    }
}

/// One table's accepted candidates: for each query code under each transform, the stored
/// codes with its key whose check differs in at most `plan.check_max` bits are offered to
/// `accept(query id, stored id, transform)`, and what it returns is collected (unsorted,
/// repeats possible).
///
/// The units are taken in batches, in parallel; a batch's queries (key, check, id) are
/// grouped by the top bits of their key ([`KeyTable::group_bits`]) and, for each transform,
/// each picks one bucket by its key under the transform ([`KeyTable::key_under`], no
/// hashing). A transform maps a group into one group, so a batch's probes under one
/// transform sweep the buckets in order instead of jumping across them.
pub(super) fn table_pairs<C, F>(
    codes: &C,
    transforms: &[Transform],
    table: &KeyTable,
    check: &KeyTable,
    plan: &Plan,
    stored: &Stored,
    accept: &F,
) -> Vec<u64>
where
    C: Codes + ?Sized,
    F: Fn(u32, u32, Transform) -> Option<u64> + Sync,
{
    let n = codes.units();
    let batch = n
        .div_ceil(4 * rayon::current_num_threads())
        .clamp(MIN_BATCH, BATCH);
    let fast = FastKey::new(table, check);
    let group_bits = table.group_bits();
    let group_shift = table.width() - group_bits;
    (0..n.div_ceil(batch))
        .into_par_iter()
        .map_init(Vec::new, |grouped: &mut Vec<(u32, u32, u64)>, b| {
            let units = b * batch..n.min((b + 1) * batch);
            // Queries per group, then each placed in its group: keys computed twice rather
            // than a second buffer kept.
            let mut starts = vec![0usize; (1 << group_bits) + 1];
            for u in units.clone() {
                codes.queries(u, |_, v| {
                    starts[(fast.key(v).0 >> group_shift) as usize + 1] += 1;
                });
            }
            for g in 1..starts.len() {
                starts[g] += starts[g - 1];
            }
            grouped.clear();
            grouped.resize(starts[1 << group_bits], (0, 0, 0));
            for u in units {
                codes.queries(u, |id, v| {
                    let (key, c) = fast.key(v);
                    let at = &mut starts[(key >> group_shift) as usize];
                    grouped[*at] = (key, id, c);
                    *at += 1;
                });
            }
            // Each probe counts the bits of a few checks.
            let probes = Probes {
                table,
                check,
                check_max: plan.check_max,
                stored,
            };
            crate::base::cpu::with_popcnt(
                #[inline(always)]
                || probes.run(grouped, transforms, accept),
            )
        })
        .flatten_iter()
        .collect()
}

/// What a batch's probes read: the table, its check and the stored views.
struct Probes<'a> {
    table: &'a KeyTable,
    check: &'a KeyTable,
    check_max: u32,
    stored: &'a Stored,
}

impl Probes<'_> {
    /// The accepted candidates of the `grouped` queries under each of `transforms`. Inlined
    /// into [`crate::base::cpu::with_popcnt`]'s copy, with `Stored::get` and `accept`.
    #[inline(always)]
    fn run<F>(&self, grouped: &[(u32, u32, u64)], transforms: &[Transform], accept: &F) -> Vec<u64>
    where
        F: Fn(u32, u32, Transform) -> Option<u64> + Sync,
    {
        let (table, stored) = (self.table, self.stored);
        let mut out = Vec::new();
        for &t in transforms {
            // The probes' memory is asked for ahead of its use: a bucket's offsets 2 * AHEAD
            // queries ahead, its slots AHEAD ahead (their offsets arrived by then), so the
            // random reads overlap instead of waiting one by one.
            let want_of = |k: usize| table.key_under(u64::from(grouped[k].0), t) as u32;
            for (k, &(key, q, qcheck)) in grouped.iter().enumerate() {
                if k + 2 * AHEAD < grouped.len() {
                    stored.prefetch_offsets(want_of(k + 2 * AHEAD));
                }
                if k + AHEAD < grouped.len() {
                    stored.prefetch_slots(want_of(k + AHEAD));
                }
                let qcheck = self.check.key_under(qcheck, t);
                let want = table.key_under(u64::from(key), t) as u32;
                for e in stored.get(want, qcheck, self.check_max) {
                    if let Some(hit) = accept(q, e, t) {
                        out.push(hit);
                    }
                }
            }
        }
        out
    }
}
