use super::*;
use crate::base::hash::Hashes256;
use crate::base::rng::splitmix;

fn random_hash(state: &mut u64) -> Hash256 {
    let mut h = Hash256([
        splitmix(state),
        splitmix(state),
        splitmix(state),
        splitmix(state),
    ]);
    h.0[0] &= !1;
    h
}

fn random_image(state: &mut u64) -> Hashes256 {
    Hashes256 {
        full: random_hash(state),
        untrimmed: None,
        crops: [random_hash(state), random_hash(state)],
    }
}

/// `h` with `k` distinct random informative bits flipped.
fn noisy(mut h: Hash256, k: u32, state: &mut u64) -> Hash256 {
    let mut flipped = 0;
    let mut seen = [false; 256];
    while flipped < k {
        let p = 1 + (splitmix(state) % 255) as usize;
        if !seen[p] {
            seen[p] = true;
            h.0[p / 64] ^= 1 << (p % 64);
            flipped += 1;
        }
    }
    h
}

#[test]
fn key_under_a_transform_is_the_key_of_the_transformed_hash() {
    let mut s = 7;
    let plan = Plan::new(25, 2);
    for table in plan.tables.iter().chain(&plan.checks) {
        for _ in 0..50 {
            let h = random_hash(&mut s);
            for t in Transform::ALL {
                assert_eq!(
                    table.key_under(table.key(&h), t),
                    table.key(&h.transformed(t)),
                    "{t:?}"
                );
            }
        }
    }
}

#[test]
fn a_round_is_disjoint_keys_of_the_width() {
    let plan = Plan::new(25, 1);
    assert_eq!(plan.tables.len(), 10);
    assert_eq!(plan.guaranteed, 9);
    let mut seen = [false; 256];
    for t in &plan.tables {
        assert!((24..=25).contains(&t.width()), "{}", t.width());
        for &p in &t.positions {
            assert!(p != 0, "the DC bit carries nothing");
            assert!(!seen[usize::from(p)], "bit {p} in two keys of one round");
            seen[usize::from(p)] = true;
        }
    }
}

#[test]
fn recall_estimate_is_one_within_the_guarantee_and_falls_with_distance() {
    let plan = Plan::new(25, 3);
    assert_eq!(plan.recall_at(plan.guaranteed), 1.0);
    let (near, far) = (plan.recall_at(20), plan.recall_at(40));
    assert!(near > far && far > 0.0 && near < 1.0, "{near} {far}");
    // One key of w bits avoids d random bits with probability C(255-d, w) / C(255, w).
    assert!((survive(1, 5) - 250.0 / 255.0).abs() < 1e-12);
    assert_eq!(survive(10, 250), 0.0);
}

#[test]
fn finds_every_pair_within_the_guarantee_under_flips_turns_and_crops() {
    let mut s = 11;
    let mut hashes: Vec<Hashes256> = (0..3000).map(|_| random_image(&mut s)).collect();
    let plan = Plan::new(25, 1);
    let g = plan.guaranteed;
    let mut planted = Vec::new();
    for k in 0..40usize {
        let a = 3 * k;
        let b = 3 * k + 1000;
        let t = Transform::ALL[k % 8];
        hashes[b].full = if k % 3 == 0 {
            // b is a (transformed) centre crop of a.
            noisy(hashes[a].crops[k % 2].transformed(t), g, &mut s)
        } else {
            noisy(hashes[a].full.transformed(t), g, &mut s)
        };
        planted.push((a as u32, b as u32));
    }
    let found = candidate_pairs(&hashes, g, &Transform::ALL, true, &plan);
    for p in &planted {
        assert!(found.contains(p), "{p:?} missed");
    }
    // Random 256-bit hashes are ~128 bits apart: nothing else is within 9 bits.
    assert_eq!(found.len(), planted.len());
}

#[test]
fn far_pairs_are_found_about_as_often_as_estimated() {
    let mut s = 5;
    let n = 4000;
    let mut hashes: Vec<Hashes256> = (0..n).map(|_| random_image(&mut s)).collect();
    let plan = Plan::new(20, 2);
    let d = 28;
    let planted = 400;
    for k in 0..planted {
        hashes[2 * k + 1].full = noisy(hashes[2 * k].full, d, &mut s);
    }
    let found = candidate_pairs(&hashes, 40, &[Transform::Identity], false, &plan);
    let hits = (0..planted)
        .filter(|&k| found.contains(&(2 * k as u32, 2 * k as u32 + 1)))
        .count();
    let expected = plan.recall_at(d) * planted as f64;
    // Binomial spread: within 4 standard deviations.
    let sd = (expected * (1.0 - plan.recall_at(d))).sqrt();
    assert!(
        (hits as f64 - expected).abs() <= 4.0 * sd + 1.0,
        "{hits} found, {expected:.1} expected"
    );
}

