//! [`run`]: the `split` command as one library call: scan, duplicate groups, the plan, and
//! OUT written through a temporary folder.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use regex::Regex;

use super::normalize::{Normalize, rename_destinations};
use super::sources::{read_merge_manifest, sources_of, stratify_by_source};
use super::{
    Mode, SplitOptions, SplitReport, Streamed, WriteJob, check_kfold, check_not_empty, check_out,
    check_placed, class_weights, destinations, kfold, plan, write_folds, write_manifest,
    write_streamed,
};
use crate::base::notify::{Notice, Notify};
use crate::leaks::{self, LeakOptions};
use crate::loader::coverage::{Coverage, HOW_TO_LABEL};
use crate::scan::{self, ScanOptions, ScanOutcome};

/// What `split` is asked to do.
#[derive(Debug, Clone)]
pub struct SplitJob {
    /// The dataset (ROOT); nothing under it is written.
    pub root: PathBuf,
    /// The output folder (OUT): must not exist or be empty, and be outside ROOT.
    pub out: PathBuf,
    pub scan: ScanOptions,
    pub split: SplitOptions,
    pub leak: LeakOptions,
    /// How files are placed (`--mode`; `--kfold` writes a CSV only).
    pub mode: Mode,
    /// Check every placed file's content hash against its source (`--verify`).
    pub verify: bool,
    /// Write this many stratified group folds (`folds.csv`) instead of split folders.
    pub kfold: Option<usize>,
    /// Stratify by class and source (`--stratify class,source`; ROOT written by `merge`).
    pub by_source: bool,
    /// Re-encode every placed image (`--normalize`).
    pub normalize: Option<Normalize>,
    /// `--group-by auto`: group by the subject id inferred from the file names
    /// (`crate::subjects`; `split.group_by` is then ignored); no id is an error.
    pub group_by_auto: bool,
}

/// What `split` did: the scan, the split report (also `split_report.json`), and the time.
#[derive(Debug)]
pub struct SplitOutcome {
    pub scan: ScanOutcome,
    pub report: SplitReport,
    pub kfold: Option<usize>,
    pub elapsed: Duration,
}

/// The plan refused the data (`--conflicts error` met a conflict): nothing was written, and
/// the CLI exits 1 (a finding), not 2 (a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Refused(pub anyhow::Error);

/// A `--group-by` regex, with regex's several-line message cut to its last line.
pub fn group_by_regex(re: &str) -> Result<Regex> {
    Regex::new(re).map_err(|e| {
        let msg = e.to_string();
        let last = msg.lines().last().unwrap_or_default().trim();
        anyhow::anyhow!(
            "--group-by {re:?} is not a valid regex: {}",
            last.trim_start_matches("error: ")
        )
    })
}

