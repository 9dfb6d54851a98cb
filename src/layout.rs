//! Layout discovery: which folder is a split, which is a class, which files are images.
//!
//! Supported layouts (see README.md):
//! - `ROOT/<split>/<class>/<file>`: first-level folders named like splits, or named by `--splits`;
//! - `ROOT/<class>/<file>`: no splits;
//! - `ROOT/<split>/<file>` or `ROOT/<file>` with labels from a CSV (`--labels`);
//! - `ROOT/<split>/<file>` or `ROOT/<file>` without labels: no class folders (a Kaggle test
//!   folder, a scraped pile). Every image is indexed with an empty class, so leaks and
//!   duplicates are still found; commands that need classes say how to supply them.
//!
//! Files deeper than the class folder belong to that class. A file without a class (no row in
//! the labels CSV, or no class folders) is indexed with an empty class: it is still an image
//! that can leak. Everything that is not used (OS junk, hidden files, non-images, loose files,
//! walk errors) is returned as a [`Skipped`] entry with its reason, so the summary can count
//! it: nothing is dropped silently.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use walkdir::WalkDir;

/// Folder names recognised as splits (case-insensitive).
pub const SPLIT_NAMES: [&str; 10] = [
    "train",
    "training",
    "training_set",
    "val",
    "valid",
    "validation",
    "dev",
    "test",
    "testing",
    "test_set",
];

pub use crate::base::format::IMAGE_EXTENSIONS;

/// What a split is for, derived from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Train,
    Val,
    Test,
    Other,
}

/// The role of a split folder name: `training_set` is train, `valid` is val, and so on.
pub fn split_role(name: &str) -> Role {
    match name.to_ascii_lowercase().as_str() {
        "train" | "training" | "training_set" => Role::Train,
        "val" | "valid" | "validation" | "dev" => Role::Val,
        "test" | "testing" | "test_set" => Role::Test,
        _ => Role::Other,
    }
}

/// Which layout was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// `ROOT/<split>/<class>/<file>`
    SplitClass,
    /// `ROOT/<class>/<file>`
    Class,
    /// `ROOT/<split>/<file>` with labels from a CSV.
    SplitLabels,
    /// `ROOT/<file>` with labels from a CSV.
    Labels,
    /// `ROOT/<split>/<file>`: split folders without class folders and no labels.
    SplitFlat,
    /// `ROOT/<file>`: image files directly in ROOT, no labels.
    Flat,
}

impl LayoutKind {
    /// Does this layout give images a class (folders or a labels CSV)?
    pub fn has_classes(self) -> bool {
        !matches!(self, LayoutKind::SplitFlat | LayoutKind::Flat)
    }
}

impl fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayoutKind::SplitClass => "ROOT/<split>/<class>/<file>",
            LayoutKind::Class => "ROOT/<class>/<file>",
            LayoutKind::SplitLabels => "ROOT/<split>/<file> with labels from CSV",
            LayoutKind::Labels => "ROOT/<file> with labels from CSV",
            LayoutKind::SplitFlat => "ROOT/<split>/<file>, no class folders",
            LayoutKind::Flat => "ROOT/<file>, no class folders",
        })
    }
}

/// Why a file (or folder) found under ROOT is not indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// `.DS_Store`, `Thumbs.db`, `desktop.ini`, `__MACOSX/`.
    OsJunk,
    /// A name starting with a dot (a hidden folder counts once, with all it holds).
    Hidden,
    /// Neither an image extension nor image bytes.
    NotImage,
    /// A file where a folder was expected (e.g. directly in ROOT or in a split folder).
    LooseFile,
    /// A first-level folder that is not a split when the others are.
    NotASplit,
    /// The walk could not enter or follow it (permissions, symlink loop, broken link).
    WalkError,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::OsJunk => "os_junk",
            SkipReason::Hidden => "hidden",
            SkipReason::NotImage => "not_image",
            SkipReason::LooseFile => "loose_file",
            SkipReason::NotASplit => "not_a_split",
            SkipReason::WalkError => "walk_error",
        }
    }
}

/// A file that will be scanned.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Path relative to ROOT.
    pub rel: PathBuf,
    pub split: crate::name::Name,
    pub class: crate::name::Name,
    pub size: u64,
    pub mtime_ns: i64,
}

/// Something under ROOT that is not scanned, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub rel: PathBuf,
    pub reason: SkipReason,
    pub message: String,
}

