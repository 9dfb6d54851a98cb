use super::*;
use proptest::prelude::*;

use crate::base::rng::splitmix;

/// `n` random plant specifications for [`planted`], from `seed`.
fn random_plants(seed: u64, n: usize) -> Vec<(usize, u64, u32, usize)> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            let s = splitmix(&mut state);
            (
                s as usize,
                splitmix(&mut state),
                (s >> 40) as u32,
                (s >> 8) as usize,
            )
        })
        .collect()
}

const RADII: [u32; 9] = [0, 1, 5, 12, 24, 32, 40, 64, 256];

fn random(state: &mut u64) -> Hash256 {
    Hash256([
        splitmix(state),
        splitmix(state),
        splitmix(state),
        splitmix(state),
    ])
}

/// `h` with exactly `k` distinct random bits flipped.
fn flip(h: Hash256, k: u32, seed: u64) -> Hash256 {
    let mut state = seed;
    let mut out = h;
    let mut flipped = 0;
    while flipped < k.min(BITS) {
        let b = (splitmix(&mut state) % 256) as usize;
        let before = out.distance(&h);
        out.0[b / 64] ^= 1 << (b % 64);
        if out.distance(&h) > before {
            flipped += 1;
        } else {
            out.0[b / 64] ^= 1 << (b % 64);
        }
    }
    out
}

/// Random hashes with planted near neighbours and exact duplicates, shuffled in.
fn planted(n: usize, plants: &[(usize, u64, u32, usize)], radius: u32, seed: u64) -> Vec<Hash256> {
    let mut state = seed;
    let mut hashes: Vec<Hash256> = (0..n).map(|_| random(&mut state)).collect();
    for &(src, s, k, pos) in plants {
        if hashes.is_empty() {
            hashes.push(random(&mut state));
            continue;
        }
        let h = hashes[src % hashes.len()];
        // Up to radius + 2 bits, so pairs just outside the radius are planted too.
        let copy = flip(h, k % (radius.min(BITS) + 3), s);
        hashes.insert(pos % (hashes.len() + 1), copy);
    }
    hashes
}

fn linear(hashes: &[Hash256], query: &Hash256, radius: u32) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for (i, h) in hashes.iter().enumerate() {
        let d = h.distance(query);
        if d <= radius {
            out.push((i as u32, d));
        }
    }
    out
}

fn query_sorted(index: &MultiIndex256, query: &Hash256) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    index.query(query, |id, d| out.push((id, d)));
    out.sort_unstable();
    out
}

