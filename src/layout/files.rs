//! The walk's image candidates, held compactly: one byte buffer of relative paths per run of
//! files in a folder, and 24 bytes per file beside it. At a million files the candidate list
//! is alive next to the previous index's records, so every byte per file counts: an owned
//! `PathBuf` each cost ~100 bytes per file (docs/BENCHMARKS.md "At a million images").

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use super::Candidate;
use crate::base::intern::Name;

/// Image candidates in path order (see [`path_cmp`]).
#[derive(Clone, Default)]
pub struct Files {
    chunks: Vec<Chunk>,
    len: usize,
}

/// A run of files sharing a split and (unless labels came from a CSV) a class.
#[derive(Clone)]
pub(super) struct Chunk {
    split: Name,
    class: Name,
    /// One class per file once two differ (labels from a CSV); `None` while `class` is all's.
    classes: Option<Vec<Name>>,
    /// The files' ROOT-relative paths, back to back.
    paths: Vec<u8>,
    items: Vec<Item>,
}

#[derive(Clone, Copy)]
struct Item {
    /// End of this file's path in `paths` (it starts where the previous one ends).
    end: u32,
    size: u64,
    mtime_ns: i64,
}

/// One candidate, borrowed from [`Files`].
#[derive(Debug, Clone)]
pub struct FileRef<'a> {
    /// Path relative to ROOT.
    pub rel: &'a Path,
    pub split: Name,
    pub class: Name,
    pub size: u64,
    pub mtime_ns: i64,
}

impl FileRef<'_> {
    /// The owned candidate (for the files that are read).
    pub fn to_candidate(&self) -> Candidate {
        Candidate {
            rel: self.rel.into(),
            split: self.split.clone(),
            class: self.class.clone(),
            size: self.size,
            mtime_ns: self.mtime_ns,
        }
    }
}

