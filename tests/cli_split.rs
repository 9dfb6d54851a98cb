//! End-to-end tests of `cleansplit split`: the real binary on real files (copies of
//! `testdata/demo` and small generated datasets), each test in its own temporary folder.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const EXTRAS: [&str; 3] = ["class_weights.json", "manifest.csv", "split_report.json"];
const CLASSES: [&str; 3] = ["apple", "banana", "cherry"];

/// Kinds in `demo_truth.csv` that are a source and its copy.
const DUPLICATE_KINDS: [&str; 8] = [
    "resized",
    "reencoded",
    "flipped",
    "exact",
    "letterbox",
    "crop",
    "grayscale",
    "within_split",
];

/// How files were expected to reach OUT.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Placed {
    Copy,
    Hardlink,
    Symlink,
    Manifest,
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Runs `cleansplit split ROOT OUT ARGS..` (index in WORK) and asserts exit 0.
fn split_ok(work: &Path, root: &Path, out: &Path, args: &[&str]) {
    let mut v = vec!["split".to_string(), s(root), s(out)];
    v.extend(args.iter().map(|a| a.to_string()));
    cleansplit(work, v).assert().success();
}

/// Runs `cleansplit split ROOT OUT ARGS..` (index in WORK, ROOT at WORK/demo), asserts the
/// exit code and that nothing was written besides the index, and returns stderr.
fn split_fails(work: &Path, root: &Path, out: &Path, args: &[&str], code: i32) -> String {
    let mut v = vec!["split".to_string(), s(root), s(out)];
    v.extend(args.iter().map(|a| a.to_string()));
    let o = cleansplit(work, v).assert().code(code).get_output().clone();
    assert!(!out.exists(), "OUT was created");
    assert_eq!(
        names_in(work),
        [
            "demo",
            "index.csv",
            "index.csv.features",
            "index.csv.meta.json"
        ],
        "something was written"
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks what every split run must satisfy and returns the manifest rows:
/// every source under ROOT listed once, copied rows placed (as `placed` says) with the
/// source's bytes, dropped rows with a reason, no file in OUT that the manifest does not
/// list, and the JSON files consistent with the manifest.
fn check_split(root: &Path, out: &Path, names: &[&str], placed: Placed) -> Vec<ManifestRow> {
    let rows = read_manifest(&out.join("manifest.csv"));
    // Every source exactly once.
    let sources: Vec<String> = rows.iter().map(|r| r.source.clone()).collect();
    let unique: BTreeSet<&String> = sources.iter().collect();
    assert_eq!(unique.len(), sources.len(), "a source is listed twice");
    let expected: BTreeSet<String> = files_under(root).iter().map(|p| s(p)).collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "manifest sources differ from the files under ROOT"
    );
    let canonical_root = fs::canonicalize(root).unwrap();
    let mut dests = BTreeSet::new();
    for r in &rows {
        match r.action.as_str() {
            "copied" => {
                assert!(names.contains(&r.split.as_str()), "{r:?}");
                assert!(r.reason.is_empty(), "{r:?}");
                assert!(
                    r.destination
                        .starts_with(&format!("{}/{}/", r.split, r.class)),
                    "destination not under split/class: {r:?}"
                );
                assert!(dests.insert(r.destination.clone()), "two rows share {r:?}");
                let src = root.join(&r.source);
                let dst = out.join(&r.destination);
                match placed {
                    Placed::Manifest => {
                        assert!(
                            fs::symlink_metadata(&dst).is_err(),
                            "{} exists in manifest mode",
                            dst.display()
                        );
                        continue;
                    }
                    Placed::Symlink => {
                        let meta = fs::symlink_metadata(&dst).unwrap();
                        assert!(meta.file_type().is_symlink(), "{r:?} is not a symlink");
                        let target = fs::read_link(&dst).unwrap();
                        assert!(target.is_absolute(), "{}", target.display());
                        assert_eq!(target, canonical_root.join(&r.source), "{r:?}");
                    }
                    Placed::Copy | Placed::Hardlink => {
                        let meta = fs::symlink_metadata(&dst)
                            .unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
                        assert!(meta.is_file(), "{r:?} is not a regular file");
                    }
                }
                #[cfg(unix)]
                if placed == Placed::Hardlink {
                    use std::os::unix::fs::MetadataExt;
                    let (a, b) = (fs::metadata(&src).unwrap(), fs::metadata(&dst).unwrap());
                    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "{r:?} not linked");
                }
                assert!(
                    fs::read(&src).unwrap() == fs::read(&dst).unwrap(),
                    "{} does not have the bytes of {}",
                    r.destination,
                    r.source
                );
            }
            "dropped" => {
                assert!(r.destination.is_empty() && r.split.is_empty(), "{r:?}");
                assert!(!r.reason.is_empty(), "dropped without a reason: {r:?}");
            }
            other => panic!("unknown action {other:?} in {r:?}"),
        }
    }
    // Nothing in OUT but the listed destinations and the CSV/JSON files.
    let mut want: BTreeSet<String> = EXTRAS.iter().map(|e| e.to_string()).collect();
    if placed != Placed::Manifest {
        want.extend(dests.iter().cloned());
    }
    let got: BTreeSet<String> = files_under(out).iter().map(|p| s(p)).collect();
    assert_eq!(got, want, "files in OUT");

    let copied = rows.iter().filter(|r| r.action == "copied").count();
    let report = read_json(&out.join("split_report.json"));
    assert_eq!(report["sources"], rows.len());
    assert_eq!(report["copied"], copied);
    assert_eq!(report["dropped"], rows.len() - copied);
    assert_eq!(report["names"], serde_json::json!(names));
    let weights = read_json(&out.join("class_weights.json"));
    for key in ["class_weight", "class_names", "counts"] {
        assert!(weights.get(key).is_some(), "class_weights.json lacks {key}");
    }
    // counts are the new training split's copied images per class.
    let mut train_counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.split == names[0]) {
        *train_counts.entry(r.class.clone()).or_default() += 1;
    }
    let counts: BTreeMap<String, usize> = weights["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize))
        .filter(|(_, v)| *v > 0)
        .collect();
    assert_eq!(counts, train_counts, "class_weights.json counts");
    let n_names = weights["class_names"].as_array().unwrap().len();
    assert_eq!(weights["class_weight"].as_object().unwrap().len(), n_names);
    rows
}

