//! Planning, pure: records, duplicate groups and options in, a [`Plan`] out (where each source
//! goes, or why it does not). Its guarantees are property-tested in `tests.rs`.
//!
//! [`plan`] runs in named steps: each record's own fate (`Fate::initial`), then per
//! duplicate group the label-conflict rule, labelled copies over unlabeled ones and `--dedup`
//! (`Fate::settle_group`); then units (`join_units`, `build_units`), targets and the
//! assignment ([`assign`]), and the placements.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use anyhow::{Result, bail};
use regex::Regex;

use rayon::prelude::*;

use super::assign::{Unit, assign, count_class, path_bytes, seeded_key, targets};
use super::options::{Conflicts, Dedup, SplitOptions};
use crate::base::flags::Status;
use crate::groups::{Group, UnionFind};
use crate::index::Record;
use crate::loader::Loader;

/// Refuses to write an OUT with no image in it (nothing the loader reads was placed).
pub fn check_placed(plan: &Plan, loader: Loader) -> Result<()> {
    if !plan.placements.iter().any(|p| p.split.is_some()) {
        bail!(
            "no usable images: the {loader} loader reads none of the files, so OUT would be empty; refusing to write it"
        );
    }
    Ok(())
}

/// Where one source file goes, or why it does not.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub record: usize,
    /// Index into the split names; `None` when dropped.
    pub split: Option<usize>,
    /// The unit (group) it was placed with; units of one member have an id too.
    pub unit: usize,
    /// Whether the unit has more than one source (a duplicate group or a --group-by key).
    pub grouped: bool,
    /// Why it is dropped (`None` when copied).
    pub reason: Option<DropReason>,
}

/// Why a source file is not placed. Written to manifest.csv's `reason` column by `Display`;
/// [`DropReason::kind`] is the key counted in `split_report.json`.
#[derive(Debug, Clone, PartialEq)]
pub enum DropReason {
    /// Not decodable: the scan's status and message.
    Status { status: Status, message: String },
    /// In a duplicate group spanning classes: the group id and its classes.
    LabelConflict { group: usize, classes: Vec<String> },
    /// A redundant copy of the group's representative.
    DuplicateOf(PathBuf),
    /// The `--loader` does not read it: `not listed by keras (extension .webp)` or
    /// `keras fails on it: tiff content cannot be decoded`.
    NotLoaded(String),
    /// No class (no row in `--labels`, or a folder without class folders) while other
    /// images have one.
    Unlabeled,
    /// An unlabeled copy of a labelled image that is kept (`--keep-unlabeled` would put it
    /// beside its labelled twin: a leak).
    UnlabeledCopyOf(PathBuf),
}

impl DropReason {
    /// The kind, for counting: `duplicate`, `label conflict`, `status <status>`,
    /// `unlabeled`, `not listed by <loader>` or `<loader> fails on it`.
    pub fn kind(&self) -> String {
        match self {
            DropReason::Status { status, .. } => format!("status {status}"),
            DropReason::LabelConflict { .. } => "label conflict".into(),
            DropReason::DuplicateOf(_) => "duplicate".into(),
            DropReason::NotLoaded(why) => why
                .split([':', '('])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            DropReason::Unlabeled | DropReason::UnlabeledCopyOf(_) => "unlabeled".into(),
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::Status { status, message } => write!(f, "status {status}: {message}"),
            DropReason::LabelConflict { group, classes } => {
                write!(
                    f,
                    "label conflict (group {group}: {})",
                    classes.join(" vs ")
                )
            }
            DropReason::DuplicateOf(rep) => write!(f, "duplicate of {}", rep.display()),
            DropReason::NotLoaded(why) => f.write_str(why),
            DropReason::Unlabeled => f.write_str("unlabeled"),
            DropReason::UnlabeledCopyOf(rep) => {
                write!(f, "unlabeled copy of {}", rep.display())
            }
        }
    }
}

impl Placement {
    /// The `group` column: the unit id when the file was placed with others, else empty.
    pub fn group_field(&self) -> String {
        if self.grouped {
            self.unit.to_string()
        } else {
            String::new()
        }
    }

    /// The kind of reason, for counting (empty when copied).
    pub fn reason_kind(&self) -> String {
        self.reason
            .as_ref()
            .map(DropReason::kind)
            .unwrap_or_default()
    }
}

/// The complete placement of every record.
#[derive(Debug, Clone)]
pub struct Plan {
    pub placements: Vec<Placement>,
    pub class_names: Vec<String>,
    pub units: Vec<Unit>,
    pub targets: Vec<Vec<f64>>,
}

