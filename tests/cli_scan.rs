//! End-to-end tests of `cleansplit scan` on real files: the demo dataset, every bad-input case,
//! index reuse, and the hash properties users rely on (re-encodes and resizes stay close).

mod common;

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use cleansplit::base::flags::Status;
use cleansplit::base::hash::distance;
use cleansplit::index::{self, Record};
use image::{ImageFormat, RgbImage};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo")
}

/// Runs `cleansplit scan ROOT --index INDEX -q` and returns (exit code, stdout, records).
fn scan(root: &Path, index: &Path, extra: &[&str]) -> (i32, String, Vec<Record>) {
    let out = Command::cargo_bin("cleansplit")
        .unwrap()
        .arg("scan")
        .arg(root)
        .arg("--index")
        .arg(index)
        .arg("-q")
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let records = if index.exists() {
        index::read(index).unwrap()
    } else {
        Vec::new()
    };
    (out.status.code().unwrap_or(-1), stdout, records)
}

fn record<'a>(records: &'a [Record], path: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.path == Path::new(path))
        .unwrap_or_else(|| panic!("{path} not indexed"))
}

/// A structured, photo-like test picture.
fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
    let s = seed as f32;
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let v = 120.0
            + 70.0 * (fx * (4.0 + s) + fy * 2.5).sin()
            + 50.0 * (fy * (6.0 + 0.7 * s) - 2.0 * fx).cos();
        let blob = if (fx - 0.3 - 0.05 * s).powi(2) + (fy - 0.6).powi(2) < 0.03 {
            60.0
        } else {
            0.0
        };
        let c = |o: f32| (v + blob + o).clamp(0.0, 255.0) as u8;
        image::Rgb([c(0.0), c(20.0 * (fx - 0.5)), c(-15.0)])
    })
}

fn encode(img: &RgbImage, fmt: ImageFormat) -> Vec<u8> {
    let mut c = Cursor::new(Vec::new());
    img.write_to(&mut c, fmt).unwrap();
    c.into_inner()
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

/// CRC-32 as PNG chunks use it (to forge a valid header).
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

#[test]
fn demo_scan_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = tmp.path().join("index.csv");
    let (code, stdout, records) = scan(&demo(), &idx, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("ROOT/<split>/<class>/<file> (2 splits, 3 classes)"),
        "{stdout}"
    );
    assert_eq!(records.len(), 56);
    assert_eq!(
        record(&records, "train/apple/empty.jpg").status,
        Status::Empty
    );
    assert_eq!(
        record(&records, "train/banana/corrupt.jpg").status,
        Status::Corrupt
    );
    assert_eq!(
        record(&records, "val/apple/truncated.jpg").status,
        Status::Truncated
    );
    let png = record(&records, "train/cherry/actually_png.jpg");
    assert_eq!(
        (png.status, cleansplit::index::format_name(png.format)),
        (Status::Ok, "png")
    );
    assert!(png.flags.to_string().contains("ext_mismatch"));
    assert!(
        record(&records, "train/apple/blank.png")
            .flags
            .to_string()
            .contains("near_constant")
    );
    assert!(
        record(&records, "train/cherry/tiny.png")
            .flags
            .to_string()
            .contains("tiny")
    );
    assert!(
        record(&records, "val/banana/grayscale_copy.jpg")
            .flags
            .to_string()
            .contains("gray")
    );
    // The index never lands inside the dataset.
    assert!(
        fs::read_dir(demo()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.'))
    );
    // Hashes of the planted copies are close to their sources.
    let d = |a: &str, b: &str| {
        distance(
            record(&records, a).phash().unwrap(),
            record(&records, b).phash().unwrap(),
        )
    };
    assert!(d("train/apple/apple_003.jpg", "val/apple/resized_copy.jpg") <= 4);
    assert!(
        d(
            "train/banana/banana_002.jpg",
            "val/banana/reencoded_copy.jpg"
        ) <= 4
    );
    assert!(d("train/apple/apple_003.jpg", "train/apple/apple_007.jpg") > 12);
}

#[test]
fn rescan_reuses_and_drops_deleted_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for i in 0..4 {
        put(
            &root,
            &format!("cats/{i}.png"),
            &encode(&picture(64, 48, i), ImageFormat::Png),
        );
    }
    let idx = tmp.path().join("index.csv");
    let (_, first, _) = scan(&root, &idx, &[]);
    assert!(first.contains("0 of 4 records reused"), "{first}");
    let (_, second, _) = scan(&root, &idx, &[]);
    assert!(second.contains("4 of 4 records reused"), "{second}");
    fs::remove_file(root.join("cats/0.png")).unwrap();
    // A changed file (new size) is read again, not dropped.
    fs::write(
        root.join("cats/1.png"),
        encode(&picture(80, 60, 7), ImageFormat::Png),
    )
    .unwrap();
    let (_, third, records) = scan(&root, &idx, &[]);
    assert!(
        third.contains("2 of 3 records reused from the index, 1 read now, 1 dropped"),
        "{third}"
    );
    assert_eq!(record(&records, "cats/1.png").width, 80);
    let (_, fourth, _) = scan(&root, &idx, &[]);
    assert!(fourth.contains("3 of 3 records reused"), "{fourth}");
    assert_eq!(records.len(), 3);
    let (_, forced, _) = scan(&root, &idx, &["--rehash"]);
    assert!(forced.contains("0 of 3 records reused"), "{forced}");
}

