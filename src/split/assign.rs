//! The greedy stratified assignment shared by the split and k-fold: units, targets per split
//! and class, and the seeded order that breaks ties.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;

use super::options::Sizes;
use super::placement::Placement;
use crate::index::Record;

/// A unit of one member: most units (12 bytes, no allocation of its own; its id is the
/// member's `Placement::unit`).
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct One {
    key: u64,
    member: u32,
}

/// A unit of two or more members: `members[start..start + len]` of [`Units`].
#[derive(Debug, Clone, Copy)]
struct Many {
    key: u64,
    unit: u32,
    start: u32,
    len: u32,
}

/// The sets of sources that must land in one split and have an image to place, in the order
/// the assignment takes them: larger units first, ties by a key seeded by `--seed` (of the
/// unit's first record's path), then by unit id. Built from the placements when needed
/// (a unit per image with its own lists cost ~120 bytes per image at a million).
#[derive(Debug, Clone, Default)]
pub struct Units {
    many: Vec<Many>,
    members: Vec<u32>,
    one: Vec<One>,
}

impl Units {
    /// The units of the records placed in a split; a unit's members in record order.
    pub fn of(placements: &[Placement], records: &[Record], seed: u64) -> Units {
        let units = placements.iter().map(|p| p.unit() + 1).max().unwrap_or(0);
        // Members per unit: 0, 1, or 2 for more.
        let mut count = vec![0u8; units];
        for p in placements.iter().filter(|p| p.in_split()) {
            let c = &mut count[p.unit()];
            *c = (*c + 1).min(2);
        }
        // The first record of each grouped unit with an image to place (a unit of one record
        // is its own first).
        let mut first: HashMap<u32, u32> = HashMap::new();
        for (i, p) in placements.iter().enumerate() {
            if p.grouped() && count[p.unit()] > 0 {
                first.entry(p.unit() as u32).or_insert(i as u32);
            }
        }
        let first_of = |member: u32| {
            let p = &placements[member as usize];
            if p.grouped() {
                first[&(p.unit() as u32)]
            } else {
                member
            }
        };
        let key_of = |first: u32| seeded_key(seed, &path_bytes(&records[first as usize].path));
        let mut one: Vec<One> = Vec::with_capacity(count.iter().filter(|&&c| c == 1).count());
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (i, p) in placements.iter().enumerate() {
            if p.in_split() {
                let (unit, member) = (p.unit() as u32, i as u32);
                if count[p.unit()] == 1 {
                    one.push(One { key: 0, member });
                } else {
                    pairs.push((unit, member));
                }
            }
        }
        drop(count);
        one.par_iter_mut()
            .for_each(|o| o.key = key_of(first_of(o.member)));
        let unit = |o: &One| placements[o.member as usize].unit();
        one.par_sort_unstable_by(|a, b| {
            let (ka, kb) = (a.key, b.key);
            ka.cmp(&kb).then_with(|| unit(a).cmp(&unit(b)))
        });
        pairs.sort_unstable();
        let mut many: Vec<Many> = Vec::new();
        for (at, &(unit, member)) in pairs.iter().enumerate() {
            match many.last_mut() {
                Some(m) if m.unit == unit => m.len += 1,
                _ => many.push(Many {
                    key: key_of(first_of(member)),
                    unit,
                    start: at as u32,
                    len: 1,
                }),
            }
        }
        many.sort_unstable_by_key(|m| (std::cmp::Reverse(m.len), m.key, m.unit));
        let members = pairs.into_iter().map(|(_, m)| m).collect();
        Units { many, members, one }
    }

    /// Units with an image to place.
    pub fn len(&self) -> usize {
        self.many.len() + self.one.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Members of the largest unit (0 without units).
    pub fn largest(&self) -> usize {
        match (self.many.first(), self.one.is_empty()) {
            (Some(m), _) => m.len as usize,
            (None, false) => 1,
            (None, true) => 0,
        }
    }

    /// Each unit's members (record indices, in record order), in assignment order.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> {
        let many = self.many.iter().map(|m| {
            let at = m.start as usize;
            &self.members[at..at + m.len as usize]
        });
        let one = self.one.iter().map(|o| std::slice::from_ref(&o.member));
        many.chain(one)
    }

