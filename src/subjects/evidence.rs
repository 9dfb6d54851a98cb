//! How a pattern's keys group the files, and the guards that tell subjects from class names,
//! file counters and unique names.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use regex::Regex;
use serde::Serialize;

use super::{Item, key_of};

/// Fewer subjects with several images than this (or than classes) is no evidence.
pub const MIN_REPEATED: usize = 3;
/// Images of subjects with several images: at least this share of the images.
pub const MIN_REPEATED_SHARE: f64 = 0.10;
/// One key holding more than this share of the keyed images is a class or a source, not a
/// subject (`cat.103.jpg` -> `cat`).
pub const MAX_LARGEST_SHARE: f64 = 0.25;
/// Strong evidence: most images (this share) belong to subjects with several images, and
/// at least [`STRONG_REPEATED`] such subjects.
pub const STRONG_SHARE: f64 = 0.5;
pub const STRONG_REPEATED: usize = 10;
/// A spanning finding is a PROBLEM with strong evidence and at least this many subjects in
/// more than one split.
pub const PROBLEM_SPANNING: usize = 3;

/// How the keys of a pattern group the images.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    /// Images considered (those the loader reads).
    pub images: usize,
    /// Images whose name gives a key.
    pub keyed: usize,
    /// Distinct keys.
    pub subjects: usize,
    /// Subjects with at least two different pictures (copies of one picture count once).
    pub repeated: usize,
    /// Images of those subjects.
    pub repeated_images: usize,
    /// Images of the largest subject.
    pub largest: usize,
    /// Subjects with images in more than one split.
    pub spanning: usize,
    /// Images of the spanning subjects.
    pub images_involved: usize,
    /// Per split: its images and how many share their subject with another split.
    pub splits: Vec<SplitShare>,
    /// The spanning subjects with most images (at most [`EXAMPLES`]).
    pub examples: Vec<Example>,
    /// Most images belong to a subject with several images, and there are many such subjects.
    pub strong: bool,
}

/// A split's images and those whose subject also has images in another split.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SplitShare {
    pub split: String,
    pub images: usize,
    pub shared: usize,
}

/// A subject in more than one split: its key and its images per split.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Example {
    pub subject: String,
    pub images: BTreeMap<String, usize>,
}

pub const EXAMPLES: usize = 5;

/// Why a pattern's keys are not subjects.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// Few keys group two different pictures (unique names).
    FewRepeated { repeated: usize, share: f64 },
    /// One key holds a large share of the images (a class or source name).
    Dominant { key: String, share: f64 },
    /// No more keys with several images than classes: the key names the class.
    ClassNames { repeated: usize, classes: usize },
    /// Every folder numbers its files 1..n: the same number in two folders is no subject.
    RunningNumbers,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::FewRepeated { repeated, share } => write!(
                f,
                "{repeated} keys group two different pictures ({:.0}% of the images)",
                100.0 * share
            ),
            Rejection::Dominant { key, share } => {
                write!(f, "key {key:?} holds {:.0}% of the images", 100.0 * share)
            }
            Rejection::ClassNames { repeated, classes } => write!(
                f,
                "{repeated} keys with several images for {classes} classes: the key names the class"
            ),
            Rejection::RunningNumbers => f.write_str(
                "each folder numbers its files: the same number in two folders is no subject",
            ),
        }
    }
}

#[derive(Default)]
struct Acc<'a> {
    images: usize,
    picture: usize,
    several_pictures: bool,
    splits: BTreeMap<&'a str, usize>,
}

