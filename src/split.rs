//! Writing clean splits: stratified by class, group-aware (a duplicate group, or a
//! `--group-by` key such as a patient id, never straddles two splits), deduplicated, and
//! never touching the source.
//!
//! Planning ([`plan`]) is pure: it turns records, duplicate groups and options into
//! [`Placement`]s, so its guarantees are property-tested. Writing ([`write`]) happens in a
//! temporary folder beside OUT that is renamed into place at the end, so an interrupted run
//! leaves no half-written OUT.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use regex::Regex;
use serde::Serialize;

use crate::balance;
use crate::base::flags::Status;
use crate::groups::{Group, UnionFind};
use crate::index::{Record, path_field};
use crate::loader::Loader;

/// What to do with the extra copies in a duplicate group (`--dedup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dedup {
    /// Copy each group's representative only; list the others as dropped.
    #[default]
    KeepOne,
    /// Copy every member (still kept together in one split).
    None,
}

/// What to do with a duplicate group under more than one class (`--conflicts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Conflicts {
    /// Copy none of its members; list them all.
    #[default]
    Drop,
    /// Keep the members of the most common class (ties: drop).
    Majority,
    /// Refuse to split (exit 1, write nothing).
    Error,
}

/// How files reach OUT (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Copy,
    /// Hard links (falls back to copies across file systems, with one warning).
    Hardlink,
    /// Symbolic links to the absolute source path.
    Symlink,
    /// Only the CSV and JSON files; no images.
    Manifest,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Copy => "copy",
            Mode::Hardlink => "hardlink",
            Mode::Symlink => "symlink",
            Mode::Manifest => "manifest",
        }
    }
}

/// Target sizes of the new splits.
#[derive(Debug, Clone, PartialEq)]
pub enum Sizes {
    /// Fractions per split, summing to 1 (`--ratio 0.8,0.2`).
    Ratio(Vec<f64>),
    /// This many images per class in every split after the first (`--count N`).
    Count(usize),
}

/// Options of `cleansplit split`.
#[derive(Debug, Clone)]
pub struct SplitOptions {
    pub names: Vec<String>,
    pub sizes: Sizes,
    pub seed: u64,
    pub group_by: Option<Regex>,
    pub dedup: Dedup,
    pub conflicts: Conflicts,
    /// The loader whose view decides what is placed (`--loader`): a file it cannot read is
    /// never placed and never a group's representative.
    pub loader: Loader,
    /// Place images without a class in their own folder, [`UNLABELED_DIR`]
    /// (`--keep-unlabeled`), instead of dropping them as `unlabeled`.
    pub keep_unlabeled: bool,
}

/// The folder `--keep-unlabeled` places images without a class in (beside the splits).
pub const UNLABELED_DIR: &str = "unlabeled";

/// The folder name of split index `s`: one of `names`, or [`UNLABELED_DIR`] past them.
pub fn split_name(names: &[String], s: usize) -> &str {
    names.get(s).map_or(UNLABELED_DIR, String::as_str)
}

impl SplitOptions {
    /// Refuses options that would run but write a wrong split. Split names become folder
    /// names, so each must be one plain path component, and distinct.
    pub fn validate(&self) -> Result<()> {
        match &self.sizes {
            Sizes::Ratio(r) => {
                if !(2..=3).contains(&r.len()) || r.iter().any(|f| !(*f > 0.0 && *f < 1.0)) {
                    bail!("--ratio takes 2 or 3 fractions between 0 and 1, e.g. 0.8,0.2");
                }
                let sum: f64 = r.iter().sum();
                if (sum - 1.0).abs() > 1e-6 {
                    bail!("--ratio fractions must add up to 1 (they add up to {sum})");
                }
                if self.names.len() != r.len() {
                    bail!(
                        "--names gives {} names for {} ratios",
                        self.names.len(),
                        r.len()
                    );
                }
            }
            Sizes::Count(0) => bail!("--count must be at least 1"),
            Sizes::Count(_) => {}
        }
        let mut seen = BTreeSet::new();
        for n in &self.names {
            if let Err(e) = crate::base::paths::plain_component(n) {
                bail!("split name {n:?} {e}: split names must be plain folder names");
            }
            if n.starts_with('.') {
                bail!("split name {n:?} starts with a dot: split names must be plain folder names");
            }
            if !seen.insert(n) {
                bail!("--names lists {n:?} twice: each split needs its own name");
            }
            if self.keep_unlabeled && n == UNLABELED_DIR {
                bail!("--keep-unlabeled places images in {UNLABELED_DIR:?}: choose other --names");
            }
        }
        Ok(())
    }
}

