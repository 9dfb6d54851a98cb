//! Hostile and odd input, end to end with the real binary (issue 13): zero-sized images,
//! arithmetic-coded JPEGs, ICOs holding RGB PNGs, TGA, folders named like images, names at
//! the 255-byte limit, and every command writing into a closed pipe.

mod common;

use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::process::Stdio;

use cleansplit::base::flags::{Flag, Status};
use cleansplit::base::hash::distance;
use cleansplit::index::{self, Record};
use common::{cleansplit, distinct_image, write_image};
use image::{ImageFormat, RgbImage};

fn encode(img: &RgbImage, fmt: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, fmt).unwrap();
    out.into_inner()
}

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

/// Runs `scan` with backtraces on; returns stderr and the index.
fn scan(work: &Path, root: &Path) -> (String, Vec<Record>) {
    let o = cleansplit(work, ["scan".as_ref(), root.as_os_str()])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{o:?}");
    (stderr, index::read(&work.join("index.csv")).unwrap())
}

fn record<'a>(records: &'a [Record], rel: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.path == Path::new(rel))
        .unwrap_or_else(|| panic!("{rel} not indexed"))
}

/// The image as a JPEG with arithmetic coding (what `cjpeg -arithmetic` writes), through
/// libjpeg-turbo's own encoder.
fn arithmetic_jpeg(img: &RgbImage, progressive: bool) -> Vec<u8> {
    use mozjpeg_sys::*;
    unsafe {
        let mut err: jpeg_error_mgr = std::mem::zeroed();
        let mut c: jpeg_compress_struct = std::mem::zeroed();
        c.common.err = jpeg_std_error(&mut err);
        jpeg_create_compress(&mut c);
        let mut buf: *mut u8 = std::ptr::null_mut();
        let mut size: std::os::raw::c_ulong = 0;
        jpeg_mem_dest(&mut c, &mut buf, &mut size);
        c.image_width = img.width();
        c.image_height = img.height();
        c.input_components = 3;
        c.in_color_space = J_COLOR_SPACE::JCS_RGB;
        // libjpeg-turbo's defaults (baseline), not mozjpeg's (progressive, trellis).
        jpeg_c_set_int_param(
            &mut c,
            J_INT_PARAM::JINT_COMPRESS_PROFILE,
            JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as i32,
        );
        jpeg_set_defaults(&mut c);
        jpeg_set_quality(&mut c, 90, 1);
        c.arith_code = 1;
        if progressive {
            jpeg_simple_progression(&mut c);
        }
        jpeg_start_compress(&mut c, 1);
        let stride = img.width() as usize * 3;
        for row in img.as_raw().chunks(stride) {
            let rows = [row.as_ptr()];
            jpeg_write_scanlines(&mut c, rows.as_ptr(), 1);
        }
        jpeg_finish_compress(&mut c);
        let out = std::slice::from_raw_parts(buf, size as usize).to_vec();
        jpeg_destroy_compress(&mut c);
        // `buf` came from libjpeg's malloc; a few kilobytes left to the process's end.
        out
    }
}

/// The start-of-frame marker of a JPEG (C0 baseline Huffman ... C9/CA arithmetic).
fn sof(jpeg: &[u8]) -> u8 {
    jpeg.windows(2)
        .find(|w| {
            w[0] == 0xFF && (0xC0..=0xCF).contains(&w[1]) && ![0xC4, 0xC8, 0xCC].contains(&w[1])
        })
        .map(|w| w[1])
        .unwrap()
}

