//! Issue 9 end to end: what each command does without classes or with unlabeled images, the
//! loader rule in split and balance, weights over the present classes, zero usable images,
//! skipped entries listed by name, and the help and output wording (items 1-6, 8, 10, 11).

mod common;

use std::fs;
use std::io::Cursor;
use std::path::Path;

use common::{cleansplit, distinct_image, read_manifest, write_image};
use image::{DynamicImage, ImageFormat};
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(work: &Path, args: &[&str]) -> Run {
    let o = cleansplit(work, args).output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn bytes_of(seed: u64, fmt: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(distinct_image(seed))
        .write_to(&mut out, fmt)
        .unwrap();
    out.into_inner()
}

/// `train/*.jpg` + `test/*.jpg` without classes; test/copy0.jpg is train/0.jpg.
fn flat(root: &Path) {
    for i in 0..10u64 {
        write_image(&root.join(format!("train/{i}.jpg")), 300 + i);
    }
    for i in 0..4u64 {
        write_image(&root.join(format!("test/t{i}.jpg")), 400 + i);
    }
    fs::copy(root.join("train/0.jpg"), root.join("test/copy0.jpg")).unwrap();
}

fn partial_labels(dir: &Path) -> std::path::PathBuf {
    let labels = dir.join("labels.csv");
    let mut csv = String::from("id,label\n");
    for i in 0..10 {
        csv.push_str(&format!("{i},{}\n", if i < 5 { "cat" } else { "dog" }));
    }
    fs::write(&labels, csv).unwrap();
    labels
}

#[test]
fn without_classes_each_command_says_what_it_can_do() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("flat");
    flat(&root);
    let r = root.to_str().unwrap();
    // balance: exit 2 with how to supply classes.
    let b = run(
        tmp.path(),
        &[
            "balance",
            r,
            "--out",
            tmp.path().join("w.json").to_str().unwrap(),
        ],
    );
    assert_eq!(b.code, 2, "{}{}", b.stdout, b.stderr);
    assert!(
        b.stderr.contains("needs classes") && b.stderr.contains("--labels FILE"),
        "{}",
        b.stderr
    );
    assert!(!tmp.path().join("w.json").exists());
    // split: a plain group-aware, deduplicated split without class folders.
    let out = tmp.path().join("out");
    let s = run(tmp.path(), &["split", r, out.to_str().unwrap()]);
    assert_eq!(s.code, 0, "{}{}", s.stdout, s.stderr);
    assert!(
        s.stdout.contains("no classes") && s.stdout.contains("unstratified"),
        "{}",
        s.stdout
    );
    let rows = read_manifest(&out.join("manifest.csv"));
    assert_eq!(rows.len(), 15);
    let placed: Vec<_> = rows.iter().filter(|r| r.action == "copied").collect();
    assert_eq!(placed.len(), 14, "one of the two copies is dropped");
    for p in &placed {
        assert_eq!(
            Path::new(&p.destination).components().count(),
            2,
            "{}",
            p.destination
        );
        assert!(out.join(&p.destination).is_file());
    }
    let dup = rows.iter().find(|r| r.action == "dropped").unwrap();
    assert!(dup.reason.starts_with("duplicate of"), "{}", dup.reason);
    // audit: the verdict leads with it.
    let a = run(tmp.path(), &["audit", r]);
    assert_eq!(a.code, 0, "{}{}", a.stdout, a.stderr);
    let first = a
        .stdout
        .lines()
        .find(|l| l.contains("no classes"))
        .unwrap_or("");
    let leak = a
        .stdout
        .lines()
        .position(|l| l.contains("leakage:"))
        .unwrap_or(usize::MAX);
    let classes = a
        .stdout
        .lines()
        .position(|l| l.contains("no classes"))
        .unwrap_or(usize::MAX);
    assert!(
        classes < leak,
        "the verdict leads with the missing classes:\n{}",
        a.stdout
    );
    assert!(
        first.contains("--labels FILE") || a.stdout.contains("--labels FILE"),
        "{}",
        a.stdout
    );
}