    /// Images per stratum over all units (`stratum` of a record index).
    pub fn totals(&self, stratum: &dyn Fn(usize) -> usize, strata: usize) -> Vec<usize> {
        let mut totals = vec![0usize; strata];
        for members in self.iter() {
            for &m in members {
                totals[stratum(m as usize)] += 1;
            }
        }
        totals
    }
}

/// Per record, the index of its class in `class_names` (`u32::MAX` for a record not placed
/// in a split): looked up once in record order, so the assignment, which visits units in a
/// random (seeded) order, reads 4 bytes per image instead of a record's class (a cache miss
/// each: ~0.5 s at a million).
pub fn class_indices(
    class_names: &[String],
    placements: &[Placement],
    records: &[Record],
) -> Vec<u32> {
    let index: HashMap<&str, u32> = class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as u32))
        .collect();
    placements
        .par_iter()
        .zip(records)
        .map(|(p, r)| {
            if p.in_split() {
                index[r.class.as_str()]
            } else {
                u32::MAX
            }
        })
        .collect()
}

/// Adds one image of class `c` to a unit's `counts` (kept in class order).
pub fn count_class(counts: &mut Vec<(usize, usize)>, c: usize) {
    match counts.binary_search_by_key(&c, |&(k, _)| k) {
        Ok(at) => counts[at].1 += 1,
        Err(at) => counts.insert(at, (c, 1)),
    }
}

/// A path's bytes as the CSV files hold them (`path_field`), borrowed where the platform
/// allows (no copy per row).
#[cfg(unix)]
pub(super) fn path_bytes(p: &Path) -> Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    Cow::Borrowed(p.as_os_str().as_bytes())
}

#[cfg(not(unix))]
pub(super) fn path_bytes(p: &Path) -> Cow<'_, [u8]> {
    Cow::Owned(crate::base::paths::path_field(p))
}

/// A deterministic 64-bit key for `text` under `seed` (BLAKE3), used to order units.
pub(super) fn seeded_key(seed: u64, text: &[u8]) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(text);
    let b = h.finalize();
    u64::from_le_bytes(b.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Target count per split and class index (`targets[split][class]`).
pub fn targets(sizes: &Sizes, splits: usize, class_totals: &[usize]) -> Vec<Vec<f64>> {
    match sizes {
        Sizes::Ratio(r) => r
            .iter()
            .map(|f| class_totals.iter().map(|&n| f * n as f64).collect())
            .collect(),
        Sizes::Count(k) => {
            let mut t = vec![vec![0.0; class_totals.len()]; splits];
            for (c, &n) in class_totals.iter().enumerate() {
                let mut left = n as f64;
                for row in t.iter_mut().skip(1) {
                    let take = (*k as f64).min(left);
                    row[c] = take;
                    left -= take;
                }
                t[0][c] = left;
            }
            t
        }
    }
}

/// Assigns each unit to a split, in the units' order (larger units first, ties by seeded
/// key), each to the split with the largest remaining deficit for its strata (`stratum` of a
/// record index; `targets[split][stratum]`); `place(members, split)` is told each choice. Units of one image thus fill every stratum to within one image of its target; a
/// group can overshoot by at most its own size.
pub fn assign(
    units: &Units,
    stratum: &dyn Fn(usize) -> usize,
    targets: &[Vec<f64>],
    mut place: impl FnMut(&[u32], usize),
) {
    let classes = targets.first().map_or(0, Vec::len);
    let mut have = vec![vec![0usize; classes]; targets.len()];
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for members in units.iter() {
        counts.clear();
        for &m in members {
            count_class(&mut counts, stratum(m as usize));
        }
        let mut best = (f64::NEG_INFINITY, 0);
        for (s, t) in targets.iter().enumerate() {
            let deficit: f64 = counts
                .iter()
                .map(|&(c, n)| n as f64 * (t[c] - have[s][c] as f64))
                .sum();
            // Relative deficit breaks ties between splits of different sizes.
            let size: f64 = counts.iter().map(|&(c, _)| t[c]).sum::<f64>().max(1e-9);
            let score = deficit + 1e-6 * deficit / size;
            if score > best.0 {
                best = (score, s);
            }
        }
        for &(c, n) in &counts {
            have[best.1][c] += n;
        }
        place(members, best.1);
    }
}
