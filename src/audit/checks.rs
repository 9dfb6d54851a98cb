//! Findings of the checks beside the verdict: metadata shortcuts (`shortcuts`), and the
//! sources of a folder written by `merge`.

use std::fmt::Write as _;

use super::{Finding, Topic, finding};
use crate::base::severity::Severity;
use crate::scan::ScanOutcome;
use crate::shortcuts::{ShortcutReport, Target, report};
use crate::split::sources::{self, SourceTable};

/// The shortcut check's findings: one per test (topic `shortcut` for the class, `split
/// shortcut` for the split), ok ones included so the verdict says it was checked, and a
/// skipped test as an ok line saying why.
pub fn shortcut_findings(r: &ShortcutReport, root: &str) -> Vec<Finding> {
    let topic = |t: Target| match t {
        Target::Class => Topic::Shortcut,
        Target::Split => Topic::SplitShortcut,
    };
    let skipped = r.skipped.iter().map(|s| Finding {
        severity: Severity::Ok,
        topic: topic(s.target),
        headline: format!("not checked: {}", s.reason),
        meaning: String::new(),
        fix: String::new(),
    });
    r.tests
        .iter()
        .map(|t| {
            let flagged = t.severity != Severity::Ok;
            let mut headline = report::headline(t);
            if flagged {
                let lines: Vec<&str> = t.profiles.iter().map(|p| p.summary.as_str()).collect();
                let _ = write!(headline, " ({})", lines.join("; "));
            }
            Finding {
                severity: t.severity,
                topic: topic(t.target),
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
            Topic::Sources,
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
                Topic::Sources,
                w.message,
                "a network can learn the source (camera, background, resolution, JPEG quality) instead of the class, and then fails on images from elsewhere",
                "add images of this class from the other sources, or take fewer from the dominant one; split with --stratify class,source".into(),
            )
        })
        .collect()
}
