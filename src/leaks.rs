//! Leak detection: exact and near-duplicate pairs, their groups, and what they mean per
//! split and class.
//!
//! * exact: identical bytes (BLAKE3), or the same pixels in another container (same size
//!   and identical pHash and dHash, e.g. a PNG and a BMP of one image);
//! * near: pHash within the radius under the identity or one of the requested flips and
//!   quarter turns (bit operations on the stored hash, never a second decode), or an image's
//!   centre-crop hash within the radius of another image's full hash (centre crops).
//!   Near-constant images are left out: their hashes are meaningless.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;

use crate::base::hash::{Transform, distance};
use crate::calibrate::{self, Calibration, MatchHashes};
use crate::groups::{self, Group};
use crate::index::{Flag, Record};
use crate::neighbors::MultiIndex;

/// Which flips and quarter turns near-duplicate search tries (`--geometric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Geometric {
    /// Identity only.
    None,
    /// Identity and the left-right mirror (the common augmentation).
    #[default]
    Flip,
    /// All 8 flips and quarter turns.
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

/// Largest accepted `--max-distance` (bits of the 64-bit pHash). Unrelated images sit about
/// 27 +- 3 bits apart, so beyond 16 chance matches swamp real ones (at 65 every image matches
/// every other). Tied to the hash width: a 256-bit hash gets its own bound.
pub const MAX_DISTANCE_LIMIT: u32 = 16;

/// Options of `cleansplit leaks`.
#[derive(Debug, Clone, Default)]
pub struct LeakOptions {
    pub geometric: Geometric,
    /// Fixed pHash radius (`--max-distance`); `None` to calibrate on the dataset.
    pub max_distance: Option<u32>,
    /// Also match centre crops (on by default; `--no-crop`).
    pub no_crop: bool,
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
    /// pHash Hamming distance under `transform` (and of the crop hash if `crop`).
    pub distance: u32,
    /// `b` looks like `transform` applied to `a`.
    pub transform: Transform,
    /// Matched as a centre crop: one image's central 90% against the other's whole.
    pub crop: bool,
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
    pub radius: u32,
    pub radius_reason: String,
    /// dHash distance a full-image match must also pass (identity and left-right mirror).
    pub dhash_gate: u32,
    pub calibration: Option<Calibration>,
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

/// Largest dHash distance at which a full-image pHash match is believed (calibrated: true
/// copies stay within 8, unrelated images with a close pHash sit at 14 or more).
pub const DHASH_GATE: u32 = 10;

/// The dHash check of a full-image match under the identity or the left-right mirror (the
/// transforms dHash can follow); other transforms and crop matches are not gated.
fn dhash_agrees(a: &Record, b: &Record, t: Transform) -> bool {
    match (t, a.dhash, b.dhash) {
        (Transform::Identity, Some(x), Some(y)) => distance(x, y) <= DHASH_GATE,
        (Transform::FlipH, Some(x), Some(y)) => distance(dhash_flip_h(x), y) <= DHASH_GATE,
        _ => true,
    }
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

/// Finds all exact and near-duplicate pairs among `records`.
pub fn find_pairs(records: &[Record], radius: u32, geometric: Geometric, crop: bool) -> Vec<Pair> {
    let mut best: HashMap<(usize, usize), Pair> = HashMap::new();
    let mut offer = |p: Pair| {
        let key = (p.a, p.b);
        let rank = |p: &Pair| (p.kind, p.distance, p.crop, p.transform);
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

    // Exact: identical bytes.
    let mut by_content: HashMap<&crate::index::Digest, Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if r.is_ok()
            && let Some(d) = &r.blake3
        {
            by_content.entry(d).or_default().push(i);
        }
    }
    // Members of a large identical set other than its head are left out of the near search:
    // they have the head's hashes, and the head stands for them (linked below).
    let mut linked_to_head = vec![false; records.len()];
    for members in by_content.values_mut() {
        members.sort_by(|&i, &j| records[i].path.cmp(&records[j].path));
        if members.len() > groups::ALL_PAIRS_UP_TO {
            for &m in &members[1..] {
                linked_to_head[m] = true;
            }
        }
        for (i, j) in groups::exact_links(members) {
            let (a, b, _) = ordered(i, j, Transform::Identity);
            let d = match (records[a].phash, records[b].phash) {
                (Some(x), Some(y)) => distance(x, y),
                _ => 0,
            };
            offer(Pair {
                a,
                b,
                kind: MatchKind::Exact,
                distance: d,
                transform: Transform::Identity,
                crop: false,
            });
        }
    }

    // Near: multi-index search over the pHashes of informative images.
    let usable: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].hashable() && !linked_to_head[i])
        .collect();
    let hashes: Vec<u64> = usable
        .iter()
        .map(|&i| records[i].phash.unwrap_or_default())
        .collect();
    let index = MultiIndex::new(&hashes, radius);
    let transforms = geometric.transforms();
    let found: Vec<(usize, usize, u32, Transform, bool)> = (0..usable.len())
        .into_par_iter()
        .flat_map_iter(|qi| {
            let r = &records[usable[qi]];
            let mut out = Vec::new();
            let mut queries = vec![(r.phash.unwrap_or_default(), false)];
            if crop && let Some(c) = r.phash_crop {
                queries.push((c, true));
            }
            for &(h, is_crop) in &queries {
                for &t in transforms {
                    index.query(t.apply_to_phash(h), |j, d| {
                        if j as usize != qi {
                            out.push((usable[qi], usable[j as usize], d, t, is_crop));
                        }
                    });
                }
            }
            out
        })
        .collect();
    for (i, j, d, t, is_crop) in found {
        if !is_crop && !dhash_agrees(&records[i], &records[j], t) {
            continue;
        }
        let (a, b, t) = ordered(i, j, t);
        // The same pixels in another lossless container (PNG and BMP of one image). A lossy
        // re-encode can also hash identically, so it stays a near-duplicate.
        let same_pixels = !is_crop
            && d == 0
            && records[a].lossless_format()
            && records[b].lossless_format()
            && t == Transform::Identity
            && records[a].dhash == records[b].dhash
            && (records[a].width, records[a].height) == (records[b].width, records[b].height);
        let kind = if same_pixels {
            MatchKind::Exact
        } else {
            MatchKind::Near
        };
        offer(Pair {
            a,
            b,
            kind,
            distance: d,
            transform: t,
            crop: is_crop,
        });
    }
    let mut pairs: Vec<Pair> = best.into_values().collect();
    pairs.sort_by(|x, y| {
        (&records[x.a].path, &records[x.b].path).cmp(&(&records[y.a].path, &records[y.b].path))
    });
    pairs
}

