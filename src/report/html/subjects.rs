//! The subjects section: the subject id inferred from the file names (patients, people),
//! how many subjects have images in more than one split, and examples.

use maud::{Markup, html};

use super::parts::{plural, split_name, thousands};
use super::{Section, View};
use crate::subjects::Inference;

pub fn section(view: &View) -> Section {
    let toc = match view.input.subjects {
        Some(i) if i.evidence.spanning > 0 => format!("Subjects ({})", i.evidence.spanning),
        _ => "Subjects".into(),
    };
    Section {
        id: "subjects",
        toc,
        title: "Subjects across splits",
        body: body(view.input.subjects),
    }
}

fn body(inferred: Option<&Inference>) -> Markup {
    let Some(inf) = inferred else {
        return html! {
            p class="muted" {
                "No subject id in the file names: no part of them groups several different images. "
                "When images of one patient or person carry no common id in their names, "
                "split with --group-by and a regex, or rename the files to carry one."
            } "\n"
        };
    };
    let e = &inf.evidence;
    html! {
        p {
            "Subject = " (inf.rule.describe()) " in the file name: " code { (inf.group_by) } " (what "
            code { "split --group-by auto" } " uses). "
            (plural(e.subjects, "subject", "subjects")) " over " (thousands(e.keyed)) " of "
            (thousands(e.images)) " images; " (thousands(e.repeated)) " with several different images; "
            (thousands(e.spanning)) " in more than one split ("
            (plural(e.images_involved, "image", "images")) ")."
        } "\n"
        @if !e.splits.is_empty() {
            table { "\n"
                thead { tr { th { "split" } th { "images" } th { "share their subject with another split" } } } "\n"
                tbody {
                    @for s in &e.splits {
                        tr { td { (split_name(&s.split)) } td { (thousands(s.images)) } td { (thousands(s.shared)) } } "\n"
                    }
                }
            } "\n"
        }
        @if !e.examples.is_empty() {
            p { "Subjects with most images in several splits:" } "\n"
            ul {
                @for x in &e.examples {
                    li {
                        code { (x.subject) } ": "
                        @for (i, (split, n)) in x.images.iter().enumerate() {
                            @if i > 0 { ", " }
                            (split_name(split)) " " (n)
                        }
                    } "\n"
                }
            } "\n"
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::subjects::{Item, infer};

    #[test]
    fn escapes_names_and_lists_examples() {
        let rows: Vec<(String, &str)> = (0..40)
            .flat_map(|p| {
                (0..3).map(move |i| {
                    let split = if (p + i) % 3 == 0 { "val" } else { "train" };
                    (format!("<b>{p:04}_{i}.png"), split)
                })
            })
            .collect();
        let items: Vec<Item> = rows
            .iter()
            .enumerate()
            .map(|(i, (n, s))| Item {
                name: Cow::Borrowed(n.as_str()),
                split: s,
                class: "",
                picture: i,
            })
            .collect();
        let inf = infer(&items).expect("subjects");
        let html = body(Some(&inf)).into_string();
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert!(!html.contains("<b>"));
        assert!(html.contains("in more than one split"));
        assert!(body(None).into_string().contains("No subject id"));
    }
}
