//! Planning, pure: records, duplicate groups and options in, a [`Plan`] out (where each source
//! goes, or why it does not). Its guarantees are property-tested in `tests.rs`.
//!
//! [`plan`] runs in named steps: each record's own fate (`Settle::initial`), then per
//! duplicate group the label-conflict rule, labelled copies over unlabeled ones and `--dedup`
//! (`Settle::group`); then unit numbers (`number_units`), the units ([`Units`]), targets and
//! the assignment ([`assign`]).
//!
//! A plan holds 8 bytes per record ([`Placement`]): a unit is computed from the placements
//! when needed, and a reason's text when it is written (docs/BENCHMARKS.md "At a million images").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Result, bail};
use regex::Regex;

use super::assign::{Units, assign, class_indices, targets};
use super::options::{Conflicts, Dedup, SplitOptions};
use super::placement::{NO_SPLIT, Placement};
use super::reason::{DropReason, Fate};
use crate::index::Record;
use crate::loader::Loader;
use crate::near::groups::Group;

/// Refuses to write an OUT with no image in it, naming what removed the images: label
/// conflicts, duplicates, unlabeled images, the loader, unreadable files (with counts).
pub fn check_placed(plan: &Plan, loader: Loader) -> Result<()> {
    if plan.placements.iter().any(|p| p.split().is_some()) {
        return Ok(());
    }
    let mut by_fate: BTreeMap<Fate, usize> = BTreeMap::new();
    for p in &plan.placements {
        *by_fate.entry(p.fate()).or_default() += 1;
    }
    bail!(
        "no usable images: {}, so OUT would be empty; refusing to write it",
        why_nothing_placed(&by_fate, loader)
    )
}

/// What removed every image, largest cause first, e.g. "all 4 images are label conflicts (the
/// same picture under two classes: 2 groups)".
fn why_nothing_placed(by_fate: &BTreeMap<Fate, usize>, loader: Loader) -> String {
    let total: usize = by_fate.values().sum();
    if total == 0 {
        return "there are no images".into();
    }
    let mut parts: Vec<(usize, String)> = by_fate
        .iter()
        .filter(|&(_, &n)| n > 0)
        .map(|(&fate, &n)| {
            let what = match fate {
                Fate::LabelConflict => {
                    "in label conflicts (the same picture under different classes; --conflicts majority keeps the most common class)"
                        .to_string()
                }
                Fate::DuplicateOf => "duplicates of another image".into(),
                Fate::Unlabeled | Fate::UnlabeledCopyOf => {
                    "unlabeled (--keep-unlabeled places them; --labels gives them classes)".into()
                }
                Fate::NotLoaded => format!("not read by the {loader} loader (see --loader)"),
                Fate::Status => "unreadable, corrupt or too large (see the scan summary)".into(),
                Fate::Placed | Fate::KeptUnlabeled => "placed".into(),
            };
            (n, format!("{n} {what}"))
        })
        .collect();
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    let list: Vec<String> = parts.into_iter().map(|(_, p)| p).collect();
    format!("of {total} images, {}", list.join("; "))
}

/// The complete placement of every record.
#[derive(Debug, Clone)]
pub struct Plan {
    /// One per record, in record order.
    pub placements: Vec<Placement>,
    pub class_names: Vec<String>,
    pub targets: Vec<Vec<f64>>,
    /// Units (sets of sources that land together), with or without an image to place.
    pub unit_count: usize,
    /// Units with an image placed in a split, and the size of the largest.
    pub placed_units: usize,
    pub largest_unit: usize,
    /// Orders the units ([`Units`]).
    pub seed: u64,
    /// Whose view excluded the `NotLoaded` files (their reason is the loader's).
    pub loader: Loader,
    /// Per record whose reason names one (sorted by record): the representative of
    /// `DuplicateOf` and `UnlabeledCopyOf`, the group id of `LabelConflict`.
    references: Vec<(u32, u32)>,
    /// The classes of each label-conflict group, by group id.
    conflict_classes: BTreeMap<u32, Vec<String>>,
}

