//! Tests of the whole page: sections, thumbnails, hostile names, no requests, truncation.
use std::path::{Path, PathBuf};

use image::RgbImage;

use super::*;
use crate::audit::{Finding, Topic};
use crate::base::flags::{Flag, Status};
use crate::base::severity::Severity;
use crate::index::Record;
use crate::index::rec;
use crate::leaks::{LeakOptions, Leaks, analyze};

const HOSTILE: &str = "<script>alert(1)</script>.jpg";
/// Breaks out of a quoted attribute unless `"` is escaped (the thumbnail's `alt` holds it).
const HOSTILE_IMG: &str = "<img src=x onerror=alert(1)>\" onload=\"x.jpg";

/// A dataset on disk with real images: a cross-split copy, a label conflict inside
/// train, hostile file names, and a corrupt file.
struct Fixture {
    dir: tempfile::TempDir,
    records: Vec<Record>,
    leaks: Leaks,
    findings: Vec<Finding>,
}

fn write_image(root: &Path, rel: &str, seed: u8) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let img = RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8 ^ seed, (y * 5) as u8, seed.wrapping_mul(7)])
    });
    img.save_with_format(&p, image::ImageFormat::Jpeg).unwrap();
}

use crate::base::hash::{Hash256, Hashes256};

fn with_hash(mut r: Record, h: u64) -> Record {
    r.set_phash(Some(h));
    r.set_dhash(Some(h));
    r.set_phash_crop(Some(!h));
    // The 256-bit hashes the decision uses: `h` in word 0, so distances carry over; crop
    // hashes far from every full hash.
    r.set_hash256(Some(Hashes256 {
        full: Hash256([h, 0, 0, 0]),
        untrimmed: None,
        crops: [Hash256([!h, u64::MAX, 0, 0]), Hash256([!h, 0, u64::MAX, 0])],
    }));
    r.set_blake3(Some(crate::index::digest_of(
        format!("{}", r.path.display()).as_bytes(),
    )));
    r
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let hostile_train = format!("train/cats/{HOSTILE}");
    let hostile_val = format!("val/cats/{HOSTILE_IMG}");
    let files = [
        (
            hostile_train.as_str(),
            "train",
            "cats",
            0x0f0f_0000_1111_2222u64,
        ),
        (hostile_val.as_str(), "val", "cats", 0x0f0f_0000_1111_2223),
        ("train/cats/a.jpg", "train", "cats", 0xaaaa_5555_aaaa_5555),
        (
            "train/dogs/a_copy.jpg",
            "train",
            "dogs",
            0xaaaa_5555_aaaa_5554,
        ),
        ("train/dogs/b.jpg", "train", "dogs", 0x1234_5678_9abc_def0),
        ("val/dogs/c.jpg", "val", "dogs", 0x0fed_cba9_8765_4321),
    ];
    let mut records = Vec::new();
    for (n, (path, split, class, h)) in files.iter().enumerate() {
        write_image(root, path, n as u8 * 40);
        records.push(with_hash(rec(path, split, class), *h));
    }
    let mut bad = rec("val/dogs/broken.jpg", "val", "dogs");
    std::fs::write(root.join("val/dogs/broken.jpg"), b"not a jpeg").unwrap();
    bad.status = Status::Corrupt;
    bad.message = "JPEG: <bad> marker & \"more\"".into();
    bad.set_phash(None);
    records.push(bad);
    let mut flagged = rec("train/dogs/tiny.png", "train", "dogs");
    flagged.flags.insert(Flag::Tiny);
    flagged.flags.insert(Flag::KerasSkips);
    flagged.set_phash(None);
    records.push(flagged);
    records.sort_by(|a, b| a.path.cmp(&b.path));
    let leaks = analyze(
        &records,
        &LeakOptions {
            max_distance: Some(2),
            ..Default::default()
        },
    )
    .expect("analysis");
    let findings = vec![
        Finding {
            severity: Severity::Problem,
            topic: Topic::Leakage,
            headline: "1 of 3 val images (33.3%) have a duplicate in train".into(),
            meaning: "validation accuracy is inflated <b>".into(),
            fix: "cleansplit split ROOT OUT".into(),
        },
        Finding {
            severity: Severity::Ok,
            topic: Topic::Imbalance,
            headline: "classes are balanced".into(),
            meaning: String::new(),
            fix: String::new(),
        },
    ];
    Fixture {
        dir,
        records,
        leaks,
        findings,
    }
}

fn render_fixture(f: &Fixture, max_items: usize) -> String {
    render(&ReportInput {
        title: "cleansplit audit: <root>".into(),
        root: f.dir.path(),
        records: &f.records,
        leaks: &f.leaks,
        findings: &f.findings,
        max_items,
        max_pixels: crate::scan::DEFAULT_MAX_PIXELS,
        skipped: &[],
        loader: crate::loader::Loader::Keras,
        subjects: None,
    })
}

