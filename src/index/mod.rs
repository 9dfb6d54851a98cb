//! The index: one [`Record`] per image file, stored as CSV.
//!
//! The CSV schema is a contract (docs/FORMATS.md, "The index"): later stages and users' scripts
//! read it, so columns are only ever added at the end. Paths are written as raw bytes so that
//! non-UTF-8 file names survive a round trip; commas, quotes and newlines are quoted by `csv`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::base::paths::path_field;
use columns::Schema;
use meta::Meta;

pub mod columns;
pub mod merge_index;
pub mod meta;
mod parse;
mod record;
pub mod shard;

#[cfg(test)]
pub(crate) use record::rec;
pub use record::{Digest, Message, Record, digest_hex, digest_of, format_name};

/// Formats a hash as 16 lowercase hex digits.
pub fn hex64(h: u64) -> String {
    format!("{h:016x}")
}

/// Writes records to any writer as index CSV (header first).
pub fn write_to<W: io::Write>(w: W, records: &[Record]) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(columns::header())?;
    let (mut row, mut buf) = (csv::ByteRecord::new(), Vec::new());
    for r in records {
        columns::write_row(r, &mut row, &mut buf);
        wtr.write_byte_record(&row)?;
    }
    wtr.flush()?;
    Ok(())
}

/// Reads index CSV from any reader, columns by name (see `index_columns`). Fails on a file
/// without the required columns or a malformed row.
pub fn read_from<R: io::Read>(r: R) -> Result<Vec<Record>> {
    Ok(read_with_schema(r)?.0)
}

/// Like [`read_from`], and also says which known columns the file lacks.
pub fn read_with_schema<R: io::Read>(r: R) -> Result<(Vec<Record>, Schema)> {
    parse::serial(r)
}

/// Reads an index file with its schema: in parallel blocks (`index_parse`), or serially when
/// the file needs it (then a malformed row is reported with its line).
pub fn read_file_with_schema(path: &Path) -> Result<(Vec<Record>, Schema)> {
    let open =
        || fs::File::open(path).with_context(|| format!("cannot open index {}", path.display()));
    // The sidecar's row count pre-sizes the records, when it describes this very file; a
    // row has at least 24 bytes, which bounds a bogus count.
    let rows = Meta::read(path).ok().flatten().and_then(|m| {
        let bytes = usize::try_from(m.csv_bytes).ok()?;
        m.matches(path, m.rows).then_some(m.rows.min(bytes / 24))
    });
    if let Some(done) = parse::read(open()?, parse::BLOCK, rows) {
        return Ok(done);
    }
    read_with_schema(io::BufReader::with_capacity(1 << 20, open()?))
        .with_context(|| format!("cannot read index {}", path.display()))
}

/// Reads index CSV in parallel blocks, handing each parsed run of records to `sink` in file
/// order (see `parse::read_with`), for a caller that keeps only some of them. `None`
/// when the input needs the serial reader ([`read_with_schema`]) or `sink` said stop: the
/// records handed over until then were only the input's first.
pub fn stream_from<R: io::Read>(
    r: R,
    sink: impl FnMut(Vec<Record>, &Schema) -> bool + Send,
) -> Option<Schema> {
    parse::read_with(r, parse::BLOCK, sink)
}

/// Reads an index file.
pub fn read(path: &Path) -> Result<Vec<Record>> {
    Ok(read_file_with_schema(path)?.0)
}

/// Writes `records` to `path` atomically: a temporary file in the same folder, then a rename,
/// so a reader never sees half an index and a crash never destroys the previous one.
pub fn write_atomic(path: &Path, records: &[Record]) -> Result<()> {
    crate::output::atomic::write_file(path, |w| write_to(w, records))
        .with_context(|| format!("cannot write index {}", path.display()))
}

