//! cleansplit against the real tools its rules follow: scikit-learn's `compute_class_weight`
//! for the balanced weights, and the loader rules (`src/loader.rs`) against Keras 3 +
//! TensorFlow (`image_dataset_from_directory`), Keras' legacy `flow_from_directory` (PIL),
//! and torchvision's `ImageFolder` (PIL), on generated files of every kind that matters
//! (misnamed content, CMYK, 16-bit, WebP, TIFF, PNM, truncated).
//!
//! Each real loader runs through `scripts/real_loaders.py` with the Python named by
//! `CLEANSPLIT_KERAS_PYTHON` / `CLEANSPLIT_TORCH_PYTHON` (default `python3`). A loader that is
//! not importable (scikit-learn: `CLEANSPLIT_SKLEARN_PYTHON`, pandas: `CLEANSPLIT_PANDAS_PYTHON`)
//! is reported as `skipped: ...` on the test's stderr (written past the harness's capture, so
//! it shows in `cargo test` output); CI need not install TensorFlow. A test passes whether its
//! real clients ran or not, so each ends with `real-client checks in TEST: R ran, S skipped`
//! and the running total over this binary.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use cleansplit::index;
use cleansplit::loader::{Loader, Verdict};
use common::{cleansplit_with_index, distinct_image, manifest_dir};
use image::{DynamicImage, ImageFormat};
use serde_json::Value;

/// Bypasses libtest's output capture so a skip is seen.
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

// Real-client checks (one run of a real loader, pandas or scikit-learn) that ran and that were
// skipped because the tool is not installed: a test passes either way, so each test says how
// many of its checks really ran, and the running total over this binary follows.
thread_local! {
    static CHECKS: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}
static ALL_RAN: AtomicUsize = AtomicUsize::new(0);
static ALL_SKIPPED: AtomicUsize = AtomicUsize::new(0);

/// Counts one real-client check of the running test.
fn check_ran(ran: bool) {
    CHECKS.with(|c| {
        let (r, s) = c.get();
        c.set(if ran { (r + 1, s) } else { (r, s + 1) });
    });
    let total = if ran { &ALL_RAN } else { &ALL_SKIPPED };
    total.fetch_add(1, Ordering::SeqCst);
}

/// Says, when the test ends without a panic, how many real-client checks it ran and skipped.
struct Tally {
    test: &'static str,
    start: (usize, usize),
}

impl Tally {
    fn new(test: &'static str) -> Tally {
        Tally {
            test,
            start: CHECKS.with(|c| c.get()),
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let (r, s) = CHECKS.with(|c| c.get());
        say(&format!(
            "real-client checks in {}: {} ran, {} skipped (this binary so far: {} ran, {} skipped)",
            self.test,
            r - self.start.0,
            s - self.start.1,
            ALL_RAN.load(Ordering::SeqCst),
            ALL_SKIPPED.load(Ordering::SeqCst),
        ));
    }
}

fn encode(img: &DynamicImage, fmt: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, fmt).unwrap();
    out.into_inner()
}

fn cmyk_jpeg() -> Vec<u8> {
    let (w, h) = (64usize, 48usize);
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
    c.set_size(w, h);
    let mut s = c.start_compress(Vec::new()).unwrap();
    let px: Vec<u8> = (0..w * h * 4).map(|i| (i * 37 % 251) as u8).collect();
    s.write_scanlines(&px).unwrap();
    s.finish().unwrap()
}

/// Binary PPM (P6) or PGM (P5). `image`'s default PNM encoder writes PAM (P7), which Pillow
/// does not read (a known gap: cleansplit's index says `pnm` for all of them).
fn pnm(img: &DynamicImage, gray: bool) -> Vec<u8> {
    let (w, h) = (img.width(), img.height());
    let (magic, px) = if gray {
        ("P5", img.to_luma8().into_raw())
    } else {
        ("P6", img.to_rgb8().into_raw())
    };
    let mut out = format!("{magic}\n{w} {h}\n255\n").into_bytes();
    out.extend(px);
    out
}

