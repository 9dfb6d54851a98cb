//! The shortcut check: can file metadata alone (size, shape, format, colour mode,
//! compression) predict the class within the training split, or the split?
//!
//! If it can, the classes (or splits) come from different sources, and a network can learn
//! the source instead of the content: it scores well on held-out data made the same way and
//! fails on images from elsewhere (DeGrave et al., Nature Machine Intelligence 2021). A
//! shallow decision tree ([`model`]) on metadata features ([`features`]) is cross-validated
//! against the majority-class baseline; the telling features are summarised per class or
//! split ([`report`]).

pub mod features;
pub mod model;
pub mod report;
mod run;

pub use run::{ShortcutsJob, ShortcutsOutcome, run};

use serde::Serialize;

use crate::base::severity::Severity;
use crate::index::Record;
use features::FileMeta;
use report::Profile;

/// What the tree tries to predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The class, within the training split.
    Class,
    /// The split, over all splits.
    Split,
}

/// Thresholds on the lift `(accuracy - baseline) / (1 - baseline)`: the share of the
/// majority baseline's errors that metadata alone removes. Measured (docs/DESIGN.md, "The
/// shortcut check"): real sets stay below them, confounded sets go far above.
pub const CLASS_PROBLEM_LIFT: f64 = 0.4;
/// A class check also needs this many points above the baseline (a tiny set's lift is noisy).
pub const CLASS_PROBLEM_GAIN: f64 = 0.10;
/// Split prediction at or above this lift is a warning.
pub const SPLIT_WARNING_LIFT: f64 = 0.4;
pub const SPLIT_WARNING_GAIN: f64 = 0.05;
/// Fewer usable images than this, or a group under [`MIN_GROUP`], and the test is skipped.
pub const MIN_IMAGES: usize = 20;
pub const MIN_GROUP: usize = 5;
/// Images the model is fitted on at most (a seeded sample of larger sets).
pub const MAX_MODEL_ROWS: usize = 200_000;

/// One feature's share of what the tree learned.
#[derive(Debug, Clone, Serialize)]
pub struct Carrier {
    pub feature: String,
    /// Share of the total impurity decrease (0..1).
    pub importance: f64,
}

/// The outcome of one prediction test.
#[derive(Debug, Clone, Serialize)]
pub struct Test {
    pub target: Target,
    /// Which images: `class within train`, `split`.
    pub scope: String,
    /// Images used (status ok, in scope).
    pub images: usize,
    /// Cross-validated accuracy of the tree, and of always answering the most common group.
    pub accuracy: f64,
    pub baseline: f64,
    pub lift: f64,
    pub severity: Severity,
    /// Features that carry the prediction, most important first (importance >= 5%).
    pub carriers: Vec<Carrier>,
    /// The tree's first rule on all the images, e.g. `format = png`.
    pub first_rule: Option<String>,
    /// The same test with bytes per pixel as the only feature (not part of the verdict).
    pub bytes_per_pixel: Figure,
    /// One row per class (or split): its most common metadata.
    pub profiles: Vec<Profile>,
}

/// Cross-validated accuracy and lift of one model.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figure {
    pub accuracy: f64,
    pub lift: f64,
}

/// Why a test did not run.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub target: Target,
    pub reason: String,
}

/// Both tests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ShortcutReport {
    pub tests: Vec<Test>,
    pub skipped: Vec<Skipped>,
}