#[test]
fn unlabeled_images_in_balance_and_split() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("kaggle");
    flat(&root);
    let labels = partial_labels(tmp.path());
    let (r, l) = (root.to_str().unwrap(), labels.to_str().unwrap());
    let w = tmp.path().join("w.json");
    let b = run(
        tmp.path(),
        &["balance", r, "--labels", l, "--out", w.to_str().unwrap()],
    );
    assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
    assert!(b.stdout.contains("unlabeled 5"), "{}", b.stdout);
    assert_eq!(json(&w)["counts"], serde_json::json!({"cat": 5, "dog": 5}));
    // split drops them as `unlabeled` ...
    let out = tmp.path().join("out");
    let s = run(
        tmp.path(),
        &["split", r, out.to_str().unwrap(), "--labels", l],
    );
    assert_eq!(s.code, 0, "{}{}", s.stdout, s.stderr);
    let rows = read_manifest(&out.join("manifest.csv"));
    let un: Vec<_> = rows
        .iter()
        .filter(|x| x.source.starts_with("test/"))
        .collect();
    assert_eq!(un.len(), 5);
    for x in &un {
        assert_eq!(
            (x.action.as_str(), x.reason.as_str()),
            ("dropped", "unlabeled"),
            "{}",
            x.source
        );
    }
    // ... or places them in their own folder with --keep-unlabeled (the copy of a training
    // image stays a duplicate: it is dropped either way).
    let out2 = tmp.path().join("out2");
    let s = run(
        tmp.path(),
        &[
            "split",
            r,
            out2.to_str().unwrap(),
            "--labels",
            l,
            "--keep-unlabeled",
        ],
    );
    assert_eq!(s.code, 0, "{}{}", s.stdout, s.stderr);
    let rows = read_manifest(&out2.join("manifest.csv"));
    let kept: Vec<_> = rows
        .iter()
        .filter(|x| x.source.starts_with("test/") && x.action == "copied")
        .collect();
    assert_eq!(kept.len(), 4);
    for x in &kept {
        assert!(x.destination.starts_with("unlabeled/"), "{}", x.destination);
        assert!(out2.join(&x.destination).is_file());
    }
    let copy = rows.iter().find(|x| x.source == "test/copy0.jpg").unwrap();
    assert!(
        copy.action == "dropped" && copy.reason == "unlabeled copy of train/0.jpg",
        "{}",
        copy.reason
    );
}

#[test]
fn zero_usable_images_is_a_finding_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    // Every image is a WebP: Keras' directory loader lists none of them.
    for (i, c) in ["a", "b"].iter().enumerate() {
        fs::create_dir_all(root.join("train").join(c)).unwrap();
        fs::write(
            root.join(format!("train/{c}/x.webp")),
            bytes_of(i as u64 + 1, ImageFormat::WebP),
        )
        .unwrap();
    }
    let r = root.to_str().unwrap();
    let s = run(tmp.path(), &["scan", r]);
    assert!(s.stdout.contains("no usable images"), "{}", s.stdout);
    let a = run(tmp.path(), &["audit", r, "--fail-on", "any"]);
    assert_eq!(a.code, 1, "{}", a.stdout);
    assert!(
        a.stdout.contains("PROBLEM") && a.stdout.contains("no usable images"),
        "{}",
        a.stdout
    );
    let out = tmp.path().join("out");
    let sp = run(tmp.path(), &["split", r, out.to_str().unwrap()]);
    assert_eq!(sp.code, 2, "{}{}", sp.stdout, sp.stderr);
    assert!(sp.stderr.contains("empty"), "{}", sp.stderr);
    assert!(!out.exists());
    // torch lists .webp: the same data is usable for it.
    let a = run(
        tmp.path(),
        &["audit", r, "--loader", "torch", "--fail-on", "problem"],
    );
    assert_eq!(a.code, 0, "{}", a.stdout);
}

