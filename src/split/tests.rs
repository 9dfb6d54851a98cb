use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use regex::Regex;

use super::*;
use crate::index::Record;
use crate::index::rec;
use crate::loader::Loader;
use crate::near::groups::Group;

fn opts(sizes: Sizes) -> SplitOptions {
    SplitOptions {
        names: vec!["train".into(), "val".into(), "test".into()][..match &sizes {
            Sizes::Ratio(r) => r.len(),
            Sizes::Count(_) => 2,
        }]
            .to_vec(),
        sizes,
        seed: 7,
        group_by: None,
        dedup: Dedup::KeepOne,
        conflicts: Conflicts::Drop,
        loader: Loader::Keras,
        keep_unlabeled: false,
    }
}

/// Random datasets: `classes` sizes, and groups made by chaining neighbours.
fn dataset(class_sizes: &[usize], links: &[(usize, usize)]) -> (Vec<Record>, Vec<Group>) {
    let mut records = Vec::new();
    for (c, &n) in class_sizes.iter().enumerate() {
        for i in 0..n {
            records.push(rec(
                &format!("src/c{c}/{i:04}.jpg"),
                "src",
                &format!("c{c}"),
            ));
        }
    }
    let n = records.len();
    // Links stay inside one class so they never make label conflicts here.
    let pairs: Vec<(usize, usize)> = links
        .iter()
        .map(|&(a, b)| (a % n, b % n))
        .filter(|&(a, b)| a != b && records[a].class == records[b].class)
        .collect();
    let groups = crate::near::groups::build(&records, pairs);
    (records, groups)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn groups_never_straddle_and_shares_hold(
        class_sizes in prop::collection::vec(1usize..60, 1..5),
        links in prop::collection::vec((0usize..400, 0usize..400), 0..40),
        seed in 0u64..1000,
        dedup_none in any::<bool>(),
    ) {
        let (records, groups) = dataset(&class_sizes, &links);
        let mut o = opts(Sizes::Ratio(vec![0.7, 0.2, 0.1]));
        o.seed = seed;
        if dedup_none { o.dedup = Dedup::None; }
        let p = plan(&records, &groups, &o).unwrap();
        // Every source exactly once.
        prop_assert_eq!(p.placements.len(), records.len());
        // No group in two splits; every unit's members are its records placed in a split.
        let units = p.units(&records);
        let mut members = 0;
        for m in units.iter() {
            let splits: BTreeSet<_> = m.iter().map(|&m| p.placements[m as usize].split()).collect();
            prop_assert!(splits.len() <= 1);
            let ids: BTreeSet<_> = m.iter().map(|&m| p.placements[m as usize].unit()).collect();
            prop_assert_eq!(ids.len(), 1);
            members += m.len();
        }
        prop_assert_eq!(members, p.placements.iter().filter(|x| x.in_split()).count());
        prop_assert_eq!(units.len(), p.placed_units);
        // Per class: achieved within the largest unit of that class of the target.
        let largest = p.largest_unit.max(1);
        for st in achieved(&p, &records, &o.names) {
            for c in st.classes {
                prop_assert!((c.achieved as f64 - c.target).abs() <= largest as f64 + 1e-9,
                    "{} {}: target {} achieved {} largest unit {}", st.split, c.class, c.target, c.achieved, largest);
            }
        }
        // Deterministic.
        let again = plan(&records, &groups, &o).unwrap();
        prop_assert_eq!(&again.placements, &p.placements);
        // k-fold: disjoint and covering (each unit exactly one fold).
        let folds = kfold(&p, &records, 3);
        prop_assert_eq!(folds.len(), p.unit_count);
        prop_assert!(folds.iter().all(|&f| f < 3));
    }
}

#[test]
fn singletons_land_within_one_image_of_target() {
    let (records, groups) = dataset(&[50, 13, 7], &[]);
    let o = opts(Sizes::Ratio(vec![0.8, 0.2]));
    let p = plan(&records, &groups, &o).unwrap();
    for st in achieved(&p, &records, &o.names) {
        for c in st.classes {
            assert!((c.achieved as f64 - c.target).abs() <= 1.0, "{c:?}");
        }
    }
}

