//! Printing that survives a closed pipe: `cleansplit leaks ROOT | head -3` closes stdout early,
//! and `println!` would panic on the broken pipe. Here a closed stdout or stderr just ends the
//! printing; the command's work and exit code stay as they are. Other write errors are
//! reported once on stderr.
//!
//! Inside a host program (the Python module, [`capture`]) both go to strings instead, which
//! the host returns or turns into warnings.

use std::cell::RefCell;
use std::fmt;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// What this thread printed to stdout and stderr inside [`capture`].
    static CAPTURED: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Runs `f` with everything this thread prints (`out!`, `outln!`, `errln!`) kept instead of
/// written; returns `f`'s result and the stdout and stderr text.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, String, String) {
    CAPTURED.with(|c| *c.borrow_mut() = Some(Default::default()));
    let r = f();
    let (o, e) = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (r, o, e)
}

/// Appends to the captured stdout (`err` false) or stderr; false when nothing is capturing.
fn captured(err: bool, args: fmt::Arguments) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some((o, e)) => {
            let _ = if err { e } else { o }.write_fmt(args);
            true
        }
        None => false,
    })
}

/// Writes to stdout; after a broken pipe, does nothing.
pub fn stdout(args: fmt::Arguments) {
    if captured(false, args) || STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut o = io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.flush()) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            stderr(format_args!("cleansplit: cannot write to stdout: {e}\n"));
        }
    }
}

/// Writes to stderr, ignoring failures (there is nowhere left to report them).
pub fn stderr(args: fmt::Arguments) {
    if captured(true, args) {
        return;
    }
    let _ = io::stderr().lock().write_fmt(args);
}

/// `print!` that does not panic on a closed stdout.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::out::stdout(format_args!($($t)*)) };
}

/// `println!` that does not panic on a closed stdout.
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::out::stdout(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprintln!` that does not panic on a closed stderr.
macro_rules! errln {
    ($($t:tt)*) => { $crate::cli::out::stderr(format_args!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {errln, out, outln};
