//! The near-duplicate decision on the 256-bit hashes: which images match, at what distance,
//! under which flip or quarter turn, through which view.
//!
//! Two images match when some pair of their hashes is within the radius under a tried
//! transform: the trimmed and untrimmed views of one against those of the other (a white frame
//! or a saturated edge is trimmed in one copy and not in the other), or one image's centre-crop
//! hash (90% or 75% per side) against the other's views. Transforms are bit operations on the
//! stored hashes ([`Hash256::transformed`]). [`match_distance`] is that decision's
//! distance for one pair (what calibration samples); [`find_matches`] finds all pairs within a
//! radius, exactly, by sort-merge joins ([`crate::near::exact::cross_within`]).

use rayon::prelude::*;

use crate::base::hash::{Hash256, Hashes256};
use crate::base::hash::{HashList, Transform};
#[cfg(test)]
use crate::near::exact::MultiIndex256;
use crate::near::exact::cross_within;
use crate::near::view::{View, queries, stored};

/// One decided match between images `a < b` (positions in the input): `b` looks like
/// `transform` applied to `a` (to its centre crop for crop views).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub a: u32,
    pub b: u32,
    pub distance: u32,
    pub transform: Transform,
    pub view: View,
}

/// The decision's distance for one pair: the smallest distance over `transforms` applied to
/// `a`'s hashes (views and, with `crops`, crop hashes) against `b`'s views, and `b`'s crop
/// hashes against `a`'s views. Transform sets are closed under inversion, so this is symmetric.
pub fn match_distance(a: &Hashes256, b: &Hashes256, transforms: &[Transform], crops: bool) -> u32 {
    // Each hash is transposed once for all the transforms (calibration takes this distance
    // for a million pairs).
    let transposing = transforms.iter().any(|t| t.parts().0);
    let with_transpose = |q: Hash256| (q, if transposing { q.transposed() } else { q });
    let mut best = u32::MAX;
    for (q, _) in queries(a, crops) {
        let (q, qt) = with_transpose(q);
        for &t in transforms {
            let q = q.transformed_given(t, qt);
            for (s, _) in stored(b) {
                best = best.min(q.distance(&s));
            }
        }
    }
    if crops {
        for (c, _) in queries(b, crops).filter(|(_, v)| v.is_crop()) {
            let (c, ct) = with_transpose(c);
            for &t in transforms {
                let q = c.transformed_given(t, ct);
                for (s, _) in stored(a) {
                    best = best.min(q.distance(&s));
                }
            }
        }
    }
    best
}

/// The stored side of the decision: every image's views, with their owner and view.
fn entries(hashes: &[Hashes256]) -> (Vec<Hash256>, Vec<(u32, View)>) {
    let mut entries = Vec::with_capacity(hashes.len() + hashes.len() / 4);
    let mut owner = Vec::with_capacity(entries.capacity());
    for (i, h) in hashes.iter().enumerate() {
        for (v, view) in stored(h) {
            entries.push(v);
            owner.push((i as u32, view));
        }
    }
    (entries, owner)
}

/// The candidate reported when image `i`'s query of view `qview`, under `t`, is within `d` of
/// image `j`'s stored view `sview`: normalised to `a < b` (`None` for the image itself).
fn candidate(i: u32, qview: View, j: u32, sview: View, d: u32, t: Transform) -> Option<Match> {
    let view = qview.combined(sview);
    match i.cmp(&j) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Less => Some(Match {
            a: i,
            b: j,
            distance: d,
            transform: t,
            view,
        }),
        // `hashes[i]` looks like t^-1 applied to `hashes[j]`.
        std::cmp::Ordering::Greater => Some(Match {
            a: j,
            b: i,
            distance: d,
            transform: t.inverse(),
            view,
        }),
    }
}

/// Keeps each pair's best explanation (smallest distance, then simplest view and transform).
fn best_per_pair(mut found: Vec<Match>) -> Vec<Match> {
    found.par_sort_unstable_by_key(|m| (m.a, m.b, m.distance, m.view, m.transform));
    found.dedup_by_key(|m| (m.a, m.b));
    found
}

/// All pairs of `hashes` (positions) whose decision distance is within `radius`, each once with
/// its best (smallest distance, then simplest view and transform) explanation, sorted by
/// `(a, b)`. Exact: one batch per (transform, query view), each the transformed queries of
/// that view joined with every stored view by [`cross_within`] (a sort-merge join, chunk by
/// chunk; one batch's copies alive at a time).
pub fn find_matches(
    hashes: &[Hashes256],
    radius: u32,
    transforms: &[Transform],
    crops: bool,
) -> Vec<Match> {
    find_matches_with(hashes, radius, transforms, crops, cross_within)
}

