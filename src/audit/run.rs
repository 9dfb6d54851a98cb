//! [`run`]: the `audit` command as one library call: scan, leaks, balance, the source and
//! shortcut checks, and the verdict over all of them.

use std::path::PathBuf;

use anyhow::Result;

use super::{
    AuditReport, Finding, Kinds, shortcut_findings, source_check, source_findings, verdict,
};
use crate::balance::{BalanceOptions, BalanceReport, analyze_deduplicated};
use crate::base::notify::{Notice, Notify};
use crate::base::severity::Severity;
use crate::leaks::{self, LeakOptions, Leaks};
use crate::loader::coverage::Coverage;
use crate::output::atomic::Staged;
use crate::output::check_output;
use crate::scan::{self, ScanOptions, ScanOutcome};
use crate::shortcuts::{self, ShortcutReport};
use crate::split::sources::SourceTable;

/// What `audit` is asked to do.
#[derive(Debug, Clone)]
pub struct AuditJob {
    /// The dataset (ROOT).
    pub root: PathBuf,
    pub scan: ScanOptions,
    pub leak: LeakOptions,
    pub balance: BalanceOptions,
    /// Count each duplicate group once in the balance (`--dedup`).
    pub dedup: bool,
    /// Write `pairs.csv`, `groups.csv`, `summary.json`, `class_weights.json` and `audit.json`
    /// here (`--out`), and `report.html` when `page` is given; all appear together or none.
    pub out: Option<PathBuf>,
    /// Renders `report.html` from the outcome (`report::html::audit_page`): the report layer
    /// sits above the audit, so the caller hands it in.
    pub page: Option<fn(&AuditOutcome, u64) -> String>,
    /// Skipped entries listed in `audit.json` (and items per section of report.html).
    pub max_items: usize,
}

/// The audit: every check's result and the verdict over them.
#[derive(Debug)]
pub struct AuditOutcome {
    pub scan: ScanOutcome,
    pub leaks: Leaks,
    /// The balance, or why it was not checked (`balance_note`).
    pub balance: Option<BalanceReport>,
    pub balance_note: Option<String>,
    /// Classes x sources when ROOT was written by `merge`, or why the check was skipped.
    pub sources: Option<SourceTable>,
    pub sources_note: Option<String>,
    pub shortcuts: ShortcutReport,
    /// The verdict: one finding per topic (the shortcut and source findings included).
    pub findings: Vec<Finding>,
    /// Which kinds of findings exist (what `--fail-on` tests).
    pub kinds: Kinds,
    pub max_items: usize,
    /// The subject id inferred from the file names, if any (`crate::subjects`).
    pub subjects: Option<crate::subjects::Inference>,
}

impl AuditOutcome {
    /// `audit.json`.
    pub fn report(&self) -> AuditReport<'_> {
        AuditReport {
            root: self.scan.root.display().to_string(),
            findings: &self.findings,
            kinds: self.kinds,
            images: self.scan.records.len(),
            skipped: self.scan.layout.skipped.len(),
            leaks: &self.leaks.summary,
            balance: self.balance.as_ref(),
            sources: self.sources.as_ref(),
            shortcuts: Some(&self.shortcuts),
            skipped_entries: self.scan.skipped_list(self.max_items).0,
            loader: self.scan.loader,
            coverage: Coverage::of(&self.scan.records, self.scan.loader),
            subjects: self.subjects.as_ref(),
        }
    }
}

/// Scans ROOT, runs every check, and gives the verdict; writes the checks' files into
/// `job.out` when given. Every option and `out` are checked before anything is scanned.
pub fn run(job: &AuditJob, notify: Notify) -> Result<AuditOutcome> {
    job.scan.validate()?;
    job.balance.validate()?;
    job.leak.validate()?;
    if let Some(dir) = &job.out {
        check_output(&job.root, dir, "--out")?;
    }
    let scan = scan::run(&job.root, &job.scan)?;
    if let Some(w) = scan.unusable_warning() {
        notify(Notice::Warning(w));
    }
    let leaks = leaks::analyze(&scan.records, &job.leak)?;
    // Balance needs a split named like train when there are several; without one the audit
    // still runs and says so.
    let (balance, balance_note) =
        match analyze_deduplicated(&scan, job.dedup.then_some(&leaks), &job.balance) {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(format!("balance not checked: {e:#}"))),
        };
    let (mut findings, mut kinds) = verdict(&scan, &leaks, balance.as_ref());
    // Subjects by the file names: the finding follows leakage's.
    let subjects = crate::subjects::of_records(&scan.records, &leaks.groups, scan.loader);
    if let Some(f) = super::subject_finding(
        subjects.as_ref(),
        scan.layout.splits.len(),
        &scan.root,
        &super::carried_flags(&job.scan),
    ) {
        kinds.subject = f.severity == Severity::Problem;
        let at = findings
            .iter()
            .position(|f| f.topic == super::Topic::Leakage)
            .map_or(0, |i| i + 1);
        findings.insert(at, f);
    }
    // A folder written by `merge` carries its sources in manifest.csv: the source check.
    let (sources, sources_note) = match source_check(&scan) {
        Ok(t) => (t, None),
        Err(e) => (None, Some(format!("source check skipped: {e:#}"))),
    };
    if let Some(t) = &sources {
        findings.extend(source_findings(t));
    }
    // The shortcut check tests the class within the split balance weighs (`--split`).
    let shortcuts = shortcuts::check(&scan.records, job.balance.split.as_deref())?;
    findings.extend(shortcut_findings(
        &shortcuts,
        &scan.root.display().to_string(),
    ));
    kinds.shortcut = shortcuts.worst() == Severity::Problem;
    let o = AuditOutcome {
        scan,
        leaks,
        balance,
        balance_note,
        sources,
        sources_note,
        shortcuts,
        findings,
        kinds,
        max_items: job.max_items,
        subjects,
    };
    if let Some(dir) = &job.out {
        // Every file of the report is complete before any is renamed into place: an
        // interrupted or failed run leaves the previous report or this one, never a mix.
        let mut staged = Staged::new();
        leaks::stage_outputs(&mut staged, dir, &o.scan.records, &o.leaks)?;
        if let Some(b) = &o.balance {
            staged.json(&dir.join("class_weights.json"), &b.weights)?;
        }
        staged.json(&dir.join("audit.json"), &o.report())?;
        if let Some(page) = job.page {
            staged.bytes(
                &dir.join("report.html"),
                page(&o, job.scan.max_pixels).as_bytes(),
            )?;
        }
        staged.commit()?;
    }
    Ok(o)
}
