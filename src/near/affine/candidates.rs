//! Candidate pairs from votes over descriptor keys, streamed so that memory does not grow with
//! the descriptors: no all-pairs matching, and no image's features held beyond its own turn.
//!
//! 1. **Entries.** Each image is read once ([`Source::run_keys`]: the sidecar's entries
//!    through a map, a run at a time). Of its search descriptors ([`each_search_index`]), each
//!    gives per key table a *direct* entry (its key) and a *mirror* entry (the key of its
//!    mirror permutation, `crate::scan::features::mirrored`), with the orientation bin of the
//!    keypoint (of the mirrored keypoint for the mirror entry). An entry
//!    is one `u64`: key (32 bits), mirror flag, image (27 bits), bin (4 bits), so sorting the
//!    entries sorts them by key, then side, then image. Keys come from the hash search's
//!    machinery (`crate::near::sampled::KeyTable`, `fast_key`: `pext` where it is fast), a
//!    chunk of images one table at a time.
//! 2. **Partitions.** Entries go to a partition by table and the top bits of the key
//!    ([`super::spill`]: memory, or a temporary file at a million images), so each key's
//!    entries are in one partition and a partition is sorted on its own.
//! 3. **Votes.** In each partition, only entries whose key another entry may share are kept
//!    (a set of slots seen once and twice: most keys are one entry's alone) and sorted; then
//!    one entry per key, side and image (the smallest bin); a key
//!    shared by at most [`KeyPlan::max_bucket`] images gives every two of them a *plain* vote,
//!    a direct key equal to another image's mirror key a *mirror* vote, in the slot of the
//!    orientation difference. A vote is one `u64` (image, image, slot).
//! 4. **Scores.** The votes sorted by pair; a pair's score is the best two neighbouring slots
//!    of one side (a true copy's shared keys agree on the rotation, chance collisions do not),
//!    and pairs scoring at least [`KeyPlan::min_votes`] are the candidates.

use anyhow::{Result, bail};
use rayon::prelude::*;

use super::KeyPlan;
use super::spill::{Finished, Store};
use crate::base::hash::Hash256;
use crate::near::sampled::KeyTable;
use crate::near::sampled::fast_key::FastKey;
use crate::scan::features::{Features, mirrored};

/// Orientation bins of a vote.
pub const ANGLE_BINS: usize = 16;
/// Bits of an image number in an entry or a vote: at most 134 million images with features.
pub const IMAGE_BITS: u32 = 27;
/// Entries per partition aimed at (16 MB): what one thread sorts at a time.
const PART_ENTRIES: usize = 2 << 20;
/// Above this many entries in all (256 MB) the partitions go to temporary files.
pub const MEMORY_ENTRIES: usize = 32 << 20;
/// Images whose entries are made together before they are handed to the store.
const BATCH: usize = 512;

/// The images of a candidate search, each read once for its keys.
pub trait Source: Sync {
    /// Images, `0..len()`.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends image `k`'s search descriptors, at most `keys` ([`each_search_index`]), each with
    /// its keypoint's angle (nothing when they cannot be read).
    fn search_keys(&self, k: usize, keys: usize, out: &mut Vec<(Hash256, f32)>);

    /// Shows `f` the search descriptors of each of `images` in turn, with the image and the
    /// keypoint's angle: [`Source::search_keys`] image by image, unless the source reads a
    /// run of images faster together.
    fn run_keys(
        &self,
        images: std::ops::Range<usize>,
        keys: usize,
        f: impl FnMut(usize, Hash256, f32),
    ) {
        keys_one_by_one(self, images, keys, f);
    }
}

/// [`Source::run_keys`] by [`Source::search_keys`], image by image.
pub fn keys_one_by_one<S: Source + ?Sized>(
    source: &S,
    images: std::ops::Range<usize>,
    keys: usize,
    mut f: impl FnMut(usize, Hash256, f32),
) {
    let mut found = Vec::new();
    for k in images {
        found.clear();
        source.search_keys(k, keys, &mut found);
        for &(d, angle) in &found {
            f(k, d, angle);
        }
    }
}

