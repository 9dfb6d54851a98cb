//! The audit's verdict as text: problems first, then warnings, then what was checked.

use std::fmt::Write;

/// The audit verdict: one block per finding, problems first.
pub fn verdict(findings: &[crate::audit::Finding]) -> String {
    use crate::base::severity::Severity;
    let mut out = String::new();
    let mut sorted: Vec<&crate::audit::Finding> = findings.iter().collect();
    // What decides whether anything else applies leads: no usable images, no classes.
    let leads = |f: &crate::audit::Finding| {
        matches!(
            f.topic.as_str(),
            "no images" | "no usable images" | "no classes"
        )
    };
    sorted.sort_by_key(|f| (!leads(f), std::cmp::Reverse(f.severity)));
    let bad = findings
        .iter()
        .filter(|f| f.severity == Severity::Problem)
        .count();
    let warn = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let _ = writeln!(
        out,
        "verdict: {}\n",
        match (bad, warn) {
            (0, 0) => "clean".to_string(),
            (0, w) => format!("{w} warning(s), no problems"),
            (p, w) => format!("{p} problem(s), {w} warning(s)"),
        }
    );
    for f in sorted {
        let tag = match f.severity {
            Severity::Problem => "PROBLEM",
            Severity::Warning => "warning",
            Severity::Ok => "ok",
        };
        let _ = writeln!(out, "  {tag:<8} {}: {}", f.topic, f.headline);
        if f.severity != Severity::Ok {
            if !f.meaning.is_empty() {
                let _ = writeln!(out, "           means: {}", f.meaning);
            }
            if !f.fix.is_empty() {
                let _ = writeln!(out, "           fix:   {}", f.fix);
            }
        }
    }
    out
}
