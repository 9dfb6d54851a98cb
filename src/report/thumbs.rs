//! Thumbnails for the HTML report, as `data:` URIs so the page stays one offline file.
//!
//! Every file is treated as hostile: its size and pixel count are checked (from the file
//! system and the image header) before anything is decoded, the `image` crate's default
//! allocation limits stay in force, and a decoder panic becomes `None`.

use std::fs;
use std::io::{BufReader, Cursor};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use rayon::prelude::*;

/// Files larger than this get no thumbnail (the report never reads them).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// JPEG quality of the thumbnails: small files, artefacts invisible at 160 px.
pub const JPEG_QUALITY: u8 = 75;
/// What transparent pixels are composited onto (the report's thumbnail box colour).
const BACKDROP: [u8; 3] = [243, 244, 246];

/// Thumbnail of an image file as a `data:image/jpeg;base64,...` URI, at most `max_side` px
/// on its longer side (never upscaled), upright according to its EXIF orientation; `None`
/// if the file is too large (bytes, or pixels above `max_pixels`), cannot be decoded, or the decoder panics.
pub fn data_uri(path: &Path, max_side: u32, max_pixels: u64) -> Option<String> {
    // The decoder guard (a panic is no thumbnail) and the scan's memory budget per file.
    crate::scan::budget::per_file(|| {
        crate::scan::guard::decoder(|| thumbnail_jpeg(path, max_side, max_pixels))
    })
    .ok()
    .flatten()
    .map(|jpeg| format!("data:image/jpeg;base64,{}", STANDARD.encode(jpeg)))
}

/// Thumbnails for many files in parallel, in the order of `paths`.
pub fn data_uris(paths: &[PathBuf], max_side: u32, max_pixels: u64) -> Vec<Option<String>> {
    paths
        .par_iter()
        .map(|p| data_uri(p, max_side, max_pixels))
        .collect()
}

/// Decodes, shrinks, turns upright and encodes one file as JPEG bytes.
fn thumbnail_jpeg(path: &Path, max_side: u32, max_pixels: u64) -> Option<Vec<u8>> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() == 0 || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    let reader = ImageReader::new(BufReader::new(fs::File::open(path).ok()?))
        // The bytes decide the format: a PNG named `.jpg` still gets its thumbnail.
        .with_guessed_format()
        .ok()?;
    let mut decoder = reader.into_decoder().ok()?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels == 0 || pixels > max_pixels {
        return None;
    }
    let bpp = u64::from(decoder.color_type().bytes_per_pixel());
    // The bytes read, the decoded image, an animation's canvas and the RGB copy.
    crate::scan::budget::reserve(meta.len() + pixels * (bpp + 4 + 3), String::new).ok()?;
    let orientation = decoder.orientation().ok();
    let image = DynamicImage::from_decoder(decoder).ok()?;
    let side = max_side.max(1);
    let mut small = if image.width() > side || image.height() > side {
        image.thumbnail(side, side)
    } else {
        image
    };
    if let Some(o) = orientation {
        small.apply_orientation(o);
    }
    encode_jpeg(&flatten(&small))
}

/// 8-bit RGB with any transparency composited onto the backdrop (JPEG has no alpha).
fn flatten(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let mix =
            |c: u8, bg: u8| ((u16::from(c) * a + u16::from(bg) * (255 - a) + 127) / 255) as u8;
        image::Rgb([
            mix(p[0], BACKDROP[0]),
            mix(p[1], BACKDROP[1]),
            mix(p[2], BACKDROP[2]),
        ])
    })
}