/// The rescan pairs the index with the walk as it reads it; an index out of path order, or
/// one the fast reader leaves to the serial reader (a hand-edited quote), is paired whole
/// instead: every record still reused, and the index written back in path order.
#[test]
fn rescan_reuses_an_index_out_of_order_or_hand_edited() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for (i, name) in ["0.png", "1.png", "a\"b.png", "sub/2.png"]
        .iter()
        .enumerate()
    {
        let bytes = encode(&picture(64, 48, i as u32), ImageFormat::Png);
        put(&root, &format!("cats/{name}"), &bytes);
    }
    let idx = tmp.path().join("index.csv");
    let (_, first, _) = scan(&root, &idx, &[]);
    assert!(first.contains("0 of 4 records reused"), "{first}");
    let sorted = fs::read_to_string(&idx).unwrap();
    let mut lines: Vec<&str> = sorted.lines().collect();
    lines[1..].reverse();
    fs::write(&idx, lines.join("\n") + "\n").unwrap();
    // Without its sidecar the index is written again (the same size would pass for unchanged).
    fs::remove_file(tmp.path().join("index.csv.meta.json")).unwrap();
    let (_, second, _) = scan(&root, &idx, &[]);
    assert!(second.contains("4 of 4 records reused"), "{second}");
    assert_eq!(fs::read_to_string(&idx).unwrap(), sorted);
    assert!(sorted.contains("\"cats/a\"\"b.png\""), "{sorted}");
    fs::write(&idx, sorted.replace("\"cats/a\"\"b.png\"", "cats/a\"b.png")).unwrap();
    let (_, third, records) = scan(&root, &idx, &[]);
    assert!(third.contains("4 of 4 records reused"), "{third}");
    assert_eq!(record(&records, "cats/a\"b.png").width, 64);
    assert_eq!(fs::read_to_string(&idx).unwrap(), sorted);
}

#[test]
fn every_bad_input_gets_a_status_and_counts_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let good = jpeg(&picture(120, 90, 1), 90);
    put(&root, "train/a/good.jpg", &good);
    put(&root, "train/a/zero.jpg", b"");
    put(&root, "train/a/half.jpg", &good[..good.len() / 2]);
    put(
        &root,
        "train/a/random.jpg",
        &(0..3000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    );
    put(&root, "train/a/notes.txt", b"not an image");
    put(&root, "train/a/.hidden.jpg", &good);
    put(&root, "train/a/Thumbs.db", b"junk");
    put(&root, "train/loose.jpg", &good);
    put(&root, "train/a/comma, \"quote\"\nnewline.jpg", &good);
    put(
        &root,
        "train/a/avif.avif",
        b"\0\0\0\x1cftypavif\0\0\0\0avifmif1",
    );
    // A decompression bomb: a valid PNG header claiming 100000 x 100000 pixels.
    let mut bomb = encode(&picture(8, 8, 2), ImageFormat::Png);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    put(&root, "train/a/bomb.png", &bomb);
    // A folder named like an image is only walked into.
    put(&root, "train/a/folder.jpg/inside.jpg", &good);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"bad\xffname.jpg");
        fs::write(root.join("train/a").join(name), &good).unwrap();
        std::os::unix::fs::symlink(root.join("train"), root.join("train/a/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere.jpg"), root.join("train/a/broken.jpg"))
            .unwrap();
        // A FIFO named like an image must not block the scan.
        let made = std::process::Command::new("mkfifo")
            .arg(root.join("train/a/pipe.jpg"))
            .status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
    }
    let idx = tmp.path().join("index.csv");
    let (code, stdout, records) = scan(&root, &idx, &["--max-pixels", "50000000"]);
    assert_eq!(code, 0, "{stdout}");
    let status = |p: &str| record(&records, p).status;
    assert_eq!(status("train/a/good.jpg"), Status::Ok);
    assert_eq!(status("train/a/zero.jpg"), Status::Empty);
    assert_eq!(status("train/a/half.jpg"), Status::Truncated);
    assert_eq!(status("train/a/random.jpg"), Status::Corrupt);
    assert_eq!(status("train/a/avif.avif"), Status::Unsupported);
    assert_eq!(status("train/a/bomb.png"), Status::TooLarge);
    assert!(
        records
            .iter()
            .all(|r| r.path != Path::new("train/a/folder.jpg"))
    );
    assert_eq!(status("train/a/folder.jpg/inside.jpg"), Status::Ok);
    assert_eq!(status("train/a/comma, \"quote\"\nnewline.jpg"), Status::Ok);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bad = records
            .iter()
            .find(|r| r.path.as_os_str().as_bytes().ends_with(b"bad\xffname.jpg"))
            .unwrap();
        assert_eq!(bad.status, Status::Ok);
        assert_eq!(status("train/a/broken.jpg"), Status::Unreadable);
        assert_eq!(status("train/a/pipe.jpg"), Status::Unreadable);
    }
    for r in &records {
        if r.status != Status::Ok {
            assert!(!r.message.is_empty(), "{} has no message", r.path.display());
        }
    }
    // The summary's counts add up to the files seen.
    let line = stdout.lines().find(|l| l.starts_with("files")).unwrap();
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    assert_eq!(nums[0], nums[1] + nums[2], "{line}");
    assert_eq!(nums[1], records.len());
    for reason in ["not_image", "hidden", "os_junk", "loose_file", "walk_error"] {
        assert!(stdout.contains(reason), "{reason} missing from: {stdout}");
    }
}

