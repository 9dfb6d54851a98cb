//! The features sidecar `<index>.features`: every image's local features, keyed by the
//! content's BLAKE3, so a rescan reuses them (an unchanged rescan reads no image) and the
//! resident records never hold them.
//!
//! Format (little-endian; docs/FORMATS.md):
//!
//! ```text
//! magic    8 bytes  "CSFEAT01"
//! version  u32      FEATURE_VERSION (the extraction's parameters; another value is ignored)
//! count    u64      entries
//! table    count x 30 bytes, sorted by digest:
//!          digest [u8; 16], offset u64 (from the file start), n u16, w u16, h u16
//! data     per entry: n x 8 bytes of keypoints (x, y as u16 in 1/64 px of the working frame,
//!          angle as i16 in pi/32767 radians, level u8, 0 u8), then n x 32 bytes of
//!          descriptors (4 x u64, word 0 first)
//! ```
//!
//! Readers find an entry by binary search in the table and read its data with one
//! positioned read ([`Sidecar::get`]). The scan registers the sidecar it wrote or reused
//! ([`register`]); `leaks` looks features up by content in every registered sidecar
//! ([`lookup`]), so `merge`'s several sources need no extra wiring. Features are a function of
//! the content alone, so a process-wide content-addressed registry cannot give a wrong answer:
//! at worst a missing sidecar yields no features (and no affine pairs) for those images.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};

use super::{Features, Keypoint};
use crate::base::hash::Hash256;
use crate::index::Digest;

const MAGIC: &[u8; 8] = b"CSFEAT01";
/// Bumped whenever the extraction changes what it computes.
pub const FEATURE_VERSION: u32 = 3;
const HEADER: usize = 8 + 4 + 8;
const ROW: usize = 30;
const POINT: usize = 8;
const DESC: usize = 32;

/// Where a record's features sidecar lives: `<index>.features`.
pub fn path_for(index: &Path) -> PathBuf {
    let mut s = index.as_os_str().to_owned();
    s.push(".features");
    PathBuf::from(s)
}

#[derive(Debug, Clone, Copy)]
struct Row {
    digest: Digest,
    offset: u64,
    n: u16,
    w: u16,
    h: u16,
}

/// An open sidecar: its table in memory (30 bytes per image), the data read on demand.
#[derive(Debug)]
pub struct Sidecar {
    path: PathBuf,
    file: File,
    rows: Vec<Row>,
}