#[test]
fn page_has_sections_pairs_and_thumbnails() {
    let f = fixture();
    assert_eq!(f.leaks.summary.cross_split_groups, 1, "{:?}", f.leaks.pairs);
    assert_eq!(f.leaks.summary.label_conflict_groups, 1);
    let html = render_fixture(&f, 200);
    for id in [
        "verdict",
        "classes",
        "leakage",
        "cross-split",
        "conflicts",
        "within-split",
        "problems",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    let row_start = html.find("<tr class=\"pair\">").expect("a pair row");
    let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
    assert_eq!(
        row.matches("<img class=\"thumb\" src=\"data:image/jpeg;base64,")
            .count(),
        2
    );
    assert!(html.contains("class=\"group conflict\""));
    assert_eq!(html.matches("<tr class=\"problem\">").count(), 2);
    // Charts are inline SVG in their sections.
    let leakage =
        &html[html.find("id=\"leakage\"").unwrap()..html.find("id=\"cross-split\"").unwrap()];
    assert!(leakage.contains("<svg"));
    let classes = &html[html.find("id=\"classes\"").unwrap()..html.find("id=\"leakage\"").unwrap()];
    assert!(classes.contains("<svg") && classes.contains("<table"));
    // Verdict: badge, meaning escaped, fix in <code>.
    assert!(html.contains("<code>cleansplit split ROOT OUT</code>"));
    assert!(html.contains("inflated &lt;b&gt;"));
    assert!(html.contains("<span class=\"badge problem\">problem</span>"));
}

#[test]
fn hostile_names_are_text() {
    let f = fixture();
    let html = render_fixture(&f, 200);
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("<root>"));
    assert!(!html.contains("<bad>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.jpg"));
    assert!(
        html.contains(
            "alt=\"val/cats/&lt;img src=x onerror=alert(1)&gt;&quot; onload=&quot;x.jpg\""
        )
    );
    assert!(!html.contains("\" onload="));
    // Exactly one script element: ours.
    assert_eq!(html.matches("<script").count(), 1);
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_render_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let mut r = rec("x", "train", "cats");
    r.path = PathBuf::from(std::ffi::OsStr::from_bytes(b"train/cats/caf\xe9<b>.jpg")).into();
    r.status = crate::base::flags::Status::Truncated;
    let records = vec![r];
    let leaks = analyze(&records, &LeakOptions::default()).expect("analysis");
    let html = render(&ReportInput {
        title: "t".into(),
        root: dir.path(),
        records: &records,
        leaks: &leaks,
        findings: &[],
        max_items: 10,
        max_pixels: crate::scan::DEFAULT_MAX_PIXELS,
        skipped: &[],
        loader: crate::loader::Loader::Keras,
        subjects: None,
    });
    assert!(html.contains("caf\u{fffd}&lt;b&gt;.jpg"));
    assert_eq!(html.matches("<tr class=\"problem\">").count(), 1);
}

#[test]
fn page_makes_no_requests() {
    let f = fixture();
    let html = render_fixture(&f, 200);
    for needle in ["http://", "https://", "src=\"//", "href=\"//", "url("] {
        assert!(!html.contains(needle), "{needle}");
    }
    // Every src is a data URI; every href an in-page anchor.
    for part in html.split(" src=\"").skip(1) {
        assert!(
            part.starts_with("data:image/jpeg;base64,"),
            "{}",
            &part[..20]
        );
    }
    for part in html.split(" href=\"").skip(1) {
        assert!(part.starts_with('#'), "{}", &part[..20]);
    }
}

#[test]
fn long_lists_are_truncated_with_a_count() {
    let f = fixture();
    let html = render_fixture(&f, 1);
    assert_eq!(html.matches("<tr class=\"problem\">").count(), 1);
    assert!(html.contains("and 1 more files: see the index"), "problems");
    assert!(html.contains("and 1 more classes"));
}

