//! `--kfold`: stratified group k-fold over the plan's units, and `folds.csv`.
//!
//! Only images placed in a split are folded. An image without a class that
//! `--keep-unlabeled` keeps cannot be stratified and has no class folder: it is listed with
//! the fold [`UNLABELED_FOLD`], as it would sit in `OUT/unlabeled/` beside the splits, never
//! in a numbered fold by chance.

use anyhow::{Result, bail};

use super::assign::{assign, class_indices, targets};
use super::options::{Sizes, UNLABELED_DIR};
use super::plan::Plan;
use crate::base::paths::path_field;
use crate::index::Record;

/// The `fold` value of an image without a class kept by `--keep-unlabeled` (in no fold).
pub const UNLABELED_FOLD: &str = UNLABELED_DIR;

/// Refuses `--kfold k` that cannot give k non-empty folds: fewer than 2, or more folds than
/// units (groups) to place. Units with nothing to fold (dropped files, unlabeled files kept
/// apart) do not count.
pub fn check_kfold(k: usize, plan: &Plan) -> Result<()> {
    if k < 2 {
        bail!("--kfold needs at least 2 folds");
    }
    let units = plan.placed_units;
    if k > units {
        bail!(
            "--kfold {k} is more than the {units} groups of images to place: folds would be empty"
        );
    }
    Ok(())
}

/// Stratified group k-fold: every unit in exactly one of `k` folds (the fold of unit `u` at
/// `u`; 0 for a unit with no image to fold).
pub fn kfold(plan: &Plan, records: &[Record], k: usize) -> Vec<usize> {
    let units = plan.units(records);
    let classes = class_indices(&plan.class_names, &plan.placements, records);
    let class_of = |m: usize| classes[m] as usize;
    // One pass over the units (a pass per class was classes x units).
    let totals = units.totals(&class_of, plan.class_names.len());
    let t = targets(&Sizes::Ratio(vec![1.0 / k as f64; k]), k, &totals);
    let mut folds = vec![0; plan.unit_count];
    assign(&units, &class_of, &t, |members, f| {
        folds[plan.placements[members[0] as usize].unit()] = f;
    });
    folds
}

/// Header of `folds.csv` (`--kfold`).
pub const FOLDS_HEADER: [&str; 4] = ["source", "class", "group", "fold"];

/// Writes `folds.csv` (usable sources only) for `--kfold`: the fold of the source's unit, or
/// [`UNLABELED_FOLD`] for an unlabeled image kept apart.
pub fn write_folds<W: std::io::Write>(
    w: W,
    plan: &Plan,
    records: &[Record],
    folds: &[usize],
) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(FOLDS_HEADER)?;
    for (p, r) in plan.placements.iter().zip(records) {
        if p.split().is_none() {
            continue;
        }
        let mut row = csv::ByteRecord::new();
        row.push_field(&path_field(&r.path));
        row.push_field(r.class.as_bytes());
        row.push_field(p.group_field().as_bytes());
        // A placed source outside its unit's members is not in a split: kept unlabeled.
        let fold = if p.in_split() {
            folds[p.unit()].to_string()
        } else {
            UNLABELED_FOLD.to_owned()
        };
        row.push_field(fold.as_bytes());
        wtr.write_byte_record(&row)?;
    }
    wtr.flush()?;
    Ok(())
}