/// The demo's planted problems, checked against a default (keep-one, conflicts drop) split.
fn check_demo_rows(rows: &[ManifestRow]) {
    let by_source: BTreeMap<&str, &ManifestRow> =
        rows.iter().map(|r| (r.source.as_str(), r)).collect();
    let row = |p: &str| *by_source.get(p).unwrap_or_else(|| panic!("{p} not listed"));
    let truth = demo_truth();
    let mut mentioned = BTreeSet::new();
    for t in &truth {
        mentioned.insert(t.a.clone());
        if !t.b.is_empty() {
            mentioned.insert(t.b.clone());
        }
        match t.kind.as_str() {
            "corrupt" | "empty" | "truncated" => {
                let r = row(&t.a);
                assert_eq!(r.action, "dropped", "{} file copied: {r:?}", t.kind);
                assert!(r.reason.starts_with("status "), "{r:?}");
            }
            "label_conflict" => {
                for p in [&t.a, &t.b] {
                    let r = row(p);
                    assert_eq!(r.action, "dropped", "{r:?}");
                    assert!(r.reason.starts_with("label conflict"), "{r:?}");
                }
            }
            k if DUPLICATE_KINDS.contains(&k) => {
                let (a, b) = (row(&t.a), row(&t.b));
                let copied: Vec<&&ManifestRow> = [&a, &b]
                    .into_iter()
                    .filter(|r| r.action == "copied")
                    .collect();
                // keep-one: exactly one of the two is placed (so never in two splits).
                assert_eq!(copied.len(), 1, "{k} pair: {a:?} / {b:?}");
                let other = if a.action == "dropped" { a } else { b };
                assert!(other.reason.starts_with("duplicate of"), "{other:?}");
                assert!(!a.group.is_empty() && a.group == b.group, "{a:?} / {b:?}");
            }
            _ => {}
        }
    }
    // Every photo without a planted problem is placed.
    for r in rows.iter().filter(|r| !mentioned.contains(&r.source)) {
        assert_eq!(r.action, "copied", "clean photo dropped: {r:?}");
    }
}

/// `leaks OUT --format json` with its own index.
fn leak_summary(work: &Path, out: &Path, index_name: &str) -> Value {
    let o = cleansplit_with_index(
        &work.join(index_name),
        [
            "leaks".to_string(),
            s(out),
            "--format".into(),
            "json".into(),
        ],
    )
    .assert()
    .success()
    .get_output()
    .clone();
    serde_json::from_slice(&o.stdout).expect("leaks --format json prints JSON")
}

