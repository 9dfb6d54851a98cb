//! Exact Hamming-radius search over 64-bit perceptual hashes by multi-index hashing (MIH,
//! Norouzi, Punjani & Fleet, CVPR 2012).
//!
//! # Why it is exact: the pigeonhole argument
//!
//! Cut the 64 bits into disjoint chunks and give chunk `k` a radius `r_k >= 0` with
//! `sum_k (r_k + 1) = r + 1`. If two hashes differed in more than `r_k` bits on *every* chunk,
//! they would differ in at least `sum_k (r_k + 1) = r + 1` bits in total. So every pair within
//! `r` bits agrees within `r_k` bits on at least one chunk. With `m` equal radii this is the
//! textbook "some chunk is within `floor(r / m)` bits"; spreading the remainder instead gives
//! some chunks a radius one smaller (`r = 8`, four 16-bit chunks: radii 2, 1, 1, 1, so
//! 137 + 3 * 17 probes instead of 4 * 137). Bits outside every chunk are allowed; they only
//! take part in the final verification.
//!
//! A query therefore probes, in each chunk's table, the buckets of all chunk values within
//! `r_k` bits of its own chunk value, and verifies the full 64-bit distance of every entry it
//! meets. A hit is reported only from the *first* chunk on which it is within `r_k` bits: a
//! hash sits in exactly one bucket per chunk and every bucket is probed at most once per
//! chunk, so each id comes out exactly once without a hash set.
//!
//! # Why not a BK-tree
//!
//! Distances between unrelated 64-bit hashes concentrate around 32 +- 4 bits, so the
//! triangle-inequality window `[d - r, d + r]` at a BK-tree node keeps a large share of its
//! children at useful radii (r = 8..12): a query still walks much of the tree by pointer
//! chasing, and its cost is hard to predict. MIH probes flat arrays, its cost follows from
//! `n` and `r` (which is how the chunking below is chosen), and the pair search splits into
//! independent queries for rayon.
//!
//! # Layout and memory
//!
//! Each chunk is a CSR table: `offsets` (2^width + 1 `u32`) and, in bucket order, the full
//! hashes (`u64`) and their ids (`u32`) as two parallel arrays, so verifying a candidate reads
//! the bucket sequentially instead of jumping to `hashes[id]`. That is 12 bytes per image per
//! chunk. For n = 1,000,000 and r = 10 the planner picks four 16-bit chunks:
//! 4 * 12 B + 4 * 256 KiB of offsets = about 49 bytes per image (the plan is capped at
//! 56 bytes per image plus 4 MiB, i.e. at most about 60 bytes per image at n = 1,000,000).
//! Radii for which probing would cost more than a scan (r >= 23 at n = 1,000,000) use
//! a plain copy of the hashes (8 bytes per image) and a linear scan.

use std::fmt;

use rayon::prelude::*;

/// Relative cost of probing one bucket (offset lookup, likely a cache miss) against one
/// candidate verification (sequential load, xor, popcount); only used to pick a plan.
const PROBE_COST: f64 = 4.0;
/// Cost of scanning one hash linearly (a vectorised loop), in the same unit.
const SCAN_COST: f64 = 0.5;
/// Memory cap of a plan: this many bytes per image ...
const BUDGET_PER_IMAGE: usize = 56;
/// ... plus this many bytes (so small inputs may use reasonably wide tables).
const BUDGET_FIXED: usize = 4 << 20;
/// Brute force checks this many hashes branch-free before looking for the hits.
const BRUTE_BLOCK: usize = 64;
/// Widest chunk: 2^24 + 1 offsets (64 MiB) is the most a single table may take.
const MAX_WIDTH: u32 = 24;

/// One chunk of the plan: `width` bits starting at bit `shift`, probed within `radius` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ChunkSpec {
    shift: u32,
    width: u32,
    radius: u32,
}

impl ChunkSpec {
    #[inline]
    fn value(&self, h: u64) -> u32 {
        ((h >> self.shift) & ((1u64 << self.width) - 1)) as u32
    }
}

