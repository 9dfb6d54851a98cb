//! `cleansplit shortcuts ROOT`: can file metadata alone (size, format, colour mode,
//! compression) predict the class or the split? A sign that they come from different sources.

use std::process::ExitCode;

use anyhow::Result;

use super::out::{out, outln};
use super::{FailOn, Notes, OutputFormat, ScanArgs, exit_code, print_notices};
use cleansplit::audit::Kinds;
use cleansplit::base::severity::Severity;
use cleansplit::report::text;
use cleansplit::shortcuts::{self, ShortcutsJob};

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
    let job = ShortcutsJob {
        root: args.scan.root.clone(),
        scan: args.scan.options(),
        split: args.split.clone(),
    };
    let o = shortcuts::run(&job, &mut print_notices(Notes::Stdout))?;
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&o.report)?),
        OutputFormat::Text => out!(
            "{}",
            text::shortcuts::render(&o.report, &o.scan.root.display().to_string())
        ),
    }
    let kinds = Kinds {
        shortcut: o.report.worst() == Severity::Problem,
        ..Kinds::default()
    };
    Ok(exit_code(&kinds, &args.fail_on))
}
