//! The source check: a table of classes x sources, and warnings when a network could learn
//! the source (camera, background, resolution, JPEG quality) instead of the class: a class
//! that comes (almost) only from one source, or classes whose source mix differs a lot.
//!
//! Used by `merge` on what it writes, by `audit` when ROOT carries a merge manifest, and by
//! `split --stratify class,source` (here in `split`, below both `merge` and `audit`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::Plan;
use crate::index::Record;

/// A class is "mostly from one source" when at least this share of its images comes from one
/// source ...
pub const ONE_SOURCE_SHARE: f64 = 0.9;
/// ... and that share exceeds the source's share of the whole merged set by at least this
/// much (when one source is 95% of everything, every class being 95% from it is no signal).
pub const ONE_SOURCE_EXCESS: f64 = 0.25;
/// The source mix of a class "differs a lot" when its total-variation distance to the mix
/// of the whole set (half the sum of absolute share differences, 0..1) is at least this.
pub const MIX_DISTANCE: f64 = 0.25;
/// Classes with fewer images are shown but not judged (shares of a handful are noise).
pub const MIN_CLASS_IMAGES: usize = 10;

/// Classes x sources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceTable {
    pub sources: Vec<String>,
    /// Images per source over all classes.
    pub totals: Vec<usize>,
    pub classes: Vec<ClassRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassRow {
    pub class: String,
    /// Images per source, in the order of `SourceTable::sources`.
    pub counts: Vec<usize>,
    pub total: usize,
    pub top_source: String,
    /// Share of the class from `top_source`.
    pub top_share: f64,
    /// Total-variation distance between this class's source mix and the whole set's.
    pub mix_distance: f64,
}

/// One warning of the source check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceWarning {
    pub class: String,
    /// `one_source` or `source_mix`.
    pub kind: &'static str,
    pub message: String,
}

/// The thresholds, written into reports so a reader knows what was applied.
#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    pub one_source_share: f64,
    pub one_source_excess: f64,
    pub mix_distance: f64,
    pub min_class_images: usize,
}

pub const THRESHOLDS: Thresholds = Thresholds {
    one_source_share: ONE_SOURCE_SHARE,
    one_source_excess: ONE_SOURCE_EXCESS,
    mix_distance: MIX_DISTANCE,
    min_class_images: MIN_CLASS_IMAGES,
};

/// Builds the table from `(class, source)` per image; `sources` fixes the column order
/// (sources that are not listed are added in name order).
pub fn table<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
    sources: &[String],
) -> SourceTable {
    let mut cells: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut extra: BTreeSet<&str> = BTreeSet::new();
    for (class, source) in items {
        *cells.entry(class).or_default().entry(source).or_default() += 1;
        if !sources.iter().any(|s| s == source) {
            extra.insert(source);
        }
    }
    let mut names: Vec<String> = sources.to_vec();
    names.extend(extra.into_iter().map(str::to_string));
    let mut totals = vec![0usize; names.len()];
    let rows: Vec<(String, Vec<usize>)> = cells
        .into_iter()
        .map(|(class, per)| {
            let counts: Vec<usize> = names
                .iter()
                .map(|s| per.get(s.as_str()).copied().unwrap_or(0))
                .collect();
            for (t, c) in totals.iter_mut().zip(&counts) {
                *t += c;
            }
            (class.to_string(), counts)
        })
        .collect();
    let all: usize = totals.iter().sum();
    let overall: Vec<f64> = totals
        .iter()
        .map(|&t| t as f64 / all.max(1) as f64)
        .collect();
    let classes = rows
        .into_iter()
        .map(|(class, counts)| {
            let total: usize = counts.iter().sum();
            let share = |c: usize| c as f64 / total.max(1) as f64;
            let (top, &top_n) = counts
                .iter()
                .enumerate()
                .max_by_key(|&(i, n)| (*n, std::cmp::Reverse(i)))
                .unwrap_or((0, &0));
            let mix_distance = 0.5
                * counts
                    .iter()
                    .zip(&overall)
                    .map(|(&c, q)| (share(c) - q).abs())
                    .sum::<f64>();
            ClassRow {
                class,
                total,
                top_source: names.get(top).cloned().unwrap_or_default(),
                top_share: share(top_n),
                mix_distance,
                counts,
            }
        })
        .collect();
    SourceTable {
        sources: names,
        totals,
        classes,
    }
}

impl SourceTable {
    /// Share of the whole set from source `i`.
    fn overall_share(&self, i: usize) -> f64 {
        let all: usize = self.totals.iter().sum();
        self.totals[i] as f64 / all.max(1) as f64
    }

    /// Sources that contribute at least one image.
    pub fn contributing(&self) -> usize {
        self.totals.iter().filter(|&&t| t > 0).count()
    }

