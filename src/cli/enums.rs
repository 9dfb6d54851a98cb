//! The CLI's own argument enums: clap parses these and maps them onto the library's enums,
//! so the library builds without clap (`--no-default-features`). Doc comments are the help
//! text of each value.

use clap::ValueEnum;

use cleansplit::balance::Method;
use cleansplit::leaks::{Geometric, Search};
use cleansplit::loader::Loader;
use cleansplit::split::{Conflicts, Dedup, Mode};

/// Which flips and quarter turns near-duplicate search tries (`--geometric`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometricArg {
    /// Identity only.
    None,
    /// Identity and the left-right mirror (the common augmentation).
    Flip,
    /// All 8 flips and quarter turns.
    All,
}

impl From<GeometricArg> for Geometric {
    fn from(a: GeometricArg) -> Self {
        match a {
            GeometricArg::None => Geometric::None,
            GeometricArg::Flip => Geometric::Flip,
            GeometricArg::All => Geometric::All,
        }
    }
}

/// Exact or sampled near-duplicate search (`--search`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchArg {
    /// Exact up to 50,000 images, sampled above.
    Auto,
    /// Every pair within the radius.
    Exact,
    /// Every pair within a guaranteed distance, farther ones with the printed recall.
    Sampled,
}

impl From<SearchArg> for Search {
    fn from(a: SearchArg) -> Self {
        match a {
            SearchArg::Auto => Search::Auto,
            SearchArg::Exact => Search::Exact,
            SearchArg::Sampled => Search::Sampled,
        }
    }
}

/// What to do with the extra copies in a duplicate group (`--dedup`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupArg {
    /// Copy each group's representative only; list the others as dropped.
    KeepOne,
    /// Copy every member (still kept together in one split).
    None,
}

impl From<DedupArg> for Dedup {
    fn from(a: DedupArg) -> Self {
        match a {
            DedupArg::KeepOne => Dedup::KeepOne,
            DedupArg::None => Dedup::None,
        }
    }
}

/// What to do with a duplicate group under more than one class (`--conflicts`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictsArg {
    /// Copy none of its members; list them all.
    Drop,
    /// Keep the members of the most common class (ties: drop).
    Majority,
    /// Refuse to split (exit 1, write nothing).
    Error,
}

impl From<ConflictsArg> for Conflicts {
    fn from(a: ConflictsArg) -> Self {
        match a {
            ConflictsArg::Drop => Conflicts::Drop,
            ConflictsArg::Majority => Conflicts::Majority,
            ConflictsArg::Error => Conflicts::Error,
        }
    }
}

/// How files reach OUT (`--mode`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    Copy,
    /// Hard links (falls back to copies across file systems, with one warning).
    Hardlink,
    /// Symbolic links to the absolute source path.
    Symlink,
    /// Only the CSV and JSON files; no images.
    Manifest,
}

impl From<ModeArg> for Mode {
    fn from(a: ModeArg) -> Self {
        match a {
            ModeArg::Copy => Mode::Copy,
            ModeArg::Hardlink => Mode::Hardlink,
            ModeArg::Symlink => Mode::Symlink,
            ModeArg::Manifest => Mode::Manifest,
        }
    }
}

/// How class weights are computed (`--method`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodArg {
    /// n_samples / (n_classes * n_c): scikit-learn's `compute_class_weight("balanced")`.
    Balanced,
    /// 1 / n_c, normalised so the weights average 1.
    Inverse,
    /// 1 / sqrt(n_c), normalised so the weights average 1.
    Sqrt,
    /// Effective number of samples (Cui et al., CVPR 2019): (1 - beta) / (1 - beta^n_c),
    /// normalised to sum to the number of classes.
    Effective,
}

impl From<MethodArg> for Method {
    fn from(a: MethodArg) -> Self {
        match a {
            MethodArg::Balanced => Method::Balanced,
            MethodArg::Inverse => Method::Inverse,
            MethodArg::Sqrt => Method::Sqrt,
            MethodArg::Effective => Method::Effective,
        }
    }
}

/// The training loader whose view counts follow (`--loader`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderArg {
    /// Keras 3 image_dataset_from_directory + TensorFlow 2.21: bmp/gif/jpeg/jpg/png names,
    /// JPEG/PNG/GIF/BMP/WebP content.
    Keras,
    /// Keras ImageDataGenerator.flow_from_directory: png/jpg/jpeg/bmp/ppm/tif/tiff names,
    /// decoded by PIL.
    KerasLegacy,
    /// torchvision ImageFolder: jpg/jpeg/png/ppm/bmp/pgm/tif/tiff/webp names, decoded by PIL.
    Torch,
}

impl From<LoaderArg> for Loader {
    fn from(a: LoaderArg) -> Self {
        match a {
            LoaderArg::Keras => Loader::Keras,
            LoaderArg::KerasLegacy => Loader::KerasLegacy,
            LoaderArg::Torch => Loader::Torch,
        }
    }
}
