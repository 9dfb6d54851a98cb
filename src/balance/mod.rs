//! Class balance: counts per split and class (of the files a training loader really uses),
//! imbalance and drift between splits, and class weights in the form Keras' `class_weight=`
//! and PyTorch's `CrossEntropyLoss(weight=)` take.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::{Result, bail};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::index::Record;
use crate::layout::{Role, split_role};
use crate::loader::Loader;

mod run;

pub use run::{BalanceJob, BalanceOutcome, analyze_deduplicated, read_class_order, run};

/// How class weights are computed (`--method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// n_samples / (n_classes * n_c): scikit-learn's `compute_class_weight("balanced")`.
    #[default]
    Balanced,
    /// 1 / n_c, normalised so the weights average 1.
    Inverse,
    /// 1 / sqrt(n_c), normalised so the weights average 1.
    Sqrt,
    /// Effective number of samples (Cui et al., CVPR 2019): (1 - beta) / (1 - beta^n_c),
    /// normalised to sum to the number of classes.
    Effective,
}

/// Options of `cleansplit balance`.
#[derive(Debug, Clone)]
pub struct BalanceOptions {
    pub method: Method,
    pub beta: f64,
    /// Split whose weights are computed; `None` for the split named like train, or the whole
    /// set without splits.
    pub split: Option<String>,
    /// Classes with fewer images than this are reported.
    pub min_count: usize,
    /// Class index order (`--class-order`); `None` for Keras' order (sorted names).
    pub class_order: Option<Vec<String>>,
    /// Class folders per split, empty ones included (`Layout::class_dirs`). Keras indexes the
    /// classes of the folder it loads, so the weights follow the training split's folders.
    pub class_dirs: BTreeMap<String, BTreeSet<String>>,
    /// The loader whose view decides what counts (`--loader`).
    pub loader: Loader,
}

impl Default for BalanceOptions {
    fn default() -> Self {
        BalanceOptions {
            method: Method::Balanced,
            beta: 0.999,
            split: None,
            min_count: 10,
            class_order: None,
            class_dirs: BTreeMap::new(),
            loader: Loader::Keras,
        }
    }
}

impl BalanceOptions {
    /// Refuses options that would run but give meaningless weights.
    pub fn validate(&self) -> Result<()> {
        if !(self.beta > 0.0 && self.beta < 1.0) {
            bail!(
                "--beta must be between 0 and 1 (exclusive), not {}",
                self.beta
            );
        }
        if let Some(order) = &self.class_order {
            let mut seen = BTreeSet::new();
            for name in order {
                if !seen.insert(name) {
                    bail!("--class-order names {name:?} twice: class indices would shift");
                }
            }
        }
        Ok(())
    }
}

/// A map serialised in the order of its entries (JSON objects keep insertion order).
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The content of `class_weights.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClassWeights {
    /// Class index (as a string, JSON keys are strings) to weight.
    pub class_weight: Ordered<f64>,
    pub class_names: Vec<String>,
    pub counts: Ordered<usize>,
    pub method: Method,
    pub split: String,
    pub dedup: bool,
}

impl ClassWeights {
    /// Weights of `names` (in class-index order) with these `counts`, by `method`.
    pub fn new(
        names: Vec<String>,
        counts: &[usize],
        method: Method,
        beta: f64,
        split: String,
        dedup: bool,
    ) -> Self {
        let w = weights(counts, method, beta);
        ClassWeights {
            class_weight: Ordered(
                w.iter()
                    .enumerate()
                    .map(|(i, w)| (i.to_string(), *w))
                    .collect(),
            ),
            counts: Ordered(names.iter().cloned().zip(counts.iter().copied()).collect()),
            class_names: names,
            method,
            split,
            dedup,
        }
    }
}

/// Drift of class proportions between the training split and another split.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Drift {
    pub against: String,
    /// Largest absolute difference in a class's share of its split.
    pub max_share_diff: f64,
    pub class: String,
    pub chi2: f64,
    pub df: usize,
    /// Chi-square test of homogeneity: a small p-value means the proportions differ.
    pub p_value: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SplitBalance {
    pub split: String,
    pub images: usize,
    /// Count per class, in class-index order (zero for classes missing here).
    pub counts: Ordered<usize>,
    pub shares: Ordered<f64>,
    /// Largest / smallest non-empty class.
    pub imbalance_ratio: Option<f64>,
    pub below_min_count: Vec<String>,
    /// Classes present in other splits but not here.
    pub missing: Vec<String>,
    pub drift: Option<Drift>,
}

/// The whole balance report (`--format json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BalanceReport {
    pub class_names: Vec<String>,
    pub splits: Vec<SplitBalance>,
    /// Files left out of the counts, by reason.
    pub excluded: BTreeMap<String, usize>,
    pub min_count: usize,
    pub weights: ClassWeights,
    pub dedup: bool,
    /// Classes of the weighted list without a usable image there (weight 0: Keras still
    /// indexes an empty class folder).
    pub zero_weight: Vec<String>,
    /// The loader whose view the counts follow.
    pub loader: Loader,
}

