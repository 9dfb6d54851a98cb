//! The duplicate sections: cross-split pairs, label-conflict groups and groups within one
//! split, each image with its thumbnail, path, split and class.

use std::collections::BTreeSet;

use maud::{Markup, html};

use super::parts::{badge, caption, filter_box, more, plural, split_name, thousands};
use super::{MAX_MEMBERS, Section, View};
use crate::leaks::Pair;
use crate::near::groups::Group;

pub fn cross_split_section(view: &View) -> Section {
    Section {
        id: "cross-split",
        toc: format!("Cross-split ({})", thousands(view.cross.len())),
        title: "Cross-split duplicates",
        body: cross_split(view),
    }
}

pub fn conflicts_section(view: &View) -> Section {
    Section {
        id: "conflicts",
        toc: format!("Conflicts ({})", thousands(view.conflicts.len())),
        title: "Label conflicts",
        body: conflicts(view),
    }
}

pub fn within_split_section(view: &View) -> Section {
    Section {
        id: "within-split",
        toc: format!("Within-split ({})", thousands(view.within.len())),
        title: "Duplicates within a split",
        body: within_split(view),
    }
}

/// The thumbnail of record `i`, or a placeholder when it could not be made.
fn thumb(view: &View, i: usize) -> Markup {
    html! {
        div class="thumbbox" {
            @match view.thumbs.get(&i) {
                Some(uri) => {
                    img class="thumb" src=(uri) alt=(view.records[i].path.to_string_lossy());
                },
                None => { span class="nothumb" { "no preview" } },
            }
        }
    }
}

fn cross_split(view: &View) -> Markup {
    let pairs = &view.cross;
    if pairs.is_empty() {
        return html! { p class="ok-text" { "No duplicates across splits." } "\n" };
    }
    let max = view.max_items();
    html! {
        p {
            (plural(pairs.len(), "pair of copies", "pairs of copies"))
            " in different splits: the model is evaluated on pictures it trained on."
        } "\n"
        (filter_box("cross-split-table", "Filter pairs by path, split or class"))
        div class="scroll" { table id="cross-split-table" class="pairs" { "\n"
            thead { tr {
                th class="num" { "#" } th { "image A" } th { "image B" } th { "match" }
            } } "\n"
            tbody { "\n"
                @for (n, p) in pairs.iter().take(max).enumerate() { (pair_row(view, n + 1, p)) }
            } "\n"
        } } "\n"
        (more(pairs.len(), max.min(pairs.len()), "pairs", "pairs.csv"))
    }
}

fn pair_row(view: &View, n: usize, p: &Pair) -> Markup {
    let (a, b) = (&view.records[p.a], &view.records[p.b]);
    let conflict = crate::near::groups::labels_conflict(&a.class, &b.class);
    let kind = p.kind.as_str();
    html! {
        tr class="pair" {
            td class="num" { (n) }
            td class="img" { div class="imgcell" { (thumb(view, p.a)) div { (caption(a, conflict)) } } }
            td class="img" { div class="imgcell" { (thumb(view, p.b)) div { (caption(b, conflict)) } } }
            td class="match" {
                span class={ "kind " (kind) } { (kind) }
                dl {
                    @match &p.affine {
                        Some(f) => {
                            dt { "estimated transform" }
                            dd { (affine_text(f)) }
                            dt { "inliers" } dd { (f.inliers) " local features agree" }
                        },
                        None => {
                            dt { "distance" } dd { (p.distance256) " of 256 bits" }
                            dt { "transform" } dd { (p.transform.as_str()) }
                        },
                    }
                    dt { "view" } dd { (p.view.as_str()) }
                }
                @if conflict { (badge("problem", "label conflict")) }
            }
        } "\n"
    }
}

/// "mirrored, rotated 12.3 deg, zoom 0.91, shifted 10% right, 4% up" for an affine pair.
fn affine_text(f: &crate::near::affine::Fit) -> String {
    let mut parts = Vec::new();
    if f.mirrored {
        parts.push("mirrored".to_owned());
    }
    parts.push(format!("rotated {:.1}°", f.rotation_deg));
    parts.push(format!("zoom {:.2}", f.scale));
    let pct = |v: f32| (v * 100.0).round().abs();
    let h = if f.shift_x >= 0.0 { "right" } else { "left" };
    let v = if f.shift_y >= 0.0 { "down" } else { "up" };
    parts.push(format!(
        "shifted {}% {h}, {}% {v}",
        pct(f.shift_x),
        pct(f.shift_y)
    ));
    parts.join(", ")
}

fn conflicts(view: &View) -> Markup {
    let groups = &view.conflicts;
    if groups.is_empty() {
        return html! { p class="ok-text" { "No image appears under two classes." } "\n" };
    }
    html! {
        p {
            (plural(groups.len(), "group holds", "groups hold"))
            " the same picture under more than one class: the model is taught two answers. \
             Decide the right label, or leave them out with "
            code { "cleansplit split --conflicts drop" } "."
        } "\n"
        (group_list(view, groups, "conflict", "conflicts-list"))
    }
}

fn within_split(view: &View) -> Markup {
    let groups = &view.within;
    if groups.is_empty() {
        return html! { p class="ok-text" { "No duplicates within a split." } "\n" };
    }
    let redundant: usize = groups.iter().map(|g| g.members.len() - 1).sum();
    html! {
        p {
            (plural(groups.len(), "group", "groups")) " of copies inside one split ("
            (plural(redundant, "redundant copy", "redundant copies"))
            ") over-weight those pictures; " code { "cleansplit split" }
            " keeps one copy of each (marked " i { "keep" } ")."
        } "\n"
        (group_list(view, groups, "within", "within-list"))
    }
}

fn group_list(view: &View, groups: &[&Group], kind: &str, list_id: &str) -> Markup {
    let max = view.max_items();
    html! {
        (filter_box(list_id, "Filter groups by path, split or class"))
        div id=(list_id) class="groups" { "\n"
            @for g in groups.iter().take(max) { (group_card(view, g, kind)) }
        } "\n"
        (more(groups.len(), max.min(groups.len()), "groups", "groups.csv"))
    }
}

fn names(set: &BTreeSet<String>, name: impl Fn(&str) -> &str) -> String {
    set.iter().map(|s| name(s)).collect::<Vec<_>>().join(", ")
}

fn as_is(s: &str) -> &str {
    s
}

fn group_card(view: &View, g: &Group, kind: &str) -> Markup {
    let many = |n: usize, one: &'static str, more: &'static str| if n == 1 { one } else { more };
    html! {
        div class={ "group " (kind) } id={ (kind) "-" (g.id) } { "\n"
            h3 {
                "Group " (g.id)
                @if kind != "conflict" && g.label_conflict() {
                    " " (badge("problem", "label conflict"))
                }
                " "
                span class="muted" {
                    (plural(g.members.len(), "image", "images")) " \u{b7} "
                    (many(g.classes.len(), "class", "classes")) ": " (names(&g.classes, as_is))
                    " \u{b7} " (many(g.splits.len(), "split", "splits")) ": "
                    (names(&g.splits, split_name))
                }
            } "\n"
            div class="members" { "\n"
                @for &m in g.members.iter().take(MAX_MEMBERS) {
                    figure class="member" {
                        (thumb(view, m))
                        figcaption {
                            (caption(&view.records[m], g.label_conflict()))
                            @if kind == "within" && m == g.representative {
                                " " span class="keep" { "keep" }
                            }
                        }
                    } "\n"
                }
            } "\n"
            (more(g.members.len(), MAX_MEMBERS.min(g.members.len()), "members", "groups.csv"))
        } "\n"
    }
}
