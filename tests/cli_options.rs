//! End-to-end checks of options the other test files do not reach: labels from a CSV, explicit
//! splits, `--count`/`--names`, `--class-order`, `--jobs`, and a quiet stderr off a terminal.

mod common;

use std::fs;

use common::{cleansplit, make_clean_dataset, read_manifest, write_image};

#[test]
fn labels_csv_layout_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("kaggle");
    for i in 0..6u64 {
        write_image(&root.join("train").join(format!("{i}.png")), 100 + i);
    }
    write_image(&root.join("train/unlabeled.png"), 200);
    let labels = tmp.path().join("labels.csv");
    fs::write(
        &labels,
        "id,label\n0,cat\n1,cat\n2,dog\n3.png,dog\n4,dog\n5,cat\n",
    )
    .unwrap();
    let out = cleansplit(
        tmp.path(),
        [
            "scan",
            root.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("ROOT/<split>/<file> with labels from CSV (1 split, 2 classes)"),
        "{stdout}"
    );
    assert!(stdout.contains("unlabeled 1"), "{stdout}");
    let w = tmp.path().join("w.json");
    cleansplit(
        tmp.path(),
        [
            "balance",
            root.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
            "--out",
            w.to_str().unwrap(),
        ],
    )
    .assert()
    .success();
    let w: serde_json::Value = serde_json::from_slice(&fs::read(&w).unwrap()).unwrap();
    assert_eq!(w["counts"], serde_json::json!({"cat": 3, "dog": 3}));
}

#[test]
fn explicit_splits_count_names_class_order_and_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("folds");
    make_clean_dataset(&root, 3);
    fs::rename(root.join("train"), root.join("part_a")).unwrap();
    fs::rename(root.join("val"), root.join("part_b")).unwrap();
    // Without --splits, part_a/part_b are classes; with it, they are splits.
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", root.to_str().unwrap()];
        args.extend_from_slice(extra);
        String::from_utf8_lossy(&cleansplit(tmp.path(), args).output().unwrap().stdout).into_owned()
    };
    assert!(scan(&[]).contains("ROOT/<class>/<file> (0 splits, 2 classes)"));
    assert!(scan(&["--splits", "part_a,part_b", "-j", "1"]).contains("(2 splits, 2 classes)"));
    // --class-order gives the index order; balance needs --split when no split is named like train.
    let order = tmp.path().join("order.txt");
    fs::write(&order, "dogs\ncats\n").unwrap();
    let w = tmp.path().join("w.json");
    let out = cleansplit(
        tmp.path(),
        [
            "balance",
            root.to_str().unwrap(),
            "--splits",
            "part_a,part_b",
            "--split",
            "part_a",
            "--class-order",
            order.to_str().unwrap(),
            "--out",
            w.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let w: serde_json::Value = serde_json::from_slice(&fs::read(&w).unwrap()).unwrap();
    assert_eq!(w["class_names"], serde_json::json!(["dogs", "cats"]));
    assert_eq!(w["split"], "part_a");
    // --count N per class for the held-out split, with custom names.
    let dst = tmp.path().join("out");
    cleansplit(
        tmp.path(),
        [
            "split",
            root.to_str().unwrap(),
            dst.to_str().unwrap(),
            "--splits",
            "part_a,part_b",
            "--count",
            "2",
            "--names",
            "fit,holdout",
        ],
    )
    .assert()
    .success();
    let rows = read_manifest(&dst.join("manifest.csv"));
    for class in ["cats", "dogs"] {
        let held = rows
            .iter()
            .filter(|r| r.split == "holdout" && r.class == class)
            .count();
        let fit = rows
            .iter()
            .filter(|r| r.split == "fit" && r.class == class)
            .count();
        assert_eq!((fit, held), (4, 2), "{class}");
    }
    assert!(dst.join("fit/cats").is_dir() && dst.join("holdout/dogs").is_dir());
}

#[test]
fn no_progress_output_when_stderr_is_not_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("d");
    make_clean_dataset(&root, 9);
    // Without -q: stderr is a pipe here, so the progress bar must stay silent.
    let out = assert_cmd::Command::cargo_bin("cleansplit")
        .unwrap()
        .args(["scan", root.to_str().unwrap(), "--index"])
        .arg(tmp.path().join("i.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn leaks_fail_on_problem_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("d");
    make_clean_dataset(&root, 11);
    let r = root.to_str().unwrap();
    cleansplit(tmp.path(), ["leaks", r, "--fail-on", "problem"])
        .assert()
        .code(0);
    fs::write(
        root.join("train/cats/broken.jpg"),
        b"\xFF\xD8\xFFnot really",
    )
    .unwrap();
    cleansplit(tmp.path(), ["leaks", r, "--fail-on", "problem"])
        .assert()
        .code(1);
}
