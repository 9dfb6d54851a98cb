//! `split_report.json`: target and achieved counts per split and class, drop counts, and the
//! class weights of the new training split.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::options::{Conflicts, Dedup, Mode, Sizes, SplitOptions};
use super::plan::Plan;
use crate::balance;
use crate::index::Record;
use crate::loader::Loader;

/// Target and achieved counts of one class in one split.
#[derive(Debug, Clone, Serialize)]
pub struct ClassTarget {
    pub class: String,
    pub target: f64,
    pub achieved: usize,
    pub target_share: f64,
    pub achieved_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitTargets {
    pub split: String,
    pub images: usize,
    pub classes: Vec<ClassTarget>,
}

/// The content of `split_report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SplitReport {
    pub seed: u64,
    pub names: Vec<String>,
    pub sizes: String,
    pub dedup: Dedup,
    pub conflicts: Conflicts,
    pub group_by: Option<String>,
    pub mode: Mode,
    pub sources: usize,
    pub copied: usize,
    pub dropped: usize,
    pub dropped_by_reason: BTreeMap<String, usize>,
    pub units: usize,
    pub largest_unit: usize,
    pub splits: Vec<SplitTargets>,
    pub merged_splits: Vec<String>,
    /// The loader whose view decided what was placed.
    pub loader: Loader,
    /// No source had a class: a plain (unstratified) split, no class folders.
    pub classless: bool,
    /// Images without a class placed in [`crate::split::UNLABELED_DIR`] (`--keep-unlabeled`).
    pub unlabeled_kept: usize,
}

impl SplitReport {
    /// The figures of a planned split (what `split_report.json` holds).
    pub fn new(
        plan: &Plan,
        records: &[Record],
        opts: &SplitOptions,
        mode: Mode,
        merged_splits: &[String],
    ) -> Self {
        let mut dropped_by_reason = BTreeMap::new();
        for (i, p) in plan.placements.iter().enumerate() {
            if p.split().is_none() {
                *dropped_by_reason
                    .entry(plan.reason_kind(i, records))
                    .or_insert(0usize) += 1;
            }
        }
        let copied = plan
            .placements
            .iter()
            .filter(|p| p.split().is_some())
            .count();
        let sizes = match &opts.sizes {
            Sizes::Ratio(r) => {
                format!(
                    "ratio {}",
                    r.iter()
                        .map(|f| f.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }
            Sizes::Count(n) => format!("count {n}"),
        };
        SplitReport {
            seed: opts.seed,
            names: opts.names.clone(),
            sizes,
            dedup: opts.dedup,
            conflicts: opts.conflicts,
            group_by: opts.group_by.as_ref().map(|r| r.as_str().to_owned()),
            mode,
            sources: records.len(),
            copied,
            dropped: records.len() - copied,
            dropped_by_reason,
            units: plan.placed_units,
            largest_unit: plan.largest_unit,
            splits: achieved(plan, records, &opts.names),
            merged_splits: merged_splits.to_vec(),
            loader: opts.loader,
            classless: !records.is_empty() && records.iter().all(|r| r.class.is_empty()),
            unlabeled_kept: plan
                .placements
                .iter()
                .filter(|p| p.split() == Some(opts.names.len()))
                .count(),
        }
    }
}

/// Target and achieved counts per split and class.
pub fn achieved(plan: &Plan, records: &[Record], names: &[String]) -> Vec<SplitTargets> {
    let mut have = vec![vec![0usize; plan.class_names.len()]; names.len()];
    let idx: HashMap<&str, usize> = plan
        .class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    for (p, r) in plan.placements.iter().zip(records) {
        if let Some(s) = p.split().filter(|&s| s < names.len()) {
            have[s][idx[r.class.as_str()]] += 1;
        }
    }
    names
        .iter()
        .enumerate()
        .map(|(s, name)| {
            let total: usize = have[s].iter().sum();
            let target_total: f64 = plan.targets[s].iter().sum();
            SplitTargets {
                split: name.clone(),
                images: total,
                classes: plan
                    .class_names
                    .iter()
                    .enumerate()
                    .map(|(c, class)| ClassTarget {
                        class: class.clone(),
                        target: plan.targets[s][c],
                        achieved: have[s][c],
                        target_share: if target_total > 0.0 {
                            plan.targets[s][c] / target_total
                        } else {
                            0.0
                        },
                        achieved_share: if total > 0 {
                            have[s][c] as f64 / total as f64
                        } else {
                            0.0
                        },
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Class weights of the new training split (first split), in `balance`'s format.
pub fn class_weights(splits: &[SplitTargets]) -> balance::ClassWeights {
    let train = &splits[0];
    // Only classes that got a folder in OUT/<train>: that is the list Keras indexes.
    let present: Vec<&ClassTarget> = train.classes.iter().filter(|c| c.achieved > 0).collect();
    let counts: Vec<usize> = present.iter().map(|c| c.achieved).collect();
    balance::ClassWeights::new(
        present.iter().map(|c| c.class.clone()).collect(),
        &counts,
        balance::Method::Balanced,
        0.999,
        train.split.clone(),
        true,
    )
}
