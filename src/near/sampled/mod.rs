//! The sampled search: candidate pairs for the 256-bit decision when the exact search would take
//! too long (hundreds of thousands of images and more).
//!
//! The exact search ([`crate::near::decide::find_matches`]) must find every pair within the
//! radius, and at 40..=48 of 256 bits the pigeonhole rule leaves it chunks so narrow that the
//! work grows with `n^2` (docs/BENCHMARKS.md "At a million images"). This search trades a
//! measured share of the far pairs for time, the classic way (bit-sampling LSH): a *table* is a
//! key of `w` of the 255 informative bits; two hashes are candidates when their keys are equal,
//! and a candidate is kept when its real distance is within the radius. Every pair is then
//! explained by the exact decision ([`crate::near::decide::explain`]), so whatever is reported
//! is exactly what the exact search reports for that pair.
//!
//! * **What is guaranteed.** Tables come in *rounds*: one round splits the bits into
//!   `m = 255 / w` disjoint keys, so a pair that differs in fewer than `m` bits is equal on one
//!   of them (pigeonhole): every pair within [`Plan::guaranteed`] bits is found. Further
//!   rounds split the bits again at random, each giving far pairs another chance: a pair `d`
//!   bits apart survives one table with probability `C(255 - d, w) / C(255, w)` when its
//!   differing bits are spread at random ([`Plan::recall_at`], the figure the summary prints).
//! * **Flips and turns cost no hashing.** Every key takes the bits of a position `(u, v)` and of
//!   its transpose `(v, u)` side by side, so the key of a transposed hash is the key with
//!   neighbouring bits swapped, and a flip is an XOR with the key of its mask
//!   ([`Hash256::transformed`]): a query's key under any transform is two operations on
//!   its key, not a new hash.
//! * **Crops on the stored side.** The stored side holds every view of every image (trimmed,
//!   untrimmed, both crops); the query side holds the full views under each transform. A crop
//!   hash within the radius of a transformed full view is the exact search's crop match read
//!   the other way round (`t` for `t^-1`), so one pass per transform covers every combination
//!   the decision tries, instead of one per (transform, view).
//! * **The key width is chosen from the data.** A sample of random pairs gives the share of
//!   unrelated pairs that collide on a `w`-bit key (look-alike X-rays collide far more often
//!   than photos); `w` is the narrowest key that keeps that at about one chance candidate per
//!   four queries per table ([`plan`]).

use crate::base::hash::Hash256;
use crate::base::hash::{HashList, Transform};
use crate::base::rng::{shuffle, splitmix};
use crate::near::view::{EntryId, View};

pub use codes::{Codes, ImageViews, stored_count};

/// Informative bits (bit 0, the DC term, is always clear).
const BITS: u32 = 255;
/// Narrowest and widest key.
pub const MIN_WIDTH: u32 = 10;
pub const MAX_WIDTH: u32 = 31;
/// Chance key collisions allowed per query and table: the slots a probe compares beyond its
/// own (each one word, in one stretch of memory) ...
pub const CHANCE_PER_QUERY: f64 = 6.0;
/// ... and chance candidates that pass the check, per query and table (each costs random
/// reads of two records and a hash transform).
pub const VERIFIED_PER_QUERY: f64 = 1.0 / 32.0;
/// Bits of a table's check (transpose pairs outside its key, compared in the slot before a
/// candidate's hashes are read): as many as a slot holds beside the id and the rest of the
/// key, at most this many ...
pub const MAX_CHECK_BITS: u32 = 44;
/// ... and the most of them a candidate may differ in is the fewest that keeps this share of
/// pairs 40 bits apart (beyond the farthest true copies measured, 36: docs/DESIGN.md "Calibration").
const CHECK_KEEPS_AT_40: f64 = 0.95;
/// The check of [`Plan::new`] (the fixed plans of the tests and of `--search-rounds` with
/// `--search-bits` on small sets): 32 bits.
const DEFAULT_CHECK_BITS: u32 = 32;
/// Random pairs sampled to estimate chance collisions.
const SAMPLES: usize = 100_000;
/// Seed of the bit partitions and the sample: the same data always gives the same tables.
const SEED: u64 = 0x5A3D_1E5E_ED25_6B17;

/// One table: which hash bit goes to each key bit. Slots `0..pairs` hold transpose pairs
/// (`2k` is `(u, v)`, `2k + 1` is `(v, u)`); the diagonal positions follow.
#[derive(Debug, Clone)]
pub struct KeyTable {
    positions: Vec<u8>,
    pairs: u32,
    /// Key of each transform's XOR mask, indexed by `Transform as usize`.
    mask_keys: [u64; 8],
}

