//! Writes the seed corpora: `cargo run --release --bin seeds -- DIR` creates `DIR/examine/`
//! (one small image per format, prefixed with the byte that names its extension in the
//! `examine` target) and `DIR/index/` (an index of them).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, RgbImage};

/// Formats and the `examine` target's name index for their extension.
const FORMATS: [(ImageFormat, u8, &str); 10] = [
    (ImageFormat::Jpeg, 0, "jpg"),
    (ImageFormat::Png, 1, "png"),
    (ImageFormat::Gif, 2, "gif"),
    (ImageFormat::Bmp, 3, "bmp"),
    (ImageFormat::Tga, 4, "tga"),
    (ImageFormat::WebP, 5, "webp"),
    (ImageFormat::Ico, 6, "ico"),
    (ImageFormat::Pnm, 7, "pgm"),
    (ImageFormat::Tiff, 1, "tiff"),
    (ImageFormat::Qoi, 1, "qoi"),
];

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: seeds DIR"));
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(24, 16, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 15) as u8, ((x ^ y) * 8) as u8])
    }));
    let examine = dir.join("examine");
    std::fs::create_dir_all(&examine).unwrap();
    let mut records = Vec::new();
    for (fmt, pick, ext) in FORMATS {
        let mut bytes = Cursor::new(Vec::new());
        let source = if fmt == ImageFormat::Pnm {
            DynamicImage::ImageLuma8(img.to_luma8())
        } else {
            img.clone()
        };
        source.write_to(&mut bytes, fmt).unwrap();
        let bytes = bytes.into_inner();
        let mut seed = vec![pick];
        seed.extend(&bytes);
        std::fs::write(examine.join(format!("seed.{ext}")), seed).unwrap();
        let name = format!("train/c/seed.{ext}");
        records.push(cleansplit::scan::file::examine_bytes(Path::new(&name), &bytes, 1 << 22));
    }
    let index = dir.join("index");
    std::fs::create_dir_all(&index).unwrap();
    let mut out = Vec::new();
    cleansplit::index::write_to(&mut out, &records).unwrap();
    std::fs::write(index.join("index.csv"), out).unwrap();
}
