//! The problem-files section: every file [`crate::audit::file_problem`] names, unusable
//! ones first, with status, flags and the decoder's message.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::parts::{badge, filter_box, more, path_breaks, plural, split_name, thousands};
use super::{Section, View};
use crate::audit::NOTABLE_FLAGS;
use crate::index::Record;

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
        (summary(view.records, rows))
        (filter_box("problems-table", "Filter by path, status or flag"))
        div class="scroll" { table id="problems-table" class="problems" { "\n"
            thead { tr {
                th { "path" } th { "split" } th { "class" } th { "status" } th { "flags" }
                th { "message" }
            } } "\n"
            tbody { "\n"
                @for &i in rows.iter().take(max) { (row(&view.records[i])) }
            } "\n"
        } } "\n"
        (more(rows.len(), max.min(rows.len()), "files", "the index"))
    }
}

/// Counts by status and by notable flag.
fn summary(recs: &[Record], rows: &[usize]) -> Markup {
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    let mut flags: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in rows {
        let r = &recs[i];
        if !r.is_ok() {
            *statuses.entry(r.status.as_str()).or_default() += 1;
        }
        for f in NOTABLE_FLAGS.iter().filter(|&&f| r.flags.contains(f)) {
            *flags.entry(f.as_str()).or_default() += 1;
        }
    }
    let list = |m: &BTreeMap<&str, usize>| {
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
            @if !flags.is_empty() {
                " Flags worth knowing: " (list(&flags)) ". " code { "keras_skips" }
                ": Keras' directory loaders skip or reject the file."
            }
        } "\n"
    }
}

fn row(r: &Record) -> Markup {
    let status = if r.is_ok() { "ok" } else { "problem" };
    html! {
        tr class="problem" {
            td class="path" { (path_breaks(&r.path)) }
            td { (split_name(&r.split)) }
            td { (r.class) }
            td { (badge(status, r.status.as_str())) }
            td {
                @for (n, f) in r.flags.iter().enumerate() {
                    @if n > 0 { " " }
                    span class=(if NOTABLE_FLAGS.contains(&f) { "flag notable" } else { "flag" }) {
                        (f.as_str())
                    }
                }
            }
            td class="message" { (r.message) }
        } "\n"
    }
}
