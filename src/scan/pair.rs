//! Pairing the walk's files with the previous index's records: one merge pass over both in
//! path order (the index is written so, the walk lists so), which keeps a record whose file is
//! unchanged and queues every other file for reading. No hash map of a million paths.
//!
//! The records can be fed as the index is read, block by block: each is kept or dropped at
//! once, and each folder's candidates are freed once passed, so the walk's candidates and the
//! whole parsed index are never held side by side (docs/BENCHMARKS.md "At a million images").

use std::path::Path;

use crate::base::memory::release_freed;
use crate::base::rel_path::RelPath;
use crate::index;
use crate::index::Record;
use crate::index::columns::Schema;
use crate::layout::{self, Candidate, Cursor, Files, path_cmp};

/// Records paired between two returns of freed memory (~6 MB of candidates each time).
const TRIM_EVERY: usize = 1 << 17;

/// The merge's state and what it has found so far.
pub(super) struct Pairing {
    files: Cursor,
    /// Reuse decoded records too (the index has every column computed from pixels).
    reuse_decoded: bool,
    /// The last record fed, to check that they come in path order.
    last: Option<RelPath>,
    /// Records fed so far.
    fed: usize,
    /// Records whose file is unchanged, in path order.
    pub(super) kept: Vec<Record>,
    /// Files to read: new, changed, or whose record cannot be reused.
    pub(super) todo: Vec<Candidate>,
    /// Records of the previous index whose file is gone.
    pub(super) dropped: usize,
    /// A kept record's split or class changed (e.g. a new --labels file).
    pub(super) relabelled: bool,
}

impl Pairing {
    pub(super) fn new(files: Files, reuse_decoded: bool) -> Pairing {
        // Room for every file, so keeping records never copies them to grow.
        let room = files.len();
        Pairing::with_room(files, reuse_decoded, room)
    }

    fn with_room(files: Files, reuse_decoded: bool, room: usize) -> Pairing {
        Pairing {
            kept: Vec::with_capacity(room),
            files: files.into_cursor(),
            reuse_decoded,
            last: None,
            fed: 0,
            todo: Vec::new(),
            dropped: 0,
            relabelled: false,
        }
    }

    /// Pairs the next previous record; `false` (and nothing done) when it comes before the
    /// last one in path order: then the index must be read whole and sorted first.
    pub(super) fn record(&mut self, r: Record) -> bool {
        if self
            .last
            .as_ref()
            .is_some_and(|l| path_cmp(l, &r.path).is_gt())
        {
            return false;
        }
        self.last = Some(r.path.clone());
        if let Some(r) = self.pair(r) {
            self.kept.push(r);
        }
        true
    }

    /// Pairs the next previous record (in path order): the record when its file is unchanged
    /// (relabelled to the file's split and class), `None` when it is dropped or its file
    /// queued for reading.
    fn pair(&mut self, mut r: Record) -> Option<Record> {
        self.fed += 1;
        if self.fed.is_multiple_of(TRIM_EVERY) {
            // The folders passed since were freed in small blocks, which glibc would keep
            // resident beside the growing records.
            release_freed();
        }
        // Paths are compared as bytes (`path_cmp`), not parsed into components.
        while let Some(c) = self.files.peek() {
            if !path_cmp(c.rel, &r.path).is_lt() {
                break;
            }
            self.todo.push(c.to_candidate());
            self.files.advance();
        }
        let Some(c) = self
            .files
            .peek()
            .filter(|c| c.rel.as_os_str() == r.path.as_os_str())
        else {
            self.dropped += 1;
            return None;
        };
        if r.size == c.size
            && r.mtime_ns == c.mtime_ns
            && c.mtime_ns != 0
            && (self.reuse_decoded || !r.is_ok())
            && !r.lacks_hash256()
        {
            if r.split != c.split || r.class != c.class {
                self.relabelled = true;
                r.split = c.split;
                r.class = c.class;
            }
            self.files.advance();
            Some(r)
        } else {
            self.todo.push(c.to_candidate());
            self.files.advance();
            None
        }
    }

    /// Queues the files after the last record; the merge is done.
    pub(super) fn finish(mut self) -> Pairing {
        while let Some(c) = self.files.peek() {
            self.todo.push(c.to_candidate());
            self.files.advance();
        }
        self
    }
}

/// How streaming the previous index went.
#[allow(clippy::large_enum_variant)] // one value per scan
pub(super) enum Streamed {
    /// Every record paired.
    Done(Pairing, Schema),
    /// The index needs the serial reader or is out of path order; the walk's files were
    /// (partly) used up.
    Again,
    /// The index cannot be opened; the files are untouched.
    Unopened(anyhow::Error, layout::Files),
}

