//! Which files a training loader really reads: one rule per loader, so scan, balance, split,
//! audit and the report all count the same images (`--loader`).
//!
//! A directory loader does two things, and each can lose a file:
//! 1. it *lists* files by extension (an allow-list, case-insensitive): a file with another
//!    extension is silently ignored — never loaded, never an error;
//! 2. it *decodes* each listed file by its content: a listed file it cannot decode (a TIFF
//!    named `.png`, a truncated JPEG) stops training with an error.
//!
//! The rules follow these versions (checked against their source and, where installable,
//! against the real loader: `scripts/real_loaders.py`, docs/GUIDE.md "Loaders"):
//! - `keras` (default): Keras 3 `keras.utils.image_dataset_from_directory` on TensorFlow 2.21.
//!   Lists `.bmp .gif .jpeg .jpg .png` (`ALLOWLIST_FORMATS` in
//!   `keras/src/utils/image_dataset_utils.py`), decodes with `tf.io.decode_image`: JPEG
//!   (CMYK too), PNG (16-bit too), GIF (first frame), BMP, and WebP (TF 2.21 decodes WebP
//!   content, so a WebP named `.jpg` loads).
//! - `keras-legacy`: `ImageDataGenerator.flow_from_directory` (Keras 2 / `tf.keras` and
//!   `keras.src.legacy`). Lists `.png .jpg .jpeg .bmp .ppm .tif .tiff` (`white_list_formats`
//!   of `DirectoryIterator`; no `.gif`), decodes with PIL (`load_img`).
//! - `torch`: torchvision 0.29 `datasets.ImageFolder`. Lists `IMG_EXTENSIONS` =
//!   `.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp`, decodes with PIL (`default_loader`,
//!   `Image.open(f).convert("RGB")`).
//!
//! PIL (Pillow 12/13, the wheels on PyPI) decodes JPEG, PNG, GIF, BMP, WebP, TIFF, ICO, the
//! PNM family, QOI and AVIF by content, whatever the extension says; not HEIC or SVG.

pub mod coverage;

use std::fmt;
use std::path::Path;

use crate::base::format::Format;
use crate::index::Record;

/// A training loader whose view of the dataset the counts follow (`--loader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loader {
    /// Keras 3 `image_dataset_from_directory` + TensorFlow 2.21 `decode_image`.
    #[default]
    Keras,
    /// `ImageDataGenerator.flow_from_directory`, decoded by PIL.
    KerasLegacy,
    /// torchvision `ImageFolder`, decoded by PIL.
    Torch,
}

/// What a loader does with one indexed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Listed and decoded: the file is part of training.
    Loads,
    /// Not listed (its extension is not on the loader's allow-list): silently left out.
    Ignored,
    /// Listed, then not decodable: training stops with an error on it. The reason says why.
    Fails(String),
}

impl Loader {
    pub const ALL: [Loader; 3] = [Loader::Keras, Loader::KerasLegacy, Loader::Torch];

    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Loader::Keras => "keras",
            Loader::KerasLegacy => "keras-legacy",
            Loader::Torch => "torch",
        }
    }

    /// The loader and the version its rule follows, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Loader::Keras => {
                "Keras 3 image_dataset_from_directory + TensorFlow 2.21 (bmp/gif/jpeg/jpg/png names; JPEG, PNG, GIF, BMP, WebP content)"
            }
            Loader::KerasLegacy => {
                "Keras ImageDataGenerator.flow_from_directory + PIL (png/jpg/jpeg/bmp/ppm/tif/tiff names; what Pillow decodes)"
            }
            Loader::Torch => {
                "torchvision 0.29 ImageFolder + PIL (jpg/jpeg/png/ppm/bmp/pgm/tif/tiff/webp names; what Pillow decodes)"
            }
        }
    }

    /// The extensions the loader lists (lower case, without the dot).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Loader::Keras => &["bmp", "gif", "jpeg", "jpg", "png"],
            Loader::KerasLegacy => &["png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff"],
            Loader::Torch => &[
                "jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp",
            ],
        }
    }

    /// Does the loader list a file with this name? Loaders compare the lower-cased name's
    /// ending, so `A.JPG` is listed and `a.jpg.txt` is not.
    pub fn lists(self, path: &Path) -> bool {
        path.extension()
            .and_then(|e| e.to_str())
            // The list is lowercase; no lowercased copy per file (it is asked per record).
            .is_some_and(|e| self.extensions().iter().any(|x| e.eq_ignore_ascii_case(x)))
    }

    /// Does the loader's decoder read content of this format?
    pub fn decodes(self, format: Format) -> bool {
        match self {
            // tf.io.decode_image: BMP, GIF, JPEG, PNG, and WebP since TF 2.18.
            Loader::Keras => matches!(
                format,
                Format::Jpeg | Format::Png | Format::Gif | Format::Bmp | Format::Webp
            ),
            Loader::KerasLegacy | Loader::Torch => pil_decodes(format),
        }
    }

    /// What the loader does with `r` (an indexed file).
    pub fn verdict(self, r: &Record) -> Verdict {
        if !self.lists(&r.path) {
            return Verdict::Ignored;
        }
        if !r.is_ok() {
            return Verdict::Fails(format!("status {}", r.status));
        }
        match r.format {
            Some(f) if self.decodes(f) => Verdict::Loads,
            Some(f) => Verdict::Fails(format!("{} content cannot be decoded", f.as_str())),
            None => Verdict::Fails("content is not a known image format".into()),
        }
    }

    /// What the loader does with a class folder that holds no file it loads, for the
    /// weight-0 warning (checked against the real loaders: `tests/real_tools.rs`).
    pub fn empty_class_note(self) -> &'static str {
        match self {
            Loader::Keras | Loader::KerasLegacy => {
                "the loader still gives it a class index, so its weight is 0"
            }
            Loader::Torch => {
                "torchvision's ImageFolder stops on a class folder with no file it lists (\"Found no valid file for the classes ...\"): remove the folder or add images"
            }
        }
    }

    /// Does the loader use `r` for training?
    pub fn loads(self, r: &Record) -> bool {
        self.verdict(r) == Verdict::Loads
    }

    /// Why the loader does not use `r`, in a few words, or `None` when it does.
    pub fn exclusion(self, r: &Record) -> Option<String> {
        match self.verdict(r) {
            Verdict::Loads => None,
            Verdict::Ignored => Some(format!(
                "not listed by {} (extension {})",
                self.as_str(),
                r.path
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy().to_ascii_lowercase()))
                    .unwrap_or_else(|| "none".into())
            )),
            Verdict::Fails(why) => Some(format!("{} fails on it: {why}", self.as_str())),
        }
    }
}

