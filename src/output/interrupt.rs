//! Interrupted runs leave nothing behind.
//!
//! `split` builds OUT in a hidden work folder beside it (`.OUT.cleansplit-tmp-XXXXXX`), which
//! holds an OS lock (`flock` on the folder) for as long as the writing process lives; every
//! other output is written to a temporary file beside it and renamed (`output::atomic`).
//! Both register with this module while they exist ([`register`]; any number at once).
//! - Ctrl-C, SIGTERM or SIGHUP ([`install_handler`], via the `ctrlc` crate): a writer stops
//!   after the file it is placing and removes its work folder; renames already under way
//!   ([`hold_off`]) finish; then whatever is still registered is removed, each path named as
//!   removed only when it was, and the command exits 130.
//! - Inside a host program (the Python module: KeyboardInterrupt, a notebook's stop button),
//!   the host calls [`request`] instead of a signal ending the process: the scan stops within a
//!   few files with [`Stopped`] (nothing written: the index is written at its end), a split's
//!   writer as above; the host calls [`reset`] before its next call.
//! - SIGKILL or a power cut cannot be caught: the next `split` to the same OUT finds work
//!   folders whose lock nobody holds ([`remove_stale`]), removes them and says so.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_INTERRUPTED: u8 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Renames under way ([`hold_off`]): the handler waits for them.
static HELD: AtomicUsize = AtomicUsize::new(0);

/// A registered temporary output: its id, path, and whether it is a work folder (whose
/// writer cleans it up itself when it sees the interrupt).
struct Entry {
    id: u64,
    path: PathBuf,
    folder: bool,
}

struct Registry {
    next: u64,
    entries: Vec<Entry>,
}

/// Every temporary output of the process (work folders and temporary files).
static ACTIVE: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    entries: Vec::new(),
});

/// The error a write returns when it stopped for an interrupt (after removing its work).
#[derive(Debug, thiserror::Error)]
#[error("interrupted; removed the unfinished {0}")]
pub struct Interrupted(pub PathBuf);

/// The error a scan returns when an interrupt was requested before it finished (it wrote
/// nothing).
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Stopped;

/// Asks the running command to stop, as Ctrl-C does, without ending the process (for a host
/// program that handles the signal itself, see the module doc).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Forgets an earlier [`request`] (a host program, before its next call).
pub fn reset() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Has Ctrl-C (or SIGTERM/SIGHUP) arrived?
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Handles Ctrl-C, SIGTERM and SIGHUP for the rest of the process (the binary calls this once).
pub fn install_handler() -> Result<()> {
    ctrlc::set_handler(on_signal).context("cannot install the Ctrl-C handler")
}

/// A temporary output registered for removal on Ctrl-C; unregistered on drop.
#[must_use]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut a) = ACTIVE.lock() {
            a.entries.retain(|e| e.id != self.0);
        }
    }
}

/// Registers `path` (a temporary file, or a work folder when `folder`) for removal if the
/// process is interrupted before the returned guard is dropped.
pub fn register(path: &Path, folder: bool) -> Registered {
    let mut a = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    a.next += 1;
    let id = a.next;
    a.entries.push(Entry {
        id,
        path: path.to_path_buf(),
        folder,
    });
    Registered(id)
}

/// Renames under way: Ctrl-C waits for the guard to drop.
#[must_use]
pub struct HoldOff(());