#[test]
fn demo_split_with_defaults_is_clean_and_leaves_the_source_alone() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let before = tree_fingerprint(&root);
    let out = w.join("out");
    split_ok(w, &root, &out, &[]);
    assert_eq!(tree_fingerprint(&root), before, "the source tree changed");

    for split in ["train", "val"] {
        for class in CLASSES {
            let d = out.join(split).join(class);
            assert!(d.is_dir(), "{} missing", d.display());
        }
    }
    let rows = check_split(&root, &out, &["train", "val"], Placed::Copy);
    check_demo_rows(&rows);
    let report = read_json(&out.join("split_report.json"));
    assert_eq!(report["seed"], 42);
    assert_eq!(report["merged_splits"], serde_json::json!(["train", "val"]));
    let weights = read_json(&out.join("class_weights.json"));
    assert_eq!(weights["class_names"], serde_json::json!(CLASSES));

    // The result has no leaks, conflicts or duplicates left.
    let summary = leak_summary(w, &out, "out-index.csv");
    assert_eq!(summary["cross_split_groups"], 0, "{summary:#}");
    assert_eq!(summary["label_conflict_groups"], 0, "{summary:#}");
    assert_eq!(summary["within_split_groups"], 0, "{summary:#}");
    // ... while the source has them (the check above can fail).
    let source = leak_summary(w, &root, "index.csv");
    assert!(
        source["cross_split_groups"].as_u64().unwrap() >= 7,
        "{source:#}"
    );

    assert_eq!(tree_fingerprint(&root), before, "the source tree changed");
}

#[test]
fn non_empty_out_is_refused_and_left_untouched() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let before = tree_fingerprint(&root);
    let out = w.join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), b"precious").unwrap();
    let work_before = names_in(w);
    let o = cleansplit(w, ["split".to_string(), s(&root), s(&out)])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(names_in(&out), ["keep.txt"]);
    assert_eq!(fs::read(out.join("keep.txt")).unwrap(), b"precious");
    // No temporary folder either (the index may have been written).
    let mut after = names_in(w);
    after.retain(|n| n != "index.csv");
    let mut expected = work_before;
    expected.retain(|n| n != "index.csv");
    assert_eq!(after, expected);
    assert_eq!(tree_fingerprint(&root), before);
}

#[test]
fn existing_empty_out_is_accepted() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let out = w.join("out");
    fs::create_dir(&out).unwrap();
    split_ok(w, &root, &out, &[]);
    check_split(&root, &out, &["train", "val"], Placed::Copy);
}

#[test]
fn out_inside_root_is_refused() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let before = tree_fingerprint(&root);
    let mut outs = vec![root.join("out"), root.join("train").join("out")];
    // Inside ROOT through a symlink to it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&root, w.join("alias")).unwrap();
        outs.push(w.join("alias").join("out"));
    }
    for out in outs {
        let o = cleansplit(w, ["split".to_string(), s(&root), s(&out)])
            .assert()
            .code(2)
            .get_output()
            .clone();
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("inside ROOT"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!out.exists(), "{} was created", out.display());
    }
    // Nothing was added under ROOT (no OUT, no temporary folder, no index).
    assert_eq!(tree_fingerprint(&root), before);
}

#[test]
fn dedup_none_copies_every_duplicate_into_one_split() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let out = w.join("out");
    split_ok(w, &root, &out, &["--dedup", "none"]);
    let rows = check_split(&root, &out, &["train", "val"], Placed::Copy);
    let by_source: BTreeMap<&str, &ManifestRow> =
        rows.iter().map(|r| (r.source.as_str(), r)).collect();
    for t in demo_truth() {
        if DUPLICATE_KINDS.contains(&t.kind.as_str()) {
            let (a, b) = (by_source[t.a.as_str()], by_source[t.b.as_str()]);
            assert!(
                a.action == "copied" && b.action == "copied",
                "{a:?} / {b:?}"
            );
            assert_eq!(a.split, b.split, "{} pair split: {a:?} / {b:?}", t.kind);
        } else if t.kind == "label_conflict" {
            assert_eq!(by_source[t.a.as_str()].action, "dropped");
            assert_eq!(by_source[t.b.as_str()].action, "dropped");
        }
    }
    let summary = leak_summary(w, &out, "out-index.csv");
    assert_eq!(summary["cross_split_groups"], 0, "{summary:#}");
    assert!(
        summary["within_split_groups"].as_u64().unwrap() >= 8,
        "{summary:#}"
    );
}