/// [`find_matches`] with the join given (tests force the chunked path on small inputs).
fn find_matches_with(
    hashes: &[Hashes256],
    radius: u32,
    transforms: &[Transform],
    crops: bool,
    join: impl Fn(&[Hash256], &[Hash256], u32) -> Vec<(u32, u32, u32)>,
) -> Vec<Match> {
    let (entries, owner) = entries(hashes);
    let mut found = Vec::new();
    for &t in transforms {
        for kind in View::queried(crops) {
            let (batch, from): (Vec<Hash256>, Vec<u32>) = hashes
                .par_iter()
                .enumerate()
                .filter_map(|(i, h)| kind.hash(h).map(|q| (q.transformed(t), i as u32)))
                .unzip();
            if batch.is_empty() {
                continue;
            }
            for (q, e, d) in join(&batch, &entries, radius) {
                let (j, sview) = owner[e as usize];
                found.extend(candidate(from[q as usize], kind, j, sview, d, t));
            }
        }
        // Keep the candidates small between transforms.
        found = best_per_pair(found);
    }
    best_per_pair(found)
}

/// The exact decision's best explanation of one pair `a < b` (positions in the input): the
/// match [`find_matches`] reports for it, or `None` when no combination is within `radius`.
/// Every query of each image (views and, with `crops`, crop hashes) under every transform
/// against the other's views; the smallest distance wins, then the simplest view and
/// transform, as in `best_per_pair`.
pub fn explain<L: HashList + ?Sized>(
    hashes: &L,
    a: u32,
    b: u32,
    radius: u32,
    transforms: &[Transform],
    crops: bool,
) -> Option<Match> {
    let (ha, hb) = (&hashes.hashes(a as usize), &hashes.hashes(b as usize));
    let mut best: Option<Match> = None;
    let mut offer = |distance: u32, transform: Transform, view: View| {
        let m = Match {
            a,
            b,
            distance,
            transform,
            view,
        };
        let rank = |m: &Match| (m.distance, m.view, m.transform);
        if distance <= radius && best.is_none_or(|old| rank(&m) < rank(&old)) {
            best = Some(m);
        }
    };
    for &t in transforms {
        for (q, qview) in queries(ha, crops) {
            let q = q.transformed(t);
            for (s, sview) in stored(hb) {
                offer(q.distance(&s), t, qview.combined(sview));
            }
        }
        // `b`'s queries under `t` against `a`: `b` looks like `t^-1` of `a`.
        for (q, qview) in queries(hb, crops) {
            let q = q.transformed(t);
            for (s, sview) in stored(ha) {
                offer(q.distance(&s), t.inverse(), qview.combined(sview));
            }
        }
    }
    best
}

/// [`find_matches`] for large sets: candidates from [`crate::near::sampled`] (every pair within
/// its plan's guaranteed distance, farther ones with the plan's estimated recall), each
/// explained exactly as [`find_matches`] would report it.
pub fn find_matches_sampled<L: HashList + ?Sized>(
    hashes: &L,
    radius: u32,
    transforms: &[Transform],
    crops: bool,
    plan: &crate::near::sampled::Plan,
) -> Vec<Match> {
    crate::near::sampled::candidate_pairs(hashes, radius, transforms, crops, plan)
        .into_par_iter()
        .filter_map(|(a, b)| explain(hashes, a, b, radius, transforms, crops))
        .collect()
}

