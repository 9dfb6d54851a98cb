//! Leak detection: exact and near-duplicate pairs, their groups, and what they mean per
//! split and class.
//!
//! * exact: identical bytes (BLAKE3), or the same pixels in another container (same size,
//!   identical 64-bit pHash and dHash and 256-bit hash, e.g. a PNG and a BMP of one image);
//! * near: the 256-bit decision of [`crate::near::decide`]: trimmed or untrimmed views within the
//!   radius under the identity or one of the requested flips and quarter turns (bit
//!   operations on the stored hashes, never a second decode), or an image's 90% or 75%
//!   centre-crop hash within the radius of another image's views. The radius is calibrated
//!   on that same decision ([`crate::near::calibrate`]). Near-constant images are left out:
//!   their hashes are meaningless.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;

use rayon::prelude::*;
use serde::Serialize;

use crate::base::flags::Flag;
use crate::base::hash::{HashList, Hashes256};
use crate::base::hash::{Transform, distance};
use crate::index::Record;
use crate::near::calibrate::{self, Calibration256};
use crate::near::groups::{self, Group};
use crate::near::view::View;

mod run;
mod search;
mod tables;

pub use run::{LeaksJob, LeaksOutcome, run};
pub use search::{AUTO_EXACT_UP_TO, Search, SearchReport, run as search_run};
pub use tables::{stage_outputs, write_groups, write_outputs, write_pairs};

/// Which flips and quarter turns near-duplicate search tries (`--geometric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Geometric {
    /// Identity only.
    None,
    /// Identity and the left-right mirror (the common augmentation).
    Flip,
    /// All 8 flips and quarter turns (the default: measured to cost no false pair on the
    /// shared sets, docs/DESIGN.md "Calibration").
    #[default]
    All,
}

impl Geometric {
    pub fn transforms(self) -> &'static [Transform] {
        match self {
            Geometric::None => &Transform::ALL[..1],
            Geometric::Flip => &Transform::ALL[..2],
            Geometric::All => &Transform::ALL,
        }
    }
}

/// Largest accepted `--max-distance` (bits of the 256-bit hash). The closest different images
/// measured sit 59-64 bits apart (X-rays, a stereo pair) and unrelated photos ~115 +- 5, so
/// beyond 64 chance matches swamp real ones.
pub const MAX_DISTANCE_LIMIT: u32 = 64;

/// Most `--search-rounds` accepted (each round is about ten tables; 40 rounds is already
/// slower than the exact search below a million images).
pub const MAX_ROUNDS: u32 = 40;

/// Options of `cleansplit leaks`.
#[derive(Debug, Clone, Default)]
pub struct LeakOptions {
    pub geometric: Geometric,
    /// Fixed 256-bit radius (`--max-distance`); `None` to calibrate on the dataset.
    pub max_distance: Option<u32>,
    /// Also match centre crops (on by default; `--no-crop`).
    pub no_crop: bool,
    /// Exact or sampled search (`--search`).
    pub search: Search,
    /// Rounds of keys of the sampled search (`--search-rounds`; default: the fewest tables estimated to find 95% of pairs 32 bits apart).
    pub search_rounds: Option<u32>,
    /// Bits per key of the sampled search (`--search-bits`; default: chosen from the data).
    pub search_bits: Option<u32>,
    /// Descriptors per image the search for augmented copies keys (`--affine-keys`; default:
    /// all of them up to about 110,000 images, then fewer: `crate::near::affine::effort`).
    pub affine_keys: Option<usize>,
}

impl LeakOptions {
    /// Refuses options that would run but give meaningless results.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(d) = self.max_distance
            && d > MAX_DISTANCE_LIMIT
        {
            anyhow::bail!(
                "--max-distance {d} is above {MAX_DISTANCE_LIMIT} bits: unrelated images would match"
            );
        }
        if let Some(r) = self.search_rounds
            && !(1..=MAX_ROUNDS).contains(&r)
        {
            anyhow::bail!("--search-rounds {r} is outside 1..={MAX_ROUNDS}");
        }
        if let Some(k) = self.affine_keys
            && !(1..=crate::scan::features::MAX_FEATURES).contains(&k)
        {
            anyhow::bail!(
                "--affine-keys {k} is outside 1..={}",
                crate::scan::features::MAX_FEATURES
            );
        }
        if let Some(b) = self.search_bits
            && !(crate::near::sampled::MIN_WIDTH..=crate::near::sampled::MAX_WIDTH).contains(&b)
        {
            anyhow::bail!(
                "--search-bits {b} is outside {}..={}",
                crate::near::sampled::MIN_WIDTH,
                crate::near::sampled::MAX_WIDTH
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    Exact,
    Near,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Near => "near",
        }
    }
}

