//! cleansplit: audit image-classification datasets laid out as class folders, and write clean
//! splits.
//!
//! The library follows the pipeline; the `cleansplit` binary is a thin shell over it:
//!
//! ```text
//! layout (walk, classify files) -> scan (read, decode, reduce, hash) -> index (CSV, reuse)
//!   -> near (the near-duplicate decision and search, groups) -> leaks | balance | split
//!   -> audit -> report (text, JSON, HTML); output (every file written, interrupts)
//! ```
//!
//! See ARCHITECTURE.md for where each command-line option lands.

// The command-line code lives in the library (feature `cli`) so that both the binary and the
// Python module's `cleansplit` program run it; it names the library `cleansplit::`, as the
// binary did.
extern crate self as cleansplit;

pub mod audit;
pub mod balance;
pub mod base;
#[cfg(feature = "cli")]
pub mod cli;
pub mod index;
pub mod layout;
pub mod leaks;
pub mod loader;
pub mod merge;
pub mod near;
pub mod output;
#[cfg(feature = "python")]
mod python;
pub mod report;
pub mod scan;
pub mod shortcuts;
pub mod split;
pub mod subjects;

// A decoder panic on one hostile file must not end a scan of a million: the scan catches it
// (`scan::guard`), which needs unwinding.
#[cfg(panic = "abort")]
compile_error!("cleansplit must be built with panic = \"unwind\": the scan catches decoder panics");
