//! Decoding to grayscale: the expensive step of the scan.
//!
//! JPEG (most of any photo dataset) goes to libjpeg-turbo (through `mozjpeg`, built from
//! vendored C by the `cc` crate; with SIMD when `nasm` is installed) with DCT-domain
//! downscaling and grayscale output: most photos decode at 1/8 scale (block means, no inverse
//! DCT at all), small ones at the smallest n/8 that keeps 64 px ([`jpeg_scale`]); either way
//! chroma upsampling and colour conversion are skipped. `benches/scan.rs` measures it;
//! docs/BENCHMARKS.md "Scan speed" has the figures. CMYK/YCCK JPEGs and every other format go
//! through `image`'s decoders at full size. The pixel count is checked from the header before
//! any pixel buffer is allocated, and `image`'s allocation limits stay on.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};
use mozjpeg::{Decompress, Marker};

use crate::base::flags::{Flag, Flags};
use crate::base::format::Format;

/// A decoded image, reduced to what hashing needs.
#[derive(Debug)]
pub struct Decoded {
    /// Stored width and height of the image (before EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Colour type as the file stores it (`rgb8`, `l8`, `rgba8`, `cmyk8`, `l16`, ...).
    pub color: String,
    /// EXIF orientation (1 when absent).
    pub orientation: u8,
    /// Grayscale pixels, `gray_w * gray_h`, row-major; possibly DCT-downscaled.
    pub gray: Vec<u8>,
    pub gray_w: usize,
    pub gray_h: usize,
    /// How far the real image extends in `gray` (fractional: a downscaled JPEG's last row
    /// and column can be partly padding).
    pub extent: (f32, f32),
    /// Mode flags: gray, alpha, CMYK, 16-bit.
    pub flags: Flags,
}

/// Why a decode failed, mapped onto the index statuses by the caller.
#[derive(Debug)]
pub enum DecodeError {
    TooLarge(String),
    Unsupported(String),
    Corrupt(String),
}

fn too_large(w: u64, h: u64, max_pixels: u64) -> DecodeError {
    DecodeError::TooLarge(format!(
        "{w}x{h} = {} pixels exceeds --max-pixels {max_pixels}",
        w * h
    ))
}

/// Decodes `bytes` (already sniffed as `format`) to grayscale.
pub fn decode(format: Format, bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    if crate::output::fault::panic_marker(bytes, "DECODER") {
        return guarded(|| panic!("injected decoder panic"));
    }
    if format == Format::Jpeg {
        match decode_jpeg(bytes, max_pixels) {
            // CMYK/YCCK and other exotic JPEGs: let `image` convert them.
            Err(DecodeError::Unsupported(_)) => {}
            other => return other,
        }
        // `image` converts CMYK to RGB and then reports rgb8: the header says what it was.
        let mut d = decode_generic(format, bytes, max_pixels)?;
        if super::jpeg_header::colour(bytes).is_some_and(|c| c.is_cmyk()) {
            d.color = "cmyk8".into();
            d.flags.insert(Flag::Cmyk);
        }
        return Ok(d);
    }
    decode_generic(format, bytes, max_pixels)
}

/// DCT scaling rule. At 1/8 libjpeg-turbo outputs each 8 x 8 block's DC term, the exact mean
/// of the block: a perfect box filter that skips the inverse DCT. It is used whenever it keeps
/// at least this many pixels on the short side (images of 320 px and up); smaller images use the
/// smallest scale that keeps 64 px, since the reduced 2/8..7/8 inverse DCTs blur small images
/// more than the hashes tolerate (measured: 1/8 down to 40 px everywhere loses 7% recall on
/// caltech_101_rand_resize; this rule loses none, see docs/DESIGN.md "Decoding").
pub const MIN_DECODED_SIDE: usize = 40;

/// The DCT scale n/8 for a `w` x `h` JPEG (see [`MIN_DECODED_SIDE`]).
pub fn jpeg_scale(w: usize, h: usize) -> u8 {
    let short = w.min(h);
    if short.div_ceil(8) >= MIN_DECODED_SIDE {
        return 1;
    }
    (2..=8u8)
        .find(|&n| (short * n as usize).div_ceil(8) >= 64)
        .unwrap_or(8)
}

/// The DCT scale n/8 the local features need. The largest whose long side is within
/// [`super::features::TARGET_SIDE`] pixels but at least 7/8 of it, so the decoded image is the
/// features' working frame as it is (no resampling; a 500 px photo decodes at 4/8 to 250 px);
/// otherwise the smallest that keeps the long side at `TARGET_SIDE` (the frame is then
/// area-resized to it), 8/8 for smaller images. The hashes' 64 x 64 reduction is
/// area-averaged from whatever size this gives.
pub fn feature_scale(w: usize, h: usize) -> u8 {
    let long = w.max(h);
    let side = |n: u8| (long * n as usize).div_ceil(8);
    let target = super::features::TARGET_SIDE;
    (1..=8u8)
        .rev()
        .find(|&n| side(n) <= target && side(n) * 8 >= target * 7)
        .or_else(|| (1..=8u8).find(|&n| side(n) >= target))
        .unwrap_or(8)
}