/// Two records that are copies of each other. `a` comes before `b` in path order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    pub kind: MatchKind,
    /// 64-bit pHash Hamming distance under `transform` (of the crop hash if `crop`), for
    /// reference: the decision is `distance256`.
    pub distance: u32,
    /// `b` looks like `transform` applied to `a` (to its centre crop if `crop`).
    pub transform: Transform,
    /// Matched as a centre crop (90% or 75%, see `view`).
    pub crop: bool,
    /// The decision's 256-bit distance.
    pub distance256: u32,
    /// Through which hashes the decision matched (`affine`: through local features).
    pub view: View,
    /// The estimated transform of an `affine` pair (`None` for the others).
    pub affine: Option<crate::near::affine::Fit>,
}

/// Leakage of one split into the others.
#[derive(Debug, Clone, Serialize)]
pub struct SplitLeak {
    pub split: String,
    /// Usable (status ok) images in the split.
    pub images: usize,
    /// Images with a duplicate in any other split.
    pub leaked: usize,
    pub share: f64,
    /// Images with a duplicate in each other split.
    pub leaked_into: BTreeMap<String, usize>,
    pub classes: Vec<ClassLeak>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassLeak {
    pub class: String,
    pub images: usize,
    pub leaked: usize,
    pub share: f64,
}

/// The figures `summary.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct LeakSummary {
    pub images: usize,
    pub hashed: usize,
    pub near_constant: Vec<String>,
    /// Radius of the decision, in bits of the 256-bit hash.
    pub radius: u32,
    pub radius_reason: String,
    /// No longer applied (`null`): the 256-bit hash separates copies from look-alikes without
    /// the 64-bit dHash check.
    pub dhash_gate: Option<u32>,
    pub calibration: Option<Calibration256>,
    pub geometric: Geometric,
    pub crop: bool,
    pub pairs: usize,
    pub exact_pairs: usize,
    pub near_pairs: usize,
    pub groups: usize,
    pub cross_split_groups: usize,
    pub within_split_groups: usize,
    pub label_conflict_groups: usize,
    /// Images that a deduplicated dataset would drop (group members minus representatives).
    pub redundant_images: usize,
    /// The same, counting only groups within one split.
    pub redundant_within_split: usize,
    pub splits: Vec<SplitLeak>,
    /// Which near-duplicate search ran and what it promises (`--search`).
    pub search: SearchReport,
}

/// Everything `leaks` finds.
#[derive(Debug, Clone)]
pub struct Leaks {
    pub pairs: Vec<Pair>,
    pub groups: Vec<Group>,
    pub summary: LeakSummary,
}

fn share(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// dHash of the left-right mirror: bit (r, c) becomes NOT bit (r, 7 - c) (exact up to ties).
pub fn dhash_flip_h(h: u64) -> u64 {
    let mut out = 0;
    for r in 0..8 {
        let row = (h >> (8 * r)) & 0xFF;
        out |= (!(row as u8).reverse_bits() as u64) << (8 * r);
    }
    out
}

/// The 64-bit pHash distance of a pair under `t` (for crop matches, the closer of either
/// image's crop hash against the other's pHash), reported next to the decision.
fn distance64(a: &Record, b: &Record, t: Transform, crop: bool) -> u32 {
    let (Some(pa), Some(pb)) = (a.phash(), b.phash()) else {
        return 0;
    };
    if !crop {
        return distance(t.apply_to_phash(pa), pb);
    }
    let from_a = a.phash_crop().map(|c| distance(t.apply_to_phash(c), pb));
    let from_b = b
        .phash_crop()
        .map(|c| distance(t.inverse().apply_to_phash(c), pa));
    from_a.into_iter().chain(from_b).min().unwrap_or(64)
}

/// The 256-bit hashes of some records (`at`, record numbers: 4 bytes per image), read in
/// place by position.
struct RecordHashes<'a> {
    records: &'a [Record],
    at: &'a [u32],
}

