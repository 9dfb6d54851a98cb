//! The bottom layer: plain types and rules every other module may use, and which use nothing
//! above them (checked by `tests/layers.rs`). Hash values and [`hash::Transform`], image
//! [`format::Format`] with its extension and sniffing rules, per-file [`flags::Status`] and
//! [`flags::Flags`], path rules and the records' path handle ([`rel_path::RelPath`]) and
//! interned names ([`intern::Name`]), the one
//! RNG, fast `stat`s of many files, the [`severity::Severity`] of a finding, and the CPU's
//! bit-count instruction where it has one ([`cpu::with_popcnt`]), and phase times for
//! benchmarks ([`timing::phase`]).

pub mod cpu;
pub mod flags;
pub mod format;
pub mod hash;
pub mod intern;
pub mod memory;
pub mod notify;
pub mod paths;
pub mod rel_path;
pub mod rng;
pub mod severity;
pub mod stat;
pub mod timing;