fn why(p: &Plan, records: &[Record], i: usize) -> String {
    p.reason(i, records)
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default()
}

#[test]
fn loader_decides_what_is_placed_and_kept() {
    // One photo twice: a lossless TIFF named .png (Keras fails on it) and a JPEG; the
    // TIFF would be the representative by the lossless rule.
    let mut tiff = rec("s/a/photo.png", "s", "a");
    tiff.format = Some(crate::base::format::Format::Tiff);
    let jpeg = rec("s/a/photo.jpg", "s", "a");
    let mut webp = rec("s/a/x.webp", "s", "a");
    webp.format = Some(crate::base::format::Format::Webp);
    let records = vec![tiff, jpeg, webp, rec("s/a/y.jpg", "s", "a")];
    let groups = crate::near::groups::build(&records, [(0, 1)]);
    let o = opts(Sizes::Ratio(vec![0.5, 0.5]));
    let p = plan(&records, &groups, &o).unwrap();
    assert!(p.placements[0].split().is_none());
    assert!(why(&p, &records, 0).starts_with("keras fails on it"));
    assert!(p.placements[1].split().is_some(), "{:?}", p.placements[1]);
    assert_eq!(
        why(&p, &records, 2),
        "not listed by keras (extension .webp)"
    );
    assert_eq!(p.reason_kind(2, &records), "not listed by keras");
    // torch lists .webp.
    let p = plan(
        &records,
        &groups,
        &SplitOptions {
            loader: Loader::Torch,
            ..o
        },
    )
    .unwrap();
    assert!(p.placements[2].split().is_some());
}

#[test]
fn unlabeled_are_dropped_or_kept_apart_and_classless_is_plain() {
    let mut records: Vec<Record> = (0..6)
        .map(|i| rec(&format!("s/a/{i}.jpg"), "s", if i < 4 { "a" } else { "" }))
        .collect();
    records.push(rec("t/copy.jpg", "t", ""));
    // The unlabeled copy of a labelled image, larger (it would be the representative).
    records[6].width = 50;
    let groups = crate::near::groups::build(&records, [(0, 6)]);
    let mut o = opts(Sizes::Ratio(vec![0.5, 0.5]));
    let p = plan(&records, &groups, &o).unwrap();
    assert_eq!(why(&p, &records, 4), "unlabeled");
    assert_eq!(p.reason_kind(4, &records), "unlabeled");
    assert!(
        p.placements[0].split().is_some(),
        "the labelled copy is kept"
    );
    assert!(p.placements[6].split().is_none());
    assert_eq!(p.class_names, vec!["a"]);
    o.keep_unlabeled = true;
    let p = plan(&records, &groups, &o).unwrap();
    assert_eq!(p.placements[4].split(), Some(2));
    assert_eq!(split_name(&o.names, 2), UNLABELED_DIR);
    assert!(why(&p, &records, 6).starts_with("unlabeled copy of s/a/0.jpg"));
    let d = destinations(&p, &records, &o.names).to_vec(&p, &records);
    assert_eq!(d[4].as_deref(), Some(Path::new("unlabeled/4.jpg")));
    // No class at all: a plain split, nothing dropped as unlabeled, no class folder.
    let none: Vec<Record> = (0..6).map(|i| rec(&format!("{i}.jpg"), "", "")).collect();
    let p = plan(&none, &[], &opts(Sizes::Ratio(vec![0.5, 0.5]))).unwrap();
    assert!(
        p.placements
            .iter()
            .all(|x| x.split().is_some() && x.split() < Some(2))
    );
    let d = destinations(&p, &none, &o.names).to_vec(&p, &none);
    assert!(
        d.iter()
            .all(|x| x.as_ref().unwrap().components().count() == 2),
        "{d:?}"
    );
}

