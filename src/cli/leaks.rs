//! `cleansplit leaks ROOT`: exact and near-duplicate pairs across splits, within a split and
//! across class labels, with what they mean for training.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::enums::{GeometricArg, SearchArg};
use super::out::{out, outln};
use super::{FailOn, OutputFormat, ScanArgs, exit_code};
use cleansplit::audit::Kinds;
use cleansplit::leaks::{self, LeakOptions};
use cleansplit::output::atomic::Staged;
use cleansplit::report::{tables, text};
use cleansplit::scan;

/// Options of the leak detector (shared with `audit`).
#[derive(clap::Args, Debug, Clone)]
pub struct LeakArgs {
    /// Flips and quarter turns to try: none, flip (left-right mirror) or all (8 flips and
    /// quarter turns).
    #[arg(long, value_enum, default_value_t = GeometricArg::All)]
    pub geometric: GeometricArg,
    /// Radius of the near-duplicate decision in bits of the 256-bit hash, 0..=64 (default:
    /// calibrated on this dataset, within 40..=48; true copies measured up to 36 bits apart,
    /// different images from 59).
    #[arg(long, value_name = "N")]
    pub max_distance: Option<u32>,
    /// Do not match centre crops.
    #[arg(long)]
    pub no_crop: bool,
    /// Near-duplicate search: exact (every pair within the radius; its time grows with the
    /// square of the images), sampled (every pair within a guaranteed distance, farther ones
    /// with the recall printed; for hundreds of thousands of images and more) or auto (exact
    /// up to 50,000 images).
    #[arg(long, value_enum, default_value_t = SearchArg::Auto)]
    pub search: SearchArg,
    /// Rounds of keys of the sampled search, 1..=40 (default: 8 up to 300,000 images, fewer
    /// above, 2 from 1,250,000; each round is about ten tables: more recall for far pairs,
    /// more time).
    #[arg(long, value_name = "N")]
    pub search_rounds: Option<u32>,
    /// Bits per key of the sampled search, 10..=31 (default: chosen from the data, about one
    /// chance candidate per 16 queries; fewer bits find more far pairs and cost more time).
    #[arg(long, value_name = "N")]
    pub search_bits: Option<u32>,
}

impl LeakArgs {
    /// The library's options, validated.
    pub fn options(&self) -> Result<LeakOptions> {
        let opts = LeakOptions {
            geometric: self.geometric.into(),
            max_distance: self.max_distance,
            no_crop: self.no_crop,
            search: self.search.into(),
            search_rounds: self.search_rounds,
            search_bits: self.search_bits,
        };
        opts.validate()?;
        Ok(opts)
    }
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Find exact and near-duplicate images across splits, within splits and across labels",
    after_help = "Examples:
  cleansplit leaks data/
  cleansplit leaks data/ --geometric all --out leaks/ --fail-on leak,conflict
  cleansplit leaks kaggle/ --labels train_labels.csv --format json"
)]
pub struct Args {
    #[command(flatten)]
    pub scan: ScanArgs,
    #[command(flatten)]
    pub leak: LeakArgs,
    /// Write pairs.csv, groups.csv and summary.json into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the summary as a table (text) or as JSON on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Exit 1 when such findings exist: leak, conflict, duplicate, problem, any (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub fail_on: Vec<FailOn>,
    /// Groups listed on the terminal.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
}

/// Stages the leak outputs for `dir` (written together by [`Staged::commit`]).
pub fn stage_outputs(
    staged: &mut Staged,
    dir: &std::path::Path,
    records: &[cleansplit::index::Record],
    l: &leaks::Leaks,
) -> Result<()> {
    staged.file(&dir.join("pairs.csv"), |w| {
        tables::write_pairs(w, records, &l.pairs)
    })?;
    staged.file(&dir.join("groups.csv"), |w| {
        tables::write_groups(w, records, &l.groups)
    })?;
    staged.json(&dir.join("summary.json"), &l.summary)
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.fail_on.contains(&FailOn::Shortcut) {
        anyhow::bail!("--fail-on shortcut applies to audit and shortcuts, not leaks");
    }
    let leak_opts = args.leak.options()?;
    if let Some(dir) = &args.out {
        cleansplit::output::check_output(&args.scan.root, dir, "--out")?;
    }
    let outcome = scan::run(&args.scan.root, &args.scan.options())?;
    super::warn_if_unusable(&outcome);
    let records = &outcome.records;
    let l = leaks::analyze(records, &leak_opts);
    if let Some(dir) = &args.out {
        let mut staged = Staged::new();
        stage_outputs(&mut staged, dir, records, &l)?;
        staged.commit()?;
    }
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&l.summary)?),
        OutputFormat::Text => {
            out!("{}", text::leaks::summary(records, &l, args.top));
            if let Some(dir) = &args.out {
                outln!(
                    "\nwrote {}/{{pairs.csv, groups.csv, summary.json}}",
                    dir.display()
                );
            }
        }
    }
    Ok(exit_code(
        &Kinds::of_loader(records, &l.summary, outcome.loader),
        &args.fail_on,
    ))
}
