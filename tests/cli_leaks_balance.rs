//! End-to-end tests of `cleansplit leaks` and `cleansplit balance` through the binary, on the
//! demo dataset (whose planted problems are listed in testdata/demo_truth.csv).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo")
}

/// Runs the binary with `--index` in `tmp` and returns (exit code, stdout).
fn run(tmp: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("cleansplit")
        .unwrap()
        .args(args)
        .arg("--index")
        .arg(tmp.join("index.csv"))
        .arg("-q")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn truth() -> Vec<(String, String, String)> {
    let mut rdr = csv::Reader::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo_truth.csv"),
    )
    .unwrap();
    rdr.records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_string(), r[1].to_string(), r[2].to_string()))
        .collect()
}

/// pairs.csv rows keyed by the unordered pair.
fn pairs(dir: &Path) -> HashMap<(String, String), csv::StringRecord> {
    let mut rdr = csv::Reader::from_path(dir.join("pairs.csv")).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        vec![
            "path_a",
            "path_b",
            "split_a",
            "split_b",
            "class_a",
            "class_b",
            "match",
            "distance",
            "transform",
            "cross_split",
            "label_conflict",
            "crop",
            "distance256",
            "view",
            "rotation_deg",
            "scale",
            "shift_x",
            "shift_y",
            "inliers"
        ]
    );
    let mut m = HashMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        let key = if r[0] < r[1] {
            (r[0].to_string(), r[1].to_string())
        } else {
            (r[1].to_string(), r[0].to_string())
        };
        assert!(m.insert(key, r).is_none(), "a pair is listed twice");
    }
    m
}

fn get<'a>(
    p: &'a HashMap<(String, String), csv::StringRecord>,
    a: &str,
    b: &str,
) -> Option<&'a csv::StringRecord> {
    let key = if a < b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    };
    p.get(&key)
}

#[test]
fn planted_pairs_found_with_the_right_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let root = demo();
    let (code, stdout) = run(
        tmp.path(),
        &[
            "leaks",
            root.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("of 16 val images"), "{stdout}");
    assert!(stdout.contains("validation accuracy that"), "{stdout}");
    let p = pairs(&out);
    let pair_kinds = [
        "resized",
        "reencoded",
        "flipped",
        "exact",
        "label_conflict",
        "letterbox",
        "crop",
        "grayscale",
        "within_split",
    ];
    let mut planted = 0;
    for (kind, a, b) in truth() {
        if !pair_kinds.contains(&kind.as_str()) {
            continue;
        }
        planted += 1;
        let row = get(&p, &a, &b).unwrap_or_else(|| panic!("{kind} pair {a} ~ {b} not found"));
        match kind.as_str() {
            "exact" | "label_conflict" => assert_eq!(&row[6], "exact", "{kind}"),
            _ => assert_eq!(&row[6], "near", "{kind}"),
        }
        assert_eq!(
            &row[9],
            if kind == "within_split" || kind == "label_conflict" {
                "false"
            } else {
                "true"
            },
            "{kind}"
        );
        assert_eq!(
            &row[10],
            if kind == "label_conflict" {
                "true"
            } else {
                "false"
            },
            "{kind}"
        );
        if kind == "flipped" {
            assert_eq!(&row[8], "flip_h");
        }
        if kind == "crop" {
            assert_eq!(&row[11], "true");
        }
    }
    // Nothing but the planted pairs: the other photos are all distinct.
    assert_eq!(p.len(), planted, "{:?}", p.keys().collect::<Vec<_>>());
    assert!(p.keys().all(|(a, b)| a != b));
    // groups.csv: one representative per group, deterministic.
    let groups = std::fs::read_to_string(out.join("groups.csv")).unwrap();
    assert!(groups.starts_with("group,path,split,class,representative\n"));
    let reps = groups.lines().filter(|l| l.ends_with(",true")).count();
    assert_eq!(reps, planted);
    let out2 = tmp.path().join("out2");
    run(
        tmp.path(),
        &[
            "leaks",
            root.to_str().unwrap(),
            "--out",
            out2.to_str().unwrap(),
        ],
    );
    assert_eq!(
        groups,
        std::fs::read_to_string(out2.join("groups.csv")).unwrap()
    );
    assert_eq!(
        std::fs::read(out.join("pairs.csv")).unwrap(),
        std::fs::read(out2.join("pairs.csv")).unwrap()
    );
    // summary.json parses and agrees.
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["pairs"], planted);
    assert_eq!(s["label_conflict_groups"], 1);
    let val = s["splits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["split"] == "val")
        .unwrap();
    assert_eq!(val["images"], 16);
    assert_eq!(val["leaked"], 7);
}

