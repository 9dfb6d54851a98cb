//! A shallow CART decision tree (Gini impurity) on binned features, and its seeded
//! stratified cross-validation.
//!
//! Why a hand-written tree and not linfa-trees or smartcore (measured in docs/DESIGN.md,
//! "The shortcut check"): the features are already small integer codes, so a split search is one
//! histogram pass per node, which fits 1,000,000 rows x 11 features x 5 folds in well under a
//! second; the crates sort floating-point columns per node and would add several dozen
//! crates and a large share of this crate's cold build time for some 150 lines of logic.
//! A depth-3 tree is also easy to read back to the user as rules ("format == png").

use rayon::prelude::*;

use super::features::{Feature, Kind};
use crate::base::rng::{shuffle, splitmix};

/// Tree depth: up to 8 leaves, enough to combine size, format and colour, shallow enough
/// to explain.
pub const DEPTH: usize = 3;
/// Smallest leaf, so a rule never rests on a handful of images.
pub const MIN_LEAF: usize = 5;
/// Cross-validation folds.
pub const FOLDS: usize = 5;
/// Seed of the fold assignment: same data, same folds, same numbers.
pub const SEED: u64 = 0x0510_7c07_5eed;

/// How a node sends a row left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub feature: usize,
    /// Numeric: `code <= threshold`; categorical: `code == threshold`.
    pub threshold: u8,
}

impl Split {
    fn left(&self, features: &[Feature], row: usize) -> bool {
        let c = features[self.feature].codes[row];
        match features[self.feature].kind {
            Kind::Numeric => c <= self.threshold,
            Kind::Categorical => c == self.threshold,
        }
    }

    /// The rule in words, e.g. `format = png` or `width <= 224`.
    pub fn describe(&self, features: &[Feature]) -> String {
        let f = &features[self.feature];
        let label = &f.labels[usize::from(self.threshold)];
        match f.kind {
            Kind::Numeric => format!("{} <= {label}", f.name),
            Kind::Categorical => format!("{} = {label}", f.name),
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(u32),
    Inner {
        split: Split,
        left: Box<Node>,
        right: Box<Node>,
    },
}

/// A fitted tree plus the impurity decrease each feature brought (its importance).
#[derive(Debug, Clone)]
pub struct Tree {
    root: Node,
    /// Per feature: total weighted Gini decrease, as a share of the root impurity.
    pub importance: Vec<f64>,
    /// The root split, if the tree split at all.
    pub first: Option<Split>,
}

impl Tree {
    pub fn predict(&self, features: &[Feature], row: usize) -> u32 {
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(c) => return *c,
                Node::Inner { split, left, right } => {
                    node = if split.left(features, row) {
                        left
                    } else {
                        right
                    };
                }
            }
        }
    }
}

fn gini(counts: &[u64], n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    1.0 - counts.iter().map(|&c| (c as f64 / n).powi(2)).sum::<f64>()
}

fn majority(counts: &[u64]) -> u32 {
    let mut best = 0;
    for (i, &c) in counts.iter().enumerate() {
        if c > counts[best] {
            best = i;
        }
    }
    best as u32
}

/// Fits a tree on `rows` (indices into the feature columns) with labels `y` in 0..classes.
pub fn fit(features: &[Feature], y: &[u32], classes: usize, rows: &[usize]) -> Tree {
    let mut importance = vec![0.0; features.len()];
    let mut counts = vec![0u64; classes];
    for &r in rows {
        counts[y[r] as usize] += 1;
    }
    let root_impurity = gini(&counts, rows.len() as u64) * rows.len() as f64;
    let mut rows = rows.to_vec();
    let root = grow(features, y, classes, &mut rows, 0, &mut importance);
    if root_impurity > 0.0 {
        for v in &mut importance {
            *v /= root_impurity;
        }
    }
    let first = match &root {
        Node::Inner { split, .. } => Some(*split),
        Node::Leaf(_) => None,
    };
    Tree {
        root,
        importance,
        first,
    }
}

