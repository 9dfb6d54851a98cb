//! End to end: `cleansplit merge SRC... OUT`, its manifest and report, the source check in
//! `merge` and `audit`, and `split --stratify class,source`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use common::{RUN_TIMEOUT, files_under, make_clean_dataset, tree_fingerprint, write_image};

/// `cleansplit ARGS.. -q` (merge takes --index-dir itself).
fn run(args: &[&std::ffi::OsStr]) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("cleansplit").expect("cleansplit binary");
    cmd.args(args).arg("-q").timeout(RUN_TIMEOUT);
    cmd.env_remove("CLEANSPLIT_ABORT_AFTER_FILES");
    cmd
}

fn os<P: AsRef<std::ffi::OsStr> + ?Sized>(p: &P) -> &std::ffi::OsStr {
    p.as_ref()
}

/// `cleansplit merge SRCS.. OUT --index-dir WORK/indexes EXTRA..`; returns (code, stdout, stderr).
fn merge(work: &Path, srcs: &[&Path], out: &Path, extra: &[&str]) -> (i32, String, String) {
    let idx = work.join("indexes");
    fs::create_dir_all(&idx).unwrap();
    let mut args: Vec<&std::ffi::OsStr> = vec![os("merge")];
    args.extend(srcs.iter().map(|s| s.as_os_str()));
    args.push(out.as_os_str());
    args.push(os("--index-dir"));
    args.push(idx.as_os_str());
    args.extend(extra.iter().map(os));
    let o = run(&args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Rows of a merge manifest as header -> value maps (checking the header).
fn merge_manifest(out: &Path) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_path(out.join("manifest.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "source",
            "destination",
            "split",
            "class",
            "group",
            "action",
            "reason",
            "source_name",
            "source_root"
        ]
    );
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Decodes `src` and saves it as a JPEG of quality 70 at `dst`: a re-encoded copy.
fn reencode(src: &Path, dst: &Path) {
    let img = image::open(src).unwrap().to_rgb8();
    fs::create_dir_all(dst.parent().unwrap()).unwrap();
    let mut f = fs::File::create(dst).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 70)
        .encode_image(&img)
        .unwrap();
}

fn jpegs_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    v.sort();
    v
}

