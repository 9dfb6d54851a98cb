//! Exact Hamming-radius search over 256-bit hashes by multi-index hashing (MIH). The
//! pigeonhole argument: the bits are cut into chunks searched with radii `r_k`, where
//! `sum (r_k + 1) = r + 1`; two hashes within `r` bits differ in at most `r` bits in all, so
//! on some chunk `k` they differ in at most `r_k` (else the differences would add up to at
//! least `r + 1`), and searching every chunk within its radius finds every pair. Uneven radii
//! keep the probe count low; bits outside every chunk are only verified.
//!
//! # What differs from the 64-bit index
//!
//! Radii are larger (true copies sit up to ~30 of 256 bits apart, see docs/DESIGN.md
//! "Calibration"), so more chunks are needed: at n = 1,000,000 and r = 40 the planner picks
//! fourteen 18-bit chunks with radii 2 and 1 (2,255 probes per query). Keeping a full copy of
//! every hash per chunk, as the 64-bit index does, would cost 14 x 36 bytes per image; instead
//! each chunk keeps only the ids in bucket order (4 bytes per image per chunk) and candidates
//! are verified against one shared array of the hashes (32 bytes per image), renumbered into
//! the first chunk's bucket order so that part of the verification reads sequentially.
//!
//! All pairs (`pairs_within`) do not go through this index: `pairs` joins the hashes chunk
//! by chunk with sequential reads (see its module doc), 34x brute force at radius 48 and
//! n = 1,000,000 where one query per image managed 7x.
//! `leaks`' decision does not either: `cross` joins each batch of transformed query hashes
//! with the stored views the same way (two sets), see [`cross_within`].
//!
//! # Memory
//!
//! `36 + 4m` bytes per image (hashes, caller's ids, chunk ids) plus `4 (2^w + 1)` bytes of
//! offsets per chunk; for n = 1,000,000 and r = 40: 36 + 56 bytes per image + 14 x 1 MiB =
//! about 106.5 bytes per image (the plan
//! is capped at 112 bytes per image plus 16 MiB). Radii for which probing would cost more than
//! a linear scan fall back to one (32 bytes per image).

#[cfg(any(test, feature = "bench"))]
use std::fmt;

#[cfg(any(test, feature = "bench"))]
use rayon::prelude::*;

use crate::base::hash::Hash256;

#[cfg(any(test, feature = "bench"))]
/// Relative cost of probing one bucket (offset lookup, likely a cache miss) ...
const PROBE_COST: f64 = 4.0;
#[cfg(any(test, feature = "bench"))]
/// ... of verifying one candidate (a random read of its 32-byte hash, xor, popcount) ...
const VERIFY_COST: f64 = 2.0;
#[cfg(any(test, feature = "bench"))]
/// ... and of scanning one hash in a linear pass, in the same unit.
const SCAN_COST: f64 = 1.0;
#[cfg(any(test, feature = "bench"))]
/// Memory cap of a plan: this many bytes per image ...
const BUDGET_PER_IMAGE: usize = 112;
#[cfg(any(test, feature = "bench"))]
/// ... plus this many bytes.
const BUDGET_FIXED: usize = 16 << 20;
#[cfg(any(test, feature = "bench"))]
/// Widest chunk: 2^24 + 1 offsets (64 MiB) is the most a single table may take.
const MAX_WIDTH: u32 = 24;
/// Bits of a hash.
const BITS: u32 = 256;

/// One chunk of the plan: `width` bits starting at bit `shift`, probed within `radius` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ChunkSpec {
    shift: u32,
    width: u32,
    radius: u32,
}

impl ChunkSpec {
    /// The chunk's bits of `h` (may straddle two words).
    #[inline]
    fn value(&self, h: &Hash256) -> u32 {
        let (word, off) = ((self.shift / 64) as usize, self.shift % 64);
        let mut v = h.0[word] >> off;
        if off + self.width > 64 && word + 1 < 4 {
            v |= h.0[word + 1] << (64 - off);
        }
        (v & ((1u64 << self.width) - 1)) as u32
    }
}

#[cfg(any(test, feature = "bench"))]
/// One chunk's CSR table of ids.
struct Chunk {
    spec: ChunkSpec,
    /// `offsets[v]..offsets[v + 1]` is the bucket of chunk value `v`.
    offsets: Vec<u32>,
    /// Internal ids (positions in `MultiIndex256::hashes`) in bucket order, ascending within a
    /// bucket.
    ids: Vec<u32>,
    /// All `width`-bit values with at most `radius` bits set: the probe pattern.
    masks: Vec<u32>,
}

