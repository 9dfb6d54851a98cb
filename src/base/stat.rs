//! Size and modification time of a file, fast: the `stat` is made relative to its open folder
//! (`fstatat`), so the kernel resolves one name instead of the whole path from `/`. On a
//! million files the path lookups were a quarter of an unchanged rescan (`perf`, docs/BENCHMARKS.md
//! "At a million images"). The walk (`layout::walk`) holds each folder open while it lists it.

use std::path::Path;

/// What the scan needs of a file's metadata (symlinks followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub is_dir: bool,
    /// A regular file (not a folder, FIFO, socket or device).
    pub is_file: bool,
    pub size: u64,
    /// Nanoseconds since the Unix epoch; 0 before it or when unknown.
    pub mtime_ns: i64,
}

impl FileStat {
    fn of(md: &std::fs::Metadata) -> FileStat {
        FileStat {
            is_dir: md.is_dir(),
            is_file: md.is_file(),
            size: md.len(),
            mtime_ns: md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i64),
        }
    }
}

/// Stats `name` in the open folder `dir` (following symlinks); by the whole path `abs` when
/// there is no open folder, and whenever the relative `stat` fails, so errors and odd names
/// behave (and read) as `fs::metadata`'s.
pub fn stat_at(
    dir: Option<&std::fs::File>,
    name: &std::ffi::OsStr,
    abs: &Path,
) -> std::io::Result<FileStat> {
    #[cfg(unix)]
    if let Some(dir) = dir
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
        let kind = rustix::fs::FileType::from_raw_mode(st.st_mode as _);
        return Ok(FileStat {
            is_dir: kind.is_dir(),
            is_file: kind.is_file(),
            size: st.st_size as u64,
            mtime_ns,
        });
    }
    #[cfg(not(unix))]
    let _ = (dir, name);
    std::fs::metadata(abs).map(|md| FileStat::of(&md))
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
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a/x.jpg"), root.join("a/link.jpg")).unwrap();
        let folder = std::fs::File::open(root.join("a")).unwrap();
        for name in ["b.png", "gone.jpg", "link.jpg", "x.jpg"] {
            let abs = root.join("a").join(name);
            let want = std::fs::metadata(&abs).map(|m| FileStat::of(&m));
            for dir in [Some(&folder), None] {
                let got = stat_at(dir, name.as_ref(), &abs);
                match (&got, &want) {
                    (Ok(g), Ok(w)) => assert_eq!(g, w, "{name}"),
                    (Err(g), Err(w)) => assert_eq!(g.to_string(), w.to_string(), "{name}"),
                    _ => panic!("{name}: {got:?} vs {want:?}"),
                }
            }
        }
        let x = stat_at(Some(&folder), "x.jpg".as_ref(), &root.join("a/x.jpg")).unwrap();
        assert!(x.is_file && !x.is_dir && x.size == 5);
        let b = stat_at(Some(&folder), "b.png".as_ref(), &root.join("a/b.png")).unwrap();
        assert!(b.is_dir && !b.is_file);
    }
}