#[test]
fn the_width_grows_with_the_data_and_with_look_alike_hashes() {
    let mut s = 3;
    let small: Vec<Hashes256> = (0..500).map(|_| random_image(&mut s)).collect();
    let large: Vec<Hashes256> = (0..20_000).map(|_| random_image(&mut s)).collect();
    let w_small = plan(&small, &[Transform::Identity], false, Some(1), None).width;
    let w_large = plan(&large, &[Transform::Identity], false, Some(1), None).width;
    assert!(w_large > w_small, "{w_small} {w_large}");
    // Look-alike: every hash a few bits from one template; chance collisions are frequent,
    // so keys must be wider for the same number of images.
    let template = random_hash(&mut s);
    let alike: Vec<Hashes256> = (0..20_000)
        .map(|_| Hashes256 {
            full: noisy(template, 60, &mut s),
            untrimmed: None,
            crops: [template, template],
        })
        .collect();
    let w_alike = plan(&alike, &[Transform::Identity], false, Some(1), None).width;
    assert!(w_alike > w_large, "{w_large} {w_alike}");
}

#[test]
fn a_check_lies_outside_its_key_and_never_drops_a_guaranteed_pair() {
    for (width, bits) in [(26, 32), (18, 42), (21, 38)] {
        let plan = Plan::with(width, 40, bits);
        assert_eq!(plan.checks.len(), plan.tables.len());
        for (t, c) in plan.tables.iter().zip(&plan.checks) {
            assert_eq!(c.width(), bits);
            assert!(c.positions.iter().all(|p| !t.positions.contains(p)));
        }
        let max = plan.check_max;
        // Within the guarantee (and up to check_max) a pair always passes; at 40 bits 95% do
        // (the rule), unrelated ones rarely.
        assert!(plan.guaranteed <= max);
        for d in 0..=max {
            assert!(
                (check_passes(width, d, bits, max) - 1.0).abs() < 1e-9,
                "{d}"
            );
        }
        assert!(check_passes(width, 40, bits, max) >= 0.95);
        assert!(check_passes(width, 40, bits, max - 1) < 0.95);
        assert!(
            check_passes(width, 128, bits, max) < 0.02,
            "{width} {bits} {max}"
        );
    }
}

