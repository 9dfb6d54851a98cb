//! Writing the sidecar: fresh features to a pending temporary file as the scan makes them,
//! then the new sidecar as a merge in digest order of the fresh, pending and kept entries
//! ([`write_atomic`]), or from a stream ([`write_streamed`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::{
    DESC, FEATURE_VERSION, HEADER, MAGIC, POINT, ROW, Row, Sidecar, encode, read_exact_at,
};
use crate::index::Digest;
use crate::scan::features::Features;

/// Fresh features written to a temporary file beside the sidecar as the scan makes them, so
/// a scan of a million images holds about 40 bytes per image for them, not their 12 KB of
/// keypoints and descriptors (issue 22: descriptors are never resident).
pub struct Pending {
    inner: std::sync::Mutex<PendingFile>,
}

struct PendingFile {
    file: tempfile::NamedTempFile,
    /// Encoded entries not yet written.
    buf: Vec<u8>,
    /// Bytes in the file.
    end: u64,
    /// Each entry's head and its offset in the file.
    entries: Vec<(Head, u64)>,
    _guard: crate::output::interrupt::Registered,
}

/// Bytes buffered before a write to the pending file.
const PENDING_BUFFER: usize = 1 << 20;

impl Pending {
    /// A pending file in `dir` (created if missing: the index's folder, outside ROOT).
    pub fn new(dir: &Path) -> Result<Pending> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        let file = tempfile::Builder::new()
            .prefix(".cleansplit-features-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        let guard = crate::output::interrupt::register(file.path(), false);
        Ok(Pending {
            inner: std::sync::Mutex::new(PendingFile {
                file,
                buf: Vec::new(),
                end: 0,
                entries: Vec::new(),
                _guard: guard,
            }),
        })
    }

    /// Adds the features of content `d` (encoded before the lock is taken).
    pub fn add(&self, d: Digest, f: &Features) -> Result<()> {
        let n = f.len().min(u16::MAX as usize);
        let mut bytes = Vec::with_capacity(n * (POINT + DESC));
        encode(f, n, &mut bytes);
        let mut p = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let head = Head {
            digest: d,
            n: n as u16,
            w: f.w,
            h: f.h,
        };
        let at = p.end + p.buf.len() as u64;
        p.entries.push((head, at));
        p.buf.extend_from_slice(&bytes);
        if p.buf.len() >= PENDING_BUFFER {
            p.flush()?;
        }
        Ok(())
    }

    /// Entries added.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |p| p.entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PendingFile {
    fn flush(&mut self) -> Result<()> {
        self.file
            .as_file_mut()
            .write_all(&self.buf)
            .context("cannot write the scan's temporary features (is the disk full?)")?;
        self.end += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// Where an entry's data comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// `fresh[i]`.
    Fresh(usize),
    /// The pending file, at this offset.
    Pending(u64),
    /// The previous sidecar, at this offset.
    Kept(u64),
    /// Nothing (a kept digest the previous sidecar lacks).
    Empty,
}

/// Writes a sidecar atomically (temporary file + rename): `fresh`, the entries of `pending`,
/// and those of `previous` named in `kept`. A digest is written once (the first of: fresh,
/// pending, kept); a kept digest the previous sidecar lacks is written empty. The three are
/// merged in digest order and each entry copied when its turn comes, so besides the new table
/// (30 bytes per image) nothing per image is held: at a million images with every entry kept
/// from an older sidecar, 46 bytes per image with `kept`.
pub fn write_atomic(
    path: &Path,
    mut fresh: Vec<(Digest, Features)>,
    mut kept: Vec<Digest>,
    pending: Option<Pending>,
    previous: Option<&Sidecar>,
) -> Result<()> {
    let pending = match pending {
        Some(p) => {
            let mut p = p.inner.into_inner().unwrap_or_else(|e| e.into_inner());
            p.flush()?;
            p.entries.sort_by_key(|e| e.0.digest);
            Some(p)
        }
        None => None,
    };
    fresh.sort_by_key(|e| e.0);
    kept.sort_unstable();
    kept.dedup();
    let no_rows: &[Row] = &[];
    let rows = previous.map_or(no_rows, |p| &p.rows[..]);
    let pend: &[(Head, u64)] = pending.as_ref().map_or(&[], |p| &p.entries[..]);
    let merged = || Merged {
        fresh: &fresh,
        pend,
        kept: &kept,
        rows,
        at: [0; 4],
    };
    let count = merged().count();
    write_streamed(path, count, merged(), |head, src, out| {
        let n = usize::from(head.n);
        let mut copy = |file: &File, name: &Path, offset: u64| {
            let at = out.len();
            out.resize(at + n * (POINT + DESC), 0);
            read_exact_at(file, &mut out[at..], offset)
                .with_context(|| format!("cannot read {}", name.display()))
        };
        match *src {
            Source::Fresh(i) => {
                encode(&fresh[i].1, n, out);
                Ok(())
            }
            Source::Pending(at) => match pending.as_ref() {
                Some(p) => copy(p.file.as_file(), p.file.path(), at),
                None => Ok(()),
            },
            Source::Kept(offset) => match previous {
                Some(p) => copy(&p.file, &p.path, offset),
                None => Ok(()),
            },
            Source::Empty => Ok(()),
        }
    })
}

/// The merge of [`write_atomic`]'s sorted inputs: one entry per digest, in digest order.
struct Merged<'a> {
    fresh: &'a [(Digest, Features)],
    pend: &'a [(Head, u64)],
    kept: &'a [Digest],
    /// The previous sidecar's rows (sorted), walked beside `kept`.
    rows: &'a [Row],
    /// Positions in fresh, pend, kept, rows.
    at: [usize; 4],
}

