//! Decoding to grayscale: the expensive step of the scan.
//!
//! JPEG (most of any photo dataset) goes straight to zune-jpeg with luma output, which skips
//! chroma upsampling and colour conversion; everything else goes through `image`'s decoders.
//! The pixel count is checked from the header before any pixel buffer is allocated, and
//! `image`'s allocation limits stay on.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::format::Format;
use crate::index::{Flag, Flags};

/// A decoded image, reduced to what hashing needs.
#[derive(Debug)]
pub struct Decoded {
    /// Stored width and height (before EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Colour type as the file stores it (`rgb8`, `l8`, `rgba8`, `cmyk8`, `l16`, ...).
    pub color: String,
    /// EXIF orientation (1 when absent).
    pub orientation: u8,
    /// Grayscale pixels, `width * height`, row-major.
    pub gray: Vec<u8>,
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
    if format == Format::Jpeg {
        match decode_jpeg(bytes, max_pixels) {
            // CMYK/YCCK and other exotic JPEGs: let `image` convert them.
            Err(DecodeError::Unsupported(_)) => {}
            other => return other,
        }
    }
    decode_generic(format, bytes, max_pixels)
}

fn decode_jpeg(bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX));
    let mut dec = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    dec.decode_headers()
        .map_err(|e| DecodeError::Corrupt(format!("JPEG: {e}")))?;
    let (w, h) = dec
        .dimensions()
        .ok_or_else(|| DecodeError::Corrupt("JPEG: no dimensions".into()))?;
    if (w as u64) * (h as u64) > max_pixels {
        return Err(too_large(w as u64, h as u64, max_pixels));
    }
    let mut flags = Flags::default();
    let color = match dec.input_colorspace() {
        Some(ColorSpace::Luma) => {
            flags.insert(Flag::Gray);
            "l8"
        }
        Some(ColorSpace::YCbCr) | Some(ColorSpace::RGB) => "rgb8",
        _ => {
            return Err(DecodeError::Unsupported(
                "JPEG colour space not handled by the fast path".into(),
            ));
        }
    };
    let orientation = dec
        .exif()
        .and_then(|e| image::metadata::Orientation::from_exif_chunk(e))
        .map_or(1, |o| o.to_exif());
    let gray = dec
        .decode()
        .map_err(|e| DecodeError::Corrupt(format!("JPEG: {e}")))?;
    if gray.len() != w * h {
        return Err(DecodeError::Corrupt(
            "JPEG: decoder returned a short image".into(),
        ));
    }
    Ok(Decoded {
        width: w as u32,
        height: h as u32,
        color: color.into(),
        orientation,
        gray,
        flags,
    })
}

fn classify(e: ImageError) -> DecodeError {
    match e {
        ImageError::Unsupported(e) => DecodeError::Unsupported(e.to_string()),
        ImageError::Limits(e) => DecodeError::TooLarge(e.to_string()),
        other => DecodeError::Corrupt(other.to_string()),
    }
}

fn decode_generic(format: Format, bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    let fmt = format.decoder_format().ok_or_else(|| {
        DecodeError::Unsupported(format!("{} is not decoded by this build", format.as_str()))
    })?;
    let reader = ImageReader::with_format(Cursor::new(bytes), fmt);
    let mut dec = reader.into_decoder().map_err(classify)?;
    let (w, h) = dec.dimensions();
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(too_large(w.into(), h.into(), max_pixels));
    }
    let orientation = dec.orientation().map_or(1, |o| o.to_exif());
    let original = dec.original_color_type();
    let color = format!("{original:?}").to_ascii_lowercase();
    let ct = dec.color_type();
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
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, RgbImage};

    fn encoded(fmt: ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, fmt).unwrap();
        out.into_inner()
    }

    #[test]
    fn jpeg_fast_path_decodes_gray() {
        let d = decode(Format::Jpeg, &encoded(ImageFormat::Jpeg, 40, 30), u64::MAX).unwrap();
        assert_eq!((d.width, d.height, d.gray.len()), (40, 30, 1200));
        assert_eq!(d.color, "rgb8");
        assert_eq!(d.orientation, 1);
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