fn decode_jpeg(bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    // libjpeg's fatal errors arrive as an unwind without a panic message (`resume_unwind`).
    let run = || -> Result<Decoded, DecodeError> {
        let corrupt = |e: std::io::Error| DecodeError::Corrupt(format!("JPEG: {e}"));
        let mut d = Decompress::with_markers(&[Marker::APP(1)])
            .from_mem(bytes)
            .map_err(corrupt)?;
        let (w, h) = d.size();
        if (w as u64) * (h as u64) > max_pixels {
            return Err(too_large(w as u64, h as u64, max_pixels));
        }
        // The bytes, libjpeg's whole-image coefficients (progressive or multi-scan files), and
        // the scaled gray output.
        let need = bytes.len() as u64
            + super::budget::jpeg_coefficient_bytes(bytes)
            + (w as u64 * h as u64) / 16;
        super::budget::reserve(need, || format!("decoding this {w}x{h} JPEG"))
            .map_err(DecodeError::TooLarge)?;
        if w == 0 || h == 0 {
            return Err(DecodeError::Corrupt("JPEG: zero width or height".into()));
        }
        let mut flags = Flags::default();
        let color = match d.color_space() {
            mozjpeg::ColorSpace::JCS_GRAYSCALE => {
                flags.insert(Flag::Gray);
                "l8"
            }
            mozjpeg::ColorSpace::JCS_YCbCr | mozjpeg::ColorSpace::JCS_RGB => "rgb8",
            _ => {
                return Err(DecodeError::Unsupported(
                    "JPEG colour space not handled by the fast path".into(),
                ));
            }
        };
        let orientation = d
            .markers()
            .find(|m| m.marker == Marker::APP(1) && m.data.starts_with(b"Exif\0\0"))
            .and_then(|m| image::metadata::Orientation::from_exif_chunk(&m.data[6..]))
            .map_or(1, |o| o.to_exif());
        let n = jpeg_scale(w, h).max(feature_scale(w, h));
        d.scale(n);
        let mut started = d.grayscale().map_err(corrupt)?;
        let (gw, gh) = (started.width(), started.height());
        let gray: Vec<u8> = started.read_scanlines().map_err(corrupt)?;
        started.finish().map_err(corrupt)?;
        if gray.len() != gw * gh {
            return Err(DecodeError::Corrupt(
                "JPEG: decoder returned a short image".into(),
            ));
        }
        let scale = f32::from(n) / 8.0;
        Ok(Decoded {
            width: w as u32,
            height: h as u32,
            color: color.into(),
            orientation,
            gray,
            gray_w: gw,
            gray_h: gh,
            extent: (
                (w as f32 * scale).min(gw as f32),
                (h as f32 * scale).min(gh as f32),
            ),
            flags,
        })
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast::<String>()
            .map(|s| *s)
            .or_else(|p| p.downcast::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|_| "libjpeg error".into());
        Err(DecodeError::Corrupt(format!("JPEG: {msg}")))
    })
}

fn classify(e: ImageError) -> DecodeError {
    match e {
        ImageError::Unsupported(e) => DecodeError::Unsupported(e.to_string()),
        ImageError::Limits(e) => DecodeError::TooLarge(e.to_string()),
        other => DecodeError::Corrupt(other.to_string()),
    }
}

/// Runs third-party decoder code behind [`super::guard::decoder`]: a panic is a corrupt file
/// whose message says the decoder panicked.
pub fn guarded<T>(f: impl FnOnce() -> Result<T, DecodeError>) -> Result<T, DecodeError> {
    super::guard::decoder(f).unwrap_or_else(|m| Err(DecodeError::Corrupt(m)))
}

fn decode_generic(format: Format, bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    guarded(|| decode_image(format, bytes, max_pixels))
}

