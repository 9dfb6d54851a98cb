//! [`run`]: the `leaks` command as one library call.

use std::path::PathBuf;

use anyhow::Result;

use super::{LeakOptions, Leaks, analyze, tables};
use crate::base::notify::{Notice, Notify};
use crate::output::check_output;
use crate::scan::{self, ScanOptions, ScanOutcome};

/// What `leaks` is asked to do.
#[derive(Debug, Clone)]
pub struct LeaksJob {
    /// The dataset (ROOT).
    pub root: PathBuf,
    pub scan: ScanOptions,
    pub leak: LeakOptions,
    /// Write `pairs.csv`, `groups.csv` and `summary.json` into this folder (`--out`).
    pub out: Option<PathBuf>,
}

/// What `leaks` found: the scan, and the pairs, groups and summary (written to `out`).
#[derive(Debug)]
pub struct LeaksOutcome {
    pub scan: ScanOutcome,
    pub leaks: Leaks,
}

/// Scans ROOT, finds duplicate pairs and groups, and writes them into `job.out` when given.
/// Every option and `out` are checked before anything is scanned; a dataset the loader reads
/// no image of is a warning.
pub fn run(job: &LeaksJob, notify: Notify) -> Result<LeaksOutcome> {
    job.scan.validate()?;
    job.leak.validate()?;
    if let Some(dir) = &job.out {
        check_output(&job.root, dir, "--out")?;
    }
    let t = crate::base::timing::phase("scan");
    let scan = scan::run(&job.root, &job.scan)?;
    drop(t);
    if let Some(w) = scan.unusable_warning() {
        notify(Notice::Warning(w));
    }
    let leaks = analyze(&scan.records, &job.leak)?;
    if let Some(dir) = &job.out {
        let _t = crate::base::timing::phase("outputs");
        tables::write_outputs(dir, &scan.records, &leaks)?;
    }
    Ok(LeaksOutcome { scan, leaks })
}
