//! `cleansplit split ROOT OUT`: write stratified, group-aware, deduplicated train/val(/test)
//! folders (or k folds) without touching the source.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use regex::Regex;

use super::enums::{ConflictsArg, DedupArg, ModeArg};
use super::out::{errln, out, outln};
use super::{OutputFormat, ScanArgs, leaks::LeakArgs};
use cleansplit::loader::coverage::Coverage;
use cleansplit::merge::sources::{read_merge_manifest, sources_of, stratify_by_source};
use cleansplit::report::text;
use cleansplit::split::normalize::{self, Normalize};
use cleansplit::split::{self, Mode, Sizes, SplitOptions, WriteJob};
use cleansplit::{leaks, scan};

#[derive(clap::Args, Debug)]
#[command(
    about = "Write clean splits: stratified, duplicates kept in one split, nothing in ROOT changed",
    after_help = "Examples:
  cleansplit split data/ data-clean/ --ratio 0.8,0.1,0.1
  cleansplit split data/ folds/ --kfold 5 --group-by 'patient(\\d+)'
  cleansplit split kaggle/ out/ --labels train_labels.csv --keep-unlabeled --mode hardlink"
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
        default_value = "0.8,0.2",
        conflicts_with = "count"
    )]
    pub ratio: Vec<f64>,
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
    /// What to stratify by: class (default), or class,source for a folder written by `merge`
    /// (every class's sources are split in the same proportions).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "class[,source]")]
    pub stratify: Vec<Stratum>,
    /// Write re-encoded copies instead of copies or links: every image resized to WxH (aspect
    /// not kept), converted to the mode (rgb, gray) and saved in the format (jpeg at quality
    /// 90, png), e.g. 224x224,jpeg,rgb. Removes metadata shortcuts (see `shortcuts`).
    #[arg(long, value_name = "WxH,FORMAT,MODE")]
    pub normalize: Option<String>,
    /// Place images without a class (no row in --labels) in OUT/unlabeled/ instead of
    /// dropping them.
    #[arg(long)]
    pub keep_unlabeled: bool,
    /// Print the split report as text or as JSON (split_report.json) on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub leak: LeakArgs,
}

/// A `--stratify` key.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stratum {
    Class,
    Source,
}