#[test]
fn flips_need_geometric_and_json_output() {
    let tmp = tempfile::tempdir().unwrap();
    let root = demo();
    let (_, none) = run(
        tmp.path(),
        &[
            "leaks",
            root.to_str().unwrap(),
            "--geometric",
            "none",
            "--format",
            "json",
        ],
    );
    let (_, all) = run(
        tmp.path(),
        &[
            "leaks",
            root.to_str().unwrap(),
            "--geometric",
            "all",
            "--format",
            "json",
        ],
    );
    let none: serde_json::Value = serde_json::from_str(&none).unwrap();
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(
        none["pairs"].as_u64().unwrap() + 1,
        all["pairs"].as_u64().unwrap(),
        "only the flip differs"
    );
    let out = tmp.path().join("none");
    run(
        tmp.path(),
        &[
            "leaks",
            root.to_str().unwrap(),
            "--geometric",
            "none",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        get(
            &pairs(&out),
            "train/apple/apple_007.jpg",
            "val/apple/flipped_copy.jpg"
        )
        .is_none()
    );
}

#[test]
fn centre_crops_need_the_crop_hash() {
    // The demo's 90% centre crop is 4 bits from its source as a whole image and 0 bits as a
    // crop: at a radius of 3 only the crop hash finds it.
    let tmp = tempfile::tempdir().unwrap();
    let root = demo();
    let (with, without) = (tmp.path().join("with"), tmp.path().join("without"));
    let r = root.to_str().unwrap();
    run(
        tmp.path(),
        &[
            "leaks",
            r,
            "--max-distance",
            "8",
            "--out",
            with.to_str().unwrap(),
        ],
    );
    run(
        tmp.path(),
        &[
            "leaks",
            r,
            "--max-distance",
            "8",
            "--no-crop",
            "--out",
            without.to_str().unwrap(),
        ],
    );
    let (a, b) = ("train/apple/apple_011.jpg", "val/apple/cropped_copy.jpg");
    let found = pairs(&with);
    let row = get(&found, a, b).expect("crop found with the crop hash");
    // Matched through the 90% crop hash, within the 8 bits (of 256) of --max-distance.
    assert_eq!((&row[11], &row[13]), ("true", "crop90"));
    assert!(row[12].parse::<u32>().unwrap() <= 8, "{row:?}");
    // Without it the hashes miss the crop; only the local features (a 1.11x zoom) may
    // still pair it, as an `affine` pair.
    let without = pairs(&without);
    let row = get(&without, a, b);
    assert!(
        row.is_none_or(|r| &r[13] == "affine"),
        "crop matched by a hash without the crop hash: {row:?}"
    );
}

#[test]
fn fail_on_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = demo();
    let r = root.to_str().unwrap();
    assert_eq!(run(tmp.path(), &["leaks", r]).0, 0);
    for kind in ["leak", "conflict", "duplicate", "any"] {
        assert_eq!(
            run(tmp.path(), &["leaks", r, "--fail-on", kind]).0,
            1,
            "{kind}"
        );
    }
    // A clean dataset: the demo's train/banana alone has one within-split duplicate but no
    // leak or conflict.
    let clean = tmp.path().join("clean");
    for f in ["banana_001.jpg", "banana_003.jpg", "banana_004.jpg"] {
        let dst = clean.join("train/banana").join(f);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(root.join("train/banana").join(f), &dst).unwrap();
    }
    let c = clean.to_str().unwrap();
    let idx = tmp.path().join("clean-idx");
    std::fs::create_dir_all(&idx).unwrap();
    assert_eq!(run(&idx, &["leaks", c, "--fail-on", "any"]).0, 0);
}