impl HashList for RecordHashes<'_> {
    fn count(&self) -> usize {
        self.at.len()
    }
    fn hashes(&self, i: usize) -> Hashes256 {
        self.records[self.at[i] as usize]
            .hash256()
            .expect("only records with 256-bit hashes are listed")
    }
}

/// The numbers of the records `keep` accepts, as `u32` (half of `usize`: 4 MB at a million
/// images).
fn record_numbers(records: &[Record], keep: impl Fn(usize, &Record) -> bool) -> Vec<u32> {
    assert!(
        u32::try_from(records.len()).is_ok(),
        "leaks: more than 4 billion records"
    );
    (0..records.len())
        .filter(|&i| keep(i, &records[i]))
        .map(|i| i as u32)
        .collect()
}

/// Finds all exact and near-duplicate pairs among `records` (the exact search).
pub fn find_pairs(
    records: &[Record],
    radius: u32,
    geometric: Geometric,
    crop: bool,
) -> Result<Vec<Pair>> {
    let search = SearchChoice {
        search: Search::Exact,
        rounds: None,
        width: None,
        affine_keys: None,
    };
    Ok(find_pairs_with(records, radius, geometric, crop, &search)?.0)
}

/// Which near-duplicate searches run, and their effort (the options of [`LeakOptions`]).
#[derive(Debug, Clone, Copy)]
pub struct SearchChoice {
    pub search: Search,
    pub rounds: Option<u32>,
    pub width: Option<u32>,
    pub affine_keys: Option<usize>,
}

