//! Plain-text summaries printed on the terminal.

use std::collections::BTreeMap;
use std::fmt::Write;

use rayon::prelude::*;

use crate::base::flags::Status;
use crate::index::Record;
use crate::scan::ScanOutcome;

/// Counts as `a 3, b 1` in key order.
pub fn counts_line<K: std::fmt::Display>(counts: impl IntoIterator<Item = (K, usize)>) -> String {
    counts
        .into_iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Problem files the scan summary names (the index has them all).
const SHOWN_PROBLEMS: usize = 10;

/// What the scan summary counts per record, in one parallel pass: at a million records each
/// pass over them is ~40 ms (they are read from memory), so six passes were 0.2 s of a 2.5 s
/// rescan.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<Status, usize>,
    /// A handful of formats: counted in a short list, named once.
    formats: Vec<(Option<crate::base::format::Format>, usize)>,
    flags: BTreeMap<&'static str, usize>,
    /// Records whose status is not `ok`, and the first [`SHOWN_PROBLEMS`] of them.
    problems: usize,
    first_problems: Vec<usize>,
    /// Files the loader does not list, and files it lists but cannot decode.
    ignored: usize,
    fails: usize,
    coverage: crate::loader::coverage::Coverage,
}

impl Tally {
    fn of(records: &[Record], loader: crate::loader::Loader) -> Self {
        records
            .par_iter()
            .enumerate()
            .with_min_len(4096)
            .fold(Tally::default, |mut t, (i, r)| {
                match t.formats.iter_mut().find(|(f, _)| *f == r.format) {
                    Some((_, n)) => *n += 1,
                    None => t.formats.push((r.format, 1)),
                }
                for f in r.flags.iter() {
                    *t.flags.entry(f.as_str()).or_default() += 1;
                }
                *t.statuses.entry(r.status).or_default() += 1;
                if r.status != Status::Ok {
                    t.problems += 1;
                    if t.first_problems.len() < SHOWN_PROBLEMS {
                        t.first_problems.push(i);
                    }
                }
                match loader.verdict(r) {
                    crate::loader::Verdict::Loads => {}
                    crate::loader::Verdict::Ignored => t.ignored += 1,
                    crate::loader::Verdict::Fails(_) => t.fails += 1,
                }
                t.coverage = t
                    .coverage
                    .plus(crate::loader::coverage::Coverage::one(r, loader));
                t
            })
            // `reduce` keeps the order of the parts: `a` comes before `b`.
            .reduce(Tally::default, |mut a, b| {
                for (f, n) in b.formats {
                    match a.formats.iter_mut().find(|(g, _)| *g == f) {
                        Some((_, m)) => *m += n,
                        None => a.formats.push((f, n)),
                    }
                }
                for (f, n) in b.flags {
                    *a.flags.entry(f).or_default() += n;
                }
                for (k, n) in b.statuses {
                    *a.statuses.entry(k).or_default() += n;
                }
                a.problems += b.problems;
                a.first_problems.extend(b.first_problems);
                a.first_problems.truncate(SHOWN_PROBLEMS);
                a.ignored += b.ignored;
                a.fails += b.fails;
                a.coverage = a.coverage.plus(b.coverage);
                a
            })
    }
}

