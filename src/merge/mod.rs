//! `merge`: combine class-folder datasets into one, safely.
//!
//! Each source is scanned as any dataset (its own index); class names are matched exactly
//! after `--map` renames, near-matches are reported, never guessed ([`classes`]); copies
//! across (and within) sources are found with the leak detector and kept once (the group's
//! representative), label conflicts are handled like `split --conflicts`; OUT is written by
//! `split`'s writer (temporary folder, then rename). The source check ([`sources`]) says
//! whether a class comes mostly from one source.

pub mod classes;
mod run;

pub use run::{MergeJob, MergeOutcome, run};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::base::intern::Name;
use crate::base::paths::path_field;
use crate::index::Record;
use crate::layout::{Role, split_role};
use crate::leaks::{self, LeakOptions, LeakSummary, Leaks};
use crate::loader::Loader;
use crate::split::sources::{self, SourceTable, SourceWarning, THRESHOLDS, Thresholds};
use crate::split::{self, Conflicts, Dedup, DropReason, Fate, Plan, Sizes, SplitOptions};
use classes::{MapRule, NearMatch};

/// One scanned source dataset.
#[derive(Debug, Clone)]
pub struct Source {
    /// Short unique name (the folder name; see [`source_names`]): the `source_name` column,
    /// and what `--map` rows name.
    pub name: String,
    /// Canonical root.
    pub root: PathBuf,
    /// The layout as the scan described it.
    pub layout: String,
    /// Split folders (empty without splits).
    pub splits: Vec<String>,
    pub records: Vec<Record>,
    /// The labels CSV that gave its files their classes (`--labels SRC=FILE`), if any:
    /// recorded so the merge can be redone from the report.
    pub labels: Option<PathBuf>,
}

/// Unique names for source roots: the folder name, with `-2`, `-3`, ... added when two
/// sources share one (`data`, `data-2`).
pub fn source_names(roots: &[PathBuf]) -> Vec<String> {
    let mut used: BTreeSet<String> = BTreeSet::new();
    roots
        .iter()
        .map(|r| {
            let base = r
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "source".into());
            let mut name = base.clone();
            let mut k = 2;
            while used.contains(&name) {
                name = format!("{base}-{k}");
                k += 1;
            }
            used.insert(name.clone());
            name
        })
        .collect()
}

/// Options of `cleansplit merge`.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// Keep each source's splits (by role: train, val, test) instead of pooling them.
    pub keep_splits: bool,
    pub map: Vec<MapRule>,
    /// Keep only these classes (names after `--map`).
    pub classes: Option<Vec<String>>,
    pub conflicts: Conflicts,
    pub leak: LeakOptions,
    /// The loader whose view decides what is placed (`--loader`): a file it cannot read is
    /// dropped and never a group's representative.
    pub loader: Loader,
}

/// A source file left out of the merge by `--classes`.
#[derive(Debug, Clone)]
pub struct Excluded {
    pub source: usize,
    pub path: PathBuf,
    pub class: String,
}

/// Sources combined, checked and planned; [`Prepared::place`] decides what lands in OUT.
#[derive(Debug)]
pub struct Prepared {
    pub sources: Vec<Source>,
    /// Every included file of every source: `path` absolute, `class` after `--map`, `split`
    /// the source's name (so the leak detector's cross-split groups are cross-source ones).
    pub records: Vec<Record>,
    /// For each record: its source and its path relative to that source.
    pub origin: Vec<(usize, PathBuf)>,
    /// For each record: the split it keeps with `--keep-splits`.
    pub out_split: Vec<String>,
    pub excluded: Vec<Excluded>,
    pub leaks: Leaks,
    pub near_matches: Vec<NearMatch>,
    /// Source -> original class -> class after `--map`.
    pub class_map: Vec<BTreeMap<String, String>>,
    pub warnings: Vec<String>,
    pub opts: MergeOptions,
}

/// The split a file keeps with `--keep-splits`: its split's role name (`training_set` and
/// `train` meet as `train`), another name as it is, and `train` for a source without splits.
pub fn out_split_name(split: &str) -> String {
    match split_role(split) {
        Role::Train => "train".into(),
        Role::Val => "val".into(),
        Role::Test => "test".into(),
        Role::Other if split.is_empty() => "train".into(),
        Role::Other => split.into(),
    }
}

