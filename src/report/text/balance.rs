//! `balance`'s summary: counts, imbalance, drift and the class weights.

use std::fmt::Write;

use super::{counts_line, name};

/// The balance report in plain words.
pub fn summary(b: &crate::balance::BalanceReport) -> String {
    let mut out = String::new();
    for s in &b.splits {
        let name = if s.split.is_empty() {
            "all images"
        } else {
            s.split.as_str()
        };
        let ratio = match s.imbalance_ratio {
            Some(r) if r >= 10.0 => format!(
                "largest/smallest class = {r:.1}: severely imbalanced, use class weights or resampling"
            ),
            Some(r) if r >= 3.0 => {
                format!("largest/smallest class = {r:.1}: imbalanced, consider class weights")
            }
            Some(r) => format!("largest/smallest class = {r:.2}: roughly balanced"),
            None => "no usable images".into(),
        };
        let _ = writeln!(out, "{name}: {} images; {ratio}", s.images);
        for ((class, n), (_, share)) in s.counts.0.iter().zip(&s.shares.0) {
            let _ = writeln!(out, "  {class:<24} {n:>7}  {:>5.1}%", 100.0 * share);
        }
        if !s.below_min_count.is_empty() {
            let _ = writeln!(
                out,
                "  fewer than {} images: {} (too few to learn or to measure reliably)",
                b.min_count,
                s.below_min_count.join(", ")
            );
        }
        if !s.missing.is_empty() {
            let _ = writeln!(
                out,
                "  missing here: {} (no usable image of these classes)",
                s.missing.join(", ")
            );
        }
        if let Some(d) = &s.drift {
            let verdict = if d.p_value < 0.01 {
                "the class mix differs from training: accuracy here will not reflect training conditions"
            } else {
                "consistent with the same class mix as training"
            };
            let _ = writeln!(
                out,
                "  drift vs {}: largest share difference {:.1} points ({}), chi-square p = {:.3}: {verdict}",
                d.against,
                100.0 * d.max_share_diff,
                d.class,
                d.p_value
            );
        }
        out.push('\n');
    }
    if !b.excluded.is_empty() {
        let _ = writeln!(
            out,
            "left out of the counts: {}",
            counts_line(b.excluded.iter().map(|(k, v)| (k, *v)))
        );
    }
    let w = &b.weights;
    let _ = writeln!(
        out,
        "class weights ({}{}) for {}:",
        name(&w.method),
        if w.dedup { ", deduplicated" } else { "" },
        if w.split.is_empty() {
            "all images"
        } else {
            &w.split
        }
    );
    let _ = writeln!(
        out,
        "  {:>5}  {:<24} {:>7} {:>9}",
        "index", "class", "count", "weight"
    );
    for (i, ((class, n), (_, wt))) in w.counts.0.iter().zip(&w.class_weight.0).enumerate() {
        let _ = writeln!(out, "  {i:>5}  {class:<24} {n:>7} {wt:>9.4}");
    }
    if !b.zero_weight.is_empty() {
        let _ = writeln!(
            out,
            "warning: no usable image of {} in {}: weight 0 ({}); the other weights are over the {} classes present",
            b.zero_weight.join(", "),
            if w.split.is_empty() {
                "the dataset"
            } else {
                &w.split
            },
            b.loader.empty_class_note(),
            w.counts.0.len() - b.zero_weight.len()
        );
    }
    let _ = writeln!(
        out,
        "counted as the {} loader reads the files (--loader)",
        b.loader
    );
    out
}

/// What `balance` prints: the [`summary`], and where the weights went.
pub fn render(b: &crate::balance::BalanceReport, out: &std::path::Path) -> String {
    let mut text = summary(b);
    let _ = writeln!(text, "wrote {}", out.display());
    text
}
