//! `merge`'s text: the summary (classes, near-matches, copies, conflicts, the source check)
//! and the classes x sources table `audit` prints too. Warnings are tagged `warning:` in
//! plain text (the CLI colours the tag).

use std::fmt::Write;

use crate::merge::MergeReport;
use crate::split::Conflicts;
use crate::split::sources::SourceTable;

/// The classes x sources table as text: one row per class, a count and a share per source.
pub fn source_table(t: &SourceTable) -> String {
    let mut out = String::new();
    let width = t
        .classes
        .iter()
        .map(|c| c.class.chars().count())
        .chain(["class".len(), "all".len()])
        .max()
        .unwrap_or(5);
    let cols: Vec<usize> = t.sources.iter().map(|s| s.len().max(11)).collect();
    let _ = write!(out, "  {:<width$}", "class");
    for (s, w) in t.sources.iter().zip(&cols) {
        let _ = write!(out, "  {s:>w$}");
    }
    let _ = writeln!(out, "  {:>6}", "total");
    let mut line = |name: &str, counts: &[usize], total: usize| {
        let _ = write!(out, "  {name:<width$}");
        for (&c, w) in counts.iter().zip(&cols) {
            let cell = format!("{c} ({:.0}%)", 100.0 * c as f64 / total.max(1) as f64);
            let _ = write!(out, "  {cell:>w$}");
        }
        let _ = writeln!(out, "  {total:>6}");
    };
    for row in &t.classes {
        line(&row.class, &row.counts, row.total);
    }
    line("all", &t.totals, t.totals.iter().sum());
    out
}

/// The merge summary: classes, near-matches, copies, conflicts, the source table and its
/// warnings.
pub fn summary(r: &MergeReport) -> String {
    let warn = "warning";
    let mut out = String::new();
    for s in &r.sources {
        let renamed: Vec<String> = s
            .classes
            .iter()
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{a:?} -> {b:?}"))
            .collect();
        if !renamed.is_empty() {
            let _ = writeln!(out, "renamed in {}: {}", s.name, renamed.join(", "));
        }
    }
    let _ = writeln!(out, "classes in OUT: {}", r.classes.join(", "));
    for w in &r.warnings {
        let _ = writeln!(out, "{warn}: {w}");
    }
    for m in &r.near_matches {
        let _ = writeln!(
            out,
            "{warn}: near-matching class names, kept apart: {} (same class? rename with --map FILE: source,old,new)",
            m.describe()
        );
    }
    let _ = writeln!(
        out,
        "copies across sources: {} group(s), {} file(s) dropped (one copy kept); within sources: {} group(s), {} dropped",
        r.copy_groups_across_sources,
        r.copies_dropped_across_sources,
        r.copy_groups_within_sources,
        r.copies_dropped_within_sources
    );
    if !r.label_conflicts.is_empty() {
        let _ = writeln!(
            out,
            "{warn}: {} label conflict(s) (one image under several classes), handled by --conflicts {}:",
            r.label_conflicts.len(),
            match r.conflicts {
                Conflicts::Drop => "drop",
                Conflicts::Majority => "majority",
                Conflicts::Error => "error",
            }
        );
        for c in r.label_conflicts.iter().take(10) {
            let _ = writeln!(
                out,
                "  group {}: {} ({})",
                c.group,
                c.classes.join(" vs "),
                c.members.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "placed {} of {} files; dropped {}{}",
        r.placed,
        r.files,
        r.dropped,
        if r.dropped_by_reason.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                r.dropped_by_reason
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    let _ = writeln!(out, "\nsource check (images placed, per class and source):");
    out.push_str(&source_table(&r.source_table));
    if r.source_warnings.is_empty() {
        let _ = writeln!(
            out,
            "no class comes mostly from one source; source mixes are similar across classes"
        );
    }
    for w in &r.source_warnings {
        let _ = writeln!(out, "{warn}: {}", w.message);
    }
    if !r.source_warnings.is_empty() {
        let _ = writeln!(
            out,
            "  means: a network can learn the source (camera, background, resolution, JPEG quality) instead of the class"
        );
        let _ = writeln!(
            out,
            "  fix:   add images of these classes from the other sources; split with --stratify class,source"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::sources::ClassRow;

    #[test]
    fn the_source_table_has_a_row_per_class_and_the_totals() {
        let row = |class: &str, counts: Vec<usize>| ClassRow {
            class: class.into(),
            total: counts.iter().sum(),
            counts,
            top_source: "a".into(),
            top_share: 0.5,
            mix_distance: 0.0,
        };
        let t = SourceTable {
            sources: vec!["a".into(), "b".into()],
            totals: vec![30, 10],
            classes: vec![row("cat", vec![20, 0]), row("dog", vec![10, 10])],
        };
        let text = source_table(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[1].starts_with("  cat ") && lines[1].contains("20 (100%)"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("  all ") && lines[3].ends_with("    40"),
            "{text}"
        );
    }
}