#[test]
fn balance_weights_on_the_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let root = demo();
    let cw = tmp.path().join("cw.json");
    let (code, stdout) = run(
        tmp.path(),
        &[
            "balance",
            root.to_str().unwrap(),
            "--out",
            cw.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("left out of the counts"), "{stdout}");
    let w: serde_json::Value = serde_json::from_slice(&std::fs::read(&cw).unwrap()).unwrap();
    assert_eq!(
        w["class_names"],
        serde_json::json!(["apple", "banana", "cherry"])
    );
    assert_eq!(w["split"], "train");
    // Usable train files: apple 17 - empty = 16, banana 17 - corrupt = 16, cherry 5 - tiny? (tiny
    // is usable) = 5; blank.png and actually_png.jpg are usable by Keras too.
    let counts: Vec<u64> = ["apple", "banana", "cherry"]
        .iter()
        .map(|c| w["counts"][c].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![16, 16, 5]);
    let n: u64 = counts.iter().sum();
    for (i, c) in counts.iter().enumerate() {
        let expect = n as f64 / (3.0 * *c as f64);
        assert!((w["class_weight"][i.to_string()].as_f64().unwrap() - expect).abs() < 1e-9);
    }
    // --dedup counts each duplicate group once per split and class; --keras-dict writes only the mapping.
    let kd = tmp.path().join("kd.json");
    let (_, text) = run(
        tmp.path(),
        &[
            "balance",
            root.to_str().unwrap(),
            "--dedup",
            "--keras-dict",
            "--out",
            kd.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        report["weights"]["counts"]["banana"], 15,
        "dup_within counted once"
    );
    let only: serde_json::Value = serde_json::from_slice(&std::fs::read(&kd).unwrap()).unwrap();
    assert_eq!(
        only.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["0", "1", "2"]
    );
    // --min-count: cherry (5 in train) is reported below 6 but not below 5.
    let (_, six) = run(
        tmp.path(),
        &[
            "balance",
            root.to_str().unwrap(),
            "--min-count",
            "6",
            "--out",
            cw.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let (_, five) = run(
        tmp.path(),
        &[
            "balance",
            root.to_str().unwrap(),
            "--min-count",
            "5",
            "--out",
            cw.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let below = |text: &str| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["splits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["split"] == "train")
            .unwrap()["below_min_count"]
            .clone()
    };
    assert_eq!(below(&six), serde_json::json!(["cherry"]));
    assert_eq!(below(&five), serde_json::json!([]));
    // Other methods run and differ.
    let (_, eff) = run(
        tmp.path(),
        &[
            "balance",
            root.to_str().unwrap(),
            "--method",
            "effective",
            "--out",
            cw.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let eff: serde_json::Value = serde_json::from_str(&eff).unwrap();
    let sum: f64 = (0..3)
        .map(|i| {
            eff["weights"]["class_weight"][i.to_string()]
                .as_f64()
                .unwrap()
        })
        .sum();
    assert!((sum - 3.0).abs() < 1e-9);
}

/// `--search sampled` on the demo (small enough for the exact search) reports the same pairs
/// and groups as `--search exact`, and summary.json says which search ran and what it promises.
#[test]
fn sampled_search_reports_the_exact_searchs_pairs_on_the_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let root = demo();
    let root = root.to_str().unwrap();
    let mut outputs = Vec::new();
    for search in ["exact", "sampled"] {
        let out = tmp.path().join(search);
        let (code, stdout) = run(
            tmp.path(),
            &[
                "leaks",
                root,
                "--search",
                search,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(code == 0 || code == 1, "{search}: exit {code}");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let s = &summary["search"];
        assert_eq!(s["mode"], search);
        if search == "sampled" {
            assert!(s["guaranteed_bits"].as_u64().unwrap() >= 8, "{s}");
            assert!(s["tables"].as_u64().unwrap() >= 8, "{s}");
            assert!(
                stdout.contains("sampled --search sampled: every pair within"),
                "{stdout}"
            );
        } else {
            assert!(s["key_bits"].is_null(), "{s}");
        }
        outputs.push((
            std::fs::read(out.join("pairs.csv")).unwrap(),
            std::fs::read(out.join("groups.csv")).unwrap(),
        ));
    }
    assert!(outputs[0].0.len() > 200, "the demo has planted pairs");
    assert_eq!(outputs[0], outputs[1]);
    // Out-of-range options get a one-line refusal.
    let (code, _) = run(tmp.path(), &["leaks", root, "--search-rounds", "0"]);
    assert_eq!(code, 2);
    let (code, _) = run(tmp.path(), &["leaks", root, "--search-bits", "40"]);
    assert_eq!(code, 2);
}
