//! `cleansplit shortcuts ROOT`: can file metadata alone (size, format, colour mode,
//! compression) predict the class or the split? A sign that they come from different sources.

use std::process::ExitCode;

use anyhow::Result;

use super::out::{out, outln};
use super::{FailOn, OutputFormat, ScanArgs, exit_code};
use cleansplit::audit::Kinds;
use cleansplit::base::severity::Severity;
use cleansplit::{scan, shortcuts};

#[derive(clap::Args, Debug)]
#[command(
    about = "Check whether file metadata (size, format, colour mode, JPEG quality) predicts the class or the split"
)]
pub struct Args {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Split whose classes are tested (default: the one named like train, else the largest).
    #[arg(long, value_name = "NAME")]
    pub split: Option<String>,
    /// Exit 1 when such findings exist; only `shortcut` (or `any`) applies here.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub fail_on: Vec<FailOn>,
    /// Print the report as text or as JSON on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let outcome = scan::run(&args.scan.root, &args.scan.options())?;
    let report = shortcuts::check(&outcome.records, args.split.as_deref())?;
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Text => out!(
            "{}",
            shortcuts::report::render_text(&report, &outcome.root.display().to_string())
        ),
    }
    let kinds = Kinds {
        shortcut: report.worst() == Severity::Problem,
        ..Kinds::default()
    };
    Ok(exit_code(&kinds, &args.fail_on))
}
