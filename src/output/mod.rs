//! Every file cleansplit writes: interrupts (Ctrl-C and signals) and the locked work folder
//! beside an output, removed when a run is cut short.

pub mod interrupt;
