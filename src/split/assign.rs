//! The greedy stratified assignment shared by the split and k-fold: units, targets per split
//! and class, and the seeded order that breaks ties.

use std::borrow::Cow;
use std::path::Path;

use super::options::Sizes;

/// A set of sources that must land in one split.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Records to place.
    pub members: Vec<usize>,
    /// Count per class index, in class order (a short list: a unit rarely spans classes,
    /// and a map per unit cost ~200 bytes per image at a million).
    pub counts: Vec<(usize, usize)>,
    /// Deterministic tie-break key derived from the seed.
    pub key: u64,
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
    Cow::Owned(crate::index::path_field(p))
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

/// Assigns each unit to a split: larger units first (ties by seeded key), each to the split
/// with the largest remaining deficit for its classes. Units of one image thus fill every
/// class to within one image of its target; a group can overshoot by at most its own size.
pub fn assign(units: &[Unit], targets: &[Vec<f64>]) -> Vec<usize> {
    let classes = targets.first().map_or(0, Vec::len);
    let mut have = vec![vec![0usize; classes]; targets.len()];
    let mut order: Vec<usize> = (0..units.len()).collect();
    // The unit number last makes the unstable sort give the stable sort's order.
    order.sort_unstable_by_key(|&u| (std::cmp::Reverse(units[u].members.len()), units[u].key, u));
    let mut out = vec![0; units.len()];
    for u in order {
        let unit = &units[u];
        let mut best = (f64::NEG_INFINITY, 0);
        for (s, t) in targets.iter().enumerate() {
            let deficit: f64 = unit
                .counts
                .iter()
                .map(|&(c, n)| n as f64 * (t[c] - have[s][c] as f64))
                .sum();
            // Relative deficit breaks ties between splits of different sizes.
            let size: f64 = unit
                .counts
                .iter()
                .map(|&(c, _)| t[c])
                .sum::<f64>()
                .max(1e-9);
            let score = deficit + 1e-6 * deficit / size;
            if score > best.0 {
                best = (score, s);
            }
        }
        out[u] = best.1;
        for &(c, n) in &unit.counts {
            have[best.1][c] += n;
        }
    }
    out
}
