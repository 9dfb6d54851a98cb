//! Every file cleansplit writes: where an output lands and the refusal of one inside ROOT
//! ([`check_output`], [`inside`]), atomic file writes (a temporary file renamed into place:
//! [`write_file`], [`write_json`], and sets of files that appear together: [`atomic::Staged`]),
//! interrupts (Ctrl-C and signals) and the locked work folder beside an output, removed when a
//! run is cut short ([`interrupt`]), and the test-only fault hooks that prove it ([`fault`]).

pub mod atomic;
pub mod fault;
pub mod interrupt;
mod landing;

pub use atomic::{write_file, write_json};
pub use landing::{check_output, inside, landing};
