//! `--normalize WxH,format,mode`: re-encode every written image to one size, container and
//! colour mode, so file metadata no longer tells the classes (or splits) apart
//! (see `shortcuts`). Sources are only read; the copy is a new file.

use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

/// JPEG quality of normalised copies: high enough to keep the content, one value for all.
pub const JPEG_QUALITY: u8 = 90;

/// Output container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Jpeg,
    Png,
}

/// Output colour mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutMode {
    Rgb,
    Gray,
}

/// What every copy becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalize {
    pub width: u32,
    pub height: u32,
    pub format: OutFormat,
    pub mode: OutMode,
}

impl FromStr for Normalize {
    type Err = String;

    /// `224x224,jpeg,rgb`: size, then `jpeg`/`jpg`/`png`, then `rgb`/`gray`/`grayscale`/`l`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("--normalize {s:?}: expected WxH,FORMAT,MODE such as 224x224,jpeg,rgb");
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let [size, format, mode] = parts[..] else {
            return Err(bad());
        };
        let (w, h) = size.split_once(['x', 'X']).ok_or_else(bad)?;
        let (width, height): (u32, u32) =
            (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
        if !(1..=16384).contains(&width) || !(1..=16384).contains(&height) {
            return Err(format!(
                "--normalize {s:?}: width and height must be 1 to 16384"
            ));
        }
        let format = match format.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => OutFormat::Jpeg,
            "png" => OutFormat::Png,
            other => return Err(format!("--normalize: format {other:?} is not jpeg or png")),
        };
        let mode = match mode.to_ascii_lowercase().as_str() {
            "rgb" => OutMode::Rgb,
            "gray" | "grey" | "grayscale" | "l" => OutMode::Gray,
            other => return Err(format!("--normalize: mode {other:?} is not rgb or gray")),
        };
        Ok(Normalize {
            width,
            height,
            format,
            mode,
        })
    }
}

impl fmt::Display for Normalize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.format {
            OutFormat::Jpeg => "jpeg",
            OutFormat::Png => "png",
        };
        let mode = match self.mode {
            OutMode::Rgb => "rgb",
            OutMode::Gray => "gray",
        };
        write!(f, "{}x{},{format},{mode}", self.width, self.height)
    }
}

impl Normalize {
    /// The extension of written copies.
    pub fn extension(&self) -> &'static str {
        match self.format {
            OutFormat::Jpeg => "jpg",
            OutFormat::Png => "png",
        }
    }

    /// Decodes `bytes` (EXIF orientation applied), resizes to exactly WxH (as Keras'
    /// `image_size` does, without keeping the aspect ratio), converts the mode and encodes.
    pub fn encode(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let mut decoder = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()?
            .into_decoder()
            .context("cannot decode")?;
        let orientation = decoder.orientation().ok();
        let mut img = DynamicImage::from_decoder(decoder).context("cannot decode")?;
        if let Some(o) = orientation {
            img.apply_orientation(o);
        }
        let img = img.resize_exact(self.width, self.height, FilterType::Triangle);
        let img = match self.mode {
            OutMode::Rgb => DynamicImage::ImageRgb8(img.to_rgb8()),
            OutMode::Gray => DynamicImage::ImageLuma8(img.to_luma8()),
        };
        let mut out = Vec::new();
        match self.format {
            OutFormat::Jpeg => img
                .write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
                .context("cannot encode JPEG")?,
            OutFormat::Png => img
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
                .context("cannot encode PNG")?,
        }
        Ok(out)
    }

    /// Reads `src`, writes its normalised copy to `dst` (a new file; `src` is never opened
    /// for writing).
    pub fn write(&self, src: &Path, dst: &Path) -> Result<()> {
        if src == dst {
            bail!("refusing to overwrite {}", src.display());
        }
        let bytes = std::fs::read(src).with_context(|| format!("cannot read {}", src.display()))?;
        let out = self
            .encode(&bytes)
            .with_context(|| format!("cannot normalize {}", src.display()))?;
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(dst, out).with_context(|| format!("cannot write {}", dst.display()))
    }
}

/// Gives every destination the normalised extension, keeping names unique (`a.png` and
/// `a.jpg` in one folder become `a.jpg` and `a-2.jpg`).
pub fn rename_destinations(dests: &mut [Option<PathBuf>], ext: &str) {
    let mut used = std::collections::HashSet::new();
    for d in dests.iter_mut().flatten() {
        let stem = d
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let mut candidate = d.with_file_name(format!("{stem}.{ext}"));
        let mut k = 2;
        while used.contains(&candidate) {
            candidate = d.with_file_name(format!("{stem}-{k}.{ext}"));
            k += 1;
        }
        used.insert(candidate.clone());
        *d = candidate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let n: Normalize = "224x160,JPG,grayscale".parse().unwrap();
        assert_eq!(n.to_string(), "224x160,jpeg,gray");
        for bad in [
            "224,jpeg,rgb",
            "0x5,png,rgb",
            "5x5,gif,rgb",
            "5x5,png,cmyk",
            "5x5,png",
        ] {
            assert!(bad.parse::<Normalize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn png_and_jpeg_sources_become_the_same_kind_of_file() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(40, 30, |x, y| {
            image::Rgba([x as u8 * 6, y as u8 * 8, 100, 200])
        }));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let n: Normalize = "16x16,jpeg,rgb".parse().unwrap();
        let out = n.encode(&png).unwrap();
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!((back.width(), back.height()), (16, 16));
        assert_eq!(back.color(), image::ColorType::Rgb8);
        assert_eq!(crate::scan::quality::jpeg_quality(&out), Some(JPEG_QUALITY));
        assert!(n.encode(b"not an image").is_err());
    }

    #[test]
    fn renamed_destinations_stay_unique() {
        let mut d = vec![
            Some(PathBuf::from("train/a/x.png")),
            None,
            Some(PathBuf::from("train/a/x.jpg")),
            Some(PathBuf::from("train/b/x.png")),
        ];
        rename_destinations(&mut d, "jpg");
        assert_eq!(d[0].as_deref(), Some(Path::new("train/a/x.jpg")));
        assert_eq!(d[2].as_deref(), Some(Path::new("train/a/x-2.jpg")));
        assert_eq!(d[3].as_deref(), Some(Path::new("train/b/x.jpg")));
    }
}