#[test]
fn zero_sized_images_are_a_status_never_a_panic() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let img = distinct_image(3);
    let small = image::imageops::resize(&img, 64, 48, image::imageops::FilterType::Triangle);
    // A GIF whose logical screen is 0 x 0 around a 64 x 48 frame: Pillow opens it as 64x48.
    let mut gif = encode(&small, ImageFormat::Gif);
    gif[6..10].fill(0);
    put(&root, "train/a/zero_screen.gif", &gif);
    let mut gif_w0 = encode(&small, ImageFormat::Gif);
    gif_w0[6..8].fill(0);
    put(&root, "train/a/zero_width_screen.gif", &gif_w0);
    // The 12-byte PGM of a 0 x 0 image.
    put(&root, "train/a/zero.pgm", b"P5\n0 0\n255\n");
    put(&root, "train/a/zero_wide.pgm", b"P5\n0 5\n255\n");
    put(&root, "train/a/ok.png", &encode(&small, ImageFormat::Png));
    let (stderr, records) = scan(work.path(), &root);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    for name in ["zero_screen.gif", "zero_width_screen.gif"] {
        let r = record(&records, &format!("train/a/{name}"));
        assert_eq!((r.status, r.width, r.height), (Status::Ok, 64, 48), "{r:?}");
        // Same picture as the PNG.
        let png = record(&records, "train/a/ok.png");
        assert!(
            distance(r.phash().unwrap(), png.phash().unwrap()) <= 6,
            "{r:?}"
        );
    }
    for name in ["zero.pgm", "zero_wide.pgm"] {
        let r = record(&records, &format!("train/a/{name}"));
        assert_eq!(r.status, Status::Corrupt, "{r:?}");
        assert!(r.message.contains("zero side"), "{}", r.message);
    }
}

#[test]
fn arithmetic_coded_jpegs_decode() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let img = distinct_image(5);
    let baseline = arithmetic_jpeg(&img, false);
    let progressive = arithmetic_jpeg(&img, true);
    assert_eq!(sof(&baseline), 0xC9, "not baseline arithmetic");
    assert_eq!(sof(&progressive), 0xCA, "not progressive arithmetic");
    put(&root, "train/a/arith.jpg", &baseline);
    put(&root, "train/a/arith_progressive.jpg", &progressive);
    put(
        &root,
        "train/a/huffman.jpg",
        &encode(&img, ImageFormat::Jpeg),
    );
    let (_, records) = scan(work.path(), &root);
    let plain = record(&records, "train/a/huffman.jpg");
    for name in ["arith.jpg", "arith_progressive.jpg"] {
        let r = record(&records, &format!("train/a/{name}"));
        assert_eq!(
            (r.status, r.width, r.height),
            (Status::Ok, 128, 96),
            "{r:?}"
        );
        assert!(
            distance(r.phash().unwrap(), plain.phash().unwrap()) <= 4,
            "{name}: {r:?}"
        );
    }
}

#[test]
fn ico_holding_an_rgb_png_decodes() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let img = image::imageops::resize(
        &distinct_image(7),
        48,
        48,
        image::imageops::FilterType::Triangle,
    );
    let png = encode(&img, ImageFormat::Png);
    // What Pillow's default ICO save writes: one directory entry, an RGB (not RGBA) PNG.
    let mut ico = vec![0, 0, 1, 0, 1, 0, 48, 48, 0, 0, 1, 0, 32, 0];
    ico.extend((png.len() as u32).to_le_bytes());
    ico.extend(22u32.to_le_bytes());
    ico.extend(&png);
    put(&root, "train/a/icon.ico", &ico);
    put(&root, "train/a/icon.png", &png);
    let (_, records) = scan(work.path(), &root);
    let r = record(&records, "train/a/icon.ico");
    assert_eq!((r.status, r.width, r.height), (Status::Ok, 48, 48), "{r:?}");
    assert_eq!(r.phash(), record(&records, "train/a/icon.png").phash());
}

