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

use super::files::{Chunk, bytes_of, path_buf, path_of};
use super::labels::label_for;
use super::{SkipReason, Skipped};
use crate::base::format::IMAGE_EXTENSIONS;
use crate::base::intern::Name;
use crate::base::stat::{FileStat, stat_at};

pub(super) fn is_os_junk(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        ".ds_store" | "thumbs.db" | "desktop.ini" | "__macosx" | "ehthumbs.db" | ".directory"
    ) || name.starts_with("._")
}

fn has_image_extension(p: &Path) -> bool {
    p.file_name().is_some_and(name_has_image_extension)
}

/// [`has_image_extension`] of a file name, on its bytes: `Path::extension`'s rule (after the
/// last dot, none for a name that only starts with one), compared without case and without
/// allocating (the extensions are ASCII, so a name that is not UTF-8 matches exactly when its
/// lossy lower-case text would).
fn name_has_image_extension(name: &OsStr) -> bool {
    let b = name.as_encoded_bytes();
    match b.iter().rposition(|&c| c == b'.') {
        Some(i) if i > 0 => {
            let ext = &b[i + 1..];
            IMAGE_EXTENSIONS
                .iter()
                .any(|e| e.as_bytes().eq_ignore_ascii_case(ext))
        }
        _ => false,
    }
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

/// What the walk needs besides the folders: the labels CSV, if any.
pub(super) struct Walker<'a> {
    pub(super) labels: Option<&'a HashMap<String, String>>,
}

/// A listed folder: its output (own files in chunks, with the places of its subfolders'), its
/// identity and its parent, for the loop check of the folders below it.
struct Node {
    parts: Vec<Part>,
    skipped: Vec<Skipped>,
    id: Option<FolderId>,
    parent: Option<usize>,
}

/// Is `id` the folder `node` or one above it (the base included)?
fn is_ancestor(nodes: &[Node], mut node: Option<usize>, id: &FolderId) -> bool {
    while let Some(n) = node {
        if nodes[n].id.as_ref() == Some(id) {
            return true;
        }
        node = nodes[n].parent;
    }
    false
}

/// What makes two folders the same one, for the loop check: device and inode on Unix (what
/// walkdir's `same_file::Handle` compares there, without keeping every ancestor open: a deep
/// tree would run out of file descriptors), the handle elsewhere.
#[cfg(unix)]
#[derive(PartialEq)]
struct FolderId(u64, u64);
#[cfg(not(unix))]
#[derive(PartialEq)]
struct FolderId(same_file::Handle);

impl FolderId {
    fn of(f: &File) -> Option<FolderId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            f.metadata().ok().map(|m| FolderId(m.dev(), m.ino()))
        }
        #[cfg(not(unix))]
        {
            let f = f.try_clone().ok()?;
            same_file::Handle::from_file(f).ok().map(FolderId)
        }
    }

    /// As walkdir's `Handle::from_path`: the folder is opened, so one that cannot be is an error.
    fn of_path(p: &Path) -> std::io::Result<FolderId> {
        let f = File::open(p)?;
        FolderId::of(&f).ok_or_else(|| std::io::Error::other("cannot identify the folder"))
    }
}

/// A folder to list: where it is, its path relative to ROOT, how deep below its base (a split,
/// or ROOT) it is, the split, whether the base's first level holds class folders, and the class
/// of the files below it (the class folder's name, or empty).
pub(super) struct Folder {
    abs: PathBuf,
    rel: Vec<u8>,
    depth: usize,
    split: Name,
    class_level: bool,
    class: Name,
}

impl Folder {
    /// A base folder to walk: ROOT, or a split folder in it.
    pub(super) fn base(root: &Path, abs: PathBuf, split: &str, class_level: bool) -> Folder {
        Folder {
            rel: bytes_of(abs.strip_prefix(root).unwrap_or(&abs)).to_vec(),
            abs,
            depth: 0,
            split: Name::new(split),
            class_level,
            class: Name::default(),
        }
    }
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
    class_level: bool,
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

