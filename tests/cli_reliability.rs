//! Issue 25's reliability cases, end to end on the real binary (built by `cargo test` with the
//! test-only `fault-injection` feature: see `output::fault`): messages that name the real
//! cause, decoder panics against our own, atomic outputs on a full disk.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Files under `dir` (recursively, hidden ones too) with their bytes.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = walk(dir)
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Names in `dir` that are cleansplit's temporary files or folders.
fn temporaries(dir: &Path) -> Vec<String> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.contains(".cleansplit-tmp-"))
        .collect()
}

/// `ROOT/train/{cat,dog}/{a,b}.png` where each picture is under both classes: every image
/// is a label conflict.
fn all_conflicts(root: &Path) {
    for (name, seed) in [("a.png", 1), ("b.png", 2)] {
        for class in ["cat", "dog"] {
            write_image(&root.join("train").join(class).join(name), seed);
        }
    }
}

/// Issue 25 case 2: at 3d04565 this said "the keras loader reads none of the files" although
/// the loader reads all four.
#[test]
fn split_writing_nothing_names_the_label_conflicts() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    all_conflicts(&root);
    let out = w.join("out");
    let o = cleansplit(w, ["split", &s(&root), &s(&out)])
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("reads none"), "{err}");
    assert!(
        err.contains("of 4 images, 4 in label conflicts"),
        "the message names the cause with its count: {err}"
    );
    assert!(!out.exists());
}

/// `merge` of two sources that only disagree wrote an empty OUT at 3d04565 (exit 0).
#[test]
fn merge_writing_nothing_names_the_label_conflicts() {
    let work = tmp();
    let w = work.path();
    let (a, b) = (w.join("a"), w.join("b"));
    write_image(&a.join("cat/x.png"), 7);
    write_image(&b.join("dog/x.png"), 7);
    let out = w.join("merged");
    let o = assert_cmd::Command::cargo_bin("cleansplit")
        .unwrap()
        .args(["merge", &s(&a), &s(&b), &s(&out), "-q", "--index-dir"])
        .arg(w.join("indexes"))
        .output()
        .unwrap();
    let err = text(&o.stderr);
    // merge exits 1 when its plan refuses (as for --conflicts error).
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("of 2 images, 2 in label conflicts"), "{err}");
    assert!(!out.exists(), "an empty OUT was written");
}

/// A PNG of `seed` with `marker` after its end (the test-only panic markers).
fn png_with_marker(path: &Path, seed: u64, marker: &str) {
    write_image(path, seed);
    let mut bytes = fs::read(path).unwrap();
    bytes.extend_from_slice(marker.as_bytes());
    fs::write(path, bytes).unwrap();
}

/// Issue 25 case 4: a decoder panic is counted and listed; at 3d04565 it was a silent
/// `corrupt` like any broken file.
#[test]
fn a_decoder_panic_is_counted_and_listed() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    make_clean_dataset(&root, 3);
    png_with_marker(
        &root.join("train/cats/boom.png"),
        99,
        "CLEANSPLIT-PANIC-IN-DECODER",
    );
    let o = cleansplit(w, ["scan", &s(&root)])
        .env("CLEANSPLIT_PANIC_MARKERS", "1")
        .output()
        .unwrap();
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{out}{err}");
    assert!(
        err.is_empty(),
        "the binary prints nothing for a caught decoder panic: {err}"
    );
    assert!(out.contains("decoder panics (1)"), "{out}");
    assert!(out.contains("train/cats/boom.png"), "{out}");
    let json = cleansplit(w, ["scan", &s(&root), "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["decoder_panics"],
        serde_json::json!(["train/cats/boom.png"])
    );
    let audit = cleansplit(w, ["audit", &s(&root), "--format", "json"])
        .output()
        .unwrap();
    assert!(
        text(&audit.stdout).contains("1 a decoding library panicked on"),
        "{}",
        text(&audit.stdout)
    );
}

/// A panic in cleansplit's own code is a bug: the scan stops naming the file (exit 101) and
/// writes no index that calls the file corrupt. At 3d04565 it became "corrupt: the decoder
/// panicked" on a good file.
#[test]
fn our_own_panic_is_a_bug_not_a_corrupt_file() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    make_clean_dataset(&root, 4);
    png_with_marker(
        &root.join("train/dogs/good.png"),
        98,
        "CLEANSPLIT-PANIC-IN-SCAN",
    );
    let o = cleansplit(w, ["scan", &s(&root)])
        .env("CLEANSPLIT_PANIC_MARKERS", "1")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(101), "{err}");
    assert!(
        err.contains("injected panic in the scan's own code"),
        "{err}"
    );
    assert!(
        err.contains("internal error while scanning") && err.contains("good.png"),
        "{err}"
    );
    assert!(err.contains("a bug in cleansplit"), "{err}");
    assert!(!w.join("index.csv").exists(), "no index was written");
}

/// Issue 25 case 9: a full disk while writing the index: one line, the previous index intact,
/// no temporary file left. At 3d04565 the variable did nothing (there was no such hook).
#[test]
fn a_full_disk_keeps_the_previous_index() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    make_clean_dataset(&root, 5);
    cleansplit(w, ["scan", &s(&root)]).assert().success();
    let index = fs::read(w.join("index.csv")).unwrap();
    write_image(&root.join("train/cats/new.png"), 555);
    let o = cleansplit(w, ["scan", &s(&root)])
        .env("CLEANSPLIT_DISK_FULL_AFTER_BYTES", "300")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("index.csv"), "{err}");
    assert_eq!(
        fs::read(w.join("index.csv")).unwrap(),
        index,
        "the index changed"
    );
    assert_eq!(temporaries(w), Vec::<String>::new());
}

