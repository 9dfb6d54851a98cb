//! Augmented copies (issue 22) end to end: the real binary finds a rotated, shifted and
//! zoomed copy across splits through local features (`view` = `affine` in pairs.csv, with the
//! estimated transform), reuses the features sidecar on a rescan, and does not pair two
//! different X-ray-like images. Every image is generated here.

use std::path::Path;

use assert_cmd::Command;
use image::{GrayImage, Luma};

/// splitmix64 in [0, 1).
fn unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// A textured photo-like picture: random rectangles and discs.
fn picture(w: u32, h: u32, seed: u64) -> GrayImage {
    let mut s = seed;
    let mut img = GrayImage::from_pixel(w, h, Luma([128]));
    for _ in 0..150 {
        let (cx, cy) = (unit(&mut s) * f64::from(w), unit(&mut s) * f64::from(h));
        let r = 5.0 + unit(&mut s) * 30.0;
        let v = (unit(&mut s) * 255.0) as u8;
        let disc = unit(&mut s) < 0.5;
        for (x, y, p) in img.enumerate_pixels_mut() {
            let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
            if (disc && dx * dx + dy * dy <= r * r)
                || (!disc && dx.abs() <= r && dy.abs() <= r * 0.6)
            {
                *p = Luma([v]);
            }
        }
    }
    img
}

/// A chest-X-ray-like picture: two dark lung fields, a bright spine and ribs, smooth noise.
/// Different seeds move and texture the same anatomy (look-alikes, not copies).
fn xray(seed: u64) -> GrayImage {
    let mut s = seed;
    let (w, h) = (384u32, 384u32);
    // Patients differ in position, lung size and rib spacing, as real chest X-rays do.
    let shift = (unit(&mut s) - 0.5) * 60.0;
    let (rx, ry) = (60.0 + unit(&mut s) * 20.0, 115.0 + unit(&mut s) * 30.0);
    let cy = 185.0 + unit(&mut s) * 30.0;
    let rib_period = 8.0 + unit(&mut s) * 3.0;
    let rib_phase = unit(&mut s) * 30.0;
    let blobs: Vec<(f64, f64, f64, f64)> = (0..40)
        .map(|_| {
            (
                unit(&mut s) * 384.0,
                unit(&mut s) * 384.0,
                4.0 + unit(&mut s) * 10.0,
                (unit(&mut s) - 0.5) * 40.0,
            )
        })
        .collect();
    GrayImage::from_fn(w, h, |x, y| {
        let (x, y) = (f64::from(x), f64::from(y));
        let mut v = 170.0;
        for cx in [120.0 + shift, 264.0 + shift] {
            let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
            if dx * dx + dy * dy < 1.0 {
                v -= 90.0 * (1.0 - dx * dx - dy * dy).sqrt();
                v += 25.0 * ((y + rib_phase) / rib_period).sin();
            }
        }
        v += 60.0 * (-((x - 192.0 - shift) / 14.0).powi(2)).exp();
        for &(bx, by, r, a) in &blobs {
            v += a * (-((x - bx).powi(2) + (y - by).powi(2)) / (r * r)).exp();
        }
        Luma([v.clamp(0.0, 255.0) as u8])
    })
}

/// `img` rotated by `deg`, zoomed by `zoom` and shifted (bilinear, black corners).
fn warp(img: &GrayImage, deg: f64, zoom: f64, sx: f64, sy: f64) -> GrayImage {
    let (w, h) = img.dimensions();
    let (c, s) = (deg.to_radians().cos(), deg.to_radians().sin());
    let (cx, cy) = ((f64::from(w) - 1.0) / 2.0, (f64::from(h) - 1.0) / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx - sx, f64::from(y) - cy - sy);
        let (u, v) = (
            (c * dx + s * dy) / zoom + cx,
            (-s * dx + c * dy) / zoom + cy,
        );
        if u < 0.0 || v < 0.0 || u > f64::from(w - 1) || v > f64::from(h - 1) {
            return Luma([0]);
        }
        let (x0, y0) = (u.floor() as u32, v.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (u - f64::from(x0), v - f64::from(y0));
        let at = |x: u32, y: u32| f64::from(img.get_pixel(x, y)[0]);
        let val = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + at(x1, y0) * fx * (1.0 - fy)
            + at(x0, y1) * (1.0 - fx) * fy
            + at(x1, y1) * fx * fy;
        Luma([val.round() as u8])
    })
}

fn save_jpeg(img: &GrayImage, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(path).unwrap();
}

fn pairs(out: &Path) -> Vec<csv::StringRecord> {
    let mut rdr = csv::Reader::from_path(out.join("pairs.csv")).unwrap();
    let head = rdr.headers().unwrap().clone();
    assert_eq!(
        head.iter().rev().take(5).collect::<Vec<_>>(),
        ["inliers", "shift_y", "shift_x", "scale", "rotation_deg"],
        "the affine columns come last"
    );
    rdr.records().map(Result::unwrap).collect()
}

/// `cleansplit leaks ROOT --index WORK/index.csv --out WORK/OUT ARGS..`.
fn run_leaks(root: &Path, work: &Path, out: &str, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("cleansplit")
        .unwrap()
        .args(["leaks", "-q", "--index"])
        .arg(work.join("index.csv"))
        .arg("--out")
        .arg(work.join(out))
        .args(args)
        .arg(root)
        .output()
        .unwrap()
}

fn leaks(root: &Path, work: &Path) -> Vec<csv::StringRecord> {
    let run = run_leaks(root, work, "out", &[]);
    // 0: no leak, 1: leaks found; anything else is a failure.
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    pairs(&work.join("out"))
}