/// Per-split and per-class leakage: how many images of each split have a duplicate in
/// another split. In a group too large to list every pair (see `groups::exact_links`), a
/// member counts as leaked into every other split of its group.
pub fn split_leaks(records: &[Record], pairs: &[Pair], groups: &[Group]) -> Vec<SplitLeak> {
    let mut elsewhere: Vec<std::collections::BTreeSet<&str>> =
        vec![Default::default(); records.len()];
    for p in pairs {
        let (sa, sb) = (records[p.a].split.as_str(), records[p.b].split.as_str());
        if sa != sb {
            elsewhere[p.a].insert(sb);
            elsewhere[p.b].insert(sa);
        }
    }
    for g in groups
        .iter()
        .filter(|g| g.members.len() > groups::ALL_PAIRS_UP_TO)
    {
        for &m in &g.members {
            let own = records[m].split.as_str();
            elsewhere[m].extend(g.splits.iter().map(String::as_str).filter(|s| *s != own));
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
        if !elsewhere[i].is_empty() {
            s.leaked += 1;
            c.1 += 1;
            for other in &elsewhere[i] {
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
pub fn analyze(records: &[Record], opts: &LeakOptions) -> Leaks {
    let crop = !opts.no_crop;
    let hashed: Vec<MatchHashes> = records
        .iter()
        .filter(|r| r.hashable())
        .map(|r| MatchHashes {
            phash: r.phash.unwrap_or_default(),
            crop: if crop { r.phash_crop } else { None },
        })
        .collect();
    let (radius, radius_reason, calibration) = match opts.max_distance {
        Some(r) => (r, format!("{r} bits (--max-distance)"), None),
        None => {
            let c = calibrate::choose_radius(&hashed, opts.geometric.transforms());
            (c.radius, c.reason.clone(), Some(c))
        }
    };
    let pairs = find_pairs(records, radius, opts.geometric, !opts.no_crop);
    let groups = groups::build(records, pairs.iter().map(|p| (p.a, p.b)));
    let exact_pairs = pairs.iter().filter(|p| p.kind == MatchKind::Exact).count();
    let summary = LeakSummary {
        images: records.iter().filter(|r| r.is_ok()).count(),
        hashed: hashed.len(),
        near_constant: records
            .iter()
            .filter(|r| r.is_ok() && r.flags.contains(Flag::NearConstant))
            .map(|r| r.path.to_string_lossy().into_owned())
            .collect(),
        radius,
        radius_reason,
        dhash_gate: DHASH_GATE,
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
    };
    Leaks {
        pairs,
        groups,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::tests::rec;

    fn with_hash(mut r: Record, h: u64) -> Record {
        r.phash = Some(h);
        r.phash_crop = Some(!h);
        r.dhash = Some(h);
        r.blake3 = Some(crate::index::digest_of(
            format!("{h:x}-{}", r.path.display()).as_bytes(),
        ));
        r
    }

    #[test]
    fn finds_flip_only_with_geometric() {
        let base = 0x0123_4567_89ab_cdefu64;
        let flipped = Transform::FlipH.apply_to_phash(base);
        let mut copy = with_hash(rec("val/a/2.jpg", "val", "a"), flipped);
        copy.dhash = Some(dhash_flip_h(base));
        let records = vec![with_hash(rec("train/a/1.jpg", "train", "a"), base), copy];
        let with = find_pairs(&records, 4, Geometric::Flip, false);
        assert_eq!(with.len(), 1);
        assert_eq!(with[0].transform, Transform::FlipH);
        assert_eq!(with[0].distance, 0);
        assert!(find_pairs(&records, 4, Geometric::None, false).is_empty());
    }

    #[test]
    fn exact_and_self_pairs() {
        let mut a = with_hash(rec("train/a/1.jpg", "train", "a"), 7);
        let mut b = with_hash(rec("train/b/1.jpg", "train", "b"), 7);
        a.blake3 = Some([1; 16]);
        b.blake3 = Some([1; 16]);
        let c = with_hash(rec("val/a/9.jpg", "val", "a"), 7 ^ 0b111);
        let records = vec![a, b, c];
        let pairs = find_pairs(&records, 4, Geometric::Flip, true);
        assert_eq!(pairs.len(), 3, "{pairs:?}");
        assert!(pairs.iter().all(|p| p.a != p.b));
        assert_eq!(pairs[0].kind, MatchKind::Exact);
        let l = analyze(
            &records,
            &LeakOptions {
                max_distance: Some(4),
                ..Default::default()
            },
        );
        assert_eq!(l.summary.groups, 1);
        assert_eq!(l.summary.label_conflict_groups, 1);
        assert_eq!(l.summary.cross_split_groups, 1);
        let val = l.summary.splits.iter().find(|s| s.split == "val").unwrap();
        assert_eq!((val.images, val.leaked), (1, 1));
        let train = l
            .summary
            .splits
            .iter()
            .find(|s| s.split == "train")
            .unwrap();
        assert_eq!((train.images, train.leaked), (2, 2));
    }

    #[test]
    fn dhash_gate_rejects_lookalikes() {
        let base = 0x0123_4567_89ab_cdefu64;
        let mut other = with_hash(rec("val/a/2.jpg", "val", "a"), base ^ 0b11);
        other.dhash = Some(!base);
        let records = vec![with_hash(rec("train/a/1.jpg", "train", "a"), base), other];
        assert!(find_pairs(&records, 4, Geometric::Flip, false).is_empty());
        assert_eq!(dhash_flip_h(dhash_flip_h(base)), base);
    }

    #[test]
    fn a_large_identical_set_stays_linear() {
        // 5,000 byte-identical copies (a placeholder image) across three splits, plus one
        // near copy of it: one group, 5,000 rows (member to head, and the near copy), not
        // 12.5 million.
        let n = 5_000;
        let splits = ["train", "val", "test"];
        let mut records: Vec<Record> = (0..n)
            .map(|i| {
                let s = splits[i % 3];
                let mut r = with_hash(rec(&format!("{s}/a/{i:05}.jpg"), s, "a"), 0x0f0f_00ff);
                r.blake3 = Some([2; 16]);
                r
            })
            .collect();
        records.push(with_hash(
            rec("train/b/near.jpg", "train", "b"),
            0x0f0f_00ff ^ 0b11,
        ));
        records.sort_by(|a, b| a.path.cmp(&b.path));
        let t = std::time::Instant::now();
        let l = analyze(
            &records,
            &LeakOptions {
                max_distance: Some(4),
                ..Default::default()
            },
        );
        assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
        assert_eq!(l.groups.len(), 1);
        assert_eq!(l.groups[0].members.len(), n + 1);
        assert_eq!(l.summary.exact_pairs, n - 1);
        assert_eq!(l.pairs.len(), n, "member-to-head links plus one near pair");
        let head = l.pairs[0].a;
        assert!(l.pairs.iter().all(|p| p.a == head || p.b == head));
        // Every member is a leak into the two other splits.
        for s in &l.summary.splits {
            assert_eq!(s.leaked, s.images, "{}", s.split);
            assert_eq!(s.leaked_into.len(), 2, "{}", s.split);
        }
        assert_eq!(l.summary.redundant_images, n);
    }

    #[test]
    fn a_small_identical_set_lists_every_pair() {
        let records: Vec<Record> = (0..groups::ALL_PAIRS_UP_TO)
            .map(|i| {
                let mut r = with_hash(rec(&format!("a/{i:03}.png"), "", "a"), 99);
                r.blake3 = Some([1; 16]);
                r
            })
            .collect();
        let k = records.len();
        assert_eq!(
            find_pairs(&records, 4, Geometric::Flip, true).len(),
            k * (k - 1) / 2
        );
    }

    #[test]
    fn near_constant_images_do_not_match() {
        let mut a = with_hash(rec("a/1.png", "", "a"), 0);
        let mut b = with_hash(rec("a/2.png", "", "a"), 0);
        a.flags.insert(Flag::NearConstant);
        b.flags.insert(Flag::NearConstant);
        assert!(find_pairs(&[a, b], 8, Geometric::All, true).is_empty());
    }
}