#[test]
fn conflicts_majority_with_a_tie_drops_both() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let out = w.join("out");
    split_ok(w, &root, &out, &["--conflicts", "majority"]);
    let rows = check_split(&root, &out, &["train", "val"], Placed::Copy);
    // One apple and one banana copy: no majority.
    for p in ["train/apple/conflict.jpg", "train/banana/conflict.jpg"] {
        let r = rows.iter().find(|r| r.source == p).unwrap();
        assert_eq!(r.action, "dropped", "{r:?}");
        assert!(r.reason.starts_with("label conflict"), "{r:?}");
    }
}

#[test]
fn same_seed_gives_identical_output_and_another_seed_a_valid_different_one() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let (a, b, c) = (w.join("a"), w.join("b"), w.join("c"));
    split_ok(w, &root, &a, &["--seed", "42"]);
    // Same split from a fresh index (one worker), with relative paths from another working
    // directory.
    cleansplit_with_index(
        &w.join("index-b.csv"),
        ["split", "demo", "b", "--seed", "42", "-j", "1"],
    )
    .current_dir(w)
    .assert()
    .success();
    for f in EXTRAS {
        assert!(
            fs::read(a.join(f)).unwrap() == fs::read(b.join(f)).unwrap(),
            "{f} differs between two runs with one seed"
        );
    }
    assert_eq!(files_under(&a), files_under(&b));
    check_split(&root, &b, &["train", "val"], Placed::Copy);

    split_ok(w, &root, &c, &["--seed", "7"]);
    let rows = check_split(&root, &c, &["train", "val"], Placed::Copy);
    check_demo_rows(&rows);
    assert!(
        fs::read(a.join("manifest.csv")).unwrap() != fs::read(c.join("manifest.csv")).unwrap(),
        "--seed 7 gave the same manifest as --seed 42"
    );
    assert_eq!(read_json(&c.join("split_report.json"))["seed"], 7);
}

#[cfg(unix)]
#[test]
fn hardlink_mode_links_to_the_source_files() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let before = tree_fingerprint(&root);
    let out = w.join("out");
    let o = cleansplit(
        w,
        [
            "split".to_string(),
            s(&root),
            s(&out),
            "--mode".into(),
            "hardlink".into(),
        ],
    )
    .assert()
    .success()
    .get_output()
    .clone();
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("hard links failed"),
        "fell back to copies on one file system"
    );
    let rows = check_split(&root, &out, &["train", "val"], Placed::Hardlink);
    check_demo_rows(&rows);
    assert_eq!(
        read_json(&out.join("split_report.json"))["mode"],
        "hardlink"
    );
    assert_eq!(tree_fingerprint(&root), before);
}

#[cfg(unix)]
#[test]
fn hardlink_mode_falls_back_to_copies_across_file_systems() {
    use std::os::unix::fs::MetadataExt;
    let work = tmp();
    let w = work.path();
    let shm = Path::new("/dev/shm");
    let other = match fs::metadata(shm) {
        Ok(m) if m.is_dir() && m.dev() != fs::metadata(w).unwrap().dev() => {
            tempfile::tempdir_in(shm).ok()
        }
        _ => None,
    };
    let Some(other) = other else {
        eprintln!(
            "SKIPPED: no writable /dev/shm on another file system than {}",
            w.display()
        );
        return;
    };
    let root = copy_demo(w);
    let out = other.path().join("out");
    let o = cleansplit(
        w,
        [
            "split".to_string(),
            s(&root),
            s(&out),
            "--mode".into(),
            "hardlink".into(),
            "--verify".into(),
        ],
    )
    .assert()
    .success()
    .get_output()
    .clone();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("hard links failed").count(), 1, "{err}");
    check_demo_rows(&check_split(&root, &out, &["train", "val"], Placed::Copy));
}

#[cfg(unix)]
#[test]
fn symlink_mode_links_to_absolute_sources() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let before = tree_fingerprint(&root);
    // A relative ROOT: the links must still be absolute.
    cleansplit(w, ["split", "demo", "out", "--mode", "symlink"])
        .current_dir(w)
        .assert()
        .success();
    let out = w.join("out");
    let rows = check_split(&root, &out, &["train", "val"], Placed::Symlink);
    check_demo_rows(&rows);
    assert_eq!(tree_fingerprint(&root), before);
}

