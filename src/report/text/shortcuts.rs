//! `shortcuts`' text: per test its verdict, figures, first rule and per-group profiles.

use std::fmt::Write;

use crate::base::severity::Severity;
use crate::shortcuts::report::{fix, headline, meaning, pct, share};
use crate::shortcuts::{ShortcutReport, Target};

/// What `cleansplit shortcuts` prints for the dataset at `root`.
pub fn render(r: &ShortcutReport, root: &str) -> String {
    let mut out = String::new();
    for t in &r.tests {
        let label = match t.severity {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Problem => "PROBLEM",
        };
        let _ = writeln!(out, "{label}: {}", headline(t));
        let _ = writeln!(
            out,
            "  accuracy {:.3}, baseline {:.3}, lift {:.3} (share of the baseline's errors removed)",
            t.accuracy, t.baseline, t.lift
        );
        if let Some(rule) = &t.first_rule {
            let carriers: Vec<String> = t
                .carriers
                .iter()
                .map(|c| format!("{} {}", c.feature, pct(c.importance)))
                .collect();
            let _ = writeln!(
                out,
                "  first rule: {rule}; features: {}",
                carriers.join(", ")
            );
        }
        for p in &t.profiles {
            let _ = writeln!(out, "  {}", p.summary);
        }
        let _ = writeln!(
            out,
            "  {:<16} {:>7}  {:<11} {:<22} {:<24} {:<10} {:>8}",
            "group", "images", "format", "colour", "size", "quality", "bytes/px"
        );
        for p in &t.profiles {
            let q = p.jpeg_quality.as_ref().map(share).unwrap_or("-".into());
            let _ = writeln!(
                out,
                "  {:<16} {:>7}  {:<11} {:<22} {:<24} {:<10} {:>8.3}",
                p.group,
                p.images,
                share(&p.format),
                share(&p.colour),
                share(&p.size),
                q,
                p.median_bytes_per_pixel
            );
        }
        if t.severity != Severity::Ok {
            let _ = writeln!(out, "  meaning: {}", meaning(t.target));
            let _ = writeln!(out, "  fix: {}", fix(root));
        }
    }
    for s in &r.skipped {
        let what = match s.target {
            Target::Class => "class",
            Target::Split => "split",
        };
        let _ = writeln!(out, "skipped: {what} test ({})", s.reason);
    }
    out
}
