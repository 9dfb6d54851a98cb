//! Reports: text for the terminal, JSON for scripts, HTML for people.

pub mod escape;
pub mod html;
pub mod html_skipped;
pub mod scan_json;
pub mod tables;
pub mod terminal;
pub mod thumbs;
