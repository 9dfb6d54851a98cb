//! Containers the `image` decoders refuse although the file is fine, as Pillow opens them:
//!
//! - an ICO whose chosen entry is a PNG without alpha (Pillow's default ICO save): `image`
//!   insists on RGBA PNGs inside ICOs; we decode the embedded PNG itself.
//! - a GIF whose logical screen is 0 wide or high: `image` reports a 0 x 0 image. Pillow grows
//!   the canvas to hold the first frame (`max(screen, frame corner)`); so do we.

use std::io::Cursor;

use image::{DynamicImage, RgbaImage};

use super::decode::{self, DecodeError, Decoded};
use crate::base::format::Format;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// [`decode::decode`], with these containers first: what the scan calls.
pub fn decode(format: Format, bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    match format {
        Format::Gif if gif_screen(bytes).is_some_and(|(w, h)| w == 0 || h == 0) => {
            gif_zero_screen(bytes, max_pixels)
        }
        Format::Ico => match ico_png_entry(bytes) {
            Some(png) => decode::decode(Format::Png, png, max_pixels),
            None => decode::decode(format, bytes, max_pixels),
        },
        _ => decode::decode(format, bytes, max_pixels),
    }
}

/// The bytes of the PNG inside an ICO, if the entry `image` would choose (the largest, then
/// the deepest) is a PNG. `None` for BMP entries and malformed directories (the generic
/// decoder reports those).
pub fn ico_png_entry(bytes: &[u8]) -> Option<&[u8]> {
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = usize::from(u16_at(4)?);
    let side = |b: u8| if b == 0 { 256 } else { u32::from(b) };
    let best = (0..count)
        .filter_map(|i| {
            let e = 6 + 16 * i;
            let entry = bytes.get(e..e + 16)?;
            let (w, h) = (side(entry[0]), side(entry[1]));
            Some(((w * h, u16_at(e + 6)?), (u32_at(e + 8)?, u32_at(e + 12)?)))
        })
        .max_by_key(|&(key, _)| key)?;
    let (len, offset) = best.1;
    let data = bytes.get(offset..offset.checked_add(len)?)?;
    data.starts_with(PNG_SIGNATURE).then_some(data)
}

/// The logical screen of a GIF, from its header.
pub fn gif_screen(bytes: &[u8]) -> Option<(u16, u16)> {
    let b = bytes.get(6..10)?;
    Some((
        u16::from_le_bytes([b[0], b[1]]),
        u16::from_le_bytes([b[2], b[3]]),
    ))
}

/// Decodes the first frame of a GIF with a zero-sized logical screen onto a canvas that holds
/// it, as Pillow does.
pub fn gif_zero_screen(bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    decode::guarded(|| gif_first_frame(bytes, max_pixels))
}

fn gif_first_frame(bytes: &[u8], max_pixels: u64) -> Result<Decoded, DecodeError> {
    let corrupt = |e: gif::DecodingError| DecodeError::Corrupt(format!("GIF: {e}"));
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(Cursor::new(bytes)).map_err(corrupt)?;
    let (sw, sh) = (u32::from(dec.width()), u32::from(dec.height()));
    let frame = dec
        .next_frame_info()
        .map_err(corrupt)?
        .ok_or_else(|| DecodeError::Corrupt("GIF: no frame and a zero-sized screen".into()))?;
    let (fw, fh) = (u32::from(frame.width), u32::from(frame.height));
    let (left, top) = (u32::from(frame.left), u32::from(frame.top));
    let (w, h) = (sw.max(left + fw), sh.max(top + fh));
    if fw == 0 || fh == 0 {
        return Err(DecodeError::Corrupt(format!(
            "GIF: zero-sized screen and a {fw}x{fh} first frame"
        )));
    }
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(DecodeError::TooLarge(format!(
            "{w}x{h} = {} pixels exceeds --max-pixels {max_pixels}",
            u64::from(w) * u64::from(h)
        )));
    }
    // The bytes, the frame, the canvas and its gray copy.
    let need = bytes.len() as u64 + dec.buffer_size() as u64 + 5 * u64::from(w) * u64::from(h);
    super::budget::reserve(need, || format!("decoding this {w}x{h} GIF"))
        .map_err(DecodeError::TooLarge)?;
    let mut buf = vec![0u8; dec.buffer_size()];
    dec.read_into_buffer(&mut buf).map_err(corrupt)?;
    let frame_img = RgbaImage::from_raw(fw, fh, buf)
        .ok_or_else(|| DecodeError::Corrupt("GIF: frame buffer size mismatch".into()))?;
    let mut canvas = RgbaImage::new(w, h);
    image::imageops::replace(&mut canvas, &frame_img, left.into(), top.into());
    let gray = DynamicImage::ImageRgba8(canvas).into_luma8().into_raw();
    Ok(Decoded {
        width: w,
        height: h,
        color: "rgba8".into(),
        orientation: 1,
        gray,
        gray_w: w as usize,
        gray_h: h as usize,
        extent: (w as f32, h as f32),
        flags: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::decode::tests::encoded;
    use image::ImageFormat;

    /// An ICO with one entry holding `png`, as Pillow writes it.
    pub fn ico_around(png: &[u8], w: u8, h: u8) -> Vec<u8> {
        let mut v = vec![0, 0, 1, 0, 1, 0, w, h, 0, 0, 1, 0, 24, 0];
        v.extend((png.len() as u32).to_le_bytes());
        v.extend(22u32.to_le_bytes());
        v.extend(png);
        v
    }

    #[test]
    fn finds_the_png_in_an_ico() {
        let png = encoded(ImageFormat::Png, 16, 16);
        let ico = ico_around(&png, 16, 16);
        assert_eq!(ico_png_entry(&ico), Some(&png[..]));
        // Offsets past the end and empty directories are left to the generic decoder.
        assert_eq!(ico_png_entry(&ico[..30]), None);
        assert_eq!(ico_png_entry(&[0, 0, 1, 0, 0, 0]), None);
    }

    #[test]
    fn zero_screen_gif_gets_the_frame_size() {
        let mut gif = encoded(ImageFormat::Gif, 64, 48);
        assert_eq!(gif_screen(&gif), Some((64, 48)));
        gif[6..10].fill(0);
        let d = gif_zero_screen(&gif, u64::MAX).unwrap();
        assert_eq!((d.width, d.height, d.gray.len()), (64, 48, 64 * 48));
        assert!(matches!(
            gif_zero_screen(&gif, 100),
            Err(DecodeError::TooLarge(_))
        ));
    }
}
