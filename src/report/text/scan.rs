//! `scan`'s summary: what was found, what the loader reads, the first problem files.

use std::collections::BTreeMap;
use std::fmt::Write;

use rayon::prelude::*;

use super::counts_line;
use crate::base::flags::Status;
use crate::index::Record;
use crate::scan::ScanOutcome;

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
    /// Files a decoding library panicked on (`scan::guard`), and the first of them.
    decoder_panics: usize,
    first_panics: Vec<usize>,
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
                    if crate::scan::guard::is_decoder_panic(&r.message) {
                        t.decoder_panics += 1;
                        if t.first_panics.len() < SHOWN_PROBLEMS {
                            t.first_panics.push(i);
                        }
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
                a.decoder_panics += b.decoder_panics;
                a.first_panics.extend(b.first_panics);
                a.first_panics.truncate(SHOWN_PROBLEMS);
                a.ignored += b.ignored;
                a.fails += b.fails;
                a.coverage = a.coverage.plus(b.coverage);
                a
            })
    }
}

/// The summary `cleansplit scan` prints: layout, counts by split and class, statuses, skips,
/// formats, flags, reuse, timing. Every count adds up to the files seen.
pub fn summary(o: &ScanOutcome) -> String {
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
    if tally.decoder_panics > 0 {
        let _ = writeln!(
            s,
            "\ndecoder panics ({}): a decoding library crashed on these files (counted as corrupt; please report them):",
            tally.decoder_panics
        );
        for &i in &tally.first_panics {
            let _ = writeln!(s, "  {}", o.records[i].path.display());
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
