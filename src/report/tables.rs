//! The CSV files other tools read: `pairs.csv` and `groups.csv` (columns documented in
//! docs/FORMATS.md; new columns only ever go at the end).

use std::io;
use std::path::Path;

use crate::output::atomic::Writer;
use anyhow::Result;

use crate::base::paths::path_field;
use crate::index::Record;
use crate::leaks::Pair;
use crate::near::groups::Group;

/// Header of `pairs.csv`.
pub const PAIRS_HEADER: [&str; 14] = [
    "path_a",
    "path_b",
    "split_a",
    "split_b",
    "class_a",
    "class_b",
    "match",
    "distance",
    "transform",
    "cross_split",
    "label_conflict",
    "crop",
    "distance256",
    "view",
];

/// Header of `groups.csv`.
pub const GROUPS_HEADER: [&str; 5] = ["group", "path", "split", "class", "representative"];

fn tf(b: bool) -> &'static [u8] {
    if b { b"true" } else { b"false" }
}

pub fn write_pairs<W: io::Write>(w: W, records: &[Record], pairs: &[Pair]) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(PAIRS_HEADER)?;
    for p in pairs {
        let (a, b) = (&records[p.a], &records[p.b]);
        let mut row = csv::ByteRecord::new();
        row.push_field(&path_field(&a.path));
        row.push_field(&path_field(&b.path));
        row.push_field(a.split.as_bytes());
        row.push_field(b.split.as_bytes());
        row.push_field(a.class.as_bytes());
        row.push_field(b.class.as_bytes());
        row.push_field(p.kind.as_str().as_bytes());
        row.push_field(p.distance.to_string().as_bytes());
        row.push_field(p.transform.as_str().as_bytes());
        row.push_field(tf(a.split != b.split));
        row.push_field(tf(crate::near::groups::labels_conflict(&a.class, &b.class)));
        row.push_field(tf(p.crop));
        row.push_field(p.distance256.to_string().as_bytes());
        row.push_field(p.view.as_str().as_bytes());
        wtr.write_byte_record(&row)?;
    }
    wtr.flush()?;
    Ok(())
}

pub fn write_groups<W: io::Write>(w: W, records: &[Record], groups: &[Group]) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(GROUPS_HEADER)?;
    for g in groups {
        for &m in &g.members {
            let r = &records[m];
            let mut row = csv::ByteRecord::new();
            row.push_field(g.id.to_string().as_bytes());
            row.push_field(&path_field(&r.path));
            row.push_field(r.split.as_bytes());
            row.push_field(r.class.as_bytes());
            row.push_field(tf(m == g.representative));
            wtr.write_byte_record(&row)?;
        }
    }
    wtr.flush()?;
    Ok(())
}

/// Writes `path` atomically (and creates its folder), handing a buffered writer to `f`: see
/// `output::atomic`.
pub fn write_file(path: &Path, f: impl FnOnce(&mut Writer) -> Result<()>) -> Result<()> {
    crate::output::atomic::write_file(path, f)
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    crate::output::atomic::write_json(path, value)
}
