//! The files `leaks` (and `audit`) write: `pairs.csv` and `groups.csv`, the CSV contracts
//! other tools read (columns in docs/FORMATS.md; new columns only ever go at the end), and
//! `summary.json`.

use std::io;
use std::path::Path;

use anyhow::Result;

use super::{Leaks, Pair};
use crate::base::paths::path_field;
use crate::index::Record;
use crate::near::groups::Group;
use crate::output::atomic::Staged;

/// Header of `pairs.csv`.
const PAIRS_HEADER: [&str; 19] = [
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
    "rotation_deg",
    "scale",
    "shift_x",
    "shift_y",
    "inliers",
];

/// Header of `groups.csv`.
const GROUPS_HEADER: [&str; 5] = ["group", "path", "split", "class", "representative"];

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
        match &p.affine {
            Some(f) => {
                row.push_field(format!("{:.1}", f.rotation_deg).as_bytes());
                row.push_field(format!("{:.3}", f.scale).as_bytes());
                row.push_field(format!("{:.3}", f.shift_x).as_bytes());
                row.push_field(format!("{:.3}", f.shift_y).as_bytes());
                row.push_field(f.inliers.to_string().as_bytes());
            }
            None => {
                for _ in 0..5 {
                    row.push_field(b"");
                }
            }
        }
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

/// Stages `pairs.csv`, `groups.csv` and `summary.json` for `dir`: they appear together when
/// `staged` is committed (with the audit's files, for `audit --out`).
pub fn stage_outputs(staged: &mut Staged, dir: &Path, records: &[Record], l: &Leaks) -> Result<()> {
    staged.file(&dir.join("pairs.csv"), |w| {
        write_pairs(w, records, &l.pairs)
    })?;
    staged.file(&dir.join("groups.csv"), |w| {
        write_groups(w, records, &l.groups)
    })?;
    staged.json(&dir.join("summary.json"), &l.summary)
}

/// Writes `pairs.csv`, `groups.csv` and `summary.json` into `dir`, all or none.
pub fn write_outputs(dir: &Path, records: &[Record], l: &Leaks) -> Result<()> {
    let mut staged = Staged::new();
    stage_outputs(&mut staged, dir, records, l)?;
    staged.commit()
}
