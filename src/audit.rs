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
use crate::coverage::Coverage;
use crate::index::{Flag, Record, Status};
use crate::layout::{Role, SkipReason, split_role};
use crate::leaks::{LeakSummary, Leaks};
use crate::loader::{Loader, Verdict};
use crate::merge::sources::{self, SourceTable};
use crate::scan::ScanOutcome;
use crate::shortcuts::{self, ShortcutReport, Target, report};
use std::fmt::Write as _;

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
    /// Classes x sources, when ROOT was written by `merge`.
    pub sources: Option<&'a SourceTable>,
    /// The shortcut check (`shortcuts --format json` prints the same).
    pub shortcuts: Option<&'a ShortcutReport>,
    /// The first `--max-items` skipped entries by path and reason (`skipped` counts all).
    pub skipped_entries: Vec<crate::layout::SkippedEntry>,
    /// The loader whose view the findings follow.
    pub loader: Loader,
    /// Images with and without a class, and how many the loader reads.
    pub coverage: Coverage,
}

/// Which kinds of findings exist (what `--fail-on` tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Kinds {
    pub leak: bool,
    pub conflict: bool,
    pub duplicate: bool,
    pub problem: bool,
    /// File metadata predicts the class (set by the shortcut check, `shortcuts`).
    pub shortcut: bool,
}

impl Kinds {
    /// The kinds of findings in scanned records and their leak summary, as the default
    /// `keras` loader sees the files.
    pub fn of(records: &[Record], leaks: &LeakSummary) -> Kinds {
        Kinds::of_loader(records, leaks, Loader::Keras)
    }

    /// The same, as `loader` sees the files. No usable image at all is a problem (an empty
    /// or wrong ROOT must fail a CI gate).
    pub fn of_loader(records: &[Record], leaks: &LeakSummary, loader: Loader) -> Kinds {
        Kinds {
            leak: leaks.cross_split_groups > 0,
            conflict: leaks.label_conflict_groups > 0,
            duplicate: leaks.within_split_groups > 0,
            problem: !records.iter().any(|r| loader.loads(r))
                || records.iter().any(|r| is_problem_file(r, loader)),
            shortcut: false,
        }
    }
}

/// The shortcut check's findings: one per test (topic `shortcut` for the class, `split
/// shortcut` for the split), ok ones included so the verdict says it was checked, and a
/// skipped test as an ok line saying why.
pub fn shortcut_findings(r: &ShortcutReport, root: &str) -> Vec<Finding> {
    let topic = |t: Target| match t {
        Target::Class => "shortcut",
        Target::Split => "split shortcut",
    };
    let skipped = r.skipped.iter().map(|s| Finding {
        severity: Severity::Ok,
        topic: topic(s.target).into(),
        headline: format!("not checked: {}", s.reason),
        meaning: String::new(),
        fix: String::new(),
    });
    r.tests
        .iter()
        .map(|t| {
            let flagged = t.severity != shortcuts::Severity::Ok;
            let mut headline = report::headline(t);
            if flagged {
                let lines: Vec<&str> = t.profiles.iter().map(|p| p.summary.as_str()).collect();
                let _ = write!(headline, " ({})", lines.join("; "));
            }
            Finding {
                severity: match t.severity {
                    shortcuts::Severity::Ok => Severity::Ok,
                    shortcuts::Severity::Warning => Severity::Warning,
                    shortcuts::Severity::Problem => Severity::Problem,
                },
                topic: topic(t.target).into(),
                headline,
                meaning: if flagged {
                    report::meaning(t.target).into()
                } else {
                    String::new()
                },
                fix: if flagged {
                    report::fix(root)
                } else {
                    String::new()
                },
            }
        })
        .chain(skipped)
        .collect()
}

/// Flags that make a usable file worth listing among the problem files under the default
/// `keras` loader; [`notable_flags`] gives the list for any loader.
pub const NOTABLE_FLAGS: [Flag; 8] = [
    Flag::KerasSkips,
    Flag::Alpha,
    Flag::ExtMismatch,
    Flag::Tiny,
    Flag::NearConstant,
    Flag::Animated,
    Flag::Cmyk,
    Flag::HighBitDepth,
];

/// The flags that make a usable file notable under `loader`. `keras_skips` only counts under
/// `keras`: torchvision's `ImageFolder` and the legacy Keras loader list other extensions
/// (`.webp`, `.tif`), so a file Keras skips can be a plain training file for them.
pub fn notable_flags(loader: Loader) -> &'static [Flag] {
    // `keras_skips` leads the list, so the other loaders' list is the rest.
    const _: () = assert!(matches!(NOTABLE_FLAGS[0], Flag::KerasSkips));
    match loader {
        Loader::Keras => &NOTABLE_FLAGS,
        Loader::KerasLegacy | Loader::Torch => &NOTABLE_FLAGS[1..],
    }
}

