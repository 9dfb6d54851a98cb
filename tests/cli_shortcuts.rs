//! End-to-end tests of the shortcut check (`cleansplit shortcuts`, the `audit` finding,
//! `--fail-on shortcut`) and of `split --normalize`, on generated datasets whose classes or
//! splits were made differently, and on the real hymenoptera set (clean).

mod common;

use std::path::{Path, PathBuf};

use common::{Rng, cleansplit, distinct_image, tree_fingerprint};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat};

/// A distinct picture at a size drawn from ordinary photo sizes (seeded).
fn picture(seed: u64) -> DynamicImage {
    let mut rng = Rng(seed ^ 0xabc);
    let w = 90 + (rng.next_u64() % 120) as u32;
    let h = 70 + (rng.next_u64() % 90) as u32;
    DynamicImage::ImageRgb8(distinct_image(seed)).resize_exact(w, h, FilterType::Triangle)
}

fn save_jpeg(img: &DynamicImage, path: &Path, quality: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut out = Vec::new();
    img.to_rgb8()
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
        .unwrap();
    std::fs::write(path, out).unwrap();
}

fn save_png(img: &DynamicImage, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, ImageFormat::Png).unwrap();
}

/// train/{cats,dogs} 30 each, val 8 each: every cat a PNG, every dog a JPEG, same sizes.
fn png_vs_jpeg(root: &Path) {
    let mut seed = 0;
    for (split, n) in [("train", 30), ("val", 8)] {
        for i in 0..n {
            seed += 1;
            save_png(
                &picture(seed),
                &root.join(format!("{split}/cats/c{i:02}.png")),
            );
            seed += 1;
            save_jpeg(
                &picture(seed),
                &root.join(format!("{split}/dogs/d{i:02}.jpg")),
                85,
            );
        }
    }
}

/// train keeps varied-size JPEG q95 originals; val is a 224x224 q75 re-encode of others.
fn val_reencoded(root: &Path) {
    let mut seed = 500;
    for class in ["ants", "bees"] {
        for i in 0..30 {
            seed += 1;
            save_jpeg(
                &picture(seed),
                &root.join(format!("train/{class}/{i:02}.jpg")),
                95,
            );
        }
        for i in 0..12 {
            seed += 1;
            let small = picture(seed).resize_exact(224, 224, FilterType::Triangle);
            save_jpeg(&small, &root.join(format!("val/{class}/{i:02}.jpg")), 75);
        }
    }
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).expect("JSON on stdout")
}

/// `cleansplit shortcuts ROOT --format json`, which must succeed, as JSON.
fn shortcuts_json(work: &Path, root: &Path) -> serde_json::Value {
    let out = cleansplit(
        work,
        [
            "shortcuts".as_ref(),
            root.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
    )
    .assert()
    .success();
    json(&out.get_output().stdout)
}

fn severity(report: &serde_json::Value, target: &str) -> String {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == target)
        .unwrap_or_else(|| panic!("no {target} test in {report}"))["severity"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_class_saved_as_png_and_another_as_jpeg_is_a_problem() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("data");
    png_vs_jpeg(&root);
    let before = tree_fingerprint(&root);

    let out = cleansplit(work.path(), ["shortcuts".as_ref(), root.as_os_str()])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.starts_with("PROBLEM: file metadata alone predicts the class"),
        "{text}"
    );
    assert!(text.contains("cats: 100% are"), "{text}");
    assert!(text.contains("PNG"), "{text}");
    assert!(
        text.contains("it will fail on images from elsewhere"),
        "{text}"
    );
    assert!(text.contains("--normalize"), "{text}");

    let report = shortcuts_json(work.path(), &root);
    assert_eq!(severity(&report, "class"), "problem");
    assert_eq!(severity(&report, "split"), "ok");

    // audit: the verdict, audit.json, report.html and --fail-on shortcut.
    let dir = work.path().join("audit");
    let out = cleansplit(
        work.path(),
        [
            "audit".as_ref(),
            root.as_os_str(),
            "--out".as_ref(),
            dir.as_os_str(),
            "--fail-on".as_ref(),
            "shortcut".as_ref(),
        ],
    )
    .assert()
    .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("PROBLEM") && text.contains("shortcut"),
        "{text}"
    );
    let audit: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("audit.json")).unwrap()).unwrap();
    assert_eq!(audit["kinds"]["shortcut"], true);
    assert_eq!(audit["shortcuts"]["tests"][0]["severity"], "problem");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("predicts the class"),
        "report.html lacks the finding"
    );
    cleansplit(
        work.path(),
        [
            "audit".as_ref(),
            root.as_os_str(),
            "--fail-on".as_ref(),
            "leak".as_ref(),
        ],
    )
    .assert()
    .success();
    assert_eq!(before, tree_fingerprint(&root), "ROOT was modified");
}

