//! What OUT holds: destination names (never an overwrite) and `manifest.csv`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Result;
use rayon::prelude::*;

use super::assign::{path_bytes, seeded_key};
use super::options::split_name;
use super::plan::{Plan, in_path_order};
use crate::index::Record;

/// Where each placed file goes in OUT: `<split>/<class>/<file name>`, with a short hash of
/// the source path added when two sources would get one name (never an overwrite). Only the
/// renamed ones are held; every other destination is made when asked ([`Destinations::get`]),
/// as a million paths cost ~100 bytes per image.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    /// The split folder names (`split_name`).
    names: Vec<String>,
    /// Destinations that are not the file's own name, by record (sorted).
    renamed: Vec<(u32, PathBuf)>,
    /// Every destination, once listed ([`Destinations::listed`]): then these are the names.
    listed: Option<Vec<Option<PathBuf>>>,
}

impl Destinations {
    /// Record `i`'s destination (`None` when dropped).
    pub fn get(&self, i: usize, plan: &Plan, records: &[Record]) -> Option<PathBuf> {
        if let Some(all) = &self.listed {
            return all[i].clone();
        }
        let s = plan.placements[i].split()?;
        match self.renamed.binary_search_by_key(&(i as u32), |(r, _)| *r) {
            Ok(at) => Some(self.renamed[at].1.clone()),
            Err(_) => Some(own(&records[i], split_name(&self.names, s))),
        }
    }

    /// Every destination, in record order, to rename them in place (`--normalize`).
    pub fn listed(&mut self, plan: &Plan, records: &[Record]) -> &mut Vec<Option<PathBuf>> {
        if self.listed.is_none() {
            let all = (0..records.len())
                .map(|i| self.get(i, plan, records))
                .collect();
            self.listed = Some(all);
        }
        self.listed.as_mut().expect("listed above")
    }

    /// Every destination, in record order.
    pub fn to_vec(&self, plan: &Plan, records: &[Record]) -> Vec<Option<PathBuf>> {
        (0..records.len())
            .map(|i| self.get(i, plan, records))
            .collect()
    }
}

