//! What OUT holds: destination names (never an overwrite) and `manifest.csv`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Result;

use super::assign::seeded_key;
use super::options::split_name;
use super::plan::{Placement, Plan};
use crate::index::{Record, path_field};

/// Destination file names: `OUT/<split>/<class>/<file name>`, with a short hash of the
/// source path added when two sources would get one name (never an overwrite).
pub fn destinations(plan: &Plan, records: &[Record], names: &[String]) -> Vec<Option<PathBuf>> {
    let mut used: BTreeSet<PathBuf> = BTreeSet::new();
    let mut out = vec![None; plan.placements.len()];
    let mut order: Vec<&Placement> = plan
        .placements
        .iter()
        .filter(|p| p.split.is_some())
        .collect();
    order.sort_by(|a, b| records[a.record].path.cmp(&records[b.record].path));
    for p in order {
        let r = &records[p.record];
        let dir = PathBuf::from(split_name(names, p.split.unwrap_or(0))).join(&r.class);
        let file = r
            .path
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("image"));
        let mut dest = dir.join(&file);
        let mut attempt = 0u64;
        while used.contains(&dest) {
            let tag = seeded_key(attempt, &path_field(&r.path));
            dest = dir.join(crate::file_name::tagged(&file, tag as u32));
            attempt += 1;
        }
        used.insert(dest.clone());
        out[p.record] = Some(dest);
    }
    out
}

/// Header of `manifest.csv`.
pub const MANIFEST_HEADER: [&str; 7] = [
    "source",
    "destination",
    "split",
    "class",
    "group",
    "action",
    "reason",
];

/// Writes `manifest.csv` rows for every source in path order.
pub fn write_manifest<W: std::io::Write>(
    w: W,
    plan: &Plan,
    records: &[Record],
    names: &[String],
    dests: &[Option<PathBuf>],
) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(MANIFEST_HEADER)?;
    for p in &plan.placements {
        let r = &records[p.record];
        let mut row = csv::ByteRecord::new();
        row.push_field(&path_field(&r.path));
        row.push_field(
            &dests[p.record]
                .as_deref()
                .map(path_field)
                .unwrap_or_default(),
        );
        row.push_field(
            p.split
                .map(|s| split_name(names, s))
                .unwrap_or("")
                .as_bytes(),
        );
        row.push_field(r.class.as_bytes());
        row.push_field(p.group_field().as_bytes());
        row.push_field(if p.split.is_some() {
            b"copied" as &[u8]
        } else {
            b"dropped"
        });
        let why = p
            .reason
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        row.push_field(why.as_bytes());
        wtr.write_byte_record(&row)?;
    }
    wtr.flush()?;
    Ok(())
}
