//! `cleansplit split ROOT OUT`: write stratified, group-aware, deduplicated train/val(/test)
//! folders (or k folds) without touching the source.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use regex::Regex;

use super::enums::{ConflictsArg, DedupArg, ModeArg};
use super::{ScanArgs, leaks::LeakArgs};
use cleansplit::report::terminal;
use cleansplit::split::{self, Mode, Sizes, SplitOptions, WriteJob};
use cleansplit::{leaks, scan};

#[derive(clap::Args, Debug)]
#[command(
    about = "Write clean splits: stratified, duplicates kept in one split, nothing in ROOT changed"
)]
pub struct Args {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Output folder; must not exist or be empty.
    pub out: PathBuf,
    /// Split fractions, train,val[,test] (e.g. 0.8,0.2 or 0.8,0.1,0.1).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "F,F[,F]",
        conflicts_with = "count"
    )]
    pub ratio: Option<Vec<f64>>,
    /// Images per class in each split after the first (train gets the rest).
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Split names (default train,val or train,val,test).
    #[arg(long, value_delimiter = ',', value_name = "A,B[,C]")]
    pub names: Option<Vec<String>>,
    /// Seed for the order in which equal-sized groups are placed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Regex on file names whose first capture group (or whole match) is a group key that must
    /// stay in one split, e.g. a patient or video id: 'person\d+'.
    #[arg(long, value_name = "REGEX")]
    pub group_by: Option<String>,
    /// keep-one: copy each duplicate group's representative only; none: copy all members.
    #[arg(long, value_enum, default_value_t = DedupArg::KeepOne)]
    pub dedup: DedupArg,
    /// A duplicate group under two classes: drop all, keep the majority, or error.
    #[arg(long, value_enum, default_value_t = ConflictsArg::Drop)]
    pub conflicts: ConflictsArg,
    /// copy, hardlink (falls back to copy), symlink, or manifest (CSV and JSON only).
    #[arg(long, value_enum, default_value_t = ModeArg::Copy)]
    pub mode: ModeArg,
    /// Check every placed file's content hash against its source.
    #[arg(long)]
    pub verify: bool,
    /// Write K stratified group folds (folds.csv) instead of split folders.
    #[arg(long, value_name = "K")]
    pub kfold: Option<usize>,
    #[command(flatten)]
    pub leak: LeakArgs,
}

impl Args {
    fn options(&self) -> Result<SplitOptions> {
        let sizes = match (&self.ratio, self.count) {
            (_, Some(n)) => Sizes::Count(n),
            (Some(r), None) => Sizes::Ratio(r.clone()),
            (None, None) => Sizes::Ratio(vec![0.8, 0.2]),
        };
        let default_len = match &sizes {
            Sizes::Ratio(r) => r.len(),
            Sizes::Count(_) => 2,
        };
        let names = self.names.clone().unwrap_or_else(|| {
            ["train", "val", "test"][..default_len.min(3)]
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        let group_by = match &self.group_by {
            Some(re) => Some(Regex::new(re).map_err(|e| {
                // regex's message spans several lines (pattern, caret, error): keep the last.
                let msg = e.to_string();
                let last = msg.lines().last().unwrap_or_default().trim();
                anyhow::anyhow!(
                    "--group-by {re:?} is not a valid regex: {}",
                    last.trim_start_matches("error: ")
                )
            })?),
            None => None,
        };
        let opts = SplitOptions {
            names,
            sizes,
            seed: self.seed,
            group_by,
            dedup: self.dedup.into(),
            conflicts: self.conflicts.into(),
        };
        opts.validate()?;
        Ok(opts)
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let start = Instant::now();
    let opts = args.options()?;
    let leak_opts = args.leak.options()?;
    if let Some(k) = args.kfold
        && k < 2
    {
        bail!("--kfold needs at least 2 folds");
    }
    // OUT is checked before the scan, so a bad OUT costs nothing.
    if let Ok(root) = std::fs::canonicalize(&args.scan.root) {
        split::check_out(&root, &args.out)?;
    }
    let outcome = scan::run(&args.scan.root, &args.scan.options())?;
    let records = &outcome.records;
    split::check_not_empty(records)?;
    if !outcome.layout.splits.is_empty() {
        println!(
            "merging the existing splits {} into one pool and splitting again",
            outcome.layout.splits.join(", ")
        );
    }
    let l = leaks::analyze(records, &leak_opts);
    let plan = match split::plan(records, &l.groups, &opts) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cleansplit: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    // k folds are a CSV only: the manifest mode places no files.
    let mode = if args.kfold.is_some() {
        Mode::Manifest
    } else {
        args.mode.into()
    };
    let dests = split::destinations(&plan, records, &opts.names);
    let job = WriteJob {
        root: &outcome.root,
        out: &args.out,
        mode,
        verify: args.verify,
        records,
        names: &opts.names,
        dests: &dests,
    };
    let report = split::SplitReport::new(&plan, records, &opts, mode, &outcome.layout.splits);
    let mut extra: Vec<(&str, Vec<u8>)> = Vec::new();
    if let Some(k) = args.kfold {
        split::check_kfold(k, &plan)?;
        let mut folds = Vec::new();
        split::write_folds(&mut folds, &plan, records, &split::kfold(&plan, k))?;
        extra.push(("folds.csv", folds));
    } else {
        let mut manifest = Vec::new();
        split::write_manifest(&mut manifest, &plan, records, &opts.names, &dests)?;
        extra.push(("manifest.csv", manifest));
        extra.push(("split_report.json", serde_json::to_vec_pretty(&report)?));
        extra.push((
            "class_weights.json",
            serde_json::to_vec_pretty(&split::class_weights(&report.splits))?,
        ));
    }
    for w in split::write(&job, &plan, &extra)? {
        eprintln!("cleansplit: warning: {w}");
    }
    match args.kfold {
        Some(k) => println!(
            "wrote {k} stratified group folds of {} images to {}",
            report.copied,
            args.out.join("folds.csv").display()
        ),
        None => print!("{}", terminal::split_summary(&report)),
    }
    println!(
        "wrote {} in {:.2} s",
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
