//! [`Record`]: everything the scan learns about one image file, compact in memory (interned
//! names, 16-byte digest), and the small value types it holds. The index (`index`) stores
//! records as CSV through the column table (`index_columns`).

use crate::base::format::Format;
use crate::base::hash::{Hash256, Hashes256};
use crate::base::intern::Name;
use crate::base::rel_path::RelPath;

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

use crate::base::flags::{Flag, Flags, Status};

/// Everything the scan learns about one image file.
///
/// A million records are held at once, so the record is compact: the optional hashes are
/// plain values plus presence bits (read and set through [`Record::phash`],
/// [`Record::set_phash`] and their kin, which speak `Option` as before), and an empty message
/// takes no allocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Path relative to ROOT (raw bytes on Unix, so non-UTF-8 names survive).
    pub path: RelPath,
    /// Split folder name as found on disk (`""` when the layout has no splits).
    pub split: Name,
    /// Class label; `""` for an image without one (flag `unlabeled`).
    pub class: Name,
    /// Colour type as the decoder reports it (`rgb8`, `l8`, `rgba8`, `cmyk8`, `rgb16`, ...).
    pub color: Name,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch; with `size`, the reuse key.
    pub mtime_ns: i64,
    /// The 256-bit hashes: full, crop90, crop75 (see [`Record::hash256`]).
    hash256: [Hash256; 3],
    /// The untrimmed view's 256-bit hash: out of line, as most images have no border to trim
    /// (8 bytes instead of 32).
    untrimmed: Option<Box<Hash256>>,
    phash: u64,
    dhash: u64,
    phash_crop: u64,
    blake3: Digest,
    /// The decoder's (or reader's) message for a non-ok status; empty when ok.
    pub message: Message,
    pub width: u32,
    pub height: u32,
    pub flags: Flags,
    /// Format detected from the bytes; `None` when none matched (written `unknown`).
    pub format: Option<Format>,
    /// EXIF orientation 1..=8 (1 when absent); hashes are of the corrected image.
    pub orientation: u8,
    pub status: Status,
    jpeg_quality: u8,
    /// Which of the optional values are there (the `HAS_*` bits); an absent one is stored as
    /// zero, so the derived equality is the `Option`s' equality.
    present: u8,
}

const HAS_BLAKE3: u8 = 1;
const HAS_PHASH: u8 = 2;
const HAS_DHASH: u8 = 4;
const HAS_PHASH_CROP: u8 = 8;
const HAS_HASH256: u8 = 16;
const HAS_QUALITY: u8 = 32;

impl Record {
    /// A record of `path` with nothing else known: no split or class, status `unreadable`, no
    /// hashes, orientation 1 (what an index row without the optional columns says).
    pub fn new(path: impl Into<RelPath>) -> Record {
        Record {
            path: path.into(),
            split: Name::default(),
            class: Name::default(),
            color: Name::default(),
            size: 0,
            mtime_ns: 0,
            hash256: [Hash256([0; 4]); 3],
            untrimmed: None,
            phash: 0,
            dhash: 0,
            phash_crop: 0,
            blake3: [0; 16],
            message: Message::default(),
            width: 0,
            height: 0,
            flags: Flags::default(),
            format: None,
            orientation: 1,
            status: Status::Unreadable,
            jpeg_quality: 0,
            present: 0,
        }
    }

    fn has(&self, bit: u8) -> bool {
        self.present & bit != 0
    }

    /// Stores `v` (zero when absent) and its presence bit.
    fn put<T: Copy + Default>(present: &mut u8, bit: u8, slot: &mut T, v: Option<T>) {
        *present = if v.is_some() {
            *present | bit
        } else {
            *present & !bit
        };
        *slot = v.unwrap_or_default();
    }

    /// BLAKE3 of the file's bytes, first 128 bits (`None` when the file was not read).
    pub fn blake3(&self) -> Option<Digest> {
        self.has(HAS_BLAKE3).then_some(self.blake3)
    }

    pub fn set_blake3(&mut self, d: Option<Digest>) {
        Self::put(&mut self.present, HAS_BLAKE3, &mut self.blake3, d);
    }

    /// 64-bit DCT hash of the border-trimmed, orientation-corrected image; see `scan::hash`.
    pub fn phash(&self) -> Option<u64> {
        self.has(HAS_PHASH).then_some(self.phash)
    }

    pub fn set_phash(&mut self, h: Option<u64>) {
        Self::put(&mut self.present, HAS_PHASH, &mut self.phash, h);
    }

    /// 64-bit difference hash from the same reduction.
    pub fn dhash(&self) -> Option<u64> {
        self.has(HAS_DHASH).then_some(self.dhash)
    }

    pub fn set_dhash(&mut self, h: Option<u64>) {
        Self::put(&mut self.present, HAS_DHASH, &mut self.dhash, h);
    }

    /// pHash of the central 90% x 90% of the trimmed image (matches centre crops).
    pub fn phash_crop(&self) -> Option<u64> {
        self.has(HAS_PHASH_CROP).then_some(self.phash_crop)
    }

    pub fn set_phash_crop(&mut self, h: Option<u64>) {
        Self::put(&mut self.present, HAS_PHASH_CROP, &mut self.phash_crop, h);
    }