#[cfg(any(test, feature = "bench"))]
impl Chunk {
    fn build(hashes: &[Hash256], spec: ChunkSpec) -> Self {
        let (offsets, ids) = counting_sort(hashes, spec);
        Chunk {
            spec,
            offsets,
            ids,
            masks: masks_within(spec.width, spec.radius),
        }
    }

    #[inline]
    fn bucket(&self, v: u32) -> std::ops::Range<usize> {
        self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize
    }

    fn heap_bytes(&self) -> usize {
        (self.offsets.capacity() + self.ids.capacity() + self.masks.capacity()) * 4
    }
}

/// Stable counting sort of positions by chunk value: (offsets, positions in bucket order).
fn counting_sort(hashes: &[Hash256], spec: ChunkSpec) -> (Vec<u32>, Vec<u32>) {
    let size = 1usize << spec.width;
    let mut offsets = vec![0u32; size + 1];
    for h in hashes {
        offsets[spec.value(h) as usize + 1] += 1;
    }
    for v in 0..size {
        offsets[v + 1] += offsets[v];
    }
    let mut next = offsets[..size].to_vec();
    let mut ids = vec![0u32; hashes.len()];
    for (id, h) in hashes.iter().enumerate() {
        let slot = &mut next[spec.value(h) as usize];
        ids[*slot as usize] = id as u32;
        *slot += 1;
    }
    (offsets, ids)
}

#[cfg(any(test, feature = "bench"))]
/// Exact Hamming-radius search over 256-bit hashes (multi-index hashing).
pub struct MultiIndex256 {
    radius: u32,
    /// The hashes, renumbered into the first chunk's bucket order (as given for a linear scan).
    hashes: Vec<Hash256>,
    /// Caller's id of each internal position.
    external: Vec<u32>,
    /// Empty when the plan is a linear scan.
    chunks: Vec<Chunk>,
}

#[cfg(any(test, feature = "bench"))]
impl MultiIndex256 {
    /// Builds the index for `hashes` (ids are positions) for queries of at most `radius` bits.
    pub fn new(hashes: &[Hash256], radius: u32) -> Self {
        Self::with_plan(hashes, radius, plan(hashes.len(), radius))
    }

    /// Builds the index with explicit chunks (`None`: linear scan). The chunks must be
    /// disjoint and satisfy `sum(radius + 1) == min(radius, 256) + 1`.
    fn with_plan(hashes: &[Hash256], radius: u32, specs: Option<Vec<ChunkSpec>>) -> Self {
        assert!(
            u32::try_from(hashes.len()).is_ok(),
            "MultiIndex256: ids are u32, got {} hashes",
            hashes.len()
        );
        let Some(specs) = specs.filter(|s| !s.is_empty()) else {
            return MultiIndex256 {
                radius,
                hashes: hashes.to_vec(),
                external: (0..hashes.len() as u32).collect(),
                chunks: Vec::new(),
            };
        };
        debug_assert_eq!(
            specs.iter().map(|s| s.radius + 1).sum::<u32>(),
            radius.min(BITS) + 1
        );
        let (_, order) = counting_sort(hashes, specs[0]);
        let sorted: Vec<Hash256> = order.iter().map(|&i| hashes[i as usize]).collect();
        let chunks = specs
            .into_par_iter()
            .map(|spec| Chunk::build(&sorted, spec))
            .collect();
        MultiIndex256 {
            radius,
            hashes: sorted,
            external: order,
            chunks,
        }
    }

    /// The radius the index was built for.
    pub fn radius(&self) -> u32 {
        self.radius
    }

