//! Why a source file is dropped: a one-byte [`Fate`] per record while planning and writing,
//! and the [`DropReason`] text (manifest.csv's `reason`) made from it only when asked, so a
//! million placements hold no string.

use std::path::PathBuf;

use crate::base::flags::Status;

/// What happens to one source file: placed (in a split, or apart as unlabeled), or the kind
/// of reason it is dropped for (the reason itself: [`super::Plan::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Fate {
    /// Placed in one of the named splits.
    Placed,
    /// Placed in the unlabeled folder (`--keep-unlabeled`).
    KeptUnlabeled,
    /// Not decodable: the scan's status.
    Status,
    /// The `--loader` does not read it.
    NotLoaded,
    /// No class while other images have one.
    Unlabeled,
    /// A redundant copy of its duplicate group's representative.
    DuplicateOf,
    /// An unlabeled copy of a labelled image that is kept.
    UnlabeledCopyOf,
    /// In a duplicate group spanning classes.
    LabelConflict,
}

impl Fate {
    /// Whether the file is placed nowhere.
    pub fn is_dropped(self) -> bool {
        !matches!(self, Fate::Placed | Fate::KeptUnlabeled)
    }

    /// Whether the reason names another record (a representative) or a group.
    pub(super) fn has_reference(self) -> bool {
        matches!(
            self,
            Fate::DuplicateOf | Fate::UnlabeledCopyOf | Fate::LabelConflict
        )
    }
}

/// Why a source file is not placed. Written to manifest.csv's `reason` column by `Display`;
/// [`DropReason::kind`] is the key counted in `split_report.json`.
#[derive(Debug, Clone, PartialEq)]
pub enum DropReason {
    /// Not decodable: the scan's status and message.
    Status { status: Status, message: String },
    /// In a duplicate group spanning classes: the group id and its classes.
    LabelConflict { group: usize, classes: Vec<String> },
    /// A redundant copy of the group's representative.
    DuplicateOf(PathBuf),
    /// The `--loader` does not read it: `not listed by keras (extension .webp)` or
    /// `keras fails on it: tiff content cannot be decoded`.
    NotLoaded(String),
    /// No class (no row in `--labels`, or a folder without class folders) while other
    /// images have one.
    Unlabeled,
    /// An unlabeled copy of a labelled image that is kept (`--keep-unlabeled` would put it
    /// beside its labelled twin: a leak).
    UnlabeledCopyOf(PathBuf),
}

impl DropReason {
    /// The kind, for counting: `duplicate`, `label conflict`, `status <status>`,
    /// `unlabeled`, `not listed by <loader>` or `<loader> fails on it`.
    pub fn kind(&self) -> String {
        match self {
            DropReason::Status { status, .. } => format!("status {status}"),
            DropReason::LabelConflict { .. } => "label conflict".into(),
            DropReason::DuplicateOf(_) => "duplicate".into(),
            DropReason::NotLoaded(why) => why
                .split([':', '('])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            DropReason::Unlabeled | DropReason::UnlabeledCopyOf(_) => "unlabeled".into(),
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::Status { status, message } => write!(f, "status {status}: {message}"),
            DropReason::LabelConflict { group, classes } => {
                write!(
                    f,
                    "label conflict (group {group}: {})",
                    classes.join(" vs ")
                )
            }
            DropReason::DuplicateOf(rep) => write!(f, "duplicate of {}", rep.display()),
            DropReason::NotLoaded(why) => f.write_str(why),
            DropReason::Unlabeled => f.write_str("unlabeled"),
            DropReason::UnlabeledCopyOf(rep) => {
                write!(f, "unlabeled copy of {}", rep.display())
            }
        }
    }
}
