//! Writing clean splits: stratified by class, group-aware (a duplicate group, or a
//! `--group-by` key such as a patient id, never straddles two splits), deduplicated, and
//! never touching the source.
//!
//! Planning ([`plan`]) is pure: it turns records, duplicate groups and options into
//! [`Placement`]s, so its guarantees are property-tested. Writing ([`write()`]) happens in a
//! temporary folder beside OUT that is renamed into place at the end, so an interrupted run
//! leaves no half-written OUT.
//!
//! | file | job |
//! |---|---|
//! | `options.rs` | `SplitOptions`, `--dedup`/`--conflicts`/`--mode`, their validation |
//! | `assign.rs` | units, targets per split and class, the greedy stratified assignment |
//! | `plan.rs` | `plan` in named steps, `Plan` |
//! | `placement.rs` | `Placement`: a record's unit, split and fate in 8 bytes |
//! | `reason.rs` | `Fate` (one byte per record), `DropReason` (its text, made when asked) |
//! | `folds.rs` | `--kfold` and `folds.csv` |
//! | `report.rs` | `split_report.json` figures, the new training split's class weights |
//! | `manifest.rs` | destination names (`Destinations`) and `manifest.csv` |
//! | `write.rs` | the OUT checks and writing OUT through a temporary folder |
//! | `run.rs` | `run`: the `split` command (scan, groups, plan, write) as one call |
//! | `sources.rs` | the classes x sources check of a merged folder, `--stratify class,source` |
//! | `normalize.rs`, `file_name.rs` | `--normalize` copies, destination names within 255 bytes |

mod assign;
pub mod file_name;
mod folds;
mod manifest;
pub mod normalize;
mod options;
mod placement;
mod plan;
mod reason;
mod report;
mod run;
pub mod sources;
mod write;

pub use assign::{Units, assign, targets};
pub use folds::{FOLDS_HEADER, UNLABELED_FOLD, check_kfold, kfold, write_folds};
pub use manifest::{Destinations, MANIFEST_HEADER, destinations, write_manifest};
pub use options::{
    Conflicts, Dedup, Mode, Sizes, SplitOptions, UNLABELED_DIR, check_not_empty, split_name,
};
pub use placement::Placement;
pub use plan::{Plan, check_placed, plan};
pub use reason::{DropReason, Fate};
pub use report::{ClassTarget, SplitReport, SplitTargets, achieved, class_weights};
pub use run::{Refused, SplitJob, SplitOutcome, default_names, group_by_regex, run};
pub use write::{
    Streamed, Warnings, WriteJob, check_destination, check_destinations, check_out, write,
    write_streamed,
};

#[cfg(test)]
mod tests;