impl Drop for HoldOff {
    fn drop(&mut self) {
        HELD.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Holds interrupts off while a set of outputs is renamed into place, so a run leaves the
/// previous set or the new one. Fails with [`Interrupted`] if Ctrl-C has already arrived.
pub fn hold_off() -> Result<HoldOff> {
    HELD.fetch_add(1, Ordering::SeqCst);
    let guard = HoldOff(());
    if requested() {
        return Err(Interrupted(PathBuf::from("output (nothing was replaced)")).into());
    }
    Ok(guard)
}

fn snapshot() -> Vec<(PathBuf, bool)> {
    ACTIVE
        .lock()
        .map(|a| {
            a.entries
                .iter()
                .map(|e| (e.path.clone(), e.folder))
                .collect()
        })
        .unwrap_or_default()
}

fn on_signal() {
    REQUESTED.store(true, Ordering::SeqCst);
    // Renames under way finish; writers check between files and remove their own work
    // folders: give them time, then clean up from here what is left.
    let start = Instant::now();
    let busy = || HELD.load(Ordering::SeqCst) > 0 || snapshot().iter().any(|&(_, folder)| folder);
    while busy() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for (path, folder) in snapshot() {
        let removed = match folder {
            true => fs::remove_dir_all(&path),
            false => fs::remove_file(&path),
        };
        match removed {
            Ok(()) if folder => eprintln!(
                "cleansplit: interrupted; removed the unfinished {}",
                path.display()
            ),
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!(
                "cleansplit: interrupted; could not remove the unfinished {}: {e}",
                path.display()
            ),
        }
    }
    std::process::exit(EXIT_INTERRUPTED.into());
}

/// Test hook (`CLEANSPLIT_PAUSE_AFTER_FILES`, see `output::fault`): waits up to a minute for
/// Ctrl-C, telling the test on stderr that it is waiting.
#[doc(hidden)]
pub fn pause_for_test() {
    if !crate::output::fault::ENABLED {
        return;
    }
    eprintln!("cleansplit: paused for a test");
    let start = Instant::now();
    while !requested() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The name prefix of the work folders for OUT named `name`.
pub fn work_prefix(name: &str) -> String {
    format!(".{name}.cleansplit-tmp-")
}

/// A locked work folder beside OUT; removed on drop unless [`WorkDir::finish`] moved it.
pub struct WorkDir {
    dir: Option<tempfile::TempDir>,
    _lock: Option<File>,
    registered: Option<Registered>,
}

impl WorkDir {
    /// Creates `parent/.{name}.cleansplit-tmp-XXXXXX`, locks it and registers it for the
    /// signal handler.
    pub fn create(parent: &Path, name: &str) -> Result<WorkDir> {
        let dir = tempfile::Builder::new()
            .prefix(&work_prefix(name))
            .tempdir_in(parent)
            .with_context(|| format!("cannot create a temporary folder in {}", parent.display()))?;
        // Where folders cannot be opened as files (Windows), there is no lock, and
        // `remove_stale` leaves such folders alone.
        let lock = File::open(dir.path()).ok().filter(|f| f.lock().is_ok());
        let registered = Some(register(dir.path(), true));
        Ok(WorkDir {
            dir: Some(dir),
            _lock: lock,
            registered,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    /// Fails with [`Interrupted`] (removing the folder) if Ctrl-C has arrived.
    pub fn check(&mut self) -> Result<()> {
        if requested() {
            let path = self.path().to_path_buf();
            if let Some(d) = self.dir.take() {
                let closed = d.close();
                self.registered.take();
                closed.with_context(|| {
                    format!(
                        "interrupted; cannot remove the unfinished {}",
                        path.display()
                    )
                })?;
            }
            self.registered.take();
            return Err(Interrupted(path).into());
        }
        Ok(())
    }

    /// Renames the folder to `out`.
    pub fn finish(mut self, out: &Path) -> Result<()> {
        self.check()?;
        let Some(dir) = self.dir.take() else {
            return Ok(());
        };
        let path = dir.keep();
        let moved = {
            let _hold = hold_off();
            fs::rename(&path, out)
        };
        if moved.is_err() {
            let _ = fs::remove_dir_all(&path);
        }
        self.registered.take();
        moved.with_context(|| format!("cannot move the result to {}", out.display()))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        // `TempDir` removes the folder itself.
        self.dir.take();
        self.registered.take();
    }
}

/// Removes the work folders for OUT (`parent/.{name}.cleansplit-tmp-*`) that no live process
/// holds: what a killed run left. Returns the folders removed.
pub fn remove_stale(parent: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = work_prefix(name);
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let is_ours = e
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
            && e.file_type().is_ok_and(|t| t.is_dir());
        if !is_ours {
            continue;
        }
        let path = e.path();
        // Held by a live writer: `try_lock` fails; its lock dies with its process.
        let free = File::open(&path).is_ok_and(|f| f.try_lock().is_ok());
        if free && fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_folders_go_live_ones_stay() {
        let d = tempfile::tempdir().unwrap();
        let stale = d.path().join(format!("{}abc123", work_prefix("out")));
        fs::create_dir_all(stale.join("train/cat")).unwrap();
        fs::write(stale.join("train/cat/a.jpg"), b"x").unwrap();
        let other = d.path().join(".other.cleansplit-tmp-abc");
        fs::create_dir(&other).unwrap();
        let live = WorkDir::create(d.path(), "out").unwrap();
        assert_eq!(remove_stale(d.path(), "out"), vec![stale.clone()]);
        assert!(!stale.exists());
        assert!(other.exists(), "another OUT's folder is not ours");
        assert!(live.path().exists(), "a held folder stays");
        let live_path = live.path().to_path_buf();
        drop(live);
        assert!(!live_path.exists());
    }

    #[test]
    fn finish_moves_the_folder() {
        let d = tempfile::tempdir().unwrap();
        let w = WorkDir::create(d.path(), "out").unwrap();
        fs::write(w.path().join("f"), b"x").unwrap();
        w.finish(&d.path().join("out")).unwrap();
        assert!(d.path().join("out/f").exists());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
