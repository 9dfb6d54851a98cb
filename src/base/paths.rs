//! Path rules shared by every layer: paths as CSV bytes, "is this inside ROOT", file
//! extensions, and what counts as a single ordinary path component (labels, class and split
//! names become folder names, so they must not be able to climb out of OUT).

use std::fs;
use std::path::{Component, Path, PathBuf};

/// A path as raw bytes for CSV output (shared by every CSV the tool writes), so non-UTF-8
/// names survive a round trip.
#[cfg(unix)]
pub fn path_field(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
pub fn path_field(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

/// Lower-case extension of a path, if any.
pub fn extension(p: &Path) -> Option<String> {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Where `path` would physically land once its missing folders were created, as a
/// canonical path: relative paths start at the current folder, existing prefixes are
/// resolved through the file system (symlinks, and `..` after them, as the kernel does), and
/// the missing rest is applied lexically (`create_dir_all` makes real folders, so a `..`
/// after a missing folder goes back to the folder before it). `None` when a link cannot be
/// followed (a loop, or too many levels).
pub fn landing(path: &Path) -> Option<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    resolve_from(&abs, 0)
}

/// How many symlinks `landing` follows before it gives up (Linux's `MAXSYMLINKS` is 40).
const MAX_LINKS: usize = 40;

fn resolve_from(abs: &Path, depth: usize) -> Option<PathBuf> {
    if depth > MAX_LINKS {
        return None;
    }
    let mut cur = PathBuf::new();
    // `true` while `cur` exists on disk (then it is canonical, so `..` is its parent).
    let mut exists = true;
    for c in abs.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => cur.push(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                cur.pop();
                exists = exists || cur.exists();
            }
            Component::Normal(name) => {
                let next = cur.join(name);
                if !exists {
                    cur = next;
                    continue;
                }
                match fs::symlink_metadata(&next) {
                    Err(_) => {
                        exists = false;
                        cur = next;
                    }
                    Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(&next) {
                        Ok(c) => cur = c,
                        // A dangling link: writing through it creates its target.
                        Err(_) => {
                            let target = fs::read_link(&next).ok()?;
                            cur = resolve_from(&cur.join(target), depth + 1)?;
                            exists = cur.exists();
                        }
                    },
                    // `cur` is canonical and `name` no link, so `next` is canonical too.
                    Ok(_) => cur = next,
                }
            }
        }
    }
    Some(cur)
}

/// Would `path` (which may not exist yet) land inside `root`? Both are resolved as
/// [`landing`] resolves them, so a symlink, a `..` after a folder that does not exist yet, or a
/// relative path cannot hide it. A path that cannot be resolved counts as inside (refused).
pub fn inside(path: &Path, root: &Path) -> bool {
    let Ok(root) = fs::canonicalize(root) else {
        return false;
    };
    landing(path).is_none_or(|p| p.starts_with(&root))
}

/// Why a name cannot be used as one folder or file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComponentError {
    #[error("is empty")]
    Empty,
    #[error("is `.` or `..`")]
    Dot,
    #[error("contains `/` or `\\`")]
    Separator,
    #[error("contains a NUL byte")]
    Nul,
    #[error("is an absolute path")]
    Absolute,
}