impl Plan {
    /// Why record `i` is not placed (`None` when placed), made from its [`Fate`].
    pub fn reason(&self, i: usize, records: &[Record]) -> Option<DropReason> {
        let r = &records[i];
        let reference = || self.reference(i).expect("a reason's reference is kept");
        Some(match self.placements[i].fate {
            Fate::Placed | Fate::KeptUnlabeled => return None,
            Fate::Status => DropReason::Status {
                status: r.status,
                message: r.message.to_string(),
            },
            Fate::NotLoaded => DropReason::NotLoaded(self.loader.exclusion(r).unwrap_or_default()),
            Fate::Unlabeled => DropReason::Unlabeled,
            Fate::DuplicateOf => DropReason::DuplicateOf(records[reference()].path.to_path_buf()),
            Fate::UnlabeledCopyOf => {
                DropReason::UnlabeledCopyOf(records[reference()].path.to_path_buf())
            }
            Fate::LabelConflict => {
                let group = reference();
                DropReason::LabelConflict {
                    group,
                    classes: self.conflict_classes[&(group as u32)].clone(),
                }
            }
        })
    }

    /// The kind of reason record `i` is dropped for, for counting (empty when placed).
    pub fn reason_kind(&self, i: usize, records: &[Record]) -> String {
        self.reason(i, records)
            .as_ref()
            .map(DropReason::kind)
            .unwrap_or_default()
    }

    /// The record (or group) record `i`'s reason names: the representative it duplicates,
    /// or its label-conflict group.
    pub fn reference(&self, i: usize) -> Option<usize> {
        if !self.placements[i].fate.has_reference() {
            return None;
        }
        let at = self
            .references
            .binary_search_by_key(&(i as u32), |&(r, _)| r)
            .ok()?;
        Some(self.references[at].1 as usize)
    }

    /// The units with an image to place, in the order the assignment takes them.
    pub fn units(&self, records: &[Record]) -> Units {
        Units::of(&self.placements, records, self.seed)
    }
}

/// Plans the split. Fails (before anything is written) on a label conflict with
/// `--conflicts error`.
pub fn plan(records: &[Record], dup_groups: &[Group], opts: &SplitOptions) -> Result<Plan> {
    if records.len() >= u32::MAX as usize {
        bail!(
            "{} records: split plans at most {} at once",
            records.len(),
            u32::MAX - 1
        );
    }
    if opts.names.len() >= NO_SPLIT as usize {
        bail!("{} split names: at most {}", opts.names.len(), NO_SPLIT - 1);
    }
    let mut settle = Settle::initial(records, opts);
    for g in dup_groups {
        settle.group(g, records, opts)?;
    }
    let Settle {
        mut placements,
        mut references,
        conflict_classes,
    } = settle;
    // Sorted by record; a record settled twice keeps its last reference.
    references.sort_by_key(|&(r, _)| r);
    references.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            earlier.1 = later.1;
        }
        same
    });
    references.shrink_to_fit();
    let unit_count = number_units(&mut placements, records, dup_groups, opts.group_by.as_ref());
    let class_names = class_names(&placements, records);
    let mut plan = Plan {
        placements,
        class_names,
        targets: Vec::new(),
        unit_count,
        placed_units: 0,
        largest_unit: 0,
        seed: opts.seed,
        loader: opts.loader,
        references,
        conflict_classes,
    };
    let units = plan.units(records);
    let classes = class_indices(&plan.class_names, &plan.placements, records);
    let class_of = |m: usize| classes[m] as usize;
    plan.targets = targets(
        &opts.sizes,
        opts.names.len(),
        &units.totals(&class_of, plan.class_names.len()),
    );
    plan.placed_units = units.len();
    plan.largest_unit = units.largest();
    let placements = &mut plan.placements;
    assign(&units, &class_of, &plan.targets, |members, s| {
        for &m in members {
            placements[m as usize].set_split(Some(s));
        }
    });
    drop((units, classes));
    for p in placements.iter_mut() {
        if p.fate == Fate::KeptUnlabeled {
            // Past the split names: the unlabeled folder.
            p.set_split(Some(opts.names.len()));
        }
    }
    Ok(plan)
}