impl Chunk {
    pub(super) fn new(split: Name, class: Name) -> Chunk {
        Chunk {
            split,
            class,
            classes: None,
            paths: Vec::new(),
            items: Vec::new(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// An empty chunk for the same split and class.
    pub(super) fn fresh(&self) -> Chunk {
        Chunk::new(self.split.clone(), self.class.clone())
    }

    /// Adds a file; `false` (and nothing added) when the chunk cannot hold more path bytes.
    pub(super) fn push(&mut self, rel: &[u8], class: Name, size: u64, mtime_ns: i64) -> bool {
        let Ok(end) = u32::try_from(self.paths.len() + rel.len()) else {
            return false;
        };
        if class != self.class && self.classes.is_none() {
            self.classes = Some(vec![self.class.clone(); self.items.len()]);
        }
        if let Some(classes) = &mut self.classes {
            classes.push(class);
        }
        self.paths.extend_from_slice(rel);
        self.items.push(Item {
            end,
            size,
            mtime_ns,
        });
        true
    }

    /// Gives back the spare capacity (a folder's chunk is built, then kept to the end).
    pub(super) fn seal(mut self) -> Chunk {
        self.paths.shrink_to_fit();
        self.items.shrink_to_fit();
        if let Some(c) = &mut self.classes {
            c.shrink_to_fit();
        }
        self
    }

    fn get(&self, i: usize) -> FileRef<'_> {
        let start = if i == 0 {
            0
        } else {
            self.items[i - 1].end as usize
        };
        let it = self.items[i];
        FileRef {
            rel: path_of(&self.paths[start..it.end as usize]),
            split: self.split.clone(),
            class: match &self.classes {
                Some(c) => c[i].clone(),
                None => self.class.clone(),
            },
            size: it.size,
            mtime_ns: it.mtime_ns,
        }
    }

    fn iter(&self) -> impl Iterator<Item = FileRef<'_>> {
        (0..self.items.len()).map(|i| self.get(i))
    }
}

impl Files {
    pub(super) fn from_chunks(chunks: Vec<Chunk>) -> Files {
        let chunks: Vec<Chunk> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let len = chunks.iter().map(|c| c.items.len()).sum();
        Files { chunks, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The candidates in path order.
    pub fn iter(&self) -> impl Iterator<Item = FileRef<'_>> {
        self.chunks.iter().flat_map(Chunk::iter)
    }

    /// The candidates in path order, each folder's memory given back as soon as its last
    /// file has been passed (the scan pairs them with the previous index while it loads).
    pub fn into_cursor(self) -> Cursor {
        let mut chunks = self.chunks.into_iter();
        let current = chunks.next();
        Cursor {
            chunks,
            current,
            at: 0,
        }
    }

    /// Owned copies of all candidates, in path order.
    pub fn to_candidates(&self) -> Vec<Candidate> {
        self.iter().map(|f| f.to_candidate()).collect()
    }

    /// Keeps only the candidates `keep` says yes to (order kept).
    pub fn retain(&mut self, mut keep: impl FnMut(&FileRef<'_>) -> bool) {
        let mut out = Vec::with_capacity(self.chunks.len());
        for c in &self.chunks {
            let mut kept = Chunk::new(c.split.clone(), c.class.clone());
            for f in c.iter().filter(|f| keep(f)) {
                // Never full: a subset of a chunk that held them all.
                kept.push(bytes_of(f.rel), f.class.clone(), f.size, f.mtime_ns);
            }
            out.push(kept.seal());
        }
        *self = Files::from_chunks(out);
    }
}

/// An owning walk over [`Files`] (see [`Files::into_cursor`]).
pub struct Cursor {
    chunks: std::vec::IntoIter<Chunk>,
    current: Option<Chunk>,
    at: usize,
}

impl Cursor {
    /// The candidate at the cursor, if any is left.
    pub fn peek(&self) -> Option<FileRef<'_>> {
        self.current.as_ref().map(|c| c.get(self.at))
    }

    /// Moves past the candidate at the cursor (freeing its folder's chunk after its last).
    pub fn advance(&mut self) {
        let Some(c) = &self.current else { return };
        self.at += 1;
        if self.at == c.items.len() {
            // Chunks are never empty (`Files::from_chunks`).
            self.current = self.chunks.next();
            self.at = 0;
        }
    }
}

#[cfg(test)]
impl Files {
    /// `(path, size, mtime)` in path order as one folder's files, split `train`, class `c`
    /// (for tests elsewhere in the crate).
    pub(crate) fn of(files: &[(&str, u64, i64)]) -> Files {
        let mut c = Chunk::new(Name::new("train"), Name::new("c"));
        for &(rel, size, mtime) in files {
            assert!(c.push(rel.as_bytes(), Name::new("c"), size, mtime));
        }
        Files::from_chunks(vec![c.seal()])
    }
}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The order of [`Path`]'s `cmp` (component by component) for ROOT-relative paths as the walk
/// builds them (no `.`, no doubled or trailing `/`), on bytes: a `/` sorts before any other
/// byte, because a shorter component comes first. No `Components` parsing per comparison.
pub fn path_cmp(a: &Path, b: &Path) -> Ordering {
    let (a, b) = (bytes_of(a), bytes_of(b));
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => {
            let rank = |c: u8| if c == b'/' { 0u16 } else { u16::from(c) + 1 };
            rank(a[i]).cmp(&rank(b[i]))
        }
        None => a.len().cmp(&b.len()),
    }
}

/// A path's bytes (on Unix the raw bytes; elsewhere its encoded bytes).
pub(super) fn bytes_of(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

/// The path of bytes made by [`bytes_of`] and `/` (a name that is not UTF-8 is kept as such
/// on Unix; elsewhere names are stored as lossy text, see `walk::name_bytes`).
pub(super) fn path_of(b: &[u8]) -> &Path {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Path::new(std::ffi::OsStr::from_bytes(b))
    }
    #[cfg(not(unix))]
    {
        Path::new(std::str::from_utf8(b).unwrap_or_default())
    }
}

/// `rel` as an owned path.
pub(super) fn path_buf(rel: &[u8]) -> PathBuf {
    path_of(rel).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_cmp_is_paths_order() {
        let paths = [
            "a", "a-b", "a/b", "a/b/c", "a.b", "a0", "a/b-c", "a/b/d", "b", "a/", "ab/c", "a b",
            "é/x", "e/x", "a/é", "a/e",
        ];
        for x in paths {
            for y in paths {
                // `a/` is `a` to `Path` (a trailing slash is dropped); the walk never makes one.
                if x.ends_with('/') || y.ends_with('/') {
                    continue;
                }
                let (px, py) = (Path::new(x), Path::new(y));
                assert_eq!(path_cmp(px, py), px.cmp(py), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn chunk_keeps_paths_and_per_file_classes() {
        let (s, a, b) = (Name::new("train"), Name::new("a"), Name::new("b"));
        let mut c = Chunk::new(s.clone(), Name::default());
        assert!(c.push(b"train/x.jpg", a.clone(), 1, 2));
        assert!(c.push(b"train/y.jpg", b, 3, 4));
        assert!(c.push(b"train/z.jpg", a.clone(), 5, 6));
        let mut f = Files::from_chunks(vec![Chunk::new(s, a), c.seal()]);
        assert_eq!(f.len(), 3);
        let got: Vec<(String, &str, u64)> = f
            .iter()
            .map(|r| (r.rel.display().to_string(), r.class.as_str(), r.size))
            .collect();
        assert_eq!(
            got,
            [
                ("train/x.jpg".into(), "a", 1),
                ("train/y.jpg".into(), "b", 3),
                ("train/z.jpg".into(), "a", 5)
            ]
        );
        f.retain(|r| r.mtime_ns != 4);
        let rels: Vec<PathBuf> = f
            .to_candidates()
            .into_iter()
            .map(|c| c.rel.into())
            .collect();
        assert_eq!(rels, [PathBuf::from("train/x.jpg"), "train/z.jpg".into()]);
        assert_eq!(f.len(), 2);
        let mut cursor = f.into_cursor();
        let mut seen = Vec::new();
        while let Some(c) = cursor.peek() {
            seen.push(c.rel.to_path_buf());
            cursor.advance();
        }
        assert_eq!(seen, rels);
        cursor.advance();
        assert!(cursor.peek().is_none());
    }
}