#[test]
fn normalize_makes_the_png_vs_jpeg_set_clean_and_leaves_sources_alone() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("data");
    png_vs_jpeg(&root);
    let before = tree_fingerprint(&root);
    let out_dir = work.path().join("out");
    cleansplit(
        work.path(),
        [
            "split".as_ref(),
            root.as_os_str(),
            out_dir.as_os_str(),
            "--normalize".as_ref(),
            "64x64,jpeg,rgb".as_ref(),
        ],
    )
    .assert()
    .success();
    assert_eq!(before, tree_fingerprint(&root), "ROOT was modified");
    let written: Vec<PathBuf> = common::files_under(&out_dir)
        .into_iter()
        .filter(|p| common::is_image_name(p))
        .collect();
    assert_eq!(written.len(), 76);
    for p in &written {
        assert_eq!(p.extension().unwrap(), "jpg", "{}", p.display());
        let img = image::open(out_dir.join(p)).unwrap();
        assert_eq!((img.width(), img.height()), (64, 64));
    }
    // Exit 0 with --fail-on shortcut, and the finding says ok.
    let out = cleansplit_other(
        work.path(),
        &out_dir,
        ["--fail-on", "shortcut", "--format", "json"],
    );
    let audit = json(&out);
    let finding = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["topic"] == "shortcut")
        .expect("a shortcut finding");
    assert_eq!(finding["severity"], "ok", "{finding}");

    // A bad value is one line, exit 2, nothing written.
    let bad = work.path().join("bad");
    let out = cleansplit(
        work.path(),
        [
            "split".as_ref(),
            root.as_os_str(),
            bad.as_os_str(),
            "--normalize".as_ref(),
            "64,jpeg".as_ref(),
        ],
    )
    .assert()
    .code(2);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stderr)
            .lines()
            .count(),
        1
    );
    assert!(!bad.exists());
}

/// `audit OUT ARGS` with its own index, asserting exit 0; returns stdout.
fn cleansplit_other<const N: usize>(work: &Path, root: &Path, args: [&str; N]) -> Vec<u8> {
    let mut a: Vec<&std::ffi::OsStr> = vec!["audit".as_ref(), root.as_os_str()];
    a.extend(args.iter().map(std::ffi::OsStr::new));
    common::cleansplit_with_index(&work.join("out-index.csv"), a)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

#[test]
fn val_reencoded_at_224_while_train_kept_originals_is_a_split_warning() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("data");
    val_reencoded(&root);
    let report = shortcuts_json(work.path(), &root);
    assert_eq!(severity(&report, "split"), "warning");
    assert_eq!(severity(&report, "class"), "ok");
    let split = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "split")
        .unwrap();
    let val = split["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["group"] == "val")
        .unwrap();
    assert_eq!(val["summary"], "val: 100% are 224x224 RGB JPEG q75");
    // A warning is not a PROBLEM: --fail-on shortcut passes.
    cleansplit(
        work.path(),
        [
            "audit".as_ref(),
            root.as_os_str(),
            "--fail-on".as_ref(),
            "shortcut".as_ref(),
        ],
    )
    .assert()
    .success();
}

#[test]
fn hymenoptera_is_clean() {
    let Some(data) = common::shared_data("hymenoptera/hymenoptera_data", "hymenoptera_is_clean")
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let report = shortcuts_json(work.path(), &data);
    assert_eq!(severity(&report, "class"), "ok", "{report}");
    assert_eq!(severity(&report, "split"), "ok", "{report}");
}

#[test]
fn a_set_too_small_to_test_says_so_in_the_audit() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("data");
    common::make_clean_dataset(&root, 3);
    let out = cleansplit(
        work.path(),
        [
            "audit".as_ref(),
            root.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
    )
    .assert()
    .success();
    let audit = json(&out.get_output().stdout);
    let f = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["topic"] == "shortcut")
        .expect("a shortcut finding");
    assert_eq!(f["severity"], "ok");
    assert!(
        f["headline"]
            .as_str()
            .unwrap()
            .starts_with("not checked: only 8 images"),
        "{f}"
    );
}
