//! JPEG encoder quality, estimated from the quantisation tables in the header.
//!
//! Almost every JPEG encoder derives its tables from a base table scaled by the IJG formula
//! (libjpeg `jpeg_quality_scaling`: scale = 5000/Q below 50, 200 - 2Q from 50;
//! entry = clamp((base * scale + 50) / 100, 1, 255)). Inverting it (the quality whose scaled
//! table is nearest the file's luminance table) gives the number the user typed into Pillow,
//! libjpeg, ImageMagick or the `image` crate, as `identify -format %Q` does. Two base tables
//! are tried: Annex K of the JPEG standard (libjpeg, libjpeg-turbo, Pillow, OpenCV, the `image`
//! crate) and the table mozjpeg uses by default (N. Robidoux's, index 3 in mozjpeg's
//! `jcparam.c`). Tables from other families (some cameras) still get the nearest quality
//! on the Annex K scale: a compression level, not the camera's setting.
//!
//! Cheap by design: only marker headers are read, up to the first scan; nothing is decoded.

/// Zig-zag position -> natural (row-major) position: DQT stores tables in zig-zag order.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Luminance base tables in natural order: JPEG Annex K (K.1) and mozjpeg's default.
const BASES: [[u16; 64]; 2] = [
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69,
        56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81,
        104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ],
    [
        16, 16, 16, 18, 25, 37, 56, 85, 16, 17, 20, 27, 34, 40, 53, 75, 16, 20, 24, 31, 43, 62, 91,
        135, 18, 27, 31, 40, 53, 74, 106, 156, 25, 34, 43, 53, 69, 94, 131, 189, 37, 40, 62, 74,
        94, 124, 169, 238, 56, 53, 91, 106, 131, 169, 226, 311, 85, 75, 135, 156, 189, 238, 311,
        418,
    ],
];

/// The IJG quality -> percentage scale curve.
fn ijg_scale(quality: u32) -> u32 {
    if quality < 50 {
        5000 / quality
    } else {
        200 - 2 * quality
    }
}

/// Every base table scaled for every quality 1..=100 (`[base][q - 1]`), computed once: the
/// estimate then only compares, which keeps it a few microseconds per file at scan time.
fn scaled() -> &'static [[[u16; 64]; 100]; 2] {
    static TABLES: std::sync::OnceLock<Box<[[[u16; 64]; 100]; 2]>> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[[0u16; 64]; 100]; 2]);
        for (b, base) in BASES.iter().enumerate() {
            for q in 1..=100u32 {
                for (k, &v) in base.iter().enumerate() {
                    t[b][q as usize - 1][k] =
                        ((u32::from(v) * ijg_scale(q) + 50) / 100).clamp(1, 32767) as u16;
                }
            }
        }
        t
    })
}

/// Distance between a file's table and a scaled one, stopping once it reaches `limit`.
/// An entry of 255 matches anything the formula puts at or above 255 (baseline clamp).
fn distance(table: &[u16; 64], want: &[u16; 64], limit: u32) -> u32 {
    let mut d = 0u32;
    for (&got, &w) in table.iter().zip(want) {
        if !(got == 255 && w >= 255) {
            d += u32::from(w.abs_diff(got));
            if d >= limit {
                break;
            }
        }
    }
    d
}

/// The quality (1..=100) whose IJG-scaled base table is nearest `table` (natural order);
/// ties go to the lower quality and to Annex K. Only qualities near a first guess per base
/// are compared (see `guess`), so a scan pays a few hundred comparisons per JPEG.
pub fn quality_of_table(table: &[u16; 64]) -> u8 {
    let mut best = (u32::MAX, 0usize);
    for (b, scaled) in scaled().iter().enumerate() {
        let range = match guess(table, &BASES[b]) {
            Some(q) => q.saturating_sub(WINDOW).max(1)..=(q + WINDOW).min(100),
            None => 1..=100,
        };
        for q in range {
            let d = distance(table, &scaled[q - 1], best.0);
            if d < best.0 {
                best = (d, q);
            }
        }
    }
    best.1 as u8
}

/// Qualities compared on each side of the first guess.
const WINDOW: usize = 6;

/// A first guess of the quality from the ratio of the table's entries to the base's,
/// leaving out entries at the baseline clamp (255); `None` when every entry is clamped.
fn guess(table: &[u16; 64], base: &[u16; 64]) -> Option<usize> {
    let (mut t, mut b) = (0u64, 0u64);
    for (&x, &y) in table.iter().zip(base) {
        if x < 255 {
            t += u64::from(x);
            b += u64::from(y);
        }
    }
    if b == 0 {
        return None;
    }
    // Percentage scale, then the IJG curve inverted.
    let scale = (100 * t) as f64 / b as f64;
    let q = if scale <= 100.0 {
        (200.0 - scale) / 2.0
    } else {
        5000.0 / scale
    };
    Some(q.round().clamp(1.0, 100.0) as usize)
}