    /// Number of indexed hashes.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when no hash is indexed.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Heap bytes of the search structure, the hashes included.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 32
            + self.external.capacity() * 4
            + self.chunks.iter().map(Chunk::heap_bytes).sum::<usize>()
    }

    /// Calls `f(id, distance)` once for every indexed hash within the radius of `query`
    /// (an identical hash, e.g. the query's own, included).
    pub fn query(&self, query: &Hash256, mut f: impl FnMut(u32, u32)) {
        let r = self.radius;
        if self.chunks.is_empty() {
            for (id, h) in self.hashes.iter().enumerate() {
                let d = h.distance(query);
                if d <= r {
                    f(id as u32, d);
                }
            }
            return;
        }
        for (k, chunk) in self.chunks.iter().enumerate() {
            let qv = chunk.spec.value(query);
            for &mask in &chunk.masks {
                let bucket = chunk.bucket(qv ^ mask);
                self.scan(k, &chunk.ids[bucket], query, |p, d| {
                    f(self.external[p as usize], d)
                });
            }
        }
    }

    /// Reports every entry of `ids` (internal positions from chunk `k`) within the radius of
    /// `query` for which `k` is the first qualifying chunk.
    #[inline]
    fn scan(&self, k: usize, ids: &[u32], query: &Hash256, mut f: impl FnMut(u32, u32)) {
        for &p in ids {
            let h = &self.hashes[p as usize];
            let d = h.distance(query);
            if d <= self.radius && self.first_chunk_is(k, h, query) {
                f(p, d);
            }
        }
    }

    /// True when `k` is the first chunk on which `a` and `b` are within the chunk radius.
    #[inline]
    fn first_chunk_is(&self, k: usize, a: &Hash256, b: &Hash256) -> bool {
        self.chunks[..k]
            .iter()
            .all(|c| (c.spec.value(a) ^ c.spec.value(b)).count_ones() > c.spec.radius)
    }
}

#[cfg(any(test, feature = "bench"))]
impl fmt::Debug for MultiIndex256 {
    /// The plan only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chunks: Vec<String> = self
            .chunks
            .iter()
            .map(|c| {
                let s = c.spec;
                format!("bits {}..{} r{}", s.shift, s.shift + s.width, s.radius)
            })
            .collect();
        f.debug_struct("MultiIndex256")
            .field("len", &self.len())
            .field("radius", &self.radius)
            .field("chunks", &chunks)
            .finish()
    }
}

fn concat<T>(mut a: Vec<T>, mut b: Vec<T>) -> Vec<T> {
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
        a.splice(0..0, b);
        a
    } else {
        a.append(&mut b);
        a
    }
}

#[cfg(any(test, feature = "bench"))]
/// All unordered pairs (i, j, distance) with i < j within `radius` bits, sorted ascending, by
/// the chunk-at-a-time join of `pairs.rs` (or brute force where that is cheaper). Parallel with
/// rayon (the current pool).
pub fn pairs_within(hashes: &[Hash256], radius: u32) -> Vec<(u32, u32, u32)> {
    let Some(specs) = pairs_plan_specs(hashes.len(), radius) else {
        return pairs_within_brute(hashes, radius);
    };
    let mut out = pairs::pairs(hashes, radius, &specs);
    out.par_sort_unstable();
    out
}

#[cfg(any(test, feature = "bench"))]
fn pairs_plan_specs(n: usize, radius: u32) -> Option<Vec<ChunkSpec>> {
    pairs::plan(n, radius)
}

#[cfg(any(test, feature = "bench"))]
/// What [`pairs_within`] does for `n` hashes at `radius` (for reports and the benchmark):
/// its chunks and peak transient memory.
pub struct PairsPlan {
    n: usize,
    specs: Option<Vec<ChunkSpec>>,
}

#[cfg(any(test, feature = "bench"))]
impl PairsPlan {
    pub fn new(n: usize, radius: u32) -> Self {
        PairsPlan {
            n,
            specs: pairs_plan_specs(n, radius),
        }
    }

    /// Peak heap bytes [`pairs_within`] allocates besides its output (0 for brute force).
    pub fn heap_bytes(&self) -> usize {
        self.specs
            .as_ref()
            .map_or(0, |s| pairs::heap_bytes(self.n, s))
    }
}

#[cfg(any(test, feature = "bench"))]
impl fmt::Debug for PairsPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.specs {
            None => write!(f, "brute force"),
            Some(specs) => {
                let probes: u64 = specs.iter().map(|s| ball_size(s.width, s.radius)).sum();
                let radii: Vec<u32> = specs.iter().map(|s| s.radius).collect();
                write!(
                    f,
                    "{} chunks of {} bits, radii {radii:?} ({probes} masks)",
                    specs.len(),
                    specs[0].width
                )
            }
        }
    }
}

