//! `leaks`' summary: the radius, the search, and what the pairs and groups mean for training.

use std::fmt::Write;

use super::{name, pct};

/// The part of the leak report that explains what the figures mean for training.
pub fn summary(records: &[crate::index::Record], l: &crate::leaks::Leaks, worst: usize) -> String {
    let s = &l.summary;
    let mut out = String::new();
    let _ = writeln!(out, "radius  {}", s.radius_reason);
    let _ = writeln!(
        out,
        "search  256-bit hash, geometric {}, centre crops {}; {} of {} images hashed{}",
        name(&s.geometric),
        if s.crop { "on" } else { "off" },
        s.hashed,
        s.images,
        if s.near_constant.is_empty() {
            String::new()
        } else {
            format!(" ({} near-constant left out)", s.near_constant.len())
        }
    );
    if let (Some(g), Some(recall)) = (s.search.guaranteed_bits, &s.search.estimated_recall) {
        let at = |d: u32| recall.get(&d).map_or(String::from("?"), |r| pct(*r));
        let _ = writeln!(
            out,
            "sampled {}: every pair within {g} bits found; farther ones estimated {} at 24 bits, {} at 32, {} at 36, {} at the radius ({} tables of {} bits: {}; --search exact finds them all, in time growing with the square of the images)",
            s.search.reason,
            at(24),
            at(32),
            at(36),
            at(s.radius),
            s.search.tables.unwrap_or(0),
            s.search.key_bits.unwrap_or(0),
            s.search.effort.as_deref().unwrap_or("default"),
        );
    }
    let _ = writeln!(
        out,
        "pairs   {} ({} exact, {} near) in {} groups: {} cross-split, {} within one split, {} with a label conflict",
        s.pairs,
        s.exact_pairs,
        s.near_pairs,
        s.groups,
        s.cross_split_groups,
        s.within_split_groups,
        s.label_conflict_groups
    );
    let multi_split = s.splits.len() > 1;
    if multi_split {
        out.push('\n');
        for sp in &s.splits {
            let others: Vec<String> = sp.leaked_into.keys().cloned().collect();
            let _ = writeln!(
                out,
                "  {}: {} of {} {} images ({}) have a duplicate in {}",
                sp.split,
                sp.leaked,
                sp.images,
                sp.split,
                pct(sp.share),
                if others.is_empty() {
                    "another split".to_string()
                } else {
                    others.join(", ")
                }
            );
            for c in sp.classes.iter().filter(|c| c.leaked > 0) {
                let _ = writeln!(
                    out,
                    "      {:<20} {} of {} ({})",
                    if c.class.is_empty() {
                        "(no class)"
                    } else {
                        &c.class
                    },
                    c.leaked,
                    c.images,
                    pct(c.share)
                );
            }
        }
    }
    out.push('\n');
    if s.cross_split_groups > 0 {
        let _ = writeln!(
            out,
            "What it means: the same photos (re-encoded, resized or flipped) sit in more than one split, so the \
             model is validated partly on images it trained on. That is consistent with validation accuracy that \
             starts above training accuracy and then stalls. Fix: `cleansplit split ROOT OUT` writes splits with \
             every duplicate group inside one split."
        );
    } else if multi_split {
        let _ = writeln!(
            out,
            "No duplicates across splits: validation images are not copies of training images."
        );
    }
    if s.label_conflict_groups > 0 {
        let _ = writeln!(
            out,
            "{} group(s) hold one image under more than one class: the model is taught two answers for the same \
             picture. Decide the right label; `cleansplit split --conflicts drop|majority` leaves them out or \
             keeps the majority label.",
            s.label_conflict_groups
        );
    }
    if s.within_split_groups > 0 {
        let _ = writeln!(
            out,
            "{} group(s) of duplicates within one split ({} redundant copies) over-weight those photos; \
             `cleansplit split` keeps one copy of each.",
            s.within_split_groups, s.redundant_within_split
        );
    }
    if !l.groups.is_empty() && worst > 0 {
        let mut order: Vec<&crate::near::groups::Group> = l.groups.iter().collect();
        order.sort_by_key(|g| {
            (
                std::cmp::Reverse(g.cross_split()),
                std::cmp::Reverse(g.label_conflict()),
                std::cmp::Reverse(g.members.len()),
                g.id,
            )
        });
        let _ = writeln!(out, "\nworst groups:");
        let _ = writeln!(
            out,
            "  {:>5} {:>4}  {:<28} members (* = representative)",
            "group", "size", "kind"
        );
        for g in order.into_iter().take(worst) {
            let mut kind = vec![if g.cross_split() {
                "cross-split"
            } else {
                "within-split"
            }];
            if g.label_conflict() {
                kind.push("label conflict");
            }
            let members: Vec<String> = g
                .members
                .iter()
                .map(|&m| {
                    format!(
                        "{}{}",
                        if m == g.representative { "*" } else { "" },
                        records[m].path.display()
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "  {:>5} {:>4}  {:<28} {}",
                g.id,
                g.members.len(),
                kind.join(", "),
                members.join("  ")
            );
        }
        if l.groups.len() > worst {
            let _ = writeln!(
                out,
                "  ... {} more groups (--out DIR writes them all)",
                l.groups.len() - worst
            );
        }
    }
    out
}

/// What `leaks` prints: the [`summary`] of its `worst` groups, and where the files went.
pub fn render(
    o: &crate::leaks::LeaksOutcome,
    worst: usize,
    out: Option<&std::path::Path>,
) -> String {
    let mut text = summary(&o.scan.records, &o.leaks, worst);
    if let Some(dir) = out {
        let _ = writeln!(
            text,
            "\nwrote {}/{{pairs.csv, groups.csv, summary.json}}",
            dir.display()
        );
    }
    text
}
