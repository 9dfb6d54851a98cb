//! What OUT holds: destination names (never an overwrite) and `manifest.csv`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Result;
use rayon::prelude::*;

use super::assign::{path_bytes, seeded_key};
use super::options::split_name;
use super::plan::{Placement, Plan};
use crate::index::Record;

/// Destination file names: `OUT/<split>/<class>/<file name>`, with a short hash of the
/// source path added when two sources would get one name (never an overwrite).
pub fn destinations(plan: &Plan, records: &[Record], names: &[String]) -> Vec<Option<PathBuf>> {
    let mut order: Vec<&Placement> = plan
        .placements
        .iter()
        .filter(|p| p.split.is_some())
        .collect();
    // The scan's records come in path order: then so do the placements.
    let path = |p: &Placement| &records[p.record].path;
    if !order.is_sorted_by(|a, b| path(a) <= path(b)) {
        order.sort_by(|a, b| path(a).cmp(path(b)));
    }
    let parts = |p: &Placement| {
        let r = &records[p.record];
        let dir = (split_name(names, p.split.unwrap_or(0)), r.class.as_str());
        (dir, r.path.file_name().unwrap_or(OsStr::new("image")))
    };
    let own = |p: &Placement| {
        let (dir, file) = parts(p);
        dest_path(dir, file)
    };
    // Every file's own name (and its hash), built in parallel straight into the result; who
    // gets a taken name is then settled in path order.
    let mut out: Vec<Option<PathBuf>> = if positional(plan) {
        plan.placements
            .par_iter()
            .map(|p| p.split.map(|_| own(p)))
            .collect()
    } else {
        let mut out = vec![None; plan.placements.len()];
        for p in plan.placements.iter().filter(|p| p.split.is_some()) {
            out[p.record] = Some(own(p));
        }
        out
    };
    let hashes: Vec<u64> = out
        .par_iter()
        .map(|d| d.as_deref().map_or(0, Taken::hash))
        .collect();
    let mut taken = Taken::default();
    for p in order {
        let i = p.record;
        let (mut h, mut attempt) = (hashes[i], 0u64);
        while taken.contains(h, i, &out) {
            let (dir, file) = parts(p);
            let tag = seeded_key(attempt, &path_bytes(&records[i].path));
            let name = crate::file_name::tagged(Path::new(file), tag as u32);
            let dest = dest_path(dir, OsStr::new(&name));
            h = Taken::hash(&dest);
            out[i] = Some(dest);
            attempt += 1;
        }
        taken.insert(h, i);
    }
    out
}

/// Whether placement `k` is record `k`'s (as `plan` builds them).
fn positional(plan: &Plan) -> bool {
    plan.placements
        .iter()
        .enumerate()
        .all(|(k, p)| p.record == k)
}

/// `split/class/file` (as `Path::join` builds it), allocated once.
fn dest_path((split, class): (&str, &str), file: &OsStr) -> PathBuf {
    let mut d = PathBuf::with_capacity(split.len() + class.len() + file.len() + 2);
    d.push(split);
    d.push(class);
    d.push(file);
    d
}

/// The destinations handed out so far, as the hash of each path and the record holding it
/// (a set of the paths themselves doubled them in memory, and compared paths component by
/// component: ~12 s at a million images). A hash hit is checked against the path itself.
#[derive(Default)]
struct Taken {
    first: HashMap<u64, usize>,
    /// Further records whose destination has a hash already in `first` (hash collisions).
    more: HashMap<u64, Vec<usize>>,
}

impl Taken {
    fn hash(dest: &Path) -> u64 {
        // Path's Hash agrees with its Eq (component-wise), so equal paths hash alike.
        let mut h = std::hash::DefaultHasher::new();
        dest.hash(&mut h);
        h.finish()
    }

    /// Whether record `i`'s destination (`out[i]`, hash `h`) is taken.
    fn contains(&self, h: u64, i: usize, out: &[Option<PathBuf>]) -> bool {
        let holds = |&j: &usize| out[j] == out[i];
        self.first.get(&h).is_some_and(holds)
            || self.more.get(&h).is_some_and(|v| v.iter().any(holds))
    }

    fn insert(&mut self, h: u64, record: usize) {
        match self.first.entry(h) {
            Entry::Occupied(_) => self.more.entry(h).or_default().push(record),
            Entry::Vacant(e) => {
                e.insert(record);
            }
        }
    }
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
    // One row per source: fields borrowed where they can be, one buffer for the group number.
    let mut group = String::new();
    for p in &plan.placements {
        let r = &records[p.record];
        group.clear();
        if p.grouped {
            write!(group, "{}", p.unit)?;
        }
        let why = p
            .reason
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let dest = dests[p.record].as_deref().map(path_bytes);
        wtr.write_record([
            &path_bytes(&r.path)[..],
            dest.as_deref().unwrap_or_default(),
            p.split
                .map(|s| split_name(names, s))
                .unwrap_or("")
                .as_bytes(),
            r.class.as_bytes(),
            group.as_bytes(),
            if p.split.is_some() {
                b"copied" as &[u8]
            } else {
                b"dropped"
            },
            why.as_bytes(),
        ])?;
    }
    wtr.flush()?;
    Ok(())
}
