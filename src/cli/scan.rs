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
}

pub fn run(args: Args) -> Result<ExitCode> {
    let outcome = scan::run(&args.scan.root, &args.scan.options())?;
    out!("{}", report::terminal::scan_summary(&outcome));
    Ok(ExitCode::SUCCESS)
}