/// Why a record does not count, or `None` when `loader` uses it and it has a class.
pub fn exclusion(r: &Record, loader: Loader) -> Option<String> {
    if !r.is_ok() {
        Some(format!("status {}", r.status))
    } else if let Some(why) = loader.exclusion(r) {
        // Counted by kind: `not listed by keras (extension .webp)` stays per extension.
        Some(why.split(": ").next().unwrap_or_default().to_string())
    } else if r.class.is_empty() {
        Some("unlabeled".into())
    } else {
        None
    }
}

/// Class weights for `counts` (in index order) by `method`, over the classes present: an
/// empty class gets weight 0 and does not count as a class, so the others match
/// scikit-learn's `compute_class_weight("balanced", classes=<present>, y=...)` exactly and the
/// loss scale does not shrink with every empty class folder.
pub fn weights(counts: &[usize], method: Method, beta: f64) -> Vec<f64> {
    let k = counts.iter().filter(|&&n| n > 0).count() as f64;
    let total: usize = counts.iter().sum();
    let normalise_mean = |raw: Vec<f64>| {
        let nonzero: Vec<f64> = raw.iter().copied().filter(|w| *w > 0.0).collect();
        let mean = nonzero.iter().sum::<f64>() / nonzero.len().max(1) as f64;
        raw.into_iter()
            .map(|w| if mean > 0.0 { w / mean } else { 0.0 })
            .collect::<Vec<_>>()
    };
    let per = |f: &dyn Fn(f64) -> f64| {
        counts
            .iter()
            .map(|&n| if n == 0 { 0.0 } else { f(n as f64) })
            .collect()
    };
    match method {
        Method::Balanced => per(&|n| total as f64 / (k * n)),
        Method::Inverse => normalise_mean(per(&|n| 1.0 / n)),
        Method::Sqrt => normalise_mean(per(&|n| 1.0 / n.sqrt())),
        Method::Effective => {
            let raw: Vec<f64> = per(&|n| (1.0 - beta) / (1.0 - beta.powf(n)));
            let sum: f64 = raw.iter().sum();
            raw.into_iter()
                .map(|w| if sum > 0.0 { w * k / sum } else { 0.0 })
                .collect()
        }
    }
}

/// Chi-square survival function P(X >= chi2) with `df` degrees of freedom (statrs: the
/// upper regularised incomplete gamma Q(df / 2, chi2 / 2)).
fn chi_square_sf(chi2: f64, df: usize) -> f64 {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    // df >= 1 here, so the distribution is valid.
    ChiSquared::new(df as f64).map_or(1.0, |d| d.sf(chi2))
}

/// Chi-square test of homogeneity between two count vectors: (chi2, df, p-value).
pub fn chi_square(a: &[usize], b: &[usize]) -> (f64, usize, f64) {
    let (ta, tb) = (
        a.iter().sum::<usize>() as f64,
        b.iter().sum::<usize>() as f64,
    );
    let mut chi2 = 0.0;
    let mut k = 0usize;
    for (&x, &y) in a.iter().zip(b) {
        let col = (x + y) as f64;
        if col == 0.0 {
            continue;
        }
        k += 1;
        for (obs, total) in [(x as f64, ta), (y as f64, tb)] {
            let expected = col * total / (ta + tb);
            if expected > 0.0 {
                chi2 += (obs - expected).powi(2) / expected;
            }
        }
    }
    let df = k.saturating_sub(1);
    let p = if df == 0 {
        1.0
    } else {
        chi_square_sf(chi2, df)
    };
    (chi2, df, p)
}

