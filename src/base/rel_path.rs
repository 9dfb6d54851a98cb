//! [`RelPath`]: a record's ROOT-relative path as an 8-byte handle instead of a 24-byte
//! `PathBuf` plus its own heap block (docs/BENCHMARKS.md "At a million images").
//!
//! The bytes live in a process-wide arena of append-only chunks, each path stored once as a
//! length (LEB128) and its bytes. Every thread fills a chunk of its own, so the parallel index
//! parse takes no lock; a long path gets a block of its own. A command never frees the arena:
//! a path made once stays until the process ends (a command makes one per record it loads or
//! scans; a million paths are ~26 MB, which a `PathBuf` each cost ~56 bytes for). A
//! long-lived host (the Python module) frees it after each call with [`release_all`], when
//! nothing made during the call is left.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::borrow::Borrow;
use std::cell::Cell;
use std::ffi::OsStr;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes per arena chunk (a thread's unused rest of one is all the waste).
const CHUNK: usize = 256 << 10;
/// A path this long or longer gets a block of its own, not the rest of a chunk.
const OWN_BLOCK: usize = CHUNK / 8;

/// A path, immutable, as a pointer to its bytes in the arena (see the module doc). Reads as a
/// [`Path`]; equality, order and hash are `Path`'s (component by component), so it sorts and
/// compares exactly as the `PathBuf` it replaced. The bytes are the `OsStr`'s own encoding: on
/// Unix the raw bytes, so names that are not UTF-8 survive.
/// Not `Copy` (though it could be) so that it reads like the `PathBuf` it replaced: `&r.path`
/// where a `Path` is wanted, `r.path.clone()` for an owned one.
#[derive(Clone)]
pub struct RelPath(NonNull<u8>);

// SAFETY: the handle points to bytes that are written once, before the handle exists, and
// never changed, nor freed while it is in use (`release_all`'s contract); sharing or sending it across threads only reads them.
unsafe impl Send for RelPath {}
unsafe impl Sync for RelPath {}

thread_local! {
    /// This thread's chunk: where its next path goes, how many bytes are left there, and the
    /// arena generation it belongs to (a chunk of an older one was freed).
    static CURRENT: Cell<(*mut u8, usize, usize)> =
        const { Cell::new((std::ptr::null_mut(), 0, 0)) };
}

/// Every block allocated since the last [`release_all`], as address and size.
static BLOCKS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
/// Advanced by [`release_all`]: every thread's chunk from before it is gone.
static GENERATION: AtomicUsize = AtomicUsize::new(0);

/// The empty path: a zero length, no bytes (so `RelPath::default()` allocates nothing).
static EMPTY: u8 = 0;

fn block_layout(n: usize) -> Layout {
    Layout::from_size_align(n.max(1), 1).expect("an arena block fits in memory")
}

/// `n` bytes, freed only by [`release_all`].
fn block(n: usize) -> *mut u8 {
    let layout = block_layout(n);
    // SAFETY: the layout's size is not zero.
    let p = unsafe { alloc(layout) };
    if p.is_null() {
        handle_alloc_error(layout);
    }
    BLOCKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((p as usize, n));
    p
}

/// Bytes the arena holds: every path made since the last [`release_all`], in its blocks.
pub fn arena_bytes() -> usize {
    let blocks = BLOCKS.lock().unwrap_or_else(|e| e.into_inner());
    blocks.iter().map(|&(_, n)| n).sum()
}

/// Frees every path made so far, for a long-lived process that runs one command after
/// another (the Python module: 100 scans of a dataset hold no more than one).
///
/// # Safety
/// No [`RelPath`] made before this call may be used after it, and none may be made while it
/// runs: call it only when every record, outcome and table of the commands run so far has been
/// dropped, with no command running.
pub unsafe fn release_all() {
    let mut blocks = BLOCKS.lock().unwrap_or_else(|e| e.into_inner());
    // Threads notice the new generation at their next path and take a fresh chunk.
    GENERATION.fetch_add(1, Ordering::SeqCst);
    for (p, n) in blocks.drain(..) {
        // SAFETY: `p` came from `alloc` with this layout (`block`), and by the caller's
        // promise nothing reads it any more.
        unsafe { dealloc(p as *mut u8, block_layout(n)) };
    }
    blocks.shrink_to_fit();
}

/// `n` as LEB128 into `out`; the number of bytes written.
fn put_len(mut n: usize, out: &mut [u8; 10]) -> usize {
    let mut i = 0;
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = low;
            return i + 1;
        }
        out[i] = low | 0x80;
        i += 1;
    }
}