fn grow(
    features: &[Feature],
    y: &[u32],
    classes: usize,
    rows: &mut [usize],
    depth: usize,
    importance: &mut [f64],
) -> Node {
    let mut counts = vec![0u64; classes];
    for &r in rows.iter() {
        counts[y[r] as usize] += 1;
    }
    let n = rows.len() as u64;
    let parent = gini(&counts, n);
    if depth == DEPTH || parent == 0.0 || rows.len() < 2 * MIN_LEAF {
        return Node::Leaf(majority(&counts));
    }
    let Some((split, gain)) = best_split(features, y, classes, rows, &counts, parent) else {
        return Node::Leaf(majority(&counts));
    };
    importance[split.feature] += gain * n as f64;
    // Partition in place: left rows first (order within each side does not matter).
    let mut mid = 0;
    for i in 0..rows.len() {
        if split.left(features, rows[i]) {
            rows.swap(i, mid);
            mid += 1;
        }
    }
    let (l, r) = rows.split_at_mut(mid);
    Node::Inner {
        split,
        left: Box::new(grow(features, y, classes, l, depth + 1, importance)),
        right: Box::new(grow(features, y, classes, r, depth + 1, importance)),
    }
}

/// The split with the largest Gini decrease (ties: lowest feature, then lowest code), if
/// any leaves both sides at least [`MIN_LEAF`] rows and decreases impurity.
fn best_split(
    features: &[Feature],
    y: &[u32],
    classes: usize,
    rows: &[usize],
    total: &[u64],
    parent: f64,
) -> Option<(Split, f64)> {
    let n = rows.len() as u64;
    let mut best: Option<(Split, f64)> = None;
    let mut hist: Vec<u64> = Vec::new();
    let mut left = vec![0u64; classes];
    let mut right = vec![0u64; classes];
    for (fi, f) in features.iter().enumerate() {
        let bins = f.bins();
        if bins < 2 {
            continue;
        }
        hist.clear();
        hist.resize(bins * classes, 0);
        for &r in rows {
            hist[usize::from(f.codes[r]) * classes + y[r] as usize] += 1;
        }
        left.iter_mut().for_each(|c| *c = 0);
        for b in 0..bins - usize::from(f.kind == Kind::Numeric) {
            let h = &hist[b * classes..(b + 1) * classes];
            match f.kind {
                Kind::Numeric => left.iter_mut().zip(h).for_each(|(l, c)| *l += c),
                Kind::Categorical => left.copy_from_slice(h),
            }
            let nl: u64 = left.iter().sum();
            if nl < MIN_LEAF as u64 || n - nl < MIN_LEAF as u64 {
                continue;
            }
            right
                .iter_mut()
                .zip(total.iter().zip(&left))
                .for_each(|(r, (t, l))| *r = t - l);
            let child =
                (nl as f64 * gini(&left, nl) + (n - nl) as f64 * gini(&right, n - nl)) / n as f64;
            let gain = parent - child;
            if gain > 1e-12 && best.is_none_or(|(_, g)| gain > g + 1e-12) {
                best = Some((
                    Split {
                        feature: fi,
                        threshold: b as u8,
                    },
                    gain,
                ));
            }
        }
    }
    best
}

/// Stratified fold of each row: each class's rows are shuffled (seeded) and dealt round-robin,
/// so every fold holds each class in proportion.
pub fn folds(y: &[u32], classes: usize, k: usize, seed: u64) -> Vec<u8> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &c) in y.iter().enumerate() {
        by_class[c as usize].push(i);
    }
    let mut fold = vec![0u8; y.len()];
    let mut state = seed;
    let mut next = 0usize;
    for rows in &mut by_class {
        shuffle(rows, &mut state);
        for &r in rows.iter() {
            fold[r] = (next % k) as u8;
            next += 1;
        }
    }
    fold
}

