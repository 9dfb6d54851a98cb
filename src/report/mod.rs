//! Reports: text for the terminal, JSON for scripts, HTML for people.

pub mod html;
pub mod scan_json;
pub mod text;
pub mod thumbs;