impl Sidecar {
    /// Opens a sidecar; `Ok(None)` when it is missing or of another version.
    pub fn open(path: &Path) -> Result<Option<Sidecar>> {
        let Ok(file) = File::open(path) else {
            return Ok(None);
        };
        let mut head = [0u8; HEADER];
        if read_exact_at(&file, &mut head, 0).is_err()
            || &head[..8] != MAGIC
            || u32::from_le_bytes(head[8..12].try_into()?) != FEATURE_VERSION
        {
            return Ok(None);
        }
        let count = u64::from_le_bytes(head[12..20].try_into()?) as usize;
        let len = file.metadata()?.len();
        if (HEADER + count * ROW) as u64 > len {
            return Ok(None);
        }
        // Read in chunks: at 10 million images the table is 300 MB, and a copy of it beside
        // the rows would be 30 bytes per image at the peak.
        let mut rows: Vec<Row> = Vec::with_capacity(count);
        let mut chunk = vec![0u8; 4096 * ROW];
        let mut done = 0;
        while done < count {
            let take = (count - done).min(4096);
            let bytes = &mut chunk[..take * ROW];
            read_exact_at(&file, bytes, (HEADER + done * ROW) as u64)
                .with_context(|| format!("reading {}", path.display()))?;
            rows.extend(bytes.chunks_exact(ROW).map(|r| Row {
                digest: r[..16].try_into().unwrap_or_default(),
                offset: u64::from_le_bytes(r[16..24].try_into().unwrap_or_default()),
                n: u16::from_le_bytes([r[24], r[25]]),
                w: u16::from_le_bytes([r[26], r[27]]),
                h: u16::from_le_bytes([r[28], r[29]]),
            }));
            done += take;
        }
        let sorted = rows.windows(2).all(|w| w[0].digest < w[1].digest);
        let fits = rows
            .iter()
            .all(|r| r.offset + r.n as u64 * (POINT + DESC) as u64 <= len);
        if !sorted || !fits {
            return Ok(None);
        }
        Ok(Some(Sidecar {
            path: path.to_owned(),
            file,
            rows,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn contains(&self, d: &Digest) -> bool {
        self.rows.binary_search_by(|r| r.digest.cmp(d)).is_ok()
    }

    /// Where the content `d`'s entry is in this sidecar's table (`None`: not here): the
    /// `*_at` readers take it, so a search that reads every image finds each once.
    pub fn position(&self, d: &Digest) -> Option<usize> {
        self.rows.binary_search_by(|r| r.digest.cmp(d)).ok()
    }

    /// How many keypoints the content `d` has here (`None`: not in this sidecar), without
    /// reading them.
    pub fn count(&self, d: &Digest) -> Option<usize> {
        self.position(d).map(|i| self.count_at(i))
    }

    /// How many keypoints entry `i` (a [`Sidecar::position`]) has.
    pub fn count_at(&self, i: usize) -> usize {
        usize::from(self.rows[i].n)
    }

    /// The features of the content `d`, if this sidecar has them.
    pub fn get(&self, d: &Digest) -> Option<Features> {
        self.get_at(self.position(d)?)
    }

    /// The features of entry `i` (a [`Sidecar::position`]).
    pub fn get_at(&self, i: usize) -> Option<Features> {
        let row = *self.rows.get(i)?;
        let n = row.n as usize;
        let mut buf = vec![0u8; n * (POINT + DESC)];
        read_exact_at(&self.file, &mut buf, row.offset).ok()?;
        Some(decode(&buf, n, row.w, row.h))
    }
}

impl Sidecar {
    /// The keypoints of content `d` (all of them) and the descriptors `pick` chooses from
    /// them, read into `buf` (the keypoint block, then one read per run of chosen
    /// descriptors): a search with a few descriptors per image touches a fraction of the file.
    pub fn raw_picked<'a>(
        &self,
        d: &Digest,
        buf: &'a mut Vec<u8>,
        pick: impl FnOnce(&RawEntry) -> Vec<usize>,
    ) -> Option<(RawEntry<'a>, Vec<usize>)> {
        self.raw_picked_at(self.position(d)?, buf, pick)
    }

    /// [`Sidecar::raw_picked`] of entry `i` (a [`Sidecar::position`]).
    pub fn raw_picked_at<'a>(
        &self,
        i: usize,
        buf: &'a mut Vec<u8>,
        pick: impl FnOnce(&RawEntry) -> Vec<usize>,
    ) -> Option<(RawEntry<'a>, Vec<usize>)> {
        let row = *self.rows.get(i)?;
        let n = row.n as usize;
        buf.resize(n * (POINT + DESC), 0);
        read_exact_at(&self.file, &mut buf[..n * POINT], row.offset).ok()?;
        let chosen = pick(&RawEntry { buf, n });
        let mut k = 0;
        while k < chosen.len() {
            // A run of consecutive descriptors is one read.
            let start = chosen[k];
            let mut end = start + 1;
            while k + 1 < chosen.len() && chosen[k + 1] == end {
                k += 1;
                end += 1;
            }
            k += 1;
            let (from, to) = (n * POINT + start * DESC, n * POINT + end * DESC);
            read_exact_at(&self.file, &mut buf[from..to], row.offset + from as u64).ok()?;
        }
        Some((RawEntry { buf, n }, chosen))
    }
}

/// One entry's bytes, read field by field.
pub struct RawEntry<'a> {
    buf: &'a [u8],
    n: usize,
}

impl RawEntry<'_> {
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Keypoint `i`'s pyramid level.
    pub fn level(&self, i: usize) -> u8 {
        self.buf[i * POINT + 6]
    }

