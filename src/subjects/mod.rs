//! Subject ids in file names (issue 23): the part of a name that says which patient, person
//! or recording an image shows (`00001317_002.png` -> `00001317`, `person12_virus_3.jpeg` ->
//! `person12`, `George_W_Bush_0001.jpg` -> `George_W_Bush`). Different images of one subject
//! are no copies, so pixel hashes cannot keep them in one split; the names can.
//!
//! Names are cut into tokens at `_`, `-`, `.` and spaces, and names of one shape (token
//! classes and separators) form a family. Each [`Rule`] reads a key at one token position
//! per family; the branches of all families make one anchored regex whose first capture group
//! is the key, always followed by a separator and more of the stem (usable as
//! `split --group-by`). The rules are tried in order and the first whose keys
//! pass the guards of [`evidence::measure`] wins: several keys group two different pictures,
//! no key holds a large share of the images, more such keys than classes, and not each
//! folder's running numbers. Pure: names, splits, classes and copy groups in; a regex and
//! its evidence out. No dataset name is known to it.

pub mod evidence;
pub mod shape;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use anyhow::{Result, bail};
use regex::Regex;
use serde::Serialize;

pub use evidence::{Evidence, Example, Rejection, SplitShare};

use crate::index::Record;
use crate::loader::Loader;
use crate::near::groups::Group;

/// One image as the inference sees it.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    /// The file name (with extension).
    pub name: Cow<'a, str>,
    /// Its split (`""` without splits) and class (`""` without one).
    pub split: &'a str,
    pub class: &'a str,
    /// Which picture it is: copies of one picture (a duplicate group, or two sizes of one
    /// Flickr photo) share the number, so they are one picture, not a subject's two images.
    pub picture: usize,
}

/// Where in a name a rule reads the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Up to the first varying token holding a digit (`00001317`, `person12`, `IM-0117`).
    IdToken,
    /// The stem without a trailing counter (`George_W_Bush` of `George_W_Bush_0001`).
    StemWithoutCounter,
    /// The part before the first separator (`subjA` of `subjA_left`).
    FirstToken,
}

/// The rules in the order they are tried.
pub const RULES: [Rule; 3] = [Rule::IdToken, Rule::StemWithoutCounter, Rule::FirstToken];

impl Rule {
    pub fn describe(self) -> &'static str {
        match self {
            Rule::IdToken => "the leading id",
            Rule::StemWithoutCounter => "the name without its trailing counter",
            Rule::FirstToken => "the part before the first separator",
        }
    }
}

/// The inferred subject key: its rule, the regex (`--group-by`) and the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Inference {
    /// A regex usable with `split --group-by`: its first capture group is the subject.
    pub group_by: String,
    pub rule: Rule,
    #[serde(flatten)]
    pub evidence: Evidence,
    #[serde(skip)]
    pub regex: Regex,
}

impl Inference {
    /// One line for `split --group-by auto`: the regex, the rule and the counts.
    pub fn note(&self) -> String {
        let e = &self.evidence;
        format!(
            "--group-by auto: subjects are {} ({}): {} subjects, {} with several images, {} of them in more than one split before this split",
            self.group_by,
            self.rule.describe(),
            e.subjects,
            e.repeated,
            e.spanning
        )
    }
}

/// A rule tried: its regex (when some name has such a key) and the verdict.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub rule: Rule,
    pub group_by: Option<String>,
    pub verdict: std::result::Result<Evidence, Rejection>,
}

/// The key `re` gives `name`: its first capture group, or its whole match (what
/// `split --group-by` groups by).
pub fn key_of<'h>(re: &Regex, name: &'h str) -> Option<&'h str> {
    if re.captures_len() > 1 {
        let caps = re.captures(name)?;
        caps.get(1).or_else(|| caps.get(0)).map(|m| m.as_str())
    } else {
        re.find(name).map(|m| m.as_str())
    }
}

/// Every rule tried over `items`, in order.
pub fn candidates(items: &[Item]) -> Vec<Candidate> {
    let families = shape::families(items.iter().map(|i| i.name.as_ref()));
    RULES
        .iter()
        .map(|&rule| {
            let group_by = shape::pattern(&families, rule);
            let verdict = match group_by.as_deref().map(Regex::new) {
                Some(Ok(re)) => evidence::measure(items, &re),
                _ => Err(Rejection::FewRepeated {
                    repeated: 0,
                    share: 0.0,
                }),
            };
            Candidate {
                rule,
                group_by,
                verdict,
            }
        })
        .collect()
}

/// The subject key of `items`: the first rule whose keys pass the guards, or `None` when the
/// names carry no subject.
pub fn infer(items: &[Item]) -> Option<Inference> {
    let families = shape::families(items.iter().map(|i| i.name.as_ref()));
    RULES.iter().find_map(|&rule| {
        let group_by = shape::pattern(&families, rule)?;
        let regex = Regex::new(&group_by).ok()?;
        let evidence = evidence::measure(items, &regex).ok()?;
        Some(Inference {
            group_by,
            rule,
            evidence,
            regex,
        })
    })
}

/// The items of the records `loader` reads; the members of a duplicate group are one picture.
pub fn items_of<'a>(records: &'a [Record], groups: &[Group], loader: Loader) -> Vec<Item<'a>> {
    let mut picture: Vec<usize> = (0..records.len()).collect();
    for (gi, g) in groups.iter().enumerate() {
        for &m in &g.members {
            picture[m] = records.len() + gi;
        }
    }
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| loader.loads(r))
        .filter_map(|(i, r)| {
            Some(Item {
                name: r.path.file_name()?.to_string_lossy(),
                split: &r.split,
                class: &r.class,
                picture: picture[i],
            })
        })
        .collect()
}

/// The subject key of scanned records (duplicate groups from `leaks`).
pub fn of_records(records: &[Record], groups: &[Group], loader: Loader) -> Option<Inference> {
    infer(&items_of(records, groups, loader))
}

/// `--group-by auto`: the inferred key, or a one-line error saying the names carry none.
pub fn auto_group_by(records: &[Record], groups: &[Group], loader: Loader) -> Result<Inference> {
    match of_records(records, groups, loader) {
        Some(i) => Ok(i),
        None => bail!(
            "--group-by auto: the file names carry no subject id (no part of them groups several different images); give a regex, e.g. --group-by '^[0-9]+'"
        ),
    }
}

/// The value `--group-by auto` stands for.
pub const AUTO: &str = "auto";
