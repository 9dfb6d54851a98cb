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
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};

pub mod write;

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

/// Entries mapped at most this far apart (bytes from the first to the end of the last) are
/// mapped together; farther, they are read one by one.
const MAX_SPAN: u64 = 64 << 20;

/// Neighbouring entries of a sidecar mapped into memory ([`Sidecar::map_entries`]).
pub struct Mapped<'a> {
    sidecar: &'a Sidecar,
    map: memmap2::Mmap,
    /// The file offset of the map's first byte.
    start: u64,
}

impl Sidecar {
    /// The entries at `positions` (each a [`Sidecar::position`]) mapped into memory when
    /// they lie within 64 MB (`MAX_SPAN`), so that reading them costs no system call and no
    /// copy each; `None` otherwise (or when the system refuses), and the caller reads them
    /// one by one. The map holds only the pages it is read through, and gives them back when
    /// dropped (the file's pages stay in the page cache).
    pub fn map_entries(&self, positions: impl Iterator<Item = usize>) -> Option<Mapped<'_>> {
        let (mut lo, mut hi) = (u64::MAX, 0);
        for i in positions {
            let r = self.rows.get(i)?;
            lo = lo.min(r.offset);
            hi = hi.max(r.offset + r.n as u64 * (POINT + DESC) as u64);
        }
        if lo >= hi || hi - lo > MAX_SPAN {
            return None;
        }
        // SAFETY: the span lies inside the file (`open` checked every entry against its
        // length), and cleansplit never changes a sidecar in place: a rewrite is a new file
        // renamed over it (`write::write_atomic`), which leaves this open file's pages as
        // they are. Only another program truncating the file while it is mapped could fault.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(lo)
                .len((hi - lo) as usize)
                .map(&self.file)
        }
        .ok()?;
        Some(Mapped {
            sidecar: self,
            map,
            start: lo,
        })
    }
}

impl Mapped<'_> {
    /// Entry `i`'s bytes (`None` when it is not in the map).
    pub fn entry(&self, i: usize) -> Option<RawEntry<'_>> {
        let r = self.sidecar.rows.get(i)?;
        let from = usize::try_from(r.offset.checked_sub(self.start)?).ok()?;
        let n = r.n as usize;
        Some(RawEntry {
            buf: self.map.get(from..from + n * (POINT + DESC))?,
            n,
        })
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
    let raw = RawEntry { buf, n };
    let u16_at = |i: usize| u16::from_le_bytes([buf[i], buf[i + 1]]);
    Features {
        w,
        h,
        points: (0..n)
            .map(|i| Keypoint {
                x: f32::from(u16_at(i * POINT)) / 64.0,
                y: f32::from(u16_at(i * POINT + 2)) / 64.0,
                angle: raw.angle(i),
                level: raw.level(i),
            })
            .collect(),
        desc: (0..n).map(|i| raw.desc(i)).collect(),
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
