//! [`Placement`]: where one source file goes, or why it does not, in 8 bytes.

use super::reason::Fate;

/// `split` of a placement in no split.
pub(super) const NO_SPLIT: u16 = u16::MAX;

/// Where one source file goes, or why it does not: record `i`'s is `Plan::placements[i]`.
/// Eight bytes, as a million of them are held while OUT is written; the reason's text is
/// made when asked ([`super::Plan::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The unit (group) it is placed with; units of one member have an id too.
    pub(super) unit: u32,
    /// Index into the split names (past them: the unlabeled folder); [`NO_SPLIT`] when
    /// dropped.
    split: u16,
    pub(super) fate: Fate,
    /// Whether the unit has more than one source (a duplicate group or a --group-by key).
    pub(super) grouped: bool,
}

impl Placement {
    pub(super) fn new(fate: Fate) -> Self {
        Placement {
            unit: 0,
            split: NO_SPLIT,
            fate,
            grouped: false,
        }
    }

    /// Index into the split names (past them: the unlabeled folder); `None` when dropped.
    pub fn split(&self) -> Option<usize> {
        (self.split != NO_SPLIT).then_some(self.split as usize)
    }

    /// Moves a placed file to split `s` (`plan` refuses more split names than fit).
    pub fn set_split(&mut self, s: Option<usize>) {
        self.split = s.map_or(NO_SPLIT, |s| {
            u16::try_from(s)
                .ok()
                .filter(|&s| s != NO_SPLIT)
                .expect("plan checks the number of splits")
        });
    }

    /// The unit it was placed with.
    pub fn unit(&self) -> usize {
        self.unit as usize
    }

    /// Whether the unit has more than one source (a duplicate group or a --group-by key).
    pub fn grouped(&self) -> bool {
        self.grouped
    }

    /// Placed, kept apart, or the kind of reason it is dropped for.
    pub fn fate(&self) -> Fate {
        self.fate
    }

    /// Whether it is placed in one of the named splits: a member of its unit (a dropped file,
    /// or an unlabeled one kept apart, is not).
    pub fn in_split(&self) -> bool {
        self.fate == Fate::Placed
    }

    /// The `group` column: the unit id when the file was placed with others, else empty.
    pub fn group_field(&self) -> String {
        if self.grouped {
            self.unit.to_string()
        } else {
            String::new()
        }
    }
}
