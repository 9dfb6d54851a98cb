//! `cleansplit leaks ROOT`: exact and near-duplicate pairs across splits, within a split and
//! across class labels, with what they mean for training.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::enums::{GeometricArg, SearchArg};
use super::out::{out, outln};
use super::{FailOn, Notes, OutputFormat, ScanArgs, exit_code, print_notices};
use cleansplit::audit::Kinds;
use cleansplit::leaks::{self, LeakOptions, LeaksJob};
use cleansplit::report::text;

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
    /// Rounds of keys of the sampled search, 1..=40 (default: the fewest tables estimated to
    /// find 95% of pairs 32 bits apart, about 2.5 rounds; each round is 255 / bits tables:
    /// more recall for far pairs, more time).
    #[arg(long, value_name = "N")]
    pub search_rounds: Option<u32>,
    /// Bits per key of the sampled search, 10..=31 (default: chosen from the data, about six
    /// chance key collisions per query and table; fewer bits find more far pairs per table
    /// and cost more per probe).
    #[arg(long, value_name = "N")]
    pub search_bits: Option<u32>,
    /// Descriptors per image the search for augmented copies (rotated, shifted, zoomed) keys,
    /// 1..=300 (default: all 300 up to about 110,000 images, then fewer so its time stays
    /// linear: 33 at a million; more finds more such copies at that size, in proportional time).
    #[arg(long, value_name = "N")]
    pub affine_keys: Option<usize>,
}

impl LeakArgs {
    /// The library's options (the library checks them).
    pub fn options(&self) -> LeakOptions {
        LeakOptions {
            geometric: self.geometric.into(),
            max_distance: self.max_distance,
            no_crop: self.no_crop,
            search: self.search.into(),
            search_rounds: self.search_rounds,
            search_bits: self.search_bits,
            affine_keys: self.affine_keys,
        }
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

pub fn run(args: Args) -> Result<ExitCode> {
    if args.fail_on.contains(&FailOn::Shortcut) {
        anyhow::bail!("--fail-on shortcut applies to audit and shortcuts, not leaks");
    }
    let job = LeaksJob {
        root: args.scan.root.clone(),
        scan: args.scan.options(),
        leak: args.leak.options(),
        out: args.out.clone(),
    };
    let o = leaks::run(&job, &mut print_notices(Notes::Stdout))?;
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&o.leaks.summary)?),
        OutputFormat::Text => out!("{}", text::leaks::render(&o, args.top, args.out.as_deref())),
    }
    let kinds = Kinds::of_loader(&o.scan.records, &o.leaks.summary, o.scan.loader);
    Ok(exit_code(&kinds, &args.fail_on))
}
