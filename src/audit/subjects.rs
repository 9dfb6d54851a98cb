//! The `subjects` finding: different images of one subject (a patient, a person) on both
//! sides of a split, found from the subject ids in the file names (`crate::subjects`).

use std::path::Path;

use super::{Finding, Severity, Topic, finding};
use crate::scan::ScanOptions;
use crate::subjects::Inference;
use crate::subjects::evidence::PROBLEM_SPANNING;

/// The finding for an inferred subject key over a dataset with `splits` splits: `None`
/// when the names carry no subject or there is one split; ok when no subject spans splits;
/// a PROBLEM when the evidence is strong and at least [`PROBLEM_SPANNING`] subjects span
/// splits, else a warning. `flags` are the options the fix command carries
/// ([`carried_flags`]).
pub fn subject_finding(
    inferred: Option<&Inference>,
    splits: usize,
    root: &Path,
    flags: &str,
) -> Option<Finding> {
    let inf = inferred?;
    if splits < 2 {
        return None;
    }
    let e = &inf.evidence;
    if e.spanning == 0 {
        return Some(finding(
            Severity::Ok,
            Topic::Subjects,
            format!(
                "{} subjects by the file names ({}); none has images in more than one split",
                e.subjects, inf.group_by
            ),
            "",
            String::new(),
        ));
    }
    let problem = e.strong && e.spanning >= PROBLEM_SPANNING;
    let examples: Vec<String> = e
        .examples
        .iter()
        .take(3)
        .map(|x| {
            let per: Vec<String> = x.images.iter().map(|(s, n)| format!("{s} {n}")).collect();
            format!("{}: {}", x.subject, per.join(", "))
        })
        .collect();
    let shares: Vec<String> = e
        .splits
        .iter()
        .filter(|s| s.shared > 0)
        .map(|s| {
            format!(
                "{} of {} {} images share their subject with another split",
                s.shared, s.images, s.split
            )
        })
        .collect();
    let mut headline = format!(
        "{} of {} subjects ({} images) have images in more than one split (subject = {} in the file name, {}; e.g. {})",
        e.spanning,
        e.subjects,
        e.images_involved,
        inf.rule.describe(),
        inf.group_by,
        examples.join("; ")
    );
    if !shares.is_empty() {
        headline.push_str("; ");
        headline.push_str(&shares.join("; "));
    }
    let meaning = if problem {
        "the model is validated on other images of subjects (patients, people) it was trained on: it can learn the subject instead of the class, and validation overstates how it does on new subjects"
    } else {
        "if the key is a subject (patient, person, recording), validation partly measures subjects seen in training; few names share a key, so check the examples"
    };
    Some(finding(
        if problem {
            Severity::Problem
        } else {
            Severity::Warning
        },
        Topic::Subjects,
        headline,
        meaning,
        format!(
            "cleansplit split {} OUT --group-by auto{flags} (keeps each subject in one split; the same as --group-by '{}')",
            root.display(),
            inf.group_by
        ),
    ))
}

/// The scan options a fix command must repeat to see the same dataset: a loader other than
/// the default, the labels CSV, the split folders.
pub fn carried_flags(opts: &ScanOptions) -> String {
    let mut out = String::new();
    if opts.loader != crate::loader::Loader::default() {
        out.push_str(&format!(" --loader {}", opts.loader));
    }
    if let Some(l) = &opts.layout.labels {
        out.push_str(&format!(" --labels {}", l.display()));
    }
    if let Some(s) = &opts.layout.splits {
        out.push_str(&format!(" --splits {}", s.join(",")));
    }
    out
}
