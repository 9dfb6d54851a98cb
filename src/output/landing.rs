//! Where an output would land, and the refusal of one inside ROOT: anything written there
//! becomes part of the dataset (Keras would see a new class), so the index, `--out`, and
//! `split`/`merge`'s OUT are all checked here before anything is scanned or written.

use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::Result;

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

/// Refuses an output path (`what`, e.g. "--out") inside ROOT, before anything is scanned:
/// anything written there becomes part of the dataset (Keras would see a new class). A ROOT
/// that does not exist is left for the scan to report.
pub fn check_output(root: &Path, out: &Path, what: &str) -> Result<()> {
    if let Ok(root) = fs::canonicalize(root)
        && inside(out, &root)
    {
        anyhow::bail!(
            "{what} {} is inside ROOT {}: choose a place outside the dataset",
            out.display(),
            root.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