/// `want` of the indices `0..n` (all of them when `n <= want`), chosen by a seeded shuffle,
/// in increasing order.
pub fn sample(n: usize, want: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    if n <= want {
        return idx;
    }
    let mut state = seed;
    for i in 0..want {
        let j = i + (splitmix(&mut state) % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(want);
    idx.sort_unstable();
    idx
}

/// Out-of-fold predictions of a [`FOLDS`]-fold cross-validation (folds fitted in parallel;
/// the result does not depend on the thread count).
pub fn cross_validate(features: &[Feature], y: &[u32], classes: usize) -> Vec<u32> {
    let fold = folds(y, classes, FOLDS, SEED);
    let trees: Vec<Option<Tree>> = (0..FOLDS as u8)
        .into_par_iter()
        .map(|k| {
            let train: Vec<usize> = (0..y.len()).filter(|&i| fold[i] != k).collect();
            (!train.is_empty()).then(|| fit(features, y, classes, &train))
        })
        .collect();
    (0..y.len())
        .map(|i| {
            trees[usize::from(fold[i])]
                .as_ref()
                .map_or(0, |t| t.predict(features, i))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(name: &'static str, codes: Vec<u8>) -> Feature {
        let bins = usize::from(*codes.iter().max().unwrap()) + 1;
        Feature {
            name,
            kind: Kind::Categorical,
            codes,
            labels: (0..bins).map(|b| format!("v{b}")).collect(),
        }
    }

    #[test]
    fn learns_a_perfect_shortcut_and_names_it() {
        let n = 400;
        let y: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let noise: Vec<u8> = (0..n).map(|i| ((i * 7919) % 5) as u8).collect();
        let features = vec![
            cat("noise", noise),
            cat("format", y.iter().map(|&c| c as u8).collect()),
        ];
        let tree = fit(&features, &y, 2, &(0..n).collect::<Vec<_>>());
        assert_eq!(tree.first.unwrap().describe(&features), "format = v0");
        assert!(tree.importance[1] > 0.99);
        let pred = cross_validate(&features, &y, 2);
        assert_eq!(pred, y);
    }

    #[test]
    fn unrelated_features_predict_no_better_than_the_majority() {
        let n = 1000;
        let mut s = 7u64;
        let y: Vec<u32> = (0..n).map(|_| (splitmix(&mut s) % 2) as u32).collect();
        let f: Vec<u8> = (0..n).map(|_| (splitmix(&mut s) % 8) as u8).collect();
        let features = vec![Feature {
            name: "width",
            kind: Kind::Numeric,
            codes: f,
            labels: (0..8).map(|b| b.to_string()).collect(),
        }];
        let pred = cross_validate(&features, &y, 2);
        let acc = pred.iter().zip(&y).filter(|(p, t)| p == t).count() as f64 / n as f64;
        assert!(acc < 0.56, "accuracy {acc} on noise");
    }

    #[test]
    fn samples_are_seeded_distinct_and_complete_when_small() {
        assert_eq!(sample(5, 10, 1), vec![0, 1, 2, 3, 4]);
        let s = sample(1000, 100, 1);
        assert_eq!(s, sample(1000, 100, 1));
        assert_eq!(s.len(), 100);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn folds_are_stratified_and_seeded() {
        let y: Vec<u32> = (0..103).map(|i| u32::from(i % 3 == 0)).collect();
        let a = folds(&y, 2, 5, SEED);
        assert_eq!(a, folds(&y, 2, 5, SEED));
        assert_ne!(a, folds(&y, 2, 5, SEED + 1));
        for k in 0..5u8 {
            let ones = (0..y.len()).filter(|&i| a[i] == k && y[i] == 1).count();
            assert!((6..=8).contains(&ones), "fold {k} has {ones} of class 1");
        }
    }

    #[test]
    fn numeric_threshold_splits_by_order() {
        let y: Vec<u32> = (0..100).map(|i| u32::from(i >= 60)).collect();
        let features = vec![Feature {
            name: "width",
            kind: Kind::Numeric,
            codes: (0..100).map(|i| (i / 10) as u8).collect(),
            labels: (0..10).map(|b| (b * 100 + 99).to_string()).collect(),
        }];
        let tree = fit(&features, &y, 2, &(0..100).collect::<Vec<_>>());
        assert_eq!(tree.first.unwrap().describe(&features), "width <= 599");
    }
}