/// Queries of `index` (over `hashes`), and the all-pairs join with the same chunks, against
/// brute force.
fn check_all(hashes: &[Hash256], radius: u32, index: &MultiIndex256, seed: u64) {
    assert_eq!(index.len(), hashes.len());
    assert_eq!(index.is_empty(), hashes.is_empty());
    assert_eq!(index.radius(), radius);
    let brute = pairs_within_brute(hashes, radius);
    let specs: Vec<ChunkSpec> = index.chunks.iter().map(|c| c.spec).collect();
    let mut mih = if specs.is_empty() {
        pairs_within_brute(hashes, radius)
    } else {
        pairs::pairs(hashes, radius, &specs)
    };
    mih.sort_unstable();
    assert_eq!(mih, brute, "pairs differ, index {index:?}");
    assert!(mih.iter().all(|&(i, j, _)| i < j));
    assert!(mih.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
    for &(i, j, d) in &mih {
        assert_eq!(hashes[i as usize].distance(&hashes[j as usize]), d);
    }
    let mut state = seed;
    let mut queries: Vec<Hash256> = (0..6).map(|_| random(&mut state)).collect();
    if !hashes.is_empty() {
        for _ in 0..20 {
            let h = hashes[(splitmix(&mut state) % hashes.len() as u64) as usize];
            let k = (splitmix(&mut state) % (u64::from(radius.min(BITS)) + 3)) as u32;
            queries.push(flip(h, k, splitmix(&mut state)));
        }
    }
    for q in &queries {
        assert_eq!(
            query_sorted(index, q),
            linear(hashes, q, radius),
            "query {q:?}, index {index:?}"
        );
    }
}

fn hash_set() -> impl Strategy<Value = (Vec<Hash256>, u32, u64)> {
    (
        0usize..800,
        prop::collection::vec(
            (any::<usize>(), any::<u64>(), any::<u32>(), any::<usize>()),
            0..300,
        ),
        prop::sample::select(RADII.to_vec()),
        any::<u64>(),
    )
        .prop_map(|(n, plants, radius, seed)| (planted(n, &plants, radius, seed), radius, seed))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The public entry points with the planner's own chunks.
    #[test]
    fn pairs_and_queries_match_brute_force((hashes, radius, seed) in hash_set()) {
        let pairs = pairs_within(&hashes, radius);
        prop_assert_eq!(&pairs, &pairs_within_brute(&hashes, radius));
        let index = MultiIndex256::new(&hashes, radius);
        check_all(&hashes, radius, &index, seed);
    }

    /// Arbitrary valid plans: unequal widths, chunks straddling words, uncovered bits,
    /// uneven radii.
    #[test]
    fn any_valid_plan_is_exact(
        (hashes, radius, seed) in hash_set(),
        widths in prop::collection::vec(1u32..=14, 1..=40),
        gaps in prop::collection::vec(0u32..=9, 40),
        radius_seed in any::<u64>(),
    ) {
        let r = radius.min(BITS);
        let mut specs = Vec::new();
        let mut shift = 0;
        for (&w, &gap) in widths.iter().zip(&gaps) {
            if shift + gap + w > BITS || specs.len() as u32 == r + 1 {
                break;
            }
            specs.push(ChunkSpec { shift: shift + gap, width: w, radius: 0 });
            shift += gap + w;
        }
        let mut state = radius_seed;
        for _ in 0..(r + 1 - specs.len() as u32) {
            let k = (splitmix(&mut state) % specs.len() as u64) as usize;
            specs[k].radius += 1;
        }
        let index = MultiIndex256::with_plan(&hashes, radius, Some(specs));
        check_all(&hashes, radius, &index, seed);
    }
}

#[test]
fn empty_one_and_identical_inputs() {
    let h = Hash256([1, 2, 3, 4]);
    for r in RADII {
        let empty = MultiIndex256::new(&[], r);
        assert!(empty.is_empty());
        let mut called = false;
        empty.query(&h, |_, _| called = true);
        assert!(!called);
        assert!(pairs_within(&[], r).is_empty());
        let one = MultiIndex256::new(&[h], r);
        assert_eq!(query_sorted(&one, &h), vec![(0, 0)]);
        assert!(pairs_within(&[h], r).is_empty());
    }
    let same = vec![h; 200];
    let all: Vec<(u32, u32, u32)> = (0..200u32)
        .flat_map(|i| (i + 1..200).map(move |j| (i, j, 0)))
        .collect();
    for r in RADII {
        assert_eq!(pairs_within(&same, r), all);
    }
}

#[test]
fn value_reads_chunks_across_words() {
    let h = Hash256([1 << 63, 0b101, 0, 0]);
    let spec = ChunkSpec {
        shift: 62,
        width: 5,
        radius: 0,
    };
    // Bits 62..67: bit 63 (word 0) and bits 64, 66 (word 1).
    assert_eq!(spec.value(&h), 0b10110);
}

/// A larger input with the production-like plan (16-bit chunks).
#[test]
fn larger_input_with_production_plan() {
    let plants = random_plants(9, 400);
    for r in [24, 40] {
        let hashes = planted(30_000, &plants, r, r.into());
        let index = MultiIndex256::new(&hashes, r);
        assert!(index.chunks.len() >= 8, "{index:?}");
        check_all(&hashes, r, &index, r.into());
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
        }
    }
}

