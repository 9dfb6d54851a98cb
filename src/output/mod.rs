//! Every file cleansplit writes: one file at a time ([`write_file`], [`write_json`]), where an output lands and the refusal of one inside ROOT
//! ([`check_output`], [`inside`]), interrupts (Ctrl-C and signals) and the locked work folder
//! beside an output, removed when a run is cut short ([`interrupt`]).

mod files;
pub mod interrupt;
mod landing;

pub use files::{write_file, write_json};
pub use landing::{check_output, inside, landing};