    /// 256-bit hashes (trimmed and untrimmed views, 90% and 75% centre crops); see
    /// `scan::hash256`. `None` for files that were not decoded, and for records of an index
    /// written before these columns existed (the scan hashes those again).
    pub fn hash256(&self) -> Option<Hashes256> {
        let [full, c90, c75] = self.hash256;
        self.has(HAS_HASH256).then_some(Hashes256 {
            full,
            untrimmed: self.untrimmed.as_deref().copied(),
            crops: [c90, c75],
        })
    }

    pub fn set_hash256(&mut self, h: Option<Hashes256>) {
        self.untrimmed = h.and_then(|h| h.untrimmed).map(Box::new);
        self.present &= !HAS_HASH256;
        self.hash256 = match h {
            Some(h) => {
                self.present |= HAS_HASH256;
                [h.full, h.crops[0], h.crops[1]]
            }
            None => [Hash256([0; 4]); 3],
        };
    }

    /// Changes the 256-bit hashes in place (absent ones stay absent).
    pub fn edit_hash256(&mut self, f: impl FnOnce(&mut Hashes256)) {
        if let Some(mut h) = self.hash256() {
            f(&mut h);
            self.set_hash256(Some(h));
        }
    }

    /// Encoder quality of a JPEG (1..=100) estimated from its quantisation tables
    /// (`scan::quality`); `None` for other formats or when no table could be read.
    pub fn jpeg_quality(&self) -> Option<u8> {
        self.has(HAS_QUALITY).then_some(self.jpeg_quality)
    }

    pub fn set_jpeg_quality(&mut self, q: Option<u8>) {
        Self::put(&mut self.present, HAS_QUALITY, &mut self.jpeg_quality, q);
    }

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
        self.is_ok() && self.has(HAS_PHASH) && !self.flags.contains(Flag::NearConstant)
    }

    /// A decoded image whose record predates the 256-bit hashes: reused otherwise, but it must
    /// be hashed again.
    pub fn lacks_hash256(&self) -> bool {
        self.is_ok() && !self.has(HAS_HASH256)
    }
}

/// A record's message (the decoder's or reader's words for a non-ok status): empty for nearly
/// every file, so it takes 8 bytes and no allocation when empty. Reads as a `&str`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Message(Option<Box<Box<str>>>);

impl std::ops::Deref for Message {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_deref().map_or("", |s| s)
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message((!s.is_empty()).then(|| Box::new(s.into())))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message((!s.is_empty()).then(|| Box::new(s.into_boxed_str())))
    }
}

impl PartialEq<str> for Message {
    fn eq(&self, other: &str) -> bool {
        **self == *other
    }
}

impl PartialEq<&str> for Message {
    fn eq(&self, other: &&str) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

/// A decoded 10 x 10 JPEG record of `split`/`class` with zero 64-bit hashes: the unit tests'
/// record.
#[cfg(test)]
pub(crate) fn rec(path: &str, split: &str, class: &str) -> Record {
    let mut r = Record::new(path);
    (r.split, r.class) = (split.into(), class.into());
    (r.size, r.mtime_ns) = (100, 1);
    r.format = Some(Format::Jpeg);
    (r.width, r.height) = (10, 10);
    r.color = "rgb8".into();
    r.set_phash(Some(0));
    r.set_dhash(Some(0));
    r.set_phash_crop(Some(0));
    r.status = Status::Ok;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A million records are held at once: the record's size is pinned so it cannot grow
    /// silently (docs/BENCHMARKS.md "At a million images").
    #[test]
    fn record_stays_compact() {
        assert_eq!(std::mem::size_of::<Record>(), 208);
        assert_eq!(std::mem::size_of::<Message>(), 8);
    }

    #[test]
    fn optional_values_read_back_as_set() {
        let mut r = Record::new("a.jpg");
        assert_eq!(
            (r.phash(), r.hash256(), r.jpeg_quality()),
            (None, None, None)
        );
        let h = Hashes256 {
            full: Hash256([1; 4]),
            untrimmed: None,
            crops: [Hash256([2; 4]), Hash256([3; 4])],
        };
        r.set_hash256(Some(h));
        r.set_phash(Some(0));
        r.set_jpeg_quality(Some(0));
        r.set_blake3(Some([7; 16]));
        assert_eq!(r.hash256(), Some(h));
        assert_eq!(
            (r.phash(), r.dhash(), r.jpeg_quality()),
            (Some(0), None, Some(0))
        );
        assert!(r.lacks_hash256() == r.is_ok());
        let with_untrimmed = Hashes256 {
            untrimmed: Some(Hash256([0; 4])),
            ..h
        };
        r.set_hash256(Some(with_untrimmed));
        assert_eq!(r.hash256(), Some(with_untrimmed));
        let mut back = r.clone();
        back.set_hash256(None);
        back.set_phash(None);
        assert_ne!(back, r);
        assert_eq!(back.hash256(), None);
        assert_eq!(back.blake3(), Some([7; 16]));
        assert_eq!(Message::from(""), Message::default());
        assert_eq!(&*Message::from("bad, file".to_string()), "bad, file");
    }
}
