//! Reading one folder tree: the walk that classifies every entry below a split (image
//! candidate or skipped with a reason) and `stat`s the candidates, and the junk and image
//! tests it uses.
//!
//! Each folder is listed once, its names sorted as bytes, and its files `stat`ed by name in the
//! open folder (`fstatat`); paths relative to ROOT are built by appending bytes, never parsed.
//! Subfolders are walked in parallel, and their results put back in path order, so the output
//! is the same as a sequential walk's. The entries and their reasons are walkdir's (with
//! `follow_links` and `sort_by_file_name`), which this walk replaced at a million files: its
//! per-entry `Path` work (`file_name` on every comparison, `strip_prefix`, `components`) was a
//! quarter of an unchanged rescan (`perf`).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use same_file::Handle;

use super::files::{Chunk, bytes_of, join_bytes, path_buf, path_of};
use super::labels::label_for;
use super::{IMAGE_EXTENSIONS, SkipReason, Skipped, extension};
use crate::base::stat::{FileStat, stat_at};
use crate::name::Name;

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

/// What a subtree yields: its candidates in path order (chunk by chunk) and what it skipped.
#[derive(Default)]
pub(super) struct Found {
    pub(super) chunks: Vec<Chunk>,
    pub(super) skipped: Vec<Skipped>,
}

/// How to classify the entries below one base folder (a split, or ROOT).
pub(super) struct Walker<'a> {
    pub(super) root: &'a Path,
    pub(super) labels: Option<&'a HashMap<String, String>>,
    pub(super) split: Name,
    /// The first level below the base holds class folders.
    pub(super) class_level: bool,
}

/// The folders from the base down to the one being listed: a symlink to one of them is a loop.
struct Ancestor<'a> {
    handle: Option<Handle>,
    up: Option<&'a Ancestor<'a>>,
}

impl Ancestor<'_> {
    fn contains(&self, h: &Handle) -> bool {
        let mut a = Some(self);
        while let Some(x) = a {
            if x.handle.as_ref() == Some(h) {
                return true;
            }
            a = x.up;
        }
        false
    }
}

/// A folder to list: where it is, its path relative to ROOT, how deep below the base it is,
/// and the class of the files below it (the class folder's name, or empty).
struct Folder {
    abs: PathBuf,
    rel: Vec<u8>,
    depth: usize,
    class: Name,
}

/// A folder's output while it is listed: its own files in chunks, with the places where each
/// subfolder's output goes.
enum Part {
    Files(Chunk),
    Child(usize),
}

struct Out {
    parts: Vec<Part>,
    chunk: Chunk,
    children: Vec<Folder>,
    skipped: Vec<Skipped>,
}

impl Out {
    fn add(&mut self, rel: &[u8], class: Name, st: Option<FileStat>) {
        // A folder named like an image (that could not be listed) has size 0.
        let (size, mtime_ns) =
            st.map_or((0, 0), |s| (if s.is_dir { 0 } else { s.size }, s.mtime_ns));
        if !self.chunk.push(rel, class.clone(), size, mtime_ns) {
            self.flush();
            // An empty chunk takes any one path (a name is far below 4 GiB).
            let _ = self.chunk.push(rel, class, size, mtime_ns);
        }
    }

    fn flush(&mut self) {
        if !self.chunk.is_empty() {
            let next = self.chunk.fresh();
            let full = std::mem::replace(&mut self.chunk, next);
            self.parts.push(Part::Files(full.seal()));
        }
    }

    fn skip(&mut self, rel: PathBuf, reason: SkipReason, message: impl Into<String>) {
        self.skipped.push(Skipped {
            rel,
            reason,
            message: message.into(),
        });
    }

    fn child(&mut self, f: Folder) {
        self.flush();
        self.parts.push(Part::Child(self.children.len()));
        self.children.push(f);
    }
}

/// walkdir's message for an I/O error at `path`.
fn io_message(path: &Path, err: &std::io::Error) -> String {
    format!("IO error for operation on {}: {err}", path.display())
}

/// A name's bytes as the walk stores them (see `files::path_of`).
fn name_bytes(name: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        std::borrow::Cow::Borrowed(name.as_encoded_bytes())
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(name.to_string_lossy().into_owned().into_bytes())
    }
}