/// One chunk's CSR table.
struct Chunk {
    spec: ChunkSpec,
    /// `offsets[v]..offsets[v + 1]` is the bucket of chunk value `v`.
    offsets: Vec<u32>,
    /// Full hashes in bucket order (ids ascending within a bucket).
    hashes: Vec<u64>,
    /// Ids parallel to `hashes`.
    ids: Vec<u32>,
    /// All `width`-bit values with at most `radius` bits set: the probe pattern.
    masks: Vec<u32>,
}

impl Chunk {
    fn build(hashes: &[u64], spec: ChunkSpec) -> Self {
        // Counting sort by chunk value; stable, so ids ascend within each bucket.
        let size = 1usize << spec.width;
        let mut offsets = vec![0u32; size + 1];
        for &h in hashes {
            offsets[spec.value(h) as usize + 1] += 1;
        }
        for v in 0..size {
            offsets[v + 1] += offsets[v];
        }
        let mut next = offsets[..size].to_vec();
        let mut sorted = vec![0u64; hashes.len()];
        let mut ids = vec![0u32; hashes.len()];
        for (id, &h) in hashes.iter().enumerate() {
            let slot = &mut next[spec.value(h) as usize];
            sorted[*slot as usize] = h;
            ids[*slot as usize] = id as u32;
            *slot += 1;
        }
        Chunk {
            spec,
            offsets,
            hashes: sorted,
            ids,
            masks: masks_within(spec.width, spec.radius),
        }
    }

    #[inline]
    fn bucket(&self, v: u32) -> std::ops::Range<usize> {
        self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize
    }

    fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * 4
            + self.hashes.capacity() * 8
            + self.ids.capacity() * 4
            + self.masks.capacity() * 4
    }
}

/// Exact Hamming-radius search over 64-bit hashes (multi-index hashing).
pub struct MultiIndex {
    radius: u32,
    len: usize,
    /// Empty when the plan is a linear scan.
    chunks: Vec<Chunk>,
    /// The hashes, kept only for the linear-scan plan (the chunks hold their own copies).
    linear: Vec<u64>,
}

impl MultiIndex {
    /// Builds the index for `hashes` (ids are positions) for queries of at most `radius` bits.
    pub fn new(hashes: &[u64], radius: u32) -> Self {
        Self::with_plan(hashes, radius, plan(hashes.len(), radius))
    }

    /// Builds the index with explicit chunks (`None`: linear scan). The chunks must be
    /// disjoint and satisfy `sum(radius + 1) == min(radius, 64) + 1` (see the module doc).
    fn with_plan(hashes: &[u64], radius: u32, specs: Option<Vec<ChunkSpec>>) -> Self {
        assert!(
            u32::try_from(hashes.len()).is_ok(),
            "MultiIndex: ids are u32, got {} hashes",
            hashes.len()
        );
        match specs {
            None => MultiIndex {
                radius,
                len: hashes.len(),
                chunks: Vec::new(),
                linear: hashes.to_vec(),
            },
            Some(specs) => {
                debug_assert_eq!(
                    specs.iter().map(|s| s.radius + 1).sum::<u32>(),
                    radius.min(64) + 1
                );
                MultiIndex {
                    radius,
                    len: hashes.len(),
                    chunks: specs
                        .into_par_iter()
                        .map(|spec| Chunk::build(hashes, spec))
                        .collect(),
                    linear: Vec::new(),
                }
            }
        }
    }

    /// The radius the index was built for.
    pub fn radius(&self) -> u32 {
        self.radius
    }