/// Split names when none are given: train, val and test for as many splits as sizes.
pub fn default_names(splits: usize) -> Vec<String> {
    ["train", "val", "test"][..splits.min(3)]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Scans ROOT, plans the split and writes OUT. Every option and OUT are checked before
/// anything is scanned; what the run decides on the way (existing splits pooled, images
/// without a class) comes as notes, the writer's warnings as warnings.
pub fn run(job: &SplitJob, notify: Notify) -> Result<SplitOutcome> {
    let start = Instant::now();
    job.split.validate()?;
    job.leak.validate()?;
    if let Some(k) = job.kfold
        && k < 2
    {
        bail!("--kfold needs at least 2 folds");
    }
    if job.normalize.is_some() && (job.kfold.is_some() || job.mode == Mode::Manifest) {
        bail!("--normalize writes images; --kfold and --mode manifest write none");
    }
    // OUT is checked before the scan, so a bad OUT costs nothing.
    if let Ok(root) = std::fs::canonicalize(&job.root) {
        check_out(&root, &job.out)?;
    }
    let scan = scan::run(&job.root, &job.scan)?;
    let records = &scan.records;
    check_not_empty(records)?;
    let mut note = |s: String| notify(Notice::Note(s));
    if !scan.layout.splits.is_empty() {
        note(format!(
            "merging the existing splits {} into one pool and splitting again",
            scan.layout.splits.join(", ")
        ));
    }
    let coverage = Coverage::of(records, scan.loader);
    if coverage.classless() {
        note(format!(
            "no classes: a plain (unstratified) split, group-aware and deduplicated, without class folders; {HOW_TO_LABEL}"
        ));
    } else if coverage.unlabeled > 0 {
        note(format!(
            "{} images have no class: {} ({HOW_TO_LABEL})",
            coverage.unlabeled,
            if job.split.keep_unlabeled {
                "placed in OUT/unlabeled/ (--keep-unlabeled)"
            } else {
                "dropped as `unlabeled` (--keep-unlabeled places them in OUT/unlabeled/)"
            },
        ));
    }
    // Only the duplicate groups are planned with: the pairs and summary are freed first.
    let leaks::Leaks { groups, .. } = leaks::analyze(records, &job.leak)?;
    let mut auto_opts;
    let mut opts = &job.split;
    if job.group_by_auto {
        let inferred = crate::subjects::auto_group_by(records, &groups, scan.loader)?;
        note(inferred.note());
        auto_opts = job.split.clone();
        auto_opts.group_by = Some(inferred.regex);
        opts = &auto_opts;
    }
    let mut plan = plan(records, &groups, opts).map_err(|e| anyhow::Error::new(Refused(e)))?;
    // The groups are in the plan now: freed before the destinations are built.
    drop(groups);
    // Never an empty OUT: nothing the loader reads means nothing to train on.
    check_placed(&plan, scan.loader)?;
    if job.by_source {
        let manifest = read_merge_manifest(&scan.root)?.with_context(|| {
            format!(
                "--stratify class,source needs a folder written by `cleansplit merge` (its manifest.csv names each file's source); {} has none",
                scan.root.display()
            )
        })?;
        stratify_by_source(&mut plan, records, &sources_of(records, &manifest));
        note("stratified by class and source (from the merge manifest)".into());
    }
    // k folds are a CSV only: the manifest mode places no files.
    let mode = if job.kfold.is_some() {
        Mode::Manifest
    } else {
        job.mode
    };
    let mut dests = destinations(&plan, records, &opts.names);
    if let Some(n) = &job.normalize {
        rename_destinations(dests.listed(&plan, records), n.extension());
    }
    let write = WriteJob {
        root: &scan.root,
        out: &job.out,
        mode,
        verify: job.verify,
        records,
        names: &opts.names,
        dests: &dests,
        normalize: job.normalize,
        loader: scan.loader,
    };
    let report = SplitReport::new(&plan, records, opts, mode, &scan.layout.splits);
    let mut extra: Vec<(&str, Vec<u8>)> = Vec::new();
    let manifest =
        |w: &mut dyn std::io::Write| write_manifest(w, &plan, records, &opts.names, &dests);
    let mut streamed: Vec<Streamed> = Vec::new();
    if let Some(k) = job.kfold {
        check_kfold(k, &plan)?;
        let mut folds = Vec::new();
        write_folds(&mut folds, &plan, records, &kfold(&plan, records, k))?;
        extra.push(("folds.csv", folds));
    } else {
        streamed.push(("manifest.csv", &manifest));
        extra.push(("split_report.json", serde_json::to_vec_pretty(&report)?));
        // Without classes there is nothing to weigh.
        if !report.classless {
            extra.push((
                "class_weights.json",
                serde_json::to_vec_pretty(&class_weights(&report.splits))?,
            ));
        }
    }
    for w in write_streamed(&write, &plan, &extra, &streamed)? {
        notify(Notice::Warning(w));
    }
    Ok(SplitOutcome {
        scan,
        report,
        kfold: job.kfold,
        elapsed: start.elapsed(),
    })
}