#[test]
fn rotated_shifted_zoomed_copy_across_splits_is_an_affine_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let original = picture(400, 300, 42);
    save_jpeg(&original, &root.join("train/cats/photo.jpg"));
    save_jpeg(&picture(400, 300, 43), &root.join("train/cats/other.jpg"));
    save_jpeg(&picture(400, 300, 44), &root.join("val/cats/unrelated.jpg"));
    let copy = image::imageops::flip_horizontal(&warp(&original, 23.0, 0.85, 30.0, -20.0));
    save_jpeg(&copy, &root.join("val/cats/augmented.jpg"));
    let work = tmp.path().join("work");
    let rows = leaks(&root, &work);
    assert_eq!(rows.len(), 1, "exactly the copy: {rows:?}");
    let r = &rows[0];
    assert_eq!(
        (&r[0], &r[1]),
        ("train/cats/photo.jpg", "val/cats/augmented.jpg")
    );
    assert_eq!(&r[9], "true", "cross-split");
    assert_eq!(&r[13], "affine");
    assert_eq!(&r[8], "flip_h", "mirrored");
    let scale: f64 = r[15].parse().unwrap();
    assert!((scale - 0.85).abs() < 0.08, "scale {scale}");
    let inliers: usize = r[18].parse().unwrap();
    assert!(inliers >= 20, "inliers {inliers}");
    let sidecar = work.join("index.csv.features");
    assert!(
        sidecar.exists(),
        "the features sidecar is written beside the index"
    );
    // A rescan reuses the sidecar and finds the same pair.
    let before = std::fs::metadata(&sidecar).unwrap().modified().unwrap();
    let again = leaks(&root, &work);
    assert_eq!(again.len(), 1);
    assert_eq!(&again[0][13], "affine");
    assert_eq!(
        std::fs::metadata(&sidecar).unwrap().modified().unwrap(),
        before
    );
    // With CLEANSPLIT_TIMINGS set, each phase's times go to stderr; without it, nothing.
    let timed = Command::cargo_bin("cleansplit")
        .unwrap()
        .env("CLEANSPLIT_TIMINGS", "1")
        .args(["leaks", "-q", "--index"])
        .arg(work.join("index.csv"))
        .arg(&root)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&timed.stderr);
    for phase in [
        "scan",
        "hash search",
        "affine keys",
        "affine votes",
        "affine verify",
    ] {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("timing {phase}: ")))
            .unwrap_or_else(|| panic!("no timing of {phase}: {err}"));
        assert!(
            line.ends_with(" s CPU") && line.contains(" s wall, "),
            "{line}"
        );
    }
    let quiet = run_leaks(&root, &work, "out-quiet", &[]);
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains("timing "),
        "no timings unless asked"
    );
    // What the search did is in summary.json: every descriptor searched at this size, in memory.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("out/summary.json")).unwrap()).unwrap();
    let affine = &summary["search"]["affine"];
    assert_eq!(affine["keys_per_image"], 300, "{affine}");
    assert_eq!(affine["spilled"], false, "{affine}");
    assert!(affine["entries"].as_u64().unwrap() > 1000, "{affine}");
    // --affine-keys sets the search descriptors per image; out of range is refused in one line.
    let run = |keys: &str| {
        run_leaks(
            &root,
            &work,
            &format!("out-{keys}"),
            &["--affine-keys", keys],
        )
    };
    let few = run("40");
    assert!(
        matches!(few.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&few.stderr)
    );
    let few_summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("out-40/summary.json")).unwrap()).unwrap();
    assert_eq!(few_summary["search"]["affine"]["keys_per_image"], 40);
    let refused = run("0");
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--affine-keys 0 is outside 1..=300"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn different_xray_like_images_are_not_paired() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for k in 0..4u64 {
        save_jpeg(&xray(10 + k), &root.join(format!("train/chest/p{k}.jpg")));
        save_jpeg(&xray(20 + k), &root.join(format!("val/chest/q{k}.jpg")));
    }
    // One real copy (shifted and rotated), so the test shows the detector runs on X-rays.
    save_jpeg(
        &warp(&xray(10), 4.0, 1.0, 15.0, 10.0),
        &root.join("val/chest/copy.jpg"),
    );
    let rows = leaks(&root, &tmp.path().join("work"));
    let names: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r[0].to_owned(), r[1].to_owned()))
        .collect();
    assert!(
        names
            .iter()
            .all(|(a, b)| a == "train/chest/p0.jpg" && b == "val/chest/copy.jpg"),
        "only the planted copy may be paired: {names:?}"
    );
}

#[test]
fn a_new_file_keeps_every_other_image_s_features() {
    // A rescan that reads a new file must carry every reused image's features over: the
    // next scan then reads nothing and leaves the sidecar alone.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for k in 0..4u64 {
        save_jpeg(
            &picture(320, 240, 60 + k),
            &root.join(format!("train/a/z{k}.jpg")),
        );
    }
    let index = tmp.path().join("work/index.csv");
    let scan = || {
        let run = Command::cargo_bin("cleansplit")
            .unwrap()
            .args(["scan", "--index"])
            .arg(&index)
            .arg(&root)
            .assert()
            .success();
        String::from_utf8_lossy(&run.get_output().stdout).into_owned()
    };
    scan();
    // A new file early in path order: the reused ones come after it.
    save_jpeg(&picture(320, 240, 70), &root.join("train/a/a_new.jpg"));
    let second = scan();
    assert!(second.contains("1 read now"), "{second}");
    let sidecar = tmp.path().join("work/index.csv.features");
    let before = std::fs::metadata(&sidecar).unwrap().modified().unwrap();
    let third = scan();
    assert!(third.contains("0 read now"), "{third}");
    assert_eq!(
        std::fs::metadata(&sidecar).unwrap().modified().unwrap(),
        before,
        "the third scan found every image's features"
    );
}
