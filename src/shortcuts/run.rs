//! [`run`]: the `shortcuts` command as one library call.

use std::path::PathBuf;

use anyhow::Result;

use super::{ShortcutReport, check};
use crate::base::notify::Notify;
use crate::scan::{self, ScanOptions, ScanOutcome};

/// What `shortcuts` is asked to do.
#[derive(Debug, Clone)]
pub struct ShortcutsJob {
    /// The dataset (ROOT).
    pub root: PathBuf,
    pub scan: ScanOptions,
    /// Split whose classes are tested (`--split`; default: the one named like train, else the
    /// largest).
    pub split: Option<String>,
}

/// What `shortcuts` found: the scan and the tests.
#[derive(Debug)]
pub struct ShortcutsOutcome {
    pub scan: ScanOutcome,
    pub report: ShortcutReport,
}

/// Scans ROOT and tests whether file metadata predicts the class or the split. (It sends no
/// notices yet; `notify` keeps the entry points alike.)
pub fn run(job: &ShortcutsJob, _notify: Notify) -> Result<ShortcutsOutcome> {
    let scan = scan::run(&job.root, &job.scan)?;
    let report = check(&scan.records, job.split.as_deref())?;
    Ok(ShortcutsOutcome { scan, report })
}
