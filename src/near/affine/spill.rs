//! Partitions of `u64` entries, in memory while they are small and in one temporary file
//! beside the features sidecar when they are not: at a million images the descriptor keys are
//! gigabytes, far more than the 400 bytes per image `leaks` may hold (issue 22), but each
//! partition alone fits, so the votes read one partition at a time.
//!
//! The file holds *blocks*: a partition's entries are buffered until [`BLOCK`] of them are
//! there, then appended as one block, and a partition is read back by its blocks' offsets.
//! One file (not one per partition) keeps the count of open files at one whatever the size.
//! It is removed when the store is dropped, or by the interrupt handler
//! (`crate::output::interrupt`). It lives in the folder of the sidecar the scan wrote, which
//! the scan has already checked lies outside ROOT.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::output::interrupt;
use crate::scan::features::sidecar::read_exact_at;

/// Entries per block (16 KB): the buffer each partition holds while its entries are made
/// (at a million images 512 partitions: 8 MB).
pub const BLOCK: usize = 2 * 1024;

/// Where the partitions are kept.
pub enum Store {
    Memory(Vec<Vec<u64>>),
    File(Spilled),
}

/// Partitions in a temporary file.
pub struct Spilled {
    file: tempfile::NamedTempFile,
    /// Per partition: its blocks' `(offset in entries, length)`.
    blocks: Vec<Vec<(u64, usize)>>,
    /// Per partition: the entries not yet in a block.
    pending: Vec<Vec<u64>>,
    /// Entries in the file.
    end: u64,
    _guard: interrupt::Registered,
}

impl Store {
    /// `parts` partitions in memory.
    pub fn memory(parts: usize) -> Store {
        Store::Memory(vec![Vec::new(); parts])
    }

    /// `parts` partitions in a temporary file created in `beside`.
    pub fn file(parts: usize, beside: &Path) -> Result<Store> {
        let file = tempfile::Builder::new()
            .prefix(".cleansplit-affine-")
            .tempfile_in(beside)
            .with_context(|| format!("cannot create a temporary file in {}", beside.display()))?;
        let guard = interrupt::register(file.path(), false);
        Ok(Store::File(Spilled {
            file,
            blocks: vec![Vec::new(); parts],
            pending: vec![Vec::new(); parts],
            end: 0,
            _guard: guard,
        }))
    }

    /// Appends `entries` to partition `p`.
    pub fn push(&mut self, p: usize, entries: &[u64]) -> Result<()> {
        match self {
            Store::Memory(parts) => parts[p].extend_from_slice(entries),
            Store::File(s) => {
                s.pending[p].extend_from_slice(entries);
                if s.pending[p].len() >= BLOCK {
                    s.flush(p)?;
                }
            }
        }
        Ok(())
    }

    /// The partitions, ready to be read one at a time (from any thread).
    pub fn finish(self) -> Result<Finished> {
        match self {
            Store::Memory(parts) => Ok(Finished::Memory(
                parts.into_iter().map(std::sync::Mutex::new).collect(),
            )),
            Store::File(mut s) => {
                for p in 0..s.pending.len() {
                    s.flush(p)?;
                }
                // The buffers are kept for reuse while entries come; none come now (at a
                // million images they are 16 MB).
                s.pending = Vec::new();
                s.file
                    .as_file_mut()
                    .flush()
                    .context("cannot write the affine search's temporary keys")?;
                Ok(Finished::File(s))
            }
        }
    }
}

impl Spilled {
    /// Writes partition `p`'s pending entries as a block.
    fn flush(&mut self, p: usize) -> Result<()> {
        let entries = std::mem::take(&mut self.pending[p]);
        if entries.is_empty() {
            return Ok(());
        }
        self.file
            .as_file_mut()
            .write_all(bytemuck::cast_slice(&entries))
            .context("cannot write the affine search's temporary keys (is the disk full?)")?;
        self.blocks[p].push((self.end, entries.len()));
        self.end += entries.len() as u64;
        // The buffer is reused for the partition's next block.
        self.pending[p] = entries;
        self.pending[p].clear();
        Ok(())
    }
}

/// Partitions written and closed.
pub enum Finished {
    Memory(Vec<std::sync::Mutex<Vec<u64>>>),
    File(Spilled),
}

impl Finished {
    pub fn parts(&self) -> usize {
        match self {
            Finished::Memory(parts) => parts.len(),
            Finished::File(s) => s.blocks.len(),
        }
    }

    /// Partition `p`'s entries.
    pub fn len(&self, p: usize) -> usize {
        match self {
            Finished::Memory(parts) => parts[p].lock().unwrap_or_else(|e| e.into_inner()).len(),
            Finished::File(s) => s.blocks[p].iter().map(|b| b.1).sum(),
        }
    }

    /// Partition `p`'s entries, into `buf` (each partition is taken once).
    pub fn take(&self, p: usize, buf: &mut Vec<u64>) -> Result<()> {
        match self {
            Finished::Memory(parts) => {
                // The partition itself, no copy (and nothing left in its place).
                *buf = std::mem::take(&mut *parts[p].lock().unwrap_or_else(|e| e.into_inner()));
            }
            Finished::File(s) => {
                let total: usize = s.blocks[p].iter().map(|b| b.1).sum();
                // Every entry is read over: only what the buffer lacks is zeroed first.
                buf.truncate(total);
                buf.resize(total, 0);
                let mut at = 0;
                for &(offset, len) in &s.blocks[p] {
                    read_exact_at(
                        s.file.as_file(),
                        bytemuck::cast_slice_mut(&mut buf[at..at + len]),
                        offset * 8,
                    )
                    .with_context(|| format!("cannot read {}", s.file.path().display()))?;
                    at += len;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_memory_give_back_what_was_pushed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let many: Vec<u64> = (0..(2 * BLOCK + 5) as u64).collect();
        for mut store in [Store::memory(3), Store::file(3, dir.path()).expect("file")] {
            store.push(0, &[1, 2]).expect("push");
            store.push(2, &many).expect("push");
            store.push(0, &[3]).expect("push");
            store.push(2, &[u64::MAX]).expect("push");
            let done = store.finish().expect("finish");
            assert_eq!(done.parts(), 3);
            assert_eq!(
                (done.len(0), done.len(1), done.len(2)),
                (3, 0, many.len() + 1)
            );
            let mut buf = vec![7];
            done.take(0, &mut buf).expect("take");
            assert_eq!(buf, vec![1, 2, 3]);
            done.take(1, &mut buf).expect("take");
            assert_eq!(buf, Vec::<u64>::new());
            done.take(2, &mut buf).expect("take");
            assert_eq!(buf.len(), many.len() + 1);
            assert_eq!(&buf[..many.len()], &many[..]);
            assert_eq!(buf[many.len()], u64::MAX);
            // A file's partition read again into the larger buffer: nothing of it is left.
            if matches!(done, Finished::File(_)) {
                done.take(0, &mut buf).expect("take");
                assert_eq!(buf, vec![1, 2, 3]);
            }
        }
        // The temporary file is gone once the store is dropped.
        assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
    }
}
