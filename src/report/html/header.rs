//! The page header (title, root, key figures) and the verdict section.

use std::collections::BTreeSet;

use maud::{Markup, html};

use super::parts::{badge, severity_name, thousands};
use super::{Section, View};
use crate::audit::Finding;
use crate::base::severity::Severity;

/// Title, root and the key figures of the dataset.
pub fn header(view: &View) -> Markup {
    let recs = view.records;
    let s = &view.input.leaks.summary;
    let usable = recs.len() - view.unusable;
    let classes: BTreeSet<&str> = recs.iter().map(|r| r.class.as_str()).collect();
    let stats = [
        (recs.len(), "files indexed"),
        (usable, "usable images"),
        (classes.len(), "classes"),
        (view.classes.splits.len(), "splits"),
        (s.pairs, "duplicate pairs"),
        (s.cross_split_groups, "cross-split groups"),
        (s.label_conflict_groups, "label conflicts"),
        (view.unusable, "unusable files"),
    ];
    html! {
        header { "\n"
            h1 { (view.input.title) } "\n"
            p class="muted" {
                "Root " code { (view.input.root.to_string_lossy()) }
                " \u{b7} made by cleansplit " (env!("CARGO_PKG_VERSION"))
            } "\n"
            div class="stats" { "\n"
                @for (value, label) in stats {
                    div class="stat" { b { (thousands(value)) } span { (label) } } "\n"
                }
            } "\n"
        } "\n"
    }
}

pub fn verdict_section(view: &View) -> Section {
    Section {
        id: "verdict",
        toc: "Verdict".into(),
        title: "Verdict",
        body: verdict(view.input.findings),
    }
}

fn verdict(findings: &[Finding]) -> Markup {
    let mut ordered: Vec<&Finding> = findings.iter().collect();
    ordered.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let Some(worst) = ordered.first().map(|f| f.severity) else {
        return html! { p class="muted" { "No findings." } "\n" };
    };
    let summary = match worst {
        Severity::Problem => "Problems that distort training or evaluation were found.",
        Severity::Warning => "Nothing distorts training, but some findings are worth a look.",
        Severity::Ok => "Every check passed.",
    };
    let name = severity_name(worst);
    html! {
        p class={ "overall " (name) } { (badge(name, name)) " " (summary) } "\n"
        @for f in ordered { (finding(f)) }
    }
}

fn finding(f: &Finding) -> Markup {
    let sev = severity_name(f.severity);
    html! {
        div class={ "finding " (sev) } { "\n"
            div class="finding-head" { (badge(sev, sev)) " " span class="topic" { (f.topic.as_str()) } } "\n"
            p class="headline" { (f.headline) } "\n"
            @if !f.meaning.is_empty() { p class="meaning" { (f.meaning) } "\n" }
            @if !f.fix.is_empty() { p class="fix" { "Fix: " code { (f.fix) } } "\n" }
        } "\n"
    }
}