/// One entry under ROOT that is not indexed.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct SkippedEntry {
    pub path: String,
    /// `os_junk hidden not_image loose_file not_a_split walk_error`.
    pub reason: &'static str,
    pub message: String,
}

impl SkippedEntry {
    pub fn of(s: &Skipped) -> Self {
        SkippedEntry {
            path: s.rel.to_string_lossy().into_owned(),
            reason: s.reason.as_str(),
            message: s.message.clone(),
        }
    }
}

/// How to interpret ROOT.
#[derive(Debug, Clone, Default)]
pub struct LayoutOptions {
    /// First-level folders to treat as splits (`--splits`), instead of recognising names.
    pub splits: Option<Vec<String>>,
    /// CSV of `file name or stem,label` (`--labels`).
    pub labels: Option<PathBuf>,
}

/// The result of walking ROOT.
#[derive(Debug, Clone)]
pub struct Layout {
    pub kind: LayoutKind,
    /// Split folder names, sorted (empty when there are no splits).
    pub splits: Vec<String>,
    /// Image files, sorted by path.
    pub files: Vec<Candidate>,
    pub skipped: Vec<Skipped>,
    /// Class folders per split (`""` without splits), empty ones included: what Keras'
    /// directory loaders take as the class list. Only splits that have class folders are
    /// keys; empty for layouts with a labels CSV.
    pub class_dirs: BTreeMap<String, BTreeSet<String>>,
}

impl Layout {
    /// Class names found, sorted (the empty class of unlabeled files is not a class).
    pub fn classes(&self) -> BTreeSet<&str> {
        self.files
            .iter()
            .map(|c| c.class.as_str())
            .filter(|c| !c.is_empty())
            .collect()
    }

    /// Images without a class: no row in the labels CSV, or no class folders.
    pub fn unlabeled(&self) -> usize {
        self.files.iter().filter(|c| c.class.is_empty()).count()
    }

    /// Skip counts by reason.
    pub fn skip_counts(&self) -> BTreeMap<SkipReason, usize> {
        let mut m = BTreeMap::new();
        for s in &self.skipped {
            *m.entry(s.reason).or_default() += 1;
        }
        m
    }
}

fn is_os_junk(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        ".ds_store" | "thumbs.db" | "desktop.ini" | "__macosx" | "ehthumbs.db" | ".directory"
    ) || name.starts_with("._")
}

pub use crate::base::paths::extension;

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
fn stat_all(root: &Path, files: &mut [Candidate]) {
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

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads a labels CSV: first column a file name or stem, second a label. A header row is
/// harmless (it matches no file).
fn read_labels(path: &Path) -> Result<HashMap<String, String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read labels {}", path.display()))?;
    let mut map = HashMap::new();
    for row in rdr.records() {
        let row = row.with_context(|| format!("cannot read labels {}", path.display()))?;
        if let (Some(name), Some(label)) = (row.get(0), row.get(1)) {
            let (name, label) = (name.trim(), label.trim());
            if !name.is_empty() && !label.is_empty() {
                if let Err(e) = crate::base::paths::plain_component(label) {
                    bail!(
                        "labels file {}: label {label:?} {e}; a label becomes a folder name",
                        path.display()
                    );
                }
                map.insert(name.to_owned(), label.to_owned());
            }
        }
    }
    if map.is_empty() {
        bail!("labels file {} has no `name,label` rows", path.display());
    }
    Ok(map)
}

fn label_for(labels: &HashMap<String, String>, rel: &Path) -> Option<String> {
    let name = name_of(rel);
    let stem = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rel_str = rel.to_string_lossy();
    labels
        .get(rel_str.as_ref())
        .or_else(|| labels.get(&name))
        .or_else(|| labels.get(&stem))
        .cloned()
}

/// Walks one top-level folder (or ROOT itself) and classifies every entry below it.
/// `depth_of_class` is how many path components below `base` the class folder sits
/// (1 for `<class>/<file>`, 0 when labels come from a CSV).
struct Walker<'a> {
    root: &'a Path,
    labels: Option<&'a HashMap<String, String>>,
    files: Vec<Candidate>,
    skipped: Vec<Skipped>,
}

