//! `split`'s summary: what went where, and what was dropped or kept apart.

use std::fmt::Write;

use super::counts_line;

/// Target against achieved counts per split and class, and what was dropped.
pub fn summary(r: &crate::split::SplitReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} sources: {} placed, {} dropped; {} units (largest {}), seed {}, mode {}",
        r.sources,
        r.copied,
        r.dropped,
        r.units,
        r.largest_unit,
        r.seed,
        r.mode.as_str()
    );
    if !r.dropped_by_reason.is_empty() {
        let _ = writeln!(
            out,
            "dropped: {}",
            counts_line(r.dropped_by_reason.iter().map(|(k, v)| (k, *v)))
        );
    }
    let _ = writeln!(
        out,
        "\n  {:<10} {:<24} {:>9} {:>9} {:>8} {:>8}",
        "split", "class", "target", "achieved", "t.share", "share"
    );
    for s in &r.splits {
        for c in &s.classes {
            let _ = writeln!(
                out,
                "  {:<10} {:<24} {:>9.1} {:>9} {:>7.1}% {:>7.1}%",
                s.split,
                c.class,
                c.target,
                c.achieved,
                100.0 * c.target_share,
                100.0 * c.achieved_share
            );
        }
    }
    out
}

/// What `split` prints (as text) when OUT is written: the folds written with `--kfold`, else
/// the [`summary`].
pub fn render(o: &crate::split::SplitOutcome, out: &std::path::Path) -> String {
    let r = &o.report;
    let Some(k) = o.kfold else {
        return summary(r);
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "wrote {k} stratified group folds of {} images to {}",
        r.copied - r.unlabeled_kept,
        out.join("folds.csv").display()
    );
    if r.unlabeled_kept > 0 {
        let _ = writeln!(
            text,
            "{} images without a class are listed with fold `{}` (--keep-unlabeled): in no fold",
            r.unlabeled_kept,
            crate::split::UNLABELED_FOLD
        );
    }
    text
}