/// Features in memory (tests, `examples/affine_study.rs`).
impl Source for [Features] {
    fn len(&self) -> usize {
        <[Features]>::len(self)
    }
    fn search_keys(&self, k: usize, keys: usize, out: &mut Vec<(Hash256, f32)>) {
        features_keys(&self[k], keys, out);
    }
}

/// One image's search descriptors ([`each_search_index`]) with their keypoints' angles.
pub fn features_keys(f: &Features, keys: usize, out: &mut Vec<(Hash256, f32)>) {
    let level = |i: usize| f.points[i].level;
    each_search_index(f.len(), level, keys, |i| {
        out.push((f.desc[i], f.points[i].angle))
    });
}

/// The orientation bin of an angle in radians (any angle above -3 pi; the extraction's are
/// in -pi..=pi). Shifted by a turn so the truncating cast is the floor (`f32::floor` is a libm
/// call, 4% of the search's CPU at 200,000 images).
pub fn angle_bin(a: f32) -> u8 {
    let t = (a + 3.0 * std::f32::consts::PI) / std::f32::consts::TAU;
    ((t * ANGLE_BINS as f32).max(0.0) as i32).rem_euclid(ANGLE_BINS as i32) as u8
}

/// The descriptors an image searches with, by the pyramid levels of its `n` keypoints
/// (`level(i)`, in runs, as the extraction lists them): all of them, or at most `keys` of
/// them taken from the front of each level in proportion to its share, rounded down (the
/// extraction lists a level's corners strongest first). Each index is shown to `f` in order:
/// no list of levels or indices is made (at a million images those were 7% of the keying's
/// CPU).
pub fn each_search_index(
    n: usize,
    level: impl Fn(usize) -> u8,
    keys: usize,
    mut f: impl FnMut(usize),
) {
    if keys >= n {
        (0..n).for_each(f);
        return;
    }
    let mut start = 0;
    while start < n {
        let l = level(start);
        // The end of the level's run, by binary search.
        let (mut lo, mut hi) = (start + 1, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if level(mid) == l {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let len = lo - start;
        let take = keys * len / n;
        (start..start + take.min(len)).for_each(&mut f);
        start = lo;
    }
}

/// Bit positions of the key tables: a fixed pseudo-random permutation of 0..256, cut into
/// keys of `bits` bits (disjoint while they last, then drawn from a further permutation), each
/// in ascending order (which bits a key holds is what counts; in ascending order `pext` alone
/// computes it, `fast_key`).
fn key_tables(plan: &KeyPlan) -> Vec<FastKey> {
    let mut all: Vec<u8> = Vec::new();
    let mut state = 0xaff1_4e5e_ed00_0022;
    while all.len() < plan.tables * plan.bits {
        let mut perm: Vec<u8> = (0..=255).collect();
        crate::base::rng::shuffle(&mut perm, &mut state);
        all.extend(perm);
    }
    let no_check = KeyTable::of_positions(Vec::new());
    all.chunks(plan.bits)
        .take(plan.tables)
        .map(|p| {
            let mut p = p.to_vec();
            p.sort_unstable();
            FastKey::new(&KeyTable::of_positions(p), &no_check)
        })
        .collect()
}

fn entry(key: u32, mirror: bool, image: usize, bin: u8) -> u64 {
    u64::from(key) << 32 | u64::from(mirror) << 31 | (image as u64) << 4 | u64::from(bin)
}

fn image_of(e: u64) -> u64 {
    (e >> 4) & ((1 << IMAGE_BITS) - 1)
}

fn vote(lo: u64, hi: u64, slot: usize) -> u64 {
    lo << 32 | hi << 5 | slot as u64
}

/// How the entries are partitioned: `2^top_bits` ranges of each table's keys.
struct Layout {
    tables: usize,
    bits: usize,
    top_bits: u32,
}

impl Layout {
    fn parts(&self) -> usize {
        self.tables << self.top_bits
    }
    /// Partitions per table.
    fn per_table(&self) -> usize {
        1 << self.top_bits
    }
    /// The partition of `key` among its table's.
    #[inline(always)]
    fn sub(&self, key: u32) -> usize {
        // In u64: a single partition per table shifts by all 32 bits.
        (u64::from(key) >> (self.bits as u32 - self.top_bits)) as usize
    }
}

/// What the search did, for [`super::AffineReport`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Effort {
    /// Entries made (two per search descriptor and table).
    pub entries: usize,
    /// Whether they went to temporary files.
    pub spilled: bool,
}

/// Where the partitions go once the entries outgrow memory.
#[derive(Debug, Clone, Copy)]
pub struct SpillTo<'a> {
    /// The folder of the temporary files (outside ROOT).
    pub dir: &'a std::path::Path,
    /// Entries (at most, by the plan) above which they are used: [`MEMORY_ENTRIES`].
    pub above: usize,
}