/// Formats Pillow opens by content (Pillow 12/13 wheels: AVIF is built in since 11.3).
fn pil_decodes(format: Format) -> bool {
    !matches!(format, Format::Heic | Format::Svg)
}

impl fmt::Display for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Loader {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Loader::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown loader {s:?} (keras, keras-legacy, torch)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::flags::Status;
    use crate::index::rec;

    fn file(path: &str, format: &str) -> Record {
        let mut r = rec(path, "train", "a");
        r.format = Format::parse(format);
        r
    }

    #[test]
    fn keras_lists_five_extensions_and_decodes_webp_content() {
        let k = Loader::Keras;
        assert!(k.loads(&file("train/a/x.JPG", "jpeg")));
        assert!(k.loads(&file("train/a/x.gif", "gif")));
        // TF 2.21 decodes WebP content; the allow-list still decides what is listed.
        assert!(k.loads(&file("train/a/x.jpg", "webp")));
        assert_eq!(k.verdict(&file("train/a/x.webp", "webp")), Verdict::Ignored);
        // A TIFF named .png is listed, then fails: training stops on it.
        assert!(matches!(
            k.verdict(&file("train/a/x.png", "tiff")),
            Verdict::Fails(_)
        ));
    }

    #[test]
    fn legacy_keras_takes_tiff_and_ppm_but_not_gif() {
        let l = Loader::KerasLegacy;
        assert!(l.loads(&file("train/a/x.tif", "tiff")));
        assert!(l.loads(&file("train/a/x.ppm", "pnm")));
        assert!(l.loads(&file("train/a/x.png", "tiff"))); // PIL reads by content
        assert_eq!(l.verdict(&file("train/a/x.gif", "gif")), Verdict::Ignored);
        assert_eq!(l.verdict(&file("train/a/x.webp", "webp")), Verdict::Ignored);
    }

    #[test]
    fn torch_takes_webp_and_pgm() {
        let t = Loader::Torch;
        assert!(t.loads(&file("train/a/x.webp", "webp")));
        assert!(t.loads(&file("train/a/x.pgm", "pnm")));
        assert_eq!(t.verdict(&file("train/a/x.gif", "gif")), Verdict::Ignored);
        assert!(matches!(
            t.verdict(&file("train/a/x.jpg", "heic")),
            Verdict::Fails(_)
        ));
    }

    #[test]
    fn a_broken_listed_file_fails_and_an_unlisted_one_is_ignored() {
        let mut r = file("train/a/x.jpg", "jpeg");
        r.status = Status::Truncated;
        for l in Loader::ALL {
            assert_eq!(l.verdict(&r), Verdict::Fails("status truncated".into()));
        }
        r.path = "train/a/x.txt".into();
        assert_eq!(Loader::Keras.verdict(&r), Verdict::Ignored);
        assert!(Loader::Keras.exclusion(&r).unwrap().contains(".txt"));
    }

    #[test]
    fn names_round_trip() {
        for l in Loader::ALL {
            assert_eq!(l.as_str().parse::<Loader>().unwrap(), l);
        }
        assert!("tf".parse::<Loader>().is_err());
    }
}
