//! The index: one [`Record`] per image file, stored as CSV.
//!
//! The CSV schema is a contract (README.md, "The index"): later stages and users' scripts read
//! it, so columns are only ever added at the end. Paths are written as raw bytes so that
//! non-UTF-8 file names survive a round trip; commas, quotes and newlines are quoted by `csv`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::base::format::Format;
use crate::base::hash::{Hash256, Hashes256};
pub use crate::base::paths::path_field;
use crate::base::paths::path_from_bytes;

/// The index's `format` column: the format's name, `unknown` when the bytes matched none.
pub fn format_name(f: Option<Format>) -> &'static str {
    f.map_or("unknown", Format::as_str)
}

/// The header every index starts with. A file with another header is not reused, except an
/// index of an earlier schema (a prefix of this header, see [`read_versioned`]).
pub const HEADER: [&str; 24] = [
    "path",
    "split",
    "class",
    "size",
    "mtime_ns",
    "blake3",
    "format",
    "ext_mismatch",
    "width",
    "height",
    "color",
    "orientation",
    "phash",
    "dhash",
    "phash_crop",
    "flags",
    "status",
    "message",
    "keras_ok",
    "jpeg_quality",
    "phash256",
    "phash256_untrimmed",
    "phash256_crop90",
    "phash256_crop75",
];

/// Columns of the index before `jpeg_quality` was added. An index with this header is still
/// reused: its JPEG records get their quality from the file's header at the next scan
/// (`scan::run`, from the first 256 KiB of each file), without rehashing.
pub const HEADER_V1_LEN: usize = 19;

/// Columns before the 256-bit hashes (`jpeg_quality` included): records read from such an
/// index have no 256-bit hashes, and the scan hashes again only the images that lack them.
pub const LEGACY_COLUMNS: usize = 20;

pub use crate::base::flags::{Flag, Flags, Status};

/// Everything the scan learns about one image file.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Path relative to ROOT (raw bytes on Unix, so non-UTF-8 names survive).
    pub path: PathBuf,
    /// Split folder name as found on disk (`""` when the layout has no splits).
    pub split: String,
    /// Class label; `""` for an image without one (flag `unlabeled`).
    pub class: String,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch; with `size`, the reuse key.
    pub mtime_ns: i64,
    /// BLAKE3 of the file's bytes, first 128 bits as 32 hex digits.
    pub blake3: String,
    /// Format detected from the bytes; `None` when none matched (written `unknown`).
    pub format: Option<Format>,
    pub width: u32,
    pub height: u32,
    /// Colour type as the decoder reports it (`rgb8`, `l8`, `rgba8`, `cmyk8`, `rgb16`, ...).
    pub color: String,
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
    /// The decoder's (or reader's) message for a non-ok status; empty when ok.
    pub message: String,
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

fn opt_hex256(h: Option<Hash256>) -> String {
    h.map(|h| h.to_string()).unwrap_or_default()
}

fn parse_opt_hex256(s: &str) -> Result<Option<Hash256>> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(anyhow::Error::msg)
}

/// The 256-bit hashes of a row (`None` in a legacy row or when the columns are empty).
fn hash256_of(rec: &csv::ByteRecord) -> Result<Option<Hashes256>> {
    if rec.len() <= LEGACY_COLUMNS {
        return Ok(None);
    }
    let col = |i: usize| parse_opt_hex256(field(rec, LEGACY_COLUMNS + i)?);
    let (full, untrimmed, c90, c75) = (col(0)?, col(1)?, col(2)?, col(3)?);
    Ok(match (full, c90, c75) {
        (Some(full), Some(c90), Some(c75)) => Some(Hashes256 {
            full,
            untrimmed,
            crops: [c90, c75],
        }),
        (None, None, None) => None,
        _ => bail!("incomplete 256-bit hashes"),
    })
}

/// Formats a hash as 16 lowercase hex digits.
pub fn hex64(h: u64) -> String {
    format!("{h:016x}")
}

