//! Reading one folder tree: the walk that classifies every entry below a split (image
//! candidate or skipped with a reason), the junk and image tests it uses, and the parallel
//! `stat` of the candidates.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::labels::label_for;
use super::{Candidate, IMAGE_EXTENSIONS, SkipReason, Skipped, extension, name_of};

pub(super) fn is_os_junk(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        ".ds_store" | "thumbs.db" | "desktop.ini" | "__macosx" | "ehthumbs.db" | ".directory"
    ) || name.starts_with("._")
}

fn has_image_extension(p: &Path) -> bool {
    extension(p).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

/// Reads the first bytes of a file with no image extension and asks whether they are an image.
fn sniff_is_image(p: &Path) -> bool {
    let mut head = [0u8; 32];
    let Ok(mut f) = fs::File::open(p) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    crate::base::format::sniff(&head[..n]).is_some()
}

/// Size and mtime of every candidate (following symlinks; 0 and 0 when it cannot be read, and
/// size 0 for a folder named like an image). In parallel: on a million files the `stat`s, not
/// the directory listing, are most of the walk (a third of an unchanged rescan, `perf`).
pub(super) fn stat_all(root: &Path, files: &mut [Candidate]) {
    crate::base::stat::stat_all(
        root,
        files,
        |c| &c.rel,
        |c, st| {
            if let Some(st) = st {
                c.size = if st.is_dir { 0 } else { st.size };
                c.mtime_ns = st.mtime_ns;
            }
        },
    );
}

/// Walks one top-level folder (or ROOT itself) and classifies every entry below it.
/// `depth_of_class` is how many path components below `base` the class folder sits
/// (1 for `<class>/<file>`, 0 when labels come from a CSV).
pub(super) struct Walker<'a> {
    pub(super) root: &'a Path,
    pub(super) labels: Option<&'a HashMap<String, String>>,
    pub(super) files: Vec<Candidate>,
    pub(super) skipped: Vec<Skipped>,
}

impl Walker<'_> {
    pub(super) fn skip(&mut self, rel: PathBuf, reason: SkipReason, message: impl Into<String>) {
        self.skipped.push(Skipped {
            rel,
            reason,
            message: message.into(),
        });
    }

    /// Adds an image candidate: its class is the first folder `below` the split (or its label).
    fn add(
        &mut self,
        path: &Path,
        below: &Path,
        split: &str,
        class_level: bool,
        size: u64,
        mtime_ns: i64,
    ) {
        let rel = path.strip_prefix(self.root).unwrap_or(path).to_path_buf();
        let class = match self.labels {
            // No row: indexed with an empty class (flag `unlabeled`), so it still takes part
            // in leak detection (a Kaggle test set has no labels, and copies leak into it).
            Some(labels) => label_for(labels, &rel).unwrap_or_default(),
            None if class_level => below
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default(),
            None => String::new(),
        };
        self.files.push(Candidate {
            rel,
            split: split.into(),
            class: class.into(),
            size,
            mtime_ns,
        });
    }

    pub(super) fn walk(&mut self, base: &Path, split: &str, class_level: bool) {
        let walker = WalkDir::new(base)
            .follow_links(true)
            .min_depth(1)
            .sort_by_file_name();
        let mut it = walker.into_iter();
        while let Some(entry) = it.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    let rel = err
                        .path()
                        .map(|p| p.strip_prefix(self.root).unwrap_or(p).to_path_buf())
                        .unwrap_or_default();
                    let is_loop = err.loop_ancestor().is_some();
                    let below = err.path().and_then(|p| p.strip_prefix(base).ok());
                    // A file named like an image that cannot be followed (a broken link, no
                    // permission) is indexed, so the scan records it as unreadable with the
                    // operating system's message; a loop or an unreadable folder is a skip.
                    if let (Some(p), Some(below)) = (err.path(), below)
                        && !is_loop
                        && has_image_extension(p)
                        && (!class_level || below.components().count() > 1)
                    {
                        self.add(p, below, split, class_level, 0, 0);
                        continue;
                    }
                    let msg = if is_loop {
                        "symlink loop".to_string()
                    } else {
                        err.to_string()
                    };
                    self.skip(rel, SkipReason::WalkError, msg);
                    continue;
                }
            };
            let path = entry.path();
            let rel = path.strip_prefix(self.root).unwrap_or(path).to_path_buf();
            let name = name_of(path);
            let is_dir = entry.file_type().is_dir();
            if is_os_junk(&name) {
                self.skip(rel, SkipReason::OsJunk, "operating-system junk");
                if is_dir {
                    it.skip_current_dir();
                }
                continue;
            }
            if name.starts_with('.') {
                self.skip(
                    rel,
                    SkipReason::Hidden,
                    if is_dir {
                        "hidden folder"
                    } else {
                        "hidden file"
                    },
                );
                if is_dir {
                    it.skip_current_dir();
                }
                continue;
            }
            let below = path.strip_prefix(base).unwrap_or(path);
            let depth = below.components().count();
            // With class folders, depth 1 is the class folder itself; files there are loose.
            if class_level && depth == 1 && !is_dir {
                self.skip(
                    rel,
                    SkipReason::LooseFile,
                    "a file where a class folder was expected",
                );
                continue;
            }
            // Folders, even one named like an image (`x.jpg/`), are only walked into.
            if is_dir {
                continue;
            }
            // Only regular files are sniffed: opening a FIFO would block the walk.
            let regular = entry.file_type().is_file();
            if !(has_image_extension(path) || regular && sniff_is_image(path)) {
                self.skip(
                    rel,
                    SkipReason::NotImage,
                    "not an image (extension and bytes)",
                );
                continue;
            }
            // Size and mtime are read after the walk, in parallel (`stat_all`).
            self.add(path, below, split, class_level, 0, 0);
        }
    }
}