impl KeyTable {
    /// A table of plain bit positions (no transpose pairs): keys of codes that are never
    /// flipped or turned, such as local-feature descriptors (`crate::near::affine`).
    pub fn of_positions(positions: Vec<u8>) -> Self {
        KeyTable::new(positions, 0)
    }

    fn new(positions: Vec<u8>, pairs: u32) -> Self {
        let mut table = KeyTable {
            positions,
            pairs,
            mask_keys: [0; 8],
        };
        for t in Transform::ALL {
            // The transform of 0 is its XOR mask (a transpose of zero is zero).
            table.mask_keys[t as usize] = table.key(&Hash256([0; 4]).transformed(t));
        }
        table
    }

    /// The key of `h`.
    #[inline]
    pub fn key(&self, h: &Hash256) -> u64 {
        let mut k = 0u64;
        for (slot, &p) in self.positions.iter().enumerate() {
            let bit = (h.0[usize::from(p >> 6)] >> (p & 63)) & 1;
            k |= bit << slot;
        }
        k
    }

    /// The key of `h.transformed(t)` from the key of `h`.
    #[inline]
    pub fn key_under(&self, key: u64, t: Transform) -> u64 {
        let (transpose, _, _) = t.parts();
        let k = if transpose {
            // The slots `0..pairs` hold transpose pairs (`pairs` at most 64, even).
            let paired = u64::MAX.checked_shr(64 - self.pairs).unwrap_or(0);
            let even = 0x5555_5555_5555_5555u64 & paired;
            let swapped = ((key & even) << 1) | ((key >> 1) & even);
            swapped | (key & !paired)
        } else {
            key
        };
        k ^ self.mask_keys[t as usize]
    }

    pub fn width(&self) -> u32 {
        self.positions.len() as u32
    }

    /// How many top bits of a key group the queries: up to 8, and never splitting a
    /// transpose pair, so every transform maps the keys of one group into one group (its
    /// top bits are a permutation of the group's, XOR a constant).
    fn group_bits(&self) -> u32 {
        let width = self.width();
        let bits = 8.min(width);
        // The boundary slot `width - bits` must not fall inside a pair (slots `2k, 2k + 1`
        // for `2k < 2 * pairs`).
        let boundary = width - bits;
        if boundary < 2 * self.pairs && boundary % 2 == 1 {
            bits - 1
        } else {
            bits
        }
    }
}

/// `m` disjoint keys of about `width` bits each, drawn from a shuffle of the transpose pairs
/// and diagonal positions (each key filled to `width` bits, the last ones with what is left).
fn round(width: u32, state: &mut u64) -> Vec<KeyTable> {
    // Items: the 120 transpose pairs (u < v) and the 15 diagonal positions other than the DC.
    let mut items: Vec<(u8, Option<u8>)> = Vec::with_capacity(135);
    for u in 0..16u8 {
        for v in u..16u8 {
            let p = 16 * u + v;
            if u == v {
                if p != 0 {
                    items.push((p, None));
                }
            } else {
                items.push((p, Some(16 * v + u)));
            }
        }
    }
    shuffle(&mut items, state);
    let m = (BITS / width) as usize;
    let mut keys: Vec<(Vec<u8>, Vec<u8>)> = vec![(Vec::new(), Vec::new()); m];
    for (p, q) in items {
        // The key with the fewest bits that still has room (a pair needs two).
        let need = if q.is_some() { 2 } else { 1 };
        let bits = |k: &(Vec<u8>, Vec<u8>)| k.0.len() + k.1.len();
        let Some(k) = keys
            .iter_mut()
            .filter(|k| bits(k) + need <= width as usize)
            .min_by_key(|k| bits(k))
        else {
            continue;
        };
        match q {
            Some(q) => k.0.extend([p, q]),
            None => k.1.push(p),
        }
    }
    keys.into_iter()
        .map(|(pairs, diagonal)| {
            let n = pairs.len() as u32;
            KeyTable::new(pairs.into_iter().chain(diagonal).collect(), n)
        })
        .collect()
}

/// A check for `table`: `pairs` transpose pairs none of whose bits are in its key (so a
/// transform maps it like a key).
fn check_for(table: &KeyTable, pairs: usize, state: &mut u64) -> KeyTable {
    let mut free: Vec<(u8, u8)> = Vec::with_capacity(120);
    for u in 0..16u8 {
        for v in u + 1..16u8 {
            let (p, q) = (16 * u + v, 16 * v + u);
            if !table.positions.contains(&p) && !table.positions.contains(&q) {
                free.push((p, q));
            }
        }
    }
    shuffle(&mut free, state);
    let chosen = &free[..pairs.min(free.len())];
    let positions = chosen.iter().flat_map(|&(p, q)| [p, q]).collect();
    KeyTable::new(positions, 2 * chosen.len() as u32)
}