/// Records keyed by path, for incremental reuse.
pub fn by_path(records: Vec<Record>) -> HashMap<crate::base::rel_path::RelPath, Record> {
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
    use crate::base::flags::{Flag, Flags, Status};
    use crate::base::hash::{Hash256, Hashes256};

    fn sample(path: PathBuf) -> Record {
        let mut flags = Flags::default();
        flags.insert(Flag::Gray);
        flags.insert(Flag::Tiny);
        let mut r = Record::new(path);
        (r.split, r.class) = ("train".into(), "cats".into());
        (r.size, r.mtime_ns) = (123, 1_700_000_000_123_456_789);
        r.set_blake3(Some(digest_of(b"00ff")));
        r.format = Some(crate::base::format::Format::Jpeg);
        (r.width, r.height) = (10, 20);
        r.color = "l8".into();
        r.orientation = 6;
        r.set_phash(Some(0xdead_beef_0000_0001));
        r.set_phash_crop(Some(0));
        r.set_hash256(Some(Hashes256 {
            full: Hash256([1, 2, 3, u64::MAX]),
            untrimmed: None,
            crops: [Hash256([5; 4]), Hash256([0; 4])],
        }));
        r.flags = flags;
        r.status = Status::Ok;
        r.message = "msg, with \"quotes\"\nand a newline".into();
        r.set_jpeg_quality(Some(87));
        r
    }

    #[test]
    fn legacy_index_is_read_without_256_bit_hashes() {
        let mut r = sample("train/cats/a.jpg".into());
        r.message = "plain".into();
        r.edit_hash256(|h| h.untrimmed = Some(Hash256([9; 4])));
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
        r.set_hash256(None);
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
        names.push(crate::base::paths::path_from_bytes(
            b"train/cats/bad\xff\xfename.jpg",
        ));
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
                for _ in 0..5 {
                    l = l.rsplit_once(',').unwrap().0;
                }
                l.to_string() + "\n"
            })
            .collect();
        let (back, schema) = read_with_schema(old.as_bytes()).unwrap();
        assert!(schema.missing.contains(&"jpeg_quality"));
        assert!(schema.missing_pixels, "the 256-bit hashes come from pixels");
        assert_eq!(back[0].jpeg_quality(), None);
        assert_eq!(&*back[0].message, "one, line");
        let (_, schema) = read_with_schema(text.as_bytes()).unwrap();
        assert!(schema.missing.is_empty() && schema.current);
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

#[cfg(test)]
mod column_tests {
    use super::{read_with_schema, write_to};
    use crate::base::flags::Status;
    use crate::index::Record;
    use crate::index::columns::{blank, header};

    fn sample() -> Record {
        let mut r = blank();
        r.path = "train/cats/a,b.jpg".into();
        (r.split, r.class) = ("train".into(), "cats".into());
        (r.size, r.mtime_ns) = (10, 20);
        r.status = Status::Ok;
        r.set_phash(Some(1));
        r.set_dhash(Some(2));
        r.set_phash_crop(Some(3));
        r
    }

    /// Rewrites an index CSV: keeps the columns `keep` says, in the given order, plus extras.
    fn reshape(csv_text: &[u8], order: &[&str], extra: Option<(&str, &str)>) -> Vec<u8> {
        let mut rdr = csv::Reader::from_reader(csv_text);
        let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut names: Vec<&str> = order.to_vec();
        if let Some((name, _)) = extra {
            names.insert(1, name);
        }
        w.write_record(&names).unwrap();
        for row in rdr.records() {
            let row = row.unwrap();
            let mut out: Vec<&str> = order
                .iter()
                .map(|n| &row[header.iter().position(|h| h == n).unwrap()])
                .collect();
            if let Some((_, v)) = extra {
                out.insert(1, v);
            }
            w.write_record(&out).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn columns_are_read_by_name_and_unknown_ones_ignored() {
        let mut buf = Vec::new();
        write_to(&mut buf, &[sample()]).unwrap();
        let mut order: Vec<&str> = header().collect();
        order.reverse();
        let shaped = reshape(&buf, &order, Some(("a_future_column", "85")));
        let (back, schema) = read_with_schema(shaped.as_slice()).unwrap();
        assert_eq!(back, vec![sample()]);
        assert!(schema.missing.is_empty() && !schema.missing_pixels && !schema.current);
        let (_, schema) = read_with_schema(buf.as_slice()).unwrap();
        assert!(schema.current);
    }

    #[test]
    fn a_missing_pixel_column_is_reported_and_a_missing_key_refused() {
        let mut buf = Vec::new();
        write_to(&mut buf, &[sample()]).unwrap();
        let order: Vec<&str> = header().filter(|n| *n != "phash_crop").collect();
        let (back, schema) = read_with_schema(reshape(&buf, &order, None).as_slice()).unwrap();
        assert_eq!(schema.missing, vec!["phash_crop"]);
        assert!(schema.missing_pixels);
        assert_eq!(back[0].phash_crop(), None);
        assert_eq!(back[0].phash(), Some(1));

        let order: Vec<&str> = header().filter(|n| *n != "mtime_ns").collect();
        let err = read_with_schema(reshape(&buf, &order, None).as_slice()).unwrap_err();
        assert!(err.to_string().contains("no column mtime_ns"), "{err}");
    }

    #[test]
    fn every_column_round_trips_once() {
        let names: Vec<&str> = header().collect();
        let mut dedup = names.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), names.len());
        assert_eq!(names[0], "path");
    }
}
