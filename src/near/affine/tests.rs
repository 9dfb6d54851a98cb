use super::verify;
use crate::scan::features::extract_frame;
use crate::scan::features::sidecar::Sidecar;
use crate::scan::features::tests::{mirror, picture, warp};

#[test]
fn rotated_shifted_zoomed_copy_is_matched() {
    let g = picture(256, 192, 7);
    let a = extract_frame(&g);
    assert!(a.len() > 100, "a textured picture has corners: {}", a.len());
    let b = extract_frame(&warp(&g, 17.0, 1.1, 20.0, -12.0));
    let fit = verify::verify(&a, &b).expect("the warped copy verifies");
    assert!((fit.rotation_deg - 17.0).abs() < 3.0, "{fit:?}");
    assert!((fit.scale - 1.1).abs() < 0.08, "{fit:?}");
    assert!(!fit.mirrored);
    assert!(fit.inliers >= verify::MIN_INLIERS);
}

#[test]
fn mirrored_and_rotated_copy_is_matched_through_the_permutation() {
    let g = picture(256, 192, 11);
    let a = extract_frame(&g);
    let b = extract_frame(&mirror(&warp(&g, -30.0, 1.0, 0.0, 0.0)));
    let fit = verify::verify(&a, &b).expect("the mirrored copy verifies");
    assert!(fit.mirrored, "{fit:?}");
}

#[test]
fn different_pictures_are_not_matched() {
    for seed in 0..4 {
        let a = extract_frame(&picture(256, 192, 100 + seed));
        let b = extract_frame(&picture(256, 192, 200 + seed));
        assert_eq!(verify::verify(&a, &b), None, "seed {seed}");
    }
}

#[test]
fn a_sidecar_s_mapped_runs_give_what_its_entries_read_one_by_one_give() {
    // The search reads runs of entries through a map; where a run cannot be mapped it decodes
    // each entry: both must give the same descriptors, angles and images.
    use super::candidates::{Source, keys_one_by_one};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index.csv.features");
    let fresh: Vec<_> = (0..4u8)
        .map(|k| {
            (
                [k + 1; 16],
                extract_frame(&picture(256, 192, 300 + u64::from(k))),
            )
        })
        .collect();
    crate::scan::features::sidecar::write::write_atomic(&path, fresh, Vec::new(), None, None)
        .expect("write");
    let sidecar = std::sync::Arc::new(Sidecar::open(&path).expect("open").expect("valid"));
    let at: Vec<(u32, u32)> = (0..4).map(|i| (0, i)).collect();
    let sidecars = [sidecar];
    let source = super::Sidecars {
        at: &at,
        sidecars: &sidecars,
    };
    for keys in [usize::MAX, 40, 5] {
        let (mut mapped, mut one_by_one) = (Vec::new(), Vec::new());
        source.run_keys(0..4, keys, |k, d, a| mapped.push((k, d, a)));
        keys_one_by_one(&source, 0..4, keys, |k, d, a| one_by_one.push((k, d, a)));
        assert_eq!(mapped, one_by_one, "keys {keys}");
        let all: usize = (0..4).map(|i| sidecars[0].count_at(i)).sum();
        assert!(all > 400, "textured pictures have corners: {all}");
        let want = if keys == usize::MAX {
            all
        } else {
            mapped.len()
        };
        assert_eq!(mapped.len(), want, "keys {keys}: every descriptor");
        assert!(
            !mapped.is_empty() && mapped.len() <= 4 * keys.min(300),
            "keys {keys}"
        );
    }
}

mod candidate_search {
    //! The streamed, partitioned vote against the straightforward one it replaced (all keys
    //! of a table in one sorted list, one hash map of votes): the same score for every pair,
    //! in memory and through temporary files.
    use std::collections::HashMap;

    use super::super::candidates::{self, ANGLE_BINS, SpillTo, angle_bin};
    use super::super::{KeyPlan, MIN_VOTES};
    use crate::base::hash::Hash256;
    use crate::base::rng::splitmix;
    use crate::scan::features::{Features, Keypoint, mirrored};

    fn key(d: &Hash256, positions: &[u8], mirror: bool) -> u32 {
        let mut k = 0u32;
        for (i, &p) in positions.iter().enumerate() {
            let p = if mirror { p ^ 128 } else { p } as usize;
            k |= (((d.0[p / 64] >> (p % 64)) & 1) as u32) << i;
        }
        k
    }

