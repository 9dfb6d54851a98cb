//! `cleansplit scan ROOT`: index every image (content hash, format, size, mode, perceptual
//! hashes, status) and print a summary. Reuses the previous index for unchanged files.

use std::process::ExitCode;

use anyhow::Result;

use super::ScanArgs;
use super::out::out;
use cleansplit::{report, scan};

#[derive(clap::Args, Debug)]
#[command(about = "Index every image: hashes, format, size, mode and status; print a summary")]
pub struct Args {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Hash only shard K of N (0-based, e.g. 0/4): the files whose ROOT-relative path hashes
    /// there. Run every shard, then `cleansplit merge-index`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<cleansplit::shard::Shard>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let opts = scan::ScanOptions {
        shard: args.shard,
        ..args.scan.options()
    };
    let outcome = scan::run(&args.scan.root, &opts)?;
    out!("{}", report::terminal::scan_summary(&outcome));
    Ok(ExitCode::SUCCESS)
}