/// The tables and what they promise.
#[derive(Debug, Clone)]
pub struct Plan {
    pub width: u32,
    pub tables: Vec<KeyTable>,
    /// Each table's check (pairs of bits outside its key) ...
    pub checks: Vec<KeyTable>,
    /// ... and the most check bits a candidate may differ in.
    pub check_max: u32,
    /// Every pair within this many bits (under a tried transform and view) is found.
    pub guaranteed: u32,
}

impl Plan {
    /// `rounds` rounds of keys of `width` bits, with 32-bit checks.
    pub fn new(width: u32, rounds: u32) -> Self {
        Plan::with(
            width,
            rounds as usize * per_round(width),
            DEFAULT_CHECK_BITS,
        )
    }

    /// `tables` keys of `width` bits, in rounds of [`per_round`] disjoint keys (the last round
    /// may be cut short), each with a check of about `check_bits` bits (even, at most
    /// `64 - width`).
    pub fn with(width: u32, tables: usize, check_bits: u32) -> Self {
        let width = width.clamp(MIN_WIDTH, MAX_WIDTH);
        let check_bits = check_bits.min(64 - width) & !1;
        let mut state = SEED;
        let mut keys: Vec<KeyTable> = Vec::with_capacity(tables);
        while keys.len() < tables {
            keys.extend(round(width, &mut state));
        }
        keys.truncate(tables);
        let checks: Vec<KeyTable> = keys
            .iter()
            .map(|t| check_for(t, check_bits as usize / 2, &mut state))
            .collect();
        // The check each table really got (wide keys leave fewer free pairs); the threshold
        // follows the narrowest.
        let check_bits = checks
            .iter()
            .map(KeyTable::width)
            .min()
            .unwrap_or(check_bits);
        let check_max = check_max_for(width, check_bits);
        // Pigeonhole over one whole round's disjoint keys; a pair that close passes any check
        // within `check_max`.
        let guaranteed = if tables >= per_round(width) {
            (per_round(width) as u32 - 1).min(check_max)
        } else {
            0
        };
        Plan {
            width,
            tables: keys,
            checks,
            check_max,
            guaranteed,
        }
    }

    /// Share of pairs `d` bits apart found, when their differing bits fall at random
    /// (the tables' keys taken as independent draws of `width` bits).
    pub fn recall_at(&self, d: u32) -> f64 {
        if d <= self.guaranteed {
            return 1.0;
        }
        let miss: f64 = self
            .tables
            .iter()
            .zip(&self.checks)
            .map(|(t, c)| 1.0 - table_recall(t.width(), c.width(), self.check_max, d))
            .product();
        1.0 - miss
    }

    /// Check bits of this plan's tables (the narrowest).
    pub fn check_bits(&self) -> u32 {
        self.checks.iter().map(KeyTable::width).min().unwrap_or(0)
    }
}

/// The most of `check_bits` bits a candidate may differ in: the fewest that keeps
/// [`CHECK_KEEPS_AT_40`] of pairs 40 bits apart.
fn check_max_for(width: u32, check_bits: u32) -> u32 {
    (0..=check_bits)
        .find(|&t| check_passes(width, 40, check_bits, t) >= CHECK_KEEPS_AT_40)
        .unwrap_or(check_bits)
}

/// Share of pairs `d` bits apart one table finds (key equal, check within `check_max`).
fn table_recall(width: u32, check_bits: u32, check_max: u32, d: u32) -> f64 {
    survive(width, d) * check_passes(width, d, check_bits, check_max)
}

/// Disjoint keys of `width` bits one round holds.
pub fn per_round(width: u32) -> usize {
    (BITS / width.clamp(MIN_WIDTH, MAX_WIDTH)) as usize
}

/// The fewest tables of `width`-bit keys with `check_bits`-bit checks whose estimated recall
/// at `d` bits reaches `target`: at least one round, at most `max_tables`.
pub fn tables_for(width: u32, check_bits: u32, d: u32, target: f64, max_tables: usize) -> usize {
    let width = width.clamp(MIN_WIDTH, MAX_WIDTH);
    let check_bits = check_bits.min(64 - width) & !1;
    let p = table_recall(width, check_bits, check_max_for(width, check_bits), d);
    let need = if p <= 0.0 {
        max_tables
    } else if p >= 1.0 {
        1
    } else {
        ((1.0 - target).ln() / (1.0 - p).ln()).ceil() as usize
    };
    need.clamp(per_round(width), max_tables.max(per_round(width)))
}