    fn positions(plan: &KeyPlan) -> Vec<Vec<u8>> {
        let mut all: Vec<u8> = Vec::new();
        let mut state = 0xaff1_4e5e_ed00_0022;
        while all.len() < plan.tables * plan.bits {
            let mut perm: Vec<u8> = (0..=255).collect();
            crate::base::rng::shuffle(&mut perm, &mut state);
            all.extend(perm);
        }
        all.chunks(plan.bits)
            .take(plan.tables)
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn table(feats: &[Features], positions: &[u8], mirror: bool) -> Vec<(u32, u32, u8)> {
        let mut t: Vec<(u32, u32, u8)> = Vec::new();
        for (i, f) in feats.iter().enumerate() {
            let mut ks: Vec<(u32, u8)> = f
                .desc
                .iter()
                .zip(&f.points)
                .map(|(d, p)| {
                    let a = if mirror {
                        std::f32::consts::PI - p.angle
                    } else {
                        p.angle
                    };
                    (key(d, positions, mirror), angle_bin(a))
                })
                .collect();
            ks.sort_unstable();
            ks.dedup_by_key(|k| k.0);
            t.extend(ks.into_iter().map(|(k, b)| (k, i as u32, b)));
        }
        t.sort_unstable();
        t
    }

    /// The vote of session 6 (`near::affine::votes`), kept as the reference.
    fn reference(feats: &[Features], plan: &KeyPlan) -> HashMap<(u32, u32), u32> {
        let mut bins: HashMap<(u32, u32), [u32; 2 * ANGLE_BINS]> = HashMap::new();
        let n = ANGLE_BINS as u8;
        for positions in positions(plan) {
            let direct = table(feats, &positions, false);
            let mirror = table(feats, &positions, true);
            for run in direct.chunk_by(|a, b| a.0 == b.0) {
                if run.len() > plan.max_bucket {
                    continue;
                }
                for (x, &a) in run.iter().enumerate() {
                    for &b in &run[x + 1..] {
                        let (lo, hi) = if a.1 < b.1 { (a, b) } else { (b, a) };
                        let d = (hi.2 + n - lo.2) % n;
                        bins.entry((lo.1, hi.1)).or_insert([0; 2 * ANGLE_BINS])[d as usize] += 1;
                    }
                }
            }
            for run in direct.chunk_by(|a, b| a.0 == b.0) {
                let k = run[0].0;
                let m: Vec<_> = mirror.iter().filter(|e| e.0 == k).collect();
                if run.len() > plan.max_bucket || m.len() > plan.max_bucket {
                    continue;
                }
                for &a in run {
                    for &&b in &m {
                        if a.1 != b.1 {
                            let d = (b.2 + n - a.2) % n;
                            let slot = ANGLE_BINS + d as usize;
                            bins.entry((a.1.min(b.1), a.1.max(b.1)))
                                .or_insert([0; 2 * ANGLE_BINS])[slot] += 1;
                        }
                    }
                }
            }
        }
        bins.into_iter()
            .map(|(p, c)| {
                let best = (0..2 * ANGLE_BINS)
                    .map(|s| {
                        let half = s / ANGLE_BINS * ANGLE_BINS;
                        c[s] + c[half + (s - half + 1) % ANGLE_BINS]
                    })
                    .max()
                    .unwrap_or(0);
                (p, best)
            })
            .collect()
    }

    fn random(state: &mut u64) -> Hash256 {
        Hash256([
            splitmix(state),
            splitmix(state),
            splitmix(state),
            splitmix(state),
        ])
    }

    /// Images of random descriptors with low-entropy keys (so keys collide often, some in
    /// crowded buckets), and copies sharing some descriptors, a few mirrored.
    fn images(count: usize, state: &mut u64) -> Vec<Features> {
        let mut out: Vec<Features> = Vec::new();
        for i in 0..count {
            let mut f = Features::default();
            for k in 0..60 {
                let mut d = random(state);
                // Half the descriptors nearly constant: crowded keys.
                if k % 2 == 0 {
                    d.0 = [d.0[0] & 0x3, 0, 0, 0];
                }
                let angle = (splitmix(state) % 6283) as f32 / 1000.0 - std::f32::consts::PI;
                f.points.push(Keypoint {
                    x: 20.0,
                    y: 20.0,
                    angle,
                    level: (k / 30) as u8,
                });
                f.desc.push(d);
            }
            if i % 3 == 2 {
                let src = out[i - 1].clone();
                for k in 0..20 {
                    let mirror = i % 2 == 0;
                    f.desc[k + 1] = if mirror {
                        mirrored(&src.desc[k])
                    } else {
                        src.desc[k]
                    };
                    f.points[k + 1].angle = src.points[k].angle + 0.3;
                }
            }
            out.push(f);
        }
        out
    }

    #[test]
    fn streamed_votes_equal_the_reference_in_memory_and_through_files() {
        let mut state = 42;
        let feats = images(90, &mut state);
        let dir = tempfile::tempdir().expect("tempdir");
        for plan in [
            KeyPlan::default(),
            KeyPlan {
                bits: 12,
                max_bucket: 4,
                ..KeyPlan::default()
            },
            KeyPlan {
                tables: 3,
                bits: 20,
                ..KeyPlan::default()
            },
        ] {
            let want = reference(&feats, &plan);
            assert!(
                want.values().any(|&v| v >= MIN_VOTES),
                "planted copies vote"
            );
            for spill in [
                None,
                Some(SpillTo {
                    dir: dir.path(),
                    above: 0,
                }),
            ] {
                let (scores, effort) =
                    candidates::scores(feats.as_slice(), &plan, spill, 1).expect("votes");
                assert_eq!(effort.spilled, spill.is_some());
                let got: HashMap<(u32, u32), u32> = scores.into_iter().collect();
                assert_eq!(got, want, "plan {plan:?}, spill {}", spill.is_some());
            }
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            0,
            "files removed"
        );
    }

    #[test]
    fn fewer_keys_per_image_take_the_front_of_each_level() {
        let mut f = Features::default();
        for (level, count) in [(0u8, 6), (1, 3), (2, 1)] {
            for _ in 0..count {
                f.points.push(Keypoint {
                    x: 0.0,
                    y: 0.0,
                    angle: 0.0,
                    level,
                });
                f.desc.push(Hash256([0; 4]));
            }
        }
        let subset = |keys: usize| {
            let mut chosen = Vec::new();
            candidates::each_search_index(f.len(), |i| f.points[i].level, keys, |i| chosen.push(i));
            chosen
        };
        assert_eq!(subset(100), (0..10).collect::<Vec<_>>());
        assert_eq!(subset(5), vec![0, 1, 2, 6]);
    }
}