/// (case, file name, bytes): one file per case.
fn cases() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let rgb = DynamicImage::ImageRgb8(distinct_image(7));
    let jpeg = encode(&rgb, ImageFormat::Jpeg);
    let webp = encode(&rgb, ImageFormat::WebP);
    let tiff = encode(&rgb, ImageFormat::Tiff);
    let gif = encode(&rgb, ImageFormat::Gif);
    let png16 = encode(&DynamicImage::ImageRgb16(rgb.to_rgb16()), ImageFormat::Png);
    let gray = DynamicImage::ImageLuma8(rgb.to_luma8());
    vec![
        ("bmp", "a.bmp", encode(&rgb, ImageFormat::Bmp)),
        ("bmp_named_jpg", "a.jpg", encode(&rgb, ImageFormat::Bmp)),
        ("cmyk_jpg", "a.jpg", cmyk_jpeg()),
        ("gif", "a.gif", gif.clone()),
        ("gif_named_png", "a.png", gif),
        ("gray_png", "a.png", encode(&gray, ImageFormat::Png)),
        (
            "ico",
            "a.ico",
            encode(
                &rgb.resize(64, 64, image::imageops::FilterType::Triangle),
                ImageFormat::Ico,
            ),
        ),
        ("jpeg", "a.jpeg", jpeg.clone()),
        ("jpg", "a.jpg", jpeg.clone()),
        ("jpg_upper", "A.JPG", jpeg.clone()),
        ("pgm", "a.pgm", pnm(&gray, true)),
        ("png", "a.png", encode(&rgb, ImageFormat::Png)),
        ("png16", "a.png", png16),
        ("ppm", "a.ppm", pnm(&rgb, false)),
        ("qoi", "a.qoi", encode(&rgb, ImageFormat::Qoi)),
        ("text_named_jpg", "a.jpg", b"not an image at all".to_vec()),
        ("tif", "a.tif", tiff.clone()),
        ("tiff", "a.tiff", tiff.clone()),
        ("tiff_named_png", "a.png", tiff),
        ("truncated_jpg", "a.jpg", jpeg[..jpeg.len() / 2].to_vec()),
        ("webp", "a.webp", webp.clone()),
        ("webp_named_jpg", "a.jpg", webp),
    ]
}

fn kind(v: &Verdict) -> &'static str {
    match v {
        Verdict::Loads => "loads",
        Verdict::Ignored => "ignored",
        Verdict::Fails(_) => "fails",
    }
}

/// The environment variable naming the Python that has `loader`.
fn python_var(loader: Loader) -> &'static str {
    match loader {
        Loader::Torch => "CLEANSPLIT_TORCH_PYTHON",
        _ => "CLEANSPLIT_KERAS_PYTHON",
    }
}

/// Runs `scripts/real_loaders.py ARGS` with the Python named by `var` (default `python3`);
/// `None` (and a visible skip naming `what`) when that Python or its package is missing.
fn script<S: AsRef<std::ffi::OsStr>>(var: &str, what: &str, args: &[S]) -> Option<Value> {
    let python = std::env::var(var).unwrap_or_else(|_| "python3".into());
    let out = match Command::new(&python)
        .arg(manifest_dir().join("scripts/real_loaders.py"))
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            say(&format!("skipped: real {what} ({python}: {e}; set {var})"));
            check_ran(false);
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        let why = stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("skipped:"))
            .unwrap_or("skipped");
        say(&format!(
            "{why} -- real {what} not run (set {var} to a Python that has it)"
        ));
        check_ran(false);
        return None;
    }
    assert!(
        out.status.success(),
        "real_loaders.py ({what}) failed:\n{stderr}"
    );
    check_ran(true);
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// Runs the real loader; `None` (and a visible skip) when it is not installed.
fn real(loader: Loader, cases_dir: &Path) -> Option<BTreeMap<String, String>> {
    let v = script(
        python_var(loader),
        &format!("{loader} loader"),
        &[std::ffi::OsStr::new(loader.as_str()), cases_dir.as_os_str()],
    )?;
    let map = v.as_object().unwrap();
    say(&format!("real {loader} loader: {}", map["_versions"]));
    Some(
        map.iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect(),
    )
}