    /// Keypoint `i`'s orientation in radians (as [`Sidecar::get`] decodes it).
    pub fn angle(&self, i: usize) -> f32 {
        let a = i16::from_le_bytes([self.buf[i * POINT + 4], self.buf[i * POINT + 5]]);
        f32::from(a) * std::f32::consts::PI / 32767.0
    }

    /// Descriptor `i`.
    pub fn desc(&self, i: usize) -> Hash256 {
        let at = self.n * POINT + i * DESC;
        let w = |k: usize| {
            u64::from_le_bytes(
                self.buf[at + 8 * k..at + 8 * k + 8]
                    .try_into()
                    .unwrap_or_default(),
            )
        };
        Hash256([w(0), w(1), w(2), w(3)])
    }
}

fn decode(buf: &[u8], n: usize, w: u16, h: u16) -> Features {
    let (pts, descs) = buf.split_at(n * POINT);
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    Features {
        w,
        h,
        points: pts
            .chunks_exact(POINT)
            .map(|p| Keypoint {
                x: f32::from(u16_at(p, 0)) / 64.0,
                y: f32::from(u16_at(p, 2)) / 64.0,
                angle: f32::from(u16_at(p, 4) as i16) * std::f32::consts::PI / 32767.0,
                level: p[6],
            })
            .collect(),
        desc: descs
            .chunks_exact(DESC)
            .map(|d| {
                let w = |k: usize| {
                    u64::from_le_bytes(d[8 * k..8 * k + 8].try_into().unwrap_or_default())
                };
                Hash256([w(0), w(1), w(2), w(3)])
            })
            .collect(),
    }
}

/// Appends the first `n` keypoints of `f` in the sidecar's layout.
pub fn encode(f: &Features, n: usize, out: &mut Vec<u8>) {
    for p in &f.points[..n] {
        let q = |v: f32| (v * 64.0).round().clamp(0.0, 65535.0) as u16;
        out.extend_from_slice(&q(p.x).to_le_bytes());
        out.extend_from_slice(&q(p.y).to_le_bytes());
        let a = (p.angle / std::f32::consts::PI * 32767.0)
            .round()
            .clamp(-32767.0, 32767.0) as i16;
        out.extend_from_slice(&a.to_le_bytes());
        out.push(p.level);
        out.push(0);
    }
    for d in &f.desc[..n] {
        for w in d.0 {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
}

/// Fills `buf` from `f` at `off` without moving the file's cursor (`pread`), so threads can
/// share one open file (also the affine search's temporary keys, `crate::near::affine::spill`).
#[cfg(unix)]
pub(crate) fn read_exact_at(f: &File, buf: &mut [u8], off: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, off)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(f: &File, buf: &mut [u8], mut off: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        let n = f.seek_read(&mut buf[done..], off)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        done += n;
        off += n as u64;
    }
    Ok(())
}

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

static REGISTRY: RwLock<Vec<Arc<Sidecar>>> = RwLock::new(Vec::new());

/// Makes a sidecar's features available to [`lookup`] (replacing an earlier registration of
/// the same path).
pub fn register(s: Sidecar) {
    if let Ok(mut r) = REGISTRY.write() {
        r.retain(|o| o.path != s.path);
        r.push(Arc::new(s));
    }
}

/// The registered sidecars.
pub fn registered() -> Vec<Arc<Sidecar>> {
    REGISTRY.read().map(|r| r.clone()).unwrap_or_default()
}

/// The features of content `d` from the first registered sidecar that has them.
pub fn lookup(sidecars: &[Arc<Sidecar>], d: &Digest) -> Option<Features> {
    sidecars.iter().find_map(|s| s.get(d))
}
