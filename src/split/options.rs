//! Split options and the checks made before anything is planned: sizes, split names, a
//! dataset with something to place.

use std::collections::BTreeSet;

use anyhow::{Result, bail};
use regex::Regex;
use serde::Serialize;

use crate::index::Record;
use crate::loader::Loader;

/// What to do with the extra copies in a duplicate group (`--dedup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dedup {
    /// Copy each group's representative only; list the others as dropped.
    #[default]
    KeepOne,
    /// Copy every member (still kept together in one split).
    None,
}

/// What to do with a duplicate group under more than one class (`--conflicts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Conflicts {
    /// Copy none of its members; list them all.
    #[default]
    Drop,
    /// Keep the members of the most common class (ties: drop).
    Majority,
    /// Refuse to split (exit 1, write nothing).
    Error,
}

/// How files reach OUT (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Copy,
    /// Hard links (falls back to copies across file systems, with one warning).
    Hardlink,
    /// Symbolic links to the absolute source path.
    Symlink,
    /// Only the CSV and JSON files; no images.
    Manifest,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Copy => "copy",
            Mode::Hardlink => "hardlink",
            Mode::Symlink => "symlink",
            Mode::Manifest => "manifest",
        }
    }
}

/// Target sizes of the new splits.
#[derive(Debug, Clone, PartialEq)]
pub enum Sizes {
    /// Fractions per split, summing to 1 (`--ratio 0.8,0.2`).
    Ratio(Vec<f64>),
    /// This many images per class in every split after the first (`--count N`).
    Count(usize),
}

/// Options of `cleansplit split`.
#[derive(Debug, Clone)]
pub struct SplitOptions {
    pub names: Vec<String>,
    pub sizes: Sizes,
    pub seed: u64,
    pub group_by: Option<Regex>,
    pub dedup: Dedup,
    pub conflicts: Conflicts,
    /// The loader whose view decides what is placed (`--loader`): a file it cannot read is
    /// never placed and never a group's representative.
    pub loader: Loader,
    /// Place images without a class in their own folder, [`UNLABELED_DIR`]
    /// (`--keep-unlabeled`), instead of dropping them as `unlabeled`.
    pub keep_unlabeled: bool,
}

/// The folder `--keep-unlabeled` places images without a class in (beside the splits).
pub const UNLABELED_DIR: &str = "unlabeled";

/// The folder name of split index `s`: one of `names`, or [`UNLABELED_DIR`] past them.
pub fn split_name(names: &[String], s: usize) -> &str {
    names.get(s).map_or(UNLABELED_DIR, String::as_str)
}

impl SplitOptions {
    /// Refuses options that would run but write a wrong split. Split names become folder
    /// names, so each must be one plain path component, and distinct.
    pub fn validate(&self) -> Result<()> {
        match &self.sizes {
            Sizes::Ratio(r) => {
                if !(2..=3).contains(&r.len()) || r.iter().any(|f| !(*f > 0.0 && *f < 1.0)) {
                    bail!("--ratio takes 2 or 3 fractions between 0 and 1, e.g. 0.8,0.2");
                }
                let sum: f64 = r.iter().sum();
                if (sum - 1.0).abs() > 1e-6 {
                    bail!("--ratio fractions must add up to 1 (they add up to {sum})");
                }
                if self.names.len() != r.len() {
                    bail!(
                        "--names gives {} names for {} ratios",
                        self.names.len(),
                        r.len()
                    );
                }
            }
            Sizes::Count(0) => bail!("--count must be at least 1"),
            Sizes::Count(_) => {}
        }
        let mut seen = BTreeSet::new();
        for n in &self.names {
            if let Err(e) = crate::base::paths::plain_component(n) {
                bail!("split name {n:?} {e}: split names must be plain folder names");
            }
            if n.starts_with('.') {
                bail!("split name {n:?} starts with a dot: split names must be plain folder names");
            }
            if !seen.insert(n) {
                bail!("--names lists {n:?} twice: each split needs its own name");
            }
            if self.keep_unlabeled && n == UNLABELED_DIR {
                bail!("--keep-unlabeled places images in {UNLABELED_DIR:?}: choose other --names");
            }
        }
        Ok(())
    }
}

/// Refuses a dataset with no image to place (an empty ROOT or a wrong path).
pub fn check_not_empty(records: &[Record]) -> Result<()> {
    if !records.iter().any(Record::is_ok) {
        bail!("no readable images under ROOT: nothing to split (is ROOT the dataset folder?)");
    }
    Ok(())
}