/// The fates being settled: per record its [`Placement`] (fate only, so far), and the
/// references of the reasons that name a record or group.
struct Settle {
    placements: Vec<Placement>,
    references: Vec<(u32, u32)>,
    conflict_classes: BTreeMap<u32, Vec<String>>,
}

impl Settle {
    /// Each record on its own: unreadable, not read by the loader, or without a class (while
    /// others have one; without any class the split is plain and nothing is "unlabeled").
    fn initial(records: &[Record], opts: &SplitOptions) -> Self {
        let classless = records.iter().all(|r| r.class.is_empty());
        let placements = records
            .iter()
            .map(|r| {
                Placement::new(if !r.is_ok() {
                    Fate::Status
                } else if opts.loader.exclusion(r).is_some() {
                    Fate::NotLoaded
                } else if r.class.is_empty() && !classless {
                    if opts.keep_unlabeled {
                        Fate::KeptUnlabeled
                    } else {
                        Fate::Unlabeled
                    }
                } else {
                    Fate::Placed
                })
            })
            .collect();
        Settle {
            placements,
            references: Vec::new(),
            conflict_classes: BTreeMap::new(),
        }
    }

    fn fate(&self, m: usize) -> Fate {
        self.placements[m].fate
    }

    /// Drops record `m` for a reason naming record or group `reference`.
    fn drop_with(&mut self, m: usize, fate: Fate, reference: usize) {
        self.placements[m].fate = fate;
        self.references.push((m as u32, reference as u32));
    }

    /// One duplicate group: which of its usable members are kept (`--conflicts`, a labelled
    /// copy over an unlabeled one, `--dedup`); the others get their reason.
    fn group(&mut self, g: &Group, records: &[Record], opts: &SplitOptions) -> Result<()> {
        let usable: Vec<usize> = g
            .members
            .iter()
            .copied()
            .filter(|&m| !self.fate(m).is_dropped())
            .collect();
        if usable.is_empty() {
            return Ok(());
        }
        let keep = if g.label_conflict() {
            self.conflict(g, usable, records, opts.conflicts)?
        } else {
            usable
        };
        let keep = self.prefer_labelled(keep, records);
        if opts.dedup == Dedup::KeepOne && keep.len() > 1 {
            let rep = crate::near::groups::representative(&keep, records);
            for &m in &keep {
                if m != rep {
                    self.drop_with(m, Fate::DuplicateOf, rep);
                }
            }
        }
        Ok(())
    }

    /// A group under more than one class: refuse, drop it all, or keep the members of its
    /// one most common class (`--conflicts`). Returns the members kept.
    fn conflict(
        &mut self,
        g: &Group,
        usable: Vec<usize>,
        records: &[Record],
        conflicts: Conflicts,
    ) -> Result<Vec<usize>> {
        let mut keep = usable.clone();
        match conflicts {
            Conflicts::Error => bail!(
                "label conflict: {} are one image under classes {}; resolve it or use --conflicts drop|majority",
                usable
                    .iter()
                    .map(|&m| records[m].path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                g.classes.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            Conflicts::Drop => keep.clear(),
            Conflicts::Majority => {
                let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
                for &m in usable
                    .iter()
                    .filter(|&&m| self.fate(m) != Fate::KeptUnlabeled)
                {
                    *by_class.entry(&records[m].class).or_default() += 1;
                }
                let top = by_class.values().copied().max().unwrap_or(0);
                let winners: Vec<&str> = by_class
                    .iter()
                    .filter(|(_, v)| **v == top)
                    .map(|(k, _)| *k)
                    .collect();
                if winners.len() == 1 {
                    keep.retain(|&m| {
                        records[m].class == winners[0] || self.fate(m) == Fate::KeptUnlabeled
                    });
                } else {
                    keep.clear();
                }
            }
        }
        for &m in &usable {
            if !keep.contains(&m) {
                self.drop_with(m, Fate::LabelConflict, g.id);
                self.conflict_classes
                    .entry(g.id as u32)
                    .or_insert_with(|| g.classes.iter().cloned().collect());
            }
        }
        Ok(keep)
    }

    /// A labelled copy is kept over an unlabeled one; an unlabeled copy of a labelled image
    /// never goes to the unlabeled folder (it would leak beside its labelled twin).
    fn prefer_labelled(&mut self, keep: Vec<usize>, records: &[Record]) -> Vec<usize> {
        let labelled: Vec<usize> = keep
            .iter()
            .copied()
            .filter(|&m| self.fate(m) != Fate::KeptUnlabeled)
            .collect();
        if labelled.is_empty() || labelled.len() == keep.len() {
            return keep;
        }
        let rep = crate::near::groups::representative(&labelled, records);
        for &m in &keep {
            if self.fate(m) == Fate::KeptUnlabeled {
                self.drop_with(m, Fate::UnlabeledCopyOf, rep);
            }
        }
        labelled
    }
}

/// The classes of the records placed in a split, sorted: the strata.
fn class_names(placements: &[Placement], records: &[Record]) -> Vec<String> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut last = None;
    for (p, r) in placements.iter().zip(records) {
        // Records of one class mostly come in a row (path order): one look-up per run.
        if p.in_split() && last != Some(r.class.as_str()) {
            last = Some(r.class.as_str());
            names.insert(r.class.as_str());
        }
    }
    names.into_iter().map(str::to_owned).collect()
}

/// A union-find whose root is its set's lowest record (4 bytes per record): a record is the
/// first of its set exactly when it is its own root.
struct LowestRoot(Vec<u32>);

impl LowestRoot {
    fn new(n: usize) -> Self {
        LowestRoot((0..n as u32).collect())
    }