impl Walker<'_> {
    fn skip(&mut self, rel: PathBuf, reason: SkipReason, message: impl Into<String>) {
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

    fn walk(&mut self, base: &Path, split: &str, class_level: bool) {
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

/// Walks ROOT and works out its layout. Fails only when ROOT itself cannot be used.
pub fn discover(root: &Path, opts: &LayoutOptions) -> Result<Layout> {
    let md = fs::metadata(root).with_context(|| format!("cannot open ROOT {}", root.display()))?;
    if !md.is_dir() {
        bail!("ROOT {} is not a folder", root.display());
    }
    let labels = opts.labels.as_deref().map(read_labels).transpose()?;
    let top_dirs: Vec<String> = subfolders(root)
        .with_context(|| format!("cannot list ROOT {}", root.display()))?
        .into_iter()
        .collect();
    let splits: Vec<String> = match &opts.splits {
        Some(wanted) => {
            for w in wanted {
                if !top_dirs.contains(w) {
                    bail!("--splits names {w:?}, which is not a folder in ROOT");
                }
            }
            let mut s = wanted.clone();
            s.sort();
            s.dedup();
            s
        }
        None => top_dirs
            .iter()
            .filter(|d| SPLIT_NAMES.contains(&d.to_ascii_lowercase().as_str()))
            .cloned()
            .collect(),
    };
    // Without labels, a base folder (a split, or ROOT) holds class folders when it has any
    // visible subfolder; one without (a Kaggle `test/` of loose images) is flat: its images
    // are indexed with an empty class instead of being skipped as loose files.
    let bases: Vec<String> = if splits.is_empty() {
        vec![String::new()]
    } else {
        splits.clone()
    };
    let class_dirs: BTreeMap<String, BTreeSet<String>> = if labels.is_some() {
        BTreeMap::new()
    } else {
        bases
            .iter()
            .map(|b| (b.clone(), subfolders(&root.join(b)).unwrap_or_default()))
            .filter(|(_, dirs)| !dirs.is_empty())
            .collect()
    };
    let kind = match (splits.is_empty(), labels.is_some(), class_dirs.is_empty()) {
        (false, true, _) => LayoutKind::SplitLabels,
        (true, true, _) => LayoutKind::Labels,
        (false, false, false) => LayoutKind::SplitClass,
        (true, false, false) => LayoutKind::Class,
        (false, false, true) => LayoutKind::SplitFlat,
        (true, false, true) => LayoutKind::Flat,
    };
    let mut w = Walker {
        root,
        labels: labels.as_ref(),
        files: Vec::new(),
        skipped: Vec::new(),
    };
    let class_level = |base: &str| labels.is_none() && class_dirs.contains_key(base);
    if splits.is_empty() {
        w.walk(root, "", class_level(""));
    } else {
        // Loose files and non-split folders at the top level are counted, not walked.
        for entry in fs::read_dir(root)?.flatten() {
            let p = entry.path();
            let name = name_of(&p);
            let rel = PathBuf::from(&name);
            if is_os_junk(&name) {
                w.skip(rel, SkipReason::OsJunk, "operating-system junk");
            } else if name.starts_with('.') {
                w.skip(rel, SkipReason::Hidden, "hidden");
            } else if splits.contains(&name) {
                continue;
            } else if fs::metadata(&p).map(|m| m.is_dir()).unwrap_or(false) {
                w.skip(
                    rel,
                    SkipReason::NotASplit,
                    "a folder beside the split folders",
                );
            } else {
                w.skip(
                    rel,
                    SkipReason::LooseFile,
                    "a file where a split folder was expected",
                );
            }
        }
        for split in &splits {
            w.walk(&root.join(split), split, class_level(split));
        }
    }
    let Walker {
        mut files,
        mut skipped,
        ..
    } = w;
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    skipped.sort_by(|a, b| a.rel.cmp(&b.rel));
    stat_all(root, &mut files);
    Ok(Layout {
        kind,
        splits,
        files,
        skipped,
        class_dirs,
    })
}

/// Names of the visible subfolders of `dir` (what `os.listdir` + isdir gives Keras, minus
/// hidden and OS-junk folders, which cleansplit never treats as classes).
fn subfolders(dir: &Path) -> std::io::Result<BTreeSet<String>> {
    Ok(fs::read_dir(dir)?
        .flatten()
        .filter(|e| fs::metadata(e.path()).is_ok_and(|m| m.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !is_os_junk(n))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];

    fn rels(l: &Layout) -> Vec<String> {
        l.files
            .iter()
            .map(|c| c.rel.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn split_class_layout_with_odd_entries() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(r, "Train/cats/a.jpg", b"x");
        touch(r, "Train/cats/deeper/b.png", b"x");
        touch(r, "Train/dogs/c.jpg", b"x");
        touch(r, "Train/loose.jpg", b"x");
        touch(r, "val/cats/d.jpg", b"x");
        touch(r, "val/cats/.hidden.jpg", b"x");
        touch(r, "val/cats/.DS_Store", b"x");
        touch(r, "val/cats/notes.txt", b"hello");
        touch(r, "val/cats/noext", JPEG_MAGIC);
        touch(r, "val/__MACOSX/cats/._d.jpg", b"x");
        touch(r, "README.md", b"x");
        touch(r, "extra/cats/e.jpg", b"x");
        let l = discover(r, &LayoutOptions::default()).unwrap();
        assert_eq!(l.kind, LayoutKind::SplitClass);
        assert_eq!(l.splits, vec!["Train", "val"]);
        assert_eq!(
            rels(&l),
            vec![
                "Train/cats/a.jpg",
                "Train/cats/deeper/b.png",
                "Train/dogs/c.jpg",
                "val/cats/d.jpg",
                "val/cats/noext"
            ]
        );
        assert_eq!(l.files[1].class, "cats");
        assert_eq!(l.files[3].split, "val");
        let c = l.skip_counts();
        assert_eq!(c[&SkipReason::LooseFile], 2); // Train/loose.jpg, README.md
        assert_eq!(c[&SkipReason::Hidden], 1);
        assert_eq!(c[&SkipReason::OsJunk], 2); // .DS_Store, __MACOSX
        assert_eq!(c[&SkipReason::NotImage], 1);
        assert_eq!(c[&SkipReason::NotASplit], 1);
    }

    #[test]
    fn class_folders_include_empty_ones() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "train/a/1.jpg", b"x");
        touch(d.path(), "train/c/notes.txt", b"x");
        fs::create_dir_all(d.path().join("train/b")).unwrap();
        fs::create_dir_all(d.path().join("train/.cache")).unwrap();
        touch(d.path(), "val/a/1.jpg", b"x");
        let l = discover(d.path(), &LayoutOptions::default()).unwrap();
        let train: Vec<&str> = l.class_dirs["train"].iter().map(String::as_str).collect();
        assert_eq!(train, vec!["a", "b", "c"]);
        assert_eq!(l.class_dirs["val"].len(), 1);
    }

    #[test]
    fn class_layout_without_splits() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "ants/a.jpg", b"x");
        touch(d.path(), "bees/b.jpg", b"x");
        touch(d.path(), "stray.jpg", b"x");
        let l = discover(d.path(), &LayoutOptions::default()).unwrap();
        assert_eq!(l.kind, LayoutKind::Class);
        assert!(l.splits.is_empty());
        assert_eq!(
            l.classes().into_iter().collect::<Vec<_>>(),
            vec!["ants", "bees"]
        );
        assert_eq!(l.skip_counts()[&SkipReason::LooseFile], 1);
    }

    #[test]
    fn explicit_splits_option() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "fold_a/x/1.jpg", b"x");
        touch(d.path(), "fold_b/y/2.jpg", b"x");
        let opts = LayoutOptions {
            splits: Some(vec!["fold_a".into(), "fold_b".into()]),
            labels: None,
        };
        let l = discover(d.path(), &opts).unwrap();
        assert_eq!(l.kind, LayoutKind::SplitClass);
        assert_eq!(l.files[0].split, "fold_a");
        assert_eq!(l.files[0].class, "x");
        let bad = LayoutOptions {
            splits: Some(vec!["nope".into()]),
            labels: None,
        };
        assert!(discover(d.path(), &bad).is_err());
    }

    #[test]
    fn labels_csv_layouts() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path().join("data");
        touch(&r, "train/1.jpg", b"x");
        touch(&r, "train/2.jpg", b"x");
        touch(&r, "train/3.jpg", b"x");
        touch(&r, "test/4.jpg", b"x");
        let labels = d.path().join("labels.csv");
        fs::write(&labels, "id,label\n1,cat\n2.jpg,dog\n4,dog\n").unwrap();
        let opts = LayoutOptions {
            splits: None,
            labels: Some(labels.clone()),
        };
        let l = discover(&r, &opts).unwrap();
        assert_eq!(l.kind, LayoutKind::SplitLabels);
        let got: Vec<(String, String)> = l
            .files
            .iter()
            .map(|c| (c.rel.to_string_lossy().into_owned(), c.class.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("test/4.jpg".into(), "dog".into()),
                ("train/1.jpg".into(), "cat".into()),
                ("train/2.jpg".into(), "dog".into()),
                ("train/3.jpg".into(), "".into()),
            ]
        );
        // The file without a row is an image without a class, not a skip.
        assert!(l.skipped.is_empty());
        assert_eq!(l.unlabeled(), 1);
        assert_eq!(l.classes().len(), 2);

        let flat = d.path().join("flat");
        touch(&flat, "1.jpg", b"x");
        let l = discover(&flat, &opts).unwrap();
        assert_eq!(l.kind, LayoutKind::Labels);
        assert_eq!(l.files[0].class, "cat");
    }

    #[test]
    fn split_folders_without_class_folders_are_a_layout() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "train/1.jpg", b"x");
        touch(d.path(), "train/2.jpg", b"x");
        touch(d.path(), "test/3.jpg", b"x");
        touch(d.path(), "test/.DS_Store", b"x");
        touch(d.path(), "notes.txt", b"x");
        let l = discover(d.path(), &LayoutOptions::default()).unwrap();
        assert_eq!(l.kind, LayoutKind::SplitFlat);
        assert!(!l.kind.has_classes());
        assert_eq!(rels(&l), vec!["test/3.jpg", "train/1.jpg", "train/2.jpg"]);
        assert!(l.files.iter().all(|c| c.class.is_empty()));
        assert_eq!(l.files[0].split, "test");
        assert!(l.classes().is_empty());
        assert_eq!(l.unlabeled(), 3);
        assert!(l.class_dirs.is_empty());
        assert_eq!(l.skip_counts()[&SkipReason::LooseFile], 1); // notes.txt beside the splits
    }

    #[test]
    fn root_of_loose_images_is_a_layout() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "a.jpg", b"x");
        touch(d.path(), "b.png", b"x");
        let l = discover(d.path(), &LayoutOptions::default()).unwrap();
        assert_eq!(l.kind, LayoutKind::Flat);
        assert_eq!(rels(&l), vec!["a.jpg", "b.png"]);
        assert!(
            l.files
                .iter()
                .all(|c| c.class.is_empty() && c.split.is_empty())
        );
        assert!(l.skipped.is_empty());
    }

    #[test]
    fn class_folders_in_train_and_a_flat_test_folder() {
        // Kaggle's other shape: labelled class folders for train, a flat unlabeled test set.
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "train/cat/1.jpg", b"x");
        touch(d.path(), "train/dog/2.jpg", b"x");
        touch(d.path(), "test/3.jpg", b"x");
        let l = discover(d.path(), &LayoutOptions::default()).unwrap();
        assert_eq!(l.kind, LayoutKind::SplitClass);
        let got: Vec<(&str, &str)> = l
            .files
            .iter()
            .map(|c| (c.split.as_str(), c.class.as_str()))
            .collect();
        assert_eq!(got, vec![("test", ""), ("train", "cat"), ("train", "dog")]);
        assert!(l.skipped.is_empty());
        assert_eq!(l.class_dirs.keys().collect::<Vec<_>>(), vec!["train"]);
    }

    #[test]
    fn directory_named_like_an_image_is_walked_into() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "cats/x.jpg/inside.jpg", b"x");
        let l = discover(d.path(), &LayoutOptions::default()).unwrap();
        assert_eq!(rels(&l), vec!["cats/x.jpg/inside.jpg"]);
        assert!(l.skipped.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loop_is_counted_not_fatal() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "cats/a.jpg", b"x");
        std::os::unix::fs::symlink(d.path().join("cats"), d.path().join("cats/loop")).unwrap();
        let l = discover(d.path(), &LayoutOptions::default()).unwrap();
        assert_eq!(rels(&l), vec!["cats/a.jpg"]);
        assert_eq!(l.skip_counts()[&SkipReason::WalkError], 1);
    }

    #[test]
    fn missing_root_is_an_error() {
        assert!(discover(Path::new("/no/such/root"), &LayoutOptions::default()).is_err());
    }

    #[test]
    fn split_roles() {
        assert_eq!(split_role("training_set"), Role::Train);
        assert_eq!(split_role("VALID"), Role::Val);
        assert_eq!(split_role("test_set"), Role::Test);
        assert_eq!(split_role("fold1"), Role::Other);
    }
}