fn opt_hex(h: Option<u64>) -> String {
    h.map(hex64).unwrap_or_default()
}

fn parse_opt_hex(s: &str) -> Result<Option<u64>> {
    if s.is_empty() {
        Ok(None)
    } else {
        Ok(Some(
            u64::from_str_radix(s, 16).with_context(|| format!("bad hash {s:?}"))?,
        ))
    }
}

fn to_byte_record(r: &Record) -> csv::ByteRecord {
    let mut out = csv::ByteRecord::new();
    out.push_field(&path_field(&r.path));
    out.push_field(r.split.as_bytes());
    out.push_field(r.class.as_bytes());
    out.push_field(r.size.to_string().as_bytes());
    out.push_field(r.mtime_ns.to_string().as_bytes());
    out.push_field(r.blake3.as_bytes());
    out.push_field(format_name(r.format).as_bytes());
    out.push_field(if r.flags.contains(Flag::ExtMismatch) {
        b"true"
    } else {
        b"false"
    });
    out.push_field(r.width.to_string().as_bytes());
    out.push_field(r.height.to_string().as_bytes());
    out.push_field(r.color.as_bytes());
    out.push_field(r.orientation.to_string().as_bytes());
    out.push_field(opt_hex(r.phash).as_bytes());
    out.push_field(opt_hex(r.dhash).as_bytes());
    out.push_field(opt_hex(r.phash_crop).as_bytes());
    out.push_field(r.flags.to_string().as_bytes());
    out.push_field(r.status.as_str().as_bytes());
    out.push_field(r.message.as_bytes());
    out.push_field(if r.keras_ok() { b"true" } else { b"false" });
    out.push_field(
        r.jpeg_quality
            .map(|q| q.to_string())
            .unwrap_or_default()
            .as_bytes(),
    );
    let h = r.hash256;
    out.push_field(opt_hex256(h.map(|h| h.full)).as_bytes());
    out.push_field(opt_hex256(h.and_then(|h| h.untrimmed)).as_bytes());
    out.push_field(opt_hex256(h.map(|h| h.crops[0])).as_bytes());
    out.push_field(opt_hex256(h.map(|h| h.crops[1])).as_bytes());
    out
}

fn field(rec: &csv::ByteRecord, i: usize) -> Result<&str> {
    let raw = rec
        .get(i)
        .with_context(|| format!("missing column {}", HEADER[i]))?;
    std::str::from_utf8(raw).with_context(|| format!("column {} is not UTF-8", HEADER[i]))
}

fn from_byte_record(rec: &csv::ByteRecord) -> Result<Record> {
    let num = |i: usize| -> Result<&str> { field(rec, i) };
    Ok(Record {
        path: path_from_bytes(rec.get(0).context("missing path")?),
        split: field(rec, 1)?.to_owned(),
        class: field(rec, 2)?.to_owned(),
        size: num(3)?.parse().context("bad size")?,
        mtime_ns: num(4)?.parse().context("bad mtime_ns")?,
        blake3: field(rec, 5)?.to_owned(),
        format: Format::parse(field(rec, 6)?),
        width: num(8)?.parse().context("bad width")?,
        height: num(9)?.parse().context("bad height")?,
        color: field(rec, 10)?.to_owned(),
        orientation: num(11)?.parse().context("bad orientation")?,
        phash: parse_opt_hex(field(rec, 12)?)?,
        dhash: parse_opt_hex(field(rec, 13)?)?,
        phash_crop: parse_opt_hex(field(rec, 14)?)?,
        hash256: hash256_of(rec)?,
        flags: field(rec, 15)?.parse().map_err(anyhow::Error::msg)?,
        status: field(rec, 16)?.parse().map_err(anyhow::Error::msg)?,
        message: field(rec, 17)?.to_owned(),
        jpeg_quality: match rec.get(19).unwrap_or_default() {
            b"" => None,
            q => Some(
                std::str::from_utf8(q)
                    .ok()
                    .and_then(|q| q.parse().ok())
                    .context("bad jpeg_quality")?,
            ),
        },
    })
}