/// Candidate pairs `(i, j)`, `i < j`, of images of `source`, and what it took (`spill`:
/// `None` keeps everything in memory).
pub fn candidates<S: Source + ?Sized>(
    source: &S,
    plan: &KeyPlan,
    spill: Option<SpillTo>,
) -> Result<(Vec<(u32, u32)>, Effort)> {
    let (scored, effort) = scores(source, plan, spill, plan.min_votes)?;
    Ok((scored.into_iter().map(|(p, _)| p).collect(), effort))
}

/// A pair of images and its score.
pub type Scored = ((u32, u32), u32);

/// Every pair scoring at least `least` with its score, sorted, and what it took.
pub fn scores<S: Source + ?Sized>(
    source: &S,
    plan: &KeyPlan,
    spill: Option<SpillTo>,
    least: u32,
) -> Result<(Vec<Scored>, Effort)> {
    let n = source.len();
    if n as u64 >= 1 << IMAGE_BITS {
        bail!(
            "the affine search takes at most {} images",
            1u64 << IMAGE_BITS
        );
    }
    assert!(plan.bits <= 32 && plan.bits >= 8, "keys of 8 to 32 bits");
    let tables = key_tables(plan);
    // An upper bound of the entries, for the layout and the choice of store.
    let most = n
        .saturating_mul(plan.keys_per_image.min(crate::scan::features::MAX_FEATURES))
        .saturating_mul(2 * plan.tables);
    let per_table = most / plan.tables.max(1);
    let top_bits = (per_table.div_ceil(PART_ENTRIES).max(1))
        .next_power_of_two()
        .trailing_zeros()
        .min(plan.bits as u32 - 1);
    let layout = Layout {
        tables: plan.tables,
        bits: plan.bits,
        top_bits,
    };
    let store = |parts: usize| match spill {
        Some(s) if most > s.above => Store::file(parts, s.dir),
        _ => Ok(Store::memory(parts)),
    };
    let keys = store(layout.parts())?;
    let spilled = matches!(keys, Store::File(_));
    let keys = std::sync::Mutex::new(keys);
    let t_keys = crate::base::timing::phase("affine keys");
    let threads = rayon::current_num_threads().max(1);
    let per_image = most / n.max(1);
    let chunks = n.div_ceil(BATCH);
    // Each thread keys every `threads`-th chunk of images into buffers of its own and hands
    // them to the store under its lock: one thread writes while the others key (made in
    // parallel and written by one thread between batches, the cores were half idle).
    let entries = (0..threads)
        .into_par_iter()
        .map(|t| -> Result<usize> {
            // One table's partitions, sized for a chunk's share (keys spread evenly over
            // them), so few grow: growing them was 9 million reallocations at a million
            // images.
            let per_table = layout.per_table();
            let share = BATCH * per_image / layout.parts();
            let mut parts: Vec<Vec<u64>> = (0..per_table)
                .map(|_| Vec::with_capacity(share + share / 4 + 16))
                .collect();
            let (mut made, mut chunk) = (0, Chunk::default());
            for c in (t..chunks).step_by(threads) {
                chunk.clear();
                let images = c * BATCH..n.min((c + 1) * BATCH);
                source.run_keys(images, plan.keys_per_image, |k, d, angle| {
                    chunk.push(d, angle, k);
                });
                // Table by table: a pass writes to one table's partitions only (64 at a
                // million images, whose ends stay in the L1 cache; all 512 at once, the
                // stores waited on memory: a quarter of the phase).
                for (table, key) in tables.iter().enumerate() {
                    chunk.table_entries(key, &layout, &mut parts);
                    let mut store = keys.lock().unwrap_or_else(|e| e.into_inner());
                    for (sub, e) in parts.iter_mut().enumerate() {
                        made += e.len();
                        store.push(table * per_table + sub, e)?;
                        e.clear();
                    }
                }
            }
            Ok(made)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    let keys = keys.into_inner().unwrap_or_else(|e| e.into_inner());
    let keys = keys.finish()?;
    drop(t_keys);
    let t_votes = crate::base::timing::phase("affine votes");
    // Votes go to partitions by their lower image, so each pair's votes meet in one: most
    // pairs that share a key share only one (chance), and are dropped partition by partition.
    let vote_parts = keys.parts();
    let largest = (0..keys.parts()).map(|p| keys.len(p)).max().unwrap_or(0);
    let votes = std::sync::Mutex::new(store(vote_parts)?);
    // Each thread takes every `threads`-th partition (they are about equal) with buffers of
    // its own, made once: one per partition held 60 MB more at a million images.
    (0..threads)
        .into_par_iter()
        .try_for_each(|t| -> Result<()> {
            // Sized once for the largest partition read from the file: grown partition by
            // partition, the buffers' reallocations held 50 MB more at a million images (in
            // memory a partition is taken as it is).
            let room = if spilled { largest } else { 0 };
            let (mut buf, mut seen) = (Vec::with_capacity(room), Seen::new());
            let mut by_part = vec![Vec::new(); vote_parts];
            for p in (t..keys.parts()).step_by(threads) {
                take_shared(&keys, p, &mut seen, &mut buf)?;
                for v in part_votes(&mut buf, plan.max_bucket) {
                    by_part[(v >> 32) as usize % vote_parts].push(v);
                }
                let mut store = votes.lock().unwrap_or_else(|e| e.into_inner());
                for (q, v) in by_part.iter_mut().enumerate() {
                    store.push(q, v)?;
                    v.clear();
                }
            }
            Ok(())
        })?;
    drop(keys);
    drop(t_votes);
    let _t = crate::base::timing::phase("affine scores");
    let votes = votes
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .finish()?;
    let mut scored: Vec<Scored> = (0..vote_parts)
        .into_par_iter()
        .map_init(Vec::new, |buf, q| -> Result<Vec<Scored>> {
            votes.take(q, buf)?;
            buf.sort_unstable();
            Ok(pair_scores(buf).filter(|&(_, s)| s >= least).collect())
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    drop(votes);
    // The partitions' buffers were freed on the pool's threads: give the memory back.
    crate::base::memory::release_freed();
    scored.par_sort_unstable();
    Ok((scored, Effort { entries, spilled }))
}

/// A chunk's search descriptors as the keying reads them: each descriptor and its mirror
/// permutation, and beside each the rest of its entry (`image << 4 | bin`).
#[derive(Default)]
struct Chunk {
    hashes: Vec<Hash256>,
    tails: Vec<u64>,
    /// One table's keys of `hashes` (reused).
    keys: Vec<u32>,
}

impl Chunk {
    fn clear(&mut self) {
        self.hashes.clear();
        self.tails.clear();
    }

    fn push(&mut self, d: Hash256, angle: f32, image: usize) {
        self.hashes.extend([d, mirrored(&d)]);
        self.tails.extend([
            entry(0, false, image, angle_bin(angle)),
            // The mirrored keypoint's angle is pi - angle.
            entry(0, true, image, angle_bin(std::f32::consts::PI - angle)),
        ]);
    }

    /// The chunk's entries in one table (`key`), appended to that table's partitions.
    fn table_entries(&mut self, key: &FastKey, layout: &Layout, parts: &mut [Vec<u64>]) {
        self.keys.clear();
        key.keys_into(&self.hashes, &mut self.keys);
        for (&k, &tail) in self.keys.iter().zip(&self.tails) {
            parts[layout.sub(k)].push(u64::from(k) << 32 | tail);
        }
    }
}

/// Keys seen once and keys seen again, by a hash of the key into `2^bits` slots: a
/// partition's entries whose key no other entry has give no vote, and at a million images
/// they are most of them (8 tables of 32-bit keys: chance alone shares few).
struct Seen {
    /// Per 64 slots: the seen-once bits and the seen-again bits, side by side so that a
    /// slot's two bits share a cache line (the sets are larger than the L2 cache: each look
    /// is a miss).
    words: Vec<[u64; 2]>,
    bits: u32,
}

/// Entries between the request of a slot's cache line and its use.
const AHEAD: usize = 16;

impl Seen {
    fn new() -> Self {
        Seen {
            words: Vec::new(),
            bits: 0,
        }
    }

    /// Cleared, with about 16 slots per entry for `entries` entries (few chance slot
    /// collisions: those entries are only sorted for nothing), at most 2^24 (4 MB: a skewed
    /// partition gets more collisions, not more memory).
    fn reset(&mut self, entries: usize) {
        self.bits = (entries.max(64) * 16)
            .next_power_of_two()
            .trailing_zeros()
            .min(24);
        self.words.clear();
        self.words.resize((1usize << self.bits) / 64, [0; 2]);
    }

    #[inline(always)]
    fn slot(&self, e: u64) -> (usize, u64) {
        // The key's bits mixed into the top (a partition's keys agree in their top bits).
        let h = ((e >> 32) as u32).wrapping_mul(0x9e37_79b1) >> (32 - self.bits);
        ((h >> 6) as usize, 1 << (h & 63))
    }

    #[inline(always)]
    fn prefetch(&self, e: u64) {
        crate::base::cpu::prefetch(self.words.as_ptr().wrapping_add(self.slot(e).0));
    }

    /// Marks the keys of `entries`.
    fn mark(&mut self, entries: &[u64]) {
        for (j, &e) in entries.iter().enumerate() {
            if let Some(&ahead) = entries.get(j + AHEAD) {
                self.prefetch(ahead);
            }
            let (w, b) = self.slot(e);
            let [once, again] = &mut self.words[w];
            *again |= *once & b;
            *once |= b;
        }
    }

    /// Keeps the entries of `entries` whose key may be shared (its slot seen at least twice).
    fn keep_shared(&self, entries: &mut Vec<u64>) {
        let mut kept = 0;
        for j in 0..entries.len() {
            if let Some(&ahead) = entries.get(j + AHEAD) {
                self.prefetch(ahead);
            }
            let e = entries[j];
            let (w, b) = self.slot(e);
            entries[kept] = e;
            kept += usize::from(self.words[w][1] & b != 0);
        }
        entries.truncate(kept);
    }
}

/// Partition `p`'s entries whose key another entry may share, into `out`, sorted: every entry
/// of every shared key, and a few others (slot collisions), which give no votes. The
/// partition is read once, whole (read twice a block at a time, the reads were a sixth of the
/// votes' CPU at a million images). About 1 entry in 30 is kept: sorting them all took 3x as
/// long.
fn take_shared(parts: &Finished, p: usize, seen: &mut Seen, out: &mut Vec<u64>) -> Result<()> {
    parts.take(p, out)?;
    seen.reset(out.len());
    seen.mark(out);
    seen.keep_shared(out);
    out.sort_unstable();
    Ok(())
}

/// The votes of a partition's entries, sorted.
fn part_votes(e: &mut Vec<u64>, max_bucket: usize) -> Vec<u64> {
    // One entry per key, side and image: the smallest bin.
    e.dedup_by_key(|x| *x >> 4);
    let n = ANGLE_BINS as u64;
    let mut out = Vec::new();
    for run in e.chunk_by(|a, b| a >> 32 == b >> 32) {
        let (direct, mirror) = run.split_at(run.partition_point(|x| x >> 31 & 1 == 0));
        if direct.len() > max_bucket {
            continue;
        }
        // Images ascend within a side, so `a` is the lower of each plain pair.
        for (x, &a) in direct.iter().enumerate() {
            for &b in &direct[x + 1..] {
                let d = ((b & 15) + n - (a & 15)) % n;
                out.push(vote(image_of(a), image_of(b), d as usize));
            }
        }
        if mirror.len() > max_bucket {
            continue;
        }
        for &a in direct {
            for &b in mirror {
                let (ia, ib) = (image_of(a), image_of(b));
                if ia != ib {
                    // Direct angle a, mirrored angle b: the difference b - a.
                    let d = ((b & 15) + n - (a & 15)) % n;
                    out.push(vote(ia.min(ib), ia.max(ib), ANGLE_BINS + d as usize));
                }
            }
        }
    }
    out
}

/// Each pair's score from its sorted votes: the best two neighbouring slots of one side.
fn pair_scores(votes: &[u64]) -> impl Iterator<Item = ((u32, u32), u32)> + '_ {
    votes.chunk_by(|a, b| a >> 5 == b >> 5).map(|run| {
        let mut c = [0u32; 2 * ANGLE_BINS];
        for v in run {
            c[(v & 31) as usize] += 1;
        }
        let best = (0..2 * ANGLE_BINS)
            .map(|s| {
                let half = s / ANGLE_BINS * ANGLE_BINS;
                let next = half + (s - half + 1) % ANGLE_BINS;
                c[s] + c[next]
            })
            .max()
            .unwrap_or(0);
        let v = run[0];
        (
            (
                (v >> 32) as u32,
                ((v >> 5) & ((1 << IMAGE_BITS) - 1)) as u32,
            ),
            best,
        )
    })
}

#[cfg(test)]
mod sort_tests {
    use super::*;

    #[test]
    fn shared_keys_are_taken_whole_and_sorted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut state = 11;
        for (len, key_bits) in [(0, 20), (1, 20), (5000, 26), (100_000, 26), (3000, 10)] {
            // Entries of one partition (their keys agree in the top 6 bits), `key_bits` of
            // key below: 10 bits give many shared keys and slot collisions.
            let mut key = || {
                let r = crate::base::rng::splitmix(&mut state);
                (0x2a << 26 | (r & ((1 << key_bits) - 1))) as u32
            };
            let mut v: Vec<u64> = Vec::new();
            for i in 0..len {
                let k = key();
                let e = |image: usize, mirror: bool| entry(k, mirror, image, (image % 16) as u8);
                v.push(e(i, false));
                // Shared keys, on either side: copies' keys.
                if i % 7 == 0 {
                    v.push(e(i + 1, i % 2 == 0));
                }
            }
            let mut all = v.clone();
            all.sort_unstable();
            let shared: Vec<u64> = all
                .chunk_by(|a, b| a >> 32 == b >> 32)
                .filter(|run| run.len() > 1)
                .flatten()
                .copied()
                .collect();
            for mut store in [Store::memory(1), Store::file(1, dir.path()).expect("file")] {
                store.push(0, &v).expect("push");
                let done = store.finish().expect("finish");
                let mut out = vec![1, 2, 3];
                take_shared(&done, 0, &mut Seen::new(), &mut out).expect("take");
                assert!(out.is_sorted());
                // Every entry of a shared key, in order, and nothing not pushed.
                let kept: Vec<u64> = out
                    .iter()
                    .copied()
                    .filter(|x| shared.binary_search(x).is_ok())
                    .collect();
                assert_eq!(kept, shared);
                assert!(out.iter().all(|x| all.binary_search(x).is_ok()));
                assert!(out.len() <= all.len());
                // With sparse keys most entries are dropped (their key is theirs alone).
                if key_bits == 26 && len > 1000 {
                    assert!(out.len() < all.len() / 3, "{} of {}", out.len(), all.len());
                }
                // So the votes are those of all the entries.
                assert_eq!(part_votes(&mut out, 8), part_votes(&mut all.clone(), 8));
            }
        }
    }
}