#[test]
fn split_never_keeps_what_the_loader_cannot_read_and_weights_match_balance() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for i in 0..5u64 {
        write_image(&root.join(format!("train/apple/{i}.jpg")), 10 + i);
        write_image(&root.join(format!("train/b_webp/{i}.jpg")), 20 + i);
    }
    // Same photo twice: a TIFF named .png (lossless, Keras fails on it) and a JPEG.
    fs::write(
        root.join("train/apple/photo.png"),
        bytes_of(99, ImageFormat::Tiff),
    )
    .unwrap();
    fs::write(
        root.join("train/apple/photo.jpg"),
        bytes_of(99, ImageFormat::Jpeg),
    )
    .unwrap();
    // Files Keras never lists.
    for i in 0..2u64 {
        fs::write(
            root.join(format!("train/b_webp/w{i}.webp")),
            bytes_of(50 + i, ImageFormat::WebP),
        )
        .unwrap();
    }
    // A WebP named .jpg: TF 2.21 decodes it (item 6).
    fs::write(
        root.join("train/b_webp/webp_named.jpg"),
        bytes_of(60, ImageFormat::WebP),
    )
    .unwrap();
    let r = root.to_str().unwrap();
    let out = tmp.path().join("out");
    let s = run(
        tmp.path(),
        &["split", r, out.to_str().unwrap(), "--ratio", "0.6,0.4"],
    );
    assert_eq!(s.code, 0, "{}{}", s.stdout, s.stderr);
    let rows = read_manifest(&out.join("manifest.csv"));
    let by = |src: &str| {
        rows.iter()
            .find(|x| x.source.ends_with(src))
            .unwrap()
            .clone()
    };
    let tiff = by("apple/photo.png");
    assert_eq!(tiff.action, "dropped");
    assert!(tiff.reason.contains("keras"), "{}", tiff.reason);
    assert_eq!(
        by("apple/photo.jpg").action,
        "copied",
        "the loadable copy is the representative"
    );
    assert_eq!(by("w0.webp").action, "dropped");
    assert!(
        by("w0.webp").reason.contains("not listed by keras"),
        "{}",
        by("w0.webp").reason
    );
    assert_eq!(by("webp_named.jpg").action, "copied");
    let idx = cleansplit::index::read(&tmp.path().join("index.csv")).unwrap();
    let wn = idx
        .iter()
        .find(|x| x.path.ends_with("webp_named.jpg"))
        .unwrap();
    assert!(wn.keras_ok() && !wn.flags.to_string().contains("keras_skips"));
    // split's class_weights.json equals what balance says of OUT.
    let w = tmp.path().join("w.json");
    let work = tmp.path().join("out-work");
    fs::create_dir_all(&work).unwrap();
    let b = run(
        &work,
        &[
            "balance",
            out.to_str().unwrap(),
            "--out",
            w.to_str().unwrap(),
        ],
    );
    assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
    let (ours, theirs) = (json(&out.join("class_weights.json")), json(&w));
    assert_eq!(ours["counts"], theirs["counts"]);
    assert_eq!(ours["class_names"], theirs["class_names"]);
    for (k, v) in theirs["class_weight"].as_object().unwrap() {
        assert!((ours["class_weight"][k].as_f64().unwrap() - v.as_f64().unwrap()).abs() < 1e-9);
    }
}

#[test]
fn empty_class_folders_get_weight_zero_and_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let mut seed = 0;
    for (c, n) in [("a", 5), ("b", 5), ("c", 5), ("d", 7), ("e", 0), ("f", 0)] {
        fs::create_dir_all(root.join("train").join(c)).unwrap();
        for i in 0..n {
            seed += 1;
            write_image(&root.join(format!("train/{c}/{i}.png")), seed);
        }
    }
    let w = tmp.path().join("w.json");
    let b = run(
        tmp.path(),
        &[
            "balance",
            root.to_str().unwrap(),
            "--out",
            w.to_str().unwrap(),
        ],
    );
    assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
    assert!(
        b.stdout.contains("warning") && b.stdout.contains("e, f"),
        "{}",
        b.stdout
    );
    assert!(
        b.stdout.contains("class weights (balanced)"),
        "{}",
        b.stdout
    );
    assert!(
        b.stdout.contains("still gives it a class index"),
        "{}",
        b.stdout
    );
    // torchvision's ImageFolder refuses an empty class folder instead (tests/real_tools.rs).
    let t = run(
        tmp.path(),
        &[
            "balance",
            root.to_str().unwrap(),
            "--loader",
            "torch",
            "--out",
            w.to_str().unwrap(),
        ],
    );
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
    assert!(
        t.stdout.contains("ImageFolder stops on a class folder") && t.stdout.contains("e, f"),
        "{}",
        t.stdout
    );
    let v = json(&w);
    let got: Vec<f64> = (0..6)
        .map(|i| v["class_weight"][i.to_string()].as_f64().unwrap())
        .collect();
    let want = [1.1, 1.1, 1.1, 22.0 / 28.0, 0.0, 0.0];
    for (g, e) in got.iter().zip(want) {
        assert!((g - e).abs() < 1e-9, "{got:?}");
    }
}

#[test]
fn skipped_entries_are_listed_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    write_image(&root.join("train/cats/a.png"), 1);
    write_image(&root.join("train/dogs/b.png"), 2);
    fs::write(root.join("train/loose.jpg"), b"x").unwrap();
    fs::write(root.join("train/cats/notes.txt"), b"hello").unwrap();
    let r = root.to_str().unwrap();
    let s = run(tmp.path(), &["scan", r, "--format", "json"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let v: Value = serde_json::from_str(&s.stdout).unwrap();
    let skipped = v["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|x| x["path"] == "train/loose.jpg" && x["reason"] == "loose_file"),
        "{v:#}"
    );
    assert!(
        skipped
            .iter()
            .any(|x| x["path"] == "train/cats/notes.txt" && x["reason"] == "not_image"),
        "{v:#}"
    );
    let dir = tmp.path().join("audit");
    let a = run(tmp.path(), &["audit", r, "--out", dir.to_str().unwrap()]);
    assert_eq!(a.code, 0, "{}{}", a.stdout, a.stderr);
    let aj = json(&dir.join("audit.json"));
    let list = aj["skipped_entries"].as_array().unwrap();
    assert_eq!(aj["skipped"], 2, "{aj:#}");
    assert!(
        list.iter().any(|x| x["path"] == "train/loose.jpg"),
        "{aj:#}"
    );
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("train/loose.jpg") && html.contains("train/cats/notes.txt"));
    assert!(
        !a.stdout.contains("cleansplit scan") || a.stdout.contains("--format json"),
        "{}",
        a.stdout
    );
}

