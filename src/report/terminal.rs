//! Plain-text summaries printed on the terminal.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::index::{Flag, Status};
use crate::scan::ScanOutcome;

/// Counts as `a 3, b 1` in key order.
pub fn counts_line<K: std::fmt::Display>(counts: impl IntoIterator<Item = (K, usize)>) -> String {
    counts
        .into_iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary `cleansplit scan` prints: layout, counts by split and class, statuses, skips,
/// formats, flags, reuse, timing. Every count adds up to the files seen.
pub fn scan_summary(o: &ScanOutcome) -> String {
    let mut s = String::new();
    let classes = o.layout.classes();
    let _ = writeln!(s, "ROOT    {}", o.root.display());
    let _ = writeln!(
        s,
        "layout  {} ({} split{}, {} class{})",
        o.layout.kind,
        o.layout.splits.len(),
        if o.layout.splits.len() == 1 { "" } else { "s" },
        classes.len(),
        if classes.len() == 1 { "" } else { "es" }
    );
    let mut table: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &o.records {
        *table
            .entry((r.split.as_str(), r.class.as_str()))
            .or_default() += 1;
    }
    if !table.is_empty() {
        let _ = writeln!(s, "\n  {:<14} {:<24} {:>7}", "split", "class", "images");
        for ((split, class), n) in &table {
            let split = if split.is_empty() { "-" } else { split };
            let _ = writeln!(s, "  {split:<14} {class:<24} {n:>7}");
        }
        s.push('\n');
    }
    let statuses = o.status_counts();
    let _ = writeln!(
        s,
        "files   {} seen = {} images indexed + {} skipped",
        o.files_seen(),
        o.records.len(),
        o.layout.skipped.len()
    );
    let _ = writeln!(
        s,
        "status  {}",
        counts_line(statuses.iter().map(|(k, v)| (k, *v)))
    );
    let skips = o.layout.skip_counts();
    if !skips.is_empty() {
        let _ = writeln!(
            s,
            "skipped {}",
            counts_line(skips.iter().map(|(k, v)| (k.as_str(), *v)))
        );
    }
    let mut formats: BTreeMap<&str, usize> = BTreeMap::new();
    let mut flags: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &o.records {
        *formats.entry(r.format.as_str()).or_default() += 1;
        for f in r.flags.iter() {
            *flags.entry(f.as_str()).or_default() += 1;
        }
    }
    let _ = writeln!(s, "formats {}", counts_line(formats));
    if !flags.is_empty() {
        let _ = writeln!(s, "flags   {}", counts_line(flags));
    }
    let problems: Vec<_> = o
        .records
        .iter()
        .filter(|r| r.status != Status::Ok)
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(s, "\nproblem files ({}):", problems.len());
        for r in problems.iter().take(10) {
            let _ = writeln!(
                s,
                "  {:<11} {}  {}",
                r.status.as_str(),
                r.path.display(),
                r.message
            );
        }
        if problems.len() > 10 {
            let _ = writeln!(s, "  ... and {} more (see the index)", problems.len() - 10);
        }
    }
    let keras_skips = o
        .records
        .iter()
        .filter(|r| r.flags.contains(Flag::KerasSkips))
        .count();
    if keras_skips > 0 {
        let _ = writeln!(
            s,
            "note    {keras_skips} files are skipped or rejected by Keras' directory loaders (bmp, gif, jpeg, png only)"
        );
    }
    s.push('\n');
    if let Some(note) = &o.index_note {
        let _ = writeln!(s, "note    {note}");
    }
    let scanned = o.records.len() - o.reused;
    let secs = o.elapsed.as_secs_f64();
    let _ = writeln!(
        s,
        "reuse   {} of {} records reused from the index, {} read now, {} dropped (files gone)",
        o.reused,
        o.records.len(),
        scanned,
        o.dropped
    );
    let _ = writeln!(s, "index   {}", o.index_path.display());
    let _ = writeln!(
        s,
        "time    {:.2} s, {:.0} images/s",
        secs,
        if secs > 0.0 {
            o.records.len() as f64 / secs
        } else {
            0.0
        }
    );
    s
}

fn pct(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

/// The part of the leak report that explains what the figures mean for training.
pub fn leak_summary(records: &[crate::index::Record], l: &crate::leaks::Leaks, worst: usize) -> String {
    let s = &l.summary;
    let mut out = String::new();
    let _ = writeln!(out, "radius  {}", s.radius_reason);
    let _ = writeln!(
        out,
        "search  pHash, geometric {:?}, centre crops {}; {} of {} images hashed{}",
        s.geometric,
        if s.crop { "on" } else { "off" },
        s.hashed,
        s.images,
        if s.near_constant.is_empty() {
            String::new()
        } else {
            format!(" ({} near-constant left out)", s.near_constant.len())
        }
    );
    let _ = writeln!(
        out,
        "pairs   {} ({} exact, {} near) in {} groups: {} cross-split, {} within one split, {} with a label conflict",
        s.pairs, s.exact_pairs, s.near_pairs, s.groups, s.cross_split_groups, s.within_split_groups, s.label_conflict_groups
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
                if others.is_empty() { "another split".to_string() } else { others.join(", ") }
            );
            for c in sp.classes.iter().filter(|c| c.leaked > 0) {
                let _ = writeln!(out, "      {:<20} {} of {} ({})", c.class, c.leaked, c.images, pct(c.share));
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
        let _ = writeln!(out, "No duplicates across splits: validation images are not copies of training images.");
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
        let mut order: Vec<&crate::groups::Group> = l.groups.iter().collect();
        order.sort_by_key(|g| {
            (std::cmp::Reverse(g.cross_split()), std::cmp::Reverse(g.label_conflict()), std::cmp::Reverse(g.members.len()), g.id)
        });
        let _ = writeln!(out, "\nworst groups:");
        let _ = writeln!(out, "  {:>5} {:>4}  {:<28} members (* = representative)", "group", "size", "kind");
        for g in order.into_iter().take(worst) {
            let mut kind = vec![if g.cross_split() { "cross-split" } else { "within-split" }];
            if g.label_conflict() {
                kind.push("label conflict");
            }
            let members: Vec<String> = g
                .members
                .iter()
                .map(|&m| format!("{}{}", if m == g.representative { "*" } else { "" }, records[m].path.display()))
                .collect();
            let _ = writeln!(out, "  {:>5} {:>4}  {:<28} {}", g.id, g.members.len(), kind.join(", "), members.join("  "));
        }
        if l.groups.len() > worst {
            let _ = writeln!(out, "  ... {} more groups (--out DIR writes them all)", l.groups.len() - worst);
        }
    }
    out
}