#[test]
fn manifest_mode_writes_only_the_csv_and_json() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let out = w.join("out");
    split_ok(w, &root, &out, &["--mode", "manifest"]);
    let rows = check_split(&root, &out, &["train", "val"], Placed::Manifest);
    check_demo_rows(&rows);
    assert!(
        files_under(&out).iter().all(|p| !is_image_name(p)),
        "images in OUT"
    );
    // "CSV and JSON only": no (empty) split or class folders either.
    assert_eq!(
        names_in(&out),
        EXTRAS,
        "OUT of --mode manifest holds more than the CSV and JSON files"
    );
}

#[test]
fn verify_checks_every_placed_file() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    for (out, mode) in [("copy", "copy"), ("link", "symlink")] {
        let out = w.join(out);
        split_ok(w, &root, &out, &["--verify", "--mode", mode]);
        let placed = if mode == "copy" {
            Placed::Copy
        } else {
            Placed::Symlink
        };
        check_split(&root, &out, &["train", "val"], placed);
    }
}

/// `--verify` compares each placed file with the content hash the scan recorded. A source
/// whose bytes changed after the scan while its size and mtime stayed the same (an in-place
/// edit that kept the timestamp, a file rewritten on a network share) is reused from the
/// index with its old hash, so the copy cannot match it: the split must fail and write
/// nothing.
#[test]
fn verify_fails_when_a_source_changed_after_the_scan() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    cleansplit(w, ["scan".to_string(), s(&root)])
        .assert()
        .success();
    // A file the default split places (see the demo's manifest): one byte of it flipped,
    // same size, mtime put back.
    let victim = root.join("train/apple/apple_002.jpg");
    let mtime = fs::metadata(&victim).unwrap().modified().unwrap();
    let mut bytes = fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&victim, &bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(fs::metadata(&victim).unwrap().modified().unwrap(), mtime);

    let err = split_fails(w, &root, &w.join("out"), &["--verify"], 2);
    assert!(
        err.contains("differs from its source") && err.contains("apple_002.jpg"),
        "{err}"
    );
}

#[test]
fn same_file_names_in_two_splits_get_distinct_destinations() {
    let work = tmp();
    let w = work.path();
    let root = w.join("coll");
    write_image(&root.join("train/cats/x.jpg"), 1);
    write_image(&root.join("val/cats/x.jpg"), 2);
    write_image(&root.join("train/dogs/x.jpg"), 3);
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        write_image(&root.join(format!("train/cats/{name}.jpg")), 10 + i as u64);
        write_image(&root.join(format!("val/dogs/{name}.jpg")), 20 + i as u64);
    }
    let before = tree_fingerprint(&root);
    // Almost everything into train, so the two cats/x.jpg meet in one folder.
    let out = w.join("out");
    split_ok(w, &root, &out, &["--ratio", "0.95,0.05"]);
    let rows = check_split(&root, &out, &["train", "val"], Placed::Copy);
    assert!(
        rows.iter().all(|r| r.action == "copied"),
        "distinct images dropped: {rows:#?}"
    );
    let xs: Vec<&ManifestRow> = rows
        .iter()
        .filter(|r| r.source.ends_with("cats/x.jpg"))
        .collect();
    assert_eq!(xs.len(), 2);
    assert_eq!(
        (xs[0].split.as_str(), xs[1].split.as_str()),
        ("train", "train"),
        "test setup: both x.jpg were meant to land in train: {xs:#?}"
    );
    assert_ne!(xs[0].destination, xs[1].destination);
    let images: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|p| is_image_name(p))
        .collect();
    assert_eq!(images.len(), rows.len(), "a destination was overwritten");
    assert_eq!(tree_fingerprint(&root), before);
}

/// 8 persons x 5 distinct photos, `person{k}_{i}.png`; persons 0-3 are class `a`, 4-7 `b`;
/// the fifth photo of each person sits in `val` (so the source straddles splits).
fn people_dataset(root: &Path) {
    for k in 0..8u64 {
        for i in 0..5u64 {
            let split = if i == 4 { "val" } else { "train" };
            let class = if k < 4 { "a" } else { "b" };
            write_image(
                &root.join(format!("{split}/{class}/person{k}_{i}.png")),
                100 + k * 10 + i,
            );
        }
    }
}