    /// The warnings (none with fewer than two contributing sources).
    pub fn warnings(&self) -> Vec<SourceWarning> {
        let mut out = Vec::new();
        if self.contributing() < 2 {
            return out;
        }
        for row in &self.classes {
            if row.total < MIN_CLASS_IMAGES {
                continue;
            }
            let top = self
                .sources
                .iter()
                .position(|s| *s == row.top_source)
                .unwrap_or(0);
            let overall = self.overall_share(top);
            if row.top_share >= ONE_SOURCE_SHARE && row.top_share - overall >= ONE_SOURCE_EXCESS {
                out.push(SourceWarning {
                    class: row.class.clone(),
                    kind: "one_source",
                    message: format!(
                        "{}: {:.0}% of its {} images come from {} ({:.0}% of the whole set)",
                        row.class,
                        100.0 * row.top_share,
                        row.total,
                        row.top_source,
                        100.0 * overall
                    ),
                });
            } else if row.mix_distance >= MIX_DISTANCE {
                let mix = self
                    .sources
                    .iter()
                    .zip(&row.counts)
                    .enumerate()
                    .map(|(i, (s, &c))| {
                        format!(
                            "{s} {:.0}% (set {:.0}%)",
                            100.0 * c as f64 / row.total as f64,
                            100.0 * self.overall_share(i)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push(SourceWarning {
                    class: row.class.clone(),
                    kind: "source_mix",
                    message: format!(
                        "{}: its source mix differs from the whole set's by {:.2} (total variation): {mix}",
                        row.class, row.mix_distance
                    ),
                });
            }
        }
        out
    }
}

/// Extra `manifest.csv` columns written by `merge`: which source, and its root.
pub const SOURCE_COLUMNS: [&str; 2] = ["source_name", "source_root"];

/// The source of each file placed in a merged folder, from `ROOT/manifest.csv`, keyed by its
/// path relative to ROOT. `None` when ROOT has no manifest with the merge columns.
pub fn read_merge_manifest(root: &Path) -> Result<Option<HashMap<PathBuf, String>>> {
    let path = root.join("manifest.csv");
    let Ok(file) = std::fs::File::open(&path) else {
        return Ok(None);
    };
    let mut rdr = csv::Reader::from_reader(file);
    let header = rdr
        .byte_headers()
        .with_context(|| format!("{} cannot be read", path.display()))?
        .clone();
    let col = |name: &str| header.iter().position(|h| h == name.as_bytes());
    let (Some(dest), Some(src), Some(action)) =
        (col("destination"), col("source_name"), col("action"))
    else {
        return Ok(None);
    };
    let mut out = HashMap::new();
    for row in rdr.byte_records() {
        let row = row.with_context(|| format!("{} cannot be read", path.display()))?;
        if row.get(action) != Some(b"copied".as_slice()) {
            continue;
        }
        let d = crate::base::paths::path_from_bytes(row.get(dest).unwrap_or_default());
        let s = String::from_utf8_lossy(row.get(src).unwrap_or_default()).into_owned();
        out.insert(d, s);
    }
    Ok(Some(out))
}

/// The source of each record (by its path) from a merge manifest; `None` for files the
/// manifest does not list.
pub fn sources_of(records: &[Record], manifest: &HashMap<PathBuf, String>) -> Vec<Option<String>> {
    records
        .iter()
        .map(|r| manifest.get(r.path.as_path()).cloned())
        .collect()
}

/// The table over usable records whose source is known.
pub fn table_of(records: &[Record], sources: &[Option<String>]) -> SourceTable {
    table(
        records
            .iter()
            .zip(sources)
            .filter(|(r, _)| r.is_ok())
            .filter_map(|(r, s)| Some((r.class.as_str(), s.as_deref()?))),
        &[],
    )
}

/// Re-assigns a class-stratified plan's units so that every (class, source) stratum is split
/// in the plan's proportions (`split --stratify class,source`). The class targets of the plan
/// are shared out over each class's sources by their counts, so `--ratio` and `--count` keep
/// their meaning per class. Files without a known source form their own stratum per class.
pub fn stratify_by_source(plan: &mut Plan, records: &[Record], sources: &[Option<String>]) {
    let class_idx: HashMap<&str, usize> = plan
        .class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let stratum_of = |m: usize| {
        (
            records[m].class.as_str(),
            sources[m].as_deref().unwrap_or(""),
        )
    };
    let units = plan.units(records);
    let strata: Vec<(&str, &str)> = units
        .iter()
        .flat_map(|members| members.iter().map(|&m| stratum_of(m as usize)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let idx: HashMap<(&str, &str), usize> =
        strata.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let stratum = |m: usize| idx[&stratum_of(m)];
    let stratum_total = units.totals(&stratum, strata.len());
    let mut class_total = vec![0usize; plan.class_names.len()];
    for (s, &n) in stratum_total.iter().enumerate() {
        class_total[class_idx[strata[s].0]] += n;
    }
    let targets: Vec<Vec<f64>> = plan
        .targets
        .iter()
        .map(|row| {
            strata
                .iter()
                .enumerate()
                .map(|(s, (class, _))| {
                    let c = class_idx[class];
                    row[c] * stratum_total[s] as f64 / class_total[c].max(1) as f64
                })
                .collect()
        })
        .collect();
    // Only files placed in a split move; unlabeled files kept apart stay apart.
    let placements = &mut plan.placements;
    crate::split::assign(&units, &stratum, &targets, |members, s| {
        for &m in members {
            placements[m as usize].set_split(Some(s));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(spec: &[(&'static str, &'static str, usize)]) -> Vec<(&'static str, &'static str)> {
        spec.iter()
            .flat_map(|&(c, s, n)| std::iter::repeat_n((c, s), n))
            .collect()
    }

    /// Re-assigning by (class, source) moves only files placed in a split: an unlabeled file
    /// kept apart stays in the unlabeled folder, and every stratum is split evenly.
    #[test]
    fn stratifying_by_source_keeps_unlabeled_files_apart() {
        use crate::index::rec;
        use crate::split::{Conflicts, Dedup, Sizes, SplitOptions};
        let mut records: Vec<Record> = (0..8)
            .map(|i| rec(&format!("a/{i}.jpg"), "", "a"))
            .collect();
        records.push(rec("u.jpg", "", ""));
        let sources: Vec<Option<String>> = (0..9)
            .map(|i| Some(if i % 2 == 0 { "x" } else { "y" }.to_string()))
            .collect();
        let opts = SplitOptions {
            names: vec!["train".into(), "val".into()],
            sizes: Sizes::Ratio(vec![0.5, 0.5]),
            seed: 1,
            group_by: None,
            dedup: Dedup::KeepOne,
            conflicts: Conflicts::Drop,
            loader: crate::loader::Loader::Keras,
            keep_unlabeled: true,
        };
        let mut plan = crate::split::plan(&records, &[], &opts).unwrap();
        stratify_by_source(&mut plan, &records, &sources);
        assert_eq!(plan.placements[8].split(), Some(2), "kept apart");
        for source in 0..2 {
            let in_train = (source..8)
                .step_by(2)
                .filter(|&i| plan.placements[i].split() == Some(0))
                .count();
            assert_eq!(in_train, 2, "source {source}: {:?}", plan.placements);
        }
    }

    #[test]
    fn a_class_from_one_source_is_warned_and_an_even_mix_is_not() {
        let names = vec!["a".to_string(), "b".to_string()];
        let t = table(
            items(&[
                ("ants", "a", 190),
                ("ants", "b", 10),
                ("bees", "a", 200),
                ("bees", "b", 10),
                ("wasps", "b", 12),
            ]),
            &names,
        );
        assert_eq!(t.totals, vec![390, 32]);
        let w = t.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].class, "wasps");
        assert_eq!(w[0].kind, "one_source");
        assert!(
            w[0].message
                .starts_with("wasps: 100% of its 12 images come from b")
        );
        // One dominant source everywhere is not a signal.
        let even = table(
            items(&[
                ("ants", "a", 95),
                ("ants", "b", 5),
                ("bees", "a", 95),
                ("bees", "b", 5),
            ]),
            &names,
        );
        assert!(even.warnings().is_empty());
    }

    #[test]
    fn differing_mixes_are_warned_with_the_stated_threshold() {
        let names = vec!["a".to_string(), "b".to_string()];
        // cats 80/20, dogs 20/80: each is 0.3 from the 50/50 whole.
        let t = table(
            items(&[
                ("cats", "a", 80),
                ("cats", "b", 20),
                ("dogs", "a", 20),
                ("dogs", "b", 80),
            ]),
            &names,
        );
        let w = t.warnings();
        assert_eq!(w.len(), 2);
        assert!(w.iter().all(|x| x.kind == "source_mix"));
        assert!((t.classes[0].mix_distance - 0.3).abs() < 1e-9);
        // 60/40 vs 40/60 is 0.1 away: fine.
        let mild = table(
            items(&[
                ("cats", "a", 60),
                ("cats", "b", 40),
                ("dogs", "a", 40),
                ("dogs", "b", 60),
            ]),
            &names,
        );
        assert!(mild.warnings().is_empty());
        // Small classes are shown, not judged; one source alone is never judged.
        let small = table(
            items(&[("x", "a", 9), ("y", "b", 20), ("y", "a", 20)]),
            &names,
        );
        assert!(small.warnings().is_empty());
        let single = table(items(&[("x", "a", 50), ("y", "a", 50)]), &names);
        assert!(single.warnings().is_empty());
    }
}
