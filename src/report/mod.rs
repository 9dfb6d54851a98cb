//! Reports: text for the terminal, JSON for scripts, HTML for people.

pub mod tables;
pub mod terminal;