impl RelPath {
    /// The arena's copy of `p`.
    pub fn new(p: &Path) -> RelPath {
        Self::store(p.as_os_str().as_encoded_bytes())
    }

    /// The path of `b` as an index CSV holds it (raw bytes on Unix; elsewhere the bytes are
    /// read as text, lossily, as `base::paths::path_from_bytes` does).
    pub fn from_bytes(b: &[u8]) -> RelPath {
        #[cfg(unix)]
        {
            Self::store(b)
        }
        #[cfg(not(unix))]
        {
            Self::store(String::from_utf8_lossy(b).as_bytes())
        }
    }

    /// Copies `b` (an `OsStr`'s encoded bytes) into the arena.
    fn store(b: &[u8]) -> RelPath {
        if b.is_empty() {
            return RelPath::default();
        }
        let mut head = [0u8; 10];
        let h = put_len(b.len(), &mut head);
        let need = h + b.len();
        let dst = if need >= OWN_BLOCK {
            block(need)
        } else {
            CURRENT.with(|c| {
                let (mut at, mut left, born) = c.get();
                let now = GENERATION.load(Ordering::Relaxed);
                if left < need || born != now {
                    (at, left) = (block(CHUNK), CHUNK);
                }
                // SAFETY: `need <= left`, so `at + need` is inside (or one past) the chunk.
                c.set((unsafe { at.add(need) }, left - need, now));
                at
            })
        };
        // SAFETY: `dst` has `need` bytes of its own (a fresh block, or a part of this
        // thread's chunk that no other path was given).
        unsafe {
            std::ptr::copy_nonoverlapping(head.as_ptr(), dst, h);
            std::ptr::copy_nonoverlapping(b.as_ptr(), dst.add(h), b.len());
            RelPath(NonNull::new_unchecked(dst))
        }
    }

    /// The path's bytes (its `OsStr`'s encoded bytes).
    pub fn as_bytes(&self) -> &'static [u8] {
        let p = self.0.as_ptr();
        let (mut len, mut i) = (0usize, 0usize);
        // SAFETY: `p` points to a length written by `store` (or to `EMPTY`, a zero length),
        // followed by that many bytes, all alive for the process.
        unsafe {
            loop {
                let b = *p.add(i);
                len |= usize::from(b & 0x7f) << (7 * i);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
            std::slice::from_raw_parts(p.add(i), len)
        }
    }

    pub fn as_path(&self) -> &'static Path {
        // SAFETY: the bytes are a copy of an `OsStr`'s encoded bytes (or UTF-8 text).
        Path::new(unsafe { OsStr::from_encoded_bytes_unchecked(self.as_bytes()) })
    }
}

impl Default for RelPath {
    fn default() -> Self {
        RelPath(NonNull::from(&EMPTY))
    }
}

impl Deref for RelPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.as_path()
    }
}

impl AsRef<Path> for RelPath {
    fn as_ref(&self) -> &Path {
        self.as_path()
    }
}

impl AsRef<OsStr> for RelPath {
    fn as_ref(&self) -> &OsStr {
        self.as_path().as_os_str()
    }
}

impl Borrow<Path> for RelPath {
    fn borrow(&self) -> &Path {
        self.as_path()
    }
}

impl From<&Path> for RelPath {
    fn from(p: &Path) -> Self {
        RelPath::new(p)
    }
}

impl From<PathBuf> for RelPath {
    fn from(p: PathBuf) -> Self {
        RelPath::new(&p)
    }
}

impl From<&PathBuf> for RelPath {
    fn from(p: &PathBuf) -> Self {
        RelPath::new(p)
    }
}

impl From<&str> for RelPath {
    fn from(s: &str) -> Self {
        RelPath::new(Path::new(s))
    }
}

