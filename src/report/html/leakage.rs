//! The leakage section: duplicate figures, the share of each split with a copy elsewhere,
//! and the leaked images by class.

use maud::{Markup, html};

use super::parts::{more, pct, plural, shorten, split_name, thousands};
use super::{Section, View};
use crate::leaks::{ClassLeak, SplitLeak};

pub fn section(view: &View) -> Section {
    Section {
        id: "leakage",
        toc: "Leakage".into(),
        title: "Leakage",
        body: body(view),
    }
}

fn body(view: &View) -> Markup {
    let s = &view.input.leaks.summary;
    html! {
        p {
            (plural(s.pairs, "duplicate pair", "duplicate pairs")) " ("
            (thousands(s.exact_pairs)) " exact, " (thousands(s.near_pairs)) " near) in "
            (plural(s.groups, "group", "groups")) ": " (thousands(s.cross_split_groups))
            " across splits, " (thousands(s.within_split_groups)) " within one split, "
            (thousands(s.label_conflict_groups)) " with a label conflict. Radius: "
            (s.radius_reason) "."
        } "\n"
        @if s.splits.len() < 2 {
            p class="muted" { "The dataset has one split: nothing can leak between splits." } "\n"
        } @else {
            p { "Share of each split's usable images that have a duplicate in another split:" } "\n"
            (chart(&s.splits))
            (class_table(&s.splits, view.max_items()))
        }
    }
}

/// One bar per split: the share of its images with a duplicate elsewhere.
fn chart(splits: &[SplitLeak]) -> Markup {
    const WIDTH: usize = 880;
    const LABEL: usize = 170;
    const ROW: usize = 30;
    let track = WIDTH - LABEL - 200;
    let top = 8;
    let height = top + splits.len() * ROW + 22;
    html! {
        svg class="chart leak-chart" viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH)
            height=(height) role="img"
            aria-label="Share of each split with a duplicate in another split" {
            @for q in 0..=4usize {
                @let x = LABEL + track * q / 4;
                line x1=(x) y1=(top) x2=(x) y2=(height - 18) class="grid" {}
                text x=(x) y=(height - 4) text-anchor="middle" class="axis" { (q * 25) "%" }
            }
            @for (row, sp) in splits.iter().enumerate() {
                @let y = top + row * ROW + 5;
                @let w = (sp.share.clamp(0.0, 1.0) * track as f64).round() as usize;
                @let w = if sp.leaked > 0 { w.max(2) } else { 0 };
                @let into: Vec<&str> = sp.leaked_into.keys().map(|k| split_name(k)).collect();
                text x=(LABEL - 10) y=(y + 14) text-anchor="end" class="label" {
                    (shorten(&sp.split, 24))
                }
                rect x=(LABEL) y=(y) width=(track) height="18" rx="3" class="track" {}
                rect x=(LABEL) y=(y) width=(w) height="18" rx="3"
                    class=(if sp.leaked > 0 { "leak" } else { "clean" }) {
                    title {
                        (split_name(&sp.split)) ": " (thousands(sp.leaked)) " of "
                        (thousands(sp.images)) " have a duplicate in "
                        @if into.is_empty() { "another split" } @else { (into.join(", ")) }
                    }
                }
                text x=(LABEL + track + 8) y=(y + 14) class="value" {
                    (pct(sp.share)) " (" (thousands(sp.leaked)) " of " (thousands(sp.images)) ")"
                }
            }
        } "\n"
    }
}

fn class_table(splits: &[SplitLeak], max_items: usize) -> Markup {
    let rows: Vec<(&SplitLeak, &ClassLeak)> = splits
        .iter()
        .flat_map(|sp| sp.classes.iter().map(move |c| (sp, c)))
        .filter(|(_, c)| c.leaked > 0)
        .collect();
    if rows.is_empty() {
        return html! { p class="ok-text" { "No image has a duplicate in another split." } "\n" };
    }
    html! {
        h3 { "Leaked images by class" } "\n"
        table { "\n"
            thead { tr {
                th { "split" } th { "class" } th class="num" { "with a duplicate elsewhere" }
                th class="num" { "images" } th class="num" { "share" }
            } } "\n"
            tbody { "\n"
                @for (sp, c) in rows.iter().take(max_items) {
                    tr {
                        td { (split_name(&sp.split)) } td { (c.class) }
                        td class="num" { (thousands(c.leaked)) }
                        td class="num" { (thousands(c.images)) }
                        td class="num" { (pct(c.share)) }
                    } "\n"
                }
            } "\n"
        } "\n"
        (more(rows.len(), max_items.min(rows.len()), "rows", ""))
    }
}
