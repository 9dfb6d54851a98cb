//! `cleansplit scan ROOT`: index every image (content hash, format, size, mode, perceptual
//! hashes, status) and print a summary. Reuses the previous index for unchanged files.

use std::process::ExitCode;

use anyhow::Result;

use super::OutputFormat;
use super::ScanArgs;
use super::out::{out, outln};
use cleansplit::{report, scan};

#[derive(clap::Args, Debug)]
#[command(
    about = "Index every image: hashes, format, size, mode and status; print a summary",
    after_help = "Examples:
  cleansplit scan data/
  cleansplit scan kaggle/ --labels train_labels.csv --loader torch
  cleansplit scan data/ --format json > scan.json   # every skipped entry by path and reason"
)]
pub struct Args {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Print the summary as text, or as JSON with every skipped entry and every file the
    /// loader leaves out, by path and reason.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Hash only shard K of N (0-based, e.g. 0/4): the files whose ROOT-relative path hashes
    /// there. Run every shard, then `cleansplit merge-index`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<cleansplit::index::shard::Shard>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let opts = scan::ScanOptions {
        shard: args.shard,
        ..args.scan.options()
    };
    let outcome = scan::run(&args.scan.root, &opts)?;
    match args.format {
        OutputFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&report::scan_json::report(&outcome, outcome.loader))?
        ),
        OutputFormat::Text => out!("{}", report::text::scan::summary(&outcome)),
    }
    Ok(ExitCode::SUCCESS)
}