    /// Number of indexed hashes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no hash is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Calls `f(id, distance)` once for every indexed hash within `radius` bits of `query`
    /// (including an identical hash / the query's own id if it is indexed). Each id at most
    /// once, no hash set needed.
    pub fn query(&self, query: u64, mut f: impl FnMut(u32, u32)) {
        let r = self.radius;
        if self.chunks.is_empty() {
            for (id, &h) in self.linear.iter().enumerate() {
                let d = (h ^ query).count_ones();
                if d <= r {
                    f(id as u32, d);
                }
            }
            return;
        }
        for (k, chunk) in self.chunks.iter().enumerate() {
            let qv = chunk.spec.value(query);
            for &mask in &chunk.masks {
                self.scan_bucket(k, chunk.bucket(qv ^ mask), query, &mut f);
            }
        }
    }

    /// Reports every entry of chunk `k`'s `bucket` within the radius of `query` for which `k`
    /// is the first qualifying chunk (so each pair is reported by exactly one chunk).
    #[inline]
    fn scan_bucket(
        &self,
        k: usize,
        bucket: std::ops::Range<usize>,
        query: u64,
        mut f: impl FnMut(u32, u32),
    ) {
        let chunk = &self.chunks[k];
        let r = self.radius;
        let hashes = &chunk.hashes[bucket.clone()];
        if !any_within(hashes, query, r) {
            return;
        }
        for (&h, &id) in hashes.iter().zip(&chunk.ids[bucket]) {
            let x = h ^ query;
            let d = x.count_ones();
            if d <= r && self.first_chunk_is(k, x) {
                f(id, d);
            }
        }
    }

    /// True when `k` is the first chunk on which the difference `x` is within the chunk
    /// radius, i.e. the chunk that owns reporting this pair.
    #[inline]
    fn first_chunk_is(&self, k: usize, x: u64) -> bool {
        self.chunks[..k]
            .iter()
            .all(|c| c.spec.value(x).count_ones() > c.spec.radius)
    }

    /// Heap bytes of the search structure (the index keeps its own copies of the hashes,
    /// which are counted).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.chunks.iter().map(Chunk::heap_bytes).sum::<usize>()
            + self.linear.capacity() * 8
    }

    /// All pairs `i < j` within the radius, unsorted. Chunk by chunk, the queries are the
    /// chunk's own entries in bucket order, so consecutive queries probe the same buckets and
    /// these stay in cache. By symmetry a query only scans the entries after it in its own
    /// bucket and the buckets with a larger chunk value, so each pair is met once per chunk.
    fn pairs_unsorted(&self) -> Vec<(u32, u32, u32)> {
        let mut out = Vec::new();
        for (k, chunk) in self.chunks.iter().enumerate() {
            let found = (0..chunk.hashes.len())
                .into_par_iter()
                .with_min_len(1024)
                .fold(Vec::new, |mut acc, p| {
                    let query = chunk.hashes[p];
                    let qid = chunk.ids[p];
                    let qv = chunk.spec.value(query);
                    for &mask in &chunk.masks {
                        let v = qv ^ mask;
                        let bucket = if mask == 0 {
                            p + 1..chunk.bucket(v).end
                        } else if v > qv {
                            chunk.bucket(v)
                        } else {
                            continue;
                        };
                        self.scan_bucket(k, bucket, query, |id, d| {
                            acc.push((qid.min(id), qid.max(id), d))
                        });
                    }
                    acc
                })
                .reduce(Vec::new, concat);
            out.extend(found);
        }
        out
    }
}

impl fmt::Debug for MultiIndex {
    /// The plan only (tables are far too large to print).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("MultiIndex");
        s.field("len", &self.len).field("radius", &self.radius);
        if self.chunks.is_empty() {
            s.field("chunks", &"linear scan");
        } else {
            let chunks: Vec<String> = self
                .chunks
                .iter()
                .map(|c| {
                    let sp = c.spec;
                    format!("bits {}..{} r{}", sp.shift, sp.shift + sp.width, sp.radius)
                })
                .collect();
            s.field("chunks", &chunks);
        }
        s.finish()
    }
}