/// The previous implementation, one multi-index query per image, transform and query view:
/// the reference the join is tested against.
#[cfg(test)]
fn find_matches_per_query(
    hashes: &[Hashes256],
    radius: u32,
    transforms: &[Transform],
    crops: bool,
) -> Vec<Match> {
    let (entries, owner) = entries(hashes);
    let index = MultiIndex256::new(&entries, radius);
    let found: Vec<Match> = (0..hashes.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let mut out = Vec::new();
            for &t in transforms {
                for (q, qview) in queries(&hashes[i], crops) {
                    index.query(&q.transformed(t), |e, d| {
                        let (j, sview) = owner[e as usize];
                        out.extend(candidate(i as u32, qview, j, sview, d, t));
                    });
                }
            }
            out
        })
        .collect();
    best_per_pair(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(seed: u64) -> Hash256 {
        let mut s = seed;
        let mut next = || crate::base::rng::splitmix(&mut s);
        let mut out = Hash256([next(), next(), next(), next()]);
        out.0[0] &= !1;
        out
    }

    fn img(seed: u64) -> Hashes256 {
        Hashes256 {
            full: h(seed),
            untrimmed: None,
            crops: [h(seed + 1000), h(seed + 2000)],
        }
    }

    fn flip_bits(mut x: Hash256, bits: &[usize]) -> Hash256 {
        for &b in bits {
            x.0[b / 64] ^= 1 << (b % 64);
        }
        x
    }

    const FLIP: &[Transform] = &[Transform::Identity, Transform::FlipH];

    #[test]
    fn match_distance_is_the_smallest_distance_over_every_transform_and_view() {
        // The definition, one `apply` per (transform, hash): what the transpose-once loop must
        // equal.
        let reference = |a: &Hashes256, b: &Hashes256, transforms: &[Transform]| {
            let views = |h: &Hashes256| [Some(h.full), h.untrimmed].into_iter().flatten();
            let mut best = u32::MAX;
            for &t in transforms {
                for q in views(a).chain(a.crops) {
                    views(b).for_each(|s| best = best.min(q.transformed(t).distance(&s)));
                }
                for c in b.crops {
                    views(a).for_each(|s| best = best.min(c.transformed(t).distance(&s)));
                }
            }
            best
        };
        for seed in 0..50u64 {
            let mut a = img(seed);
            let mut b = img(seed + 7);
            // Near pairs too, under a transform, so the minimum is not always a chance one.
            b.full = flip_bits(a.full.transformed(Transform::Rot90), &[3, 70, 200]);
            if seed % 2 == 0 {
                a.untrimmed = Some(h(seed + 3000));
                b.crops[1] = flip_bits(a.full.transformed(Transform::FlipV), &[9]);
            }
            for transforms in [FLIP, &Transform::ALL[..]] {
                assert_eq!(
                    match_distance(&a, &b, transforms, true),
                    reference(&a, &b, transforms)
                );
            }
        }
    }

    #[test]
    fn finds_flips_crops_and_untrimmed_views() {
        let a = img(1);
        // b: a mirrored copy with 3 bits of noise.
        let b = Hashes256 {
            full: flip_bits(a.full.transformed(Transform::FlipH), &[3, 70, 200]),
            ..img(2)
        };
        // c: the central 75% of a.
        let c = Hashes256 {
            full: flip_bits(a.crops[1], &[9]),
            ..img(3)
        };
        // d: trimmed differently, but its untrimmed view is a's trimmed one.
        let d = Hashes256 {
            untrimmed: Some(flip_bits(a.full, &[100, 101])),
            ..img(4)
        };
        let e = img(5);
        let all = [a, b, c, d, e];
        let m = find_matches(&all, 10, FLIP, true);
        let got: Vec<(u32, u32, u32, Transform, View)> = m
            .iter()
            .map(|m| (m.a, m.b, m.distance, m.transform, m.view))
            .collect();
        assert_eq!(
            got,
            [
                (0, 1, 3, Transform::FlipH, View::Trimmed),
                (0, 2, 1, Transform::Identity, View::Crop75),
                (0, 3, 2, Transform::Identity, View::Untrimmed),
                // b and d are both near a, so near each other.
                (1, 3, 5, Transform::FlipH, View::Untrimmed),
            ]
        );
        for m in &m {
            let d = match_distance(&all[m.a as usize], &all[m.b as usize], FLIP, true);
            assert_eq!(d, m.distance);
            let back = match_distance(&all[m.b as usize], &all[m.a as usize], FLIP, true);
            assert_eq!(back, d, "symmetric");
        }
        // Without crops or without the mirror, those matches go.
        assert_eq!(find_matches(&all, 10, FLIP, false).len(), 3);
        assert_eq!(find_matches(&all, 10, &Transform::ALL[..1], true).len(), 2);
    }

    #[test]
    fn quarter_turns_only_when_asked_and_order_is_normalised() {
        let a = img(7);
        let b = Hashes256 {
            full: a.full.transformed(Transform::Rot90),
            ..img(8)
        };
        // Put the turned copy first: the match is reported as (0, 1) with the inverse turn.
        let all = [b, a];
        assert!(find_matches(&all, 8, FLIP, true).is_empty());
        let m = find_matches(&all, 8, &Transform::ALL, true);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].a, m[0].b, m[0].distance), (0, 1, 0));
        assert_eq!(all[0].full.transformed(m[0].transform), all[1].full);
    }

    #[test]
    fn matches_equal_brute_force_on_random_sets() {
        // Images near each other at many distances; compare with match_distance on all pairs.
        let mut all: Vec<Hashes256> = (0..60).map(img).collect();
        for k in 0..60u64 {
            let src = all[(k * 7 % 60) as usize];
            let bits: Vec<usize> = (0..(k as usize % 30))
                .map(|i| (i * 37 + 5) % 255 + 1)
                .collect();
            let t = Transform::ALL[(k % 8) as usize];
            all.push(Hashes256 {
                full: flip_bits(
                    (if k % 3 == 0 { src.crops[0] } else { src.full }).transformed(t),
                    &bits,
                ),
                untrimmed: (k % 4 == 0).then(|| h(k + 9000)),
                crops: [h(k + 5000), h(k + 6000)],
            });
        }
        for (transforms, crops) in [(FLIP, true), (&Transform::ALL[..], true), (FLIP, false)] {
            for r in [0, 12, 24] {
                let got: Vec<(u32, u32, u32)> = find_matches(&all, r, transforms, crops)
                    .iter()
                    .map(|m| (m.a, m.b, m.distance))
                    .collect();
                let mut want = Vec::new();
                for i in 0..all.len() {
                    for j in i + 1..all.len() {
                        let d = match_distance(&all[i], &all[j], transforms, crops);
                        if d <= r {
                            want.push((i as u32, j as u32, d));
                        }
                    }
                }
                assert_eq!(
                    got,
                    want,
                    "r {r} crops {crops} {} transforms",
                    transforms.len()
                );
            }
        }
    }

    #[test]
    fn sampled_search_reports_what_the_exact_search_reports() {
        // Random images plus transformed, cropped copies at 0..=9 bits (within the guarantee
        // of a 25-bit plan) and a few farther ones.
        let mut all: Vec<Hashes256> = (0..300).map(img).collect();
        for k in 0..120u64 {
            let src = all[(k * 13 % 300) as usize];
            let bits: Vec<usize> = (0..(k as usize % 10))
                .map(|i| (i * 37 + 5) % 255 + 1)
                .collect();
            let t = Transform::ALL[(k % 8) as usize];
            let base = match k % 4 {
                0 => src.crops[0],
                1 => src.crops[1],
                _ => src.full,
            };
            all.push(Hashes256 {
                full: flip_bits(base.transformed(t), &bits),
                untrimmed: (k % 5 == 0).then(|| src.full.transformed(t)),
                ..img(k + 9000)
            });
        }
        let plan = crate::near::sampled::Plan::new(25, 1);
        assert_eq!(plan.guaranteed, 9);
        for crops in [true, false] {
            let want = find_matches(&all, 9, &Transform::ALL, crops);
            let got = find_matches_sampled(&all, 9, &Transform::ALL, crops, &plan);
            assert!(want.len() > 60, "{}", want.len());
            assert_eq!(got, want, "crops {crops}");
        }
        // explain agrees with the exact search on every pair it reports, at a larger radius.
        for m in find_matches(&all, 30, FLIP, true) {
            assert_eq!(explain(&all, m.a, m.b, 30, FLIP, true), Some(m));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]
        /// The join gives exactly the per-query index's matches (pairs, distances, transforms,
        /// views): random images plus transformed, cropped and re-trimmed copies at 0..60 bits.
        #[test]
        fn join_equals_per_query_index(
            n in 1usize..400,
            copies in proptest::collection::vec((0usize..400, 0usize..8, 0u32..60, 0u8..4), 0..150),
            r in 0usize..5,
            all_turns: bool,
            crops: bool,
            seed in 0u64..1 << 40,
        ) {
            let radius = [0, 8, 24, 40, 48][r];
            let mut all: Vec<Hashes256> = (0..n as u64).map(|k| img(seed + 3 * k)).collect();
            for (c, &(src, t, k, how)) in copies.iter().enumerate() {
                let src = all[src % all.len()];
                let t = Transform::ALL[t];
                let bits: Vec<usize> = (0..k as usize)
                    .map(|i| (i * 37 + c * 11 + 5) % 256)
                    .collect();
                let base = match how {
                    0 => src.crops[0],
                    1 => src.crops[1],
                    _ => src.full,
                };
                let fresh = img(seed + 7_000_000 + c as u64);
                all.push(Hashes256 {
                    full: flip_bits(base.transformed(t), &bits),
                    // A copy trimmed differently: its untrimmed view is the original's.
                    untrimmed: (how == 3).then(|| src.full.transformed(t)),
                    ..fresh
                });
            }
            let transforms = if all_turns { &Transform::ALL[..] } else { FLIP };
            let want = find_matches_per_query(&all, radius, transforms, crops);
            let got = find_matches(&all, radius, transforms, crops);
            proptest::prop_assert_eq!(&got, &want);
            // The same through the chunked join (small inputs alone would go to brute force).
            for width in [6, 13] {
                let join = |q: &[Hash256], e: &[Hash256], r| {
                    crate::near::exact::cross_within_chunked(q, e, r, width)
                };
                let got = find_matches_with(&all, radius, transforms, crops, join);
                proptest::prop_assert_eq!(&got, &want, "width {}", width);
            }
        }
    }
}
