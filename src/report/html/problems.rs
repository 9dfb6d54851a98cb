//! The problem-files section: every file [`crate::audit::file_problem`] names, unusable
//! ones first, with status, flags and the decoder's message.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::parts::{badge, filter_box, more, path_breaks, plural, split_name, thousands};
use super::{Section, View};
use crate::audit::notable_flags;
use crate::index::Record;
use crate::loader::{Loader, Verdict};

pub fn section(view: &View) -> Section {
    Section {
        id: "problems",
        toc: format!("Problems ({})", thousands(view.problems.len())),
        title: "Problem files",
        body: body(view),
    }
}

fn body(view: &View) -> Markup {
    let rows = &view.problems;
    if rows.is_empty() {
        return html! {
            p class="ok-text" { "Every file decoded, and none carries a notable flag." } "\n"
        };
    }
    let max = view.max_items();
    html! {
        (summary(view.records, rows, view.input.loader))
        (filter_box("problems-table", "Filter by path, status or flag"))
        div class="scroll" { table id="problems-table" class="problems" { "\n"
            thead { tr {
                th { "path" } th { "split" } th { "class" } th { "status" } th { "flags" }
                th { "message" }
            } } "\n"
            tbody { "\n"
                @for &i in rows.iter().take(max) { (row(&view.records[i], view.input.loader)) }
            } "\n"
        } } "\n"
        (more(rows.len(), max.min(rows.len()), "files", "the index"))
    }
}

/// Counts by status (or what the loader does with a decodable file) and by notable flag.
fn summary(recs: &[Record], rows: &[usize], loader: Loader) -> Markup {
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut flags: BTreeMap<String, usize> = BTreeMap::new();
    for &i in rows {
        let r = &recs[i];
        let why = if !r.is_ok() {
            Some(r.status.as_str().to_string())
        } else {
            match loader.verdict(r) {
                Verdict::Loads => None,
                Verdict::Ignored => Some(format!("not listed by {loader}")),
                Verdict::Fails(_) => Some(format!("{loader} cannot decode")),
            }
        };
        if let Some(why) = why {
            *statuses.entry(why).or_default() += 1;
        }
        for f in notable_flags(loader)
            .iter()
            .filter(|&&f| r.flags.contains(f))
        {
            *flags.entry(f.as_str().to_string()).or_default() += 1;
        }
    }
    let list = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, n)| format!("{k} {}", thousands(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unusable: usize = statuses.values().sum();
    html! {
        p {
            (plural(unusable, "file", "files")) " cannot be used for training"
            @if unusable > 0 { " (" (list(&statuses)) ")" }
            "."
            " Counted as the " code { (loader.as_str()) } " loader reads the files (--loader)."
            @if !flags.is_empty() {
                " Flags worth knowing: " (list(&flags)) "."
                @if flags.contains_key("keras_skips") {
                    " " code { "keras_skips" } ": Keras' directory loader skips or rejects the file."
                }
            }
        } "\n"
    }
}

fn row(r: &Record, loader: Loader) -> Markup {
    let status = if r.is_ok() { "ok" } else { "problem" };
    let notable = notable_flags(loader);
    // A decodable file the loader leaves out says why; a broken one keeps the decoder's message.
    let message = match loader.exclusion(r) {
        Some(why) if r.is_ok() => why,
        _ => r.message.to_string(),
    };
    html! {
        tr class="problem" {
            td class="path" { (path_breaks(&r.path)) }
            td { (split_name(&r.split)) }
            td { (r.class) }
            td { (badge(status, r.status.as_str())) }
            td {
                @for (n, f) in r.flags.iter().enumerate() {
                    @if n > 0 { " " }
                    span class=(if notable.contains(&f) { "flag notable" } else { "flag" }) {
                        (f.as_str())
                    }
                }
            }
            td class="message" { (message) }
        } "\n"
    }
}