    fn into_node(self, id: Option<FolderId>, parent: Option<usize>) -> (Node, Vec<Folder>) {
        let node = Node {
            parts: self.parts,
            skipped: self.skipped,
            id,
            parent,
        };
        (node, self.children)
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
    /// Walks the base folders (ROOT, or the split folders in their order) and classifies every
    /// entry below them. Level by level: the folders of one depth are listed in parallel, then
    /// their subfolders; no recursion, so a tree thousands of folders deep is walked as a flat
    /// one (walkdir's limits: none but the path length).
    pub(super) fn walk(&self, bases: Vec<Folder>) -> Found {
        let n_bases = bases.len();
        let mut nodes: Vec<Node> = Vec::new();
        let mut level: Vec<(Folder, Option<usize>)> =
            bases.into_iter().map(|b| (b, None)).collect();
        while !level.is_empty() {
            let listed: Vec<(Node, Vec<Folder>)> = level
                .into_par_iter()
                .map(|(f, parent)| self.folder(f, parent, &nodes))
                .collect();
            // The next level's folders are numbered after this level's, in order.
            let first_child = nodes.len() + listed.len();
            let mut next = Vec::new();
            for (mut node, children) in listed {
                let offset = first_child + next.len();
                for part in &mut node.parts {
                    if let Part::Child(i) = part {
                        *i += offset;
                    }
                }
                let me = nodes.len();
                next.extend(children.into_iter().map(|c| (c, Some(me))));
                nodes.push(node);
            }
            level = next;
        }
        // Put the folders' outputs together depth first, in path order.
        let mut found = Found::default();
        let mut parts: Vec<Vec<Part>> = Vec::with_capacity(nodes.len());
        for n in nodes {
            found.skipped.extend(n.skipped);
            parts.push(n.parts);
        }
        for base in 0..n_bases {
            let mut stack = vec![std::mem::take(&mut parts[base]).into_iter()];
            while let Some(top) = stack.last_mut() {
                match top.next() {
                    None => {
                        stack.pop();
                    }
                    Some(Part::Files(c)) => found.chunks.push(c),
                    Some(Part::Child(i)) => stack.push(std::mem::take(&mut parts[i]).into_iter()),
                }
            }
        }
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
        if has_image_extension(abs) && (!out.class_level || depth > 1) {
            let st = stat_at(None, OsStr::new(""), abs).ok();
            out.add(rel, self.class_of(rel, class), st);
        } else {
            out.skip(path_buf(rel), SkipReason::WalkError, message);
        }
    }

    /// Lists folder `f` (below node `parent`) and classifies its entries: its node, and its
    /// subfolders to list next.
    fn folder(&self, f: Folder, parent: Option<usize>, nodes: &[Node]) -> (Node, Vec<Folder>) {
        let mut out = Out {
            parts: Vec::new(),
            chunk: Chunk::new(f.split.clone(), f.class.clone()),
            children: Vec::new(),
            skipped: Vec::new(),
            class_level: f.class_level,
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
                return out.into_node(None, parent);
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
        // Open while its names are `stat`ed, closed before the subfolders are walked.
        let folder = File::open(&f.abs).ok();
        let id = folder.as_ref().and_then(FolderId::of);
        let dir = folder.as_ref();
        let depth = f.depth + 1;
        // One buffer for the entries' relative paths (copied only into what is kept).
        let mut rel = Vec::with_capacity(f.rel.len() + 64);
        for (name, ftype) in &entries {
            rel.clear();
            if !f.rel.is_empty() {
                rel.extend_from_slice(&f.rel);
                rel.push(b'/');
            }
            rel.extend_from_slice(&name_bytes(name));
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
                    Ok(s) if s.is_dir => match FolderId::of_path(&abs) {
                        Err(e) => {
                            out.skip(PathBuf::new(), SkipReason::WalkError, e.to_string());
                            continue;
                        }
                        Ok(h) if id.as_ref() == Some(&h) || is_ancestor(nodes, parent, &h) => {
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
            if f.class_level && depth == 1 && !is_dir {
                out.skip(
                    path_buf(&rel),
                    SkipReason::LooseFile,
                    "a file where a class folder was expected",
                );
                continue;
            }
            // Folders, even one named like an image (`x.jpg/`), are only walked into.
            if is_dir {
                let class = if f.class_level && depth == 1 {
                    Name::new(&text)
                } else {
                    f.class.clone()
                };
                out.child(Folder {
                    abs: abs(),
                    rel: rel.clone(),
                    depth,
                    split: f.split.clone(),
                    class_level: f.class_level,
                    class,
                });
                continue;
            }
            // Only regular files are sniffed: opening a FIFO would block the walk.
            if !(name_has_image_extension(name) || is_file && sniff_is_image(&abs())) {
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
        out.into_node(id, parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::paths::extension;

    #[test]
    fn image_extension_on_bytes_is_paths_rule() {
        for name in [
            "a.jpg",
            "a.JPG",
            "a.Jpeg",
            ".jpg",
            "..jpg",
            "a.",
            "a",
            "a.txt",
            "a.jpg.txt",
            "a.txt.png",
            "x.tiff",
            "x.jp",
            "x.jpgx",
            "é.png",
            ".hidden.png",
        ] {
            let by_path =
                extension(Path::new(name)).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()));
            assert_eq!(
                name_has_image_extension(OsStr::new(name)),
                by_path,
                "{name}"
            );
        }
    }
}