/// The evidence for `re`'s keys over `items`, or why they are no subjects.
pub fn measure(items: &[Item], re: &Regex) -> Result<Evidence, Rejection> {
    let mut by_key: HashMap<&str, Acc> = HashMap::new();
    let mut by_folder: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let mut classes: std::collections::HashSet<&str> = Default::default();
    let mut keys: Vec<Option<&str>> = Vec::with_capacity(items.len());
    for it in items {
        if !it.class.is_empty() {
            classes.insert(it.class);
        }
        let key = key_of(re, &it.name);
        keys.push(key);
        let Some(key) = key else { continue };
        let a = by_key.entry(key).or_default();
        if a.images == 0 {
            a.picture = it.picture;
        } else if a.picture != it.picture {
            a.several_pictures = true;
        }
        a.images += 1;
        *a.splits.entry(it.split).or_default() += 1;
        *by_folder.entry((key, it.split, it.class)).or_default() += 1;
    }
    let images = items.len();
    let keyed: usize = by_key.values().map(|a| a.images).sum();
    let repeated = by_key.values().filter(|a| a.several_pictures).count();
    let repeated_images: usize = by_key
        .values()
        .filter(|a| a.several_pictures)
        .map(|a| a.images)
        .sum();
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    if repeated < MIN_REPEATED || share(repeated_images, images) < MIN_REPEATED_SHARE {
        return Err(Rejection::FewRepeated {
            repeated,
            share: share(repeated_images, images),
        });
    }
    let (largest_key, largest) = by_key
        .iter()
        .map(|(k, a)| (*k, a.images))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .unwrap_or_default();
    if share(largest, keyed) > MAX_LARGEST_SHARE {
        return Err(Rejection::Dominant {
            key: largest_key.to_owned(),
            share: share(largest, keyed),
        });
    }
    if repeated <= classes.len() {
        return Err(Rejection::ClassNames {
            repeated,
            classes: classes.len(),
        });
    }
    // Only the keys that group several pictures: other names in a folder are no counter.
    by_folder.retain(|(k, _, _), _| by_key[k].several_pictures);
    if running_numbers(&by_folder, repeated_images) {
        return Err(Rejection::RunningNumbers);
    }
    let spans = |a: &Acc| a.splits.keys().filter(|s| !s.is_empty()).count() > 1;
    let spanning = by_key.values().filter(|a| spans(a)).count();
    let images_involved = by_key.values().filter(|a| spans(a)).map(|a| a.images).sum();
    let mut splits: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (it, key) in items.iter().zip(&keys) {
        if it.split.is_empty() {
            continue;
        }
        let e = splits.entry(it.split).or_default();
        e.0 += 1;
        if key.is_some_and(|k| spans(&by_key[k])) {
            e.1 += 1;
        }
    }
    let mut examples: Vec<(&str, &Acc)> = by_key
        .iter()
        .filter(|(_, a)| spans(a))
        .map(|(k, a)| (*k, a))
        .collect();
    examples.sort_by(|a, b| b.1.images.cmp(&a.1.images).then(a.0.cmp(b.0)));
    Ok(Evidence {
        images,
        keyed,
        subjects: by_key.len(),
        repeated,
        repeated_images,
        largest,
        spanning,
        images_involved,
        splits: splits
            .into_iter()
            .map(|(s, (n, shared))| SplitShare {
                split: s.to_owned(),
                images: n,
                shared,
            })
            .collect(),
        examples: examples
            .into_iter()
            .take(EXAMPLES)
            .map(|(k, a)| Example {
                subject: k.to_owned(),
                images: a
                    .splits
                    .iter()
                    .map(|(s, n)| ((*s).to_owned(), *n))
                    .collect(),
            })
            .collect(),
        strong: share(repeated_images, images) >= STRONG_SHARE && repeated >= STRONG_REPEATED,
    })
}

/// Keys (those grouping several pictures) that are each folder's running numbers: almost
/// no key repeats within a folder (a subject's images mostly share one), every key ends in a
/// number, and in every folder with a few keys those numbers fill most of their range.
fn running_numbers(by_folder: &HashMap<(&str, &str, &str), usize>, repeated_images: usize) -> bool {
    let within: usize = by_folder.values().filter(|&&n| n > 1).sum();
    if within as f64 > 0.02 * repeated_images as f64 {
        return false;
    }
    let mut numbers: HashMap<(&str, &str), Vec<u64>> = HashMap::new();
    for &(key, split, class) in by_folder.keys() {
        let digits = key.len() - key.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let Ok(n) = key[key.len() - digits..].parse::<u64>() else {
            return false;
        };
        numbers.entry((split, class)).or_default().push(n);
    }
    numbers.values().filter(|v| v.len() >= 3).all(|v| {
        let (lo, hi) = (v.iter().min().unwrap(), v.iter().max().unwrap());
        v.len() as f64 >= 0.5 * (hi - lo + 1) as f64
    }) && numbers.values().any(|v| v.len() >= 3)
}
