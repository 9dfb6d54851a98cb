//! Writing one output file: its folder made, the bytes buffered, every failure naming the file.

use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context, Result};

/// Creates `path` (and its folder) and hands a buffered writer to `f`.
pub fn write_file(
    path: &Path,
    f: impl FnOnce(&mut io::BufWriter<fs::File>) -> Result<()>,
) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file =
        fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = io::BufWriter::new(file);
    f(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
    io::Write::flush(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    write_file(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        io::Write::write_all(w, b"\n")?;
        Ok(())
    })
}
