//! The audit verdict: every finding of scan, leaks and balance as one line that says what
//! it means for training and which command fixes it.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Checked and clean.
    Ok,
    /// Worth knowing; training still works.
    Warning,
    /// Distorts training or evaluation.
    Problem,
}

/// One line of the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Short topic: `leakage`, `label conflicts`, `duplicates`, `problem files`, `imbalance`, `drift`.
    pub topic: String,
    /// What was found, with figures ("6 of 16 val images (37.5%) have a duplicate in train").
    pub headline: String,
    /// What it means for training.
    pub meaning: String,
    /// The command that fixes it (empty when nothing needs fixing).
    pub fix: String,
}

use std::collections::BTreeMap;

use crate::balance::BalanceReport;
use crate::index::{Flag, Record, Status};
use crate::layout::{Role, SkipReason, split_role};
use crate::leaks::{LeakSummary, Leaks};
use crate::scan::ScanOutcome;

/// `audit.json`: the verdict with the figures behind it (a file-format contract).
#[derive(Debug, Serialize)]
pub struct AuditReport<'a> {
    pub root: String,
    pub findings: &'a [Finding],
    pub kinds: Kinds,
    pub images: usize,
    pub skipped: usize,
    pub leaks: &'a LeakSummary,
    pub balance: Option<&'a BalanceReport>,
}

/// Which kinds of findings exist (what `--fail-on` tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Kinds {
    pub leak: bool,
    pub conflict: bool,
    pub duplicate: bool,
    pub problem: bool,
}

impl Kinds {
    /// The kinds of findings in scanned records and their leak summary.
    pub fn of(records: &[Record], leaks: &LeakSummary) -> Kinds {
        Kinds {
            leak: leaks.cross_split_groups > 0,
            conflict: leaks.label_conflict_groups > 0,
            duplicate: leaks.within_split_groups > 0,
            problem: records.is_empty() || records.iter().any(is_problem_file),
        }
    }
}

/// Problem files: not decodable, or not loadable by Keras' directory loaders.
pub fn is_problem_file(r: &Record) -> bool {
    r.status != Status::Ok || r.flags.contains(Flag::KerasSkips)
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "0.0%".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / of as f64)
    }
}

fn finding(
    severity: Severity,
    topic: &str,
    headline: String,
    meaning: &str,
    fix: String,
) -> Finding {
    Finding {
        severity,
        topic: topic.into(),
        headline,
        meaning: meaning.into(),
        fix,
    }
}