/// Writes records to any writer as index CSV (header first).
pub fn write_to<W: io::Write>(w: W, records: &[Record]) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(HEADER)?;
    for r in records {
        wtr.write_byte_record(&to_byte_record(r))?;
    }
    wtr.flush()?;
    Ok(())
}

/// Reads index CSV from any reader. Fails on a foreign header or a malformed row. An index
/// of the previous version (without `jpeg_quality`) reads with `jpeg_quality` empty.
pub fn read_from<R: io::Read>(r: R) -> Result<Vec<Record>> {
    Ok(read_versioned(r)?.0)
}

/// [`read_from`], also saying whether the index predates the `jpeg_quality` column.
pub fn read_versioned<R: io::Read>(r: R) -> Result<(Vec<Record>, bool)> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(r);
    let header = rdr.byte_headers()?.clone();
    let n = header.len();
    let known = n == HEADER_V1_LEN || n == LEGACY_COLUMNS || n == HEADER.len();
    let legacy = n == HEADER_V1_LEN;
    if !known || header.iter().ne(HEADER[..n].iter().map(|h| h.as_bytes())) {
        bail!("not a cleansplit index (unexpected header)");
    }
    let mut out = Vec::new();
    let mut rec = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut rec)? {
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        out.push(from_byte_record(&rec).with_context(|| format!("index line {line}"))?);
    }
    Ok((out, legacy))
}

/// Reads an index file.
pub fn read(path: &Path) -> Result<Vec<Record>> {
    Ok(read_file_versioned(path)?.0)
}

/// Reads an index file, also saying whether it predates the `jpeg_quality` column.
pub fn read_file_versioned(path: &Path) -> Result<(Vec<Record>, bool)> {
    let f =
        fs::File::open(path).with_context(|| format!("cannot open index {}", path.display()))?;
    read_versioned(io::BufReader::new(f))
        .with_context(|| format!("cannot read index {}", path.display()))
}

/// Writes `records` to `path` atomically: a temporary file in the same folder, then a rename,
/// so a reader never sees half an index and a crash never destroys the previous one.
pub fn write_atomic(path: &Path, records: &[Record]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    write_to(io::BufWriter::new(tmp.as_file()), records)?;
    tmp.as_file().sync_all().ok();
    tmp.persist(path)
        .with_context(|| format!("cannot write index {}", path.display()))?;
    Ok(())
}

/// Records keyed by path, for incremental reuse.
pub fn by_path(records: Vec<Record>) -> HashMap<PathBuf, Record> {
    records.into_iter().map(|r| (r.path.clone(), r)).collect()
}