/// The case: hymenoptera plus a generated source with `Ants`/`bee` folders holding
/// re-encoded copies of hymenoptera photos and new images, and `wasps` only in the new source.
#[test]
fn hymenoptera_with_a_generated_second_source() {
    let Some(hym) = common::shared_data(
        "hymenoptera/hymenoptera_data",
        "hymenoptera_with_a_generated_second_source",
    ) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let extra = work.path().join("extra");
    let ants = jpegs_in(&hym.join("train/ants"));
    let bees = jpegs_in(&hym.join("val/bees"));
    for (i, p) in ants.iter().take(5).enumerate() {
        reencode(p, &extra.join(format!("Ants/copy{i}.jpg")));
    }
    for (i, p) in bees.iter().take(3).enumerate() {
        reencode(p, &extra.join(format!("bee/copy{i}.jpg")));
    }
    for i in 0..6 {
        write_image(&extra.join(format!("Ants/new{i}.jpg")), 100 + i);
        write_image(&extra.join(format!("bee/new{i}.jpg")), 200 + i);
    }
    for i in 0..12 {
        write_image(&extra.join(format!("wasps/w{i}.jpg")), 300 + i);
    }
    let before = (tree_fingerprint(&hym), tree_fingerprint(&extra));

    // Without --map: the near-matching names are reported and kept apart, and the copies
    // (now under "ants" and "Ants") are label conflicts, dropped.
    let out0 = work.path().join("out0");
    let (code, stdout, stderr) = merge(work.path(), &[&hym, &extra], &out0, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    println!("{stdout}");
    assert!(stdout.contains(
        "near-matching class names, kept apart: \"Ants\" (extra) vs \"ants\" (hymenoptera_data)"
    ));
    assert!(stdout.contains("\"bee\" (extra) vs \"bees\" (hymenoptera_data)"));
    assert!(stdout.contains("8 label conflict(s)"), "{stdout}");
    let classes0: BTreeSet<String> = common::names_in(&out0).into_iter().collect();
    assert!(classes0.contains("Ants") && classes0.contains("bee"));

    // With --map the classes are the expected three; the 8 copies are kept once.
    let map = work.path().join("map.csv");
    fs::write(&map, "source,old,new\n*,Ants,ants\nextra,bee,bees\n").unwrap();
    let out = work.path().join("merged");
    let (code, stdout, stderr) = merge(
        work.path(),
        &[&hym, &extra],
        &out,
        &["--map", map.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    println!("{stdout}");
    let dirs: Vec<String> = common::names_in(&out);
    assert_eq!(
        dirs,
        ["ants", "bees", "manifest.csv", "merge_report.json", "wasps"]
    );
    assert!(!stdout.contains("near-matching"), "{stdout}");
    assert!(stdout.contains("copies across sources: 8 group(s), 8 file(s) dropped"));
    assert!(stdout.contains("wasps: 100% of its 12 images come from extra"));
    let rows = merge_manifest(&out);
    assert_eq!(rows.len(), 398 + 5 + 3 + 24);
    let dropped: Vec<_> = rows.iter().filter(|r| r["action"] == "dropped").collect();
    // The 8 copies, and hymenoptera's GIF placeholder if it does not decode.
    let dups: Vec<_> = dropped
        .iter()
        .filter(|r| r["reason"].starts_with("duplicate of "))
        .collect();
    assert_eq!(dups.len(), 8, "{dropped:?}");
    for d in &dups {
        // The kept copy is named as source/path and is in OUT.
        let kept = d["reason"].trim_start_matches("duplicate of ");
        let (src, rel) = kept.split_once('/').unwrap();
        let k = rows
            .iter()
            .find(|r| r["source_name"] == src && r["source"] == rel)
            .unwrap();
        assert_eq!(k["action"], "copied");
        assert!(out.join(&k["destination"]).is_file());
        assert_ne!(d["source_name"], src, "a copy across sources");
    }
    let copied = rows.iter().filter(|r| r["action"] == "copied").count();
    assert_eq!(files_under(&out).len(), copied + 2);
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("merge_report.json")).unwrap()).unwrap();
    assert_eq!(
        report["classes"],
        serde_json::json!(["ants", "bees", "wasps"])
    );
    assert_eq!(report["copies_dropped_across_sources"], 8);
    assert_eq!(report["source_warnings"][0]["class"], "wasps");
    assert_eq!(report["source_warnings"].as_array().unwrap().len(), 1);

    // The sources are untouched.
    assert_eq!(before, (tree_fingerprint(&hym), tree_fingerprint(&extra)));

    // audit on OUT shows the table and the one-source class.
    let o = run(&[
        os("audit"),
        out.as_os_str(),
        os("--index"),
        work.path().join("merged-index.csv").as_os_str(),
    ])
    .output()
    .unwrap();
    let audit = String::from_utf8_lossy(&o.stdout);
    println!("{audit}");
    assert!(o.status.success());
    assert!(audit.contains("classes x sources (from the merge manifest)"));
    assert!(audit.contains("warning  sources: wasps: 100% of its 12 images come from extra"));
}

/// Two generated sources: a split one and a flat one with renamed classes, copies and a
/// class of its own; every option and refusal.
#[test]
fn generated_sources_options_and_refusals() {
    let work = tempfile::tempdir().unwrap();
    let a = work.path().join("a");
    make_clean_dataset(&a, 1); // train/val x cats/dogs, PNG
    let b = work.path().join("b");
    // Re-encoded copies of two of a's cats and one dog, under other names.
    reencode(&a.join("train/cats/00.png"), &b.join("Cats/x0.jpg"));
    reencode(&a.join("val/cats/01.png"), &b.join("Cats/x1.jpg"));
    reencode(&a.join("train/dogs/02.png"), &b.join("dog/x2.jpg"));
    for i in 0..4 {
        write_image(&b.join(format!("Cats/n{i}.png")), 50 + i);
        write_image(&b.join(format!("dog/n{i}.png")), 60 + i);
    }
    for i in 0..11 {
        write_image(&b.join(format!("birds/b{i}.png")), 80 + i);
    }
    let before = (tree_fingerprint(&a), tree_fingerprint(&b));
    let map = work.path().join("map.csv");
    fs::write(&map, "b,Cats,cats\n*,dog,dogs\n").unwrap();

    // --keep-splits: a's train/val, b (no splits) goes to train.
    let out = work.path().join("kept");
    let (code, stdout, stderr) = merge(
        work.path(),
        &[&a, &b],
        &out,
        &["--map", map.to_str().unwrap(), "--keep-splits"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("b has no split folders; its files go to train"));
    assert_eq!(
        common::names_in(&out.join("train")),
        ["birds", "cats", "dogs"]
    );
    // val has no bird, but a `birds` folder all the same (empty), so Keras numbers val's
    // classes as train's.
    assert_eq!(
        common::names_in(&out.join("val")),
        ["birds", "cats", "dogs"]
    );
    assert!(files_under(&out.join("val/birds")).is_empty());
    let rows = merge_manifest(&out);
    assert_eq!(rows.len(), 12 + 3 + 8 + 11);
    assert_eq!(
        rows.iter()
            .filter(|r| r["reason"].starts_with("duplicate of a/"))
            .count(),
        3,
        "the PNG originals are kept (lossless over lossy)"
    );
    assert!(stdout.contains("birds: 100% of its 11 images come from b"));

    // --classes keeps only those; the rest are listed as not selected.
    let out2 = work.path().join("selected");
    let (code, stdout, _) = merge(
        work.path(),
        &[&a, &b],
        &out2,
        &[
            "--map",
            map.to_str().unwrap(),
            "--classes",
            "cats,dogs",
            "--mode",
            "manifest",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        common::names_in(&out2),
        ["manifest.csv", "merge_report.json"]
    );
    let rows = merge_manifest(&out2);
    assert_eq!(
        rows.iter()
            .filter(|r| r["reason"] == "class not selected")
            .count(),
        11
    );

    // --mode symlink: links to the absolute source files.
    let out4 = work.path().join("linked");
    let (code, stdout, _) = merge(
        work.path(),
        &[&a, &b],
        &out4,
        &["--map", map.to_str().unwrap(), "--mode", "symlink"],
    );
    assert_eq!(code, 0, "{stdout}");
    let link = out4.join("birds/b0.png");
    assert_eq!(
        fs::read_link(&link).unwrap(),
        b.canonicalize().unwrap().join("birds/b0.png")
    );

    // --conflicts error: the unmapped copies are one image under two classes.
    let out3 = work.path().join("conflict");
    let (code, _, stderr) = merge(work.path(), &[&a, &b], &out3, &["--conflicts", "error"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("label conflict"), "{stderr}");
    assert!(!out3.exists());

    // Refusals: exit 2, nothing written.
    let inside = a.join("train/merged");
    let (code, _, stderr) = merge(work.path(), &[&a, &b], &inside, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("inside ROOT"), "{stderr}");
    fs::write(&map, "c,Cats,cats\n").unwrap();
    let (code, _, stderr) = merge(
        work.path(),
        &[&a, &b],
        &work.path().join("x"),
        &["--map", map.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("not one of the sources (a, b)"), "{stderr}");
    let (code, _, stderr) = merge(
        work.path(),
        &[&a, &b],
        &work.path().join("x"),
        &["--classes", "cat"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--classes names \"cat\" which no source has"),
        "{stderr}"
    );
    let (code, _, stderr) = merge(work.path(), &[&a, &a], &work.path().join("x"), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("given twice"), "{stderr}");
    assert!(!work.path().join("x").exists());
    assert_eq!(before, (tree_fingerprint(&a), tree_fingerprint(&b)));
}

/// `split --stratify class,source` on a merged folder splits every (class, source) stratum
/// in the ratio; without a merge manifest it refuses.
#[test]
fn split_stratifies_by_class_and_source() {
    let work = tempfile::tempdir().unwrap();
    let a = work.path().join("a");
    let b = work.path().join("b");
    for i in 0..30 {
        write_image(&a.join(format!("cats/a{i}.png")), 1000 + i);
        write_image(&a.join(format!("dogs/a{i}.png")), 2000 + i);
    }
    for i in 0..10 {
        write_image(&b.join(format!("cats/b{i}.png")), 3000 + i);
        write_image(&b.join(format!("dogs/b{i}.png")), 4000 + i);
    }
    let merged = work.path().join("merged");
    let (code, stdout, stderr) = merge(work.path(), &[&a, &b], &merged, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("no class comes mostly from one source"),
        "{stdout}"
    );
    let source_of: BTreeMap<String, String> = merge_manifest(&merged)
        .into_iter()
        .map(|r| (r["destination"].clone(), r["source_name"].clone()))
        .collect();
    let out = work.path().join("split");
    let o = common::cleansplit_with_index(
        &work.path().join("merged-index.csv"),
        [
            os("split"),
            merged.as_os_str(),
            out.as_os_str(),
            os("--stratify"),
            os("class,source"),
            os("--ratio"),
            os("0.7,0.3"),
        ],
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("stratified by class and source"));
    let mut val: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in common::read_manifest(&out.join("manifest.csv")) {
        if r.split == "val" {
            *val.entry((r.class.clone(), source_of[&r.source].clone()))
                .or_default() += 1;
        }
    }
    // 30% of 30 and of 10 in each class.
    for class in ["cats", "dogs"] {
        assert_eq!(val[&(class.to_string(), "a".to_string())], 9, "{val:?}");
        assert_eq!(val[&(class.to_string(), "b".to_string())], 3, "{val:?}");
    }
    // A folder without a merge manifest is refused.
    let o = common::cleansplit_with_index(
        &work.path().join("a-index.csv"),
        [
            os("split"),
            a.as_os_str(),
            work.path().join("s2").as_os_str(),
            os("--stratify"),
            os("class,source"),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("needs a folder written by `cleansplit merge`")
    );
}

#[test]
fn merge_normalize_writes_one_size_format_and_mode() {
    let work = tempfile::tempdir().unwrap();
    let a = work.path().join("a");
    make_clean_dataset(&a, 1); // PNG
    let b = work.path().join("b");
    for i in 0..6 {
        write_image(&b.join(format!("cats/j{i}.png")), 40 + i);
        write_image(&b.join(format!("dogs/k{i}.png")), 70 + i);
    }
    // b's images become JPEGs: the sources now differ in format.
    for class in ["cats", "dogs"] {
        for entry in fs::read_dir(b.join(class)).unwrap() {
            let src = entry.unwrap().path();
            reencode(&src, &src.with_extension("jpg"));
            fs::remove_file(&src).unwrap();
        }
    }
    let before = (tree_fingerprint(&a), tree_fingerprint(&b));
    let out = work.path().join("out");
    let (code, stdout, stderr) = merge(
        work.path(),
        &[&a, &b],
        &out,
        &["--normalize", "48x40,png,gray"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(before, (tree_fingerprint(&a), tree_fingerprint(&b)));
    let written: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|p| common::is_image_name(p))
        .collect();
    assert!(written.len() >= 12, "{written:?}");
    for p in &written {
        assert_eq!(p.extension().unwrap(), "png", "{}", p.display());
        let img = image::open(out.join(p)).unwrap();
        assert_eq!((img.width(), img.height()), (48, 40), "{}", p.display());
        assert_eq!(img.color(), image::ColorType::L8, "{}", p.display());
    }
    // The manifest names the files as written.
    for row in merge_manifest(&out) {
        if let Some(dest) = row.get("destination").filter(|d| !d.is_empty()) {
            assert!(out.join(dest).exists(), "{dest}");
        }
    }
    // A bad value is one line, exit 2, nothing written.
    let bad = work.path().join("bad");
    let (code, _, stderr) = merge(work.path(), &[&a, &b], &bad, &["--normalize", "48,png"]);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!bad.exists());
}

#[test]
fn labels_per_source_for_a_flat_source() {
    let work = tempfile::tempdir().unwrap();
    let a = work.path().join("a");
    make_clean_dataset(&a, 3); // train/val x cats/dogs
    // A Kaggle-style flat source: train/*.jpg, labels in a CSV outside it; u.jpg has no row.
    let flat = work.path().join("kaggle");
    for i in 0..6u64 {
        write_image(&flat.join(format!("train/img{i}.jpg")), 900 + i);
    }
    write_image(&flat.join("train/u.jpg"), 950);
    let labels = work.path().join("kaggle_labels.csv");
    let mut csv = String::from("id,label\n");
    for i in 0..6 {
        csv.push_str(&format!("img{i},{}\n", if i < 3 { "cats" } else { "dogs" }));
    }
    fs::write(&labels, csv).unwrap();
    let before = (tree_fingerprint(&a), tree_fingerprint(&flat));
    let arg = format!("kaggle={}", labels.display());

    // Without labels the flat images have no class: not placed, and the message says how.
    let out = work.path().join("plain");
    let (code, stdout, stderr) = merge(work.path(), &[&a, &flat], &out, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("source kaggle: 7 of 7 images have no class")
            && stderr.contains("--labels kaggle=FILE"),
        "{stderr}"
    );
    let rows = merge_manifest(&out);
    assert_eq!(
        rows.iter()
            .filter(|r| r["source_name"] == "kaggle" && r["action"] != "dropped")
            .count(),
        0
    );

    // With --labels kaggle=FILE: its labelled images join a's classes; u.jpg stays out.
    let out = work.path().join("merged");
    let (code, stdout, stderr) = merge(work.path(), &[&a, &flat], &out, &["--labels", &arg]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("source kaggle: 1 of 7 images have no class"),
        "{stderr}"
    );
    assert_eq!(
        common::names_in(&out),
        ["cats", "dogs", "manifest.csv", "merge_report.json"]
    );
    let rows = merge_manifest(&out);
    let placed = |class: &str| {
        rows.iter()
            .filter(|r| r["source_name"] == "kaggle" && r["action"] != "dropped")
            .filter(|r| r["class"] == class)
            .count()
    };
    assert_eq!((placed("cats"), placed("dogs")), (3, 3));
    let u = rows
        .iter()
        .find(|r| r["source"].ends_with("u.jpg"))
        .unwrap();
    assert_eq!(
        (u["action"].as_str(), u["reason"].as_str()),
        ("dropped", "unlabeled")
    );
    assert_eq!(files_under(&out.join("cats")).len(), 6 + 3);
    assert!(stdout.contains("source kaggle:"), "{stdout}");
    // The report says which labels file each source had, so the merge can be redone.
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("merge_report.json")).unwrap()).unwrap();
    let labels_of = |name: &str| {
        report["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["labels"]
            .clone()
    };
    assert_eq!(
        labels_of("kaggle"),
        fs::canonicalize(&labels).unwrap().to_str().unwrap()
    );
    assert_eq!(labels_of("a"), serde_json::Value::Null);

    // The source may also be named by its path as given.
    let out2 = work.path().join("by_path");
    let by_path = format!("{}={}", flat.display(), labels.display());
    let (code, stdout, stderr) = merge(work.path(), &[&a, &flat], &out2, &["--labels", &by_path]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(files_under(&out2.join("dogs")).len(), 6 + 3);

    // Refusals, each one line and exit 2 before anything is scanned or written.
    let bad = work.path().join("bad");
    for (extra, says) in [
        (
            format!("nosuch={}", labels.display()),
            "no source \"nosuch\" (sources: a, kaggle)",
        ),
        ("kaggle".to_string(), "expected SRC=FILE"),
        ("kaggle=".to_string(), "expected SRC=FILE"),
    ] {
        let (code, stdout, stderr) = merge(work.path(), &[&a, &flat], &bad, &["--labels", &extra]);
        assert_eq!(code, 2, "{extra}: {stdout}\n{stderr}");
        assert!(stderr.contains(says), "{extra}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(!bad.exists());
    }
    let (code, _, stderr) = merge(
        work.path(),
        &[&a, &flat],
        &bad,
        &["--labels", &arg, "--labels", &by_path],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("given labels twice"), "{stderr}");
    assert_eq!(before, (tree_fingerprint(&a), tree_fingerprint(&flat)));
}