/// The split whose weights are computed.
pub fn training_split(splits: &[String], wanted: Option<&str>) -> Result<String> {
    if let Some(w) = wanted {
        if !splits.iter().any(|s| s == w) {
            bail!(
                "--split {w:?} is not one of the splits ({})",
                splits.join(", ")
            );
        }
        return Ok(w.to_owned());
    }
    if splits.len() <= 1 {
        return Ok(splits.first().cloned().unwrap_or_default());
    }
    splits
        .iter()
        .find(|s| split_role(s) == Role::Train)
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no split is named like train ({}); name one with --split",
                splits.join(", ")
            )
        })
}

/// Balance of a scan, with class indices as Keras assigns them: from the training split's
/// class folders (empty ones included), as the layout found them. The CLI calls this, so a
/// library caller gets the same indices as `cleansplit balance`.
pub fn analyze_scan(
    scan: &crate::scan::ScanOutcome,
    groups: Option<&[Option<usize>]>,
    opts: &BalanceOptions,
) -> Result<BalanceReport> {
    let coverage = crate::loader::coverage::Coverage::of(&scan.records, scan.loader);
    if coverage.classless() {
        bail!(
            "balance needs classes: none of the {} images has one (layout {}); {}",
            coverage.images,
            scan.layout.kind,
            crate::loader::coverage::HOW_TO_LABEL
        );
    }
    let opts = BalanceOptions {
        class_dirs: scan.layout.class_dirs.clone(),
        loader: scan.loader,
        ..opts.clone()
    };
    analyze(&scan.records, groups, &opts)
}

/// Adds a run of records of one split and class to `counts`.
fn add_run<'a>(
    run: Option<(&'a str, &'a str, usize)>,
    counts: &mut BTreeMap<&'a str, BTreeMap<&'a str, usize>>,
) {
    if let Some((split, class, k)) = run {
        *counts.entry(split).or_default().entry(class).or_default() += k;
    }
}