impl Iterator for Merged<'_> {
    type Item = (Head, Source);

    fn next(&mut self) -> Option<(Head, Source)> {
        let [f, p, k, _] = self.at;
        let digest = [
            self.fresh.get(f).map(|e| e.0),
            self.pend.get(p).map(|e| e.0.digest),
            self.kept.get(k).copied(),
        ]
        .into_iter()
        .flatten()
        .min()?;
        let mut out = None;
        if self.fresh.get(f).is_some_and(|e| e.0 == digest) {
            // Two fresh entries of one digest: the first.
            while self.fresh.get(self.at[0]).is_some_and(|e| e.0 == digest) {
                self.at[0] += 1;
            }
            let feats = &self.fresh[f].1;
            out = Some((
                Head {
                    digest,
                    n: feats.len().min(u16::MAX as usize) as u16,
                    w: feats.w,
                    h: feats.h,
                },
                Source::Fresh(f),
            ));
        }
        if self.pend.get(p).is_some_and(|e| e.0.digest == digest) {
            let (head, offset) = self.pend[p];
            while self
                .pend
                .get(self.at[1])
                .is_some_and(|e| e.0.digest == digest)
            {
                self.at[1] += 1;
            }
            out = out.or(Some((head, Source::Pending(offset))));
        }
        if self.kept.get(k) == Some(&digest) {
            self.at[2] += 1;
            // The previous rows and the kept digests ascend together.
            let r = &mut self.at[3];
            *r += self.rows[*r..].partition_point(|row| row.digest < digest);
            let row = self.rows.get(*r).filter(|row| row.digest == digest);
            out = out.or(Some(match row {
                Some(row) => (
                    Head {
                        digest,
                        n: row.n,
                        w: row.w,
                        h: row.h,
                    },
                    Source::Kept(row.offset),
                ),
                None => (
                    Head {
                        digest,
                        n: 0,
                        w: 0,
                        h: 0,
                    },
                    Source::Empty,
                ),
            }));
        }
        out
    }
}

/// One entry of a sidecar to write: its content and size.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    pub digest: Digest,
    /// Keypoints.
    pub n: u16,
    /// Working frame.
    pub w: u16,
    pub h: u16,
}

/// Writes a sidecar atomically from `count` entries (sorted by digest, no digest twice) and
/// `fill`, which appends an entry's data (`n` keypoints, [`encode`]d) when its turn comes: the
/// data is written after room for the table, and the table (30 bytes per entry, the only
/// thing held) last. The sidecar of a million images is written without holding their
/// features.
pub fn write_streamed<S>(
    path: &Path,
    count: usize,
    entries: impl Iterator<Item = (Head, S)>,
    mut fill: impl FnMut(&Head, &S, &mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    let dir = path.parent().unwrap_or(Path::new("."));
    // The sidecar is written before the index, whose folder may not exist yet.
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let mut table = Vec::with_capacity(count * ROW);
    let mut w = BufWriter::new(tmp.as_file_mut());
    w.write_all(MAGIC)?;
    w.write_all(&FEATURE_VERSION.to_le_bytes())?;
    w.write_all(&(count as u64).to_le_bytes())?;
    w.write_all(&vec![0u8; count * ROW])?;
    let mut offset = (HEADER + count * ROW) as u64;
    let mut buf = Vec::new();
    let mut written = 0;
    for (h, src) in entries {
        buf.clear();
        fill(&h, &src, &mut buf)?;
        anyhow::ensure!(
            buf.len() == usize::from(h.n) * (POINT + DESC) && written < count,
            "a features entry of the wrong size (a bug)"
        );
        table.extend_from_slice(&h.digest);
        table.extend_from_slice(&offset.to_le_bytes());
        table.extend_from_slice(&h.n.to_le_bytes());
        table.extend_from_slice(&h.w.to_le_bytes());
        table.extend_from_slice(&h.h.to_le_bytes());
        w.write_all(&buf)?;
        offset += buf.len() as u64;
        written += 1;
    }
    anyhow::ensure!(
        written == count,
        "fewer features entries than counted (a bug)"
    );
    w.seek(SeekFrom::Start(HEADER as u64))?;
    w.write_all(&table)?;
    w.flush()?;
    drop(w);
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
