//! `cleansplit audit ROOT`: scan, leaks and balance in one run, a verdict first, the files
//! the other commands write plus a self-contained `report.html`, and a CI exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::balance::BalanceArgs;
use super::leaks::{LeakArgs, write_outputs};
use super::{FailOn, OutputFormat, ScanArgs, exit_code};
use cleansplit::audit::{self, AuditReport};
use cleansplit::leaks;
use cleansplit::report::{html, tables, terminal};
use cleansplit::scan;

#[derive(clap::Args, Debug)]
#[command(
    about = "Scan, find leaks and check balance in one run: a verdict, a report and a CI exit code"
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
    /// Exit 1 when such findings exist: leak, conflict, duplicate, problem, any (comma-separated).
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
    args.balance.options()?;
    let leak_opts = args.leak.options()?;
    if let Some(dir) = &args.out {
        scan::check_output(&args.scan.root, dir, "--out")?;
    }
    let outcome = scan::run(&args.scan.root, &args.scan.options())?;
    let records = &outcome.records;
    let l = leaks::analyze(records, &leak_opts);
    // Balance needs a split named like train when there are several; without one the audit
    // still runs and says so.
    let (balance, balance_note) = match args.balance.analyze(&outcome, Some(&l)) {
        Ok(b) => (Some(b), None),
        Err(e) => (None, Some(format!("balance not checked: {e:#}"))),
    };
    let (findings, kinds) = audit::verdict(&outcome, &l, balance.as_ref());
    let json = AuditReport {
        root: outcome.root.display().to_string(),
        findings: &findings,
        kinds,
        images: records.len(),
        skipped: outcome.layout.skipped.len(),
        leaks: &l.summary,
        balance: balance.as_ref(),
    };
    if let Some(dir) = &args.out {
        write_outputs(dir, records, &l)?;
        if let Some(b) = &balance {
            tables::write_json(&dir.join("class_weights.json"), &b.weights)?;
        }
        tables::write_json(&dir.join("audit.json"), &json)?;
        let page = html::render(&html::ReportInput {
            title: format!("cleansplit audit: {}", outcome.root.display()),
            root: &outcome.root,
            records,
            leaks: &l,
            findings: &findings,
            max_items: args.max_items,
            max_pixels: args.scan.max_pixels,
        });
        tables::write_file(&dir.join("report.html"), |w| {
            Ok(std::io::Write::write_all(w, page.as_bytes())?)
        })?;
    }
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        OutputFormat::Text => {
            print!("{}", terminal::verdict(&findings));
            if let Some(note) = &balance_note {
                println!("note: {note}");
            }
            println!(
                "\n{} images in {} split(s), {} skipped; scanned in {:.2} s ({} reused from the index)",
                records.len(),
                outcome.layout.splits.len().max(1),
                outcome.layout.skipped.len(),
                outcome.elapsed.as_secs_f64(),
                outcome.reused
            );
            if let Some(dir) = &args.out {
                println!(
                    "report: open {} in a browser",
                    dir.join("report.html").display()
                );
            }
        }
    }
    Ok(exit_code(&kinds, &args.fail_on))
}