/// Streams the previous index into a [`Pairing`] with `files`.
pub(super) fn stream_previous(index_path: &Path, files: layout::Files) -> Streamed {
    // An index that lacks a column computed from pixels (written by an older version) is
    // reused for everything but its decoded records, which are hashed again: known at the
    // header, so the pairing starts with the first block.
    let (mut pairing, mut files) = (None, Some(files));
    let f = match std::fs::File::open(index_path) {
        Ok(f) => f,
        Err(e) => {
            let e = anyhow::Error::from(e)
                .context(format!("cannot open index {}", index_path.display()));
            return Streamed::Unopened(e, files.take().unwrap_or_default());
        }
    };
    let schema = index::stream_from(f, |part, schema| {
        let p = pairing.get_or_insert_with(|| {
            Pairing::new(files.take().unwrap_or_default(), !schema.missing_pixels)
        });
        part.into_iter().all(|r| p.record(r))
    });
    match schema {
        Some(schema) => Streamed::Done(
            pairing.unwrap_or_else(|| {
                Pairing::new(files.take().unwrap_or_default(), !schema.missing_pixels)
            }),
            schema,
        ),
        None => Streamed::Again,
    }
}

/// Reads the previous index whole (serially when it needs it), sorts it when it is not in
/// path order, and pairs it with `files`. Only for an index the streamed pairing cannot take
/// (hand-edited or out of order). The kept records stay where the index was read (an in-place
/// filter), so the index and the kept records are never held side by side: a rescan's
/// memory, not twice the records.
pub(super) fn pair_whole(
    index_path: &Path,
    files: layout::Files,
) -> (Pairing, Option<Schema>, Option<String>) {
    match index::read_file_with_schema(index_path) {
        Ok((mut previous, schema)) => {
            if !previous.is_sorted_by(|a, b| path_cmp(&a.path, &b.path).is_le()) {
                previous.sort_by(|a, b| path_cmp(&a.path, &b.path));
            }
            let mut p = Pairing::with_room(files, !schema.missing_pixels, 0);
            // `into_iter().filter_map().collect()` of one type reuses the allocation.
            let kept: Vec<Record> = previous.into_iter().filter_map(|r| p.pair(r)).collect();
            p.kept = kept;
            (p, Some(schema), None)
        }
        Err(e) => (
            Pairing::new(files, false),
            None,
            Some(format!("previous index not reused: {e:#}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::flags::Status;
    use crate::base::intern::Name;

    fn rec(path: &str, size: u64, class: &str) -> Record {
        let mut r = Record::new(path);
        (r.size, r.mtime_ns, r.status) = (size, 5, Status::Unreadable);
        (r.split, r.class) = (Name::new("train"), Name::new(class));
        r
    }

    fn paths<'a>(v: impl IntoIterator<Item = &'a RelPath>) -> Vec<String> {
        v.into_iter().map(|p| p.display().to_string()).collect()
    }

    #[test]
    fn keeps_unchanged_reads_new_and_changed_drops_gone() {
        let files = Files::of(&[("a", 1, 5), ("b", 2, 5), ("c", 3, 5), ("e", 4, 5)]);
        let mut p = Pairing::new(files, true);
        // `a` unchanged, `b` changed size, `c` relabelled, `d` gone (twice), `e` new.
        for r in [rec("a", 1, "c"), rec("b", 9, "c"), rec("c", 3, "x")] {
            assert!(p.record(r));
        }
        assert!(p.record(rec("d", 1, "c")));
        assert!(p.record(rec("d", 1, "c")));
        let p = p.finish();
        assert_eq!(paths(p.kept.iter().map(|r| &r.path)), ["a", "c"]);
        assert_eq!(p.kept[1].class, "c");
        assert_eq!(paths(p.todo.iter().map(|c| &c.rel)), ["b", "e"]);
        assert_eq!((p.dropped, p.relabelled), (2, true));
    }

    #[test]
    fn a_record_out_of_path_order_is_refused() {
        let mut p = Pairing::new(Files::of(&[("a/b", 1, 5), ("a-b", 1, 5)]), true);
        // Path order: `a/b` before `a-b` (a shorter component first).
        assert!(p.record(rec("a/b", 1, "c")));
        assert!(p.record(rec("a-b", 1, "c")));
        assert!(!p.record(rec("a/b", 1, "c")));
        let p = p.finish();
        assert_eq!(p.kept.len(), 2);
        assert!(p.todo.is_empty());
    }
}