/// Reads the first luminance quantisation table (table 0, else the first one defined) from
/// a JPEG's header, in natural order. `None` when the bytes are not a JPEG or the header ends
/// before any table.
pub fn luma_table(bytes: &[u8]) -> Option<[u16; 64]> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut first: Option<[u16; 64]> = None;
    let mut i = 2;
    loop {
        // Skip to a marker (0xFF, then fill 0xFFs).
        if *bytes.get(i)? != 0xFF {
            return first;
        }
        while *bytes.get(i)? == 0xFF {
            i += 1;
        }
        let marker = *bytes.get(i)?;
        i += 1;
        match marker {
            // Standalone markers: TEM, RST0-7, SOI.
            0x01 | 0xD0..=0xD8 => continue,
            // Start of scan or end of image: every table needed so far has been defined.
            0xDA | 0xD9 => return first,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        let seg = bytes.get(i + 2..(i + len).max(i + 2))?;
        if marker == 0xDB {
            let mut j = 0;
            while j < seg.len() {
                let (precision, id) = (seg[j] >> 4, seg[j] & 0x0F);
                let width = if precision == 0 { 1 } else { 2 };
                let raw = seg.get(j + 1..j + 1 + 64 * width)?;
                let mut table = [0u16; 64];
                for (k, &pos) in ZIGZAG.iter().enumerate() {
                    table[pos] = if width == 1 {
                        u16::from(raw[k])
                    } else {
                        u16::from_be_bytes([raw[2 * k], raw[2 * k + 1]])
                    };
                }
                if id == 0 {
                    return Some(table);
                }
                first.get_or_insert(table);
                j += 1 + 64 * width;
            }
        }
        i += len;
    }
}

/// Estimated encoder quality (1..=100) of a JPEG from its header; `None` if there is no
/// quantisation table to read.
pub fn jpeg_quality(bytes: &[u8]) -> Option<u8> {
    luma_table(bytes).map(|t| quality_of_table(&t))
}

/// [`jpeg_quality`] of a file, reading only its first 256 KiB (the tables come before the
/// image data). For indexes written before the `jpeg_quality` column.
pub fn quality_of_file(path: &std::path::Path) -> Option<u8> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(256 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    jpeg_quality(&head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;
    use image::{ExtendedColorType, ImageEncoder};

    /// A small textured RGB image (the tables do not depend on content, but the encoders
    /// should see something ordinary).
    fn pixels(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [(x * 7) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8]
            })
            .collect()
    }

    fn image_crate_jpeg(q: u8) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, q)
            .write_image(&pixels(24, 16), 24, 16, ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    fn mozjpeg_jpeg(q: u8, gray: bool) -> Vec<u8> {
        let (space, data) = if gray {
            (mozjpeg::ColorSpace::JCS_GRAYSCALE, vec![100u8; 24 * 16])
        } else {
            (mozjpeg::ColorSpace::JCS_RGB, pixels(24, 16))
        };
        let mut c = mozjpeg::Compress::new(space);
        c.set_size(24, 16);
        c.set_quality(f32::from(q));
        let mut c = c.start_compress(Vec::new()).unwrap();
        c.write_scanlines(&data).unwrap();
        c.finish().unwrap()
    }

    #[test]
    fn image_crate_qualities_are_recovered() {
        for q in [1u8, 5, 10, 25, 40, 50, 60, 75, 80, 85, 90, 95, 98, 100] {
            let got = jpeg_quality(&image_crate_jpeg(q)).unwrap();
            assert!(got.abs_diff(q) <= 1, "set {q}, estimated {got}");
        }
    }

    #[test]
    fn mozjpeg_qualities_are_recovered() {
        for q in [10u8, 30, 50, 70, 75, 85, 90, 95, 100] {
            for gray in [false, true] {
                let got = jpeg_quality(&mozjpeg_jpeg(q, gray)).unwrap();
                assert!(
                    got.abs_diff(q) <= 1,
                    "set {q} (gray {gray}), estimated {got}"
                );
            }
        }
    }

    #[test]
    fn every_ijg_table_inverts_exactly_above_the_clamp() {
        // Below ~Q 8 the 255 clamp makes neighbouring qualities identical.
        for base in &BASES {
            for q in 8..=100u32 {
                let t: Vec<u16> = base
                    .iter()
                    .map(|&b| ((u32::from(b) * ijg_scale(q) + 50) / 100).clamp(1, 255) as u16)
                    .collect();
                let got = quality_of_table(&t.try_into().unwrap());
                assert!(u32::from(got).abs_diff(q) <= 1, "set {q}, estimated {got}");
            }
        }
    }

    #[test]
    fn not_a_jpeg_or_no_table_is_none() {
        assert_eq!(jpeg_quality(b""), None);
        assert_eq!(jpeg_quality(b"\x89PNG\r\n\x1a\n"), None);
        // SOI then EOI: no tables.
        assert_eq!(jpeg_quality(&[0xFF, 0xD8, 0xFF, 0xD9]), None);
        // Truncated inside a DQT segment.
        let full = image_crate_jpeg(75);
        let dqt = full.windows(2).position(|w| w == [0xFF, 0xDB]).unwrap();
        assert_eq!(jpeg_quality(&full[..dqt + 20]), None);
        // Every truncation is handled without a panic.
        for n in 0..full.len().min(700) {
            let _ = jpeg_quality(&full[..n]);
        }
    }
}