/// The definition [`candidate_pairs`] implements, by brute force: a full view of image `i`
/// under a transform and a stored view of image `j != i` are candidates of a table when
/// their keys are equal and their checks differ in at most `check_max` bits; kept when
/// within `radius`.
fn brute_force(
    hashes: &[Hashes256],
    radius: u32,
    transforms: &[Transform],
    crops: bool,
    plan: &Plan,
) -> Vec<(u32, u32)> {
    let views = |i: usize| {
        let h = &hashes[i];
        let mut v = vec![(true, h.full)];
        if let Some(u) = h.untrimmed.filter(|&u| u != h.full) {
            v.push((true, u));
        }
        if crops {
            v.extend([(false, h.crops[0]), (false, h.crops[1])]);
        }
        v
    };
    let mut out = Vec::new();
    for i in 0..hashes.len() {
        for j in 0..hashes.len() {
            if i == j {
                continue;
            }
            let hit = views(i).iter().filter(|v| v.0).any(|&(_, q)| {
                views(j).iter().any(|&(_, e)| {
                    transforms.iter().any(|&t| {
                        let tq = q.transformed(t);
                        plan.tables.iter().zip(&plan.checks).any(|(k, c)| {
                            k.key(&tq) == k.key(&e)
                                && (c.key(&tq) ^ c.key(&e)).count_ones() <= plan.check_max
                                && tq.distance(&e) <= radius
                        })
                    })
                })
            });
            if hit {
                out.push((i.min(j) as u32, i.max(j) as u32));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Look-alike images (every hash about 50 bits from one template, so many pairs fall within a
/// wide radius), some with an untrimmed view, a few transformed copies: key collisions of
/// every kind, passing and failing the check.
fn look_alikes(n: usize, state: &mut u64) -> Vec<Hashes256> {
    let template = random_hash(state);
    let mut out: Vec<Hashes256> = (0..n)
        .map(|k| Hashes256 {
            full: noisy(template, 40 + (k % 3) as u32 * 10, state),
            untrimmed: (k % 4 == 1).then(|| noisy(template, 45, state)),
            crops: [noisy(template, 50, state), noisy(template, 55, state)],
        })
        .collect();
    for k in (0..n).step_by(7) {
        let t = Transform::ALL[k % 8];
        let src = out[(k * 13) % n];
        out[k].full = noisy(src.full.transformed(t), (k % 20) as u32, state);
    }
    out
}

#[test]
fn candidate_pairs_are_exactly_the_definition() {
    let mut s = 19;
    for (n, width, rounds) in [
        (0, 12, 1),
        (1, 12, 1),
        (2, 10, 1),
        (40, 31, 1),
        (300, 10, 1),
        (300, 18, 2),
        (300, 31, 1),
    ] {
        let hashes = look_alikes(n, &mut s);
        let plan = Plan::new(width, rounds);
        for crops in [false, true] {
            for transforms in [&Transform::ALL[..1], &Transform::ALL[..]] {
                let want = brute_force(&hashes, 70, transforms, crops, &plan);
                let got = candidate_pairs(&hashes, 70, transforms, crops, &plan);
                assert_eq!(
                    got,
                    want,
                    "n {n} width {width} crops {crops} {}",
                    transforms.len()
                );
                if n == 300 && width == 10 {
                    assert!(want.len() > 100, "{}", want.len());
                }
            }
        }
    }
}

#[test]
fn wide_checks_give_exactly_the_definition_too() {
    let mut s = 23;
    let hashes = look_alikes(300, &mut s);
    // A check as wide as a slot allows beside the id (the default plans' layout).
    for (width, bits) in [(12, 44), (16, 40), (20, 38)] {
        let plan = Plan::with(width, 2 * per_round(width), bits);
        assert_eq!(plan.check_bits(), bits);
        let want = brute_force(&hashes, 70, &Transform::ALL, true, &plan);
        let got = candidate_pairs(&hashes, 70, &Transform::ALL, true, &plan);
        assert_eq!(got, want, "width {width} check {bits}");
    }
}

#[test]
fn the_default_effort_reaches_its_target_and_follows_the_data() {
    let mut s = 29;
    let hashes: Vec<Hashes256> = (0..60_000).map(|_| random_image(&mut s)).collect();
    let p = plan(&hashes, &Transform::ALL, true, None, None);
    assert!(
        p.recall_at(TARGET_DISTANCE) >= TARGET_RECALL,
        "{}",
        p.recall_at(32)
    );
    // The fewest tables for the target, or the floor of image-tables for a small set.
    let fewer = Plan::with(p.width, p.tables.len() - 1, p.check_bits());
    assert!(
        p.tables.len() == MIN_IMAGE_TABLES / 60_000
            || fewer.recall_at(TARGET_DISTANCE) < TARGET_RECALL,
        "{}",
        p.tables.len()
    );
    // The check is as wide as a slot allows: 64 bits less the id (2^18 ids) and key rest.
    assert!(p.check_bits() >= 40, "{}", p.check_bits());
    // `--search-rounds` and `--search-bits` override.
    let forced = plan(&hashes, &Transform::ALL, true, Some(2), Some(26));
    assert_eq!((forced.width, forced.tables.len()), (26, 2 * per_round(26)));
}

/// Codes that are not images: 256-bit "descriptors" with ids of our own choosing (a unit holds
/// several, like an image's local features), searched without transforms; what `accept`
/// returns is collected once.
struct Descriptors {
    codes: Vec<Vec<Hash256>>,
}

impl Codes for Descriptors {
    fn units(&self) -> usize {
        self.codes.len()
    }
    fn stored(&self, u: usize, mut f: impl FnMut(u32, &Hash256)) {
        for (k, c) in self.codes[u].iter().enumerate() {
            f((u * 8 + k) as u32, c);
        }
    }
    fn queries(&self, u: usize, f: impl FnMut(u32, &Hash256)) {
        self.stored(u, f);
    }
    fn id_limit(&self) -> u64 {
        8 * self.codes.len() as u64
    }
}

#[test]
fn the_search_runs_over_any_codes_with_any_ids() {
    let mut s = 31;
    let mut d = Descriptors {
        codes: (0..2000)
            .map(|_| (0..5).map(|_| random_hash(&mut s)).collect())
            .collect(),
    };
    // Unit 2k + 1 shares three descriptors with unit 2k, each within 6 bits.
    for k in 0..50 {
        for j in 0..3 {
            d.codes[2 * k + 1][j] = noisy(d.codes[2 * k][j], 6, &mut s);
        }
    }
    let code = |id: u32| d.codes[id as usize / 8][id as usize % 8];
    let plan = Plan::with(16, per_round(16), 40);
    assert!(plan.guaranteed >= 6);
    let found = search(&d, &plan, &[Transform::Identity], |q, e, _| {
        (q / 8 != e / 8 && q < e && code(q).distance(&code(e)) <= 10)
            .then_some(u64::from(q) << 32 | u64::from(e))
    });
    // Votes per unit pair: every planted pair has its three matches, nothing else any.
    let mut votes = std::collections::BTreeMap::new();
    for p in &found {
        let (q, e) = ((p >> 32) as u32, *p as u32);
        *votes.entry((q / 8, e / 8)).or_insert(0) += 1;
    }
    assert_eq!(votes.len(), 50);
    assert!(
        votes
            .iter()
            .all(|(&(a, b), &v)| b == a + 1 && a % 2 == 0 && v == 3)
    );
}