/// Plans the split. Fails (before anything is written) on a label conflict with
/// `--conflicts error`.
pub fn plan(records: &[Record], dup_groups: &[Group], opts: &SplitOptions) -> Result<Plan> {
    let mut fate = Fate::initial(records, opts);
    for g in dup_groups {
        fate.settle_group(g, records, opts)?;
    }
    let uf = join_units(records, dup_groups, opts.group_by.as_ref());
    let class_names = fate.class_names(records);
    let units = build_units(records, &fate, uf, &class_names, opts.seed);
    let targets = targets(
        &opts.sizes,
        opts.names.len(),
        &class_totals(&units.units, class_names.len()),
    );
    let assignment = assign(&units.units, &targets);
    // The reasons move into the placements (a copy of them cost ~40 bytes per image).
    let Fate {
        reason,
        unlabeled_kept,
    } = fate;
    let placements = reason
        .into_iter()
        .enumerate()
        .map(|(i, reason)| Placement {
            record: i,
            split: if unlabeled_kept[i] {
                // Past the split names: the unlabeled folder.
                Some(opts.names.len())
            } else {
                reason.is_none().then(|| assignment[units.unit_of[i]])
            },
            unit: units.unit_of[i],
            grouped: units.grouped[i],
            reason,
        })
        .collect();
    Ok(Plan {
        placements,
        class_names,
        units: units.units,
        targets,
    })
}

/// Per record: why it is not placed, or that it goes to the unlabeled folder
/// (`--keep-unlabeled`); a record with neither is placed in a split.
struct Fate {
    reason: Vec<Option<DropReason>>,
    unlabeled_kept: Vec<bool>,
}

impl Fate {
    /// Each record on its own: unreadable, not read by the loader, or without a class (while
    /// others have one; without any class the split is plain and nothing is "unlabeled").
    fn initial(records: &[Record], opts: &SplitOptions) -> Self {
        let n = records.len();
        let classless = records.iter().all(|r| r.class.is_empty());
        let mut reason: Vec<Option<DropReason>> = vec![None; n];
        let mut unlabeled_kept = vec![false; n];
        for (i, r) in records.iter().enumerate() {
            if !r.is_ok() {
                reason[i] = Some(DropReason::Status {
                    status: r.status,
                    message: r.message.to_string(),
                });
            } else if let Some(why) = opts.loader.exclusion(r) {
                reason[i] = Some(DropReason::NotLoaded(why));
            } else if r.class.is_empty() && !classless {
                if opts.keep_unlabeled {
                    unlabeled_kept[i] = true;
                } else {
                    reason[i] = Some(DropReason::Unlabeled);
                }
            }
        }
        Fate {
            reason,
            unlabeled_kept,
        }
    }

    /// One duplicate group: which of its usable members are kept (`--conflicts`, a labelled
    /// copy over an unlabeled one, `--dedup`); the others get their reason.
    fn settle_group(&mut self, g: &Group, records: &[Record], opts: &SplitOptions) -> Result<()> {
        let usable: Vec<usize> = g
            .members
            .iter()
            .copied()
            .filter(|&m| self.reason[m].is_none())
            .collect();
        if usable.is_empty() {
            return Ok(());
        }
        let keep = if g.label_conflict() {
            self.settle_conflict(g, usable, records, opts.conflicts)?
        } else {
            usable
        };
        let keep = self.prefer_labelled(keep, records);
        if opts.dedup == Dedup::KeepOne && keep.len() > 1 {
            let rep = crate::groups::representative(&keep, records);
            for &m in &keep {
                if m != rep {
                    self.reason[m] = Some(DropReason::DuplicateOf(records[rep].path.to_path_buf()));
                }
            }
        }
        Ok(())
    }

