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