#[test]
fn loader_rules_match_the_real_loaders() {
    let _tally = Tally::new("loader_rules_match_the_real_loaders");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cases");
    for (case, name, bytes) in cases() {
        let dir = root.join(case).join("x");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    }
    let idx = tmp.path().join("index.csv");
    cleansplit_with_index(&idx, ["scan", root.to_str().unwrap()])
        .assert()
        .success();
    let records = index::read(&idx).unwrap();
    assert_eq!(records.len(), cases().len());
    // Our rule per case and loader.
    let ours: BTreeMap<(String, Loader), Verdict> = records
        .iter()
        .flat_map(|r| Loader::ALL.map(|l| ((r.class.to_string(), l), l.verdict(r))))
        .collect();
    // The CMYK JPEG is indexed as such (item 7).
    let cmyk = records.iter().find(|r| r.class == "cmyk_jpg").unwrap();
    assert_eq!(cmyk.color, "cmyk8");
    assert!(cmyk.flags.to_string().contains("cmyk"));

    let mut ran = 0;
    let mut mismatches = Vec::new();
    for loader in Loader::ALL {
        let Some(truth) = real(loader, &root) else {
            continue;
        };
        ran += 1;
        for (case, got) in &truth {
            let mine = &ours[&(case.clone(), loader)];
            let real_kind = got.split(':').next().unwrap();
            if real_kind != kind(mine) {
                mismatches.push(format!(
                    "{loader:<12} {case:<16} real: {got:<40} cleansplit: {mine:?}"
                ));
            }
        }
        say(&format!(
            "real {loader} loader: {} cases compared, {} agree",
            truth.len(),
            truth.len()
                - mismatches
                    .iter()
                    .filter(|m| m.starts_with(loader.as_str()))
                    .count()
        ));
    }
    if ran == 0 {
        say("skipped: no real loader importable; only the index checks ran");
    }
    assert!(
        mismatches.is_empty(),
        "cleansplit's loader rules disagree with the real loaders:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn balanced_weights_match_scikit_learn_with_empty_classes() {
    let _tally = Tally::new("balanced_weights_match_scikit_learn_with_empty_classes");
    let sets: Vec<Vec<usize>> = vec![
        vec![5, 5, 5, 7, 0, 0],
        vec![1, 0, 3],
        vec![100, 1, 0, 0, 50],
        vec![2, 4],
        vec![3],
        vec![0, 9, 0, 1],
    ];
    let python = std::env::var("CLEANSPLIT_SKLEARN_PYTHON").unwrap_or_else(|_| "python3".into());
    let code = r#"
import json, sys
try:
    import numpy as np
    import sklearn
    from sklearn.utils.class_weight import compute_class_weight
except Exception as e:
    print(f"skipped: scikit-learn is not importable ({type(e).__name__}: {e})", file=sys.stderr)
    sys.exit(3)
out = []
for counts in json.loads(sys.argv[1]):
    y = np.repeat(np.arange(len(counts)), counts)
    classes = np.unique(y)
    w = compute_class_weight("balanced", classes=classes, y=y)
    full = [0.0] * len(counts)
    for c, wc in zip(classes, w):
        full[int(c)] = float(wc)
    out.append(full)
print(json.dumps({"version": sklearn.__version__, "weights": out}))
"#;
    let out = match Command::new(&python)
        .args(["-c", code, &serde_json::to_string(&sets).unwrap()])
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            say(&format!("skipped: scikit-learn comparison ({python}: {e})"));
            check_ran(false);
            return;
        }
    };
    if out.status.code() == Some(3) {
        say(&format!(
            "{} -- set CLEANSPLIT_SKLEARN_PYTHON",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
        check_ran(false);
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_ran(true);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (counts, theirs) in sets.iter().zip(v["weights"].as_array().unwrap()) {
        let ours =
            cleansplit::balance::weights(counts, cleansplit::balance::Method::Balanced, 0.999);
        let theirs: Vec<f64> = theirs
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for (a, b) in ours.iter().zip(&theirs) {
            assert!(
                (a - b).abs() < 1e-12,
                "counts {counts:?}: cleansplit {ours:?}, scikit-learn {theirs:?}"
            );
        }
    }
    say(&format!(
        "scikit-learn {}: compute_class_weight('balanced') equals cleansplit on {} count vectors with empty classes",
        v["version"],
        sets.len()
    ));
}

/// What the real loader makes of a whole folder (`real_loaders.py dataset`).
struct RealSet {
    classes: Vec<String>,
    /// Listed files (relative to the folder) -> "loads" or "fails: ...".
    files: BTreeMap<String, String>,
    /// Building the dataset failed (torchvision refuses a class folder with no listed file).
    error: Option<String>,
    /// One pass over the dataset failed (a listed file that does not decode).
    epoch: Option<String>,
}

fn real_set(loader: Loader, dir: &Path) -> Option<RealSet> {
    let v = script(
        python_var(loader),
        &format!("{loader} loader"),
        &[
            std::ffi::OsStr::new("dataset"),
            std::ffi::OsStr::new(loader.as_str()),
            dir.as_os_str(),
        ],
    )?;
    let text = |k: &str| v[k].as_str().map(String::from);
    Some(RealSet {
        classes: v["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
        files: v["files"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect(),
        error: text("error"),
        epoch: text("epoch"),
    })
}

/// `cleansplit ARGS.. --index INDEX`, which must succeed.
fn ok_run(index: &Path, args: &[&str]) {
    cleansplit_with_index(index, args).assert().success();
}

/// Files under `dir`, relative to it, as the loaders name them.
fn rel_files(dir: &Path) -> Vec<String> {
    common::files_under(dir)
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// A class-folder dataset of every kind of file a loader treats differently, with names
/// holding a comma, a quote and a newline, a within-split copy and a cross-split copy.
fn mixed_dataset(root: &Path) {
    let img = |seed| DynamicImage::ImageRgb8(distinct_image(seed));
    let put = |rel: &str, bytes: Vec<u8>| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    };
    for i in 0..5u64 {
        put(
            &format!("train/a/{i}.jpg"),
            encode(&img(100 + i), ImageFormat::Jpeg),
        );
        put(
            &format!("train/b/{i}.png"),
            encode(&img(200 + i), ImageFormat::Png),
        );
        put(
            &format!("val/a/v{i}.jpg"),
            encode(&img(300 + i), ImageFormat::Jpeg),
        );
        put(
            &format!("val/b/v{i}.png"),
            encode(&img(400 + i), ImageFormat::Png),
        );
    }
    put("train/a/w.webp", encode(&img(110), ImageFormat::WebP));
    put("train/a/g.gif", encode(&img(111), ImageFormat::Gif));
    put("train/b/t.tif", encode(&img(210), ImageFormat::Tiff));
    put("train/b/m.bmp", encode(&img(211), ImageFormat::Bmp));
    put(
        "train/b/tiff_named.png",
        encode(&img(212), ImageFormat::Tiff),
    );
    let jpeg = encode(&img(213), ImageFormat::Jpeg);
    put("train/b/cut.jpg", jpeg[..jpeg.len() / 2].to_vec());
    put(
        "train/a/we\"ird, name.jpg",
        encode(&img(100), ImageFormat::Jpeg),
    );
    put(
        "train/b/line\nbreak.png",
        encode(&img(214), ImageFormat::Png),
    );
    put("val/b/leaked.png", encode(&img(200), ImageFormat::Png));
}

/// The real loader on `dir` agrees with cleansplit's rule on every indexed file under it:
/// listed or not, and decoded or failing.
fn agree(loader: Loader, dir: &Path, prefix: &str, records: &[cleansplit::index::Record]) {
    let Some(real) = real_set(loader, dir) else {
        return;
    };
    assert_eq!(real.error, None, "{loader} on {}", dir.display());
    let mut mismatches = Vec::new();
    for r in records {
        let Ok(rel) = r.path.strip_prefix(prefix) else {
            continue;
        };
        let rel = rel.to_string_lossy().into_owned();
        let theirs = real
            .files
            .get(&rel)
            .map_or("ignored", |v| if v == "loads" { "loads" } else { "fails" });
        if theirs != kind(&loader.verdict(r)) {
            mismatches.push(format!(
                "{rel:?}: real {:?}, cleansplit {:?}",
                real.files.get(&rel),
                loader.verdict(r)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{loader} on {}:\n{}",
        dir.display(),
        mismatches.join("\n")
    );
    say(&format!(
        "real {loader} loader on {}: {} files listed, all as cleansplit says",
        dir.display(),
        real.files.len()
    ));
}

/// Every file cleansplit placed in `dir` is listed and decoded by the real loader, one pass
/// over the dataset succeeds, and nothing else is there.
fn loads_whole(loader: Loader, dir: &Path) -> Option<RealSet> {
    let real = real_set(loader, dir)?;
    assert_eq!(real.error, None, "{loader} on {}", dir.display());
    assert_eq!(real.epoch, None, "{loader} on {}", dir.display());
    let listed: Vec<&String> = real.files.keys().collect();
    let mut placed = rel_files(dir);
    placed.sort();
    assert_eq!(
        listed,
        placed.iter().collect::<Vec<_>>(),
        "{loader} on {}",
        dir.display()
    );
    assert!(
        real.files.values().all(|v| v == "loads"),
        "{loader}: {:?}",
        real.files
    );
    Some(real)
}

#[test]
fn whole_datasets_and_split_outputs_match_the_real_loaders() {
    let _tally = Tally::new("whole_datasets_and_split_outputs_match_the_real_loaders");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    mixed_dataset(&root);
    let idx = tmp.path().join("index.csv");
    ok_run(&idx, &["scan", root.to_str().unwrap()]);
    let records = index::read(&idx).unwrap();
    for loader in Loader::ALL {
        agree(loader, &root.join("train"), "train", &records);
        // split OUT with this loader: every placed file loads, and the class weights' class
        // list and counts are the loader's own view of OUT/train.
        let out = tmp.path().join(format!("out-{loader}"));
        ok_run(
            &idx,
            &[
                "split",
                root.to_str().unwrap(),
                out.to_str().unwrap(),
                "--loader",
                loader.as_str(),
            ],
        );
        let weights: Value =
            serde_json::from_slice(&fs::read(out.join("class_weights.json")).unwrap()).unwrap();
        for split in ["train", "val"] {
            let Some(real) = loads_whole(loader, &out.join(split)) else {
                break;
            };
            if split == "train" {
                let names: Vec<String> = weights["class_names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned())
                    .collect();
                assert_eq!(real.classes, names, "{loader}");
                for (class, n) in weights["counts"].as_object().unwrap() {
                    let theirs = real
                        .files
                        .keys()
                        .filter(|k| k.starts_with(&format!("{class}/")))
                        .count();
                    assert_eq!(theirs as u64, n.as_u64().unwrap(), "{loader} {class}");
                }
            }
        }
    }
    // An empty class folder: Keras gives it an index, torchvision refuses the folder; balance
    // says which (src/loader.rs `empty_class_note`).
    fs::create_dir_all(root.join("train/empty")).unwrap();
    for loader in Loader::ALL {
        let Some(real) = real_set(loader, &root.join("train")) else {
            continue;
        };
        let b = cleansplit_with_index(
            &idx,
            [
                "balance",
                root.to_str().unwrap(),
                "--loader",
                loader.as_str(),
                "--out",
                tmp.path().join("w.json").to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
        let text = String::from_utf8_lossy(&b.stdout);
        match loader {
            Loader::Torch => {
                let e = real
                    .error
                    .expect("torchvision refuses an empty class folder");
                assert!(
                    e.contains("Found no valid file for the classes empty"),
                    "{e}"
                );
                assert!(
                    text.contains("ImageFolder stops on a class folder"),
                    "{text}"
                );
            }
            _ => {
                assert_eq!(real.error, None);
                assert!(
                    real.classes.contains(&"empty".to_string()),
                    "{:?}",
                    real.classes
                );
                assert!(text.contains("still gives it a class index"), "{text}");
            }
        }
    }
}

#[test]
fn class_folder_numbers_are_the_real_loaders_own() {
    let _tally = Tally::new("class_folder_numbers_are_the_real_loaders_own");
    // train/{cats,dogs}, val/{birds,cats,dogs}: the finding says val's `cats` is class 1 and
    // train's 0, as each real loader numbers the one folder it is given.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let mut seed = 700;
    for (split, classes) in [
        ("train", &["cats", "dogs"][..]),
        ("val", &["birds", "cats", "dogs"]),
    ] {
        for class in classes {
            for i in 0..2 {
                seed += 1;
                let path = root.join(split).join(class).join(format!("{i}.png"));
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(
                    &path,
                    encode(
                        &DynamicImage::ImageRgb8(distinct_image(seed)),
                        ImageFormat::Png,
                    ),
                )
                .unwrap();
            }
        }
    }
    let idx = tmp.path().join("index.csv");
    let out = cleansplit_with_index(&idx, ["audit", root.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["topic"] == "class folders")
        .unwrap_or_else(|| panic!("no class folders finding: {v:#}"));
    assert!(
        finding["headline"]
            .as_str()
            .unwrap()
            .contains("`cats` is class 1 there and 0 in train"),
        "{finding:#}"
    );
    for loader in [Loader::Keras, Loader::KerasLegacy, Loader::Torch] {
        let Some(train) = real_set(loader, &root.join("train")) else {
            continue;
        };
        let val = real_set(loader, &root.join("val")).unwrap();
        let number = |s: &RealSet| s.classes.iter().position(|c| c == "cats");
        assert_eq!(
            (number(&val), number(&train)),
            (Some(1), Some(0)),
            "{loader}: val {:?}, train {:?}",
            val.classes,
            train.classes
        );
        say(&format!(
            "real {loader} loader numbers val {:?} and train {:?}: as the finding says",
            val.classes, train.classes
        ));
    }
    // What `split` writes for Keras numbers every split alike, even a split that got no
    // image of a small class (its folder is made, empty).
    let small = tmp.path().join("small");
    for (class, n) in [("ant", 2), ("bee", 10), ("cat", 10)] {
        for i in 0..n {
            seed += 1;
            let path = small.join(class).join(format!("{i}.png"));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let img = DynamicImage::ImageRgb8(distinct_image(seed));
            fs::write(&path, encode(&img, ImageFormat::Png)).unwrap();
        }
    }
    let out = tmp.path().join("out");
    ok_run(
        &idx,
        &["split", small.to_str().unwrap(), out.to_str().unwrap()],
    );
    let val_ants = fs::read_dir(out.join("val/ant")).unwrap().count();
    assert_eq!(
        val_ants, 0,
        "val got an ant image: the case is not the one tested"
    );
    for loader in [Loader::Keras, Loader::KerasLegacy] {
        let Some(train) = real_set(loader, &out.join("train")) else {
            continue;
        };
        let val = real_set(loader, &out.join("val")).unwrap();
        assert_eq!(val.classes, train.classes, "{loader}");
        say(&format!(
            "real {loader} loader on split's OUT: val and train both {:?}",
            train.classes
        ));
    }
}

#[test]
fn flat_and_unlabeled_layouts_match_the_real_loaders() {
    let _tally = Tally::new("flat_and_unlabeled_layouts_match_the_real_loaders");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("flat");
    for i in 0..10u64 {
        fs::create_dir_all(root.join("train")).unwrap();
        fs::write(
            root.join(format!("train/img{i}.jpg")),
            encode(
                &DynamicImage::ImageRgb8(distinct_image(500 + i)),
                ImageFormat::Jpeg,
            ),
        )
        .unwrap();
    }
    fs::write(
        root.join("train/x.webp"),
        encode(
            &DynamicImage::ImageRgb8(distinct_image(520)),
            ImageFormat::WebP,
        ),
    )
    .unwrap();
    let labels = tmp.path().join("labels.csv");
    let rows: String = (0..8)
        .map(|i| format!("img{i},{}\n", ["cat", "dog"][i % 2]))
        .collect();
    fs::write(&labels, format!("id,label\n{rows}")).unwrap();
    let idx = tmp.path().join("index.csv");
    let r = root.to_str().unwrap();
    ok_run(&idx, &["scan", r]);
    // Keras lists a flat folder with labels=None: the same files as cleansplit's keras rule.
    agree(
        Loader::Keras,
        &root.join("train"),
        "train",
        &index::read(&idx).unwrap(),
    );
    // No classes: a plain split; every placed file loads (Keras, labels=None).
    let plain = tmp.path().join("plain");
    ok_run(&idx, &["split", r, plain.to_str().unwrap()]);
    for split in ["train", "val"] {
        loads_whole(Loader::Keras, &plain.join(split));
    }
    // Labels for 8 of 10: class folders for every loader, unlabeled files kept apart.
    ok_run(&idx, &["scan", r, "--labels", labels.to_str().unwrap()]);
    for loader in Loader::ALL {
        let out = tmp.path().join(format!("labelled-{loader}"));
        ok_run(
            &idx,
            &[
                "split",
                r,
                out.to_str().unwrap(),
                "--labels",
                labels.to_str().unwrap(),
                "--keep-unlabeled",
                "--loader",
                loader.as_str(),
            ],
        );
        if let Some(real) = loads_whole(loader, &out.join("train")) {
            assert_eq!(real.classes, ["cat", "dog"], "{loader}");
        }
        if loader == Loader::Keras {
            loads_whole(loader, &out.join("unlabeled"));
        }
    }
}

#[test]
fn pandas_reads_every_csv_and_json_output() {
    let _tally = Tally::new("pandas_reads_every_csv_and_json_output");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    mixed_dataset(&root);
    let r = root.to_str().unwrap();
    let idx = tmp.path().join("index.csv");
    let p = |name: &str| tmp.path().join(name);
    ok_run(&idx, &["leaks", r, "--out", p("leaks").to_str().unwrap()]);
    ok_run(&idx, &["split", r, p("out").to_str().unwrap()]);
    ok_run(
        &idx,
        &["balance", r, "--out", p("weights.json").to_str().unwrap()],
    );
    cleansplit_with_index(&idx, ["audit", r, "--out", p("audit").to_str().unwrap()])
        .assert()
        .code(0);
    // A merge of this set and a flat one labelled per source: the manifest's source columns.
    let flat = p("flat");
    for i in 0..4u64 {
        common::write_image(&flat.join(format!("train/f{i}.jpg")), 600 + i);
    }
    fs::write(p("labels.csv"), "f0,a\nf1,a\nf2,b\nf3,b\n").unwrap();
    let mut merge = assert_cmd::Command::cargo_bin("cleansplit").unwrap();
    merge
        .args([
            "merge",
            r,
            flat.to_str().unwrap(),
            p("merged").to_str().unwrap(),
            "-q",
        ])
        .arg("--index-dir")
        .arg(p("indexes"))
        .arg("--labels")
        .arg(format!("flat={}", p("labels.csv").display()))
        .assert()
        .success();
    let csvs = [
        idx.clone(),
        p("leaks/pairs.csv"),
        p("leaks/groups.csv"),
        p("out/manifest.csv"),
        p("merged/manifest.csv"),
    ];
    let jsons = [
        p("leaks/summary.json"),
        p("out/class_weights.json"),
        p("out/split_report.json"),
        p("weights.json"),
        p("audit/audit.json"),
        p("merged/merge_report.json"),
    ];
    let files: Vec<&std::ffi::OsStr> = csvs.iter().chain(&jsons).map(|f| f.as_os_str()).collect();
    let mut args = vec![std::ffi::OsStr::new("pandas")];
    args.extend(files);
    let Some(v) = script("CLEANSPLIT_PANDAS_PYTHON", "pandas", &args) else {
        return;
    };
    for f in &csvs {
        let mut rdr = csv::Reader::from_path(f).unwrap();
        let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        let first: Vec<String> = rdr.records().map(|r| r.unwrap()[0].to_owned()).collect();
        let theirs = &v[f.to_str().unwrap()];
        let cols: Vec<&str> = theirs["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(cols, header, "{}", f.display());
        assert!(!first.is_empty(), "{}", f.display());
        let their_first: Vec<&str> = theirs["first_column"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            their_first,
            first,
            "{}: pandas reads other values",
            f.display()
        );
    }
    // The hostile names survive: pandas sees the comma, quote and newline names in the index.
    let paths = v[idx.to_str().unwrap()]["first_column"].as_array().unwrap();
    for name in ["train/a/we\"ird, name.jpg", "train/b/line\nbreak.png"] {
        assert!(
            paths.iter().any(|p| p == name),
            "{name:?} not read by pandas"
        );
    }
    let merged = &v[p("merged/manifest.csv").to_str().unwrap()]["columns"];
    assert!(
        merged
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "source_name"),
        "{merged}"
    );
    for f in &jsons {
        assert_eq!(v[f.to_str().unwrap()]["rows"], 1, "{}", f.display());
    }
    say(&format!(
        "pandas {}: read {} CSV and {} JSON outputs as cleansplit wrote them",
        v["_versions"]["pandas"],
        csvs.len(),
        jsons.len()
    ));
}

/// A real-client check that cannot run is counted as skipped, not as a pass: runs this test
/// binary again as a child, with scikit-learn's Python pointed nowhere (it cannot start) and
/// at a stand-in that says the package is missing (exit 3, as `real_loaders.py` does).
#[test]
fn skipped_real_client_checks_are_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut pythons = vec![std::path::PathBuf::from("/nonexistent/python3")];
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let fake = tmp.path().join("python3");
        fs::write(
            &fake,
            "#!/bin/sh\necho 'skipped: scikit-learn is not importable (a stand-in)' >&2\nexit 3\n",
        )
        .unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        pythons.push(fake);
    }
    for python in pythons {
        let o = Command::new(std::env::current_exe().unwrap())
            .args([
                "balanced_weights_match_scikit_learn_with_empty_classes",
                "--exact",
            ])
            .env("CLEANSPLIT_SKLEARN_PYTHON", &python)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{o:?}");
        assert!(
            stderr.contains(
                "real-client checks in balanced_weights_match_scikit_learn_with_empty_classes: \
                 0 ran, 1 skipped (this binary so far: 0 ran, 1 skipped)"
            ),
            "{}: {stderr}",
            python.display()
        );
    }
}
