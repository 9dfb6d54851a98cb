//! The audit verdict: every finding of scan, leaks and balance as one line that says what
//! it means for training and which command fixes it.

use serde::Serialize;

/// What a finding is about. A new finding is a new variant: the compiler then asks for its
/// name here, and its step in `topics.rs` (or `checks.rs`) makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// ROOT holds no image at all.
    NoImages,
    /// Images, but none the loader reads.
    NoUsableImages,
    /// Images, but none has a class.
    NoClasses,
    /// Some images have no class.
    Unlabeled,
    /// Copies across splits.
    Leakage,
    /// Images of one subject (by the file names) in more than one split.
    Subjects,
    /// Copies under more than one class.
    LabelConflicts,
    /// Copies within one split.
    Duplicates,
    /// Files training cannot use (or should look at).
    ProblemFiles,
    /// Class folders `ImageFolder` refuses (`--loader torch`).
    EmptyClassFolders,
    /// Near-constant, tiny or otherwise odd images.
    OddImages,
    /// Loose files, odd names and folders.
    Layout,
    /// Classes of very different sizes.
    Imbalance,
    /// Class proportions that differ between splits.
    Drift,
    /// Split folders whose class folders are not the training split's.
    ClassFolders,
    /// ROOT is one split folder of a dataset (its siblings are other splits).
    SplitFolder,
    /// A merged dataset's classes x sources table (from its `manifest.csv`).
    Sources,
    /// File metadata predicts the class.
    Shortcut,
    /// File metadata predicts the split.
    SplitShortcut,
}

impl Topic {
    /// The topic as reports name it (`audit.json`'s `topic`, the verdict's lines).
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::NoImages => "no images",
            Topic::NoUsableImages => "no usable images",
            Topic::NoClasses => "no classes",
            Topic::Unlabeled => "unlabeled",
            Topic::Leakage => "leakage",
            Topic::Subjects => "subjects",
            Topic::LabelConflicts => "label conflicts",
            Topic::Duplicates => "duplicates",
            Topic::ProblemFiles => "problem files",
            Topic::EmptyClassFolders => "empty class folders",
            Topic::OddImages => "odd images",
            Topic::Layout => "layout",
            Topic::Imbalance => "imbalance",
            Topic::Drift => "drift",
            Topic::ClassFolders => "class folders",
            Topic::SplitFolder => "split folder",
            Topic::Sources => "sources",
            Topic::Shortcut => "shortcut",
            Topic::SplitShortcut => "split shortcut",
        }
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Topic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One line of the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub topic: Topic,
    /// What was found, with figures ("6 of 16 val images (37.5%) have a duplicate in train").
    pub headline: String,
    /// What it means for training.
    pub meaning: String,
    /// The command that fixes it (empty when nothing needs fixing).
    pub fix: String,
}

mod checks;
mod run;
mod subjects;
mod topics;

pub use checks::{shortcut_findings, source_check, source_findings};
pub use run::{AuditJob, AuditOutcome, run};
pub use subjects::{carried_flags, subject_finding};
use topics::{
    class_folders, drift, duplicates, empty_class_folders, imbalance, label_conflicts, layout,
    leakage, no_images, odd_images, problem_files, split_folder_root, unlabeled,
};

use crate::balance::BalanceReport;
use crate::base::flags::{Flag, Status};
use crate::base::severity::Severity;
use crate::index::Record;
use crate::leaks::{LeakSummary, Leaks};
use crate::loader::Loader;
use crate::loader::coverage::Coverage;
use crate::scan::ScanOutcome;
use crate::shortcuts::ShortcutReport;
use crate::split::sources::SourceTable;

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
    /// The subject id inferred from the file names (`null` when the names carry none): the
    /// `--group-by` regex, the rule, the counts and examples of subjects in several splits.
    pub subjects: Option<&'a crate::subjects::Inference>,
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
    /// Images of one subject (by the file names) in more than one split, a PROBLEM finding.
    pub subject: bool,
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
            subject: false,
        }
    }
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
    topic: Topic,
    headline: String,
    meaning: &str,
    fix: String,
) -> Finding {
    Finding {
        severity,
        topic,
        headline,
        meaning: meaning.into(),
        fix,
    }
}

impl Facts<'_> {
    /// Where the files a finding counts are listed (every run can list them; the report only
    /// exists with `--out`).
    fn listed(&self) -> String {
        format!(
            "`cleansplit scan {}{} --format json` lists them; so do audit.json and report.html with audit --out DIR",
            self.scan.root_arg(),
            self.scan.repeat_options()
        )
    }
}

/// The line `audit` prints when it wrote no report: where one would go and how to write it.
/// The suggested folder sits beside ROOT (never inside it).
pub fn no_report_hint(scan: &ScanOutcome) -> String {
    let name = scan
        .root
        .file_name()
        .map_or_else(|| "dataset".into(), |n| n.to_string_lossy().into_owned());
    let dir = scan
        .root
        .parent()
        .unwrap_or(&scan.root)
        .join(format!("{name}-audit"));
    format!(
        "report: none written (no --out); `cleansplit audit {}{} --out {}` writes report.html, audit.json, pairs.csv, groups.csv, summary.json and class_weights.json there",
        scan.root_arg(),
        scan.repeat_options(),
        crate::scan::shell_word(&dir.display().to_string())
    )
}

fn ok(topic: Topic, headline: &str) -> Finding {
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
    /// `cleansplit split ROOT OUT` with the options of this run, the fix of most findings.
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
        // The fix repeats the options that change the answer (loader, labels, splits).
        split_cmd: format!(
            "cleansplit split {} OUT{}",
            scan.root_arg(),
            scan.repeat_options()
        ),
    };
    let mut out = Vec::new();
    out.extend(no_images(&facts));
    out.extend(split_folder_root(&facts));
    // Without any class the verdict leads with it; some unlabeled images come last.
    let unlabeled = unlabeled(&facts);
    if facts.coverage.classless() {
        out.extend(unlabeled.clone());
    }
    out.extend(leakage(&facts));
    out.push(label_conflicts(&facts));
    out.push(duplicates(&facts));
    out.push(problem_files(&facts));
    // A loader that cannot even build the dataset is a problem file's kind of failure.
    let mut kinds = facts.kinds;
    if let Some(f) = empty_class_folders(&facts) {
        kinds.problem = true;
        out.push(f);
    }
    out.extend(odd_images(&facts));
    out.extend(layout(&facts));
    if let Some(b) = balance {
        out.extend(imbalance(&facts, b));
        out.extend(drift(&facts, b));
        out.extend(class_folders(&facts, b));
    }
    if !facts.coverage.classless() {
        out.extend(unlabeled);
    }
    (out, kinds)
}