/// The one definition of a problem file, used by the verdict and the report: `Problem` when
/// training cannot use the file (not decodable, or `loader` does not load it), `Warning`
/// when it is usable but carries a notable flag, `None` when it is fine.
pub fn file_problem(r: &Record, loader: Loader) -> Option<Severity> {
    if r.status != Status::Ok || !loader.loads(r) {
        Some(Severity::Problem)
    } else if notable_flags(loader).iter().any(|&f| r.flags.contains(f)) {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// A file training cannot use with `loader`: what `--fail-on problem` tests.
pub fn is_problem_file(r: &Record, loader: Loader) -> bool {
    file_problem(r, loader) == Some(Severity::Problem)
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

fn ok(topic: &str, headline: &str) -> Finding {
    finding(Severity::Ok, topic, headline.into(), "", String::new())
}

/// What every step of the verdict reads.
struct Facts<'a> {
    scan: &'a ScanOutcome,
    leaks: &'a Leaks,
    kinds: Kinds,
    /// The loader whose view the findings follow (`--loader`).
    loader: Loader,
    /// Images with and without a class, and how many the loader reads.
    coverage: Coverage,
    /// `cleansplit split ROOT OUT`, the fix of most findings.
    split_cmd: String,
}

/// The verdict: one finding per topic, worst first within the fixed topic order.
pub fn verdict(
    scan: &ScanOutcome,
    leaks: &Leaks,
    balance: Option<&BalanceReport>,
) -> (Vec<Finding>, Kinds) {
    let facts = Facts {
        scan,
        leaks,
        kinds: Kinds::of_loader(&scan.records, &leaks.summary, scan.loader),
        loader: scan.loader,
        coverage: Coverage::of(&scan.records, scan.loader),
        split_cmd: format!("cleansplit split {} OUT", scan.root.display()),
    };
    let mut out = Vec::new();
    out.extend(no_images(&facts));
    // Without any class the verdict leads with it; some unlabeled images come last.
    let unlabeled = unlabeled(&facts);
    if facts.coverage.classless() {
        out.extend(unlabeled.clone());
    }
    out.extend(leakage(&facts));
    out.push(label_conflicts(&facts));
    out.push(duplicates(&facts));
    out.push(problem_files(&facts));
    out.extend(odd_images(&facts));
    out.extend(layout(&facts));
    if let Some(b) = balance {
        out.extend(imbalance(&facts, b));
        out.extend(drift(&facts, b));
    }
    if !facts.coverage.classless() {
        out.extend(unlabeled);
    }
    (out, facts.kinds)
}

/// No image at all, or none the loader reads: most likely a wrong path or a format the
/// loader skips, which a CI gate must not pass.
fn no_images(f: &Facts) -> Option<Finding> {
    if f.scan.records.is_empty() {
        return Some(finding(
            Severity::Problem,
            "no images",
            format!("no image files under {}", f.scan.root.display()),
            "there is nothing to train on: ROOT is empty or is not the dataset folder",
            "check the path: ROOT should hold split or class folders of images".into(),
        ));
    }
    let loader = f.loader;
    f.coverage.no_usable(loader).map(|why| {
        finding(
            Severity::Problem,
            "no usable images",
            why,
            "there is nothing to train on: every file is broken or one the loader skips",
            format!("convert the files to a format the {loader} loader reads, or choose --loader"),
        )
    })
}

/// Images without a class: what can and cannot be done, and how to give them one.
fn unlabeled(f: &Facts) -> Option<Finding> {
    let note = f.coverage.unlabeled_note()?;
    Some(finding(
        Severity::Warning,
        if f.coverage.classless() {
            "no classes"
        } else {
            "unlabeled"
        },
        note,
        "leaks and duplicates are checked for every image; class counts, weights and a stratified split use labelled images only",
        format!(
            "{} (unlabeled images: --keep-unlabeled; no classes at all: a plain group-aware split)",
            f.split_cmd
        ),
    ))
}

/// Leakage across splits, phrased for the held-out splits against train.
fn leakage(f: &Facts) -> Option<Finding> {
    let s = &f.leaks.summary;
    if s.splits.len() < 2 {
        return None;
    }
    if !f.kinds.leak {
        return Some(finding(
            Severity::Ok,
            "leakage",
            "no image has a duplicate in another split".into(),
            "validation measures unseen images",
            String::new(),
        ));
    }
    let train = s
        .splits
        .iter()
        .find(|sp| split_role(&sp.split) == Role::Train)
        .map(|sp| sp.split.as_str());
    let lines: Vec<String> = s
        .splits
        .iter()
        .filter(|sp| Some(sp.split.as_str()) != train)
        .map(|sp| {
            let (n, other) = match train {
                Some(t) => (sp.leaked_into.get(t).copied().unwrap_or(0), t),
                None => (sp.leaked, "another split"),
            };
            format!(
                "{n} of {} {} images ({}) have a duplicate in {other}",
                sp.images,
                sp.split,
                pct(n, sp.images)
            )
        })
        .collect();
    Some(finding(
        Severity::Problem,
        "leakage",
        lines.join("; "),
        "the model is validated partly on copies of training images: validation accuracy starts high and \
         stalls, and it overstates how well the model generalises",
        f.split_cmd.clone(),
    ))
}

fn label_conflicts(f: &Facts) -> Finding {
    if !f.kinds.conflict {
        return ok("label conflicts", "no image is under two classes");
    }
    let images: usize = f
        .leaks
        .groups
        .iter()
        .filter(|g| g.label_conflict())
        .map(|g| g.members.len())
        .sum();
    finding(
        Severity::Problem,
        "label conflicts",
        format!(
            "{} group(s) of copies ({images} files) sit under more than one class",
            f.leaks.summary.label_conflict_groups
        ),
        "the model is taught two answers for the same picture, which caps accuracy and confuses those classes",
        format!(
            "fix the labels, or {} --conflicts drop (or majority)",
            f.split_cmd
        ),
    )
}

/// Duplicates within one split.
fn duplicates(f: &Facts) -> Finding {
    if !f.kinds.duplicate {
        return ok("duplicates", "no duplicates within a split");
    }
    let s = &f.leaks.summary;
    finding(
        Severity::Warning,
        "duplicates",
        format!(
            "{} groups of duplicates within one split ({} redundant copies)",
            s.within_split_groups, s.redundant_within_split
        ),
        "repeated photos are over-weighted in training and inflate counts",
        format!("{} (keeps one copy of each)", f.split_cmd),
    )
}

/// Files that do not decode, that the loader skips or cannot decode, or whose extension lies
/// about the content.
fn problem_files(f: &Facts) -> Finding {
    let records = &f.scan.records;
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records.iter().filter(|r| r.status != Status::Ok) {
        *by_status.entry(r.status.as_str()).or_default() += 1;
    }
    let loader = f.loader;
    let (mut ignored, mut fails) = (0usize, 0usize);
    for r in records.iter().filter(|r| r.is_ok()) {
        match loader.verdict(r) {
            Verdict::Loads => {}
            Verdict::Ignored => ignored += 1,
            Verdict::Fails(_) => fails += 1,
        }
    }
    let ext_mismatch = records
        .iter()
        .filter(|r| r.flags.contains(Flag::ExtMismatch))
        .count();
    let mut parts: Vec<String> = by_status.iter().map(|(k, v)| format!("{v} {k}")).collect();
    if ignored > 0 {
        parts.push(format!(
            "{ignored} the {loader} loader does not list (extension)"
        ));
    }
    if fails > 0 {
        parts.push(format!(
            "{fails} the {loader} loader lists but cannot decode"
        ));
    }
    if ext_mismatch > 0 {
        parts.push(format!(
            "{ext_mismatch} with an extension that does not match the content"
        ));
    }
    if parts.is_empty() {
        return ok(
            "problem files",
            &format!("every file decodes and the {loader} loader reads it"),
        );
    }
    finding(
        if f.kinds.problem {
            Severity::Problem
        } else {
            Severity::Warning
        },
        "problem files",
        parts.join(", "),
        "broken files crash or silently shrink a training run; skipped formats make folder counts lie",
        format!(
            "re-encode or remove them (listed in the report); {} leaves broken files out",
            f.split_cmd
        ),
    )
}

/// Unusual modes and near-empty images among the usable ones (modes only when a minority).
fn odd_images(f: &Facts) -> Option<Finding> {
    let ok: Vec<&Record> = f.scan.records.iter().filter(|r| r.is_ok()).collect();
    let mut odd: Vec<String> = Vec::new();
    for (flag, what, minority_only) in [
        (Flag::Gray, "grayscale", true),
        (Flag::Alpha, "with alpha", true),
        (Flag::Cmyk, "CMYK", false),
        (Flag::HighBitDepth, "16-bit", true),
        (Flag::Tiny, "under 32 px", false),
        (Flag::NearConstant, "near-constant (blank)", false),
        (Flag::Animated, "animated", false),
        (
            Flag::ControlChar,
            "with a control character in the name",
            false,
        ),
        (Flag::LeadingDash, "with a name starting with '-'", false),
        (Flag::WindowsName, "with a name Windows cannot hold", false),
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
    (!odd.is_empty()).then(|| {
        finding(
            Severity::Warning,
            "odd images",
            odd.join(", "),
            "unusual modes are converted silently by loaders; tiny and blank images carry little signal",
            "review them in the report; convert or remove as needed".into(),
        )
    })
}

/// Files the layout could not place in a class folder.
fn layout(f: &Facts) -> Option<Finding> {
    let lost = f
        .scan
        .layout
        .skipped
        .iter()
        .filter(|k| {
            matches!(
                k.reason,
                SkipReason::LooseFile | SkipReason::WalkError | SkipReason::NotASplit
            )
        })
        .count();
    (lost > 0).then(|| {
        finding(
            Severity::Warning,
            "layout",
            format!("{lost} files or folders sit outside the class folders (loose or unreadable)"),
            "loaders ignore them, so they are not part of training or validation",
            format!(
                "audit.json, report.html and `cleansplit scan {} --format json` list them by path and reason",
                f.scan.root.display()
            ),
        )
    })
}

/// Class imbalance in the split the weights are for.
fn imbalance(f: &Facts, b: &BalanceReport) -> Option<Finding> {
    let t = b.splits.iter().find(|sp| sp.split == b.weights.split)?;
    let ratio = t.imbalance_ratio.unwrap_or(1.0);
    let small = &t.below_min_count;
    if ratio < 3.0 && small.is_empty() {
        return Some(finding(
            Severity::Ok,
            "imbalance",
            format!("largest/smallest class = {ratio:.2}"),
            "",
            String::new(),
        ));
    }
    let name = if t.split.is_empty() {
        "the dataset"
    } else {
        &t.split
    };
    let mut h = format!("largest/smallest class in {name} = {ratio:.1}");
    if !small.is_empty() {
        h.push_str(&format!(
            "; under {} images: {}",
            b.min_count,
            small.join(", ")
        ));
    }
    Some(finding(
        Severity::Warning,
        "imbalance",
        h,
        "accuracy is dominated by the large classes; small classes are learned poorly",
        format!(
            "cleansplit balance {} writes class_weights.json for Keras' class_weight= / PyTorch's weight=",
            f.scan.root.display()
        ),
    ))
}

/// Splits whose class mix differs from train's (chi-square p < 0.01) or lacks classes.
fn drift(f: &Facts, b: &BalanceReport) -> Option<Finding> {
    let drifted: Vec<String> = b
        .splits
        .iter()
        .filter_map(|sp| sp.drift.as_ref().map(|d| (sp, d)))
        .filter(|(sp, d)| d.p_value < 0.01 || !sp.missing.is_empty())
        .map(|(sp, d)| {
            let mut t = format!(
                "{}: class shares differ from {} by up to {:.1} points ({}; chi-square p = {:.3})",
                sp.split,
                d.against,
                100.0 * d.max_share_diff,
                d.class,
                d.p_value
            );
            if !sp.missing.is_empty() {
                t.push_str(&format!("; missing classes: {}", sp.missing.join(", ")));
            }
            t
        })
        .collect();
    (!drifted.is_empty()).then(|| {
        finding(
            Severity::Warning,
            "drift",
            drifted.join("; "),
            "a validation split with another class mix measures a different problem than training",
            format!("{} (stratified by class)", f.split_cmd),
        )
    })
}

/// The source check of a folder written by `merge` (its `manifest.csv` names each file's
/// source): the classes x sources table over the scanned records, or `None` for any other
/// folder.
pub fn source_check(scan: &ScanOutcome) -> anyhow::Result<Option<SourceTable>> {
    Ok(sources::read_merge_manifest(&scan.root)?
        .map(|m| sources::table_of(&scan.records, &sources::sources_of(&scan.records, &m))))
}

/// The source check's findings: one warning per class the table flags, or one ok.
pub fn source_findings(t: &SourceTable) -> Vec<Finding> {
    let warnings = t.warnings();
    if warnings.is_empty() {
        return vec![finding(
            Severity::Ok,
            "sources",
            format!(
                "{} sources; no class comes mostly from one source and the source mix is similar across classes",
                t.contributing()
            ),
            "",
            String::new(),
        )];
    }
    warnings
        .into_iter()
        .map(|w| {
            finding(
                Severity::Warning,
                "sources",
                w.message,
                "a network can learn the source (camera, background, resolution, JPEG quality) instead of the class, and then fails on images from elsewhere",
                "add images of this class from the other sources, or take fewer from the dominant one; split with --stratify class,source".into(),
            )
        })
        .collect()
}