/// The summary `cleansplit scan` prints: layout, counts by split and class, statuses, skips,
/// formats, flags, reuse, timing. Every count adds up to the files seen.
pub fn scan_summary(o: &ScanOutcome) -> String {
    let mut s = String::new();
    // Records come in path order, so split and class change in runs: one map update per run
    // (a pointer comparison per record), not a map search per record.
    let mut table: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for run in o
        .records
        .chunk_by(|a, b| a.split == b.split && a.class == b.class)
    {
        *table
            .entry((run[0].split.as_str(), run[0].class.as_str()))
            .or_default() += run.len();
    }
    // The classes, from the table (the empty class of unlabeled files is not a class).
    let classes: std::collections::BTreeSet<&str> = table
        .keys()
        .map(|&(_, class)| class)
        .filter(|c| !c.is_empty())
        .collect();
    let _ = writeln!(s, "ROOT    {}", o.root.display());
    let _ = writeln!(
        s,
        "layout  {} ({} split{}, {})",
        o.layout.kind,
        o.layout.splits.len(),
        if o.layout.splits.len() == 1 { "" } else { "s" },
        match classes.len() {
            0 if !o.layout.kind.has_classes() => "no class folders".to_string(),
            1 => "1 class".to_string(),
            n => format!("{n} classes"),
        }
    );
    if !table.is_empty() {
        let _ = writeln!(s, "\n  {:<14} {:<24} {:>7}", "split", "class", "images");
        for ((split, class), n) in &table {
            let split = if split.is_empty() { "-" } else { split };
            let class = if class.is_empty() {
                "(no class)"
            } else {
                class
            };
            let _ = writeln!(s, "  {split:<14} {class:<24} {n:>7}");
        }
        s.push('\n');
    }
    let tally = Tally::of(&o.records, o.loader);
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
        counts_line(tally.statuses.iter().map(|(k, v)| (k, *v)))
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
    for (f, n) in tally.formats {
        *formats.entry(crate::index::format_name(f)).or_default() += n;
    }
    let _ = writeln!(s, "formats {}", counts_line(formats));
    if !tally.flags.is_empty() {
        let _ = writeln!(s, "flags   {}", counts_line(tally.flags));
    }
    if tally.problems > 0 {
        let _ = writeln!(s, "\nproblem files ({}):", tally.problems);
        for &i in &tally.first_problems {
            let r = &o.records[i];
            let _ = writeln!(
                s,
                "  {:<11} {}  {}",
                r.status.as_str(),
                r.path.display(),
                r.message
            );
        }
        if tally.problems > SHOWN_PROBLEMS {
            let _ = writeln!(
                s,
                "  ... and {} more (see the index)",
                tally.problems - SHOWN_PROBLEMS
            );
        }
    }
    let (ignored, fails) = (tally.ignored, tally.fails);
    if ignored + fails > 0 {
        let _ = writeln!(
            s,
            "note    {} files are not loaded by the {} loader: {ignored} not listed (extension), {fails} listed but not decodable (training stops on them); `--format json` lists them",
            ignored + fails,
            o.loader
        );
    }
    let coverage = tally.coverage;
    let unlabeled = coverage.unlabeled;
    if unlabeled > 0 {
        let _ = writeln!(
            s,
            "note    {unlabeled} images have no class ({}): leaks and duplicates are checked; class balance and a stratified split need classes: {}",
            if o.layout.kind.has_classes() {
                "no row in --labels, or a split folder without class folders"
            } else {
                "no class folders"
            },
            crate::loader::coverage::HOW_TO_LABEL
        );
    }
    if let Some(w) = coverage.no_usable_warning(o.loader) {
        let _ = writeln!(s, "warning {w}");
    }
    let _ = writeln!(
        s,
        "loader  {} of {} images loaded by {}",
        coverage.usable,
        o.records.len(),
        o.loader.describe()
    );
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

/// The name an option value has on the command line and in JSON (`flip`, `balanced`), never
/// its Rust Debug name.
pub fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn pct(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

/// The part of the leak report that explains what the figures mean for training.
pub fn leak_summary(
    records: &[crate::index::Record],
    l: &crate::leaks::Leaks,
    worst: usize,
) -> String {
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
            "sampled {}: every pair within {g} bits found; farther ones estimated {} at 24 bits, {} at 32, {} at the radius ({} tables of {} bits; --search exact finds them all, in time growing with the square of the images)",
            s.search.reason,
            at(24),
            at(32),
            at(s.radius),
            s.search.tables.unwrap_or(0),
            s.search.key_bits.unwrap_or(0),
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

/// The balance report in plain words.
pub fn balance_summary(b: &crate::balance::BalanceReport) -> String {
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

/// Target against achieved counts per split and class, and what was dropped.
pub fn split_summary(r: &crate::split::SplitReport) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::Loader;

    #[test]
    fn the_tally_names_the_first_problems_in_order_whatever_the_parts() {
        // Enough records for several parallel parts (at least 4096 each).
        let mut records: Vec<Record> = (0..40_000)
            .map(|i| {
                let mut r = Record::new(format!("train/c/{i:05}.jpg"));
                r.status = Status::Ok;
                r.format = Some(crate::base::format::Format::Jpeg);
                r
            })
            .collect();
        let problems: Vec<usize> = (0..40_000).step_by(2_999).collect();
        for &i in &problems {
            records[i].status = Status::Corrupt;
        }
        let t = Tally::of(&records, Loader::Keras);
        assert_eq!(t.problems, problems.len());
        assert_eq!(t.first_problems, problems[..SHOWN_PROBLEMS]);
        assert_eq!(t.statuses[&Status::Corrupt], problems.len());
        assert_eq!(t.statuses[&Status::Ok], 40_000 - problems.len());
        assert_eq!(
            t.formats,
            vec![(Some(crate::base::format::Format::Jpeg), 40_000)]
        );
        assert_eq!((t.ignored, t.fails), (0, problems.len()));
        assert_eq!(
            t.coverage,
            crate::loader::coverage::Coverage::of(&records, Loader::Keras)
        );
        assert_eq!(t.coverage.usable, 40_000 - problems.len());
    }
}
