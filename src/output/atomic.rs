//! Atomic writes: every file cleansplit writes outside OUT's work folder (the index and its
//! sidecar, the reports of `leaks`/`audit --out`, `balance --out`, `man --out`) is written to a
//! temporary file beside it (`.NAME.cleansplit-tmp-XXXXXX`), flushed and synced, then renamed
//! over it. A reader never sees half a file; a failed or interrupted write (a full disk,
//! Ctrl-C) leaves the previous file as it was and removes the temporary one.
//!
//! Files that belong together (an audit's `pairs.csv`, `summary.json`, `report.html`, ...) are
//! staged together ([`Staged`]) and renamed one after another only once all of them are
//! complete, with interrupts held off during the renames: an interrupted run leaves the
//! previous set or the new one, never a mix.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::fault::Counted;

/// The writer handed to the functions that fill a file.
pub type Writer<'a> = dyn Write + 'a;

/// The name prefix of the temporary file for `path`.
pub fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    format!(".{name}.cleansplit-tmp-")
}

/// Files written to temporary names, renamed over their destinations by [`Staged::commit`].
/// Dropped without a commit, it removes its temporary files (and so does Ctrl-C: they are
/// registered with the interrupt handler).
#[derive(Default)]
pub struct Staged {
    files: Vec<(tempfile::TempPath, PathBuf, super::interrupt::Registered)>,
}

impl Staged {
    pub fn new() -> Staged {
        Staged::default()
    }

    /// Writes `path`'s new content to a temporary file beside it (creating its folder), through
    /// `fill`; flushed and synced to disk before this returns.
    pub fn file(
        &mut self,
        path: &Path,
        fill: impl FnOnce(&mut Writer) -> Result<()>,
    ) -> Result<()> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(path))
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        let registered = super::interrupt::register(tmp.path(), false);
        let (file, tmp_path) = tmp.into_parts();
        let cannot = || format!("cannot write {}", path.display());
        let mut w = io::BufWriter::new(Counted(&file));
        fill(&mut w).with_context(cannot)?;
        w.flush().with_context(cannot)?;
        drop(w);
        file.sync_all().with_context(cannot)?;
        self.files.push((tmp_path, path.to_path_buf(), registered));
        Ok(())
    }

    /// [`Staged::file`] with `bytes` as the content.
    pub fn bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.file(path, |w| Ok(w.write_all(bytes)?))
    }

    /// [`Staged::file`] with `value` as pretty JSON and a final newline.
    pub fn json<T: serde::Serialize + ?Sized>(&mut self, path: &Path, value: &T) -> Result<()> {
        self.file(path, |w| {
            serde_json::to_writer_pretty(&mut *w, value)?;
            w.write_all(b"\n")?;
            Ok(())
        })
    }

    /// Renames every staged file over its destination, in the order staged. Fails with
    /// [`super::interrupt::Interrupted`] (nothing renamed) if Ctrl-C came first; Ctrl-C during
    /// the renames waits for them.
    pub fn commit(self) -> Result<()> {
        let _hold = super::interrupt::hold_off()?;
        for (tmp, path, registered) in self.files {
            tmp.persist(&path)
                .map_err(|e| e.error)
                .with_context(|| format!("cannot write {}", path.display()))?;
            drop(registered);
        }
        Ok(())
    }
}

/// Writes one file atomically through `fill` (see the module doc).
pub fn write_file(path: &Path, fill: impl FnOnce(&mut Writer) -> Result<()>) -> Result<()> {
    let mut s = Staged::new();
    s.file(path, fill)?;
    s.commit()
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, |w| Ok(w.write_all(bytes)?))
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut s = Staged::new();
    s.json(path, value)?;
    s.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_previous_file_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("report.csv");
        write_bytes(&p, b"old\n").unwrap();
        let e = write_file(&p, |w| {
            w.write_all(b"half a ne")?;
            anyhow::bail!("the disk is full")
        })
        .unwrap_err();
        assert!(format!("{e:#}").contains("cannot write"), "{e:#}");
        assert_eq!(fs::read(&p).unwrap(), b"old\n");
        assert_eq!(
            fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn a_set_appears_only_when_complete() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("r/a.csv"), d.path().join("r/b.json"));
        let mut s = Staged::new();
        s.bytes(&a, b"new a").unwrap();
        s.json(&b, &[1, 2]).unwrap();
        assert!(
            !a.exists() && !b.exists(),
            "nothing renamed before the commit"
        );
        s.commit().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"new a");
        assert_eq!(fs::read_to_string(&b).unwrap(), "[\n  1,\n  2\n]\n");
        // A set whose second file fails leaves the first one as it was.
        let mut s = Staged::new();
        s.bytes(&a, b"newer a").unwrap();
        assert!(s.file(&b, |_| anyhow::bail!("full")).is_err());
        drop(s);
        assert_eq!(fs::read(&a).unwrap(), b"new a");
        assert_eq!(fs::read_dir(d.path().join("r")).unwrap().count(), 2);
    }
}