/// Person key -> set of splits it landed in.
fn person_splits(rows: &[ManifestRow]) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rows {
        let name = r.source.rsplit('/').next().unwrap();
        let person = name.split('_').next().unwrap().to_string();
        m.entry(person).or_default().insert(r.split.clone());
    }
    m
}

#[test]
fn group_by_keeps_each_person_in_one_split() {
    let work = tmp();
    let w = work.path();
    let root = w.join("people");
    people_dataset(&root);
    let out = w.join("out");
    split_ok(w, &root, &out, &["--group-by", r"person\d+"]);
    let rows = check_split(&root, &out, &["train", "val"], Placed::Copy);
    assert_eq!(rows.len(), 40);
    assert!(
        rows.iter().all(|r| r.action == "copied"),
        "test images were taken for duplicates: {rows:#?}"
    );
    let splits = person_splits(&rows);
    assert_eq!(splits.len(), 8);
    for (person, s) in &splits {
        assert_eq!(s.len(), 1, "{person} is in {s:?}");
    }
    let used: BTreeSet<&String> = rows.iter().map(|r| &r.split).collect();
    assert_eq!(used.len(), 2, "one split is empty");
    // One group id per person.
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &rows {
        let person = r
            .source
            .rsplit('/')
            .next()
            .unwrap()
            .split('_')
            .next()
            .unwrap();
        groups
            .entry(person.to_string())
            .or_default()
            .insert(r.group.clone());
    }
    for (person, g) in &groups {
        assert!(g.len() == 1 && !g.contains(""), "{person}: groups {g:?}");
    }
    assert_eq!(
        read_json(&out.join("split_report.json"))["group_by"],
        r"person\d+"
    );

    // Without --group-by the same data does straddle (so the check above can fail).
    let plain = w.join("plain");
    split_ok(w, &root, &plain, &[]);
    let rows = check_split(&root, &plain, &["train", "val"], Placed::Copy);
    assert!(
        person_splits(&rows).values().any(|s| s.len() > 1),
        "without --group-by no person straddles: the test proves nothing"
    );
}

/// Rows of `folds.csv` as (source, class, group, fold).
fn read_folds(path: &Path) -> Vec<(String, String, String, usize)> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        ["source", "class", "group", "fold"]
    );
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_owned(),
                r[1].to_owned(),
                r[2].to_owned(),
                r[3].parse().expect("fold is a number"),
            )
        })
        .collect()
}

#[test]
fn kfold_writes_stratified_group_folds() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let before = tree_fingerprint(&root);
    let out = w.join("folds");
    split_ok(w, &root, &out, &["--kfold", "3"]);
    assert!(
        files_under(&out).iter().all(|p| !is_image_name(p)),
        "--kfold placed images"
    );
    let folds = read_folds(&out.join("folds.csv"));
    // The usable sources: those a default split copies.
    let plain = w.join("plain");
    split_ok(w, &root, &plain, &[]);
    let usable: BTreeSet<String> = read_manifest(&plain.join("manifest.csv"))
        .into_iter()
        .filter(|r| r.action == "copied")
        .map(|r| r.source)
        .collect();
    let listed: Vec<&String> = folds.iter().map(|f| &f.0).collect();
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>().len(),
        listed.len(),
        "a source is in two rows"
    );
    assert_eq!(listed.into_iter().cloned().collect::<BTreeSet<_>>(), usable);
    assert!(folds.iter().all(|f| f.3 < 3), "fold out of 0..3");
    // Stratified: each class within one image of a third in every fold.
    let mut per: BTreeMap<(&str, usize), usize> = BTreeMap::new();
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &folds {
        *per.entry((f.1.as_str(), f.3)).or_default() += 1;
        *totals.entry(f.1.as_str()).or_default() += 1;
    }
    for (class, total) in &totals {
        for fold in 0..3 {
            let n = per.get(&(*class, fold)).copied().unwrap_or(0) as f64;
            assert!(
                (n - *total as f64 / 3.0).abs() <= 1.0,
                "{class} has {n} of {total} in fold {fold}"
            );
        }
    }

    // With every duplicate listed, members of a group share a fold.
    let all = w.join("folds-all");
    split_ok(w, &root, &all, &["--kfold", "3", "--dedup", "none"]);
    let folds = read_folds(&all.join("folds.csv"));
    let mut by_group: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for f in folds.iter().filter(|f| !f.2.is_empty()) {
        by_group.entry(f.2.as_str()).or_default().insert(f.3);
        *sizes.entry(f.2.as_str()).or_default() += 1;
    }
    assert!(
        sizes.values().filter(|&&n| n >= 2).count() >= 8,
        "expected the demo's duplicate groups: {sizes:?}"
    );
    for (g, f) in &by_group {
        assert_eq!(f.len(), 1, "group {g} in folds {f:?}");
    }
    let fold_of: BTreeMap<&str, usize> = folds.iter().map(|f| (f.0.as_str(), f.3)).collect();
    for t in demo_truth()
        .iter()
        .filter(|t| DUPLICATE_KINDS.contains(&t.kind.as_str()))
    {
        let (a, b) = (fold_of.get(t.a.as_str()), fold_of.get(t.b.as_str()));
        assert!(a.is_some() && a == b, "{t:?}: folds {a:?} / {b:?}");
    }
    assert_eq!(tree_fingerprint(&root), before);
}

