//! `scan --format json`: what the scan found, every skipped entry by path and reason, and
//! what the chosen loader makes of the indexed files.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::layout::SkippedEntry;
use crate::loader::{Loader, Verdict};
use crate::scan::ScanOutcome;

/// What the loader makes of the indexed files.
#[derive(Debug, Clone, Serialize)]
pub struct LoaderView {
    pub loader: &'static str,
    pub rule: &'static str,
    /// Indexed files it loads.
    pub loads: usize,
    /// Indexed files it never lists (extension not on its allow-list).
    pub ignored: usize,
    /// Indexed files it lists and then fails on (training stops).
    pub fails: usize,
    /// Every file it does not load, with the reason, in path order.
    pub not_loaded: Vec<NotLoaded>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotLoaded {
    pub path: String,
    pub reason: String,
}

/// The whole `scan --format json` report.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub root: String,
    pub layout: String,
    pub splits: Vec<String>,
    pub classes: Vec<String>,
    /// Images without a class (flag `unlabeled`).
    pub unlabeled: usize,
    pub files_seen: usize,
    pub indexed: usize,
    pub status: BTreeMap<String, usize>,
    pub formats: BTreeMap<String, usize>,
    pub flags: BTreeMap<String, usize>,
    pub skipped_counts: BTreeMap<String, usize>,
    /// Every skipped entry, by path and reason.
    pub skipped: Vec<SkippedEntry>,
    pub loader: LoaderView,
    pub index: String,
    pub reused: usize,
    pub dropped: usize,
    pub seconds: f64,
    /// Files a decoding library panicked on (status `corrupt`, message starting with
    /// `scan::guard::PANIC_MESSAGE`): a bug in that library, to report.
    pub decoder_panics: Vec<String>,
}

/// Builds the report of a scan as `loader` sees it.
pub fn report(o: &ScanOutcome, loader: Loader) -> ScanReport {
    let mut formats = BTreeMap::new();
    let mut flags = BTreeMap::new();
    let mut view = LoaderView {
        loader: loader.as_str(),
        rule: loader.describe(),
        loads: 0,
        ignored: 0,
        fails: 0,
        not_loaded: Vec::new(),
    };
    for r in &o.records {
        *formats
            .entry(crate::index::format_name(r.format).to_string())
            .or_default() += 1;
        for f in r.flags.iter() {
            *flags.entry(f.as_str().to_string()).or_default() += 1;
        }
        match loader.verdict(r) {
            Verdict::Loads => view.loads += 1,
            Verdict::Ignored => view.ignored += 1,
            Verdict::Fails(_) => view.fails += 1,
        }
        if let Some(reason) = loader.exclusion(r) {
            view.not_loaded.push(NotLoaded {
                path: r.path.to_string_lossy().into_owned(),
                reason,
            });
        }
    }
    ScanReport {
        root: o.root.to_string_lossy().into_owned(),
        layout: o.layout.kind.to_string(),
        splits: o.layout.splits.clone(),
        classes: o.classes().into_iter().map(String::from).collect(),
        unlabeled: o.unlabeled(),
        files_seen: o.files_seen(),
        indexed: o.records.len(),
        status: o
            .status_counts()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_string(), v))
            .collect(),
        formats,
        flags,
        skipped_counts: o
            .layout
            .skip_counts()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_string(), v))
            .collect(),
        skipped: o.layout.skipped.iter().map(SkippedEntry::of).collect(),
        loader: view,
        index: o.index_path.to_string_lossy().into_owned(),
        reused: o.reused,
        dropped: o.dropped,
        seconds: (o.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        decoder_panics: o
            .records
            .iter()
            .filter(|r| crate::scan::guard::is_decoder_panic(&r.message))
            .map(|r| r.path.display().to_string())
            .collect(),
    }
}
