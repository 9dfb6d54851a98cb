//! `cleansplit audit ROOT`: scan, leaks and balance in one run, a verdict first, the files
//! the other commands write plus a self-contained `report.html`, and a CI exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::balance::BalanceArgs;
use super::leaks::{LeakArgs, stage_outputs};
use super::out::{out, outln};
use super::{FailOn, OutputFormat, ScanArgs, exit_code};
use cleansplit::audit::{self, AuditReport};
use cleansplit::base::severity::Severity;
use cleansplit::leaks;
use cleansplit::output::atomic::Staged;
use cleansplit::report::{self, html, text};
use cleansplit::scan;
use cleansplit::shortcuts;

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
    /// Exit 1 when such findings exist: leak, conflict, duplicate, problem, shortcut, any
    /// (comma-separated).
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
        cleansplit::output::check_output(&args.scan.root, dir, "--out")?;
    }
    let outcome = scan::run(&args.scan.root, &args.scan.options())?;
    super::warn_if_unusable(&outcome);
    let records = &outcome.records;
    let l = leaks::analyze(records, &leak_opts);
    // Balance needs a split named like train when there are several; without one the audit
    // still runs and says so.
    let (balance, balance_note) = match args.balance.analyze(&outcome, Some(&l)) {
        Ok(b) => (Some(b), None),
        Err(e) => (None, Some(format!("balance not checked: {e:#}"))),
    };
    let (mut findings, mut kinds) = audit::verdict(&outcome, &l, balance.as_ref());
    // A folder written by `merge` carries its sources in manifest.csv: add the source check.
    let (sources, sources_note) = match audit::source_check(&outcome) {
        Ok(t) => (t, None),
        Err(e) => (None, Some(format!("source check skipped: {e:#}"))),
    };
    if let Some(t) = &sources {
        findings.extend(audit::source_findings(t));
    }
    // The shortcut check tests the class within the split balance weighs (`--split`).
    let sc = shortcuts::check(records, args.balance.split.as_deref())?;
    findings.extend(audit::shortcut_findings(
        &sc,
        &outcome.root.display().to_string(),
    ));
    kinds.shortcut = sc.worst() == Severity::Problem;
    let json = AuditReport {
        root: outcome.root.display().to_string(),
        findings: &findings,
        kinds,
        images: records.len(),
        skipped: outcome.layout.skipped.len(),
        leaks: &l.summary,
        balance: balance.as_ref(),
        sources: sources.as_ref(),
        shortcuts: Some(&sc),
        skipped_entries: report::scan_json::skipped_list(&outcome, args.max_items).0,
        loader: outcome.loader,
        coverage: cleansplit::loader::coverage::Coverage::of(records, outcome.loader),
    };
    if let Some(dir) = &args.out {
        // Every file of the report is complete before any is renamed into place: an
        // interrupted or failed run leaves the previous report or this one, never a mix.
        let mut staged = Staged::new();
        stage_outputs(&mut staged, dir, records, &l)?;
        if let Some(b) = &balance {
            staged.json(&dir.join("class_weights.json"), &b.weights)?;
        }
        staged.json(&dir.join("audit.json"), &json)?;
        let page = html::render(&html::ReportInput {
            title: format!("cleansplit audit: {}", outcome.root.display()),
            root: &outcome.root,
            records,
            leaks: &l,
            findings: &findings,
            max_items: args.max_items,
            max_pixels: args.scan.max_pixels,
            skipped: &outcome.layout.skipped,
            loader: outcome.loader,
        });
        staged.bytes(&dir.join("report.html"), page.as_bytes())?;
        staged.commit()?;
    }
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&json)?),
        OutputFormat::Text => {
            super::colour::print(&super::colour::paint_verdict(&text::audit::verdict(
                &findings,
            )));
            if let Some(note) = &balance_note {
                outln!("note: {note}");
            }
            if let Some(t) = &sources {
                out!(
                    "\nclasses x sources (from the merge manifest):\n{}",
                    t.render()
                );
            }
            if let Some(note) = &sources_note {
                outln!("note: {note}");
            }
            outln!(
                "\n{} images in {} split(s), {} skipped; scanned in {:.2} s ({} reused from the index)",
                records.len(),
                outcome.layout.splits.len().max(1),
                outcome.layout.skipped.len(),
                outcome.elapsed.as_secs_f64(),
                outcome.reused
            );
            match &args.out {
                Some(dir) => outln!(
                    "report: open {} in a browser",
                    dir.join("report.html").display()
                ),
                None => outln!("{}", audit::no_report_hint(&outcome)),
            }
        }
    }
    Ok(exit_code(&kinds, &args.fail_on))
}