#[test]
fn dedup_and_conflicts() {
    let mut records = vec![
        rec("s/a/1.jpg", "s", "a"),
        rec("s/a/2.jpg", "s", "a"),
        rec("s/b/2.jpg", "s", "b"),
        rec("s/a/3.jpg", "s", "a"),
    ];
    records[0].width = 20; // the representative
    let groups = crate::near::groups::build(&records, [(0, 1), (1, 2)]);
    let mut o = opts(Sizes::Ratio(vec![0.5, 0.5]));
    o.conflicts = Conflicts::Majority;
    let p = plan(&records, &groups, &o).unwrap();
    assert!(p.placements[0].split().is_some());
    assert_eq!(p.placements[1].fate(), Fate::DuplicateOf);
    assert!(matches!(
        p.reason(1, &records),
        Some(DropReason::DuplicateOf(rep)) if rep == records[0].path
    ));
    assert!(matches!(
        p.reason(2, &records),
        Some(DropReason::LabelConflict { .. })
    ));
    o.conflicts = Conflicts::Drop;
    let p = plan(&records, &groups, &o).unwrap();
    assert!(p.placements[..3].iter().all(|x| x.split().is_none()));
    o.conflicts = Conflicts::Error;
    assert!(plan(&records, &groups, &o).is_err());
}

#[test]
fn group_by_keeps_keys_together() {
    let records: Vec<Record> = (0..20)
        .map(|i| rec(&format!("s/a/person{}_{i}.jpg", i % 4), "s", "a"))
        .collect();
    let mut o = opts(Sizes::Ratio(vec![0.5, 0.5]));
    o.group_by = Some(Regex::new(r"person\d+").unwrap());
    let p = plan(&records, &[], &o).unwrap();
    for k in 0..4 {
        let splits: BTreeSet<_> = p
            .placements
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 4 == k)
            .map(|(_, x)| x.split())
            .collect();
        assert_eq!(splits.len(), 1);
    }
}

#[test]
fn name_collisions_get_distinct_names() {
    let records = vec![
        rec("train/a/x.jpg", "train", "a"),
        rec("val/a/x.jpg", "val", "a"),
    ];
    let mut o = opts(Sizes::Ratio(vec![1.0]));
    o.names = vec!["train".into()];
    let p = plan(&records, &[], &o).unwrap();
    let d = destinations(&p, &records, &o.names).to_vec(&p, &records);
    assert_eq!(d[0].as_deref(), Some(Path::new("train/a/x.jpg")));
    let other = d[1].as_ref().unwrap().to_string_lossy().into_owned();
    assert!(
        other.starts_with("train/a/x-") && other.ends_with(".jpg"),
        "{other}"
    );
}

/// A tagged name can be a file's own name: whoever comes first in path order keeps it, the
/// other gets a (further) tag, and no two files share a destination.
#[test]
fn tagged_names_never_take_a_files_own_name() {
    let mut o = opts(Sizes::Ratio(vec![1.0]));
    o.names = vec!["train".into()];
    let two = vec![
        rec("train/a/x.jpg", "train", "a"),
        rec("val/a/x.jpg", "val", "a"),
    ];
    let p = plan(&two, &[], &o).unwrap();
    let d = destinations(&p, &two, &o.names).to_vec(&p, &two);
    let tagged = d[1].as_ref().unwrap().file_name().unwrap().to_owned();
    let tagged = tagged.to_str().unwrap();
    assert_ne!(tagged, "x.jpg");
    // The tag's name already taken by a file before the tagged one (path order) ...
    let before = {
        let mut r = two.clone();
        r.insert(0, rec(&format!("train/a/{tagged}"), "train", "a"));
        r
    };
    // ... and by a file after it, whose own name it then is not.
    let after = {
        let mut r = two.clone();
        r.push(rec(&format!("validation/a/{tagged}"), "validation", "a"));
        r
    };
    for (records, holder) in [(before, 0), (after, 1)] {
        let p = plan(&records, &[], &o).unwrap();
        let d = destinations(&p, &records, &o.names).to_vec(&p, &records);
        let names: BTreeSet<_> = d.iter().flatten().collect();
        assert_eq!(names.len(), 3, "{d:?}");
        let own = format!("train/a/{tagged}");
        assert_eq!(
            d[holder].as_deref(),
            Some(Path::new(&own)),
            "the first in path order keeps {own}: {d:?}"
        );
    }
}