impl Walker<'_> {
    /// Walks `base` (ROOT or a split folder in it) and classifies every entry below it.
    pub(super) fn walk(&self, base: &Path) -> Found {
        let rel = bytes_of(base.strip_prefix(self.root).unwrap_or(base)).to_vec();
        let f = Folder {
            abs: base.to_path_buf(),
            rel,
            depth: 0,
            class: Name::default(),
        };
        let mut found = Found::default();
        self.folder(f, None, &mut found);
        found
    }

    /// The class of a candidate at `rel` in a folder of class `class`.
    fn class_of(&self, rel: &[u8], class: &Name) -> Name {
        match self.labels {
            // No row: indexed with an empty class (flag `unlabeled`), so it still takes part
            // in leak detection (a Kaggle test set has no labels, and copies leak into it).
            Some(labels) => label_for(labels, path_of(rel)).unwrap_or_default().into(),
            None => class.clone(),
        }
    }

    /// An entry the walk cannot follow or enter (a broken link, no permission). A file named
    /// like an image is indexed, so the scan records it as unreadable with the operating
    /// system's message; anything else is a skip.
    fn error(
        &self,
        out: &mut Out,
        abs: &Path,
        rel: &[u8],
        depth: usize,
        class: &Name,
        message: String,
    ) {
        if has_image_extension(abs) && (!self.class_level || depth > 1) {
            let st = stat_at(None, OsStr::new(""), abs).ok();
            out.add(rel, self.class_of(rel, class), st);
        } else {
            out.skip(path_buf(rel), SkipReason::WalkError, message);
        }
    }

    /// Lists folder `f`, classifies its entries, walks its subfolders (in parallel) and appends
    /// everything, in path order, to `found`.
    fn folder(&self, f: Folder, up: Option<&Ancestor<'_>>, found: &mut Found) {
        let mut out = Out {
            parts: Vec::new(),
            chunk: Chunk::new(self.split.clone(), f.class.clone()),
            children: Vec::new(),
            skipped: Vec::new(),
        };
        let listing = match fs::read_dir(&f.abs) {
            Ok(l) => l,
            Err(e) => {
                self.error(
                    &mut out,
                    &f.abs,
                    &f.rel,
                    f.depth,
                    &f.class,
                    io_message(&f.abs, &e),
                );
                out.flush();
                self.gather(out, Vec::new(), found);
                return;
            }
        };
        let mut entries = Vec::new();
        for e in listing {
            match e {
                Ok(e) => {
                    let t = e.file_type();
                    entries.push((e.file_name(), t));
                }
                Err(e) => out.skip(
                    path_buf(&f.rel),
                    SkipReason::WalkError,
                    io_message(&f.abs, &e),
                ),
            }
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let me = Ancestor {
            handle: File::open(&f.abs)
                .ok()
                .and_then(|d| Handle::from_file(d).ok()),
            up,
        };
        let dir = me.handle.as_ref().map(Handle::as_file);
        let depth = f.depth + 1;
        for (name, ftype) in &entries {
            let rel = join_bytes(&f.rel, &name_bytes(name));
            let abs = || f.abs.join(name);
            let ftype = match ftype {
                Ok(t) => *t,
                Err(e) => {
                    let abs = abs();
                    self.error(&mut out, &abs, &rel, depth, &f.class, io_message(&abs, e));
                    continue;
                }
            };
            // Symlinks are followed: what they point to is what counts.
            let mut st = None;
            let (is_dir, is_file) = if ftype.is_symlink() {
                let abs = abs();
                match stat_at(dir, name, &abs) {
                    Err(e) => {
                        self.error(&mut out, &abs, &rel, depth, &f.class, io_message(&abs, &e));
                        continue;
                    }
                    Ok(s) if s.is_dir => match Handle::from_path(&abs) {
                        Err(e) => {
                            out.skip(PathBuf::new(), SkipReason::WalkError, e.to_string());
                            continue;
                        }
                        Ok(h) if me.contains(&h) => {
                            out.skip(path_buf(&rel), SkipReason::WalkError, "symlink loop");
                            continue;
                        }
                        Ok(_) => (true, false),
                    },
                    Ok(s) => {
                        st = Some(s);
                        (false, s.is_file)
                    }
                }
            } else {
                (ftype.is_dir(), ftype.is_file())
            };
            let text = name.to_string_lossy();
            if is_os_junk(&text) {
                out.skip(path_buf(&rel), SkipReason::OsJunk, "operating-system junk");
                continue;
            }
            if text.starts_with('.') {
                let what = if is_dir {
                    "hidden folder"
                } else {
                    "hidden file"
                };
                out.skip(path_buf(&rel), SkipReason::Hidden, what);
                continue;
            }
            // With class folders, depth 1 is the class folder itself; files there are loose.
            if self.class_level && depth == 1 && !is_dir {
                out.skip(
                    path_buf(&rel),
                    SkipReason::LooseFile,
                    "a file where a class folder was expected",
                );
                continue;
            }
            // Folders, even one named like an image (`x.jpg/`), are only walked into.
            if is_dir {
                let class = if self.class_level && depth == 1 {
                    Name::new(&text)
                } else {
                    f.class.clone()
                };
                out.child(Folder {
                    abs: abs(),
                    rel,
                    depth,
                    class,
                });
                continue;
            }
            // Only regular files are sniffed: opening a FIFO would block the walk.
            let path = path_of(&rel);
            if !(has_image_extension(path) || is_file && sniff_is_image(&abs())) {
                out.skip(
                    path_buf(&rel),
                    SkipReason::NotImage,
                    "not an image (extension and bytes)",
                );
                continue;
            }
            let st = st.or_else(|| stat_at(dir, name, &abs()).ok());
            out.add(&rel, self.class_of(&rel, &f.class), st);
        }
        out.flush();
        drop(entries);
        let children: Vec<Folder> = std::mem::take(&mut out.children);
        let done: Vec<Found> = children
            .into_par_iter()
            .map(|c| {
                let mut found = Found::default();
                self.folder(c, Some(&me), &mut found);
                found
            })
            .collect();
        self.gather(out, done, found);
    }

    /// Appends a folder's own chunks and its subfolders' outputs, in path order.
    fn gather(&self, out: Out, children: Vec<Found>, found: &mut Found) {
        let mut children: Vec<Option<Found>> = children.into_iter().map(Some).collect();
        found.skipped.extend(out.skipped);
        for part in out.parts {
            match part {
                Part::Files(c) => found.chunks.push(c),
                Part::Child(i) => {
                    if let Some(child) = children[i].take() {
                        found.chunks.extend(child.chunks);
                        found.skipped.extend(child.skipped);
                    }
                }
            }
        }
    }
}
