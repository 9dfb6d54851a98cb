//! [`run`]: the `balance` command as one library call.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{BalanceOptions, BalanceReport, analyze_scan};
use crate::base::notify::{Notice, Notify};
use crate::leaks::{self, LeakOptions, Leaks};
use crate::near::groups;
use crate::output::{check_output, write_json};
use crate::scan::{self, ScanOptions, ScanOutcome};

/// What `balance` is asked to do.
#[derive(Debug, Clone)]
pub struct BalanceJob {
    /// The dataset (ROOT).
    pub root: PathBuf,
    pub scan: ScanOptions,
    pub balance: BalanceOptions,
    /// Count each duplicate group once per split and class (`--dedup`; the groups come from
    /// the leak detector, run with `leak`).
    pub dedup: bool,
    pub leak: LeakOptions,
    /// Where the class weights are written (`--out`).
    pub out: PathBuf,
    /// Write only the `{"0": w0, ...}` mapping (`--keras-dict`).
    pub keras_dict: bool,
}

/// What `balance` found: the scan and the report (its weights written to `out`).
#[derive(Debug)]
pub struct BalanceOutcome {
    pub scan: ScanOutcome,
    pub report: BalanceReport,
}

/// Scans ROOT, counts classes per split, and writes the class weights to `job.out`. Every
/// option and `out` are checked before anything is scanned.
pub fn run(job: &BalanceJob, notify: Notify) -> Result<BalanceOutcome> {
    job.scan.validate()?;
    job.balance.validate()?;
    job.leak.validate()?;
    check_output(&job.root, &job.out, "--out")?;
    let scan = scan::run(&job.root, &job.scan)?;
    if let Some(w) = scan.unusable_warning() {
        notify(Notice::Warning(w));
    }
    let leaks = if job.dedup {
        Some(leaks::analyze(&scan.records, &job.leak)?)
    } else {
        None
    };
    let report = analyze_deduplicated(&scan, leaks.as_ref(), &job.balance)?;
    if job.keras_dict {
        write_json(&job.out, &report.weights.class_weight)?;
    } else {
        write_json(&job.out, &report.weights)?;
    }
    Ok(BalanceOutcome { scan, report })
}

/// [`analyze_scan`], each duplicate group of `leaks` counted once per split and class when
/// given (`--dedup`).
pub fn analyze_deduplicated(
    scan: &ScanOutcome,
    leaks: Option<&Leaks>,
    opts: &BalanceOptions,
) -> Result<BalanceReport> {
    let membership = leaks.map(|l| groups::membership(scan.records.len(), &l.groups));
    analyze_scan(scan, membership.as_deref(), opts)
}

/// The class index order of `--class-order FILE`: one class name per line, blank lines
/// skipped.
pub fn read_class_order(path: &Path) -> Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --class-order {}", path.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}