/// Builds the balance report. `groups` gives each record's duplicate group (from
/// `groups::membership`) to count each group once per split and class (`--dedup`).
pub fn analyze(
    records: &[Record],
    groups: Option<&[Option<usize>]>,
    opts: &BalanceOptions,
) -> Result<BalanceReport> {
    let mut excluded: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_groups: HashSet<(&str, &str, usize)> = HashSet::new();
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut all_classes: BTreeSet<&str> = opts
        .class_dirs
        .values()
        .flatten()
        .map(String::as_str)
        .collect();
    let mut splits: BTreeSet<&str> = BTreeSet::new();
    // Records of one split and class come in a row (path order): the maps are looked up once
    // per run of them, not per record (five string-keyed look-ups per image at a million).
    let mut names_seen: Option<(&str, &str)> = None;
    let mut run: Option<(&str, &str, usize)> = None;
    for (i, r) in records.iter().enumerate() {
        let (split, class) = (r.split.as_str(), r.class.as_str());
        if names_seen != Some((split, class)) {
            names_seen = Some((split, class));
            if !class.is_empty() {
                all_classes.insert(class);
            }
            splits.insert(split);
            counts.entry(split).or_default();
        }
        if let Some(why) = exclusion(r, opts.loader) {
            *excluded.entry(why).or_default() += 1;
            continue;
        }
        if let Some(g) = groups.and_then(|g| g[i])
            && !seen_groups.insert((split, class, g))
        {
            *excluded
                .entry("duplicate (counted once with --dedup)".into())
                .or_default() += 1;
            continue;
        }
        match &mut run {
            Some((s, c, k)) if *s == split && *c == class => *k += 1,
            _ => {
                add_run(run.take(), &mut counts);
                run = Some((split, class, 1));
            }
        }
    }
    add_run(run, &mut counts);
    let class_names: Vec<String> = match &opts.class_order {
        Some(order) => {
            let listed: BTreeSet<&str> = order.iter().map(String::as_str).collect();
            if let Some(missing) = all_classes.iter().find(|c| !listed.contains(*c)) {
                bail!("--class-order does not list class {missing:?}");
            }
            order.clone()
        }
        // Keras: sorted(os.listdir(directory)), i.e. code-point order of the names.
        None => all_classes.iter().map(|c| c.to_string()).collect(),
    };
    let split_names: Vec<String> = splits.iter().map(|s| s.to_string()).collect();
    let train = training_split(&split_names, opts.split.as_deref())?;
    let count_of = |split: &str, names: &[String]| -> Vec<usize> {
        names
            .iter()
            .map(|c| {
                counts
                    .get(split)
                    .and_then(|m| m.get(c.as_str()))
                    .copied()
                    .unwrap_or(0)
            })
            .collect()
    };
    let train_counts = count_of(&train, &class_names);
    let mut out_splits = Vec::new();
    for split in &split_names {
        let v = count_of(split, &class_names);
        let total: usize = v.iter().sum();
        let nonzero: Vec<usize> = v.iter().copied().filter(|&n| n > 0).collect();
        let shares: Vec<f64> = v
            .iter()
            .map(|&n| {
                if total == 0 {
                    0.0
                } else {
                    n as f64 / total as f64
                }
            })
            .collect();
        let drift =
            (split != &train && total > 0 && train_counts.iter().sum::<usize>() > 0).then(|| {
                let tt: usize = train_counts.iter().sum();
                let (mut best, mut class) = (0.0f64, String::new());
                for (i, c) in class_names.iter().enumerate() {
                    let d = (shares[i] - train_counts[i] as f64 / tt as f64).abs();
                    if d > best {
                        (best, class) = (d, c.clone());
                    }
                }
                let (chi2, df, p_value) = chi_square(&train_counts, &v);
                Drift {
                    against: train.clone(),
                    max_share_diff: best,
                    class,
                    chi2,
                    df,
                    p_value,
                }
            });
        out_splits.push(SplitBalance {
            split: split.clone(),
            images: total,
            counts: Ordered(class_names.iter().cloned().zip(v.iter().copied()).collect()),
            shares: Ordered(class_names.iter().cloned().zip(shares).collect()),
            imbalance_ratio: match (nonzero.iter().max(), nonzero.iter().min()) {
                (Some(&hi), Some(&lo)) => Some(hi as f64 / lo as f64),
                _ => None,
            },
            below_min_count: class_names
                .iter()
                .zip(&v)
                .filter(|(_, n)| **n > 0 && **n < opts.min_count)
                .map(|(c, _)| c.clone())
                .collect(),
            missing: class_names
                .iter()
                .zip(&v)
                .filter(|(_, n)| **n == 0)
                .map(|(c, _)| c.clone())
                .collect(),
            drift,
        });
    }
    // Keras' class indices: the sorted class folders of the training folder (empty ones
    // too), unless --class-order says otherwise.
    let weight_names: Vec<String> = match (&opts.class_order, opts.class_dirs.get(&train)) {
        (None, Some(dirs)) if !dirs.is_empty() => dirs.iter().cloned().collect(),
        _ => class_names.clone(),
    };
    let weight_counts = count_of(&train, &weight_names);
    let weights = ClassWeights::new(
        weight_names,
        &weight_counts,
        opts.method,
        opts.beta,
        train,
        groups.is_some(),
    );
    let zero_weight = weights
        .counts
        .0
        .iter()
        .filter(|(_, n)| *n == 0)
        .map(|(c, _)| c.clone())
        .collect();
    Ok(BalanceReport {
        class_names,
        splits: out_splits,
        excluded,
        min_count: opts.min_count,
        weights,
        dedup: groups.is_some(),
        zero_weight,
        loader: opts.loader,
    })
}

#[cfg(test)]
mod tests;
