//! Class balance: counts per split and class (of the files a training loader really uses),
//! imbalance and drift between splits, and class weights in the form Keras' `class_weight=`
//! and PyTorch's `CrossEntropyLoss(weight=)` take.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::{Result, bail};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::index::{Flag, Record};
use crate::layout::{Role, split_role};

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
}

/// Why a record does not count, or `None` when a training loader would use it.
pub fn exclusion(r: &Record) -> Option<String> {
    if !r.is_ok() {
        Some(format!("status {}", r.status))
    } else if r.flags.contains(Flag::KerasSkips) {
        Some(format!(
            "{} skipped by Keras' loaders",
            crate::index::format_name(r.format)
        ))
    } else {
        None
    }
}

/// Class weights for `counts` (in index order) by `method`.
pub fn weights(counts: &[usize], method: Method, beta: f64) -> Vec<f64> {
    let k = counts.len() as f64;
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

/// ln Gamma(x) (Lanczos approximation, g = 7).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let a = C[0]
        + C[1..]
            .iter()
            .enumerate()
            .map(|(i, c)| c / (x + i as f64 + 1.0))
            .sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Upper regularised incomplete gamma Q(a, x): the chi-square survival function is
/// Q(df / 2, chi2 / 2). Series for x < a + 1, continued fraction otherwise (Numerical Recipes).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let lead = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        1.0 - sum * lead.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        lead.exp() * h
    }
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
        gamma_q(df as f64 / 2.0, chi2 / 2.0)
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
    let opts = BalanceOptions {
        class_dirs: scan.layout.class_dirs.clone(),
        ..opts.clone()
    };
    analyze(&scan.records, groups, &opts)
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
    for (i, r) in records.iter().enumerate() {
        all_classes.insert(&r.class);
        splits.insert(&r.split);
        counts.entry(&r.split).or_default();
        if let Some(why) = exclusion(r) {
            *excluded.entry(why).or_default() += 1;
            continue;
        }
        if let Some(g) = groups.and_then(|g| g[i])
            && !seen_groups.insert((&r.split, &r.class, g))
        {
            *excluded
                .entry("duplicate (counted once with --dedup)".into())
                .or_default() += 1;
            continue;
        }
        *counts
            .entry(&r.split)
            .or_default()
            .entry(&r.class)
            .or_default() += 1;
    }
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
    Ok(BalanceReport {
        class_names,
        splits: out_splits,
        excluded,
        min_count: opts.min_count,
        weights,
        dedup: groups.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::tests::rec;
    use crate::index::Status;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn sklearn_balanced_example() {
        // labels [1, 1, 1, 1, 0, 0] -> classes [0, 1] with counts [2, 4] -> [1.5, 0.75]
        assert!(close(
            &weights(&[2, 4], Method::Balanced, 0.999),
            &[1.5, 0.75]
        ));
    }

    #[test]
    fn other_methods_by_hand() {
        // inverse: 1/2, 1/4 -> mean 0.375 -> 4/3, 2/3
        assert!(close(
            &weights(&[2, 4], Method::Inverse, 0.0),
            &[4.0 / 3.0, 2.0 / 3.0]
        ));
        let s = [1.0 / 2f64.sqrt(), 0.5];
        let m = (s[0] + s[1]) / 2.0;
        assert!(close(
            &weights(&[2, 4], Method::Sqrt, 0.0),
            &[s[0] / m, s[1] / m]
        ));
        let b: f64 = 0.9;
        let e = [(1.0 - b) / (1.0 - b.powi(2)), (1.0 - b) / (1.0 - b.powi(4))];
        let sum = e[0] + e[1];
        assert!(close(
            &weights(&[2, 4], Method::Effective, 0.9),
            &[2.0 * e[0] / sum, 2.0 * e[1] / sum]
        ));
        // An empty class gets weight 0, not infinity.
        assert_eq!(weights(&[0, 5], Method::Balanced, 0.9)[0], 0.0);
    }

    #[test]
    fn chi_square_p_values() {
        // Identical proportions: chi2 0, p 1.
        let (c, df, p) = chi_square(&[10, 20], &[5, 10]);
        assert!(c.abs() < 1e-12 && df == 1 && (p - 1.0).abs() < 1e-9);
        // chi2 = 3.841 with df 1 is p = 0.05.
        assert!((gamma_q(0.5, 3.841_458_8 / 2.0) - 0.05).abs() < 1e-6);
        // df 4, chi2 9.4877 -> p 0.05
        assert!((gamma_q(2.0, 9.487_729 / 2.0) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn keras_class_order_and_exclusions() {
        let mut records = vec![
            rec("train/a/1.jpg", "train", "a"),
            rec("train/B/1.jpg", "train", "B"),
            rec("train/2/1.jpg", "train", "2"),
            rec("train/10/1.jpg", "train", "10"),
            rec("train/10/2.jpg", "train", "10"),
            rec("val/a/1.jpg", "val", "a"),
        ];
        let mut corrupt = rec("train/a/bad.jpg", "train", "a");
        corrupt.status = Status::Corrupt;
        records.push(corrupt);
        let mut webp = rec("train/a/x.webp", "train", "a");
        webp.flags.insert(Flag::KerasSkips);
        webp.format = Some(crate::base::format::Format::Webp);
        records.push(webp);
        let r = analyze(&records, None, &BalanceOptions::default()).unwrap();
        assert_eq!(r.class_names, vec!["10", "2", "B", "a"]);
        assert_eq!(r.weights.split, "train");
        assert_eq!(
            r.weights
                .counts
                .0
                .iter()
                .map(|(_, n)| *n)
                .collect::<Vec<_>>(),
            vec![2, 1, 1, 1]
        );
        assert_eq!(r.excluded.values().sum::<usize>(), 2);
        let val = r.splits.iter().find(|s| s.split == "val").unwrap();
        assert_eq!(val.missing, vec!["10", "2", "B"]);
        assert!(val.drift.is_some());
        let json = serde_json::to_value(&r.weights).unwrap();
        assert_eq!(json["class_weight"]["0"], 5.0 / (4.0 * 2.0));
    }

    #[test]
    fn dedup_counts_groups_once_and_single_class() {
        let records = vec![
            rec("a/1.jpg", "", "a"),
            rec("a/2.jpg", "", "a"),
            rec("a/3.jpg", "", "a"),
        ];
        let groups = vec![Some(1), Some(1), None];
        let r = analyze(&records, Some(&groups), &BalanceOptions::default()).unwrap();
        assert_eq!(r.weights.counts.0, vec![("a".to_string(), 2)]);
        assert_eq!(r.weights.split, "");
        assert!(close(
            &r.weights
                .class_weight
                .0
                .iter()
                .map(|(_, w)| *w)
                .collect::<Vec<_>>(),
            &[1.0]
        ));
    }

    #[test]
    fn weights_follow_the_training_folder_like_keras() {
        // train has classes a and c (and an empty folder d); val also has b. Keras' train
        // loader indexes a=0, c=1, d=2: the weights must use the same indices.
        let records = vec![
            rec("train/a/1.jpg", "train", "a"),
            rec("train/c/1.jpg", "train", "c"),
            rec("train/c/2.jpg", "train", "c"),
            rec("val/b/1.jpg", "val", "b"),
        ];
        let mut dirs = BTreeMap::new();
        dirs.insert(
            "train".to_string(),
            ["a", "c", "d"].iter().map(|s| s.to_string()).collect(),
        );
        dirs.insert(
            "val".to_string(),
            ["b"].iter().map(|s| s.to_string()).collect(),
        );
        let opts = BalanceOptions {
            class_dirs: dirs,
            ..Default::default()
        };
        let r = analyze(&records, None, &opts).unwrap();
        assert_eq!(r.weights.class_names, vec!["a", "c", "d"]);
        assert_eq!(r.class_names, vec!["a", "b", "c", "d"]);
        let w: Vec<f64> = r.weights.class_weight.0.iter().map(|(_, w)| *w).collect();
        assert!(close(&w, &[3.0 / 3.0, 3.0 / 6.0, 0.0]), "{w:?}");
        let train = r.splits.iter().find(|s| s.split == "train").unwrap();
        assert_eq!(train.missing, vec!["b", "d"]);
    }

    #[test]
    fn class_order_file_must_cover_classes() {
        let records = vec![rec("a/1.jpg", "", "a"), rec("b/1.jpg", "", "b")];
        let opts = BalanceOptions {
            class_order: Some(vec!["b".into(), "a".into()]),
            ..Default::default()
        };
        assert_eq!(
            analyze(&records, None, &opts).unwrap().class_names,
            vec!["b", "a"]
        );
        let bad = BalanceOptions {
            class_order: Some(vec!["b".into()]),
            ..Default::default()
        };
        assert!(analyze(&records, None, &bad).is_err());
    }
}
