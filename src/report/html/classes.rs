//! The classes section: files per class and split, as a chart and a table.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::parts::{PALETTE, more, plural, shorten, split_name, thousands};
use super::{Section, View};

type PerSplit<'a> = BTreeMap<&'a str, usize>;

pub fn section(view: &View) -> Section {
    Section {
        id: "classes",
        toc: "Classes".into(),
        title: "Classes",
        body: body(view),
    }
}

fn body(view: &View) -> Markup {
    let counts = &view.classes.counts;
    if counts.is_empty() {
        return html! { p class="muted" { "No images were indexed." } "\n" };
    }
    let splits = &view.classes.splits;
    let shown: Vec<(&str, &PerSplit)> = counts
        .iter()
        .take(view.max_items())
        .map(|(c, m)| (*c, m))
        .collect();
    html! {
        p {
            (plural(view.records.len(), "file", "files")) " in "
            (plural(counts.len(), "class", "classes")) ". Counts include "
            (plural(view.unusable, "file", "files")) " that cannot be used (see "
            a href="#problems" { "Problem files" } ")."
        } "\n"
        (chart(splits, &shown))
        (table(splits, &shown, counts))
        (more(counts.len(), shown.len(), "classes", ""))
    }
}

fn table(splits: &[&str], shown: &[(&str, &PerSplit)], all: &BTreeMap<&str, PerSplit>) -> Markup {
    let count = |m: &PerSplit, s: &str| m.get(s).copied().unwrap_or(0);
    let column = |s: &str| -> usize { all.values().map(|m| count(m, s)).sum() };
    let grand: usize = splits.iter().map(|s| column(s)).sum();
    html! {
        table class="counts" { "\n"
            thead { tr {
                th { "class" }
                @for s in splits { th class="num" { (split_name(s)) } }
                th class="num" { "total" }
            } } "\n"
            tbody { "\n"
                @for (class, per_split) in shown {
                    tr {
                        td { (class) }
                        @for s in splits { td class="num" { (thousands(count(per_split, s))) } }
                        td class="num" { b { (thousands(per_split.values().sum())) } }
                    } "\n"
                }
            } "\n"
            tfoot { tr {
                th { "all classes" }
                @for s in splits { th class="num" { (thousands(column(s))) } }
                th class="num" { (thousands(grand)) }
            } } "\n"
        } "\n"
    }
}

/// Horizontal grouped bars: one group per class, one bar per split.
fn chart(splits: &[&str], shown: &[(&str, &PerSplit)]) -> Markup {
    const WIDTH: usize = 880;
    const LABEL: usize = 170;
    const BAR: usize = 13;
    const GAP: usize = 12;
    let track = WIDTH - LABEL - 70;
    let max = shown
        .iter()
        .flat_map(|(_, m)| m.values())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let group_h = splits.len() * (BAR + 2) + GAP;
    let top = 30;
    let height = top + shown.len() * group_h + 4;
    // Legend entries advance by the name's length.
    let mut legend_x = Vec::with_capacity(splits.len());
    let mut x = LABEL;
    for s in splits {
        legend_x.push(x);
        x += 30 + 8 * s.chars().count().clamp(9, 30);
    }
    let colour = |i: usize| PALETTE[i % PALETTE.len()];
    html! {
        svg class="chart classes-chart" viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH)
            height=(height) role="img" aria-label="Images per class, one bar per split" {
            @for (i, s) in splits.iter().enumerate() {
                rect x=(legend_x[i]) y="6" width="12" height="12" rx="2" fill=(colour(i)) {}
                text x=(legend_x[i] + 17) y="16" class="legend" { (split_name(s)) }
            }
            @for (row, (class, per_split)) in shown.iter().enumerate() {
                @let y0 = top + row * group_h;
                text x=(LABEL - 10) y=(y0 + (group_h - GAP) / 2 + 4) text-anchor="end" class="label" {
                    (shorten(class, 24)) title { (class) }
                }
                @for (i, s) in splits.iter().enumerate() {
                    @let n = per_split.get(s).copied().unwrap_or(0);
                    @let y = y0 + i * (BAR + 2);
                    @let w = if n == 0 { 0 } else { (n * track / max).max(1) };
                    rect x=(LABEL) y=(y) width=(w) height=(BAR) rx="2" fill=(colour(i)) {
                        title { (split_name(s)) " / " (class) ": " (thousands(n)) }
                    }
                    text x=(LABEL + w + 5) y=(y + BAR - 2) class="value" { (thousands(n)) }
                }
            }
        } "\n"
    }
}
