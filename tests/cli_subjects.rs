//! Subject ids in file names (issue 23), end to end: `audit` reports subjects on both sides
//! of a split, `split --group-by auto` keeps each in one split (and one fold), and sets
//! without subject ids stay quiet. A generated patient set always runs; the real sets under
//! `../shared/data` (or `$CLEANSPLIT_SHARED_DATA`) run when present and print a skip line
//! when not.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::Value;

use common::{cleansplit, cleansplit_with_index, write_image};

/// `audit ROOT --format json [ARGS]`: exit code and the parsed report.
fn audit_json(index: &Path, root: &Path, args: &[&str]) -> (i32, Value) {
    let out = cleansplit_with_index(index, ["audit".as_ref(), root.as_os_str()])
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("audit json: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

fn subject_findings(v: &Value) -> Vec<&Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["topic"] == "subjects")
        .collect()
}

/// Patients with 2-4 images each named `<8-digit id>_<nnn>.png`, split per image (every
/// fourth image to val) over two classes, like a per-image split of NIH chest X-rays. Returns
/// file name -> patient id.
fn make_patients(root: &Path, patients: usize) -> BTreeMap<String, String> {
    let mut truth = BTreeMap::new();
    let mut k = 0u64;
    for p in 0..patients {
        let id = format!("{:08}", 1300 + 41 * p);
        for i in 0..2 + p % 3 {
            k += 1;
            let split = if k.is_multiple_of(4) { "val" } else { "train" };
            let class = if (p + i).is_multiple_of(2) {
                "normal"
            } else {
                "pneumonia"
            };
            let name = format!("{id}_{i:03}.png");
            write_image(&root.join(split).join(class).join(&name), 7000 + k);
            truth.insert(name, id.clone());
        }
    }
    truth
}

/// Subjects with images in more than one of the groups `rows` gives (name, split or fold).
fn spanning(rows: &[(String, String)], truth: &BTreeMap<String, String>) -> usize {
    let mut sides: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, side) in rows {
        sides.entry(&truth[name]).or_default().insert(side);
    }
    sides.values().filter(|s| s.len() > 1).count()
}

/// (file name, column `col`) of every placed row of a CSV written by `split`.
fn placed(csv_path: &Path, col: &str) -> Vec<(String, String)> {
    let mut rdr = csv::Reader::from_path(csv_path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let (src, c) = (
        h.iter().position(|x| x == "source").unwrap(),
        h.iter().position(|x| x == col).unwrap(),
    );
    rdr.records()
        .map(|r| r.unwrap())
        .filter(|r| !r[c].is_empty())
        .map(|r| {
            let name = Path::new(&r[src])
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, r[c].to_owned())
        })
        .collect()
}

#[test]
fn generated_patients_are_reported_and_kept_together() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("xrays");
    let truth = make_patients(&root, 30);
    let before: Vec<(String, String)> = truth
        .keys()
        .map(|n| {
            let split = if root.join("val/normal").join(n).exists()
                || root.join("val/pneumonia").join(n).exists()
            {
                "val"
            } else {
                "train"
            };
            (n.clone(), split.to_owned())
        })
        .collect();
    let expected = spanning(&before, &truth);
    assert!(expected >= 10, "the generated split must leak: {expected}");

    let index = work.path().join("index.csv");
    let (code, v) = audit_json(&index, &root, &["--fail-on", "subject"]);
    assert_eq!(code, 1, "--fail-on subject");
    assert_eq!(v["kinds"]["subject"], true);
    let s = &v["subjects"];
    assert_eq!(s["spanning"], expected);
    assert_eq!(s["subjects"], 30);
    let re = Regex::new(s["group_by"].as_str().unwrap()).unwrap();
    for (name, id) in &truth {
        let key = re.captures(name).and_then(|c| c.get(1)).map(|m| m.as_str());
        assert_eq!(key, Some(id.as_str()), "{name}");
    }
    let f = subject_findings(&v);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "problem");
    assert!(f[0]["fix"].as_str().unwrap().contains("--group-by auto"));

    // split --group-by auto: no patient on both sides, and it says which key it used.
    let out = work.path().join("out");
    let run = cleansplit(
        work.path(),
        ["split".as_ref(), root.as_os_str(), out.as_os_str()],
    )
    .args(["--group-by", "auto"])
    .output()
    .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("--group-by auto: subjects are ^("),
        "{stdout}"
    );
    let rows = placed(&out.join("manifest.csv"), "split");
    assert_eq!(rows.len(), truth.len());
    assert_eq!(spanning(&rows, &truth), 0);
    // The split's report records the regex it grouped by.
    let report: Value =
        serde_json::from_slice(&fs::read(out.join("split_report.json")).unwrap()).unwrap();
    assert_eq!(report["group_by"], s["group_by"]);
    // A split that already keeps patients together has no subjects finding but an ok line.
    let (_, v) = audit_json(&work.path().join("out-index.csv"), &out, &[]);
    let f = subject_findings(&v);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "ok");
    assert_eq!(v["kinds"]["subject"], false);

    // --kfold: every patient in one fold.
    let folds = work.path().join("folds");
    cleansplit(
        work.path(),
        ["split".as_ref(), root.as_os_str(), folds.as_os_str()],
    )
    .args(["--group-by", "auto", "--kfold", "3"])
    .assert()
    .success();
    let rows = placed(&folds.join("folds.csv"), "fold");
    assert_eq!(rows.len(), truth.len());
    assert_eq!(spanning(&rows, &truth), 0);
}