/// [`find_pairs`] with the near-duplicate search chosen by `choice` (and what it promised).
pub fn find_pairs_with(
    records: &[Record],
    radius: u32,
    geometric: Geometric,
    crop: bool,
    choice: &SearchChoice,
) -> Result<(Vec<Pair>, SearchReport)> {
    let (search, rounds, width) = (choice.search, choice.rounds, choice.width);
    let mut best: HashMap<(usize, usize), Pair> = HashMap::new();
    let mut offer = |p: Pair| {
        let key = (p.a, p.b);
        let rank = |p: &Pair| (p.kind, p.distance256, p.view, p.transform);
        match best.get(&key) {
            Some(old) if rank(old) <= rank(&p) => {}
            _ => {
                best.insert(key, p);
            }
        }
    };
    let ordered = |i: usize, j: usize, t: Transform| {
        if records[i].path <= records[j].path {
            (i, j, t)
        } else {
            (j, i, t.inverse())
        }
    };

    // Exact: identical bytes. Record numbers sorted by content, then path: one run per content
    // (8 bytes per image; a hash map of lists cost ~70 at a million images).
    let mut by_content: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].is_ok() && records[i].blake3().is_some())
        .collect();
    by_content.par_sort_unstable_by(|&i, &j| {
        let (a, b) = (&records[i], &records[j]);
        (a.blake3(), &a.path).cmp(&(b.blake3(), &b.path))
    });
    // Members of a large identical set other than its head are left out of the near search:
    // they have the head's hashes, and the head stands for them (linked below).
    let mut linked_to_head = vec![false; records.len()];
    for members in by_content.chunk_by(|&i, &j| records[i].blake3() == records[j].blake3()) {
        if members.len() > groups::ALL_PAIRS_UP_TO {
            for &m in &members[1..] {
                linked_to_head[m] = true;
            }
        }
        for (i, j) in groups::exact_links(members) {
            let (a, b, _) = ordered(i, j, Transform::Identity);
            let d256 = match (records[a].hash256(), records[b].hash256()) {
                (Some(x), Some(y)) => x.full.distance(&y.full),
                _ => 0,
            };
            offer(Pair {
                a,
                b,
                kind: MatchKind::Exact,
                distance: distance64(&records[a], &records[b], Transform::Identity, false),
                transform: Transform::Identity,
                crop: false,
                distance256: d256,
                view: View::Trimmed,
                affine: None,
            });
        }
    }

    // Near: the 256-bit decision over the informative images.
    drop(by_content);
    let usable = record_numbers(records, |i, r| {
        r.hashable() && !linked_to_head[i] && r.hash256().is_some()
    });
    drop(linked_to_head);
    let hashes = RecordHashes {
        records,
        at: &usable,
    };
    let t = crate::base::timing::phase("hash search");
    let (matches, report) = search::run(
        &hashes,
        radius,
        geometric.transforms(),
        crop,
        search,
        rounds,
        width,
    );
    drop(t);
    for m in matches {
        let (a, b, t) = ordered(
            usable[m.a as usize] as usize,
            usable[m.b as usize] as usize,
            m.transform,
        );
        let (ra, rb) = (&records[a], &records[b]);
        // The same pixels in another lossless container (PNG and BMP of one image). A lossy
        // re-encode can also hash identically, so it stays a near-duplicate.
        let same_pixels = m.view == View::Trimmed
            && m.distance == 0
            && t == Transform::Identity
            && ra.lossless_format()
            && rb.lossless_format()
            && (ra.phash(), ra.dhash()) == (rb.phash(), rb.dhash())
            && (ra.width, ra.height) == (rb.width, rb.height);
        let kind = if same_pixels {
            MatchKind::Exact
        } else {
            MatchKind::Near
        };
        offer(Pair {
            a,
            b,
            kind,
            distance: distance64(ra, rb, t, m.view.is_crop()),
            transform: t,
            crop: m.view.is_crop(),
            distance256: m.distance,
            view: m.view,
            affine: None,
        });
    }
    // Rotated, shifted and zoomed copies the hashes cannot see: local features, candidates
    // only (`crate::near::affine`).
    let known: std::collections::HashSet<(usize, usize)> = best.keys().copied().collect();
    // The hash search's tables were freed on the pool's threads; the affine search's peak
    // comes on top of what the heaps keep (at a million images, 40 MB).
    crate::base::memory::release_freed();
    let (affine_pairs, affine_report) =
        crate::near::affine::find_pairs(records, &usable, &known, choice.affine_keys)?;

    let mut report = report;
    report.affine = Some(affine_report);
    for p in affine_pairs {
        let (ra, rb) = (&records[p.a], &records[p.b]);
        let t = if p.fit.mirrored {
            Transform::FlipH
        } else {
            Transform::Identity
        };
        let d256 = match (ra.hash256(), rb.hash256()) {
            (Some(x), Some(y)) => x.full.distance(&y.full),
            _ => 256,
        };
        // Only pairs the hashes did not find were verified.
        best.entry((p.a, p.b)).or_insert(Pair {
            a: p.a,
            b: p.b,
            kind: MatchKind::Near,
            distance: distance64(ra, rb, t, false),
            transform: t,
            crop: false,
            distance256: d256,
            view: View::Affine,
            affine: Some(p.fit),
        });
    }
    let mut pairs: Vec<Pair> = best.into_values().collect();
    pairs.sort_by(|x, y| {
        (&records[x.a].path, &records[x.b].path).cmp(&(&records[y.a].path, &records[y.b].path))
    });
    Ok((pairs, report))
}