/// Probability that a pair `d` bits apart whose differences all fall outside a `w`-bit key
/// differs in at most `max` of the `n` check bits (drawn from the other `255 - w`): a
/// hypergeometric tail.
fn check_passes(w: u32, d: u32, n: u32, max: u32) -> f64 {
    let ln_choose = |n: u32, k: u32| -> f64 {
        if k > n {
            return f64::NEG_INFINITY;
        }
        (0..k)
            .map(|i| f64::from(n - i).ln() - f64::from(i + 1).ln())
            .sum()
    };
    let pool = BITS.saturating_sub(w);
    if d > pool || n > pool {
        return 0.0;
    }
    let total = ln_choose(pool, n);
    (0..=max.min(n).min(d))
        .map(|x| (ln_choose(d, x) + ln_choose(pool - d, n - x) - total).exp())
        .sum::<f64>()
        .min(1.0)
}

/// `C(255 - d, w) / C(255, w)`: a random `w`-bit key avoids all `d` differing bits.
fn survive(w: u32, d: u32) -> f64 {
    if d + w > BITS {
        return 0.0;
    }
    (0..w)
        .map(|i| f64::from(BITS - d - i) / f64::from(BITS - i))
        .product()
}

/// Recall the default effort aims at: this share of pairs ...
pub const TARGET_RECALL: f64 = 0.95;
/// ... this many bits apart (their differing bits spread at random: [`Plan::recall_at`]).
pub const TARGET_DISTANCE: u32 = 32;
/// At least this many image-tables by default (each table's time is linear in the images):
/// below ~300,000 images the search is cheap and this buys more than the target (100 tables
/// at 100,000 images) ...
pub const MIN_IMAGE_TABLES: usize = 10_000_000;
/// ... and at most this many tables (16 rounds of the narrowest keys).
pub const MAX_TABLES: usize = 400;

/// Check bits a table of `width`-bit keys gets over `stored` codes with ids below
/// `id_limit`: what a slot holds beside the id and the rest of the key, at most
/// [`MAX_CHECK_BITS`] and `64 - width`, even.
pub fn check_bits_for(width: u32, stored: usize, id_limit: u64) -> u32 {
    let (_, shift, id_bits) = table::layout(width, stored, id_limit, 0);
    MAX_CHECK_BITS
        .min(64 - width)
        .min(64u32.saturating_sub(id_bits + shift))
        & !1
}

/// The narrowest key width for `stored` codes (ids below `id_limit`) whose chance key
/// collisions stay within [`CHANCE_PER_QUERY`] per query and table and whose chance
/// candidates past the check within [`VERIFIED_PER_QUERY`], given `hist`, the distances of
/// random unrelated pairs (`hist[d]` pairs `d` bits apart).
pub fn width_for(stored: usize, id_limit: u64, hist: &[u64]) -> u32 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return MIN_WIDTH;
    }
    let stored_f = stored as f64;
    let mean = |f: &dyn Fn(u32) -> f64| -> f64 {
        hist.iter()
            .enumerate()
            .map(|(d, &c)| c as f64 * f(d as u32))
            .sum::<f64>()
            / total as f64
    };
    // Never wider than 16 keys per stored code: wider keys only split empty buckets, and the
    // collisions left then are true near pairs (a small set of copies), which no width removes.
    let widest = (usize::BITS - stored.leading_zeros() + 4).clamp(MIN_WIDTH, MAX_WIDTH);
    (MIN_WIDTH..=widest)
        .find(|&w| {
            let s = check_bits_for(w, stored, id_limit);
            let t = check_max_for(w, s);
            stored_f * mean(&|d| survive(w, d)) <= CHANCE_PER_QUERY
                && stored_f * mean(&|d| table_recall(w, s, t, d)) <= VERIFIED_PER_QUERY
        })
        .unwrap_or(widest)
}

