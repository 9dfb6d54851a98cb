//! What a dataset can be used for: how many images have a class, how many the chosen loader
//! loads, and the plain words every command uses when classes or usable images are missing.
//!
//! One place for these messages, so `scan`, `leaks`, `balance`, `split` and `audit` say the
//! same thing the same way (issue 9: "each command says plainly what it can and cannot do
//! without classes and how to supply them").

use rayon::prelude::*;

use crate::index::Record;
use crate::loader::Loader;

/// How to give images a class.
pub const HOW_TO_LABEL: &str = "give them classes with class folders (ROOT/<split>/<class>/<file>) or with --labels FILE (a CSV of `file name or stem,label` rows)";

/// Counts that decide what a command can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Coverage {
    /// Indexed images.
    pub images: usize,
    /// Images with a class.
    pub labelled: usize,
    /// Images without one (flag `unlabeled`).
    pub unlabeled: usize,
    /// Images the loader loads (any class).
    pub usable: usize,
    /// Images the loader loads that have a class: what balance counts and split stratifies.
    pub usable_labelled: usize,
}

impl Coverage {
    pub fn of(records: &[Record], loader: Loader) -> Self {
        // Every command counts this; in parallel, as a pass over a million records is ~40 ms.
        records
            .par_iter()
            .with_min_len(4096)
            .map(|r| Coverage::one(r, loader))
            .reduce(Coverage::default, Coverage::plus)
    }

    /// One record's counts (for callers that count more in the same pass).
    pub fn one(r: &Record, loader: Loader) -> Self {
        let labelled = !r.class.is_empty();
        let loads = loader.loads(r);
        Coverage {
            images: 1,
            labelled: usize::from(labelled),
            unlabeled: usize::from(!labelled),
            usable: usize::from(loads),
            usable_labelled: usize::from(loads && labelled),
        }
    }

    /// The counts of two sets of records.
    pub fn plus(self, o: Self) -> Self {
        Coverage {
            images: self.images + o.images,
            labelled: self.labelled + o.labelled,
            unlabeled: self.unlabeled + o.unlabeled,
            usable: self.usable + o.usable,
            usable_labelled: self.usable_labelled + o.usable_labelled,
        }
    }

    /// No image has a class.
    pub fn classless(&self) -> bool {
        self.images > 0 && self.labelled == 0
    }

    /// The warning every command prints when nothing is usable, or `None`.
    pub fn no_usable_warning(&self, loader: Loader) -> Option<String> {
        self.no_usable(loader).map(|why| {
            if self.images == 0 {
                format!("no images: {why}")
            } else {
                format!("no usable images: {why}")
            }
        })
    }

    /// Why nothing is usable (without the `no ... images:` lead), or `None`.
    pub fn no_usable(&self, loader: Loader) -> Option<String> {
        (self.usable == 0).then(|| {
            if self.images == 0 {
                "ROOT holds no image files (check the path and the skipped counts)".to_string()
            } else {
                format!(
                    "none of the {} indexed files is loaded by the {} loader (see the status and flags counts)",
                    self.images,
                    loader.as_str()
                )
            }
        })
    }

    /// What a command cannot do without classes, for the unlabeled part of the dataset.
    pub fn unlabeled_note(&self) -> Option<String> {
        if self.unlabeled == 0 {
            None
        } else if self.classless() {
            Some(format!(
                "none of the {} images has a class, so leaks and duplicates are checked but class balance, class weights and a stratified split are not possible; {HOW_TO_LABEL}",
                self.images
            ))
        } else {
            Some(format!(
                "{} of {} images have no class (flag unlabeled): they are checked for leaks and duplicates but left out of class counts and weights; {HOW_TO_LABEL}",
                self.unlabeled, self.images
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::rec;

    #[test]
    fn counts_and_messages() {
        let mut webp = rec("train/a/x.webp", "train", "a");
        webp.format = Some(crate::base::format::Format::Webp);
        let records = vec![
            rec("train/a/1.jpg", "train", "a"),
            rec("test/2.jpg", "test", ""),
            webp,
        ];
        let c = Coverage::of(&records, Loader::Keras);
        assert_eq!(
            (
                c.images,
                c.labelled,
                c.unlabeled,
                c.usable,
                c.usable_labelled
            ),
            (3, 2, 1, 2, 1)
        );
        assert!(!c.classless());
        assert!(c.unlabeled_note().unwrap().starts_with("1 of 3 images"));
        assert!(c.no_usable_warning(Loader::Keras).is_none());
        // torch lists .webp: one more usable.
        assert_eq!(Coverage::of(&records, Loader::Torch).usable, 3);
    }

    #[test]
    fn classless_and_empty() {
        let records = vec![rec("1.jpg", "", ""), rec("2.jpg", "", "")];
        let c = Coverage::of(&records, Loader::Keras);
        assert!(c.classless());
        assert!(c.unlabeled_note().unwrap().contains("--labels FILE"));
        let none = Coverage::of(&[], Loader::Keras);
        assert!(!none.classless());
        assert!(
            none.no_usable_warning(Loader::Keras)
                .unwrap()
                .starts_with("no images")
        );
        let mut bad = rec("a/1.jpg", "", "a");
        bad.status = crate::base::flags::Status::Corrupt;
        let c = Coverage::of(&[bad], Loader::Keras);
        assert!(
            c.no_usable_warning(Loader::Keras)
                .unwrap()
                .contains("none of the 1")
        );
    }
}
