//! cleansplit against the real tools its rules follow: scikit-learn's `compute_class_weight`
//! for the balanced weights, and the loader rules (`src/loader.rs`) against Keras 3 +
//! TensorFlow (`image_dataset_from_directory`), Keras' legacy `flow_from_directory` (PIL),
//! and torchvision's `ImageFolder` (PIL), on generated files of every kind that matters
//! (misnamed content, CMYK, 16-bit, WebP, TIFF, PNM, truncated).
//!
//! Each real loader runs through `scripts/real_loaders.py` with the Python named by
//! `CLEANSPLIT_KERAS_PYTHON` / `CLEANSPLIT_TORCH_PYTHON` (default `python3`). A loader that is
//! not importable (scikit-learn: `CLEANSPLIT_SKLEARN_PYTHON`) is reported as `skipped: ...` on the test's stderr (written past the
//! harness's capture, so it shows in `cargo test` output); CI need not install TensorFlow.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;

use cleansplit::index;
use cleansplit::loader::{Loader, Verdict};
use common::{cleansplit_with_index, distinct_image, manifest_dir};
use image::{DynamicImage, ImageFormat};

/// Bypasses libtest's output capture so a skip is seen.
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
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

/// Runs the real loader; `None` (and a visible skip) when it is not installed.
fn real(loader: Loader, cases_dir: &Path) -> Option<BTreeMap<String, String>> {
    let var = match loader {
        Loader::Torch => "CLEANSPLIT_TORCH_PYTHON",
        _ => "CLEANSPLIT_KERAS_PYTHON",
    };
    let python = std::env::var(var).unwrap_or_else(|_| "python3".into());
    let out = match Command::new(&python)
        .arg(manifest_dir().join("scripts/real_loaders.py"))
        .arg(loader.as_str())
        .arg(cases_dir)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            say(&format!(
                "skipped: real {loader} loader ({python}: {e}; set {var})"
            ));
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
            "{why} -- real {loader} loader not run (set {var} to a Python that has it)"
        ));
        return None;
    }
    assert!(
        out.status.success(),
        "real_loaders.py {loader} failed:\n{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
            return;
        }
    };
    if out.status.code() == Some(3) {
        say(&format!(
            "{} -- set CLEANSPLIT_SKLEARN_PYTHON",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