/// Refuses `--kfold k` that cannot give k non-empty folds: fewer than 2, or more folds than
/// units (groups) to place.
pub fn check_kfold(k: usize, plan: &Plan) -> Result<()> {
    if k < 2 {
        bail!("--kfold needs at least 2 folds");
    }
    let units = plan.units.len();
    if k > units {
        bail!(
            "--kfold {k} is more than the {units} groups of images to place: folds would be empty"
        );
    }
    Ok(())
}

/// Refuses a dataset with no image to place (an empty ROOT or a wrong path).
pub fn check_not_empty(records: &[Record]) -> Result<()> {
    if !records.iter().any(Record::is_ok) {
        bail!("no readable images under ROOT: nothing to split (is ROOT the dataset folder?)");
    }
    Ok(())
}

/// Refuses to write an OUT with no image in it (nothing the loader reads was placed).
pub fn check_placed(plan: &Plan, loader: Loader) -> Result<()> {
    if !plan.placements.iter().any(|p| p.split.is_some()) {
        bail!(
            "no usable images: the {loader} loader reads none of the files, so OUT would be empty; refusing to write it"
        );
    }
    Ok(())
}

/// Every destination must be a relative path of plain components (split, class, file; split
/// and file without classes; or class, file where `merge` pools the splits), so no label or
/// name can make a file land outside OUT, or onto a source file.
pub fn check_destinations(dests: &[Option<PathBuf>]) -> Result<()> {
    for d in dests.iter().flatten() {
        let plain = (2..=3).contains(&d.components().count())
            && d.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain {
            bail!(
                "refusing destination {}: split, class and file names must be plain folder names",
                d.display()
            );
        }
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

/// A set of sources that must land in one split.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Records to place.
    pub members: Vec<usize>,
    /// Count per class index.
    pub counts: BTreeMap<usize, usize>,
    /// Deterministic tie-break key derived from the seed.
    pub key: u64,
}

/// Target and achieved counts of one class in one split.
#[derive(Debug, Clone, Serialize)]
pub struct ClassTarget {
    pub class: String,
    pub target: f64,
    pub achieved: usize,
    pub target_share: f64,
    pub achieved_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitTargets {
    pub split: String,
    pub images: usize,
    pub classes: Vec<ClassTarget>,
}

/// The content of `split_report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SplitReport {
    pub seed: u64,
    pub names: Vec<String>,
    pub sizes: String,
    pub dedup: Dedup,
    pub conflicts: Conflicts,
    pub group_by: Option<String>,
    pub mode: Mode,
    pub sources: usize,
    pub copied: usize,
    pub dropped: usize,
    pub dropped_by_reason: BTreeMap<String, usize>,
    pub units: usize,
    pub largest_unit: usize,
    pub splits: Vec<SplitTargets>,
    pub merged_splits: Vec<String>,
    /// The loader whose view decided what was placed.
    pub loader: Loader,
    /// No source had a class: a plain (unstratified) split, no class folders.
    pub classless: bool,
    /// Images without a class placed in [`UNLABELED_DIR`] (`--keep-unlabeled`).
    pub unlabeled_kept: usize,
}

impl SplitReport {
    /// The figures of a planned split (what `split_report.json` holds).
    pub fn new(
        plan: &Plan,
        records: &[Record],
        opts: &SplitOptions,
        mode: Mode,
        merged_splits: &[String],
    ) -> Self {
        let mut dropped_by_reason = BTreeMap::new();
        for p in plan.placements.iter().filter(|p| p.split.is_none()) {
            *dropped_by_reason.entry(p.reason_kind()).or_insert(0usize) += 1;
        }
        let copied = plan.placements.iter().filter(|p| p.split.is_some()).count();
        let sizes = match &opts.sizes {
            Sizes::Ratio(r) => {
                format!(
                    "ratio {}",
                    r.iter()
                        .map(|f| f.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }
            Sizes::Count(n) => format!("count {n}"),
        };
        SplitReport {
            seed: opts.seed,
            names: opts.names.clone(),
            sizes,
            dedup: opts.dedup,
            conflicts: opts.conflicts,
            group_by: opts.group_by.as_ref().map(|r| r.as_str().to_owned()),
            mode,
            sources: records.len(),
            copied,
            dropped: records.len() - copied,
            dropped_by_reason,
            units: plan.units.iter().filter(|u| !u.members.is_empty()).count(),
            largest_unit: plan
                .units
                .iter()
                .map(|u| u.members.len())
                .max()
                .unwrap_or(0),
            splits: achieved(plan, records, &opts.names),
            merged_splits: merged_splits.to_vec(),
            loader: opts.loader,
            classless: !records.is_empty() && records.iter().all(|r| r.class.is_empty()),
            unlabeled_kept: plan
                .placements
                .iter()
                .filter(|p| p.split == Some(opts.names.len()))
                .count(),
        }
    }
}

/// A deterministic 64-bit key for `text` under `seed` (BLAKE3), used to order units.
fn seeded_key(seed: u64, text: &[u8]) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(text);
    let b = h.finalize();
    u64::from_le_bytes(b.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Target count per split and class index (`targets[split][class]`).
pub fn targets(sizes: &Sizes, splits: usize, class_totals: &[usize]) -> Vec<Vec<f64>> {
    match sizes {
        Sizes::Ratio(r) => r
            .iter()
            .map(|f| class_totals.iter().map(|&n| f * n as f64).collect())
            .collect(),
        Sizes::Count(k) => {
            let mut t = vec![vec![0.0; class_totals.len()]; splits];
            for (c, &n) in class_totals.iter().enumerate() {
                let mut left = n as f64;
                for row in t.iter_mut().skip(1) {
                    let take = (*k as f64).min(left);
                    row[c] = take;
                    left -= take;
                }
                t[0][c] = left;
            }
            t
        }
    }
}

/// Assigns each unit to a split: larger units first (ties by seeded key), each to the split
/// with the largest remaining deficit for its classes. Units of one image thus fill every
/// class to within one image of its target; a group can overshoot by at most its own size.
pub fn assign(units: &[Unit], targets: &[Vec<f64>]) -> Vec<usize> {
    let classes = targets.first().map_or(0, Vec::len);
    let mut have = vec![vec![0usize; classes]; targets.len()];
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&u| (std::cmp::Reverse(units[u].members.len()), units[u].key));
    let mut out = vec![0; units.len()];
    for u in order {
        let unit = &units[u];
        let mut best = (f64::NEG_INFINITY, 0);
        for (s, t) in targets.iter().enumerate() {
            let deficit: f64 = unit
                .counts
                .iter()
                .map(|(&c, &n)| n as f64 * (t[c] - have[s][c] as f64))
                .sum();
            // Relative deficit breaks ties between splits of different sizes.
            let size: f64 = unit.counts.keys().map(|&c| t[c]).sum::<f64>().max(1e-9);
            let score = deficit + 1e-6 * deficit / size;
            if score > best.0 {
                best = (score, s);
            }
        }
        out[u] = best.1;
        for (&c, &n) in &unit.counts {
            have[best.1][c] += n;
        }
    }
    out
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
    let n = records.len();
    // Without any class, the split is plain (one stratum) and nothing is "unlabeled".
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
    // Duplicates and label conflicts.
    for g in dup_groups {
        let usable: Vec<usize> = g
            .members
            .iter()
            .copied()
            .filter(|&m| reason[m].is_none())
            .collect();
        if usable.is_empty() {
            continue;
        }
        let mut keep: Vec<usize> = usable.clone();
        if g.label_conflict() {
            match opts.conflicts {
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
                    for &m in usable.iter().filter(|&&m| !unlabeled_kept[m]) {
                        *by_class.entry(&records[m].class).or_default() += 1;
                    }
                    let top = by_class.values().copied().max().unwrap_or(0);
                    let winners: Vec<&str> = by_class
                        .iter()
                        .filter(|(_, v)| **v == top)
                        .map(|(k, _)| *k)
                        .collect();
                    if winners.len() == 1 {
                        keep.retain(|&m| records[m].class == winners[0] || unlabeled_kept[m]);
                    } else {
                        keep.clear();
                    }
                }
            }
            for &m in &usable {
                if !keep.contains(&m) {
                    reason[m] = Some(DropReason::LabelConflict {
                        group: g.id,
                        classes: g.classes.iter().cloned().collect(),
                    });
                }
            }
        }
        // A labelled copy is kept over an unlabeled one; an unlabeled copy of a labelled image
        // never goes to the unlabeled folder (it would leak beside its labelled twin).
        let labelled: Vec<usize> = keep
            .iter()
            .copied()
            .filter(|&m| !unlabeled_kept[m])
            .collect();
        if !labelled.is_empty() && labelled.len() < keep.len() {
            let rep = crate::groups::representative(&labelled, records);
            for &m in &keep {
                if unlabeled_kept[m] {
                    unlabeled_kept[m] = false;
                    reason[m] = Some(DropReason::UnlabeledCopyOf(records[rep].path.clone()));
                }
            }
            keep = labelled;
        }
        if opts.dedup == Dedup::KeepOne && keep.len() > 1 {
            let rep = crate::groups::representative(&keep, records);
            for &m in &keep {
                if m != rep {
                    reason[m] = Some(DropReason::DuplicateOf(records[rep].path.clone()));
                }
            }
        }
    }
    // Units: duplicate groups joined with --group-by keys.
    let mut uf = UnionFind::new(n);
    for g in dup_groups {
        for w in g.members.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    if let Some(re) = &opts.group_by {
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
    let class_names: Vec<String> = records
        .iter()
        .zip(&reason)
        .zip(&unlabeled_kept)
        .filter(|((_, why), kept)| why.is_none() && !**kept)
        .map(|((r, _), _)| r.class.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let class_index: HashMap<&str, usize> = class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        by_root.entry(uf.find(i)).or_default().push(i);
    }
    let mut units = Vec::new();
    let mut unit_of = vec![usize::MAX; n];
    let mut grouped = vec![false; n];
    let mut sets: Vec<Vec<usize>> = by_root.into_values().collect();
    sets.sort_by(|a, b| records[a[0]].path.cmp(&records[b[0]].path));
    for set in sets {
        let id = units.len();
        for &m in &set {
            unit_of[m] = id;
            grouped[m] = set.len() > 1;
        }
        let members: Vec<usize> = set
            .iter()
            .copied()
            .filter(|&m| reason[m].is_none() && !unlabeled_kept[m])
            .collect();
        let mut counts = BTreeMap::new();
        for &m in &members {
            *counts
                .entry(class_index[records[m].class.as_str()])
                .or_default() += 1;
        }
        let key = seeded_key(opts.seed, &path_field(&records[set[0]].path));
        units.push(Unit {
            members,
            counts,
            key,
        });
    }
    let mut class_totals = vec![0usize; class_names.len()];
    for u in &units {
        for (&c, &k) in &u.counts {
            class_totals[c] += k;
        }
    }
    let targets = targets(&opts.sizes, opts.names.len(), &class_totals);
    let assignment = assign(&units, &targets);
    let placements = (0..n)
        .map(|i| Placement {
            record: i,
            split: if unlabeled_kept[i] {
                Some(opts.names.len())
            } else {
                reason[i].is_none().then(|| assignment[unit_of[i]])
            },
            unit: unit_of[i],
            grouped: grouped[i],
            reason: reason[i].clone(),
        })
        .collect();
    Ok(Plan {
        placements,
        class_names,
        units,
        targets,
    })
}

/// Stratified group k-fold: every unit in exactly one of `k` folds.
pub fn kfold(plan: &Plan, k: usize) -> Vec<usize> {
    let totals: Vec<usize> = (0..plan.class_names.len())
        .map(|c| {
            plan.units
                .iter()
                .map(|u| u.counts.get(&c).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let t = targets(&Sizes::Ratio(vec![1.0 / k as f64; k]), k, &totals);
    assign(&plan.units, &t)
}

/// Target and achieved counts per split and class.
pub fn achieved(plan: &Plan, records: &[Record], names: &[String]) -> Vec<SplitTargets> {
    let mut have = vec![vec![0usize; plan.class_names.len()]; names.len()];
    let idx: HashMap<&str, usize> = plan
        .class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    for p in &plan.placements {
        if let Some(s) = p.split.filter(|&s| s < names.len()) {
            have[s][idx[records[p.record].class.as_str()]] += 1;
        }
    }
    names
        .iter()
        .enumerate()
        .map(|(s, name)| {
            let total: usize = have[s].iter().sum();
            let target_total: f64 = plan.targets[s].iter().sum();
            SplitTargets {
                split: name.clone(),
                images: total,
                classes: plan
                    .class_names
                    .iter()
                    .enumerate()
                    .map(|(c, class)| ClassTarget {
                        class: class.clone(),
                        target: plan.targets[s][c],
                        achieved: have[s][c],
                        target_share: if target_total > 0.0 {
                            plan.targets[s][c] / target_total
                        } else {
                            0.0
                        },
                        achieved_share: if total > 0 {
                            have[s][c] as f64 / total as f64
                        } else {
                            0.0
                        },
                    })
                    .collect(),
            }
        })
        .collect()
}

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
/// Header of `folds.csv` (`--kfold`).
pub const FOLDS_HEADER: [&str; 4] = ["source", "class", "group", "fold"];

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

/// Writes `folds.csv` (usable sources only) for `--kfold`.
pub fn write_folds<W: std::io::Write>(
    w: W,
    plan: &Plan,
    records: &[Record],
    folds: &[usize],
) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(FOLDS_HEADER)?;
    for p in plan.placements.iter().filter(|p| p.split.is_some()) {
        let r = &records[p.record];
        let mut row = csv::ByteRecord::new();
        row.push_field(&path_field(&r.path));
        row.push_field(r.class.as_bytes());
        row.push_field(p.group_field().as_bytes());
        row.push_field(folds[p.unit].to_string().as_bytes());
        wtr.write_byte_record(&row)?;
    }
    wtr.flush()?;
    Ok(())
}

/// Class weights of the new training split (first split), in `balance`'s format.
pub fn class_weights(splits: &[SplitTargets]) -> balance::ClassWeights {
    let train = &splits[0];
    // Only classes that got a folder in OUT/<train>: that is the list Keras indexes.
    let present: Vec<&ClassTarget> = train.classes.iter().filter(|c| c.achieved > 0).collect();
    let counts: Vec<usize> = present.iter().map(|c| c.achieved).collect();
    balance::ClassWeights::new(
        present.iter().map(|c| c.class.clone()).collect(),
        &counts,
        balance::Method::Balanced,
        0.999,
        train.split.clone(),
        true,
    )
}

/// Checks that OUT can be written: it must not exist or be empty, and must not be inside
/// ROOT (the split would then be part of the dataset it came from).
pub fn check_out(root: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        let empty = fs::read_dir(out)
            .with_context(|| format!("OUT {} is not a readable folder", out.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "OUT {} exists and is not empty: refusing to write into it",
                out.display()
            );
        }
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::canonicalize(parent)
        .with_context(|| format!("OUT's folder {} does not exist", parent.display()))?;
    if crate::base::paths::inside(out, root) {
        bail!(
            "OUT {} is inside ROOT {}: choose a folder outside the dataset",
            out.display(),
            root.display()
        );
    }
    Ok(())
}

/// A warning produced while writing (e.g. hard links falling back to copies).
pub type Warnings = Vec<String>;

/// Places one file: copy, hard link (falling back to copy), or symlink; checks its size.
fn place(
    src: &Path,
    dst: &Path,
    mode: Mode,
    expect_size: u64,
    warned: &mut bool,
    warnings: &mut Warnings,
) -> Result<()> {
    if mode == Mode::Manifest {
        return Ok(());
    }
    if let Some(dir) = dst.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    match mode {
        Mode::Copy => {
            fs::copy(src, dst).with_context(|| format!("cannot copy {}", src.display()))?;
        }
        Mode::Hardlink => {
            if let Err(e) = fs::hard_link(src, dst) {
                if !*warned {
                    warnings.push(format!("hard links failed ({e}); copying instead"));
                    *warned = true;
                }
                fs::copy(src, dst).with_context(|| format!("cannot copy {}", src.display()))?;
            }
        }
        Mode::Symlink => {
            #[cfg(unix)]
            std::os::unix::fs::symlink(src, dst)
                .with_context(|| format!("cannot link {}", dst.display()))?;
            #[cfg(not(unix))]
            bail!("--mode symlink needs a Unix system");
        }
        Mode::Manifest => return Ok(()),
    }
    let got = fs::metadata(dst)
        .with_context(|| format!("cannot check {}", dst.display()))?
        .len();
    if got != expect_size {
        bail!(
            "{} has {got} bytes after placing, expected {expect_size}",
            dst.display()
        );
    }
    Ok(())
}

/// Everything `write` needs besides the plan.
pub struct WriteJob<'a> {
    pub root: &'a Path,
    pub out: &'a Path,
    pub mode: Mode,
    pub verify: bool,
    pub records: &'a [Record],
    pub names: &'a [String],
    pub dests: &'a [Option<PathBuf>],
    /// Re-encode instead of placing (`--normalize`); `mode` is then ignored.
    pub normalize: Option<crate::normalize::Normalize>,
}

/// Test hook simulating a crash or kill midway through [`write`]: when the environment
/// variable `CLEANSPLIT_ABORT_AFTER_FILES` is set to N (N >= 1), the process calls
/// [`std::process::abort`] right after the N-th file is placed. `abort` skips destructors
/// (such as the temporary folder's cleanup) just as SIGKILL does, so a test can check that
/// an interrupted run leaves no OUT behind. Unset (or not a positive number): no effect.
///
/// `CLEANSPLIT_PAUSE_AFTER_FILES=N` instead pauses after the N-th file (up to a minute, or
/// until Ctrl-C), so a test can send a real signal at a known point.
fn abort_after_files() -> Option<usize> {
    fault_after_files("CLEANSPLIT_ABORT_AFTER_FILES")
}

fn fault_after_files(var: &str) -> Option<usize> {
    std::env::var(var)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

/// Writes OUT: places the files and the given extra files (name, bytes) in a temporary folder
/// beside OUT, then renames it into place. Nothing under ROOT is opened for writing.
pub fn write(job: &WriteJob, plan: &Plan, extra: &[(&str, Vec<u8>)]) -> Result<Warnings> {
    check_out(job.root, job.out)?;
    check_destinations(job.dests)?;
    let parent = job
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = job
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let mut warnings: Warnings = crate::interrupt::remove_stale(parent, &name)
        .into_iter()
        .map(|p| format!("removed {}, left by an interrupted run", p.display()))
        .collect();
    let mut tmp = crate::interrupt::WorkDir::create(parent, &name)?;
    let mut warned = false;
    let abort_after = abort_after_files();
    let pause_after = fault_after_files("CLEANSPLIT_PAUSE_AFTER_FILES");
    let mut placed = 0usize;
    for p in plan.placements.iter().filter(|p| p.split.is_some()) {
        let r = &job.records[p.record];
        let (Some(dest), src) = (&job.dests[p.record], job.root.join(&r.path)) else {
            continue;
        };
        let dst = tmp.path().join(dest);
        if let Some(n) = &job.normalize {
            n.write(&src, &dst)?;
        } else {
            place(&src, &dst, job.mode, r.size, &mut warned, &mut warnings)?;
        }
        // A re-encoded copy differs from its source by design: nothing to compare.
        if job.verify && job.mode != Mode::Manifest && job.normalize.is_none() {
            let bytes =
                fs::read(&dst).with_context(|| format!("cannot verify {}", dst.display()))?;
            if Some(crate::index::digest_of(&bytes)) != r.blake3 {
                bail!(
                    "{} differs from its source {} after placing",
                    dest.display(),
                    r.path.display()
                );
            }
        }
        placed += 1;
        if abort_after.is_some_and(|n| placed >= n) {
            std::process::abort();
        }
        if pause_after.is_some_and(|n| placed == n) {
            crate::interrupt::pause_for_test();
        }
        tmp.check()?;
    }
    for (file, bytes) in extra {
        fs::write(tmp.path().join(file), bytes).with_context(|| format!("cannot write {file}"))?;
    }
    if job.out.exists() {
        // Checked empty before planning.
        fs::remove_dir(job.out)
            .with_context(|| format!("cannot replace empty {}", job.out.display()))?;
    }
    tmp.finish(job.out)?;
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::tests::rec;
    use proptest::prelude::*;

    fn opts(sizes: Sizes) -> SplitOptions {
        SplitOptions {
            names: vec!["train".into(), "val".into(), "test".into()][..match &sizes {
                Sizes::Ratio(r) => r.len(),
                Sizes::Count(_) => 2,
            }]
                .to_vec(),
            sizes,
            seed: 7,
            group_by: None,
            dedup: Dedup::KeepOne,
            conflicts: Conflicts::Drop,
            loader: Loader::Keras,
            keep_unlabeled: false,
        }
    }

    /// Random datasets: `classes` sizes, and groups made by chaining neighbours.
    fn dataset(class_sizes: &[usize], links: &[(usize, usize)]) -> (Vec<Record>, Vec<Group>) {
        let mut records = Vec::new();
        for (c, &n) in class_sizes.iter().enumerate() {
            for i in 0..n {
                records.push(rec(
                    &format!("src/c{c}/{i:04}.jpg"),
                    "src",
                    &format!("c{c}"),
                ));
            }
        }
        let n = records.len();
        // Links stay inside one class so they never make label conflicts here.
        let pairs: Vec<(usize, usize)> = links
            .iter()
            .map(|&(a, b)| (a % n, b % n))
            .filter(|&(a, b)| a != b && records[a].class == records[b].class)
            .collect();
        let groups = crate::groups::build(&records, pairs);
        (records, groups)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn groups_never_straddle_and_shares_hold(
            class_sizes in prop::collection::vec(1usize..60, 1..5),
            links in prop::collection::vec((0usize..400, 0usize..400), 0..40),
            seed in 0u64..1000,
            dedup_none in any::<bool>(),
        ) {
            let (records, groups) = dataset(&class_sizes, &links);
            let mut o = opts(Sizes::Ratio(vec![0.7, 0.2, 0.1]));
            o.seed = seed;
            if dedup_none { o.dedup = Dedup::None; }
            let p = plan(&records, &groups, &o).unwrap();
            // Every source exactly once.
            prop_assert_eq!(p.placements.len(), records.len());
            let mut seen: Vec<usize> = p.placements.iter().map(|x| x.record).collect();
            seen.sort();
            prop_assert_eq!(seen, (0..records.len()).collect::<Vec<_>>());
            // No group in two splits.
            for u in &p.units {
                let splits: BTreeSet<_> = u.members.iter().map(|&m| p.placements[m].split).collect();
                prop_assert!(splits.len() <= 1);
            }
            // Per class: achieved within the largest unit of that class of the target.
            let largest = p.units.iter().map(|u| u.members.len()).max().unwrap_or(1).max(1);
            for st in achieved(&p, &records, &o.names) {
                for c in st.classes {
                    prop_assert!((c.achieved as f64 - c.target).abs() <= largest as f64 + 1e-9,
                        "{} {}: target {} achieved {} largest unit {}", st.split, c.class, c.target, c.achieved, largest);
                }
            }
            // Deterministic.
            let again = plan(&records, &groups, &o).unwrap();
            prop_assert_eq!(&again.placements, &p.placements);
            // k-fold: disjoint and covering (each unit exactly one fold).
            let folds = kfold(&p, 3);
            prop_assert_eq!(folds.len(), p.units.len());
            prop_assert!(folds.iter().all(|&f| f < 3));
        }
    }

    #[test]
    fn singletons_land_within_one_image_of_target() {
        let (records, groups) = dataset(&[50, 13, 7], &[]);
        let o = opts(Sizes::Ratio(vec![0.8, 0.2]));
        let p = plan(&records, &groups, &o).unwrap();
        for st in achieved(&p, &records, &o.names) {
            for c in st.classes {
                assert!((c.achieved as f64 - c.target).abs() <= 1.0, "{c:?}");
            }
        }
    }

    fn why(p: &Plan, i: usize) -> String {
        p.placements[i]
            .reason
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn loader_decides_what_is_placed_and_kept() {
        // One photo twice: a lossless TIFF named .png (Keras fails on it) and a JPEG; the
        // TIFF would be the representative by the lossless rule.
        let mut tiff = rec("s/a/photo.png", "s", "a");
        tiff.format = Some(crate::base::format::Format::Tiff);
        let jpeg = rec("s/a/photo.jpg", "s", "a");
        let mut webp = rec("s/a/x.webp", "s", "a");
        webp.format = Some(crate::base::format::Format::Webp);
        let records = vec![tiff, jpeg, webp, rec("s/a/y.jpg", "s", "a")];
        let groups = crate::groups::build(&records, [(0, 1)]);
        let o = opts(Sizes::Ratio(vec![0.5, 0.5]));
        let p = plan(&records, &groups, &o).unwrap();
        assert!(p.placements[0].split.is_none());
        assert!(why(&p, 0).starts_with("keras fails on it"));
        assert!(p.placements[1].split.is_some(), "{:?}", p.placements[1]);
        assert_eq!(why(&p, 2), "not listed by keras (extension .webp)");
        assert_eq!(p.placements[2].reason_kind(), "not listed by keras");
        // torch lists .webp.
        let p = plan(
            &records,
            &groups,
            &SplitOptions {
                loader: Loader::Torch,
                ..o
            },
        )
        .unwrap();
        assert!(p.placements[2].split.is_some());
    }

    #[test]
    fn unlabeled_are_dropped_or_kept_apart_and_classless_is_plain() {
        let mut records: Vec<Record> = (0..6)
            .map(|i| rec(&format!("s/a/{i}.jpg"), "s", if i < 4 { "a" } else { "" }))
            .collect();
        records.push(rec("t/copy.jpg", "t", ""));
        // The unlabeled copy of a labelled image, larger (it would be the representative).
        records[6].width = 50;
        let groups = crate::groups::build(&records, [(0, 6)]);
        let mut o = opts(Sizes::Ratio(vec![0.5, 0.5]));
        let p = plan(&records, &groups, &o).unwrap();
        assert_eq!(why(&p, 4), "unlabeled");
        assert_eq!(p.placements[4].reason_kind(), "unlabeled");
        assert!(p.placements[0].split.is_some(), "the labelled copy is kept");
        assert!(p.placements[6].split.is_none());
        assert_eq!(p.class_names, vec!["a"]);
        o.keep_unlabeled = true;
        let p = plan(&records, &groups, &o).unwrap();
        assert_eq!(p.placements[4].split, Some(2));
        assert_eq!(split_name(&o.names, 2), UNLABELED_DIR);
        assert!(why(&p, 6).starts_with("unlabeled copy of s/a/0.jpg"));
        let d = destinations(&p, &records, &o.names);
        assert_eq!(d[4].as_deref(), Some(Path::new("unlabeled/4.jpg")));
        // No class at all: a plain split, nothing dropped as unlabeled, no class folder.
        let none: Vec<Record> = (0..6).map(|i| rec(&format!("{i}.jpg"), "", "")).collect();
        let p = plan(&none, &[], &opts(Sizes::Ratio(vec![0.5, 0.5]))).unwrap();
        assert!(
            p.placements
                .iter()
                .all(|x| x.split.is_some() && x.split < Some(2))
        );
        let d = destinations(&p, &none, &o.names);
        assert!(
            d.iter()
                .all(|x| x.as_ref().unwrap().components().count() == 2),
            "{d:?}"
        );
    }

    #[test]
    fn dedup_and_conflicts() {
        let mut records = vec![
            rec("s/a/1.jpg", "s", "a"),
            rec("s/a/2.jpg", "s", "a"),
            rec("s/b/2.jpg", "s", "b"),
            rec("s/a/3.jpg", "s", "a"),
        ];
        records[0].width = 20; // the representative
        let groups = crate::groups::build(&records, [(0, 1), (1, 2)]);
        let mut o = opts(Sizes::Ratio(vec![0.5, 0.5]));
        o.conflicts = Conflicts::Majority;
        let p = plan(&records, &groups, &o).unwrap();
        assert!(p.placements[0].split.is_some());
        assert!(matches!(
            p.placements[1].reason,
            Some(DropReason::DuplicateOf(_))
        ));
        assert!(matches!(
            p.placements[2].reason,
            Some(DropReason::LabelConflict { .. })
        ));
        o.conflicts = Conflicts::Drop;
        let p = plan(&records, &groups, &o).unwrap();
        assert!(p.placements[..3].iter().all(|x| x.split.is_none()));
        o.conflicts = Conflicts::Error;
        assert!(plan(&records, &groups, &o).is_err());
    }

    #[test]
    fn group_by_keeps_keys_together() {
        let records: Vec<Record> = (0..20)
            .map(|i| rec(&format!("s/a/person{}_{i}.jpg", i % 4), "s", "a"))
            .collect();
        let mut o = opts(Sizes::Ratio(vec![0.5, 0.5]));
        o.group_by = Some(Regex::new(r"person\d+").unwrap());
        let p = plan(&records, &[], &o).unwrap();
        for k in 0..4 {
            let splits: BTreeSet<_> = p
                .placements
                .iter()
                .filter(|x| x.record % 4 == k)
                .map(|x| x.split)
                .collect();
            assert_eq!(splits.len(), 1);
        }
    }

    #[test]
    fn name_collisions_get_distinct_names() {
        let records = vec![
            rec("train/a/x.jpg", "train", "a"),
            rec("val/a/x.jpg", "val", "a"),
        ];
        let mut o = opts(Sizes::Ratio(vec![1.0]));
        o.names = vec!["train".into()];
        let p = plan(&records, &[], &o).unwrap();
        let d = destinations(&p, &records, &o.names);
        assert_eq!(d[0].as_deref(), Some(Path::new("train/a/x.jpg")));
        let other = d[1].as_ref().unwrap().to_string_lossy().into_owned();
        assert!(
            other.starts_with("train/a/x-") && other.ends_with(".jpg"),
            "{other}"
        );
    }

    #[test]
    fn count_targets() {
        let t = targets(&Sizes::Count(5), 3, &[20, 7]);
        assert_eq!(t, vec![vec![10.0, 0.0], vec![5.0, 5.0], vec![5.0, 2.0]]);
    }
}