#[test]
fn conflicts_error_exits_1_and_creates_nothing() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let err = split_fails(w, &root, &w.join("out"), &["--conflicts", "error"], 1);
    assert!(
        err.contains("label conflict") && err.contains("conflict.jpg"),
        "{err}"
    );
}

#[test]
fn interrupted_run_leaves_no_out() {
    let work = tmp();
    let w = work.path();
    let root = copy_demo(w);
    let before = tree_fingerprint(&root);
    let out = w.join("out");
    let o = cleansplit(w, ["split".to_string(), s(&root), s(&out)])
        .env("CLEANSPLIT_ABORT_AFTER_FILES", "3")
        // A core file, if any, lands in the temporary folder.
        .current_dir(w)
        .output()
        .unwrap();
    assert!(!o.status.success(), "the run did not fail: {o:?}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(o.status.signal(), Some(6), "not aborted (SIGABRT): {o:?}");
    }
    assert!(!out.exists(), "an interrupted run left OUT behind");
    assert_eq!(tree_fingerprint(&root), before, "the source tree changed");
    // Only hidden temporary folders may be left, and the abort came after 3 files.
    let leftovers: Vec<String> = names_in(w)
        .into_iter()
        .filter(|n| {
            ![
                "demo",
                "index.csv",
                "index.csv.features",
                "index.csv.meta.json",
            ]
            .contains(&n.as_str())
                && !n.starts_with("core")
        })
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    assert!(
        leftovers[0].starts_with(".out.cleansplit-tmp-"),
        "{leftovers:?}"
    );
    assert_eq!(files_under(&w.join(&leftovers[0])).len(), 3);

    // A new run afterwards completes.
    split_ok(w, &root, &out, &[]);
    check_demo_rows(&check_split(&root, &out, &["train", "val"], Placed::Copy));
}

#[test]
fn every_split_gets_every_class_folder_for_keras_and_a_warning_for_torch() {
    // A class of two images: the 80/20 split gives val none of it.
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    let mut seed = 9_000;
    for (class, n) in [("ant", 2), ("bee", 10), ("cat", 10)] {
        for i in 0..n {
            seed += 1;
            write_image(&root.join(class).join(format!("{i:02}.png")), seed);
        }
    }
    let out = w.join("out");
    split_ok(w, &root, &out, &[]);
    // Keras numbers val's folders as train's only if val has an `ant` folder too: made empty.
    assert_eq!(names_in(&out.join("train")), ["ant", "bee", "cat"]);
    assert_eq!(names_in(&out.join("val")), ["ant", "bee", "cat"]);
    assert!(files_under(&out.join("val/ant")).is_empty());
    // The manifest lists no file for the empty folder, and auditing OUT finds nothing to
    // say about its class folders or its layout (manifest.csv and the reports beside the
    // splits are not training data).
    let audit = cleansplit(w, ["audit", &s(&out), "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let topics: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["topic"].as_str().unwrap())
        .collect();
    assert!(!topics.contains(&"class folders"), "{topics:?}");
    assert!(!topics.contains(&"layout"), "{topics:?}");
    // torchvision's ImageFolder refuses an empty folder: none is made, and the run warns.
    let out_torch = w.join("out_torch");
    let o = cleansplit(w, ["split", &s(&root), &s(&out_torch), "--loader", "torch"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: val has no image of ant: torchvision's ImageFolder"),
        "{stderr}"
    );
    assert_eq!(names_in(&out_torch.join("val")), ["bee", "cat"]);
}
