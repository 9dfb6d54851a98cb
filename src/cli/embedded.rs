//! The command line inside a host program (the Python module): the same arguments, defaults,
//! checks and outputs as the `cleansplit` program, run by a call instead of a process.
//!
//! What differs from [`super::main`]: no signal handler (the host turns its own interrupt into
//! `interrupt::request`), no process-wide thread pool (`--jobs` sizes a pool for this call
//! only, so calls do not see each other's), no terminal progress bar (scans count into the
//! host's [`Progress`]), stdout and stderr kept as text, and the error returned as a
//! [`Failure`] the host can map to its own exception types.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use clap::Parser;

use super::{Cli, interrupted, out, run};
use cleansplit::scan::ScanError;
use cleansplit::scan::progress::{self, Progress};

/// What a command did: its exit code (0, or 1 for findings named by `--fail-on`) or why it
/// failed, and what it printed (on stderr: its warnings, also when it failed).
#[derive(Debug)]
pub struct Ran {
    pub result: Result<u8, Failure>,
    pub stdout: String,
    pub stderr: String,
}

/// Why a command failed; every message is the command line's one-line message (without the
/// `cleansplit: ` prefix).
#[derive(Debug)]
pub enum Failure {
    /// The arguments, or an option refused before any data was read (the program's exit 2
    /// before a scan).
    Options(String),
    /// ROOT (or a source) cannot be read; `missing` when it does not exist.
    Root { message: String, missing: bool },
    /// An interrupt was requested (`interrupt::request`); whatever the command was writing has
    /// been removed.
    Interrupted(String),
    /// Anything else the program reports with exit 2 (an index or an output that cannot be
    /// used, ...).
    Other(String),
}

/// Runs `cleansplit ARGS` (`args` without the program's name) as described in the module doc.
pub fn run_command<I, T>(args: I, watch: Arc<Progress>) -> Ran
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let failed = |f| Ran {
        result: Err(f),
        stdout: String::new(),
        stderr: String::new(),
    };
    let argv =
        std::iter::once(OsString::from("cleansplit")).chain(args.into_iter().map(Into::into));
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => return failed(Failure::Options(clap_message(&e.to_string()))),
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        // An out-of-range --jobs is refused by the command's own checks, not spawned.
        .num_threads(
            super::jobs_of(&cli)
                .filter(|&j| j <= cleansplit::scan::max_jobs())
                .unwrap_or(0),
        )
        .build()
    {
        Ok(p) => p,
        Err(e) => return failed(Failure::Other(format!("cannot start threads: {e}"))),
    };
    let started = watch.clone();
    let (result, stdout, stderr) =
        pool.install(|| out::capture(|| progress::watch(watch, || run(cli, false))));
    let result = result
        .map(code_of)
        .map_err(|e| classify(&e, started.started.load(Ordering::Relaxed)));
    Ran {
        result,
        stdout,
        stderr,
    }
}

/// The exit code as a number (`ExitCode` has no getter; the commands return 0, 1, 2 or 130).
pub fn code_of(code: ExitCode) -> u8 {
    (0..=u8::MAX)
        .find(|&n| ExitCode::from(n) == code)
        .unwrap_or(1)
}

fn classify(e: &anyhow::Error, scanned: bool) -> Failure {
    let message = format!("{e:#}");
    if interrupted(e) {
        return Failure::Interrupted(message);
    }
    let not_found = |e: &anyhow::Error| {
        e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
        })
    };
    let root = e.chain().find_map(|c| match c.downcast_ref() {
        Some(ScanError::Root(inner)) => Some(inner),
        _ => None,
    });
    if let Some(inner) = root {
        let missing = not_found(inner);
        return Failure::Root { message, missing };
    }
    // A merge opens its sources before it scans them.
    if !scanned && not_found(e) {
        return Failure::Root {
            message,
            missing: true,
        };
    }
    if !scanned {
        return Failure::Options(message);
    }
    Failure::Other(message)
}

/// clap's error as one line: `invalid value 'x' for '--geometric <GEOMETRIC>' [possible
/// values: none, flip, all]`, without `error: ` and the `--help` hint.
fn clap_message(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ")
}