#[cfg(any(test, feature = "bench"))]
/// Brute-force reference with identical output (rayon-parallel), for tests and the benchmark.
pub fn pairs_within_brute(hashes: &[Hash256], radius: u32) -> Vec<(u32, u32, u32)> {
    let mut out: Vec<(u32, u32, u32)> = (0..hashes.len())
        .into_par_iter()
        .fold(Vec::new, |mut acc, i| {
            brute_row(hashes, i, radius, &mut acc);
            acc
        })
        .reduce(Vec::new, concat);
    out.par_sort_unstable();
    out
}

#[cfg(any(test, feature = "bench"))]
/// The pairs `(i, j > i)` within `radius`, appended to `acc`: one row of the brute force
/// (the benchmark times a sample of rows).
pub fn brute_row(hashes: &[Hash256], i: usize, radius: u32, acc: &mut Vec<(u32, u32, u32)>) {
    let q = &hashes[i];
    for (j, h) in hashes.iter().enumerate().skip(i + 1) {
        let d = q.distance(h);
        if d <= radius {
            acc.push((i as u32, j as u32, d));
        }
    }
}

/// All `width`-bit values with at most `radius` bits set, by increasing popcount.
fn masks_within(width: u32, radius: u32) -> Vec<u32> {
    let mut out = vec![0u32];
    let mut start = 0;
    for _ in 0..radius.min(width) {
        let end = out.len();
        for i in start..end {
            let m = out[i];
            let low = 32 - m.leading_zeros();
            for b in low..width {
                out.push(m | 1 << b);
            }
        }
        start = end;
    }
    out
}

/// Number of `width`-bit values within `radius` bits of a given one.
fn ball_size(width: u32, radius: u32) -> u64 {
    let mut c = 1u64;
    let mut total = 1u64;
    for i in 0..radius.min(width) as u64 {
        c = c * (width as u64 - i) / (i + 1);
        total += c;
    }
    total
}

#[cfg(any(test, feature = "bench"))]
/// Chooses the chunks for `n` hashes and radius `radius`, or `None` for a linear scan: for
/// each chunk count `m <= r + 1`, widths `min(256 / m, log2(n) + 1)`, radii spreading `r + 1`
/// as evenly as possible (the larger ones on the first chunks); the estimated per-query cost
/// `sum_k ball(w_k, r_k) * (PROBE_COST + VERIFY_COST * n / 2^w_k)` is minimised under the
/// memory cap and compared with a linear scan (`SCAN_COST * n`).
fn plan(n: usize, radius: u32) -> Option<Vec<ChunkSpec>> {
    if n < 2 {
        return None;
    }
    let r = radius.min(BITS);
    let log2n = usize::BITS - (n - 1).leading_zeros();
    let max_width = (log2n + 1).clamp(1, MAX_WIDTH);
    let budget = BUDGET_PER_IMAGE * n + BUDGET_FIXED;
    let mut best: Option<(f64, Vec<ChunkSpec>)> = None;
    for m in 1..=(r + 1).min(BITS) {
        let width = (BITS / m).min(max_width);
        let specs = even_chunks(m, width, r);
        let (mut cost, mut bytes, mut probes) = (0.0, 32 * n, 0u64);
        for spec in &specs {
            let ball = ball_size(width, spec.radius);
            probes += ball;
            cost += ball as f64 * (PROBE_COST + VERIFY_COST * n as f64 / (1u64 << width) as f64);
            bytes += 4 * n + 4 * ((1usize << width) + 1) + 4 * ball as usize;
        }
        if bytes > budget || probes > n as u64 || cost >= SCAN_COST * n as f64 {
            continue;
        }
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, specs));
        }
    }
    best.map(|(_, specs)| specs)
}

/// `m` chunks of `width` bits from bit 0 whose radii add up to `r + 1 - m`, as even as
/// possible: by the pigeonhole rule a pair within `r` bits is within its chunk's radius in at
/// least one chunk.
fn even_chunks(m: u32, width: u32, r: u32) -> Vec<ChunkSpec> {
    let (q, rem) = ((r + 1) / m, (r + 1) % m);
    (0..m)
        .map(|k| ChunkSpec {
            shift: k * width,
            width,
            radius: if k < rem { q } else { q - 1 },
        })
        .collect()
}

mod cross;
mod pairs;

#[cfg(test)]
pub(crate) use cross::cross_within_chunked;

pub use cross::{cross_heap_bytes, cross_within};

#[cfg(test)]
mod tests;
