//! Refusals (issue 13 items 0, 8-13): every bad option, escaping name or output inside ROOT
//! exits 2 with one line on stderr, before anything is scanned, and writes nothing.

mod common;

use std::fs;
use std::path::Path;

use common::{cleansplit, make_clean_dataset, tree_fingerprint, write_image};

/// Runs `args` (with `--index WORK/index.csv -q`), expects exit 2 and exactly one stderr line
/// containing `needle`; returns that line.
fn refused(work: &Path, args: &[&str], needle: &str) -> String {
    let out = cleansplit(work, args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
    stderr
}

/// A clean dataset in `WORK/data`.
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    make_clean_dataset(&root, 3);
    (tmp, root)
}

#[test]
fn label_climbing_out_of_out_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("flat");
    for i in 0..6u64 {
        write_image(&root.join(format!("{i}.png")), 300 + i);
    }
    let labels = tmp.path().join("labels.csv");
    fs::write(
        &labels,
        "0,cat\n1,cat\n2,cat\n3,../../escaped\n4,dog\n5,dog\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let before = tree_fingerprint(tmp.path());
    let r = root.to_str().unwrap();
    let l = labels.to_str().unwrap();
    refused(
        tmp.path(),
        &["split", r, out.to_str().unwrap(), "--labels", l],
        "a label becomes a folder name",
    );
    assert!(!out.exists());
    assert!(!tmp.path().join("escaped").exists());
    assert!(!tmp.path().parent().unwrap().join("escaped").exists());
    // Nothing else changed either (no index written: labels are read before the scan).
    assert_eq!(before, tree_fingerprint(tmp.path()));
}

#[test]
fn label_equal_to_root_does_not_truncate_a_source() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("flat");
    for i in 0..6u64 {
        write_image(&root.join(format!("{i}.png")), 400 + i);
    }
    let abs = fs::canonicalize(&root).unwrap();
    let labels = tmp.path().join("labels.csv");
    let mut csv = String::new();
    for i in 0..6 {
        let label = if i == 0 { abs.to_str().unwrap() } else { "cat" };
        csv.push_str(&format!("{i},{label}\n"));
    }
    fs::write(&labels, csv).unwrap();
    let before = tree_fingerprint(&root);
    refused(
        tmp.path(),
        &[
            "split",
            root.to_str().unwrap(),
            tmp.path().join("out").to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
        ],
        "is an absolute path",
    );
    assert_eq!(before, tree_fingerprint(&root), "a source file changed");
}

#[test]
fn outputs_inside_root_are_refused_before_scanning() {
    let (tmp, root) = setup();
    let r = root.to_str().unwrap();
    let before = tree_fingerprint(&root);
    let report = root.join("train/report");
    refused(
        tmp.path(),
        &["audit", r, "--out", report.to_str().unwrap()],
        "is inside ROOT",
    );
    let weights = root.join("train/cats/w.json");
    refused(
        tmp.path(),
        &["balance", r, "--out", weights.to_str().unwrap()],
        "is inside ROOT",
    );
    let pairs = root.join("pairs");
    refused(
        tmp.path(),
        &["leaks", r, "--out", pairs.to_str().unwrap()],
        "is inside ROOT",
    );
    refused(
        tmp.path(),
        &["split", r, root.join("out").to_str().unwrap()],
        "is inside ROOT",
    );
    assert_eq!(before, tree_fingerprint(&root));
    // Refused before the scan: no index was written.
    assert!(!tmp.path().join("index.csv").exists());
}