    /// A group under more than one class: refuse, drop it all, or keep the members of its
    /// one most common class (`--conflicts`). Returns the members kept.
    fn settle_conflict(
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
                for &m in usable.iter().filter(|&&m| !self.unlabeled_kept[m]) {
                    *by_class.entry(&records[m].class).or_default() += 1;
                }
                let top = by_class.values().copied().max().unwrap_or(0);
                let winners: Vec<&str> = by_class
                    .iter()
                    .filter(|(_, v)| **v == top)
                    .map(|(k, _)| *k)
                    .collect();
                if winners.len() == 1 {
                    keep.retain(|&m| records[m].class == winners[0] || self.unlabeled_kept[m]);
                } else {
                    keep.clear();
                }
            }
        }
        for &m in &usable {
            if !keep.contains(&m) {
                self.reason[m] = Some(DropReason::LabelConflict {
                    group: g.id,
                    classes: g.classes.iter().cloned().collect(),
                });
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
            .filter(|&m| !self.unlabeled_kept[m])
            .collect();
        if labelled.is_empty() || labelled.len() == keep.len() {
            return keep;
        }
        let rep = crate::groups::representative(&labelled, records);
        for &m in &keep {
            if self.unlabeled_kept[m] {
                self.unlabeled_kept[m] = false;
                self.reason[m] = Some(DropReason::UnlabeledCopyOf(records[rep].path.to_path_buf()));
            }
        }
        labelled
    }

    /// Whether record `i` is placed in one of the named splits.
    fn in_split(&self, i: usize) -> bool {
        self.reason[i].is_none() && !self.unlabeled_kept[i]
    }

    /// The classes of the records placed in a split, sorted: the strata.
    fn class_names(&self, records: &[Record]) -> Vec<String> {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        let mut last = None;
        for (i, r) in records.iter().enumerate() {
            // Records of one class mostly come in a row (path order): one look-up per run.
            if self.in_split(i) && last != Some(r.class.as_str()) {
                last = Some(r.class.as_str());
                names.insert(r.class.as_str());
            }
        }
        names.into_iter().map(str::to_owned).collect()
    }
}

/// Which records must land together: duplicate groups joined with `--group-by` keys (the
/// regex's first capture group, or its whole match, in the file name).
fn join_units(records: &[Record], dup_groups: &[Group], group_by: Option<&Regex>) -> UnionFind {
    let mut uf = UnionFind::new(records.len());
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
            if let Some(caps) = re.captures(&name) {
                let key = caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default();
                match first_with_key.get(&key) {
                    Some(&j) => {
                        uf.union(i, j);
                    }
                    None => {
                        first_with_key.insert(key, i);
                    }
                }
            }
        }
    }
    uf
}

/// The units, and per record its unit and whether that unit has more than one source.
struct Units {
    units: Vec<Unit>,
    unit_of: Vec<usize>,
    grouped: Vec<bool>,
}

/// Whether `records` are in path order, as the scan returns them (`ScanOutcome::records`):
/// then record order is path order and nothing needs sorting by path.
pub(super) fn in_path_order(records: &[Record]) -> bool {
    records.is_sorted_by(|a, b| a.path <= b.path)
}

/// One unit per set of `uf`, in path order of its first member; a unit's members are the
/// records placed in a split, counted per class index. Built from record indices (no map
/// keyed by set, no list per set before it is known to be a unit's).
fn build_units(
    records: &[Record],
    fate: &Fate,
    mut uf: UnionFind,
    class_names: &[String],
    seed: u64,
) -> Units {
    let n = records.len();
    let class_index: HashMap<&str, usize> = class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    // Sets numbered in order of their first (lowest) record; `set_of[i]` is record i's.
    let mut set_of_root = vec![usize::MAX; n];
    let mut set_of = Vec::with_capacity(n);
    let mut first: Vec<usize> = Vec::new();
    let mut size: Vec<usize> = Vec::new();
    for i in 0..n {
        let root = uf.find(i);
        if set_of_root[root] == usize::MAX {
            set_of_root[root] = first.len();
            first.push(i);
            size.push(0);
        }
        set_of.push(set_of_root[root]);
        size[set_of_root[root]] += 1;
    }
    drop((uf, set_of_root));
    // Unit ids in path order of the first member: set order when the records are in path order.
    let mut order: Vec<usize> = (0..first.len()).collect();
    if !in_path_order(records) {
        order.sort_by(|&a, &b| records[first[a]].path.cmp(&records[first[b]].path));
    }
    let mut unit_of_set = vec![0; first.len()];
    for (id, &set) in order.iter().enumerate() {
        unit_of_set[set] = id;
    }
    let mut units: Vec<Unit> = order
        .par_iter()
        .map(|&set| Unit {
            members: Vec::new(),
            counts: Vec::new(),
            key: seeded_key(seed, &path_bytes(&records[first[set]].path)),
        })
        .collect();
    let mut unit_of = vec![usize::MAX; n];
    let mut grouped = vec![false; n];
    for (i, r) in records.iter().enumerate() {
        let id = unit_of_set[set_of[i]];
        unit_of[i] = id;
        grouped[i] = size[set_of[i]] > 1;
        if fate.in_split(i) {
            let unit = &mut units[id];
            unit.members.push(i);
            count_class(&mut unit.counts, class_index[r.class.as_str()]);
        }
    }
    Units {
        units,
        unit_of,
        grouped,
    }
}

/// Images per class index over all units.
pub(super) fn class_totals(units: &[Unit], classes: usize) -> Vec<usize> {
    let mut totals = vec![0usize; classes];
    for u in units {
        for &(c, k) in &u.counts {
            totals[c] += k;
        }
    }
    totals
}
