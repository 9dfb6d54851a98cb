//! Every file cleansplit writes: where an output lands and the refusal of one inside ROOT
//! ([`check_output`], [`inside`]), interrupts (Ctrl-C and signals) and the locked work folder
//! beside an output, removed when a run is cut short ([`interrupt`]).

pub mod interrupt;
mod landing;

pub use landing::{check_output, inside, landing};