/// A `..` after a folder that does not exist yet used to hide ROOT (the writer creates the
/// missing folder, then climbs back into ROOT): every output is resolved as it would land.
#[test]
fn dot_dot_after_a_missing_folder_cannot_reach_root() {
    let (tmp, root) = setup();
    let r = root.to_str().unwrap();
    let before = tree_fingerprint(&root);
    let via = |n: &str, rest: &str| format!("{}/{n}/../data/{rest}", tmp.path().display());
    refused(
        tmp.path(),
        &["audit", r, "--out", &via("nope1", "report")],
        "is inside ROOT",
    );
    refused(
        tmp.path(),
        &["leaks", r, "--out", &via("nope2", "pairs")],
        "is inside ROOT",
    );
    refused(
        tmp.path(),
        &["balance", r, "--out", &via("nope3", "w.json")],
        "is inside ROOT",
    );
    refused(
        tmp.path(),
        &["split", r, &via("nope4", "out")],
        "is inside ROOT",
    );
    let other = tmp.path().join("other");
    make_clean_dataset(&other, 2);
    // merge and scan take no --index from the helper: run them as they are.
    let raw = |args: &[&str], needle: &str| {
        let out = assert_cmd::Command::cargo_bin("cleansplit")
            .unwrap()
            .args(args)
            .arg("-q")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    let index_dir = tmp.path().join("indexes");
    let (o, d) = (other.to_str().unwrap(), index_dir.to_str().unwrap());
    raw(
        &["merge", r, o, &via("nope5", "merged"), "--index-dir", d],
        "is inside ROOT",
    );
    raw(
        &["scan", r, "--index", &via("nope6", "idx/index.csv")],
        "inside the dataset",
    );
    assert_eq!(
        before,
        tree_fingerprint(&root),
        "something was written under ROOT"
    );
    for n in 1..=6 {
        assert!(
            !tmp.path().join(format!("nope{n}")).exists(),
            "nope{n} was created"
        );
    }
}

#[test]
fn split_checks_out_before_scanning() {
    let (tmp, root) = setup();
    let out = tmp.path().join("full");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), "mine").unwrap();
    refused(
        tmp.path(),
        &["split", root.to_str().unwrap(), out.to_str().unwrap()],
        "exists and is not empty",
    );
    assert!(
        !tmp.path().join("index.csv").exists(),
        "scanned before checking OUT"
    );
    assert_eq!(fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
}

#[test]
fn nonsense_split_options_are_refused() {
    let (tmp, root) = setup();
    let r = root.to_str().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    refused(
        tmp.path(),
        &["split", r, o, "--names", "train,train"],
        "twice",
    );
    refused(
        tmp.path(),
        &["split", r, o, "--count", "0"],
        "--count must be at least 1",
    );
    refused(
        tmp.path(),
        &["split", r, o, "--names", "a,..", "--ratio", "0.5,0.5"],
        "split name",
    );
    refused(
        tmp.path(),
        &["split", r, o, "--group-by", "(unclosed"],
        "not a valid regex",
    );
    refused(
        tmp.path(),
        &["split", r, o, "--kfold", "50"],
        "--kfold 50 is more than",
    );
    assert!(!out.exists());
}

#[test]
fn nonsense_balance_options_are_refused() {
    let (tmp, root) = setup();
    let r = root.to_str().unwrap();
    let w = tmp.path().join("w.json");
    let ws = w.to_str().unwrap();
    for beta in ["1.0", "0", "1.5", "-0.5"] {
        let arg = format!("--beta={beta}");
        refused(tmp.path(), &["balance", r, "--out", ws, &arg], "--beta");
    }
    let order = tmp.path().join("order.txt");
    fs::write(&order, "cats\ndogs\ncats\n").unwrap();
    refused(
        tmp.path(),
        &[
            "balance",
            r,
            "--out",
            ws,
            "--class-order",
            order.to_str().unwrap(),
        ],
        "twice",
    );
    assert!(!w.exists());
}

#[test]
fn nonsense_scan_and_leak_options_are_refused() {
    let (tmp, root) = setup();
    let r = root.to_str().unwrap();
    refused(
        tmp.path(),
        &["scan", r, "--max-pixels", "0"],
        "--max-pixels",
    );
    refused(
        tmp.path(),
        &["leaks", r, "--max-distance", "65"],
        "--max-distance 65",
    );
    refused(
        tmp.path(),
        &["scan", r, "--jobs", "0"],
        "--jobs must be between 1 and",
    );
    refused(
        tmp.path(),
        &["scan", r, "--jobs", "100000"],
        "--jobs must be between 1 and",
    );
    assert!(!tmp.path().join("index.csv").exists());
    // The bound itself is accepted.
    let ok = cleansplit(tmp.path(), ["leaks", r, "--max-distance", "64"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn empty_root_fails_split_and_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("empty");
    fs::create_dir(&root).unwrap();
    let r = root.to_str().unwrap();
    let out = tmp.path().join("out");
    refused(
        tmp.path(),
        &["split", r, out.to_str().unwrap()],
        "no readable images",
    );
    assert!(!out.exists());
    let audit = cleansplit(tmp.path(), ["audit", r, "--fail-on", "any"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&audit.stdout);
    assert_eq!(audit.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("no image files under"), "{stdout}");
}