fn encode_jpeg(rgb: &RgbImage) -> Option<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(rgb)
        .ok()?;
    Some(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::DEFAULT_MAX_PIXELS;
    use image::{ImageEncoder, ImageFormat, RgbaImage};

    fn decode_uri(uri: &str) -> DynamicImage {
        let b64 = uri
            .strip_prefix("data:image/jpeg;base64,")
            .expect("a JPEG data URI");
        let bytes = STANDARD.decode(b64).unwrap();
        image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).unwrap()
    }

    #[test]
    fn shrinks_to_max_side_and_keeps_aspect() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wide.png");
        RgbImage::from_fn(400, 100, |x, _| image::Rgb([(x % 256) as u8, 40, 90]))
            .save(&p)
            .unwrap();
        let img = decode_uri(&data_uri(&p, 160, DEFAULT_MAX_PIXELS).unwrap());
        assert_eq!((img.width(), img.height()), (160, 40));
    }

    #[test]
    fn small_images_are_not_upscaled_and_alpha_is_flattened() {
        let dir = tempfile::tempdir().unwrap();
        // A PNG under a JPEG name: the bytes decide.
        let p = dir.path().join("small.jpg");
        RgbaImage::from_pixel(20, 30, image::Rgba([0, 0, 0, 0]))
            .save_with_format(&p, ImageFormat::Png)
            .unwrap();
        let img = decode_uri(&data_uri(&p, 160, DEFAULT_MAX_PIXELS).unwrap()).to_rgb8();
        assert_eq!((img.width(), img.height()), (20, 30));
        let px = img.get_pixel(10, 15).0;
        assert!(
            px.iter().zip(BACKDROP).all(|(a, b)| a.abs_diff(b) < 8),
            "{px:?}"
        );
    }

    #[test]
    fn exif_orientation_is_applied() {
        // A 60 x 20 JPEG with EXIF orientation 6 (rotate 90 clockwise) shows as 20 x 60.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rotated.jpg");
        let img = RgbImage::from_fn(60, 20, |x, _| image::Rgb([(x * 4) as u8, 0, 0]));
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .unwrap();
        // Insert an APP1 Exif segment right after SOI.
        let tiff: &[u8] = &[
            b'M', b'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, IFD at 8
            0, 1, // one entry
            1, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // Orientation, SHORT, 1, value 6
            0, 0, 0, 0, // no next IFD
        ];
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(tiff);
        let len = (app1.len() + 2) as u16;
        let mut file = jpeg[..2].to_vec();
        file.extend_from_slice(&[0xFF, 0xE1]);
        file.extend_from_slice(&len.to_be_bytes());
        file.extend_from_slice(&app1);
        file.extend_from_slice(&jpeg[2..]);
        fs::write(&p, file).unwrap();
        let thumb = decode_uri(&data_uri(&p, 160, DEFAULT_MAX_PIXELS).unwrap());
        assert_eq!((thumb.width(), thumb.height()), (20, 60));
    }

    #[test]
    fn corrupt_missing_and_empty_files_give_none() {
        let dir = tempfile::tempdir().unwrap();
        let corrupt = dir.path().join("corrupt.jpg");
        fs::write(&corrupt, b"\xFF\xD8\xFF\xE0 this is not really a JPEG").unwrap();
        let text = dir.path().join("notes.png");
        fs::write(&text, "hello").unwrap();
        let empty = dir.path().join("empty.png");
        fs::write(&empty, b"").unwrap();
        let missing = dir.path().join("missing.png");
        for p in [&corrupt, &text, &empty, &missing] {
            assert_eq!(
                data_uri(p, 160, DEFAULT_MAX_PIXELS),
                None,
                "{}",
                p.display()
            );
        }
        // A directory is not an image either.
        assert_eq!(data_uri(dir.path(), 160, DEFAULT_MAX_PIXELS), None);
    }

    #[test]
    fn oversized_header_is_refused_before_decoding() {
        // A PNG header claiming 20000 x 20000 pixels (400 M > DEFAULT_MAX_PIXELS).
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bomb.png");
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8)
            .unwrap();
        // IHDR width/height live at bytes 16..24; patch them and the chunk's CRC.
        png[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        fs::write(&p, png).unwrap();
        assert_eq!(data_uri(&p, 160, DEFAULT_MAX_PIXELS), None);
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn many_in_parallel_keep_order() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.png");
        RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]))
            .save(&good)
            .unwrap();
        let bad = dir.path().join("bad.png");
        fs::write(&bad, "x").unwrap();
        let out = data_uris(&[good.clone(), bad, good], 160, DEFAULT_MAX_PIXELS);
        assert_eq!(out.len(), 3);
        assert!(out[0].is_some() && out[1].is_none() && out[2].is_some());
    }

    #[test]
    fn max_pixels_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        RgbImage::from_pixel(40, 30, image::Rgb([9, 9, 9]))
            .save(&p)
            .unwrap();
        assert!(data_uri(&p, 160, 1200).is_some());
        assert_eq!(data_uri(&p, 160, 1199), None);
    }
}