#[test]
fn names_without_subject_ids_stay_quiet_and_auto_refuses() {
    // cat.12.png (the key would be the class), each folder's running numbers 0003_img.png
    // (the same number in every folder), and unique Flickr-like photo ids.
    type Namer = fn(&str, usize, u64) -> String;
    let styles: [(&str, Namer); 3] = [
        ("class", |class, i, _| format!("{}.{i}.png", &class[..3])),
        ("counter", |_, i, _| format!("{i:04}_img.png")),
        ("unique", |_, _, k| {
            format!("{}_{:x}a.png", 9000 + 7 * k, k * 977)
        }),
    ];
    for (style, name) in styles {
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join(style);
        let mut k = 0;
        for (split, n) in [("train", 12), ("val", 4)] {
            for class in ["cats", "dogs"] {
                for i in 0..n {
                    k += 1;
                    write_image(&root.join(split).join(class).join(name(class, i, k)), k);
                }
            }
        }
        let (_, v) = audit_json(&work.path().join("index.csv"), &root, &[]);
        assert!(
            subject_findings(&v).is_empty(),
            "{style}: {:#}",
            v["findings"]
        );
        assert!(v["subjects"].is_null(), "{style}");
        let out = work.path().join("out");
        let run = cleansplit(
            work.path(),
            ["split".as_ref(), root.as_os_str(), out.as_os_str()],
        )
        .args(["--group-by", "auto"])
        .output()
        .unwrap();
        assert_eq!(run.status.code(), Some(2), "{style}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(stderr.lines().count(), 1, "{style}: {stderr}");
        assert!(stderr.contains("--group-by auto: the file names carry no subject id"));
        assert!(!out.exists());
    }
}

/// `../shared/data` beside the repository, or `$CLEANSPLIT_SHARED_DATA`.
fn shared_data(set: &str) -> Option<PathBuf> {
    let base = std::env::var_os("CLEANSPLIT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::manifest_dir().join("../shared/data"));
    let p = base.join(set);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "skipped: {} is missing (../shared/data beside the repository, or $CLEANSPLIT_SHARED_DATA)",
            p.display()
        );
        None
    }
}

#[test]
fn xray_patients_spanning_patients_are_found_and_split_apart() {
    let Some(root) = shared_data("xray_patients") else {
        return;
    };
    let mut truth = BTreeMap::new();
    for line in fs::read_to_string(root.join("PATIENTS.tsv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let (path, id) = line.split_once('\t').unwrap();
        truth.insert(
            Path::new(path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
            id.to_owned(),
        );
    }
    let work = tempfile::tempdir().unwrap();
    let (_, v) = audit_json(&work.path().join("index.csv"), &root, &[]);
    let s = &v["subjects"];
    assert_eq!(s["spanning"], 60);
    assert_eq!(s["images_involved"], 172);
    assert_eq!(s["subjects"], 150);
    let re = Regex::new(s["group_by"].as_str().unwrap()).unwrap();
    for (name, id) in &truth {
        let key = re.captures(name).and_then(|c| c.get(1)).map(|m| m.as_str());
        assert_eq!(key, Some(id.as_str()), "{name}");
    }
    assert_eq!(subject_findings(&v)[0]["severity"], "problem");

    let out = work.path().join("out");
    cleansplit(
        work.path(),
        ["split".as_ref(), root.as_os_str(), out.as_os_str()],
    )
    .args(["--group-by", "auto", "--mode", "manifest"])
    .assert()
    .success();
    let rows = placed(&out.join("manifest.csv"), "split");
    // Every image is placed but the few that `leaks` pairs as copies of another X-ray of the
    // same patient (re-takes a few degrees apart, found by the local features), kept once.
    let dropped = truth.len() - rows.len();
    assert!(dropped <= 8, "{dropped} of {} dropped", truth.len());
    assert_eq!(spanning(&rows, &truth), 0);
}

#[test]
fn shared_sets_without_subjects_stay_quiet() {
    for set in [
        "cats_vs_dogs_subset",
        "hymenoptera",
        "fast_near_duplicate_image_search/datasets/caltech_101_rand_resize",
        "package_sample_photos",
        "keras_augmented",
    ] {
        let Some(root) = shared_data(set) else {
            continue;
        };
        let work = tempfile::tempdir().unwrap();
        let (_, v) = audit_json(&work.path().join("index.csv"), &root, &[]);
        assert!(
            subject_findings(&v).is_empty(),
            "{set}: {:#}",
            v["findings"]
        );
        assert!(v["subjects"].is_null(), "{set}: {:#}", v["subjects"]);
    }
}
