//! `cleansplit split ROOT OUT`: write stratified, group-aware, deduplicated train/val(/test)
//! folders (or k folds) without touching the source.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::enums::{ConflictsArg, DedupArg, ModeArg};
use super::out::{errln, out, outln};
use super::{Notes, OutputFormat, ScanArgs, leaks::LeakArgs, print_notices};
use cleansplit::base::notify::Notice;
use cleansplit::report::text;
use cleansplit::split::{self, Refused, Sizes, SplitJob, SplitOptions};

#[derive(clap::Args, Debug)]
#[command(
    about = "Write clean splits: stratified, duplicates kept in one split, nothing in ROOT changed",
    after_help = "Examples:
  cleansplit split data/ data-clean/ --ratio 0.8,0.1,0.1
  cleansplit split data/ folds/ --kfold 5 --group-by 'patient(\\d+)'
  cleansplit split xrays/ out/ --group-by auto   # subject ids inferred from the names
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
    /// stay in one split, e.g. a patient or video id: 'person\d+'; `auto` infers the subject
    /// id from the names (as `audit` does) and prints it.
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
    /// The library's job (the library checks it).
    fn job(&self) -> Result<SplitJob> {
        if !self.stratify.is_empty() && !self.stratify.contains(&Stratum::Class) {
            bail!("--stratify takes class or class,source");
        }
        let sizes = match (&self.ratio, self.count) {
            (_, Some(n)) => Sizes::Count(n),
            (r, None) => Sizes::Ratio(r.clone()),
        };
        let default_len = match &sizes {
            Sizes::Ratio(r) => r.len(),
            Sizes::Count(_) => 2,
        };
        let split = SplitOptions {
            names: self
                .names
                .clone()
                .unwrap_or_else(|| split::default_names(default_len)),
            sizes,
            seed: self.seed,
            group_by: self
                .group_by
                .as_deref()
                .filter(|&g| g != cleansplit::subjects::AUTO)
                .map(split::group_by_regex)
                .transpose()?,
            dedup: self.dedup.into(),
            conflicts: self.conflicts.into(),
            loader: self.scan.loader.into(),
            keep_unlabeled: self.keep_unlabeled,
        };
        Ok(SplitJob {
            root: self.scan.root.clone(),
            out: self.out.clone(),
            scan: self.scan.options(),
            split,
            leak: self.leak.options(),
            mode: self.mode.into(),
            verify: self.verify,
            kfold: self.kfold,
            by_source: self.stratify.contains(&Stratum::Source),
            // Parsed here, not by clap, so a bad value is one line.
            normalize: match &self.normalize {
                Some(s) => Some(s.parse().map_err(anyhow::Error::msg)?),
                None => None,
            },
            group_by_auto: self.group_by.as_deref() == Some(cleansplit::subjects::AUTO),
        })
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let job = args.job()?;
    // Notes go to stderr with --format json, so stdout is the report alone.
    let json = args.format == OutputFormat::Json;
    let mut notices = print_notices(if json { Notes::Stderr } else { Notes::Stdout });
    let o = match split::run(&job, &mut notices) {
        Ok(o) => o,
        Err(e) if e.is::<Refused>() => {
            errln!("cleansplit: {e:#}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e),
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&o.report)?);
    } else {
        out!("{}", text::split::render(&o, &args.out));
    }
    notices(Notice::Note(text::wrote(&args.out, o.elapsed)));
    Ok(ExitCode::SUCCESS)
}
