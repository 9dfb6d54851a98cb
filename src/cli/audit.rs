//! `cleansplit audit ROOT`: scan, leaks and balance in one run, a verdict first, the files
//! the other commands write plus a self-contained `report.html`, and a CI exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::balance::BalanceArgs;
use super::leaks::LeakArgs;
use super::out::{out, outln};
use super::{FailOn, Notes, OutputFormat, ScanArgs, exit_code, print_notices};
use cleansplit::audit::{self, AuditJob};
use cleansplit::report::{html, text};

#[derive(clap::Args, Debug)]
#[command(
    about = "Scan, find leaks and check balance in one run: a verdict, a report and a CI exit code",
    after_help = "Examples:
  cleansplit audit data/ --out audit/   # then open audit/report.html
  cleansplit audit data/ --fail-on leak,conflict,problem
  cleansplit audit kaggle/ --labels train_labels.csv --loader keras-legacy --format json"
)]
pub struct Args {
    #[command(flatten)]
    pub scan: ScanArgs,
    #[command(flatten)]
    pub leak: LeakArgs,
    #[command(flatten)]
    pub balance: BalanceArgs,
    /// Write pairs.csv, groups.csv, class_weights.json, summary.json, audit.json and report.html.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit 1 when such findings exist: leak, conflict, duplicate, problem, shortcut, subject,
    /// any (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub fail_on: Vec<FailOn>,
    /// Items rendered per section of report.html (the rest are counted).
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_items: usize,
    /// Print the verdict as text or as JSON on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let job = AuditJob {
        root: args.scan.root.clone(),
        scan: args.scan.options(),
        leak: args.leak.options(),
        balance: args.balance.options()?,
        dedup: args.balance.dedup,
        out: args.out.clone(),
        max_items: args.max_items,
        page: Some(html::audit_page),
    };
    let o = audit::run(&job, &mut print_notices(Notes::Stdout))?;
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&o.report())?),
        OutputFormat::Text => {
            super::colour::print(&super::colour::paint_verdict(&text::audit::verdict(
                &o.findings,
            )));
            out!("{}", text::audit::details(&o, args.out.as_deref()));
        }
    }
    Ok(exit_code(&o.kinds, &args.fail_on))
}