#[test]
fn unusable_root_or_index_exits_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, _) = scan(&tmp.path().join("missing"), &tmp.path().join("i.csv"), &[]);
    assert_eq!(code, 2);
    fs::write(tmp.path().join("a-file"), b"x").unwrap();
    let out2 = Command::cargo_bin("cleansplit")
        .unwrap()
        .args(["scan", "-q", "--index"])
        .arg(tmp.path().join("a-file/index.csv"))
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(out2.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out2.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("cleansplit: "), "{err}");
}

#[test]
fn hash_properties_of_reencodes_resizes_and_different_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let mut expected_close = Vec::new();
    for seed in 0..6 {
        let img = picture(400, 300, seed * 3);
        put(
            &root,
            &format!("x/{seed}_orig.png"),
            &encode(&img, ImageFormat::Png),
        );
        put(&root, &format!("x/{seed}_q90.jpg"), &jpeg(&img, 90));
        let half = image::imageops::resize(&img, 200, 150, image::imageops::FilterType::Triangle);
        put(&root, &format!("x/{seed}_half.jpg"), &jpeg(&half, 90));
        expected_close.push((format!("x/{seed}_orig.png"), format!("x/{seed}_q90.jpg")));
        expected_close.push((format!("x/{seed}_orig.png"), format!("x/{seed}_half.jpg")));
    }
    let idx = tmp.path().join("index.csv");
    let (code, _, records) = scan(&root, &idx, &[]);
    assert_eq!(code, 0);
    let h = |p: &str| record(&records, p).phash().unwrap();
    for (a, b) in &expected_close {
        assert!(
            distance(h(a), h(b)) <= 4,
            "{a} vs {b}: {}",
            distance(h(a), h(b))
        );
    }
    for a in 0..6 {
        for b in a + 1..6 {
            let d = distance(h(&format!("x/{a}_orig.png")), h(&format!("x/{b}_orig.png")));
            assert!(d > 10, "photos {a} and {b} are only {d} bits apart");
        }
    }
}

/// A shared-data test whose data is missing passes with a skip line `cargo test` shows (runs
/// this test binary again as a child, the data pointed nowhere), not silently.
#[test]
fn missing_shared_data_is_a_visible_skip() {
    let o = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["hymenoptera_when_available", "--exact"])
        .env("CLEANSPLIT_SHARED_DATA", "/nonexistent/shared/data")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{o:?}");
    assert!(
        stderr.contains("skipped: hymenoptera_when_available: /nonexistent/shared/data/"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("1 passed"),
        "{o:?}"
    );
}

#[test]
fn hymenoptera_when_available() {
    // The motivating user's layout: 398 images, 2 splits, 2 classes, the placeholder GIF among
    // them. Skipped where the shared data is not present.
    let Some(root) =
        common::shared_data("hymenoptera/hymenoptera_data", "hymenoptera_when_available")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (code, stdout, records) = scan(&root, &tmp.path().join("i.csv"), &[]);
    assert_eq!(code, 0);
    assert_eq!(records.len(), 398, "{stdout}");
    assert!(stdout.contains("(2 splits, 2 classes)"), "{stdout}");
    assert_eq!(
        record(&records, "train/ants/imageNotFound.gif").format,
        Some(cleansplit::base::format::Format::Gif)
    );
}