/// Per-split and per-class leakage: how many images of each split have a duplicate in
/// another split. In a group too large to list every pair (see `groups::exact_links`), a
/// member counts as leaked into every other split of its group.
pub fn split_leaks(records: &[Record], pairs: &[Pair], groups: &[Group]) -> Vec<SplitLeak> {
    // Only records with a copy in another split (a set per record cost 24 bytes per image).
    let mut elsewhere: HashMap<usize, std::collections::BTreeSet<&str>> = HashMap::new();
    for p in pairs {
        let (sa, sb) = (records[p.a].split.as_str(), records[p.b].split.as_str());
        if sa != sb {
            elsewhere.entry(p.a).or_default().insert(sb);
            elsewhere.entry(p.b).or_default().insert(sa);
        }
    }
    for g in groups
        .iter()
        .filter(|g| g.members.len() > groups::ALL_PAIRS_UP_TO)
    {
        for &m in &g.members {
            let own = records[m].split.as_str();
            let other = g.splits.iter().map(String::as_str).filter(|s| *s != own);
            elsewhere.entry(m).or_default().extend(other);
        }
    }
    let mut splits: BTreeMap<&str, SplitLeak> = BTreeMap::new();
    let mut classes: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for (i, r) in records.iter().enumerate().filter(|(_, r)| r.is_ok()) {
        let s = splits.entry(r.split.as_str()).or_insert_with(|| SplitLeak {
            split: r.split.to_string(),
            images: 0,
            leaked: 0,
            share: 0.0,
            leaked_into: BTreeMap::new(),
            classes: Vec::new(),
        });
        s.images += 1;
        let c = classes
            .entry((r.split.as_str(), r.class.as_str()))
            .or_default();
        c.0 += 1;
        if let Some(others) = elsewhere.get(&i).filter(|o| !o.is_empty()) {
            s.leaked += 1;
            c.1 += 1;
            for other in others {
                *s.leaked_into.entry((*other).to_owned()).or_default() += 1;
            }
        }
    }
    for ((split, class), (images, leaked)) in classes {
        if let Some(s) = splits.get_mut(split) {
            s.classes.push(ClassLeak {
                class: class.to_owned(),
                images,
                leaked,
                share: share(leaked, images),
            });
        }
    }
    splits
        .into_values()
        .map(|mut s| {
            s.share = share(s.leaked, s.images);
            s
        })
        .collect()
}

/// Runs the whole leak analysis on scanned records.
pub fn analyze(records: &[Record], opts: &LeakOptions) -> Result<Leaks> {
    let crop = !opts.no_crop;
    let hashed = records
        .iter()
        .filter(|r| r.hashable() && r.hash256().is_some())
        .count();
    let (radius, radius_reason, calibration) = match opts.max_distance {
        Some(r) => (r, format!("{r} of 256 bits (--max-distance)"), None),
        None => {
            // Read from the records in place: no copy of the hashes (128 bytes per image) at
            // a million images (docs/BENCHMARKS.md "At a million images").
            let at = record_numbers(records, |_, r| r.hashable() && r.hash256().is_some());
            let hashes = RecordHashes { records, at: &at };
            let _t = crate::base::timing::phase("calibration");
            let c = calibrate::choose_radius(&hashes, opts.geometric.transforms(), crop);
            (c.radius, c.reason.clone(), Some(c))
        }
    };
    let choice = SearchChoice {
        search: opts.search,
        rounds: opts.search_rounds,
        width: opts.search_bits,
        affine_keys: opts.affine_keys,
    };
    let (pairs, search) = find_pairs_with(records, radius, opts.geometric, !opts.no_crop, &choice)?;
    // The search's tables and query batches were freed on the pool's threads, in heaps the
    // caller's next phase (split's planning) does not draw from: give them back first.
    crate::base::memory::release_freed();
    let groups = groups::build(records, pairs.iter().map(|p| (p.a, p.b)));
    let exact_pairs = pairs.iter().filter(|p| p.kind == MatchKind::Exact).count();
    let summary = LeakSummary {
        images: records.iter().filter(|r| r.is_ok()).count(),
        hashed,
        near_constant: records
            .iter()
            .filter(|r| r.is_ok() && r.flags.contains(Flag::NearConstant))
            .map(|r| r.path.to_string_lossy().into_owned())
            .collect(),
        radius,
        radius_reason,
        dhash_gate: None,
        calibration,
        geometric: opts.geometric,
        crop: !opts.no_crop,
        pairs: pairs.len(),
        exact_pairs,
        near_pairs: pairs.len() - exact_pairs,
        groups: groups.len(),
        cross_split_groups: groups.iter().filter(|g| g.cross_split()).count(),
        within_split_groups: groups.iter().filter(|g| g.within_split()).count(),
        label_conflict_groups: groups.iter().filter(|g| g.label_conflict()).count(),
        redundant_images: groups.iter().map(|g| g.members.len() - 1).sum(),
        redundant_within_split: groups
            .iter()
            .filter(|g| g.within_split())
            .map(|g| g.members.len() - 1)
            .sum(),
        splits: split_leaks(records, &pairs, &groups),
        search,
    };
    Ok(Leaks {
        pairs,
        groups,
        summary,
    })
}

#[cfg(test)]
mod tests;