/// The verdict: one finding per topic, worst first within the fixed topic order.
pub fn verdict(
    scan: &ScanOutcome,
    leaks: &Leaks,
    balance: Option<&BalanceReport>,
) -> (Vec<Finding>, Kinds) {
    let root = scan.root.display();
    let split_cmd = format!("cleansplit split {root} OUT");
    let records = &scan.records;
    let s = &leaks.summary;
    let mut out = Vec::new();
    let kinds = Kinds::of(records, s);

    // Leakage across splits, phrased for the held-out splits against train.
    if s.splits.len() > 1 {
        let train = s
            .splits
            .iter()
            .find(|sp| split_role(&sp.split) == Role::Train)
            .map(|sp| sp.split.clone());
        let mut lines = Vec::new();
        for sp in &s.splits {
            if Some(&sp.split) == train.as_ref() {
                continue;
            }
            let (n, other) = match &train {
                Some(t) => (sp.leaked_into.get(t).copied().unwrap_or(0), t.clone()),
                None => (sp.leaked, "another split".into()),
            };
            lines.push(format!(
                "{n} of {} {} images ({}) have a duplicate in {other}",
                sp.images,
                sp.split,
                pct(n, sp.images)
            ));
        }
        out.push(if kinds.leak {
            finding(
                Severity::Problem,
                "leakage",
                lines.join("; "),
                "the model is validated partly on copies of training images: validation accuracy starts high and \
                 stalls, and it overstates how well the model generalises",
                split_cmd.clone(),
            )
        } else {
            finding(Severity::Ok, "leakage", "no image has a duplicate in another split".into(), "validation measures unseen images", String::new())
        });
    }
    // Label conflicts.
    if kinds.conflict {
        let images: usize = leaks
            .groups
            .iter()
            .filter(|g| g.label_conflict())
            .map(|g| g.members.len())
            .sum();
        out.push(finding(
            Severity::Problem,
            "label conflicts",
            format!("{} group(s) of copies ({images} files) sit under more than one class", s.label_conflict_groups),
            "the model is taught two answers for the same picture, which caps accuracy and confuses those classes",
            format!("fix the labels, or {split_cmd} --conflicts drop (or majority)"),
        ));
    } else {
        out.push(finding(
            Severity::Ok,
            "label conflicts",
            "no image is under two classes".into(),
            "",
            String::new(),
        ));
    }
    // Duplicates within splits.
    out.push(if kinds.duplicate {
        finding(
            Severity::Warning,
            "duplicates",
            format!(
                "{} groups of duplicates within one split ({} redundant copies)",
                s.within_split_groups, s.redundant_within_split
            ),
            "repeated photos are over-weighted in training and inflate counts",
            format!("{split_cmd} (keeps one copy of each)"),
        )
    } else {
        finding(
            Severity::Ok,
            "duplicates",
            "no duplicates within a split".into(),
            "",
            String::new(),
        )
    });
    // Problem files.
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records.iter().filter(|r| r.status != Status::Ok) {
        *by_status.entry(r.status.as_str()).or_default() += 1;
    }
    let keras_skips = records
        .iter()
        .filter(|r| r.is_ok() && r.flags.contains(Flag::KerasSkips))
        .count();
    let ext_mismatch = records
        .iter()
        .filter(|r| r.flags.contains(Flag::ExtMismatch))
        .count();
    let mut parts: Vec<String> = by_status.iter().map(|(k, v)| format!("{v} {k}")).collect();
    if keras_skips > 0 {
        parts.push(format!("{keras_skips} in a format Keras' loaders skip"));
    }
    if ext_mismatch > 0 {
        parts.push(format!(
            "{ext_mismatch} with an extension that does not match the content"
        ));
    }
    out.push(if parts.is_empty() {
        finding(Severity::Ok, "problem files", "every file decodes and Keras can load it".into(), "", String::new())
    } else {
        finding(
            if kinds.problem { Severity::Problem } else { Severity::Warning },
            "problem files",
            parts.join(", "),
            "broken files crash or silently shrink a training run; skipped formats make folder counts lie",
            format!("re-encode or remove them (listed in the report); {split_cmd} leaves broken files out"),
        )
    });
    // Odd images among the usable ones.
    let ok: Vec<&Record> = records.iter().filter(|r| r.is_ok()).collect();
    let mut odd: Vec<String> = Vec::new();
    for (flag, what, minority_only) in [
        (Flag::Gray, "grayscale", true),
        (Flag::Alpha, "with alpha", true),
        (Flag::Cmyk, "CMYK", false),
        (Flag::HighBitDepth, "16-bit", true),
        (Flag::Tiny, "under 32 px", false),
        (Flag::NearConstant, "near-constant (blank)", false),
        (Flag::Animated, "animated", false),
    ] {
        let with: Vec<&&Record> = ok.iter().filter(|r| r.flags.contains(flag)).collect();
        let n = with.len();
        if n > 0 && (!minority_only || 2 * n < ok.len()) {
            let examples: Vec<String> = with
                .iter()
                .take(3)
                .map(|r| r.path.display().to_string())
                .collect();
            let more = if n > 3 { ", ..." } else { "" };
            odd.push(format!("{n} {what} ({}{more})", examples.join(", ")));
        }
    }
    if !odd.is_empty() {
        out.push(finding(
            Severity::Warning,
            "odd images",
            odd.join(", "),
            "unusual modes are converted silently by loaders; tiny and blank images carry little signal",
            "review them in the report; convert or remove as needed".into(),
        ));
    }
    // Files the layout could not place.
    let lost: usize = scan
        .layout
        .skipped
        .iter()
        .filter(|k| {
            matches!(
                k.reason,
                SkipReason::LooseFile
                    | SkipReason::Unlabeled
                    | SkipReason::WalkError
                    | SkipReason::NotASplit
            )
        })
        .count();
    if lost > 0 {
        out.push(finding(
            Severity::Warning,
            "layout",
            format!("{lost} files or folders sit outside the class folders (loose, unlabeled or unreadable)"),
            "loaders ignore them, so they are not part of training or validation",
            format!("cleansplit scan {root} lists them"),
        ));
    }
    // Balance and drift.
    if let Some(b) = balance {
        let weights_cmd = format!("cleansplit balance {root}");
        if let Some(t) = b.splits.iter().find(|sp| sp.split == b.weights.split) {
            let ratio = t.imbalance_ratio.unwrap_or(1.0);
            let small = &t.below_min_count;
            out.push(if ratio >= 3.0 || !small.is_empty() {
                let mut h = format!("largest/smallest class in {} = {ratio:.1}", if t.split.is_empty() { "the dataset" } else { &t.split });
                if !small.is_empty() {
                    h.push_str(&format!("; under {} images: {}", b.min_count, small.join(", ")));
                }
                finding(
                    Severity::Warning,
                    "imbalance",
                    h,
                    "accuracy is dominated by the large classes; small classes are learned poorly",
                    format!("{weights_cmd} writes class_weights.json for Keras' class_weight= / PyTorch's weight="),
                )
            } else {
                finding(Severity::Ok, "imbalance", format!("largest/smallest class = {ratio:.2}"), "", String::new())
            });
        }
        let drifted: Vec<String> = b
            .splits
            .iter()
            .filter_map(|sp| sp.drift.as_ref().map(|d| (sp, d)))
            .filter(|(sp, d)| d.p_value < 0.01 || !sp.missing.is_empty())
            .map(|(sp, d)| {
                let mut t = format!("{}: class shares differ from {} by up to {:.1} points ({}; chi-square p = {:.3})", sp.split, d.against, 100.0 * d.max_share_diff, d.class, d.p_value);
                if !sp.missing.is_empty() {
                    t.push_str(&format!("; missing classes: {}", sp.missing.join(", ")));
                }
                t
            })
            .collect();
        if !drifted.is_empty() {
            out.push(finding(
                Severity::Warning,
                "drift",
                drifted.join("; "),
                "a validation split with another class mix measures a different problem than training",
                format!("{split_cmd} (stratified by class)"),
            ));
        }
    }
    // No image at all: most likely a wrong path, which a CI gate must not pass.
    if records.is_empty() {
        out.insert(
            0,
            finding(
                Severity::Problem,
                "no images",
                format!("no image files under {root}"),
                "there is nothing to train on: ROOT is empty or is not the dataset folder",
                "check the path: ROOT should hold split or class folders of images".into(),
            ),
        );
    }
    (out, kinds)
}