/// Default index location: `<cache dir>/cleansplit/<name>-<hash of canonical ROOT>.csv`.
/// Never inside the dataset: a hidden folder there would become a bogus class for Keras.
pub fn default_path(canonical_root: &Path) -> Result<PathBuf> {
    let cache = dirs::cache_dir()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("no cache directory (set XDG_CACHE_HOME or use --index PATH)")?;
    let key = blake3::hash(&path_field(canonical_root)).to_hex();
    let name = canonical_root
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        })
        .unwrap_or_else(|| "root".into());
    Ok(cache
        .join("cleansplit")
        .join(format!("{name}-{}.csv", &key.as_str()[..16])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: PathBuf) -> Record {
        let mut flags = Flags::default();
        flags.insert(Flag::Gray);
        flags.insert(Flag::Tiny);
        Record {
            path,
            split: "train".into(),
            class: "cats".into(),
            size: 123,
            mtime_ns: 1_700_000_000_123_456_789,
            blake3: "00ff".into(),
            format: Some(Format::Jpeg),
            width: 10,
            height: 20,
            color: "l8".into(),
            orientation: 6,
            phash: Some(0xdead_beef_0000_0001),
            dhash: None,
            phash_crop: Some(0),
            hash256: Some(Hashes256 {
                full: Hash256([1, 2, 3, u64::MAX]),
                untrimmed: None,
                crops: [Hash256([5; 4]), Hash256([0; 4])],
            }),
            flags,
            status: Status::Ok,
            message: "msg, with \"quotes\"\nand a newline".into(),
            jpeg_quality: Some(87),
        }
    }

    #[test]
    fn legacy_index_is_read_without_256_bit_hashes() {
        let mut r = sample("train/cats/a.jpg".into());
        r.message = "plain".into();
        r.hash256.as_mut().unwrap().untrimmed = Some(Hash256([9; 4]));
        let mut buf = Vec::new();
        write_to(&mut buf, std::slice::from_ref(&r)).unwrap();
        assert_eq!(read_from(buf.as_slice()).unwrap(), vec![r.clone()]);
        // The same row in the previous schema: the first 19 columns only.
        let text = String::from_utf8(buf).unwrap();
        let legacy: String = text
            .lines()
            .map(|l| l.rsplitn(5, ',').last().unwrap().to_owned() + "\n")
            .collect();
        let back = read_from(legacy.as_bytes()).unwrap();
        r.hash256 = None;
        assert_eq!(back, vec![r.clone()]);
        assert!(back[0].lacks_hash256());
        // A row with only some of the 256-bit hashes is refused.
        let broken = text.replacen(&Hash256([5; 4]).to_string(), "", 1);
        assert!(read_from(broken.as_bytes()).is_err());
    }

    #[test]
    fn round_trip_with_hostile_names() {
        let mut names = vec![
            PathBuf::from("train/cats/a,b.jpg"),
            PathBuf::from("train/cats/q\"uote.jpg"),
            PathBuf::from("train/cats/new\nline.jpg"),
        ];
        #[cfg(unix)]
        names.push(path_from_bytes(b"train/cats/bad\xff\xfename.jpg"));
        let records: Vec<Record> = names.into_iter().map(sample).collect();
        let mut buf = Vec::new();
        write_to(&mut buf, &records).unwrap();
        let back = read_from(buf.as_slice()).unwrap();
        assert_eq!(back, records);
    }

    #[test]
    fn an_index_without_jpeg_quality_still_reads() {
        let mut r = sample("a.jpg".into());
        r.message = "one, line".into();
        let mut buf = Vec::new();
        write_to(&mut buf, &[r]).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let old: String = text
            .lines()
            .map(|l| {
                // Drop `jpeg_quality` and the four 256-bit hash columns after it.
                let mut l = l;
                for _ in 0..HEADER.len() - HEADER_V1_LEN {
                    l = l.rsplit_once(',').unwrap().0;
                }
                l.to_string() + "\n"
            })
            .collect();
        let (back, legacy) = read_versioned(old.as_bytes()).unwrap();
        assert!(legacy);
        assert_eq!(back[0].jpeg_quality, None);
        assert_eq!(back[0].message, "one, line");
        let (_, legacy) = read_versioned(text.as_bytes()).unwrap();
        assert!(!legacy);
    }

    #[test]
    fn foreign_header_is_rejected() {
        let err = read_from("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("not a cleansplit index"));
    }

    #[test]
    fn flags_round_trip() {
        let mut f = Flags::default();
        for flag in Flag::ALL {
            f.insert(flag);
        }
        assert_eq!(f.to_string().parse::<Flags>().unwrap(), f);
        assert_eq!("".parse::<Flags>().unwrap(), Flags::default());
        assert!("bogus".parse::<Flags>().is_err());
    }

    #[test]
    fn atomic_write_replaces_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/index.csv");
        write_atomic(&p, &[sample("a.jpg".into())]).unwrap();
        write_atomic(&p, &[sample("b.jpg".into()), sample("c.jpg".into())]).unwrap();
        let back = read(&p).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1
        );
    }
}
