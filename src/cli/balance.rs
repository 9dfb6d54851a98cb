//! `cleansplit balance ROOT`: class counts per split, imbalance and drift warnings, and
//! class weights as JSON that Keras and PyTorch load directly.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::enums::MethodArg;
use super::out::{out, outln};
use super::{Notes, OutputFormat, ScanArgs, leaks::LeakArgs, print_notices};
use cleansplit::balance::{self, BalanceJob, BalanceOptions};
use cleansplit::report::text;

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
    /// The library's options (the library checks them; `--class-order` is read here).
    pub fn options(&self) -> Result<BalanceOptions> {
        Ok(BalanceOptions {
            method: self.method.into(),
            beta: self.beta,
            split: self.split.clone(),
            min_count: self.min_count,
            class_order: match &self.class_order {
                Some(p) => Some(balance::read_class_order(p)?),
                None => None,
            },
            class_dirs: Default::default(),
            loader: Default::default(),
        })
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
    let job = BalanceJob {
        root: args.scan.root.clone(),
        scan: args.scan.options(),
        balance: args.balance.options()?,
        dedup: args.balance.dedup,
        leak: args.leak.options(),
        out: args.out.clone(),
        keras_dict: args.keras_dict,
    };
    let o = balance::run(&job, &mut print_notices(Notes::Stdout))?;
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&o.report)?),
        OutputFormat::Text => out!("{}", text::balance::render(&o.report, &args.out)),
    }
    Ok(ExitCode::SUCCESS)
}