#[test]
fn balance_out_inside_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    write_image(&root.join("train/cats/a.png"), 1);
    write_image(&root.join("train/dogs/b.png"), 2);
    let inside = root.join("train/dogs/cw.json");
    let b = run(
        tmp.path(),
        &[
            "balance",
            root.to_str().unwrap(),
            "--out",
            inside.to_str().unwrap(),
        ],
    );
    assert_eq!(b.code, 2, "{}{}", b.stdout, b.stderr);
    assert!(!inside.exists());
}

#[test]
fn help_and_output_wording() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in ["scan", "leaks", "balance", "split", "audit"] {
        let h = run(tmp.path(), &[cmd, "--help"]);
        assert_eq!(h.code, 0);
        let tail: Vec<&str> = h.stdout.trim_end().lines().rev().take(4).collect();
        assert!(
            tail.iter()
                .filter(|l| l.trim_start().starts_with("cleansplit "))
                .count()
                >= 2,
            "{cmd} --help ends with examples:\n{}",
            h.stdout
        );
        assert!(h.stdout.contains("--loader"), "{cmd}: {}", h.stdout);
    }
    let leaks = run(tmp.path(), &["leaks", "--help"]).stdout;
    // The radius is in bits of the 256-bit hash (calibrated within 40..=48), not the former
    // 64-bit pHash's 4..=10.
    assert!(
        leaks.contains("40..=48") && leaks.contains("256-bit") && !leaks.contains("4..=10"),
        "{leaks}"
    );
    let split = run(tmp.path(), &["split", "--help"]).stdout;
    assert!(split.contains("[default: 0.8,0.2]"), "{split}");
    assert!(split.contains("--keep-unlabeled"), "{split}");
    // split --format json prints the report; leaks names its options as typed.
    let root = tmp.path().join("data");
    common::make_clean_dataset(&root, 3);
    let out = tmp.path().join("out");
    let s = run(
        tmp.path(),
        &[
            "split",
            root.to_str().unwrap(),
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(s.code, 0, "{}", s.stderr);
    let v: Value = serde_json::from_str(&s.stdout).unwrap();
    assert!(v["splits"].is_array() && v["copied"].is_number(), "{v:#}");
    let l = run(tmp.path(), &["leaks", root.to_str().unwrap()]);
    // The default is now `all` (the 256-bit decision tries the 8 flips and quarter turns).
    assert!(l.stdout.contains("geometric all"), "{}", l.stdout);
}

/// `folds.csv` rows as (source, class, fold).
fn fold_rows(path: &Path) -> Vec<(String, String, String)> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned(), r[3].to_owned())
        })
        .collect()
}

