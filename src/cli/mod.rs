//! Command-line interface: one file per subcommand, each with its arguments (and their help
//! text) at the top and a thin `run` that calls the library.
//!
//! Exit codes: 0 the run completed (findings are not failures), 1 findings named by
//! `--fail-on` exist, 2 ROOT, the index or an output cannot be used.

// The argument doc comments are clap's help text (`ROOT/<split>/<class>/<file>`), not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod audit;
mod balance;
mod colour;
mod completions;
pub mod embedded;
mod enums;
mod leaks;
mod merge;
mod merge_index;
mod out;
mod scan;
mod shortcuts;
mod split;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use out::{errln, outln};

use cleansplit::audit::Kinds;
use cleansplit::base::notify::Notice;
use cleansplit::layout::LayoutOptions;
use cleansplit::output::interrupt;
use cleansplit::scan::{DEFAULT_MAX_PIXELS, ScanError, ScanOptions};

#[derive(Parser)]
#[command(name = "cleansplit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Scan(scan::Args),
    Leaks(leaks::Args),
    Balance(balance::Args),
    Split(split::Args),
    Audit(audit::Args),
    Merge(merge::Args),
    MergeIndex(merge_index::Args),
    Completions(completions::CompletionArgs),
    Man(completions::ManArgs),
    Shortcuts(shortcuts::Args),
}

/// Options every command that reads a dataset shares: where it is, how it is laid out, and
/// how to (re)scan it.
#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Dataset root: ROOT/<split>/<class>/<file>, ROOT/<class>/<file>, or with --labels
    /// ROOT/<split>/<file> or ROOT/<file>.
    pub root: PathBuf,
    /// Index file (default: the user's cache directory, keyed by ROOT's canonical path).
    #[arg(long, value_name = "PATH")]
    pub index: Option<PathBuf>,
    /// Worker threads (default: all cores; at most 4 per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// First-level folders that are splits (default: names like train, val, test).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    pub splits: Option<Vec<String>>,
    /// CSV of `file name or stem,label` for layouts without class folders.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Images with more pixels are not decoded (status too_large).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Re-read every file, ignoring the index.
    #[arg(long)]
    pub rehash: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// The training loader whose view every count, weight and split follows: which files it
    /// lists (by extension) and can decode (docs/GUIDE.md "Loaders").
    #[arg(long, value_enum, default_value_t = enums::LoaderArg::Keras)]
    pub loader: enums::LoaderArg,
}

impl ScanArgs {
    pub fn options(&self) -> ScanOptions {
        ScanOptions {
            layout: LayoutOptions {
                splits: self.splits.clone(),
                labels: self.labels.clone(),
            },
            index: self.index.clone(),
            jobs: self.jobs,
            max_pixels: self.max_pixels,
            rehash: self.rehash,
            progress: !self.quiet,
            loader: self.loader.into(),
            shard: None,
        }
    }
}

/// How a command prints its report on stdout.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Findings that `--fail-on` can turn into exit code 1.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Duplicates across splits.
    Leak,
    /// One image under more than one class.
    Conflict,
    /// Duplicates within one split.
    Duplicate,
    /// Corrupt, empty, truncated or unsupported files, and files the --loader does not load.
    Problem,
    /// File metadata predicts the class far above the baseline (the shortcut check).
    Shortcut,
    /// Images of one subject (by the subject id in the file names) in more than one split.
    Subject,
    /// Any of the above.
    Any,
}

/// Where a run's notes go: stdout, stderr (when stdout carries JSON), or nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notes {
    Stdout,
    Stderr,
    Nowhere,
}

/// Prints a run's notices as they come: warnings on stderr as `cleansplit: warning: ...`,
/// notes where `notes` says.
pub fn print_notices(notes: Notes) -> impl FnMut(Notice) {
    move |n| match (n, notes) {
        (Notice::Warning(w), _) => errln!("cleansplit: warning: {w}"),
        (Notice::Note(s), Notes::Stdout) => outln!("{s}"),
        (Notice::Note(s), Notes::Stderr) => errln!("{s}"),
        (Notice::Note(_), Notes::Nowhere) => {}
    }
}

