//! Format detection from the bytes, container-level truncation checks and animation checks.
//!
//! Decoders are lenient: image 0.25 decodes a JPEG cut in half without an error (the missing
//! half comes back gray). So the scanner checks each container's end marker itself, before it
//! trusts a decode.

use std::path::Path;

use memchr::memmem;

/// An image format, as detected from the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Bmp,
    Webp,
    Tiff,
    Ico,
    Pnm,
    Qoi,
    Avif,
    Heic,
    Svg,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::Webp => "webp",
            Format::Tiff => "tiff",
            Format::Ico => "ico",
            Format::Pnm => "pnm",
            Format::Qoi => "qoi",
            Format::Avif => "avif",
            Format::Heic => "heic",
            Format::Svg => "svg",
        }
    }

    /// Formats Keras' `image_dataset_from_directory` / `tf.io.decode_image` can decode.
    pub fn keras_decodes(self) -> bool {
        matches!(self, Format::Jpeg | Format::Png | Format::Gif | Format::Bmp)
    }

    /// Lossless formats rank above lossy ones when choosing a group's representative.
    pub fn is_lossless(self) -> bool {
        !matches!(
            self,
            Format::Jpeg | Format::Webp | Format::Avif | Format::Heic
        )
    }

    /// The format an extension promises (`None` for unknown extensions).
    pub fn from_extension(ext: &str) -> Option<Format> {
        Some(match ext.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" | "jpe" | "jfif" => Format::Jpeg,
            "png" => Format::Png,
            "gif" => Format::Gif,
            "bmp" | "dib" => Format::Bmp,
            "webp" => Format::Webp,
            "tif" | "tiff" => Format::Tiff,
            "ico" => Format::Ico,
            "pgm" | "ppm" | "pbm" | "pnm" | "pam" => Format::Pnm,
            "qoi" => Format::Qoi,
            "avif" => Format::Avif,
            "heic" | "heif" => Format::Heic,
            "svg" => Format::Svg,
            _ => return None,
        })
    }

    pub fn parse(name: &str) -> Option<Format> {
        ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The `image` crate's format, for formats this build decodes.
    pub fn decoder_format(self) -> Option<image::ImageFormat> {
        Some(match self {
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Png => image::ImageFormat::Png,
            Format::Gif => image::ImageFormat::Gif,
            Format::Bmp => image::ImageFormat::Bmp,
            Format::Webp => image::ImageFormat::WebP,
            Format::Tiff => image::ImageFormat::Tiff,
            Format::Ico => image::ImageFormat::Ico,
            Format::Pnm => image::ImageFormat::Pnm,
            Format::Qoi => image::ImageFormat::Qoi,
            Format::Avif | Format::Heic | Format::Svg => return None,
        })
    }
}

const ALL: [Format; 12] = [
    Format::Jpeg,
    Format::Png,
    Format::Gif,
    Format::Bmp,
    Format::Webp,
    Format::Tiff,
    Format::Ico,
    Format::Pnm,
    Format::Qoi,
    Format::Avif,
    Format::Heic,
    Format::Svg,
];

/// Extensions treated as images without sniffing the bytes.
pub const IMAGE_EXTENSIONS: [&str; 22] = [
    "jpg", "jpeg", "jpe", "jfif", "png", "gif", "bmp", "dib", "webp", "tif", "tiff", "ico", "pgm",
    "ppm", "pbm", "pnm", "tga", "qoi", "avif", "heic", "heif", "svg",
];

/// Keras' directory loaders pick files by these extensions only.
pub const KERAS_EXTENSIONS: [&str; 5] = ["bmp", "gif", "jpeg", "jpg", "png"];

/// Does Keras' directory loader even look at a file with this name?
pub fn keras_takes_extension(path: &Path) -> bool {
    super::paths::extension(path).is_some_and(|e| KERAS_EXTENSIONS.contains(&e.as_str()))
}

/// Detects the format from the first bytes (32 are enough; SVG is looked for in the first 256).
pub fn sniff(head: &[u8]) -> Option<Format> {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some(Format::Gif)
    } else if starts(b"BM") && head.len() >= 14 {
        Some(Format::Bmp)
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        Some(Format::Webp)
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some(Format::Tiff)
    } else if starts(&[0, 0, 1, 0]) && head.len() >= 6 && head[4..6] != [0, 0] {
        Some(Format::Ico)
    } else if head.len() >= 3
        && head[0] == b'P'
        && (b'1'..=b'7').contains(&head[1])
        && head[2].is_ascii_whitespace()
    {
        Some(Format::Pnm)
    } else if starts(b"qoif") {
        Some(Format::Qoi)
    } else if head.get(4..8) == Some(b"ftyp") {
        match head.get(8..12) {
            Some(b"avif") | Some(b"avis") => Some(Format::Avif),
            Some(b"heic") | Some(b"heix") | Some(b"mif1") | Some(b"msf1") | Some(b"hevc") => {
                Some(Format::Heic)
            }
            _ => None,
        }
    } else {
        let text = &head[..head.len().min(256)];
        let lower: Vec<u8> = text.iter().map(|b| b.to_ascii_lowercase()).collect();
        let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
        ((starts(b"<?xml") || starts(b"<svg") || starts(b"\xEF\xBB\xBF<")) && has(b"<svg"))
            .then_some(Format::Svg)
    }
}