#[test]
fn tga_is_decoded_and_flagged_as_skipped_by_keras() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let img = distinct_image(9);
    put(&root, "train/a/pic.tga", &encode(&img, ImageFormat::Tga));
    put(&root, "train/a/pic.png", &encode(&img, ImageFormat::Png));
    put(&root, "train/a/broken.tga", b"\x00\x00\x02garbage");
    let (_, records) = scan(work.path(), &root);
    let r = record(&records, "train/a/pic.tga");
    assert_eq!(
        (r.status, r.width, r.height),
        (Status::Ok, 128, 96),
        "{r:?}"
    );
    assert_eq!(r.format, Some(cleansplit::base::format::Format::Tga));
    assert!(r.flags.contains(Flag::KerasSkips), "{r:?}");
    assert_eq!(r.phash(), record(&records, "train/a/pic.png").phash());
    assert_eq!(
        record(&records, "train/a/broken.tga").status,
        Status::Corrupt
    );
}

#[test]
fn a_folder_named_like_an_image_is_walked_into() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    write_image(&root.join("train/cat/w.png/inside.jpg"), 1);
    write_image(&root.join("train/cat/plain.jpg"), 2);
    let o = cleansplit(work.path(), ["scan".as_ref(), root.as_os_str()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let records = index::read(&work.path().join("index.csv")).unwrap();
    let paths: Vec<_> = records.iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            Path::new("train/cat/plain.jpg"),
            Path::new("train/cat/w.png/inside.jpg")
        ],
        "{stdout}"
    );
    assert!(
        records.iter().all(|r| r.status == Status::Ok),
        "{records:?}"
    );
    assert!(!stdout.contains("unreadable"), "{stdout}");
}

#[test]
fn long_names_that_collide_are_shortened_to_fit() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    // 246 bytes of two-byte characters + ".jpg": 250 bytes, one in a subfolder of the class.
    let long = format!("{}.jpg", "é".repeat(123));
    assert_eq!(long.len(), 250);
    write_image(&root.join("a").join(&long), 1);
    write_image(&root.join("a/sub").join(&long), 2);
    for i in 0..6 {
        write_image(&root.join(format!("a/{i}.jpg")), 10 + i);
        write_image(&root.join(format!("b/{i}.jpg")), 20 + i);
    }
    let out = work.path().join("out");
    let o = cleansplit(
        work.path(),
        ["split".as_ref(), root.as_os_str(), out.as_os_str()],
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{o:?}");
    let placed: Vec<String> = common::files_under(&out)
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(String::from))
        .filter(|n| n.starts_with('é'))
        .collect();
    assert_eq!(placed.len(), 2, "{placed:?}");
    assert!(placed.iter().all(|n| n.len() <= 255), "{placed:?}");
    assert!(placed.contains(&long), "{placed:?}");
    let tagged = placed.iter().find(|n| **n != long).unwrap();
    assert!(
        tagged.ends_with(".jpg") && tagged.as_bytes()[tagged.len() - 13] == b'-',
        "{tagged}"
    );
}

/// Every command, with its stdout a pipe whose reading end is already closed (`| head`
/// that has exited): it ends quietly with its usual exit code.
#[test]
fn every_command_ends_quietly_on_a_closed_pipe() {
    let work = tempfile::tempdir().unwrap();
    let root = common::copy_demo(work.path());
    let out = work.path().join("out");
    let weights = work.path().join("cw.json");
    let report = work.path().join("report");
    let runs: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["scan".as_ref(), root.as_os_str()],
        vec!["leaks".as_ref(), root.as_os_str()],
        vec![
            "leaks".as_ref(),
            root.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
        vec![
            "balance".as_ref(),
            root.as_os_str(),
            "--out".as_ref(),
            weights.as_os_str(),
        ],
        vec!["split".as_ref(), root.as_os_str(), out.as_os_str()],
        vec![
            "audit".as_ref(),
            root.as_os_str(),
            "--out".as_ref(),
            report.as_os_str(),
        ],
        vec![
            "audit".as_ref(),
            root.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
    ];
    for args in runs {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = common::cleansplit_std(work.path(), &args);
        cmd.stdout(Stdio::from(writer)).stderr(Stdio::piped());
        let o = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
    }
    assert!(out.join("manifest.csv").exists(), "split did its work");
}
