//! The index CSV's columns, in one table: name, how a [`Record`] writes it, how it is read back,
//! and whether its value comes from decoding the image.
//!
//! Columns are read **by name**: an index with extra (newer) columns is read by an older binary,
//! which ignores them; an index that lacks a column this binary knows is still read, and only
//! the records that need the missing value are hashed again (see [`Schema::missing_pixels`]).
//! Adding a column is one entry at the end of [`COLUMNS`] (the CSV contract: new columns only
//! at the end), plus its line in docs/FORMATS.md ("The index").

use anyhow::{Context, Result, bail};

use crate::base::flags::Flag;
use crate::base::hash::{Hash256, Hashes256, hex_u64};
use crate::base::intern::NameCache;
use crate::base::paths::path_field;
use crate::index::Record;

/// How a column's text is read into a record (with the reader's cache of recent names).
type ReadFn = fn(&mut Record, &str, &mut NameCache) -> Result<()>;

/// One index column.
pub struct Column {
    pub name: &'static str,
    /// An index without this column cannot be used at all (the reuse key and the status).
    pub required: bool,
    /// The value is computed from the decoded pixels: when an index lacks the column, its
    /// decoded (`ok`) records are hashed again; the others are reused.
    pub from_pixels: bool,
    write: fn(&Record, &mut Vec<u8>),
    /// `None` for derived columns and those read apart (`path`, the 256-bit hashes).
    read: Option<ReadFn>,
}

fn put_num(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

fn put_hash(out: &mut Vec<u8>, h: Option<u64>) {
    if let Some(h) = h {
        use std::io::Write;
        let _ = write!(out, "{h:016x}");
    }
}

fn get_hash(s: &str) -> Result<Option<u64>> {
    if s.is_empty() {
        Ok(None)
    } else {
        Ok(Some(
            hex_u64(s.as_bytes()).with_context(|| format!("bad hash {s:?}"))?,
        ))
    }
}

fn put_digest(out: &mut Vec<u8>, d: Option<crate::index::Digest>) {
    if let Some(d) = d {
        for b in d {
            use std::io::Write;
            let _ = write!(out, "{b:02x}");
        }
    }
}

fn get_digest(s: &str) -> Result<Option<crate::index::Digest>> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || format!("bad blake3 {s:?} (32 hex digits)");
    if s.len() != 32 || !s.is_ascii() {
        bail!(bad());
    }
    let mut d = [0u8; 16];
    for (i, b) in d.iter_mut().enumerate() {
        *b = hex_u64(&s.as_bytes()[2 * i..2 * i + 2]).with_context(bad)? as u8;
    }
    Ok(Some(d))
}

fn put_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

macro_rules! col {
    ($name:literal, req=$req:literal, px=$px:literal, |$r:ident, $o:ident| $w:expr, |$rm:ident, $s:ident, $n:ident| $rd:expr) => {
        Column {
            name: $name,
            required: $req,
            from_pixels: $px,
            write: |$r: &Record, $o: &mut Vec<u8>| $w,
            read: Some(
                |$rm: &mut Record, $s: &str, $n: &mut NameCache| -> Result<()> {
                    $rd;
                    Ok(())
                },
            ),
        }
    };
}