/// Returns why the container is cut short, or `None` when its end looks complete.
pub fn truncation(format: Format, bytes: &[u8]) -> Option<String> {
    match format {
        Format::Jpeg => {
            // The last scan (SOS) must be followed by the end-of-image marker. Inside entropy
            // coded data 0xFF is always stuffed, so neither marker occurs there by chance. So:
            // find the last EOI (normally the final bytes, found at once) and look for a scan
            // after it; an EXIF thumbnail's EOI comes before the main image's SOS, so a cut
            // main image is still caught. No SOS at all means broken headers: the decoder
            // reports that as corrupt.
            const SOS: &[u8] = &[0xFF, 0xDA];
            let cut = match memmem::rfind(bytes, &[0xFF, 0xD9]) {
                Some(e) => memmem::find(&bytes[e..], SOS).is_some(),
                None => memmem::find(bytes, SOS).is_some(),
            };
            cut.then(|| "JPEG ends before its end-of-image marker (FF D9)".into())
        }
        Format::Png => memmem::rfind(bytes, b"IEND")
            .is_none()
            .then(|| "PNG ends before its IEND chunk".into()),
        Format::Gif => gif_frames(bytes).err(),
        Format::Webp => {
            let declared = bytes
                .get(4..8)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize + 8);
            match declared {
                Some(n) if n <= bytes.len() => None,
                Some(n) => Some(format!(
                    "WebP declares {n} bytes but the file has {}",
                    bytes.len()
                )),
                None => Some("WebP header is cut short".into()),
            }
        }
        Format::Bmp => {
            let declared = bytes
                .get(2..6)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            match declared {
                Some(n) if n > bytes.len() => Some(format!(
                    "BMP declares {n} bytes but the file has {}",
                    bytes.len()
                )),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Walks a GIF's block structure and counts its frames; an error says where it ends early.
pub fn gif_frames(b: &[u8]) -> Result<usize, String> {
    let short = || "GIF ends before its trailer (0x3B)".to_string();
    let mut i = 13usize;
    let lsd = *b.get(10).ok_or_else(short)?;
    if lsd & 0x80 != 0 {
        i += 3 * (1usize << ((lsd & 7) + 1));
    }
    let skip_sub_blocks = |mut i: usize| -> Result<usize, String> {
        loop {
            let n = *b.get(i).ok_or_else(short)? as usize;
            i += 1;
            if n == 0 {
                return Ok(i);
            }
            i += n;
        }
    };
    let mut frames = 0;
    loop {
        match *b.get(i).ok_or_else(short)? {
            0x3B => return Ok(frames),
            0x21 => i = skip_sub_blocks(i + 2)?,
            0x2C => {
                let flags = *b.get(i + 9).ok_or_else(short)?;
                i += 10;
                if flags & 0x80 != 0 {
                    i += 3 * (1usize << ((flags & 7) + 1));
                }
                i = skip_sub_blocks(i + 1)?;
                frames += 1;
            }
            other => {
                return Err(format!(
                    "GIF has an unknown block 0x{other:02X} at byte {i}"
                ));
            }
        }
    }
}

/// Does the file hold more than one frame (animated GIF, APNG, animated WebP)?
pub fn is_animated(format: Format, bytes: &[u8]) -> bool {
    match format {
        Format::Gif => gif_frames(bytes).is_ok_and(|n| n > 1),
        Format::Png => {
            // APNG: an acTL chunk before the first IDAT.
            let idat = bytes
                .windows(4)
                .position(|w| w == b"IDAT")
                .unwrap_or(bytes.len());
            bytes[..idat].windows(4).any(|w| w == b"acTL")
        }
        Format::Webp => {
            bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|f| f & 0x02 != 0)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_formats() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(sniff(b"GIF89a......"), Some(Format::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif"), Some(Format::Avif));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic"), Some(Format::Heic));
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns"),
            Some(Format::Svg)
        );
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn extension_mapping() {
        assert_eq!(Format::from_extension("JPG"), Some(Format::Jpeg));
        assert_eq!(Format::from_extension("tif"), Some(Format::Tiff));
        assert_eq!(Format::from_extension("txt"), None);
        assert!(keras_takes_extension(Path::new("a/b.JPEG")));
        assert!(!keras_takes_extension(Path::new("a/b.webp")));
    }

    #[test]
    fn jpeg_truncation() {
        let thumb_then_cut = [
            &[0xFF, 0xD8, 0xFF, 0xE1][..],
            &[0xFF, 0xDA, 1, 2, 0xFF, 0xD9], // thumbnail inside EXIF
            &[0xFF, 0xDA, 5, 6, 7],          // main scan, cut
        ]
        .concat();
        assert!(truncation(Format::Jpeg, &thumb_then_cut).is_some());
        let whole = [&thumb_then_cut[..], &[0xFF, 0xD9, 0, 0]].concat();
        assert!(truncation(Format::Jpeg, &whole).is_none());
    }

    #[test]
    fn gif_walk() {
        // header + LSD without colour table, one image of 1x1 with LZW data, trailer.
        let mut g = b"GIF89a".to_vec();
        g.extend_from_slice(&[1, 0, 1, 0, 0, 0, 0]);
        let frame = [0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0];
        g.extend_from_slice(&frame);
        g.push(0x3B);
        assert_eq!(gif_frames(&g), Ok(1));
        assert!(!is_animated(Format::Gif, &g));
        let mut two = g[..g.len() - 1].to_vec();
        two.extend_from_slice(&frame);
        two.push(0x3B);
        assert!(is_animated(Format::Gif, &two));
        assert!(truncation(Format::Gif, &g[..g.len() - 3]).is_some());
    }
}
