//! Layouts without class folders and images without labels (issue 9, items 1, 2, 7, 9): every
//! image is indexed and takes part in leak detection; odd names and CMYK JPEGs are flagged.

mod common;

use std::fs;
use std::path::Path;

use common::{cleansplit, distinct_image, write_image};
use image::imageops::FilterType;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run(work: &Path, args: &[&str]) -> std::process::Output {
    cleansplit(work, args).output().unwrap()
}

/// Kaggle style: `train/*.jpg` and `test/*.jpg`, no class folders. Planted: two exact
/// train->test copies and one half-size re-encode, plus an exact copy within train.
fn kaggle(root: &Path) {
    for i in 0..12u64 {
        write_image(&root.join(format!("train/{i}.jpg")), 500 + i);
    }
    for i in 0..6u64 {
        write_image(&root.join(format!("test/t{i}.jpg")), 900 + i);
    }
    fs::copy(root.join("train/0.jpg"), root.join("test/copy0.jpg")).unwrap();
    fs::copy(root.join("train/1.jpg"), root.join("test/copy1.jpg")).unwrap();
    let small =
        image::DynamicImage::ImageRgb8(distinct_image(502)).resize(64, 48, FilterType::Triangle);
    small.save(root.join("test/resized2.png")).unwrap();
    fs::copy(root.join("train/3.jpg"), root.join("train/3_again.jpg")).unwrap();
}

fn leak_json(work: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["leaks"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = run(work, &all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn split_folders_without_classes_are_indexed_and_leaks_found() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("kaggle");
    kaggle(&root);
    let r = root.to_str().unwrap();
    let out = run(tmp.path(), &["scan", r]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("ROOT/<split>/<file>, no class folders (2 splits, no class folders)"),
        "{text}"
    );
    assert!(
        text.contains("22 seen = 22 images indexed + 0 skipped"),
        "{text}"
    );
    assert!(text.contains("--labels FILE"), "{text}");
    assert!(text.contains("unlabeled 22"), "{text}");
    let s = leak_json(tmp.path(), &[r]);
    // 3 planted train->test copies (2 exact, 1 resized), 1 copy within train.
    assert_eq!(s["cross_split_groups"], 3, "{s:#}");
    assert_eq!(s["within_split_groups"], 1, "{s:#}");
    assert_eq!(s["label_conflict_groups"], 0, "{s:#}");
    let test = s["splits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["split"] == "test")
        .unwrap();
    assert_eq!(test["leaked"], 3, "{s:#}");
}

#[test]
fn a_root_of_loose_images_is_a_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pile");
    for i in 0..5u64 {
        write_image(&root.join(format!("{i}.png")), 40 + i);
    }
    fs::copy(root.join("0.png"), root.join("0 copy.png")).unwrap();
    let r = root.to_str().unwrap();
    let text = stdout(&run(tmp.path(), &["scan", r]));
    assert!(
        text.contains("ROOT/<file>, no class folders (0 splits, no class folders)"),
        "{text}"
    );
    assert!(text.contains("6 images indexed + 0 skipped"), "{text}");
    let s = leak_json(tmp.path(), &[r]);
    assert_eq!(s["groups"], 1, "{s:#}");
    assert_eq!(s["label_conflict_groups"], 0, "{s:#}");
}

#[test]
fn unlabeled_test_files_are_indexed_and_leak_without_label_conflicts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("kaggle");
    kaggle(&root);
    // Labels for the training files only, as in every Kaggle competition.
    let labels = tmp.path().join("labels.csv");
    let mut csv = String::from("id,label\n");
    for i in 0..12 {
        csv.push_str(&format!("{i},{}\n", if i % 2 == 0 { "cat" } else { "dog" }));
    }
    csv.push_str("3_again,cat\n");
    fs::write(&labels, csv).unwrap();
    let (r, l) = (root.to_str().unwrap(), labels.to_str().unwrap());
    let text = stdout(&run(tmp.path(), &["scan", r, "--labels", l]));
    assert!(text.contains("(2 splits, 2 classes)"), "{text}");
    assert!(text.contains("22 images indexed + 0 skipped"), "{text}");
    assert!(text.contains("unlabeled 9"), "{text}");
    let idx = cleansplit::index::read(&tmp.path().join("index.csv")).unwrap();
    let copy = idx.iter().find(|x| x.path.ends_with("copy0.jpg")).unwrap();
    assert_eq!(copy.class, "");
    assert!(copy.flags.to_string().contains("unlabeled"));
    let s = leak_json(tmp.path(), &[r, "--labels", l]);
    assert_eq!(s["cross_split_groups"], 3, "{s:#}");
    // 3_again is labelled cat like 3.jpg (odd index = dog): that one is a real conflict;
    // the unlabeled test copies never are.
    assert_eq!(s["label_conflict_groups"], 1, "{s:#}");
    let dir = tmp.path().join("leaks-out");
    run(
        tmp.path(),
        &["leaks", r, "--labels", l, "--out", dir.to_str().unwrap()],
    );
    let pairs = fs::read_to_string(dir.join("pairs.csv")).unwrap();
    assert!(
        pairs.lines().any(|l| l.contains("test/copy0.jpg")),
        "{pairs}"
    );
    for row in pairs.lines().filter(|l| l.contains("test/")) {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(
            cols[10], "false",
            "an unlabeled file is never half of a conflict: {row}"
        );
    }
}

#[test]
fn odd_names_and_cmyk_jpegs_are_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    write_image(&root.join("train/cats/new\nline \"q\".png"), 1);
    write_image(&root.join("train/cats/-rf.png"), 2);
    write_image(&root.join("train/cats/why?.png"), 3);
    write_image(&root.join("train/cats/plain.png"), 4);
    let (w, h) = (64usize, 48usize);
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
    c.set_size(w, h);
    let mut s = c.start_compress(Vec::new()).unwrap();
    let px: Vec<u8> = (0..w * h * 4).map(|i| (i * 37 % 251) as u8).collect();
    s.write_scanlines(&px).unwrap();
    fs::write(root.join("train/cats/cmyk.jpg"), s.finish().unwrap()).unwrap();
    let out = run(tmp.path(), &["scan", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let idx = cleansplit::index::read(&tmp.path().join("index.csv")).unwrap();
    let flags = |name: &str| {
        let r = idx
            .iter()
            .find(|r| r.path.to_string_lossy().contains(name))
            .unwrap();
        (r.flags.to_string(), r.color.clone())
    };
    assert_eq!(flags("new\nline").0, "control_char;windows_name");
    assert_eq!(flags("-rf").0, "leading_dash");
    assert_eq!(flags("why?").0, "windows_name");
    assert_eq!(flags("plain").0, "");
    let (f, color) = flags("cmyk.jpg");
    assert_eq!(color, "cmyk8");
    assert!(f.split(';').any(|x| x == "cmyk"), "{f}");
}