impl ShortcutReport {
    pub fn worst(&self) -> Severity {
        self.tests
            .iter()
            .map(|t| t.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    pub fn test(&self, target: Target) -> Option<&Test> {
        self.tests.iter().find(|t| t.target == target)
    }
}

/// Runs both tests on a scan's records, with the class test on `split` (default: the split
/// named like train, else the one with the most images). Fails only on an unknown `split`.
pub fn check(records: &[Record], split: Option<&str>) -> anyhow::Result<ShortcutReport> {
    let mut sizes: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in records.iter().filter(|r| r.is_ok()) {
        *sizes.entry(r.split.as_str()).or_default() += 1;
    }
    let names: Vec<String> = sizes.keys().map(|s| s.to_string()).collect();
    let train = match crate::balance::training_split(&names, split) {
        Ok(t) => t,
        Err(e) if split.is_some() => return Err(e),
        Err(_) => sizes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(s, _)| s.to_string())
            .unwrap_or_default(),
    };
    Ok(analyze(records, &train, |r| r.jpeg_quality()))
}

/// Runs both tests. `train` is the training split's name (`""` for a layout without
/// splits); `quality` gives each record's JPEG quality estimate.
pub fn analyze(
    records: &[Record],
    train: &str,
    quality: impl Fn(&Record) -> Option<u8>,
) -> ShortcutReport {
    let ok: Vec<&Record> = records.iter().filter(|r| r.is_ok()).collect();
    let mut report = ShortcutReport::default();
    let in_train: Vec<&Record> = ok.iter().copied().filter(|r| r.split == train).collect();
    let scope = if train.is_empty() {
        "class".to_string()
    } else {
        format!("class within {train}")
    };
    let class_rows: Vec<(FileMeta, &str)> = in_train
        .iter()
        .map(|r| (FileMeta::of(r, quality(r)), r.class.as_str()))
        .collect();
    push(&mut report, Target::Class, scope, &class_rows);
    let split_rows: Vec<(FileMeta, &str)> = ok
        .iter()
        .filter(|r| !r.split.is_empty())
        .map(|r| (FileMeta::of(r, quality(r)), r.split.as_str()))
        .collect();
    push(&mut report, Target::Split, "split".into(), &split_rows);
    report
}

fn push(report: &mut ShortcutReport, target: Target, scope: String, rows: &[(FileMeta, &str)]) {
    match run_test(target, scope, rows) {
        Ok(t) => report.tests.push(t),
        Err(reason) => report.skipped.push(Skipped { target, reason }),
    }
}

/// Runs one test on `(metadata, label)` rows.
pub fn run_test(target: Target, scope: String, rows: &[(FileMeta, &str)]) -> Result<Test, String> {
    let what = match target {
        Target::Class => "classes",
        Target::Split => "splits",
    };
    let mut names: Vec<&str> = rows.iter().map(|(_, l)| *l).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() < 2 {
        return Err(format!("fewer than 2 {what}"));
    }
    if rows.len() < MIN_IMAGES {
        return Err(format!("only {} images (needs {MIN_IMAGES})", rows.len()));
    }
    let y: Vec<u32> = rows
        .iter()
        .map(|(_, l)| names.binary_search(l).unwrap_or(0) as u32)
        .collect();
    let mut counts = vec![0usize; names.len()];
    for &c in &y {
        counts[c as usize] += 1;
    }
    // Groups too small to hold out are left out of the test, not allowed to sink it.
    let keep: Vec<bool> = counts.iter().map(|&c| c >= MIN_GROUP).collect();
    if keep.iter().filter(|&&k| k).count() < 2 {
        return Err(format!(
            "fewer than 2 {what} with {MIN_GROUP} images or more"
        ));
    }
    let rows: Vec<&(FileMeta, &str)> = rows
        .iter()
        .zip(&y)
        .filter(|&(_, &c)| keep[c as usize])
        .map(|(r, _)| r)
        .collect();
    let y: Vec<u32> = y.into_iter().filter(|&c| keep[c as usize]).collect();
    // The model sees a seeded random sample of a large set: at 200,000 images the
    // accuracy's standard error is under 0.2 points, and 10 million images stay fast.
    let sample = model::sample(rows.len(), MAX_MODEL_ROWS, model::SEED);
    let y: Vec<u32> = sample.iter().map(|&i| y[i]).collect();
    let metas: Vec<&FileMeta> = sample.iter().map(|&i| &rows[i].0).collect();
    let mut counts = vec![0usize; names.len()];
    for &c in &y {
        counts[c as usize] += 1;
    }
    let mut table = features::table(&metas);
    // Bytes per pixel follows content as much as compression (and a network sees pixels, not
    // file sizes; JPEG compression is in `jpeg_quality`), so it is reported beside the
    // verdict's model, not in it.
    let bpp = table.remove(features::BYTES_PER_PIXEL);
    let classes = names.len();
    let n = y.len();
    let majority = counts.iter().copied().max().unwrap_or(0);
    let baseline = majority as f64 / n as f64;
    let score = |features: &[features::Feature]| {
        let pred = model::cross_validate(features, &y, classes);
        let correct = pred.iter().zip(&y).filter(|(p, t)| p == t).count();
        let accuracy = correct as f64 / n as f64;
        let lift = if baseline < 1.0 {
            (accuracy - baseline) / (1.0 - baseline)
        } else {
            0.0
        };
        (accuracy, lift)
    };
    let (accuracy, lift) = score(&table);
    let (bpp_accuracy, bpp_lift) = score(std::slice::from_ref(&bpp));
    let all: Vec<usize> = (0..n).collect();
    let tree = model::fit(&table, &y, classes, &all);
    let mut carriers: Vec<Carrier> = table
        .iter()
        .zip(&tree.importance)
        .filter(|&(_, &imp)| imp > 0.0)
        .map(|(f, &imp)| Carrier {
            feature: f.name.to_string(),
            importance: imp,
        })
        .collect();
    let total: f64 = carriers.iter().map(|c| c.importance).sum();
    for c in &mut carriers {
        c.importance /= total;
    }
    carriers.retain(|c| c.importance >= 0.05);
    carriers.sort_by(|a, b| b.importance.total_cmp(&a.importance));
    let gain = accuracy - baseline;
    let severity = match target {
        Target::Class if lift >= CLASS_PROBLEM_LIFT && gain >= CLASS_PROBLEM_GAIN => {
            Severity::Problem
        }
        Target::Split if lift >= SPLIT_WARNING_LIFT && gain >= SPLIT_WARNING_GAIN => {
            Severity::Warning
        }
        _ => Severity::Ok,
    };
    // Profiles describe the same sample (shares within 0.3 points at 200,000), with every
    // group's full image count.
    let sampled: Vec<&(FileMeta, &str)> = sample.iter().map(|&i| rows[i]).collect();
    let mut profiles = report::profiles(&sampled, &names);
    let mut full: std::collections::HashMap<&str, usize> = Default::default();
    for (_, g) in &rows {
        *full.entry(g).or_default() += 1;
    }
    for p in &mut profiles {
        p.images = full.get(p.group.as_str()).copied().unwrap_or(p.images);
    }
    Ok(Test {
        target,
        scope,
        images: rows.len(),
        accuracy,
        baseline,
        lift,
        severity,
        carriers,
        first_rule: tree.first.map(|s| s.describe(&table)),
        bytes_per_pixel: Figure {
            accuracy: bpp_accuracy,
            lift: bpp_lift,
        },
        profiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(w: u32, h: u32, format: &str, size: u64) -> FileMeta {
        FileMeta {
            width: w,
            height: h,
            size,
            format: format.into(),
            color: "rgb8".into(),
            orientation: false,
            alpha: false,
            gray: false,
            quality: (format == "jpeg").then_some(85),
        }
    }

    /// Ordinary photo sizes, varied deterministically.
    fn photo(i: u64, format: &str) -> FileMeta {
        let w = 300 + (i * 7919 % 500) as u32;
        let h = 200 + (i * 104_729 % 400) as u32;
        meta(w, h, format, u64::from(w * h) / 4 + i * 31 % 9000)
    }

    #[test]
    fn a_class_saved_in_another_format_is_a_problem() {
        let rows: Vec<(FileMeta, &str)> = (0..200)
            .map(|i| {
                if i % 2 == 0 {
                    (photo(i, "png"), "cats")
                } else {
                    (photo(i, "jpeg"), "dogs")
                }
            })
            .collect();
        let t = run_test(Target::Class, "class within train".into(), &rows).unwrap();
        assert_eq!(t.severity, Severity::Problem);
        assert!(t.accuracy > 0.99);
        assert!(
            ["format", "jpeg_quality"].contains(&t.carriers[0].feature.as_str()),
            "{:?}",
            t.carriers
        );
    }

    #[test]
    fn the_same_source_for_every_class_is_clean() {
        let rows: Vec<(FileMeta, &str)> = (0..400)
            .map(|i| (photo(i, "jpeg"), ["a", "b", "c"][(i * 13 % 3) as usize]))
            .collect();
        let t = run_test(Target::Class, "class".into(), &rows).unwrap();
        assert_eq!(t.severity, Severity::Ok, "lift {}", t.lift);
        let s = run_test(Target::Split, "split".into(), &rows).unwrap();
        assert_eq!(s.severity, Severity::Ok);
    }

    #[test]
    fn a_resized_split_is_a_warning_and_deterministic() {
        let rows: Vec<(FileMeta, &str)> = (0..300)
            .map(|i| {
                if i % 5 == 0 {
                    (meta(224, 224, "jpeg", 9000 + i), "val")
                } else {
                    (photo(i, "jpeg"), "train")
                }
            })
            .collect();
        let t = run_test(Target::Split, "split".into(), &rows).unwrap();
        assert_eq!(t.severity, Severity::Warning);
        let again = run_test(Target::Split, "split".into(), &rows).unwrap();
        assert_eq!(t.accuracy, again.accuracy);
        assert!(
            t.profiles[1]
                .summary
                .starts_with("val: 100% are 224x224 RGB JPEG q85")
        );
    }

    #[test]
    fn too_few_images_or_groups_are_skipped_with_a_reason() {
        let one: Vec<(FileMeta, &str)> = (0..50).map(|i| (photo(i, "jpeg"), "a")).collect();
        assert!(
            run_test(Target::Class, "c".into(), &one)
                .unwrap_err()
                .contains("fewer than 2")
        );
        let few: Vec<(FileMeta, &str)> = (0..10)
            .map(|i| (photo(i, "jpeg"), ["a", "b"][i as usize % 2]))
            .collect();
        assert!(
            run_test(Target::Class, "c".into(), &few)
                .unwrap_err()
                .contains("only 10")
        );
    }
}
