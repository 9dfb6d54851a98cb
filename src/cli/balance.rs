//! `cleansplit balance ROOT`: class counts per split, imbalance and drift warnings, and
//! class weights as JSON that Keras and PyTorch load directly.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::enums::MethodArg;
use super::out::{out, outln};
use super::{OutputFormat, ScanArgs, leaks::LeakArgs};
use cleansplit::balance::{self, BalanceOptions};
use cleansplit::report::{tables, text};
use cleansplit::scan::ScanOutcome;
use cleansplit::{leaks, near::groups, scan};

/// Options of the balance checker (shared with `audit`).
#[derive(clap::Args, Debug, Clone)]
pub struct BalanceArgs {
    /// Count each duplicate group once per split and class.
    #[arg(long)]
    pub dedup: bool,
    /// Report classes with fewer images than this.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub min_count: usize,
    /// Split to compute weights for (default: the one named like train, or all images).
    #[arg(long, value_name = "NAME")]
    pub split: Option<String>,
    /// Weighting: balanced (scikit-learn), inverse, sqrt, effective (Cui et al. 2019).
    #[arg(long, value_enum, default_value_t = MethodArg::Balanced)]
    pub method: MethodArg,
    /// Beta of the effective-number method.
    #[arg(long, default_value_t = 0.999)]
    pub beta: f64,
    /// File with one class name per line, giving the class index order (default: Keras'
    /// order, the sorted folder names).
    #[arg(long, value_name = "FILE")]
    pub class_order: Option<PathBuf>,
}

impl BalanceArgs {
    pub fn options(&self) -> Result<BalanceOptions> {
        let class_order = match &self.class_order {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read --class-order {}", p.display()))?
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            None => None,
        };
        let opts = BalanceOptions {
            method: self.method.into(),
            beta: self.beta,
            split: self.split.clone(),
            min_count: self.min_count,
            class_order,
            class_dirs: Default::default(),
            loader: Default::default(),
        };
        opts.validate()?;
        Ok(opts)
    }

    /// Runs the balance checker on a scan, deduplicating with `leaks` when `--dedup` is on.
    pub fn analyze(
        &self,
        scan: &ScanOutcome,
        l: Option<&leaks::Leaks>,
    ) -> Result<balance::BalanceReport> {
        let records = &scan.records;
        let membership = l
            .filter(|_| self.dedup)
            .map(|l| groups::membership(records.len(), &l.groups));
        balance::analyze_scan(scan, membership.as_deref(), &self.options()?)
    }
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Count images per class and split, flag imbalance and drift, write class weights",
    after_help = "Examples:
  cleansplit balance data/ --out class_weights.json
  cleansplit balance data/ --method effective --beta 0.99 --dedup
  cleansplit balance kaggle/ --labels train_labels.csv --loader torch --keras-dict"
)]
pub struct Args {
    #[command(flatten)]
    pub scan: ScanArgs,
    #[command(flatten)]
    pub balance: BalanceArgs,
    #[command(flatten)]
    pub leak: LeakArgs,
    /// Where to write the class weights.
    #[arg(long, default_value = "class_weights.json", value_name = "FILE")]
    pub out: PathBuf,
    /// Write only the `{"0": w0, ...}` mapping.
    #[arg(long)]
    pub keras_dict: bool,
    /// Print the report as text or as JSON on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> Result<ExitCode> {
    args.balance.options()?;
    let leak_opts = args.leak.options()?;
    cleansplit::output::check_output(&args.scan.root, &args.out, "--out")?;
    let outcome = scan::run(&args.scan.root, &args.scan.options())?;
    super::warn_if_unusable(&outcome);
    let records = &outcome.records;
    let l = args
        .balance
        .dedup
        .then(|| leaks::analyze(records, &leak_opts));
    let report = args.balance.analyze(&outcome, l.as_ref())?;
    if args.keras_dict {
        tables::write_json(&args.out, &report.weights.class_weight)?;
    } else {
        tables::write_json(&args.out, &report.weights)?;
    }
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Text => {
            out!("{}", text::balance::summary(&report));
            outln!("wrote {}", args.out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