impl From<String> for RelPath {
    fn from(s: String) -> Self {
        RelPath::new(Path::new(&s))
    }
}

impl From<RelPath> for PathBuf {
    fn from(p: RelPath) -> Self {
        p.as_path().to_path_buf()
    }
}

impl PartialEq for RelPath {
    fn eq(&self, other: &RelPath) -> bool {
        self.0 == other.0 || self.as_path() == other.as_path()
    }
}

impl Eq for RelPath {}

impl PartialEq<Path> for RelPath {
    fn eq(&self, other: &Path) -> bool {
        self.as_path() == other
    }
}

impl PartialEq<&Path> for RelPath {
    fn eq(&self, other: &&Path) -> bool {
        self.as_path() == *other
    }
}

impl PartialEq<PathBuf> for RelPath {
    fn eq(&self, other: &PathBuf) -> bool {
        self.as_path() == other.as_path()
    }
}

impl PartialEq<str> for RelPath {
    fn eq(&self, other: &str) -> bool {
        self.as_path() == Path::new(other)
    }
}

impl PartialEq<&str> for RelPath {
    fn eq(&self, other: &&str) -> bool {
        self.as_path() == Path::new(other)
    }
}

impl PartialEq<RelPath> for PathBuf {
    fn eq(&self, other: &RelPath) -> bool {
        self.as_path() == other.as_path()
    }
}

impl PartialEq<RelPath> for &Path {
    fn eq(&self, other: &RelPath) -> bool {
        *self == other.as_path()
    }
}

impl Hash for RelPath {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_path().hash(h)
    }
}

impl PartialOrd for RelPath {
    fn partial_cmp(&self, other: &RelPath) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RelPath {
    fn cmp(&self, other: &RelPath) -> std::cmp::Ordering {
        self.as_path().cmp(other.as_path())
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_path(), f)
    }
}

impl serde::Serialize for RelPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_path().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_as_the_path_it_was_made_of() {
        assert_eq!(std::mem::size_of::<RelPath>(), 8);
        assert_eq!(std::mem::size_of::<Option<RelPath>>(), 8);
        let long = "d/".repeat(OWN_BLOCK) + "x.jpg";
        let medium = "e/".repeat(100) + "y.png";
        for s in ["", "a", "train/cats/a.jpg", &medium, &long] {
            let p = RelPath::from(s);
            assert_eq!(p.as_path(), Path::new(s));
            assert_eq!(p, *s);
            assert_eq!(PathBuf::from(p), PathBuf::from(s));
        }
        assert_eq!(RelPath::default().as_bytes(), b"");
        assert_eq!(format!("{:?}", RelPath::from("a/b")), "\"a/b\"");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_bytes_survive() {
        let raw = b"train/caf\xe9.jpg";
        let p = RelPath::from_bytes(raw);
        assert_eq!(p.as_bytes(), raw);
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(p.as_os_str().as_bytes(), raw);
    }

    #[test]
    fn compares_and_hashes_as_path() {
        // `Path` order is by component: `a/b` before `a-b`, though `-` < `/` as bytes.
        let mut v: Vec<RelPath> = ["a-b", "a/b", "a", "b/c"].map(RelPath::from).to_vec();
        v.sort();
        let got: Vec<&Path> = v.iter().map(|p| p.as_path()).collect();
        assert_eq!(got, ["a", "a/b", "a-b", "b/c"].map(Path::new));
        // Two copies of one path are equal and hash alike (a map keyed by paths finds them).
        let set: std::collections::HashSet<RelPath> = ["x/y", "x/y"].map(RelPath::from).into();
        assert_eq!(set.len(), 1);
        assert!(set.contains(Path::new("x/y")));
    }

    #[test]
    fn threads_fill_their_own_chunks() {
        let paths: Vec<Vec<(RelPath, String)>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|t| {
                    s.spawn(move || {
                        (0..20_000)
                            .map(|i| {
                                let s = format!("t{t}/{i:06}.jpg");
                                (RelPath::from(s.as_str()), s)
                            })
                            .collect()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (p, s) in paths.iter().flatten() {
            assert_eq!(p.as_path(), Path::new(s));
        }
    }
}
