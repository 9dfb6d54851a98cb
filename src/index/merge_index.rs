//! `merge-index`: joins the indexes of a sharded scan (`scan --shard K/N`) into one index that
//! every command reuses, after checking that the parts belong together.
//!
//! Refused, with one line naming the part: a part without its sidecar or not matching it (cut
//! short, rewritten), a part that is not a shard, parts of different ROOT layouts, split
//! folders, shard counts or column sets, two parts of the same shard, a row outside its part's
//! shard, a path in two parts, and missing shards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::index::meta::{Meta, SCHEMA};
use crate::index::shard::Shard;
use crate::index::{self, Record};

/// What a merge produced.
#[derive(Debug, Clone)]
pub struct Merged {
    pub parts: usize,
    pub shards: u32,
    pub records: usize,
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// One part, read and checked against its own sidecar.
fn read_part(path: &Path) -> Result<(Meta, Shard, Vec<Record>)> {
    let Some(meta) = Meta::read(path)? else {
        bail!(
            "{} has no sidecar {}: merge-index takes the indexes written by `scan --shard K/N`",
            show(path),
            show(&crate::index::meta::path_of(path))
        );
    };
    let Some(shard) = meta.shard else {
        bail!("{} is not a shard (scanned without --shard)", show(path));
    };
    if meta.schema != SCHEMA
        || !meta
            .columns
            .iter()
            .map(String::as_str)
            .eq(crate::index::columns::header())
    {
        bail!(
            "{} was written by another cleansplit version ({}, schema {}): rerun shard {shard} with this one",
            show(path),
            meta.tool,
            meta.schema
        );
    }
    let (records, _) = index::read_file_with_schema(path)?;
    if !meta.matches(path, records.len()) {
        bail!(
            "{} does not match its sidecar (cut short or rewritten): rerun shard {shard}",
            show(path)
        );
    }
    Ok((meta, shard, records))
}

/// Merges `parts` into the index at `out` (written atomically, with its sidecar).
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<Merged> {
    if parts.is_empty() {
        bail!("merge-index needs at least one part");
    }
    let mut first: Option<(PathBuf, Meta)> = None;
    let mut by_shard: BTreeMap<u32, PathBuf> = BTreeMap::new();
    let mut all: Vec<(Record, usize)> = Vec::new();
    for (pi, path) in parts.iter().enumerate() {
        let (meta, shard, records) = read_part(path)?;
        if let Some((p0, m0)) = &first {
            let what = if m0.layout != meta.layout {
                Some(format!("ROOT layouts ({} vs {})", m0.layout, meta.layout))
            } else if m0.splits != meta.splits {
                Some(format!(
                    "split folders ({:?} vs {:?})",
                    m0.splits, meta.splits
                ))
            } else if m0.shard.map(|s| s.count) != Some(shard.count) {
                Some(format!(
                    "shard counts ({} vs {})",
                    m0.shard.map_or(0, |s| s.count),
                    shard.count
                ))
            } else {
                None
            };
            if let Some(what) = what {
                bail!(
                    "{} and {} differ in {what}: they are not parts of one scan",
                    show(p0),
                    show(path)
                );
            }
        } else {
            first = Some((path.clone(), meta.clone()));
        }
        if let Some(other) = by_shard.insert(shard.index, path.clone()) {
            bail!(
                "{} and {} are both shard {shard} (overlapping parts)",
                show(&other),
                show(path)
            );
        }
        for r in records {
            if !shard.contains(&r.path) {
                bail!(
                    "{} holds {}, which is not in shard {shard} (a part of another sharding?)",
                    show(path),
                    r.path.display()
                );
            }
            let split_ok = if meta.splits.is_empty() {
                r.split.is_empty()
            } else {
                meta.splits.iter().any(|s| r.split == *s)
            };
            if !split_ok {
                bail!(
                    "{} holds {} under split {:?}, which its layout does not have",
                    show(path),
                    r.path.display(),
                    r.split
                );
            }
            all.push((r, pi));
        }
    }
    let (_, meta0) = first.expect("at least one part");
    let count = meta0.shard.map_or(1, |s| s.count);
    let missing: Vec<String> = (0..count)
        .filter(|k| !by_shard.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard{} {} missing: run {} and merge again",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            if missing.len() > 1 { "them" } else { "it" }
        );
    }
    all.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    if let Some(w) = all.windows(2).find(|w| w[0].0.path == w[1].0.path) {
        bail!(
            "{} is in both {} and {} (overlapping parts)",
            w[0].0.path.display(),
            show(&parts[w[0].1]),
            show(&parts[w[1].1])
        );
    }
    let records: Vec<Record> = all.into_iter().map(|(r, _)| r).collect();
    index::write_atomic(out, &records)?;
    Meta::describe(out, &meta0.layout, &meta0.splits, None, records.len())?.write(out)?;
    Ok(Merged {
        parts: parts.len(),
        shards: count,
        records: records.len(),
    })
}