/// The plan for these hashes: keys of `width` bits (default [`width_for`] the data), `rounds`
/// whole rounds of them (default: the fewest tables whose estimated recall at
/// [`TARGET_DISTANCE`] bits reaches [`TARGET_RECALL`], and at least [`MIN_IMAGE_TABLES`]
/// image-tables, at most [`MAX_TABLES`]), each with the widest check a slot holds.
pub fn plan<L: HashList + ?Sized>(
    hashes: &L,
    transforms: &[Transform],
    crops: bool,
    rounds: Option<u32>,
    width: Option<u32>,
) -> Plan {
    let views = ImageViews { hashes, crops };
    let stored = stored_count(&views);
    let id_limit = views.id_limit();
    let width = width
        .unwrap_or_else(|| {
            width_for(
                stored,
                id_limit,
                &sample_distances(hashes, transforms, crops),
            )
        })
        .clamp(MIN_WIDTH, MAX_WIDTH);
    let check_bits = check_bits_for(width, stored, id_limit);
    let tables = match rounds {
        Some(r) => r as usize * per_round(width),
        None => tables_for(
            width,
            check_bits,
            TARGET_DISTANCE,
            TARGET_RECALL,
            MAX_TABLES,
        )
        .max((MIN_IMAGE_TABLES / hashes.count().max(1)).min(MAX_TABLES)),
    };
    Plan::with(width, tables, check_bits)
}

/// Distances of random (full view under a random transform, any stored view) pairs of
/// different images: the background the key width is chosen against.
fn sample_distances<L: HashList + ?Sized>(
    hashes: &L,
    transforms: &[Transform],
    crops: bool,
) -> Vec<u64> {
    let mut hist = vec![0u64; 257];
    let n = hashes.count() as u64;
    if n < 2 || transforms.is_empty() {
        return hist;
    }
    let mut state = SEED ^ n;
    for _ in 0..SAMPLES {
        let i = splitmix(&mut state) % n;
        let j = (i + 1 + splitmix(&mut state) % (n - 1)) % n;
        let t = transforms[(splitmix(&mut state) % transforms.len() as u64) as usize];
        let view = View::ALL[(splitmix(&mut state) % if crops { 4 } else { 2 }) as usize];
        let e = codes::view(&hashes.hashes(j as usize), view);
        let d = hashes.hashes(i as usize).full.transformed(t).distance(&e);
        hist[d as usize] += 1;
    }
    hist
}

/// The sampled search over any code set: for each table of `plan` (built one at a time, in
/// parallel), each query code under each of `transforms` is probed, and each stored code with
/// its key whose check differs in at most `plan.check_max` bits is offered to
/// `accept(query id, stored id, transform)`; what it returns is collected, sorted and
/// deduplicated after each table (so memory holds one table and the distinct results).
///
/// The image search below is one caller; a caller with codes that have no flip or turn
/// structure (local-feature descriptors) passes `&[Transform::Identity]`. `accept` is where
/// the caller reads the codes (its own storage) and keeps a candidate or not.
pub fn search<C, F>(codes: &C, plan: &Plan, transforms: &[Transform], accept: F) -> Vec<u64>
where
    C: Codes + ?Sized,
    F: Fn(u32, u32, Transform) -> Option<u64> + Sync,
{
    let stored = stored_count(codes);
    let mut found: Vec<u64> = Vec::new();
    for (key, check) in plan.tables.iter().zip(&plan.checks) {
        let built = table::Stored::new(codes, key, check, stored);
        found.extend(table::table_pairs(
            codes, transforms, key, check, plan, &built, &accept,
        ));
        drop(built);
        found.sort_unstable();
        found.dedup();
    }
    found
}

/// Pairs of images `(a, b)`, `a < b`, that some table makes candidates and whose hashes under
/// the candidate's transform are within `radius`: sorted, each once. One table at a time is
/// built (in parallel) and probed (`table`: 8 bytes per stored view, and 16 per query of
/// the batches in flight).
pub fn candidate_pairs<L: HashList + ?Sized>(
    hashes: &L,
    radius: u32,
    transforms: &[Transform],
    crops: bool,
    plan: &Plan,
) -> Vec<(u32, u32)> {
    assert!(
        hashes.count() <= EntryId::MAX_IMAGES,
        "sampled search: an entry id holds the image and its view in 32 bits"
    );
    let views = ImageViews { hashes, crops };
    // Inlined into the probe loop, so its distance counts bits with `popcnt` too.
    search(
        &views,
        plan,
        transforms,
        #[inline(always)]
        |q, e, t| {
            let (i, j) = (EntryId(q).image(), EntryId(e).image());
            if i == j || views.hash(q).transformed(t).distance(&views.hash(e)) > radius {
                return None;
            }
            Some((u64::from(i.min(j)) << 32) | u64::from(i.max(j)))
        },
    )
    .into_iter()
    .map(|p| ((p >> 32) as u32, p as u32))
    .collect()
}

pub mod codes;
pub(crate) mod fast_key;
mod table;

#[cfg(test)]
mod tests;