/// The documented plan and memory at n = 1,000,000: within the cap for every radius, fourteen
/// 18-bit chunks at r = 40, a linear scan far out.
#[test]
fn plan_at_one_million() {
    let n = 1_000_000usize;
    for r in 0..=BITS {
        if let Some(specs) = plan(n, r) {
            assert_eq!(specs.iter().map(|s| s.radius + 1).sum::<u32>(), r + 1);
            assert!(specs.iter().all(|s| s.shift + s.width <= BITS));
            let bytes: usize = 32 * n
                + specs
                    .iter()
                    .map(|s| 4 * n + 4 * ((1usize << s.width) + 1))
                    .sum::<usize>();
            assert!(bytes <= 128 * n, "r = {r}: {bytes} bytes");
        }
    }
    // The plan docs/BENCHMARKS.md's figures are for: fourteen 18-bit chunks, radii 2 and 1.
    let specs = plan(n, 40).unwrap();
    assert_eq!(specs.len(), 14, "{specs:?}");
    assert!(specs.iter().all(|s| s.width == 18));
    assert!(plan(n, 200).is_none());
}

/// The join's plans are valid (disjoint chunks, radii summing right, offsets within the cap)
/// for every radius and a range of sizes, and the all-pairs join uses them at a larger size.
#[test]
fn join_plans_are_valid() {
    for n in [2usize, 100, 5_000, 100_000, 1_000_000, 10_000_000] {
        for r in 0..=BITS {
            let Some(specs) = pairs::plan(n, r) else {
                continue;
            };
            assert_eq!(specs.iter().map(|s| s.radius + 1).sum::<u32>(), r + 1);
            let mut end = 0;
            for s in &specs {
                assert!(s.shift >= end && s.width >= 1, "n {n} r {r}: {specs:?}");
                end = s.shift + s.width;
            }
            assert!(end <= BITS);
            assert!(4 * ((1usize << specs[0].width) + 1) <= 8 * n + (4 << 20));
        }
    }
    // At n = 1,000,000 the join plans for radius 40 and 48 (docs/BENCHMARKS.md).
    for r in [40, 48] {
        let specs = pairs::plan(1_000_000, r).unwrap();
        assert!((12..=16).contains(&specs.len()), "r {r}: {specs:?}");
    }
    let plants = random_plants(5, 300);
    let hashes = planted(40_000, &plants, 24, 3);
    assert!(PairsPlan::new(hashes.len(), 24).specs.is_some());
    assert_eq!(pairs_within(&hashes, 24), pairs_within_brute(&hashes, 24));
}

/// Sorted output of the two-set join with every plan shape against brute force.
fn check_cross(queries: &[Hash256], entries: &[Hash256], radius: u32) {
    let mut want = cross::cross_brute(queries, entries, radius);
    want.sort_unstable();
    let r = radius.min(BITS);
    let mut plans: Vec<Vec<ChunkSpec>> = Vec::new();
    for (m, width) in [(1u32, 8u32), (2, 6), (3, 9), (5, 11), (r + 1, 1)] {
        if m > r + 1 || m * width > BITS {
            continue;
        }
        plans.push(even_chunks(m, width, r));
    }
    for specs in plans {
        let mut got = cross::cross_with(queries, entries, radius, &specs);
        got.sort_unstable();
        assert_eq!(got, want, "radius {radius}, plan {specs:?}");
    }
    let mut got = cross_within(queries, entries, radius);
    got.sort_unstable();
    assert_eq!(got, want, "radius {radius}, own plan");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn cross_join_equals_brute_force(
        nq in 0usize..120,
        ne in 0usize..120,
        plants in proptest::collection::vec((0usize..1000, any::<u64>(), 0u32..60, 0usize..1000), 0..60),
        r in 0usize..RADII.len(),
        seed in any::<u64>(),
    ) {
        let radius = RADII[r];
        let entries = planted(ne, &[], radius, seed);
        let mut state = seed ^ 0xabc;
        let mut queries: Vec<Hash256> = (0..nq).map(|_| random(&mut state)).collect();
        if !entries.is_empty() {
            for &(src, s, k, pos) in &plants {
                let copy = flip(entries[src % entries.len()], k % (radius.min(BITS) + 3), s);
                queries.insert(pos % (queries.len() + 1), copy);
                // Duplicates within a side too.
                if k % 7 == 0 {
                    queries.push(copy);
                }
            }
        }
        check_cross(&queries, &entries, radius);
    }
}
