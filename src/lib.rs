//! cleansplit: audit image-classification datasets laid out as class folders, and write clean
//! splits.
//!
//! The library follows the pipeline; the `cleansplit` binary is a thin shell over it:
//!
//! ```text
//! layout (walk, classify files) -> scan (read, decode, reduce, hash) -> index (CSV, reuse)
//!   -> neighbors (exact Hamming search) -> groups (union-find) -> leaks | balance | split
//!   -> report (terminal, JSON, HTML)
//! ```
//!
//! See ARCHITECTURE.md for where each command-line option lands.

pub mod audit;
pub mod balance;
pub mod base;
pub mod calibrate256;
pub mod coverage;
pub mod file_name;
pub mod groups;
pub mod index;
pub mod index_columns;
pub mod index_merge;
pub mod index_meta;
mod index_parse;
pub mod interrupt;
pub mod layout;
pub mod leaks;
pub mod loader;
pub mod match256;
pub mod merge;
pub mod name;
pub mod names;
pub mod neighbors256;
pub mod normalize;
pub mod record;
pub mod report;
pub mod scan;
pub mod shard;
pub mod shortcuts;
pub mod split;

// A decoder panic on one hostile file must not end a scan of a million: the scan catches it
// (`scan::guard`), which needs unwinding.
#[cfg(panic = "abort")]
compile_error!("cleansplit must be built with panic = \"unwind\": the scan catches decoder panics");