/// The destination names of a plan (see [`Destinations`]). Who gets a taken name is settled
/// in path order: the first keeps it, the next gets a tag.
pub fn destinations(plan: &Plan, records: &[Record], names: &[String]) -> Destinations {
    let n = records.len();
    let placed = |i: usize| plan.placements[i].split();
    let own_of = |i: usize| placed(i).map(|s| own(&records[i], split_name(names, s)));
    // Every placed file's own name as (hash, record), sorted: 12 bytes per image instead of a
    // map of the paths (hashed in parallel, straight into place).
    let mut by_hash: Vec<[u32; 3]> = (0..n)
        .into_par_iter()
        .map(|i| own_of(i).map_or([0, 0, u32::MAX], |d| split_hash(hash(&d), i)))
        .collect();
    by_hash.retain(|e| e[2] != u32::MAX);
    by_hash.par_sort_unstable();
    let with_hash = |h: u64| {
        let key = [(h >> 32) as u32, h as u32];
        let from = by_hash.partition_point(|e| [e[0], e[1]] < key);
        by_hash[from..]
            .iter()
            .take_while(move |e| [e[0], e[1]] == key)
            .map(|e| e[2] as usize)
    };
    // Records to check one by one: those sharing their own name's hash with another (a tagged
    // name's hash marks more as it is handed out). Every other keeps its own name.
    let mut check = vec![false; n];
    for run in by_hash.chunk_by(|a, b| [a[0], a[1]] == [b[0], b[1]]) {
        if run.len() > 1 {
            for e in run {
                check[e[2] as usize] = true;
            }
        }
    }
    let mut done = vec![false; n];
    // Renamed destinations (few): record, name; and the tagged names' hashes.
    let mut renamed: HashMap<usize, PathBuf> = HashMap::new();
    let mut tagged: HashMap<u64, Vec<usize>> = HashMap::new();
    let path_order: Vec<u32> = if in_path_order(records) {
        Vec::new()
    } else {
        let mut o: Vec<u32> = (0..n as u32).collect();
        o.sort_by(|&a, &b| records[a as usize].path.cmp(&records[b as usize].path));
        o
    };
    for k in 0..n {
        let i = path_order.get(k).map_or(k, |&i| i as usize);
        let Some(split) = placed(i) else {
            continue;
        };
        done[i] = true;
        if !check[i] {
            continue;
        }
        let own_name = own_of(i).expect("placed");
        let mut dest = own_name.clone();
        let mut attempt = 0u64;
        loop {
            let h = hash(&dest);
            // Taken by a file placed before: under its own name, or under a tagged one.
            let taken = with_hash(h).any(|j| {
                j != i && done[j] && !renamed.contains_key(&j) && own_of(j).as_ref() == Some(&dest)
            }) || tagged
                .get(&h)
                .is_some_and(|js| js.iter().any(|j| renamed[j] == dest));
            if !taken {
                if dest != own_name {
                    // A later file whose own name this is must now check.
                    for j in with_hash(h) {
                        if !done[j] {
                            check[j] = true;
                        }
                    }
                    tagged.entry(h).or_default().push(i);
                    renamed.insert(i, dest);
                }
                break;
            }
            let file = file_of(&records[i]);
            let tag = seeded_key(attempt, &path_bytes(&records[i].path));
            let name = crate::split::file_name::tagged(Path::new(file), tag as u32);
            dest = dest_path(
                (split_name(names, split), records[i].class.as_str()),
                OsStr::new(&name),
            );
            attempt += 1;
        }
    }
    let mut renamed: Vec<(u32, PathBuf)> =
        renamed.into_iter().map(|(i, d)| (i as u32, d)).collect();
    renamed.sort_by_key(|(r, _)| *r);
    Destinations {
        names: names.to_vec(),
        renamed,
        listed: None,
    }
}

fn split_hash(h: u64, i: usize) -> [u32; 3] {
    [(h >> 32) as u32, h as u32, i as u32]
}

fn file_of(r: &Record) -> &OsStr {
    r.path.file_name().unwrap_or(OsStr::new("image"))
}

/// A record's own destination in split folder `split`: `split/class/file`.
fn own(r: &Record, split: &str) -> PathBuf {
    dest_path((split, r.class.as_str()), file_of(r))
}

/// `split/class/file` (as `Path::join` builds it), allocated once.
fn dest_path((split, class): (&str, &str), file: &OsStr) -> PathBuf {
    let mut d = PathBuf::with_capacity(split.len() + class.len() + file.len() + 2);
    d.push(split);
    d.push(class);
    d.push(file);
    d
}

/// A destination's hash. Path's Hash agrees with its Eq (component-wise), so equal paths
/// hash alike; a hash hit is checked against the paths themselves.
fn hash(dest: &Path) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    dest.hash(&mut h);
    h.finish()
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

/// Writes `manifest.csv` rows for every source in record (path) order.
pub fn write_manifest<W: std::io::Write>(
    w: W,
    plan: &Plan,
    records: &[Record],
    names: &[String],
    dests: &Destinations,
) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(MANIFEST_HEADER)?;
    // One row per source: fields borrowed where they can be, one buffer for the group number.
    let mut group = String::new();
    for (i, (p, r)) in plan.placements.iter().zip(records).enumerate() {
        group.clear();
        if p.grouped() {
            write!(group, "{}", p.unit())?;
        }
        let why = plan
            .reason(i, records)
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let dest = dests.get(i, plan, records);
        let dest = dest.as_deref().map(path_bytes);
        wtr.write_record([
            &path_bytes(&r.path)[..],
            dest.as_deref().unwrap_or_default(),
            p.split()
                .map(|s| split_name(names, s))
                .unwrap_or("")
                .as_bytes(),
            r.class.as_bytes(),
            group.as_bytes(),
            if p.split().is_some() {
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
