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

/// What `audit` prints after the [`verdict`]: the notes of checks that did not run, the source
/// table of a merged folder, the scan's figures and where the report went.
pub fn details(o: &crate::audit::AuditOutcome, out: Option<&std::path::Path>) -> String {
    let mut text = String::new();
    if let Some(note) = &o.balance_note {
        let _ = writeln!(text, "note: {note}");
    }
    if let Some(t) = &o.sources {
        let _ = write!(
            text,
            "\nclasses x sources (from the merge manifest):\n{}",
            super::merge::source_table(t)
        );
    }
    if let Some(note) = &o.sources_note {
        let _ = writeln!(text, "note: {note}");
    }
    let _ = writeln!(
        text,
        "\n{} images in {} split(s), {} skipped; scanned in {:.2} s ({} reused from the index)",
        o.scan.records.len(),
        o.scan.layout.splits.len().max(1),
        o.scan.layout.skipped.len(),
        o.scan.elapsed.as_secs_f64(),
        o.scan.reused
    );
    match out {
        Some(dir) => {
            let _ = writeln!(
                text,
                "report: open {} in a browser",
                dir.join("report.html").display()
            );
        }
        None => {
            let _ = writeln!(text, "{}", crate::audit::no_report_hint(&o.scan));
        }
    }
    text
}
