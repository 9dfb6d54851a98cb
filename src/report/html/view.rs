//! The prepared view: every list, count and thumbnail the page shows, computed before any
//! markup is written. Rendering reads only this (no file access), so the renderers are pure
//! and the thumbnail work is bounded by what is shown.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use super::{MAX_MEMBERS, ReportInput, THUMB_SIDE};
use crate::audit::file_problem;
use crate::index::Record;
use crate::leaks::Pair;
use crate::near::groups::Group;
use crate::report::thumbs;

/// Files per class and split (every indexed file, usable or not).
pub struct ClassCounts<'a> {
    /// Split names in order.
    pub splits: Vec<&'a str>,
    /// class -> split -> files, in class order.
    pub counts: BTreeMap<&'a str, BTreeMap<&'a str, usize>>,
}

/// What the page shows, ready to render.
pub struct View<'a> {
    pub input: &'a ReportInput<'a>,
    pub records: &'a [Record],
    /// Pairs whose images are in different splits.
    pub cross: Vec<&'a Pair>,
    /// Groups with members under more than one class.
    pub conflicts: Vec<&'a Group>,
    /// Groups inside one split.
    pub within: Vec<&'a Group>,
    /// Problem files ([`file_problem`]): unusable first, then flagged; path order within each.
    pub problems: Vec<usize>,
    pub classes: ClassCounts<'a>,
    /// Files training cannot use: not decodable, or not loaded by the `--loader`.
    pub unusable: usize,
    /// Thumbnail `data:` URIs of the shown images that could be read (record index -> URI).
    pub thumbs: HashMap<usize, String>,
}

impl<'a> View<'a> {
    /// Selects the lists and makes the thumbnails of exactly the images the page will show.
    pub fn prepare(input: &'a ReportInput<'a>) -> View<'a> {
        let recs = input.records;
        let leaks = input.leaks;
        let mut problems: Vec<usize> = (0..recs.len())
            .filter(|&i| file_problem(&recs[i], input.loader).is_some())
            .collect();
        problems.sort_by_key(|&i| recs[i].is_ok());
        let mut view = View {
            input,
            records: recs,
            cross: leaks
                .pairs
                .iter()
                .filter(|p| recs[p.a].split != recs[p.b].split)
                .collect(),
            conflicts: leaks.groups.iter().filter(|g| g.label_conflict()).collect(),
            within: leaks.groups.iter().filter(|g| g.within_split()).collect(),
            problems,
            classes: class_counts(recs),
            unusable: recs.iter().filter(|r| !input.loader.loads(r)).count(),
            thumbs: HashMap::new(),
        };
        view.thumbs = load_thumbs(input, &view.thumbnail_records());
        view
    }

    pub fn max_items(&self) -> usize {
        self.input.max_items
    }

    /// Record indices whose thumbnails the page shows (and no others).
    fn thumbnail_records(&self) -> BTreeSet<usize> {
        let n = self.max_items();
        let mut out = BTreeSet::new();
        for p in self.cross.iter().take(n) {
            out.extend([p.a, p.b]);
        }
        for g in self
            .conflicts
            .iter()
            .take(n)
            .chain(self.within.iter().take(n))
        {
            out.extend(g.members.iter().take(MAX_MEMBERS));
        }
        out
    }
}

fn class_counts(records: &[Record]) -> ClassCounts<'_> {
    let splits: BTreeSet<&str> = records.iter().map(|r| r.split.as_str()).collect();
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for r in records {
        *counts
            .entry(r.class.as_str())
            .or_default()
            .entry(r.split.as_str())
            .or_default() += 1;
    }
    ClassCounts {
        splits: splits.into_iter().collect(),
        counts,
    }
}

fn load_thumbs(input: &ReportInput, wanted: &BTreeSet<usize>) -> HashMap<usize, String> {
    let indices: Vec<usize> = wanted.iter().copied().collect();
    let paths: Vec<PathBuf> = indices
        .iter()
        .map(|&i| input.root.join(&input.records[i].path))
        .collect();
    indices
        .into_iter()
        .zip(thumbs::data_uris(&paths, THUMB_SIDE, input.max_pixels))
        .filter_map(|(i, uri)| uri.map(|u| (i, u)))
        .collect()
}