/// Every column this binary reads and writes, in file order. `path` is handled apart (raw
/// bytes, not UTF-8); its entry here only names it.
pub const COLUMNS: &[Column] = &[
    Column {
        name: "path",
        required: true,
        from_pixels: false,
        write: |r, o| o.extend_from_slice(&path_field(&r.path)),
        read: None,
    },
    col!(
        "split",
        req = true,
        px = false,
        |r, o| o.extend_from_slice(r.split.as_bytes()),
        |r, s, names| r.split = names.get(s)
    ),
    col!(
        "class",
        req = true,
        px = false,
        |r, o| o.extend_from_slice(r.class.as_bytes()),
        |r, s, names| r.class = names.get(s)
    ),
    col!(
        "size",
        req = true,
        px = false,
        |r, o| put_num(o, r.size),
        |r, s, _n| r.size = s.parse().context("bad size")?
    ),
    col!(
        "mtime_ns",
        req = true,
        px = false,
        |r, o| put_num(o, r.mtime_ns),
        |r, s, _n| r.mtime_ns = s.parse().context("bad mtime_ns")?
    ),
    col!(
        "blake3",
        req = false,
        px = false,
        |r, o| put_digest(o, r.blake3()),
        |r, s, _n| r.set_blake3(get_digest(s)?)
    ),
    col!(
        "format",
        req = false,
        px = false,
        |r, o| o.extend_from_slice(crate::index::format_name(r.format).as_bytes()),
        |r, s, _n| r.format = crate::base::format::Format::parse(s)
    ),
    // Also a flag; the column is kept for readers of the CSV.
    Column {
        name: "ext_mismatch",
        required: false,
        from_pixels: false,
        write: |r, o| put_bool(o, r.flags.contains(Flag::ExtMismatch)),
        read: None,
    },
    col!(
        "width",
        req = false,
        px = true,
        |r, o| put_num(o, r.width),
        |r, s, _n| r.width = s.parse().context("bad width")?
    ),
    col!(
        "height",
        req = false,
        px = true,
        |r, o| put_num(o, r.height),
        |r, s, _n| r.height = s.parse().context("bad height")?
    ),
    col!(
        "color",
        req = false,
        px = true,
        |r, o| o.extend_from_slice(r.color.as_bytes()),
        |r, s, names| r.color = names.get(s)
    ),
    col!(
        "orientation",
        req = false,
        px = true,
        |r, o| put_num(o, r.orientation),
        |r, s, _n| r.orientation = s.parse().context("bad orientation")?
    ),
    col!(
        "phash",
        req = false,
        px = true,
        |r, o| put_hash(o, r.phash()),
        |r, s, _n| r.set_phash(get_hash(s)?)
    ),
    col!(
        "dhash",
        req = false,
        px = true,
        |r, o| put_hash(o, r.dhash()),
        |r, s, _n| r.set_dhash(get_hash(s)?)
    ),
    col!(
        "phash_crop",
        req = false,
        px = true,
        |r, o| put_hash(o, r.phash_crop()),
        |r, s, _n| r.set_phash_crop(get_hash(s)?)
    ),
    col!(
        "flags",
        req = false,
        px = true,
        |r, o| o.extend_from_slice(r.flags.to_string().as_bytes()),
        |r, s, _n| r.flags = s.parse().map_err(anyhow::Error::msg)?
    ),
    col!(
        "status",
        req = true,
        px = false,
        |r, o| o.extend_from_slice(r.status.as_str().as_bytes()),
        |r, s, _n| r.status = s.parse().map_err(anyhow::Error::msg)?
    ),
    col!(
        "message",
        req = false,
        px = false,
        |r, o| o.extend_from_slice(r.message.as_bytes()),
        |r, s, _n| r.message = s.into()
    ),
    Column {
        name: "keras_ok",
        required: false,
        from_pixels: false,
        write: |r, o| put_bool(o, r.keras_ok()),
        read: None,
    },
    // Not from pixels: an index without it is reused, its JPEGs' quality read from the file
    // header by the scan (no rehash).
    col!(
        "jpeg_quality",
        req = false,
        px = false,
        |r, o| {
            if let Some(q) = r.jpeg_quality() {
                put_num(o, q)
            }
        },
        |r, s, _n| r.set_jpeg_quality(if s.is_empty() {
            None
        } else {
            Some(s.parse().context("bad jpeg_quality")?)
        })
    ),
    // The four 256-bit hashes make one value (`Record::hash256`): read together in
    // `Schema::read_row`, after the other columns.
    Column {
        name: "phash256",
        required: false,
        from_pixels: true,
        write: |r, o| put_hash256(o, r.hash256().map(|h| h.full)),
        read: None,
    },
    Column {
        name: "phash256_untrimmed",
        required: false,
        from_pixels: true,
        write: |r, o| put_hash256(o, r.hash256().and_then(|h| h.untrimmed)),
        read: None,
    },
    Column {
        name: "phash256_crop90",
        required: false,
        from_pixels: true,
        write: |r, o| put_hash256(o, r.hash256().map(|h| h.crops[0])),
        read: None,
    },
    Column {
        name: "phash256_crop75",
        required: false,
        from_pixels: true,
        write: |r, o| put_hash256(o, r.hash256().map(|h| h.crops[1])),
        read: None,
    },
];

/// Names of the 256-bit hash columns, in `Hashes256` order (full, untrimmed, crop90, crop75).
const HASH256_COLUMNS: [&str; 4] = [
    "phash256",
    "phash256_untrimmed",
    "phash256_crop90",
    "phash256_crop75",
];

fn put_hash256(out: &mut Vec<u8>, h: Option<Hash256>) {
    if let Some(h) = h {
        use std::io::Write;
        let _ = write!(out, "{h}");
    }
}

fn get_hash256(s: &str) -> Result<Option<Hash256>> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(anyhow::Error::msg)
}

/// The 256-bit hashes of a row from its four fields (`None` when the columns are absent or
/// empty; an error when only some of the required ones are there).
fn hashes256(raw: [Option<&[u8]>; 4]) -> Result<Option<Hashes256>> {
    let mut h = [None; 4];
    for ((slot, raw), name) in h.iter_mut().zip(raw).zip(HASH256_COLUMNS) {
        if let Some(raw) = raw {
            let s =
                std::str::from_utf8(raw).with_context(|| format!("column {name} is not UTF-8"))?;
            *slot = get_hash256(s).with_context(|| format!("column {name}"))?;
        }
    }
    Ok(match (h[0], h[2], h[3]) {
        (Some(full), Some(c90), Some(c75)) => Some(Hashes256 {
            full,
            untrimmed: h[1],
            crops: [c90, c75],
        }),
        (None, None, None) => None,
        _ => bail!("incomplete 256-bit hashes"),
    })
}