/// 1 when a finding named in `fail_on` exists, else 0.
pub fn exit_code(kinds: &Kinds, fail_on: &[FailOn]) -> ExitCode {
    let hit = fail_on.iter().any(|f| match f {
        FailOn::Leak => kinds.leak,
        FailOn::Conflict => kinds.conflict,
        FailOn::Duplicate => kinds.duplicate,
        FailOn::Problem => kinds.problem,
        FailOn::Shortcut => kinds.shortcut,
        FailOn::Subject => kinds.subject,
        FailOn::Any => {
            kinds.leak
                || kinds.conflict
                || kinds.duplicate
                || kinds.problem
                || kinds.shortcut
                || kinds.subject
        }
    });
    if hit {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The binary's `main`: parses the process's arguments, runs the command, and maps errors to
/// exit code 2 with a one-line message (130 after Ctrl-C).
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// [`main`] with the given arguments, the program's name first (the Python module's
/// `cleansplit` program runs this).
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    quiet_decoder_panics();
    if let Err(e) = cleansplit::output::interrupt::install_handler() {
        errln!("cleansplit: warning: {e:#}");
    }
    match run(cli, true) {
        Ok(code) => code,
        Err(e) => {
            errln!("cleansplit: {e:#}");
            if interrupted(&e) {
                ExitCode::from(interrupt::EXIT_INTERRUPTED)
            } else if is_bug(&e) {
                // Our own bug: Rust's exit code for a panic, after the panic message itself.
                ExitCode::from(101)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// A panic in cleansplit's own code during the scan (not a decoder's).
fn is_bug(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| matches!(c.downcast_ref(), Some(ScanError::Bug { .. })))
}

/// The binary's panic hook: a panic inside a decoder guard is caught and counted by the scan
/// (`scan::guard`), so it prints nothing; every other panic prints as usual (our bug).
fn quiet_decoder_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !cleansplit::scan::guard::inside_decoder() {
            previous(info);
        }
    }));
}

fn interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<interrupt::Interrupted>()
            || c.is::<interrupt::Stopped>()
            || matches!(c.downcast_ref(), Some(ScanError::Interrupted(_)))
    })
}

/// Runs a parsed command; `process` is false inside a host program ([`embedded`]), which
/// sizes its own thread pool.
fn run(cli: Cli, process: bool) -> anyhow::Result<ExitCode> {
    let scan_args = match &cli.command {
        Command::Scan(a) => Some(&a.scan),
        Command::Leaks(a) => Some(&a.scan),
        Command::Balance(a) => Some(&a.scan),
        Command::Split(a) => Some(&a.scan),
        Command::Audit(a) => Some(&a.scan),
        Command::Merge(_) | Command::MergeIndex(_) | Command::Completions(_) | Command::Man(_) => {
            None
        }
        Command::Shortcuts(a) => Some(&a.scan),
    };
    // Options are checked before anything is scanned or written (merge checks its own).
    if let Some(Err(e)) = scan_args.map(|a| a.options().validate()) {
        return Err(e);
    }
    if process {
        // --jobs bounds every parallel step (scan, search, thumbnails), not only the scan.
        cleansplit::scan::set_jobs(jobs_of(&cli));
    }
    match cli.command {
        Command::Scan(a) => scan::run(a),
        Command::Leaks(a) => leaks::run(a),
        Command::Balance(a) => balance::run(a),
        Command::Split(a) => split::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Merge(a) => merge::run(a),
        Command::MergeIndex(a) => merge_index::run(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
        Command::Shortcuts(a) => shortcuts::run(a),
    }
}

/// `--jobs` of the command, if it has one.
fn jobs_of(cli: &Cli) -> Option<usize> {
    match &cli.command {
        Command::Scan(a) => a.scan.jobs,
        Command::Leaks(a) => a.scan.jobs,
        Command::Balance(a) => a.scan.jobs,
        Command::Split(a) => a.scan.jobs,
        Command::Audit(a) => a.scan.jobs,
        Command::Shortcuts(a) => a.scan.jobs,
        Command::Merge(a) => a.jobs,
        Command::MergeIndex(_) | Command::Completions(_) | Command::Man(_) => None,
    }
}
