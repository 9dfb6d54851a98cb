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

/// Informative bits (bit 0, the DC term, is always clear).
const BITS: u32 = 255;
/// Narrowest and widest key.
pub const MIN_WIDTH: u32 = 10;
pub const MAX_WIDTH: u32 = 31;
/// Chance candidates allowed per query and table (a candidate that passes the check costs
/// random reads of two records and a hash transform; a query costs one probe of a cache-sized
/// stretch of the buckets: measured at a million images, one chance candidate per 16 queries
/// balances recall per second of CPU).
const CHANCE_PER_QUERY: f64 = 1.0 / 16.0;
/// Bits of a table's check: 16 transpose pairs outside its key, compared before a candidate's
/// hashes are read ...
const CHECK_PAIRS: usize = 16;
/// ... and the most of them two candidates may differ in to be verified. A pair within the
/// guarantee differs in at most that many bits anywhere, so it always passes; unrelated
/// hashes differ in 16 of 32 on average and pass 11% of the time; a true pair 48 bits apart
/// differs in about 6 of them and fails one time in a thousand ([`Plan::recall_at`] counts it).
const CHECK_MAX: u32 = 12;
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
    mask_keys: [u32; 8],
}

impl KeyTable {
    fn new(positions: Vec<u8>, pairs: u32) -> Self {
        let mut table = KeyTable {
            positions,
            pairs,
            mask_keys: [0; 8],
        };
        for t in Transform::ALL {
            // `Hash256([0; 4]).transformed(t)` is the transform's XOR mask (a transpose of zero is zero).
            table.mask_keys[t as usize] = table.key(&Hash256([0; 4]).transformed(t));
        }
        table
    }

    /// The key of `h`.
    #[inline]
    pub fn key(&self, h: &Hash256) -> u32 {
        let mut k = 0u32;
        for (slot, &p) in self.positions.iter().enumerate() {
            let bit = (h.0[usize::from(p >> 6)] >> (p & 63)) & 1;
            k |= (bit as u32) << slot;
        }
        k
    }