/// A full disk while writing an audit report: the previous report stays whole (no file of
/// the new one replaced an old one), no temporary file left.
#[test]
fn a_full_disk_keeps_the_previous_report() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    make_clean_dataset(&root, 6);
    let report = w.join("report");
    cleansplit(
        w,
        [
            "audit",
            &s(&root),
            "--out",
            &s(&report),
            "--loader",
            "torch",
        ],
    )
    .assert()
    .success();
    let before = contents(&report);
    assert!(
        before.len() >= 5,
        "{:?}",
        before.iter().map(|c| &c.0).collect::<Vec<_>>()
    );
    // The new report would differ (another loader); the index is unchanged, so every byte
    // written is the report's: the disk fills after the small files, inside the set.
    let o = cleansplit(w, ["audit", &s(&root), "--out", &s(&report)])
        .env("CLEANSPLIT_DISK_FULL_AFTER_BYTES", "4000")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(contents(&report), before, "the previous report changed");
    assert_eq!(temporaries(&report), Vec::<String>::new());
    // Without the fault the new report replaces the old one.
    cleansplit(w, ["audit", &s(&root), "--out", &s(&report)])
        .assert()
        .success();
    assert_ne!(contents(&report), before);
}

/// A full disk while `split` copies: no OUT, no work folder, one line.
#[test]
fn a_full_disk_leaves_no_partial_out() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    make_clean_dataset(&root, 7);
    cleansplit(w, ["scan", &s(&root)]).assert().success();
    let out = w.join("out");
    let o = cleansplit(w, ["split", &s(&root), &s(&out)])
        .env("CLEANSPLIT_DISK_FULL_AFTER_BYTES", "60000")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(!out.exists(), "a partial OUT was left");
    assert_eq!(temporaries(w), Vec::<String>::new());
}

/// `train/cats` with 9 images, `train/dogs` with 2, `val/{cats,dogs}` with 2 each, and one
/// cat of train copied into val: a leak and a 4.5x imbalance.
fn leaky_imbalanced(root: &Path) {
    let mut k = 700;
    for (split, class, n) in [
        ("train", "cats", 9),
        ("train", "dogs", 2),
        ("val", "cats", 2),
        ("val", "dogs", 2),
    ] {
        for i in 0..n {
            k += 1;
            write_image(&root.join(split).join(class).join(format!("{i:02}.png")), k);
        }
    }
    fs::copy(
        root.join("train/cats/00.png"),
        root.join("val/cats/leak.png"),
    )
    .unwrap();
}

/// Issue 25 case 6: every suggested command repeats --loader and --splits (at 3d04565 they
/// were dropped, so a copied command read the dataset under other rules), and the imbalance
/// advice names the weights `split` writes for the new training split.
#[test]
fn audit_fix_commands_repeat_the_options() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    leaky_imbalanced(&root);
    let o = cleansplit(
        w,
        [
            "audit",
            &s(&root),
            "--loader",
            "keras-legacy",
            "--splits",
            "train,val",
        ],
    )
    .output()
    .unwrap();
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    let commands: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("cleansplit split") || l.contains("cleansplit scan"))
        .collect();
    assert!(!commands.is_empty(), "{out}");
    for c in &commands {
        assert!(
            c.contains("--loader keras-legacy") && c.contains("--splits train,val"),
            "{c}\n{out}"
        );
    }
    assert!(
        out.contains("writes OUT/class_weights.json, the weights of its new training split"),
        "{out}"
    );
    assert!(!out.contains("cleansplit balance"), "{out}");
}

/// Issue 25 case 7: without --out the audit says where a report would go and how to write
/// it (at 3d04565 it pointed at "the report" it never wrote).
#[test]
fn audit_without_out_says_how_to_write_the_report() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    leaky_imbalanced(&root);
    let o = cleansplit(w, ["audit", &s(&root)]).output().unwrap();
    let out = text(&o.stdout);
    let hint = out
        .lines()
        .find(|l| l.starts_with("report: none written"))
        .unwrap_or_else(|| panic!("{out}"));
    let suggested = s(&w.join("data-audit"));
    assert!(hint.contains(&format!("--out {suggested}")), "{hint}");
    assert!(!out.contains("in the report"), "{out}");
}

/// A split folder given as ROOT gets a one-line hint naming its sibling splits.
#[test]
fn a_split_folder_as_root_gets_a_hint() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    leaky_imbalanced(&root);
    let o = cleansplit(w, ["audit", &s(&root.join("train"))])
        .output()
        .unwrap();
    let out = text(&o.stdout);
    let hint: Vec<&str> = out.lines().filter(|l| l.contains("split of")).collect();
    assert_eq!(hint.len(), 1, "{out}");
    assert!(
        hint[0].contains("ROOT is the train split of") && hint[0].contains("val"),
        "{out}"
    );
    assert!(
        out.contains(&format!("cleansplit audit {}", s(&root))),
        "{out}"
    );
    // The whole dataset as ROOT gets no such hint.
    let o = cleansplit(w, ["audit", &s(&root)]).output().unwrap();
    assert!(!text(&o.stdout).contains("split of"));
}

/// "OUT exists and is not empty" says how to go on.
#[test]
fn a_non_empty_out_says_how_to_proceed() {
    let work = tmp();
    let w = work.path();
    let root = w.join("data");
    make_clean_dataset(&root, 8);
    let out = w.join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = cleansplit(w, ["split", &s(&root), &s(&out)])
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("name a new folder, or remove or rename"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
}