    fn find(&mut self, mut x: usize) -> usize {
        let p = &mut self.0;
        while p[x] as usize != x {
            p[x] = p[p[x] as usize];
            x = p[x] as usize;
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        let (lo, hi) = (ra.min(rb), ra.max(rb));
        self.0[hi] = lo as u32;
    }
}

/// Numbers the units, which records must land together: duplicate groups joined with
/// `--group-by` keys (the regex's first capture group, or its whole match, in the file name).
/// A unit's id is the rank of its first record's path; `grouped` marks units of more than
/// one record. Returns the number of units.
fn number_units(
    placements: &mut [Placement],
    records: &[Record],
    dup_groups: &[Group],
    group_by: Option<&Regex>,
) -> usize {
    let mut uf = LowestRoot::new(records.len());
    for g in dup_groups {
        for w in g.members.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    if let Some(re) = group_by {
        let mut first_with_key: HashMap<String, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            let name = r
                .path
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(key) = crate::subjects::key_of(re, &name) {
                let key = key.to_owned();
                match first_with_key.get(&key) {
                    Some(&j) => uf.union(i, j),
                    None => {
                        first_with_key.insert(key, i);
                    }
                }
            }
        }
    }
    // Sets numbered in order of their first record: its root.
    let sorted = in_path_order(records);
    let mut firsts: Vec<u32> = Vec::new();
    let mut sets = 0u32;
    for i in 0..records.len() {
        let root = uf.find(i);
        if root == i {
            placements[i].unit = sets;
            sets += 1;
            if !sorted {
                firsts.push(i as u32);
            }
        } else {
            placements[i].unit = placements[root].unit;
            placements[i].grouped = true;
            placements[root].grouped = true;
        }
    }
    drop(uf);
    // Unit ids in path order of the first record: set order when the records are in path order.
    if !sorted {
        let mut order: Vec<u32> = (0..sets).collect();
        order.sort_by(|&a, &b| {
            records[firsts[a as usize] as usize]
                .path
                .cmp(&records[firsts[b as usize] as usize].path)
                .then(a.cmp(&b))
        });
        let mut rank = vec![0u32; sets as usize];
        for (id, &set) in order.iter().enumerate() {
            rank[set as usize] = id as u32;
        }
        for p in placements.iter_mut() {
            p.unit = rank[p.unit as usize];
        }
    }
    sets as usize
}

/// Whether `records` are in path order, as the scan returns them (`ScanOutcome::records`):
/// then record order is path order and nothing needs sorting by path.
pub(super) fn in_path_order(records: &[Record]) -> bool {
    records.is_sorted_by(|a, b| a.path <= b.path)
}