/// Whether some hash is within `r` bits of `query`: a branch-free (vectorised) count, since
/// hits are rare and the reporting loop can then be skipped.
#[inline]
fn any_within(hashes: &[u64], query: u64, r: u32) -> bool {
    hashes
        .iter()
        .map(|&h| u32::from((h ^ query).count_ones() <= r))
        .sum::<u32>()
        != 0
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

/// All unordered pairs (i, j, distance) with i < j and popcount(h[i]^h[j]) <= radius, sorted
/// ascending. Parallel over queries with rayon (the current pool).
pub fn pairs_within(hashes: &[u64], radius: u32) -> Vec<(u32, u32, u32)> {
    let index = MultiIndex::new(hashes, radius);
    if index.chunks.is_empty() {
        return pairs_within_brute(hashes, radius);
    }
    let mut out = index.pairs_unsorted();
    out.par_sort_unstable();
    out
}

/// Brute-force reference with identical output (also rayon-parallel), used by tests and the
/// benchmark.
pub fn pairs_within_brute(hashes: &[u64], radius: u32) -> Vec<(u32, u32, u32)> {
    assert!(
        u32::try_from(hashes.len()).is_ok(),
        "pairs_within_brute: ids are u32, got {} hashes",
        hashes.len()
    );
    let mut out = (0..hashes.len())
        .into_par_iter()
        .fold(Vec::new, |mut acc, i| {
            let q = hashes[i];
            // Count hits per block with a branch-free (vectorisable) loop; hits are rare, so
            // only blocks with some are scanned again to report them.
            let start = i + 1;
            for (b, block) in hashes[start..].chunks(BRUTE_BLOCK).enumerate() {
                let hits: u32 = block
                    .iter()
                    .map(|&h| u32::from((q ^ h).count_ones() <= radius))
                    .sum();
                if hits == 0 {
                    continue;
                }
                let base = start + b * BRUTE_BLOCK;
                for (t, &h) in block.iter().enumerate() {
                    let d = (q ^ h).count_ones();
                    if d <= radius {
                        acc.push((i as u32, (base + t) as u32, d));
                    }
                }
            }
            acc
        })
        .reduce(Vec::new, concat);
    // Already in order (rayon's reduce keeps it), but do not rely on that.
    out.par_sort_unstable();
    out
}

/// All `width`-bit values with at most `radius` bits set, by increasing popcount.
fn masks_within(width: u32, radius: u32) -> Vec<u32> {
    let mut out = vec![0u32];
    let mut start = 0;
    for _ in 0..radius.min(width) {
        let end = out.len();
        for i in start..end {
            let m = out[i];
            // Extend each mask only above its highest bit, so each set is made once.
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

/// Chooses the chunks for `n` hashes and radius `radius`, or `None` for a linear scan.
///
/// For each chunk count `m` (at most `r + 1`, so every chunk radius is >= 0): widths as
/// equal as possible over the 64 bits, capped near `log2(n) + 1` (wider tables would be
/// mostly empty offsets), radii spreading `r + 1` as evenly as possible. The estimated
/// per-query cost `sum_k ball(w_k, r_k) * (PROBE_COST + n / 2^w_k)` (probes plus expected
/// candidates) is minimised under the memory cap, and compared with a scan of `n` hashes
/// (`SCAN_COST` each).
fn plan(n: usize, radius: u32) -> Option<Vec<ChunkSpec>> {
    if n < 2 {
        return None;
    }
    let r = radius.min(64);
    let log2n = usize::BITS - (n - 1).leading_zeros(); // ceil(log2 n)
    let max_width = (log2n + 1).clamp(1, MAX_WIDTH);
    let budget = BUDGET_PER_IMAGE * n + BUDGET_FIXED;
    let mut best: Option<(f64, Vec<ChunkSpec>)> = None;
    for m in 1..=(r + 1).min(64) {
        let base = 64 / m;
        let extra = 64 % m; // this many chunks get one more bit
        let widths: Vec<u32> = (0..m)
            .map(|k| (base + u32::from(k < extra)).min(max_width))
            .collect();
        let q = (r + 1) / m;
        let rem = (r + 1) % m; // this many chunks get radius q, the rest q - 1
        // Widths are non-increasing; try the larger radii on the widest and on the
        // narrowest chunks.
        for larger_on_wide in [true, false] {
            let radii: Vec<u32> = (0..m)
                .map(|k| {
                    let big = if larger_on_wide {
                        k < rem
                    } else {
                        k >= m - rem
                    };
                    if big { q } else { q - 1 }
                })
                .collect();
            let mut cost = 0.0;
            let mut bytes = 0usize;
            let mut probes = 0u64;
            for (&w, &rk) in widths.iter().zip(&radii) {
                let ball = ball_size(w, rk);
                probes += ball;
                cost += ball as f64 * (PROBE_COST + n as f64 / (1u64 << w) as f64);
                bytes += 12 * n + 4 * ((1usize << w) + 1) + 4 * ball as usize;
            }
            if bytes > budget || probes > n as u64 || cost >= SCAN_COST * n as f64 {
                continue;
            }
            if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                let mut shift = 0;
                let specs = widths
                    .iter()
                    .zip(&radii)
                    .map(|(&width, &radius)| {
                        let spec = ChunkSpec {
                            shift,
                            width,
                            radius,
                        };
                        shift += width;
                        spec
                    })
                    .collect();
                best = Some((cost, specs));
            }
        }
    }
    best.map(|(_, specs)| specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::rng::splitmix;
    use proptest::prelude::*;

    const RADII: [u32; 9] = [0, 1, 4, 8, 10, 12, 16, 24, 64];

    /// `h` with exactly `k` distinct random bits flipped.
    fn flip(h: u64, k: u32, seed: u64) -> u64 {
        let mut state = seed;
        let mut mask = 0u64;
        while mask.count_ones() < k.min(64) {
            mask |= 1 << (splitmix(&mut state) % 64);
        }
        h ^ mask
    }

    /// Random hashes with planted near neighbours and exact duplicates, shuffled in.
    fn planted(base: Vec<u64>, plants: &[(usize, u64, u32, usize)], radius: u32) -> Vec<u64> {
        let mut hashes = base;
        for &(src, seed, k, pos) in plants {
            if hashes.is_empty() {
                hashes.push(seed);
                continue;
            }
            let h = hashes[src % hashes.len()];
            let copy = flip(h, k % (radius.min(64) + 1), seed);
            hashes.insert(pos % (hashes.len() + 1), copy);
        }
        hashes
    }

    fn linear(hashes: &[u64], query: u64, radius: u32) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for (i, &h) in hashes.iter().enumerate() {
            let d = (h ^ query).count_ones();
            if d <= radius {
                out.push((i as u32, d));
            }
        }
        out
    }

    fn query_sorted(index: &MultiIndex, query: u64) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        index.query(query, |id, d| out.push((id, d)));
        out.sort_unstable();
        out
    }

    /// Every check of the brief on one input, for the index `index` over `hashes`.
    fn check_all(hashes: &[u64], radius: u32, index: &MultiIndex, queries: &[u64]) {
        assert_eq!(index.len(), hashes.len());
        assert_eq!(index.is_empty(), hashes.is_empty());
        assert_eq!(index.radius(), radius);
        let brute = pairs_within_brute(hashes, radius);
        let mut mih = if index.chunks.is_empty() {
            pairs_within_brute(hashes, radius)
        } else {
            index.pairs_unsorted()
        };
        mih.sort_unstable();
        assert_eq!(mih, brute, "pairs differ, index {index:?}");
        // Sorted, i < j (no self-pairs), each unordered pair once.
        assert!(mih.iter().all(|&(i, j, _)| i < j));
        assert!(mih.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        for &(i, j, d) in &mih {
            assert_eq!((hashes[i as usize] ^ hashes[j as usize]).count_ones(), d);
        }
        for &q in queries {
            // Sorted equality with a scan also rules out repeated ids.
            assert_eq!(
                query_sorted(index, q),
                linear(hashes, q, radius),
                "query {q:#018x}, index {index:?}"
            );
        }
    }

    /// Random queries, indexed hashes, and indexed hashes with up to `radius + 2` flips.
    fn queries_for(hashes: &[u64], radius: u32, seed: u64) -> Vec<u64> {
        let mut state = seed;
        let mut qs: Vec<u64> = (0..8).map(|_| splitmix(&mut state)).collect();
        if !hashes.is_empty() {
            for _ in 0..24 {
                let h = hashes[(splitmix(&mut state) % hashes.len() as u64) as usize];
                let k = (splitmix(&mut state) % (u64::from(radius.min(64)) + 3)) as u32;
                qs.push(flip(h, k, splitmix(&mut state)));
            }
        }
        qs
    }

    fn hash_set() -> impl Strategy<Value = (Vec<u64>, u32, u64)> {
        (
            prop::collection::vec(any::<u64>(), 0..1500),
            prop::collection::vec(
                (any::<usize>(), any::<u64>(), any::<u32>(), any::<usize>()),
                0..500,
            ),
            prop::sample::select(RADII.to_vec()),
            any::<u64>(),
        )
            .prop_map(|(base, plants, radius, seed)| (planted(base, &plants, radius), radius, seed))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// The public entry points, with the planner's own choice of chunks.
        #[test]
        fn pairs_and_queries_match_brute_force((hashes, radius, seed) in hash_set()) {
            let pairs = pairs_within(&hashes, radius);
            prop_assert_eq!(&pairs, &pairs_within_brute(&hashes, radius));
            prop_assert!(pairs.iter().all(|&(i, j, _)| i < j));
            prop_assert!(pairs.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
            let index = MultiIndex::new(&hashes, radius);
            check_all(&hashes, radius, &index, &queries_for(&hashes, radius, seed));
        }

        /// Arbitrary valid plans: unequal widths, uncovered bits, uneven radii.
        #[test]
        fn any_valid_plan_is_exact(
            (hashes, radius, seed) in hash_set(),
            widths in prop::collection::vec(1u32..=12, 1..=16),
            gaps in prop::collection::vec(0u32..=6, 16),
            radius_seed in any::<u64>(),
        ) {
            let r = radius.min(64);
            // Lay out disjoint chunks (with gaps) that fit in 64 bits, at most r + 1 of them.
            let mut specs = Vec::new();
            let mut shift = 0;
            for (&w, &gap) in widths.iter().zip(&gaps) {
                if shift + gap + w > 64 || specs.len() as u32 == r + 1 {
                    break;
                }
                specs.push(ChunkSpec { shift: shift + gap, width: w, radius: 0 });
                shift += gap + w;
            }
            if specs.is_empty() {
                specs.push(ChunkSpec { shift: 0, width: 8, radius: 0 });
            }
            // Hand out the remaining r + 1 - m radius units at random.
            let mut state = radius_seed;
            for _ in 0..(r + 1 - specs.len() as u32) {
                let k = (splitmix(&mut state) % specs.len() as u64) as usize;
                specs[k].radius += 1;
            }
            let index = MultiIndex::with_plan(&hashes, radius, Some(specs));
            check_all(&hashes, radius, &index, &queries_for(&hashes, radius, seed));
        }
    }

    #[test]
    fn empty_input() {
        for r in RADII {
            let index = MultiIndex::new(&[], r);
            assert!(index.is_empty());
            assert_eq!(index.len(), 0);
            let mut called = false;
            index.query(0, |_, _| called = true);
            assert!(!called);
            assert!(pairs_within(&[], r).is_empty());
            assert!(pairs_within_brute(&[], r).is_empty());
        }
    }

    #[test]
    fn one_hash() {
        let h = [0xDEAD_BEEF_0123_4567u64];
        for r in RADII {
            let index = MultiIndex::new(&h, r);
            assert_eq!(index.len(), 1);
            assert_eq!(query_sorted(&index, h[0]), vec![(0, 0)]);
            assert_eq!(
                query_sorted(&index, h[0] ^ 1),
                if r >= 1 { vec![(0, 1)] } else { vec![] }
            );
            assert!(pairs_within(&h, r).is_empty());
        }
    }

    #[test]
    fn all_identical() {
        let hashes = vec![0x0F0F_0F0F_0F0F_0F0Fu64; 300];
        let n = hashes.len() as u32;
        let all: Vec<(u32, u32, u32)> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j, 0)))
            .collect();
        for r in RADII {
            assert_eq!(pairs_within(&hashes, r), all);
            let index = MultiIndex::new(&hashes, r);
            let ids: Vec<(u32, u32)> = (0..n).map(|i| (i, 0)).collect();
            assert_eq!(query_sorted(&index, hashes[0]), ids);
        }
    }

    #[test]
    fn radius_above_64_matches_everything() {
        let mut state = 7;
        let hashes: Vec<u64> = (0..50).map(|_| splitmix(&mut state)).collect();
        assert_eq!(pairs_within(&hashes, 100).len(), 50 * 49 / 2);
        assert_eq!(query_sorted(&MultiIndex::new(&hashes, 100), 0).len(), 50);
    }

    /// One larger input, where the plan uses 13- to 16-bit chunks as at n = 1,000,000.
    #[test]
    fn larger_input_with_production_plan() {
        let mut state = 42;
        let base: Vec<u64> = (0..20_000).map(|_| splitmix(&mut state)).collect();
        let plants: Vec<(usize, u64, u32, usize)> = (0..500)
            .map(|_| {
                let s = splitmix(&mut state);
                (
                    s as usize,
                    splitmix(&mut state),
                    (s >> 40) as u32,
                    (s >> 8) as usize,
                )
            })
            .collect();
        for r in [6, 10, 12] {
            let hashes = planted(base.clone(), &plants, r);
            let index = MultiIndex::new(&hashes, r);
            assert!(index.chunks.len() >= 4, "{index:?}");
            check_all(&hashes, r, &index, &queries_for(&hashes, r, r.into()));
        }
    }

    #[test]
    fn masks_are_the_hamming_ball() {
        for w in 1..=12 {
            for r in 0..=w + 1 {
                let mut masks = masks_within(w, r);
                assert_eq!(masks.len() as u64, ball_size(w, r));
                masks.sort_unstable();
                masks.dedup();
                assert_eq!(masks.len() as u64, ball_size(w, r));
                assert!(masks.iter().all(|m| m.count_ones() <= r && *m < 1 << w));
            }
        }
    }

    /// The documented memory figure: at most 64 bytes per image at n = 1,000,000 for every
    /// radius, and four 16-bit chunks at r = 10 (checked on the plan, without building it).
    #[test]
    fn plan_memory_at_one_million() {
        let n = 1_000_000usize;
        for r in 0..=64 {
            let bytes = match plan(n, r) {
                None => 8 * n,
                Some(specs) => {
                    let radii: u32 = specs.iter().map(|s| s.radius + 1).sum();
                    assert_eq!(radii, r + 1);
                    let mut used = 0u64;
                    for s in &specs {
                        let bits = ((1u64 << s.width) - 1) << s.shift;
                        assert_eq!(used & bits, 0, "chunks overlap");
                        used |= bits;
                    }
                    specs
                        .iter()
                        .map(|s| {
                            12 * n
                                + 4 * ((1usize << s.width) + 1)
                                + 4 * ball_size(s.width, s.radius) as usize
                        })
                        .sum()
                }
            };
            assert!(bytes <= 64 * n, "r = {r}: {bytes} bytes");
        }
        let specs = plan(n, 10).unwrap();
        assert_eq!(specs.iter().map(|s| s.width).collect::<Vec<_>>(), [16; 4]);
        assert!(plan(n, 64).is_none());
    }
}