#[test]
fn many_pairs_are_counted_not_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    for i in 0..5u8 {
        for split in ["train", "val"] {
            let path = format!("{split}/x/{i}.jpg");
            // One file of the first pair is missing: its cell says so.
            if !(i == 0 && split == "val") {
                write_image(dir.path(), &path, i * 50);
            }
            records.push(with_hash(rec(&path, split, "x"), u64::from(i)));
        }
    }
    records.sort_by(|a, b| a.path.cmp(&b.path));
    let leaks = analyze(
        &records,
        &LeakOptions {
            max_distance: Some(0),
            geometric: crate::leaks::Geometric::None,
            no_crop: true,
            ..Default::default()
        },
    )
    .expect("analysis");
    let html = render(&ReportInput {
        title: "t".into(),
        root: dir.path(),
        records: &records,
        leaks: &leaks,
        findings: &[],
        max_items: 2,
        max_pixels: crate::scan::DEFAULT_MAX_PIXELS,
        skipped: &[],
        loader: crate::loader::Loader::Keras,
        subjects: None,
    });
    assert_eq!(html.matches("<tr class=\"pair\">").count(), 2);
    assert!(html.contains("and 3 more pairs: see pairs.csv"));
    assert_eq!(
        html.matches("no preview").count(),
        1,
        "a missing file has a placeholder"
    );
    // Thumbnails only for what is rendered: 2 rows x 2 images, one missing.
    assert_eq!(html.matches("data:image/jpeg;base64,").count(), 3);
    assert!(html.contains("No findings."));
}

/// The page of `testdata/demo`, checked against what `testdata/demo_truth.csv` says was
/// planted there (not against the code's own figures): every planted file is shown and no
/// other, and the headlines count what was planted. With CLEANSPLIT_SAMPLE_REPORT naming a
/// file, the page is also written there to look at.
#[test]
fn sample_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let tmp = tempfile::tempdir().unwrap();
    let scan = crate::scan::run(
        &root,
        &crate::scan::ScanOptions {
            index: Some(tmp.path().join("index.csv")),
            ..Default::default()
        },
    )
    .unwrap();
    let leaks = analyze(&scan.records, &LeakOptions::default()).expect("analysis");
    let (findings, _) = crate::audit::verdict(&scan, &leaks, None);
    let html = render(&ReportInput {
        title: format!("cleansplit audit: {}", scan.root.display()),
        root: &scan.root,
        records: &scan.records,
        leaks: &leaks,
        findings: &findings,
        max_items: 200,
        max_pixels: crate::scan::DEFAULT_MAX_PIXELS,
        skipped: &[],
        loader: crate::loader::Loader::Keras,
        subjects: None,
    });
    if let Some(out) = std::env::var_os("CLEANSPLIT_SAMPLE_REPORT") {
        std::fs::write(out, &html).unwrap();
    }
    use std::collections::BTreeSet;
    // Paths are broken with <wbr> after each slash.
    let page = html.replace("<wbr>", "");

    // kind, path_a, path_b (empty for a single file).
    let truth: Vec<(String, String, String)> =
        csv::Reader::from_path(root.with_file_name("demo_truth.csv"))
            .unwrap()
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_owned(), r[1].to_owned(), r[2].to_owned())
            })
            .collect();
    let planted: BTreeSet<&str> = truth
        .iter()
        .flat_map(|(_, a, b)| [a.as_str(), b.as_str()])
        .filter(|p| !p.is_empty())
        .collect();
    let mut files = Vec::new();
    for split in std::fs::read_dir(&root).unwrap() {
        let split = split.unwrap().path();
        for class in std::fs::read_dir(&split).unwrap() {
            for f in std::fs::read_dir(class.unwrap().path()).unwrap() {
                let p = f.unwrap().path();
                files.push(
                    p.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    for f in &files {
        assert_eq!(
            page.contains(f.as_str()),
            planted.contains(f.as_str()),
            "{f}: shown in the report unless it was planted, and only then"
        );
    }

    // The headlines count what was planted: 3 files that cannot be decoded.
    let count = |kind: &str| truth.iter().filter(|t| t.0 == kind).count();
    let undecodable = format!(
        "{} corrupt, {} empty, {} truncated",
        count("corrupt"),
        count("empty"),
        count("truncated")
    );
    assert_eq!(undecodable, "1 corrupt, 1 empty, 1 truncated");
    assert!(
        page.contains(&undecodable),
        "{undecodable} not in the report"
    );
    // Every planted pair across train and val leaks its val side; val's images are its files
    // that decode.
    let split_of = |p: &str| p.split('/').next().unwrap_or("").to_owned();
    let leaked: BTreeSet<&str> = truth
        .iter()
        .filter(|t| split_of(&t.1) == "train" && split_of(&t.2) == "val")
        .map(|t| t.2.as_str())
        .collect();
    let val_images = files.iter().filter(|f| f.starts_with("val/")).count()
        - truth
            .iter()
            .filter(|t| ["corrupt", "empty", "truncated"].contains(&t.0.as_str()))
            .filter(|t| t.1.starts_with("val/"))
            .count();
    let leakage = format!("{} of {val_images} val images", leaked.len());
    assert_eq!(leakage, "7 of 16 val images");
    assert!(page.contains(&leakage), "{leakage} not in the report");
}