#[test]
fn kfold_keeps_unlabeled_images_in_no_fold() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("kaggle");
    flat(&root);
    let labels = partial_labels(tmp.path());
    let (r, l) = (root.to_str().unwrap(), labels.to_str().unwrap());
    // Without --keep-unlabeled the unlabeled test images are dropped: not in folds.csv.
    let out = tmp.path().join("folds");
    let s = run(
        tmp.path(),
        &[
            "split",
            r,
            out.to_str().unwrap(),
            "--labels",
            l,
            "--kfold",
            "2",
        ],
    );
    assert_eq!(s.code, 0, "{}{}", s.stdout, s.stderr);
    let rows = fold_rows(&out.join("folds.csv"));
    assert_eq!(rows.len(), 10, "{rows:?}");
    assert!(rows.iter().all(|x| x.2 == "0" || x.2 == "1"), "{rows:?}");
    // With it they are listed, with fold `unlabeled`; the labelled folds are unchanged.
    let kept = tmp.path().join("folds-kept");
    let s = run(
        tmp.path(),
        &[
            "split",
            r,
            kept.to_str().unwrap(),
            "--labels",
            l,
            "--kfold",
            "2",
            "--keep-unlabeled",
        ],
    );
    assert_eq!(s.code, 0, "{}{}", s.stdout, s.stderr);
    assert!(
        s.stdout.contains("folds of 10 images")
            && s.stdout
                .contains("4 images without a class are listed with fold `unlabeled`"),
        "{}",
        s.stdout
    );
    let with = fold_rows(&kept.join("folds.csv"));
    let (unlabeled, labelled): (Vec<_>, Vec<_>) =
        with.iter().cloned().partition(|x| x.0.starts_with("test/"));
    assert_eq!(labelled, rows, "labelled folds changed");
    let mut names: Vec<&str> = unlabeled.iter().map(|x| x.0.as_str()).collect();
    names.sort();
    // test/copy0.jpg is train/0.jpg: dropped as an unlabeled copy, not listed.
    assert_eq!(
        names,
        ["test/t0.jpg", "test/t1.jpg", "test/t2.jpg", "test/t3.jpg"]
    );
    for x in &unlabeled {
        assert_eq!((x.1.as_str(), x.2.as_str()), ("", "unlabeled"), "{x:?}");
    }
    // Only the 10 labelled groups can be folded: 11 folds are refused, before writing.
    let refused = tmp.path().join("folds-11");
    let s = run(
        tmp.path(),
        &[
            "split",
            r,
            refused.to_str().unwrap(),
            "--labels",
            l,
            "--kfold",
            "11",
            "--keep-unlabeled",
        ],
    );
    assert_eq!(s.code, 2, "{}{}", s.stdout, s.stderr);
    assert!(
        s.stderr.contains("--kfold 11 is more than the 10 groups"),
        "{}",
        s.stderr
    );
    assert!(!refused.exists());
}

/// The text of report.html's "Problem files" section.
fn problems_section(html: &str) -> &str {
    let start = html.find("id=\"problems\"").expect("problems section");
    let end = html[start..]
        .find("</section>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

#[test]
fn notable_flags_and_problem_files_follow_the_loader() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for i in 0..4u64 {
        write_image(&root.join(format!("train/a/{i}.jpg")), 700 + i);
        write_image(&root.join(format!("train/b/{i}.jpg")), 710 + i);
    }
    // Keras skips the WebP (not listed), torch loads it; torch skips the GIF, Keras loads it.
    fs::write(
        root.join("train/a/only_torch.webp"),
        bytes_of(720, ImageFormat::WebP),
    )
    .unwrap();
    fs::write(
        root.join("train/b/only_keras.gif"),
        bytes_of(721, ImageFormat::Gif),
    )
    .unwrap();
    let r = root.to_str().unwrap();
    let mut pages = Vec::new();
    for loader in ["keras", "torch"] {
        let out = tmp.path().join(format!("audit-{loader}"));
        let a = run(
            tmp.path(),
            &[
                "audit",
                r,
                "--loader",
                loader,
                "--out",
                out.to_str().unwrap(),
                "--fail-on",
                "problem",
            ],
        );
        // Each loader leaves out one decodable file: a problem for that loader only.
        assert_eq!(a.code, 1, "{loader}: {}", a.stdout);
        assert!(
            a.stdout
                .contains(&format!("1 the {loader} loader does not list (extension)")),
            "{loader}: {}",
            a.stdout
        );
        pages.push(fs::read_to_string(out.join("report.html")).unwrap());
    }
    let keras = problems_section(&pages[0]);
    assert!(keras.contains("only_torch.webp"), "{keras}");
    assert!(keras.contains("flag notable\">keras_skips"), "{keras}");
    assert!(
        keras.contains("not listed by keras (extension .webp)"),
        "{keras}"
    );
    // Keras loads the GIF (listed only for its notable alpha flag, if the encoder kept one).
    assert!(!keras.contains("(extension .gif)"), "{keras}");
    assert!(
        keras.contains("1 file cannot be used for training"),
        "{keras}"
    );
    let torch = problems_section(&pages[1]);
    // Torch loads the WebP: not a problem, and keras_skips is not notable under torch.
    assert!(!torch.contains("only_torch.webp"), "{torch}");
    assert!(!torch.contains("flag notable\">keras_skips"), "{torch}");
    assert!(torch.contains("only_keras.gif"), "{torch}");
    assert!(
        torch.contains("not listed by torch (extension .gif)"),
        "{torch}"
    );
    assert!(
        torch.contains("1 file cannot be used for training"),
        "{torch}"
    );
    // The header's usable images follow the loader too: 10 files, 9 usable for each.
    for page in &pages {
        assert!(
            page.contains("<b>9</b><span>usable images</span>"),
            "{page}"
        );
    }
}
