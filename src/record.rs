//! [`Record`]: everything the scan learns about one image file, compact in memory (interned
//! names, 16-byte digest), and the small value types it holds. The index (`index`) stores
//! records as CSV through the column table (`index_columns`).

use std::path::PathBuf;

use crate::base::format::Format;
use crate::base::hash::Hashes256;
pub use crate::name::Name;

/// The first 128 bits of a BLAKE3 hash (written as 32 hex digits).
pub type Digest = [u8; 16];

/// The [`Digest`] of `bytes`.
pub fn digest_of(bytes: &[u8]) -> Digest {
    let h = blake3::hash(bytes);
    h.as_bytes()[..16].try_into().expect("16 bytes")
}

/// 32 lowercase hex digits.
pub fn digest_hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The index's `format` column: the format's name, `unknown` when the bytes matched none.
pub fn format_name(f: Option<Format>) -> &'static str {
    f.map_or("unknown", Format::as_str)
}

pub use crate::base::flags::{Flag, Flags, Status};

/// Everything the scan learns about one image file.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Path relative to ROOT (raw bytes on Unix, so non-UTF-8 names survive).
    pub path: PathBuf,
    /// Split folder name as found on disk (`""` when the layout has no splits).
    pub split: Name,
    /// Class label; `""` for an image without one (flag `unlabeled`).
    pub class: Name,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch; with `size`, the reuse key.
    pub mtime_ns: i64,
    /// BLAKE3 of the file's bytes, first 128 bits (`None` when the file was not read).
    pub blake3: Option<Digest>,
    /// Format detected from the bytes; `None` when none matched (written `unknown`).
    pub format: Option<Format>,
    pub width: u32,
    pub height: u32,
    /// Colour type as the decoder reports it (`rgb8`, `l8`, `rgba8`, `cmyk8`, `rgb16`, ...).
    pub color: Name,
    /// EXIF orientation 1..=8 (1 when absent); hashes are of the corrected image.
    pub orientation: u8,
    /// 64-bit DCT hash of the border-trimmed, orientation-corrected image; see `scan::hash`.
    pub phash: Option<u64>,
    /// 64-bit difference hash from the same reduction.
    pub dhash: Option<u64>,
    /// pHash of the central 90% x 90% of the trimmed image (matches centre crops).
    pub phash_crop: Option<u64>,
    /// 256-bit hashes (trimmed and untrimmed views, 90% and 75% centre crops); see
    /// `scan::hash256`. `None` for files that were not decoded, and for records of an index
    /// written before these columns existed (the scan hashes those again).
    pub hash256: Option<Hashes256>,
    pub flags: Flags,
    pub status: Status,
    /// The decoder's (or reader's) message for a non-ok status; empty when ok (a `Box<str>`:
    /// 16 bytes and no allocation when empty).
    pub message: Box<str>,
    /// Encoder quality of a JPEG (1..=100) estimated from its quantisation tables
    /// (`scan::quality`); `None` for other formats or when no table could be read.
    pub jpeg_quality: Option<u8>,
}

impl Record {
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// Would Keras' `image_dataset_from_directory` load this file and decode it?
    pub fn keras_ok(&self) -> bool {
        self.is_ok() && !self.flags.contains(Flag::KerasSkips)
    }

    /// Stored in a lossless format (PNG, BMP, ...): ranks above lossy copies when choosing a
    /// representative, and two lossless files with the same hashes hold the same pixels.
    pub fn lossless_format(&self) -> bool {
        self.format.is_some_and(Format::is_lossless)
    }

    /// Pixel count, used to rank duplicate-group representatives.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The perceptual hash is usable for near-duplicate search.
    pub fn hashable(&self) -> bool {
        self.is_ok() && self.phash.is_some() && !self.flags.contains(Flag::NearConstant)
    }

    /// A decoded image whose record predates the 256-bit hashes: reused otherwise, but it must
    /// be hashed again.
    pub fn lacks_hash256(&self) -> bool {
        self.is_ok() && self.hash256.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A million records are held at once: the record's size is pinned so it cannot grow
    /// silently (README "At a million images": bytes per image).
    #[test]
    fn record_stays_compact() {
        assert_eq!(std::mem::size_of::<Record>(), 296);
    }
}
