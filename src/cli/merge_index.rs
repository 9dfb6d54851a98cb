//! `cleansplit merge-index PART.. --index INDEX`: join the indexes of a sharded scan.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::out::outln;
use cleansplit::index::merge_index;

#[derive(clap::Args, Debug)]
#[command(
    about = "Join the indexes of `scan --shard K/N` runs into one index every command reuses"
)]
pub struct Args {
    /// The parts, one per shard (each with its `.meta.json` sidecar).
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,
    /// The merged index to write (then pass it to every command with --index).
    #[arg(long, value_name = "PATH")]
    pub index: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let m = merge_index::merge(&args.parts, &args.index)?;
    outln!(
        "merged {} parts ({} shards): {} records -> {}",
        m.parts,
        m.shards,
        m.records,
        args.index.display()
    );
    Ok(ExitCode::SUCCESS)
}