/// Maps classes, applies `--classes`, finds near-matches, copies and conflicts. Fails (exit 2
/// in the CLI) on bad options.
pub fn prepare(sources: Vec<Source>, opts: &MergeOptions) -> Result<Prepared> {
    if sources.len() < 2 {
        bail!("merge needs at least two sources");
    }
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    let original: Vec<BTreeSet<String>> = sources
        .iter()
        .map(|s| s.records.iter().map(|r| r.class.to_string()).collect())
        .collect();
    let mut warnings = classes::check_map(&opts.map, &names, &original)?;
    let class_map: Vec<BTreeMap<String, String>> = sources
        .iter()
        .zip(&original)
        .map(|(s, cs)| {
            cs.iter()
                .map(|c| {
                    (
                        c.clone(),
                        classes::mapped(&opts.map, &s.name, c).to_string(),
                    )
                })
                .collect()
        })
        .collect();
    let final_classes: Vec<BTreeSet<String>> = class_map
        .iter()
        .map(|m| m.values().cloned().collect())
        .collect();
    let all: BTreeSet<&String> = final_classes.iter().flatten().collect();
    if let Some(keep) = &opts.classes {
        let missing: Vec<&String> = keep.iter().filter(|c| !all.contains(c)).collect();
        if !missing.is_empty() {
            bail!(
                "--classes names {} which no source has (classes after --map: {})",
                missing
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                all.iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let near_matches = classes::near_matches(&names, &final_classes);
    if sources.iter().any(|s| s.splits.is_empty()) && opts.keep_splits {
        for s in sources.iter().filter(|s| s.splits.is_empty()) {
            warnings.push(format!(
                "--keep-splits: {} has no split folders; its files go to train",
                s.name
            ));
        }
    }
    let mut records = Vec::new();
    let mut origin = Vec::new();
    let mut out_split = Vec::new();
    let mut excluded = Vec::new();
    for (si, s) in sources.iter().enumerate() {
        for r in &s.records {
            let class = class_map[si][r.class.as_str()].clone();
            if opts.classes.as_ref().is_some_and(|k| !k.contains(&class)) {
                excluded.push(Excluded {
                    source: si,
                    path: r.path.to_path_buf(),
                    class,
                });
                continue;
            }
            let mut c = r.clone();
            c.path = s.root.join(&r.path).into();
            c.class = Name::from(&class);
            c.split = Name::from(&s.name);
            out_split.push(out_split_name(&r.split));
            origin.push((si, r.path.to_path_buf()));
            records.push(c);
        }
    }
    let leaks = leaks::analyze(&records, &opts.leak)?;
    Ok(Prepared {
        sources,
        records,
        origin,
        out_split,
        excluded,
        leaks,
        near_matches,
        class_map,
        warnings,
        opts: opts.clone(),
    })
}

/// What lands in OUT.
#[derive(Debug)]
pub struct Merged {
    pub plan: Plan,
    /// Split folder names in OUT (`[""]` when splits are pooled).
    pub names: Vec<String>,
    pub dests: split::Destinations,
    pub table: SourceTable,
    pub report: MergeReport,
}

impl Prepared {
    /// `source_name/relative path` of record `i`, as reports show it.
    pub fn display(&self, i: usize) -> String {
        let (s, rel) = &self.origin[i];
        format!("{}/{}", self.sources[*s].name, rel.display())
    }

    /// Keeps each duplicate group once (its representative), resolves label conflicts by
    /// `--conflicts`, places the rest. Fails only on a conflict with `--conflicts error`.
    pub fn place(&self) -> Result<Merged> {
        let opts = SplitOptions {
            names: vec![String::new()],
            sizes: Sizes::Ratio(vec![1.0]),
            seed: 0,
            group_by: None,
            dedup: Dedup::KeepOne,
            conflicts: self.opts.conflicts,
            loader: self.opts.loader,
            // Sources are class-folder datasets; an image without a class has nowhere to go.
            keep_unlabeled: false,
        };
        let mut plan = split::plan(&self.records, &self.leaks.groups, &opts)?;
        // Never an empty OUT: the message names what removed the images.
        split::check_placed(&plan, self.opts.loader)?;
        let names: Vec<String> = if self.opts.keep_splits {
            plan.placements
                .iter()
                .enumerate()
                .filter(|(_, p)| p.split().is_some())
                .map(|(i, _)| self.out_split[i].clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            vec![String::new()]
        };
        for (i, p) in plan.placements.iter_mut().enumerate() {
            if p.split().is_some() && self.opts.keep_splits {
                let s = &self.out_split[i];
                p.set_split(names.iter().position(|n| n == s));
            }
        }
        let dests = split::destinations(&plan, &self.records, &names);
        let table = sources::table(
            plan.placements
                .iter()
                .enumerate()
                .filter(|(_, p)| p.split().is_some())
                .map(|(i, _)| {
                    (
                        self.records[i].class.as_str(),
                        self.sources[self.origin[i].0].name.as_str(),
                    )
                }),
            &self
                .sources
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>(),
        );
        let report = self.report(&plan, &table);
        Ok(Merged {
            plan,
            names,
            dests,
            table,
            report,
        })
    }

    fn report(&self, plan: &Plan, table: &SourceTable) -> MergeReport {
        let placed = plan
            .placements
            .iter()
            .filter(|p| p.split().is_some())
            .count();
        let mut dropped_by_reason: BTreeMap<String, usize> = BTreeMap::new();
        for (i, p) in plan.placements.iter().enumerate() {
            if p.split().is_none() {
                *dropped_by_reason
                    .entry(plan.reason_kind(i, &self.records))
                    .or_default() += 1;
            }
        }
        if !self.excluded.is_empty() {
            dropped_by_reason.insert("class not selected".into(), self.excluded.len());
        }
        let groups = &self.leaks.groups;
        let across: Vec<_> = groups.iter().filter(|g| g.cross_split()).collect();
        let dropped_as_dup = |g: &&crate::near::groups::Group| {
            g.members
                .iter()
                .filter(|&&m| plan.placements[m].fate() == Fate::DuplicateOf)
                .count()
        };
        let conflicts = groups
            .iter()
            .filter(|g| g.label_conflict())
            .map(|g| ConflictGroup {
                group: g.id,
                classes: g.classes.iter().cloned().collect(),
                members: g.members.iter().map(|&m| self.display(m)).collect(),
            })
            .collect();
        MergeReport {
            sources: self
                .sources
                .iter()
                .enumerate()
                .map(|(i, s)| SourceInfo {
                    name: s.name.clone(),
                    root: s.root.display().to_string(),
                    layout: s.layout.clone(),
                    splits: s.splits.clone(),
                    images: s.records.len(),
                    classes: self.class_map[i].clone(),
                    labels: s.labels.as_ref().map(|p| p.display().to_string()),
                })
                .collect(),
            keep_splits: self.opts.keep_splits,
            conflicts: self.opts.conflicts,
            map: self.opts.map.clone(),
            selected_classes: self.opts.classes.clone(),
            classes: table.classes.iter().map(|c| c.class.clone()).collect(),
            near_matches: self.near_matches.clone(),
            copy_groups_across_sources: across.len(),
            copies_dropped_across_sources: across.iter().map(dropped_as_dup).sum(),
            copy_groups_within_sources: groups.iter().filter(|g| !g.cross_split()).count(),
            copies_dropped_within_sources: groups
                .iter()
                .filter(|g| !g.cross_split())
                .map(|g| dropped_as_dup(&g))
                .sum(),
            label_conflicts: conflicts,
            files: self.records.len() + self.excluded.len(),
            placed,
            dropped: self.records.len() + self.excluded.len() - placed,
            dropped_by_reason,
            source_table: table.clone(),
            source_warnings: table.warnings(),
            thresholds: THRESHOLDS,
            warnings: self.warnings.clone(),
            leaks: self.leaks.summary.clone(),
        }
    }

    /// `manifest.csv`: split's columns (`source` relative to its source root) and then
    /// `source_name`, `source_root`. Every file of every source once.
    pub fn write_manifest<W: std::io::Write>(&self, w: W, m: &Merged) -> Result<()> {
        let mut wtr = csv::Writer::from_writer(w);
        let mut header: Vec<&str> = split::MANIFEST_HEADER.to_vec();
        header.extend(sources::SOURCE_COLUMNS);
        wtr.write_record(&header)?;
        for (i, p) in m.plan.placements.iter().enumerate() {
            let (s, rel) = &self.origin[i];
            let mut row = csv::ByteRecord::new();
            row.push_field(&path_field(rel));
            row.push_field(
                &m.dests
                    .get(i, &m.plan, &self.records)
                    .as_deref()
                    .map(path_field)
                    .unwrap_or_default(),
            );
            row.push_field(
                p.split()
                    .map(|s| m.names[s].as_str())
                    .unwrap_or("")
                    .as_bytes(),
            );
            row.push_field(self.records[i].class.as_bytes());
            row.push_field(p.group_field().as_bytes());
            row.push_field(if p.split().is_some() {
                b"copied" as &[u8]
            } else {
                b"dropped"
            });
            // Reasons name the kept copy as `source/relative path`, not an absolute path.
            let reason = match m.plan.reason(i, &self.records) {
                Some(DropReason::DuplicateOf(_)) => m
                    .plan
                    .reference(i)
                    .map(|rep| DropReason::DuplicateOf(PathBuf::from(self.display(rep)))),
                other => other,
            };
            row.push_field(
                reason
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            row.push_field(self.sources[*s].name.as_bytes());
            row.push_field(&path_field(&self.sources[*s].root));
            wtr.write_byte_record(&row)?;
        }
        for e in &self.excluded {
            let s = &self.sources[e.source];
            let mut row = csv::ByteRecord::new();
            row.push_field(&path_field(&e.path));
            row.push_field(b"");
            row.push_field(b"");
            row.push_field(e.class.as_bytes());
            row.push_field(b"");
            row.push_field(b"dropped");
            row.push_field(b"class not selected");
            row.push_field(s.name.as_bytes());
            row.push_field(&path_field(&s.root));
            wtr.write_byte_record(&row)?;
        }
        wtr.flush()?;
        Ok(())
    }
}

/// `merge_report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    pub sources: Vec<SourceInfo>,
    pub keep_splits: bool,
    pub conflicts: Conflicts,
    pub map: Vec<MapRule>,
    pub selected_classes: Option<Vec<String>>,
    /// Classes in OUT.
    pub classes: Vec<String>,
    pub near_matches: Vec<NearMatch>,
    pub copy_groups_across_sources: usize,
    pub copies_dropped_across_sources: usize,
    pub copy_groups_within_sources: usize,
    pub copies_dropped_within_sources: usize,
    pub label_conflicts: Vec<ConflictGroup>,
    /// Files in all sources.
    pub files: usize,
    pub placed: usize,
    pub dropped: usize,
    pub dropped_by_reason: BTreeMap<String, usize>,
    pub source_table: SourceTable,
    pub source_warnings: Vec<SourceWarning>,
    pub thresholds: Thresholds,
    pub warnings: Vec<String>,
    /// The leak detector's figures over all sources (`splits` are the sources here).
    pub leaks: LeakSummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub name: String,
    pub root: String,
    pub layout: String,
    pub splits: Vec<String>,
    pub images: usize,
    /// Class folder -> class in OUT.
    pub classes: BTreeMap<String, String>,
    /// The labels CSV given for the source (`--labels`), absolute; `null` without one.
    pub labels: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConflictGroup {
    pub group: usize,
    pub classes: Vec<String>,
    /// `source/relative path` of each member.
    pub members: Vec<String>,
}

/// Checks OUT against every source: not inside any of them (and, as for `split`, empty or
/// absent).
pub fn check_out(roots: &[PathBuf], out: &Path) -> Result<()> {
    for r in roots {
        split::check_out(r, out)?;
    }
    Ok(())
}