/// The header this binary writes.
pub fn header() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(|c| c.name)
}

/// How a file's header maps onto [`COLUMNS`].
#[derive(Debug, Clone)]
pub struct Schema {
    /// For each field of a row, the column it holds (`None`: unknown, ignored).
    fields: Vec<Option<usize>>,
    /// The fields holding the 256-bit hash columns ([`HASH256_COLUMNS`] order), if present.
    hash256_fields: [Option<usize>; 4],
    /// Known columns the file lacks.
    pub missing: Vec<&'static str>,
    /// Some missing column comes from the pixels: decoded records must be hashed again.
    pub missing_pixels: bool,
    /// The header is exactly this binary's (a rewrite would produce the same columns).
    pub current: bool,
}

impl Schema {
    /// Maps a header. Fails (the file is not a cleansplit index) when a required column is
    /// missing or a name occurs twice.
    pub fn of_header(names: &[&[u8]]) -> Result<Schema> {
        let mut fields = Vec::with_capacity(names.len());
        let mut seen = vec![false; COLUMNS.len()];
        for name in names {
            let col = COLUMNS.iter().position(|c| c.name.as_bytes() == *name);
            if let Some(i) = col {
                if seen[i] {
                    bail!(
                        "not a cleansplit index (column {} appears twice)",
                        COLUMNS[i].name
                    );
                }
                seen[i] = true;
            }
            fields.push(col);
        }
        let missing: Vec<&'static str> = COLUMNS
            .iter()
            .zip(&seen)
            .filter(|(_, s)| !**s)
            .map(|(c, _)| c.name)
            .collect();
        if let Some(c) = COLUMNS.iter().zip(&seen).find(|(c, s)| c.required && !**s) {
            bail!("not a cleansplit index (no column {})", c.0.name);
        }
        let missing_pixels = COLUMNS.iter().zip(&seen).any(|(c, s)| c.from_pixels && !*s);
        let current =
            names.len() == COLUMNS.len() && fields.iter().enumerate().all(|(i, f)| *f == Some(i));
        let hash256_fields = HASH256_COLUMNS.map(|name| {
            fields
                .iter()
                .position(|f| f.is_some_and(|i| COLUMNS[i].name == name))
        });
        Ok(Schema {
            fields,
            hash256_fields,
            missing,
            missing_pixels,
            current,
        })
    }

    /// Reads one row into a record. Fields missing from the row (a short row) are an error.
    pub fn read_row(&self, rec: &csv::ByteRecord) -> Result<Record> {
        self.read_row_with(rec, &mut NameCache::default())
    }

    /// [`Schema::read_row`] with the reader's cache of recent names (see [`NameCache`]).
    pub fn read_row_with(&self, rec: &csv::ByteRecord, names: &mut NameCache) -> Result<Record> {
        self.read_fields(rec.len(), |i| &rec[i], names)
    }

    /// Reads the row whose `n` fields `field` gives (`index_parse` splits rows without quotes
    /// itself, with no copy into a `csv::ByteRecord`).
    pub(crate) fn read_fields<'a>(
        &self,
        n: usize,
        field: impl Fn(usize) -> &'a [u8],
        names: &mut NameCache,
    ) -> Result<Record> {
        if n != self.fields.len() {
            bail!("{} fields, the header has {}", n, self.fields.len());
        }
        let mut r = blank();
        for (f, col) in self.fields.iter().enumerate() {
            let Some(i) = *col else { continue };
            let c = &COLUMNS[i];
            if i == 0 {
                r.path = crate::base::rel_path::RelPath::from_bytes(field(f));
                continue;
            }
            let Some(read) = c.read else { continue };
            let s = std::str::from_utf8(field(f))
                .with_context(|| format!("column {} is not UTF-8", c.name))?;
            read(&mut r, s, names).with_context(|| format!("column {}", c.name))?;
        }
        r.set_hash256(hashes256(self.hash256_fields.map(|f| f.map(&field)))?);
        Ok(r)
    }
}

/// Writes one record's fields into `out` (cleared first), reusing `buf` between fields.
pub fn write_row(r: &Record, out: &mut csv::ByteRecord, buf: &mut Vec<u8>) {
    out.clear();
    for c in COLUMNS {
        buf.clear();
        (c.write)(r, buf);
        out.push_field(buf);
    }
}

/// The record a row starts from: what an index without the optional columns says.
pub(crate) fn blank() -> Record {
    Record::new(crate::base::rel_path::RelPath::default())
}