impl Args {
    fn options(&self) -> Result<SplitOptions> {
        let sizes = match (&self.ratio, self.count) {
            (_, Some(n)) => Sizes::Count(n),
            (r, None) => Sizes::Ratio(r.clone()),
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
            loader: self.scan.loader.into(),
            keep_unlabeled: self.keep_unlabeled,
        };
        opts.validate()?;
        Ok(opts)
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let start = Instant::now();
    let opts = args.options()?;
    if !args.stratify.is_empty() && !args.stratify.contains(&Stratum::Class) {
        bail!("--stratify takes class or class,source");
    }
    let leak_opts = args.leak.options()?;
    if let Some(k) = args.kfold
        && k < 2
    {
        bail!("--kfold needs at least 2 folds");
    }
    // Parsed here, not by clap, so a bad value is one line.
    let normalize: Option<Normalize> = match &args.normalize {
        Some(s) => Some(s.parse().map_err(anyhow::Error::msg)?),
        None => None,
    };
    if normalize.is_some() && (args.kfold.is_some() || args.mode == ModeArg::Manifest) {
        bail!("--normalize writes images; --kfold and --mode manifest write none");
    }
    // OUT is checked before the scan, so a bad OUT costs nothing.
    if let Ok(root) = std::fs::canonicalize(&args.scan.root) {
        split::check_out(&root, &args.out)?;
    }
    let outcome = scan::run(&args.scan.root, &args.scan.options())?;
    let records = &outcome.records;
    split::check_not_empty(records)?;
    let json = args.format == OutputFormat::Json;
    // Notes go to stderr with --format json, so stdout is the report alone.
    let note = |s: String| {
        if json {
            errln!("{s}");
        } else {
            outln!("{s}");
        }
    };
    if !outcome.layout.splits.is_empty() {
        note(format!(
            "merging the existing splits {} into one pool and splitting again",
            outcome.layout.splits.join(", ")
        ));
    }
    let coverage = Coverage::of(records, outcome.loader);
    if coverage.classless() {
        note(format!(
            "no classes: a plain (unstratified) split, group-aware and deduplicated, without class folders; {}",
            cleansplit::loader::coverage::HOW_TO_LABEL
        ));
    } else if coverage.unlabeled > 0 {
        note(format!(
            "{} images have no class: {} ({})",
            coverage.unlabeled,
            if args.keep_unlabeled {
                "placed in OUT/unlabeled/ (--keep-unlabeled)"
            } else {
                "dropped as `unlabeled` (--keep-unlabeled places them in OUT/unlabeled/)"
            },
            cleansplit::loader::coverage::HOW_TO_LABEL
        ));
    }
    // Only the duplicate groups are planned with: the pairs and summary are freed first.
    let leaks::Leaks { groups, .. } = leaks::analyze(records, &leak_opts);
    let mut plan = match split::plan(records, &groups, &opts) {
        Ok(p) => p,
        Err(e) => {
            errln!("cleansplit: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    // The groups are in the plan now: freed before the destinations are built.
    drop(groups);
    // Never an empty OUT: nothing the loader reads means nothing to train on.
    split::check_placed(&plan, outcome.loader)?;
    if args.stratify.contains(&Stratum::Source) {
        let manifest = read_merge_manifest(&outcome.root)?.with_context(|| {
            format!(
                "--stratify class,source needs a folder written by `cleansplit merge` (its manifest.csv names each file's source); {} has none",
                outcome.root.display()
            )
        })?;
        stratify_by_source(&mut plan, records, &sources_of(records, &manifest));
        note("stratified by class and source (from the merge manifest)".into());
    }
    // k folds are a CSV only: the manifest mode places no files.
    let mode = if args.kfold.is_some() {
        Mode::Manifest
    } else {
        args.mode.into()
    };
    let mut dests = split::destinations(&plan, records, &opts.names);
    if let Some(n) = &normalize {
        normalize::rename_destinations(dests.listed(&plan, records), n.extension());
    }
    let job = WriteJob {
        root: &outcome.root,
        out: &args.out,
        mode,
        verify: args.verify,
        records,
        names: &opts.names,
        dests: &dests,
        normalize,
        loader: outcome.loader,
    };
    let report = split::SplitReport::new(&plan, records, &opts, mode, &outcome.layout.splits);
    let mut extra: Vec<(&str, Vec<u8>)> = Vec::new();
    let manifest =
        |w: &mut dyn std::io::Write| split::write_manifest(w, &plan, records, &opts.names, &dests);
    let mut streamed: Vec<split::Streamed> = Vec::new();
    if let Some(k) = args.kfold {
        split::check_kfold(k, &plan)?;
        let mut folds = Vec::new();
        split::write_folds(&mut folds, &plan, records, &split::kfold(&plan, records, k))?;
        extra.push(("folds.csv", folds));
    } else {
        streamed.push(("manifest.csv", &manifest));
        extra.push(("split_report.json", serde_json::to_vec_pretty(&report)?));
        // Without classes there is nothing to weigh.
        if !report.classless {
            extra.push((
                "class_weights.json",
                serde_json::to_vec_pretty(&split::class_weights(&report.splits))?,
            ));
        }
    }
    for w in split::write_streamed(&job, &plan, &extra, &streamed)? {
        errln!("cleansplit: warning: {w}");
    }
    match (args.kfold, json) {
        (_, true) => outln!("{}", serde_json::to_string_pretty(&report)?),
        (Some(k), false) => {
            outln!(
                "wrote {k} stratified group folds of {} images to {}",
                report.copied - report.unlabeled_kept,
                args.out.join("folds.csv").display()
            );
            if report.unlabeled_kept > 0 {
                outln!(
                    "{} images without a class are listed with fold `{}` (--keep-unlabeled): in no fold",
                    report.unlabeled_kept,
                    split::UNLABELED_FOLD
                );
            }
        }
        (None, false) => out!("{}", text::split::summary(&report)),
    }
    note(format!(
        "wrote {} in {:.2} s",
        args.out.display(),
        start.elapsed().as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}
