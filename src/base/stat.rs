//! Size and modification time of many files, fast: each `stat` is made relative to its open
//! folder (`fstatat`), so the kernel resolves one name instead of the whole path from `/`. On a
//! million files the path lookups were a quarter of an unchanged rescan (`perf`, README "At a
//! million images").

use std::path::Path;

use rayon::prelude::*;

/// What the scan needs of a file's metadata (symlinks followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub is_dir: bool,
    pub size: u64,
    /// Nanoseconds since the Unix epoch; 0 before it or when unknown.
    pub mtime_ns: i64,
}

impl FileStat {
    fn of(md: &std::fs::Metadata) -> FileStat {
        FileStat {
            is_dir: md.is_dir(),
            size: md.len(),
            mtime_ns: md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i64),
        }
    }
}

/// Stats `root.join(rel(item))` for every item, in parallel, and hands each result (`None`
/// when the file cannot be stat'ed) to `set`. Items in the same folder are best kept next to
/// each other (sorted by path): one open folder serves a run of them.
pub fn stat_all<T: Send>(
    root: &Path,
    items: &mut [T],
    rel: impl Fn(&T) -> &Path + Sync,
    set: impl Fn(&mut T, Option<FileStat>) + Sync,
) {
    items.par_chunks_mut(1024).for_each(|chunk| {
        for run in chunk.chunk_by_mut(|a, b| rel(a).parent() == rel(b).parent()) {
            let dir = rel(&run[0])
                .parent()
                .and_then(|d| std::fs::File::open(root.join(d)).ok());
            for item in run {
                let st = stat_in(root, dir.as_ref(), rel(item));
                set(item, st);
            }
        }
    });
}

/// One file, relative to its open folder when there is one; by its whole path otherwise (and
/// whenever the relative `stat` fails, so errors and odd names behave as `fs::metadata`).
fn stat_in(root: &Path, dir: Option<&std::fs::File>, rel: &Path) -> Option<FileStat> {
    #[cfg(unix)]
    if let (Some(dir), Some(name)) = (dir, rel.file_name())
        && let Ok(st) = rustix::fs::statat(dir, name, rustix::fs::AtFlags::empty())
    {
        // `st_mtime` is a C `long`: i64 here, i32 on 32-bit targets.
        #[allow(clippy::useless_conversion)]
        let mtime = i64::from(st.st_mtime);
        let mtime_ns = if mtime >= 0 {
            mtime
                .saturating_mul(1_000_000_000)
                .saturating_add(st.st_mtime_nsec as i64)
        } else {
            0
        };
        return Some(FileStat {
            is_dir: rustix::fs::FileType::from_raw_mode(st.st_mode as _).is_dir(),
            size: st.st_size as u64,
            mtime_ns,
        });
    }
    #[cfg(not(unix))]
    let _ = dir;
    std::fs::metadata(root.join(rel))
        .ok()
        .map(|md| FileStat::of(&md))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_metadata_by_whole_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b.png")).unwrap();
        std::fs::write(root.join("a/x.jpg"), b"12345").unwrap();
        std::fs::write(root.join("top.jpg"), b"1").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a/x.jpg"), root.join("a/link.jpg")).unwrap();
        let mut items: Vec<(std::path::PathBuf, Option<FileStat>)> =
            ["a/b.png", "a/gone.jpg", "a/link.jpg", "a/x.jpg", "top.jpg"]
                .iter()
                .map(|p| (p.into(), None))
                .collect();
        stat_all(root, &mut items, |i| &i.0, |i, s| i.1 = s);
        for (rel, got) in &items {
            let want = std::fs::metadata(root.join(rel))
                .ok()
                .map(|m| FileStat::of(&m));
            assert_eq!(*got, want, "{}", rel.display());
        }
        assert_eq!(items[3].1.unwrap().size, 5);
        assert!(items[0].1.unwrap().is_dir);
        assert_eq!(items[1].1, None);
    }
}