    /// The key of `h.transformed(t)` from the key of `h`.
    #[inline]
    pub fn key_under(&self, key: u32, t: Transform) -> u32 {
        let (transpose, _, _) = t.parts();
        let k = if transpose {
            let even = 0x5555_5555u32 & ((1u64 << self.pairs) - 1) as u32;
            let swapped = ((key & even) << 1) | ((key >> 1) & even);
            swapped | (key & !((1u64 << self.pairs) - 1) as u32)
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

/// A check for `table`: [`CHECK_PAIRS`] transpose pairs none of whose bits are in its key
/// (so a transform maps it like a key).
fn check_for(table: &KeyTable, state: &mut u64) -> KeyTable {
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
    let chosen = &free[..CHECK_PAIRS.min(free.len())];
    let positions = chosen.iter().flat_map(|&(p, q)| [p, q]).collect();
    KeyTable::new(positions, 2 * chosen.len() as u32)
}

/// The tables and what they promise.
#[derive(Debug, Clone)]
pub struct Plan {
    pub width: u32,
    pub tables: Vec<KeyTable>,
    /// Each table's check (`CHECK_PAIRS` pairs of bits outside its key).
    pub checks: Vec<KeyTable>,
    /// Every pair within this many bits (under a tried transform and view) is found.
    pub guaranteed: u32,
}

impl Plan {
    /// `rounds` rounds of keys of `width` bits.
    pub fn new(width: u32, rounds: u32) -> Self {
        let width = width.clamp(MIN_WIDTH, MAX_WIDTH);
        let mut state = SEED;
        let tables: Vec<KeyTable> = (0..rounds).flat_map(|_| round(width, &mut state)).collect();
        let checks = tables.iter().map(|t| check_for(t, &mut state)).collect();
        // Pigeonhole over one round's disjoint keys; the narrowest key decides the width.
        let per_round = (BITS / width).max(1);
        Plan {
            width,
            tables,
            checks,
            guaranteed: if rounds == 0 { 0 } else { per_round - 1 },
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
            .map(|t| 1.0 - survive(t.width(), d) * check_passes(t.width(), d))
            .product();
        1.0 - miss
    }
}

/// Probability that a pair `d` bits apart whose differences all fall outside a `w`-bit key
/// differs in at most [`CHECK_MAX`] of the check's bits (drawn from the other `255 - w`):
/// a hypergeometric tail.
fn check_passes(w: u32, d: u32) -> f64 {
    let ln_choose = |n: u32, k: u32| -> f64 {
        if k > n {
            return f64::NEG_INFINITY;
        }
        (0..k)
            .map(|i| f64::from(n - i).ln() - f64::from(i + 1).ln())
            .sum()
    };
    let (pool, n) = (BITS.saturating_sub(w), 2 * CHECK_PAIRS as u32);
    if d > pool {
        return 0.0;
    }
    let total = ln_choose(pool, n);
    (0..=CHECK_MAX.min(n).min(d))
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

/// The hash of entry `id` (an [`EntryId`]: image and view); an untrimmed view the image
/// lacks is its trimmed one.
fn entry_hash<L: HashList + ?Sized>(hashes: &L, id: u32) -> Hash256 {
    let id = EntryId(id);
    let h = hashes.hashes(id.image() as usize);
    id.view().hash(&h).unwrap_or(h.full)
}

/// Chooses the key width for these hashes (unless `width` is given): the narrowest whose
/// estimated chance candidates stay within `CHANCE_PER_QUERY` per query and table; then
/// `rounds` rounds.
pub fn plan<L: HashList + ?Sized>(
    hashes: &L,
    transforms: &[Transform],
    crops: bool,
    rounds: u32,
    width: Option<u32>,
) -> Plan {
    let entries = table::stored_count(hashes, crops) as f64;
    let hist = sample_distances(hashes, transforms, crops);
    let total: u64 = hist.iter().sum();
    let chance = |w: u32| -> f64 {
        if total == 0 {
            return 0.0;
        }
        let p: f64 = hist
            .iter()
            .enumerate()
            .map(|(d, &c)| c as f64 * survive(w, d as u32))
            .sum::<f64>()
            / total as f64;
        p * entries
    };
    let width = width.unwrap_or_else(|| {
        (MIN_WIDTH..=MAX_WIDTH)
            .find(|&w| chance(w) <= CHANCE_PER_QUERY)
            .unwrap_or(MAX_WIDTH)
    });
    Plan::new(width, rounds)
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
        let view = splitmix(&mut state) % View::queried(crops).count() as u64;
        let view = View::queried(crops).nth(view as usize).expect("in range");
        let e = entry_hash(hashes, EntryId::new(j as usize, view).0);
        let d = hashes.hashes(i as usize).full.transformed(t).distance(&e);
        hist[d as usize] += 1;
    }
    hist
}

/// Pairs of images `(a, b)`, `a < b`, that some table makes candidates and whose hashes under
/// the candidate's transform are within `radius`: sorted, each once. One table at a time is
/// built (in parallel) and probed (`table.rs`: 8 bytes per stored view, and 12 per query of
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
    let stored = table::stored_count(hashes, crops);
    let mut found: Vec<u64> = Vec::new();
    for (key, check) in plan.tables.iter().zip(&plan.checks) {
        let built = table::Stored::new(hashes, crops, key, check, stored);
        found.extend(table::table_pairs(
            hashes, radius, transforms, key, check, &built,
        ));
        drop(built);
        found.sort_unstable();
        found.dedup();
    }
    found
        .into_iter()
        .map(|p| ((p >> 32) as u32, p as u32))
        .collect()
}

mod fast_key;
mod table;

#[cfg(test)]
mod tests;
