//! The Python module `cleansplit._native` (feature `python`, built into the wheel by maturin):
//! the command line run by a call, for the pure-Python API in `python/cleansplit/`, and the
//! wheel's `cleansplit` program.
//!
//! One call at a time per process (a lock): each call runs its command on a thread of its own
//! with the GIL released, while the calling thread wakes every 100 ms to report progress and to
//! let Python's signal handlers run. On KeyboardInterrupt (Ctrl-C, a notebook's stop button)
//! the command is asked to stop (`interrupt::request`: a scan stops within a few files and
//! writes nothing; a split's writer removes its work folder) and the exception is raised as
//! soon as the command has stopped, or after a second at most; a command still busy then
//! finishes on its own, its output folder removed, before the next call starts.
//!
//! Nothing outlives a call: its outputs come back as text for Python to parse, its thread pool
//! is its own, the interrupt flag is cleared before it, and the path arena
//! (`base::rel_path`) is freed after it. Interned names (`index::Name`) stay: one copy per
//! distinct split, class or colour-type text the process has met.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::base::rel_path;
use crate::cli::embedded::{self, Failure, Ran};
use crate::output::interrupt;
use crate::scan::progress::Progress;

/// Held by the thread running a call's command, from before it starts until the arena is freed
/// after it.
static RUN: Mutex<()> = Mutex::new(());

/// How often the waiting caller looks at Python's signals and the progress.
const TICK: Duration = Duration::from_millis(100);
/// How long an interrupted call waits for its command to stop before raising anyway.
const STOP_WAIT: Duration = Duration::from_secs(1);

/// run(args, progress=None, cleanup=None) -> (exit_code, stdout, stderr)
///
/// Runs `cleansplit ARGS` (`args` without the program name) in this process and returns its
/// exit code (0, or 1 for findings named by --fail-on) and what it printed. `progress` is
/// called as progress(done, total) with the images read so far while a scan runs. `cleanup`
/// is a folder removed if the call is abandoned after KeyboardInterrupt and the command
/// finishes later. Raises the exceptions of `cleansplit._errors` with the program's one-line
/// message.
#[pyfunction]
#[pyo3(signature = (args, progress=None, cleanup=None))]
fn run(
    py: Python<'_>,
    args: Vec<String>,
    progress: Option<Bound<'_, PyAny>>,
    cleanup: Option<PathBuf>,
) -> PyResult<(u8, String, String)> {
    let watch = Arc::new(Progress::default());
    let cancelled = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<Ran>();
    {
        let (watch, cancelled) = (watch.clone(), cancelled.clone());
        std::thread::Builder::new()
            .name("cleansplit".into())
            .spawn(move || {
                let _one = RUN.lock().unwrap_or_else(|e| e.into_inner());
                interrupt::reset();
                // Cancelled while an earlier call still ran: nothing to do.
                let ran = if cancelled.load(Ordering::SeqCst) {
                    None
                } else {
                    Some(embedded::run_command(args, watch))
                };
                // SAFETY: the command has returned and dropped everything it made; what
                // it gives back is text. No other command runs (`RUN`).
                unsafe { rel_path::release_all() };
                crate::base::memory::release_freed();
                let sent = ran.is_some_and(|r| tx.send(r).is_ok());
                if !sent && let Some(dir) = cleanup {
                    // The caller is gone (KeyboardInterrupt): leave nothing behind.
                    let _ = std::fs::remove_dir_all(dir);
                }
            })
            .map_err(|e| error(py, "Error", format!("cannot start a thread: {e}")))?;
    }
    // `detach` needs what it borrows to be `Sync`.
    let rx = Mutex::new(rx);
    let recv = |wait| {
        rx.lock()
            .map_or(Err(mpsc::RecvTimeoutError::Disconnected), |r| {
                r.recv_timeout(wait)
            })
    };
    let mut shown = (u64::MAX, u64::MAX);
    let ran = loop {
        match py.detach(|| recv(TICK)) {
            Ok(ran) => break ran,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(error(
                    py,
                    "Error",
                    "internal error: the command ended without a result".into(),
                ));
            }
        }
        let stop = py.check_signals().and_then(|()| match &progress {
            Some(cb) => {
                let now = (
                    watch.done.load(Ordering::Relaxed),
                    watch.total.load(Ordering::Relaxed),
                );
                if now != shown {
                    shown = now;
                    cb.call1(now)?;
                }
                Ok(())
            }
            None => Ok(()),
        });
        if let Err(e) = stop {
            cancelled.store(true, Ordering::SeqCst);
            interrupt::request();
            // Give the command a moment to stop and clean up, then raise in any case.
            let _ = py.detach(|| recv(STOP_WAIT));
            return Err(e);
        }
    };
    match ran.result {
        Ok(code) => Ok((code, ran.stdout, ran.stderr)),
        Err(f) => Err(failure(py, f, ran.stderr)),
    }
}

/// The exception of `cleansplit._errors` for a failure.
fn failure(py: Python<'_>, f: Failure, stderr: String) -> PyErr {
    let e = match f {
        Failure::Options(m) => error(py, "OptionError", m),
        Failure::Root {
            message,
            missing: true,
        } => error(py, "RootNotFoundError", message),
        Failure::Root { message, .. } => error(py, "RootError", message),
        Failure::Interrupted(m) => PyKeyboardInterrupt::new_err(m),
        Failure::Other(m) => error(py, "Error", m),
    };
    // What the command warned about before it failed, for the curious.
    let _ = e.value(py).setattr("stderr", stderr);
    e
}

fn error(py: Python<'_>, class: &str, message: String) -> PyErr {
    let made = py
        .import("cleansplit._errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((message.clone(),)));
    match made {
        Ok(v) => PyErr::from_value(v),
        Err(e) => e,
    }
}

/// cli_main(argv) -> exit code
///
/// The `cleansplit` program: runs the command line with `argv` (the program name first), as the
/// Rust binary does, printing to this process's stdout and stderr.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| embedded::code_of(crate::cli::main_from(argv)))
}

/// arena_bytes() -> int
///
/// Bytes the path arena holds now (0 between calls: it is freed after each).
#[pyfunction]
fn arena_bytes() -> usize {
    rel_path::arena_bytes()
}

/// busy() -> bool
///
/// Whether a command is running (or finishing after a KeyboardInterrupt): the next call waits
/// for it.
#[pyfunction]
fn busy() -> bool {
    matches!(RUN.try_lock(), Err(std::sync::TryLockError::WouldBlock))
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(arena_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(busy, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