fn decode_image(format: Format, bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    let fmt = format.decoder_format().ok_or_else(|| {
        DecodeError::Unsupported(format!("{} is not decoded by this build", format.as_str()))
    })?;
    let reader = ImageReader::with_format(Cursor::new(bytes), fmt);
    let mut dec = reader.into_decoder().map_err(classify)?;
    let (w, h) = dec.dimensions();
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(too_large(w.into(), h.into(), max_pixels));
    }
    if w == 0 || h == 0 {
        return Err(DecodeError::Corrupt(format!(
            "{}: the header says {w}x{h} (a zero side)",
            format.as_str().to_ascii_uppercase()
        )));
    }
    // The budget: the file's bytes, the decoded image, its gray copy, and an animation's
    // canvas, before any pixel buffer exists.
    let ct = dec.color_type();
    let px = u64::from(w) * u64::from(h);
    let canvas = if crate::base::format::is_animated(format, bytes) {
        4 * px
    } else {
        0
    };
    let need = bytes.len() as u64 + px * (ct.bytes_per_pixel() as u64 + 1) + canvas;
    super::budget::reserve(need, || {
        format!(
            "decoding this {w}x{h} {}{}",
            format.as_str().to_ascii_uppercase(),
            if canvas > 0 { " animation" } else { "" }
        )
    })
    .map_err(DecodeError::TooLarge)?;
    let orientation = dec.orientation().map_or(1, |o| o.to_exif());
    let original = dec.original_color_type();
    let color = format!("{original:?}").to_ascii_lowercase();
    let mut flags = Flags::default();
    if ct.channel_count() <= 2 {
        flags.insert(Flag::Gray);
    }
    if ct.has_alpha() {
        flags.insert(Flag::Alpha);
    }
    if ct.bytes_per_pixel() / ct.channel_count() > 1 {
        flags.insert(Flag::HighBitDepth);
    }
    if color.starts_with("cmyk") {
        flags.insert(Flag::Cmyk);
    }
    let img = DynamicImage::from_decoder(dec).map_err(classify)?;
    let gray = img.into_luma8().into_raw();
    Ok(Decoded {
        width: w,
        height: h,
        color,
        orientation,
        gray,
        gray_w: w as usize,
        gray_h: h as usize,
        extent: (w as f32, h as f32),
        flags,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::{ImageFormat, RgbImage};

    /// A small RGB gradient encoded as `fmt` (shared with `special`'s tests).
    pub(crate) fn encoded(fmt: ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, fmt).unwrap();
        out.into_inner()
    }

    #[test]
    fn jpeg_scale_choice() {
        assert_eq!(jpeg_scale(40, 30), 8);
        assert_eq!(jpeg_scale(1024, 768), 1);
        assert_eq!(jpeg_scale(500, 375), 1);
        assert_eq!(jpeg_scale(300, 240), 3);
        assert_eq!(jpeg_scale(120, 100), 6);
    }

    #[test]
    fn jpeg_fast_path_decodes_gray() {
        let d = decode(Format::Jpeg, &encoded(ImageFormat::Jpeg, 40, 30), u64::MAX).unwrap();
        assert_eq!((d.width, d.height, d.gray.len()), (40, 30, 1200));
        // A large JPEG is decoded at the smallest DCT scale whose long side still covers the
        // local features' 256 px (3/8 here: 2/8 gives 200 px, under 7/8 of 256).
        let d = decode(
            Format::Jpeg,
            &encoded(ImageFormat::Jpeg, 800, 600),
            u64::MAX,
        )
        .unwrap();
        assert_eq!((d.width, d.height), (800, 600));
        assert_eq!((d.gray_w, d.gray_h), (300, 225));
        // A 500 px one at 4/8: 250 px is close enough to 256 to be the frame as it is.
        assert_eq!(feature_scale(500, 375), 4);
        assert_eq!(feature_scale(1024, 768), 2);
        assert_eq!(feature_scale(2592, 1944), 1);
        assert!(d.extent.1 >= 64.0);
        assert_eq!(d.color, "rgb8");
        assert_eq!(d.orientation, 1);
    }

    #[test]
    fn cmyk_jpeg_is_cmyk8_with_the_flag() {
        let bytes = super::super::jpeg_header::tests::jpeg(mozjpeg::ColorSpace::JCS_CMYK, 4);
        let d = decode(Format::Jpeg, &bytes, u64::MAX).unwrap();
        assert_eq!(d.color, "cmyk8");
        assert!(d.flags.contains(Flag::Cmyk));
        assert_eq!((d.width, d.height), (48, 40));
    }

    #[test]
    fn png_generic_path() {
        let d = decode(Format::Png, &encoded(ImageFormat::Png, 20, 10), u64::MAX).unwrap();
        assert_eq!((d.width, d.height, d.gray.len()), (20, 10, 200));
        assert!(!d.flags.contains(Flag::Gray));
    }

    #[test]
    fn pixel_cap_is_checked_before_decoding() {
        for fmt in [ImageFormat::Jpeg, ImageFormat::Png] {
            let bytes = encoded(fmt, 100, 100);
            let f = if fmt == ImageFormat::Jpeg {
                Format::Jpeg
            } else {
                Format::Png
            };
            assert!(matches!(
                decode(f, &bytes, 9_999),
                Err(DecodeError::TooLarge(_))
            ));
        }
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let mut bytes = vec![0xFF, 0xD8, 0xFF];
        bytes.extend((0..500u32).map(|i| (i * 7919 % 251) as u8));
        assert!(decode(Format::Jpeg, &bytes, u64::MAX).is_err());
        assert!(decode(Format::Png, b"\x89PNG\r\n\x1a\nxxxx", u64::MAX).is_err());
    }
}