/// Checks that `name` is one ordinary path component: not empty, not `.` or `..`, no `/`, `\`
/// or NUL byte, not absolute. Labels, class names and split names pass through here before
/// they become folder names.
pub fn plain_component(name: &str) -> Result<(), ComponentError> {
    if name.is_empty() {
        return Err(ComponentError::Empty);
    }
    if name.contains('\0') {
        return Err(ComponentError::Nul);
    }
    if Path::new(name).is_absolute() {
        return Err(ComponentError::Absolute);
    }
    if name.contains('/') || name.contains('\\') {
        return Err(ComponentError::Separator);
    }
    if name == "." || name == ".." {
        return Err(ComponentError::Dot);
    }
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => Ok(()),
        _ => Err(ComponentError::Dot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_components() {
        for ok in ["cat", "a b", "é", ".hidden", "x..y", "..."] {
            assert_eq!(plain_component(ok), Ok(()), "{ok}");
        }
        assert_eq!(plain_component(""), Err(ComponentError::Empty));
        assert_eq!(plain_component("."), Err(ComponentError::Dot));
        assert_eq!(plain_component(".."), Err(ComponentError::Dot));
        assert_eq!(
            plain_component("../../escaped"),
            Err(ComponentError::Separator)
        );
        assert_eq!(plain_component("a/b"), Err(ComponentError::Separator));
        assert_eq!(plain_component("a\\b"), Err(ComponentError::Separator));
        assert_eq!(plain_component("/etc"), Err(ComponentError::Absolute));
        assert_eq!(plain_component("a\0b"), Err(ComponentError::Nul));
    }

    #[test]
    fn path_bytes_round_trip() {
        let p = Path::new("train/cat/ü.jpg");
        assert_eq!(path_from_bytes(&path_field(p)), p);
    }
    /// A sandbox deep enough that no generated path can climb out of it: `d1/../d6/start` is
    /// where relative paths begin, `d1/../d6/ROOT` the dataset, with links into and out of it.
    #[cfg(unix)]
    fn sandbox() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("d1/d2/d3/d4/d5/d6");
        let root = deep.join("ROOT");
        let start = deep.join("start");
        fs::create_dir_all(root.join("train/cat")).unwrap();
        fs::create_dir_all(&start).unwrap();
        std::os::unix::fs::symlink(&root, start.join("to_root")).unwrap();
        std::os::unix::fs::symlink(&start, root.join("to_start")).unwrap();
        std::os::unix::fs::symlink(root.join("gone"), start.join("dangling_in")).unwrap();
        std::os::unix::fs::symlink("../start/x", start.join("rel_out")).unwrap();
        let root = fs::canonicalize(root).unwrap();
        let start = fs::canonicalize(start).unwrap();
        (tmp, root, start)
    }

    #[cfg(unix)]
    #[test]
    fn dot_dot_after_a_missing_folder_cannot_hide_root() {
        let (_tmp, root, start) = sandbox();
        let cases = [
            ("nope/../../ROOT/idx/index.csv", true),
            ("nope/a/../../../ROOT/report", true),
            ("nope/../../ROOT", true),
            ("to_root/../start/out", false),
            ("to_root/train/../x", true),
            ("dangling_in/index.csv", true),
            ("rel_out/index.csv", false),
            ("nope/../out", false),
            ("../ROOTx/out", false),
            ("../ROOT/../start/out", false),
        ];
        for (rel, want) in cases {
            assert_eq!(inside(&start.join(rel), &root), want, "{rel}");
        }
    }

    #[cfg(unix)]
    mod landing_prop {
        use super::*;
        use proptest::prelude::*;

        const PARTS: [&str; 8] = [
            "..", ".", "nope", "ROOT", "to_root", "to_start", "train", "start",
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(96))]
            /// `inside` agrees with the file system: create the folders the path names
            /// (as a writer would) and see where they really are.
            #[test]
            fn inside_agrees_with_creating_the_folders(idx in proptest::collection::vec(0..PARTS.len(), 1..6)) {
                let (_tmp, root, start) = sandbox();
                let rel: PathBuf = idx.iter().map(|&i| PARTS[i]).collect();
                let path = start.join(&rel);
                let predicted = inside(&path, &root);
                let landed = landing(&path).expect("no loops in the sandbox");
                if fs::create_dir_all(&path).is_ok() {
                    let real = fs::canonicalize(&path).unwrap();
                    prop_assert_eq!(&real, &landed, "{}", rel.display());
                    prop_assert_eq!(predicted, real.starts_with(&root), "{}", rel.display());
                }
            }
        }
    }
}
