//! `cleansplit merge SRC... OUT`: combine class-folder datasets into one folder, copies kept
//! once, class names matched exactly (near-matches reported), and the source check.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::enums::{ConflictsArg, LoaderArg, ModeArg};
use super::out::{errln, outln};
use super::{Notes, OutputFormat, leaks::LeakArgs, print_notices};
use cleansplit::layout::LayoutOptions;
use cleansplit::merge::{self, MergeJob};
use cleansplit::report::text;
use cleansplit::scan::{DEFAULT_MAX_PIXELS, ScanOptions};
use cleansplit::split::Refused;

#[derive(clap::Args, Debug)]
#[command(
    about = "Merge class-folder datasets: copies kept once, class names matched, sources checked",
    after_help = "Examples:\n  \
        cleansplit merge data/kaggle data/scraped merged\n  \
        cleansplit merge a b merged --map names.csv --classes cat,dog --mode hardlink\n  \
        cleansplit merge a b merged --keep-splits --conflicts majority\n  \
        cleansplit merge photos kaggle merged --labels kaggle=kaggle/labels.csv"
)]
pub struct Args {
    /// Source datasets (any layout cleansplit reads), then the output folder (must not exist
    /// or be empty, and not be inside a source).
    #[arg(required = true, num_args = 3.., value_name = "SRC... OUT")]
    pub paths: Vec<PathBuf>,
    /// CSV of `source,old,new` class renames; source is a source's name (its folder name, as
    /// printed) or * for every source.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Labels of a flat source (Kaggle style): SRC=FILE, a CSV of `file name or stem,label`
    /// as `scan --labels`, for the source SRC (its name as printed, or its path as given).
    /// Repeat for several sources.
    #[arg(long, value_name = "SRC=FILE")]
    pub labels: Vec<String>,
    /// Keep only these classes (names after --map).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    pub classes: Option<Vec<String>>,
    /// Keep the sources' splits (train, val, test by role) instead of pooling them.
    #[arg(long)]
    pub keep_splits: bool,
    /// A copy under two classes: drop all, keep the majority, or error.
    #[arg(long, value_enum, default_value_t = ConflictsArg::Drop)]
    pub conflicts: ConflictsArg,
    /// copy, hardlink (falls back to copy), symlink, or manifest (CSV and JSON only).
    #[arg(long, value_enum, default_value_t = ModeArg::Copy)]
    pub mode: ModeArg,
    /// Check every placed file's content hash against its source.
    #[arg(long)]
    pub verify: bool,
    /// Folder for the sources' indexes (default: the user's cache directory).
    #[arg(long, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// First-level folders that are splits, in every source (default: names like train, val).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    pub splits: Option<Vec<String>>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Images with more pixels are not decoded (status too_large).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Re-read every file, ignoring the indexes.
    #[arg(long)]
    pub rehash: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Write re-encoded copies instead of copies or links: every image resized to WxH (aspect
    /// not kept), converted to the mode (rgb, gray) and saved in the format (jpeg at quality
    /// 90, png), e.g. 224x224,jpeg,rgb. Sources that differ in size, format or mode then no
    /// longer differ in metadata a network could learn (see `shortcuts`).
    #[arg(long, value_name = "WxH,FORMAT,MODE")]
    pub normalize: Option<String>,
    /// The training loader whose view decides what is placed: files it does not list or
    /// cannot decode are dropped (docs/GUIDE.md "Loaders").
    #[arg(long, value_enum, default_value_t = LoaderArg::Keras)]
    pub loader: LoaderArg,
    /// Print the summary as text or merge_report.json on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub leak: LeakArgs,
}

impl Args {
    /// The library's job (the library checks it).
    fn job(&self) -> Result<MergeJob> {
        let (out, srcs) = self.paths.split_last().expect("clap requires 3 paths");
        Ok(MergeJob {
            sources: srcs.to_vec(),
            out: out.clone(),
            scan: ScanOptions {
                layout: LayoutOptions {
                    splits: self.splits.clone(),
                    labels: None,
                },
                index: None,
                jobs: self.jobs,
                max_pixels: self.max_pixels,
                rehash: self.rehash,
                progress: !self.quiet,
                loader: self.loader.into(),
                shard: None,
            },
            index_dir: self.index_dir.clone(),
            map: self.map.clone(),
            labels: self.labels.clone(),
            classes: self.classes.clone(),
            keep_splits: self.keep_splits,
            conflicts: self.conflicts.into(),
            leak: self.leak.options(),
            mode: self.mode.into(),
            verify: self.verify,
            // Parsed here, not by clap, so a bad value is one line (as `split --normalize`).
            normalize: match &self.normalize {
                Some(s) => Some(s.parse().map_err(anyhow::Error::msg)?),
                None => None,
            },
        })
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let job = args.job()?;
    // The sources' lines are for people: not with --format json.
    let notes = match args.format {
        OutputFormat::Text => Notes::Stdout,
        OutputFormat::Json => Notes::Nowhere,
    };
    let o = match merge::run(&job, &mut print_notices(notes)) {
        Ok(o) => o,
        Err(e) if e.is::<Refused>() => {
            errln!("cleansplit: {e:#}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e),
    };
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&o.report)?),
        OutputFormat::Text => {
            super::colour::print(&super::colour::paint_warnings(&text::merge::summary(
                &o.report,
            )));
            outln!("{}", text::wrote(&job.out, o.elapsed));
        }
    }
    Ok(ExitCode::SUCCESS)
}