#[test]
fn count_targets() {
    let t = targets(&Sizes::Count(5), 3, &[20, 7]);
    assert_eq!(t, vec![vec![10.0, 0.0], vec![5.0, 5.0], vec![5.0, 2.0]]);
}

#[test]
fn kfold_lists_kept_unlabeled_images_in_no_fold() {
    // Six labelled singletons and two unlabeled images kept apart.
    let records: Vec<Record> = (0..8)
        .map(|i| rec(&format!("s/{i}.jpg"), "s", if i < 6 { "a" } else { "" }))
        .collect();
    let mut o = opts(Sizes::Ratio(vec![0.5, 0.5]));
    o.keep_unlabeled = true;
    let p = plan(&records, &[], &o).unwrap();
    // Eight units, six with an image to fold.
    assert_eq!(p.unit_count, 8);
    assert!(check_kfold(6, &p).is_ok());
    let e = check_kfold(7, &p).unwrap_err().to_string();
    assert!(e.contains("the 6 groups"), "{e}");
    let mut out = Vec::new();
    write_folds(&mut out, &p, &records, &kfold(&p, &records, 3)).unwrap();
    let text = String::from_utf8(out).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 8, "{text}");
    for r in &rows {
        let labelled = r[1] == "a";
        assert_eq!(r[3] == UNLABELED_FOLD, !labelled, "{text}");
        if labelled {
            assert!(r[3].parse::<usize>().unwrap() < 3, "{text}");
        }
    }
    // Each numbered fold holds two of the six labelled images.
    for f in ["0", "1", "2"] {
        assert_eq!(rows.iter().filter(|r| r[3] == f).count(), 2, "{text}");
    }
}

/// `plan` and `destinations` skip sorting by path when the records come in path order (as
/// the scan returns them): records in another order must get the same splits and names.
#[test]
fn record_order_does_not_change_the_split() {
    let mut records: Vec<Record> = Vec::new();
    for (split, class, n) in [("test", "b", 3), ("train", "a", 40), ("val", "a", 7)] {
        for i in 0..n {
            records.push(rec(
                &format!("{split}/{class}/{:02}.jpg", i % 5),
                split,
                class,
            ));
        }
    }
    records.sort_by(|a, b| a.path.cmp(&b.path));
    records.dedup_by(|a, b| a.path == b.path);
    let three = opts(Sizes::Ratio(vec![0.5, 0.3, 0.2]));
    // One split: every repeated file name needs a tag.
    let mut one = opts(Sizes::Ratio(vec![1.0]));
    one.names = vec!["train".into()];
    for o in [three, one] {
        let outcome = |records: &[Record]| {
            let p = plan(records, &[], &o).unwrap();
            let d = destinations(&p, records, &o.names).to_vec(&p, records);
            let mut by_path: Vec<_> = p
                .placements
                .iter()
                .enumerate()
                .map(|(i, pl)| (records[i].path.clone(), pl.split(), d[i].clone()))
                .collect();
            by_path.sort();
            by_path
        };
        let mut records = records.clone();
        let sorted = outcome(&records);
        let names: BTreeSet<_> = sorted.iter().filter_map(|(_, _, d)| d.clone()).collect();
        assert_eq!(names.len(), records.len());
        let tagged = names
            .iter()
            .filter(|d| d.to_string_lossy().contains('-'))
            .count();
        assert!(tagged > 0 || o.names.len() > 1, "{names:?}");
        records.reverse();
        assert_eq!(outcome(&records), sorted);
    }
}

/// A million placements are held while OUT is written (docs/BENCHMARKS.md "At a million images").
#[test]
fn placements_stay_compact() {
    assert_eq!(std::mem::size_of::<Placement>(), 8);
}
