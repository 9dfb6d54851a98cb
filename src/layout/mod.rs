//! Layout discovery: which folder is a split, which is a class, which files are images.
//!
//! Supported layouts (see docs/GUIDE.md "Layouts"):
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

mod files;
mod labels;
pub mod odd_names;
#[cfg(test)]
mod tests;
mod walk;

pub use files::{Cursor, FileRef, Files, path_cmp};
use labels::read_labels;
use walk::{Folder, Found, Walker, is_os_junk};

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
    /// Path relative to ROOT (the record's own, made once).
    pub rel: crate::base::rel_path::RelPath,
    pub split: crate::base::intern::Name,
    pub class: crate::base::intern::Name,
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
    /// Image files, sorted by path ([`path_cmp`]).
    pub files: Files,
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

/// The last component of `p` as text (lossy), empty when there is none.
fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
    let class_level = |base: &str| labels.is_none() && class_dirs.contains_key(base);
    let walker = Walker {
        labels: labels.as_ref(),
    };
    let mut found = Found::default();
    if splits.is_empty() {
        found = walker.walk(vec![Folder::base(root, root.into(), "", class_level(""))]);
    } else {
        // Loose files and non-split folders at the top level are counted, not walked.
        let mut skip = |name: String, reason, message: &str| {
            found.skipped.push(Skipped {
                rel: PathBuf::from(name),
                reason,
                message: message.into(),
            })
        };
        for entry in fs::read_dir(root)?.flatten() {
            let p = entry.path();
            let name = name_of(&p);
            if is_os_junk(&name) {
                skip(name, SkipReason::OsJunk, "operating-system junk");
            } else if name.starts_with('.') {
                skip(name, SkipReason::Hidden, "hidden");
            } else if splits.contains(&name) {
                continue;
            } else if fs::metadata(&p).map(|m| m.is_dir()).unwrap_or(false) {
                skip(
                    name,
                    SkipReason::NotASplit,
                    "a folder beside the split folders",
                );
            } else {
                skip(
                    name,
                    SkipReason::LooseFile,
                    "a file where a split folder was expected",
                );
            }
        }
        let bases = splits
            .iter()
            .map(|s| Folder::base(root, root.join(s), s, class_level(s)))
            .collect();
        let walked = walker.walk(bases);
        found.chunks = walked.chunks;
        found.skipped.extend(walked.skipped);
    }
    // In path order already: each folder's names are sorted, and subfolders come in place.
    let files = Files::from_chunks(found.chunks);
    debug_assert!(
        files
            .iter()
            .is_sorted_by(|a, b| path_cmp(a.rel, b.rel).is_lt())
    );
    let mut skipped = found.skipped;
    skipped.sort_by(|a, b| a.rel.cmp(&b.rel));
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
