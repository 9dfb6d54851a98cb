//! The "Skipped entries" section: every entry under ROOT that is not indexed (OS junk,
//! hidden, not an image, loose files, folders beside the splits, walk errors), by path and
//! reason, capped at `--max-items` like the other lists.

use maud::{Markup, html};

use super::parts::{filter_box, more, thousands};
use super::{Section, View};
use crate::layout::Skipped;

pub fn section(view: &View) -> Section {
    let skipped = view.input.skipped;
    Section {
        id: "skipped",
        toc: format!("Skipped ({})", thousands(skipped.len())),
        title: "Skipped entries",
        body: body(skipped, view.max_items()),
    }
}

/// A table of the first `max_items` skipped entries and how many more.
fn body(skipped: &[Skipped], max_items: usize) -> Markup {
    if skipped.is_empty() {
        return html! { p class="ok-text" { "Nothing under ROOT was skipped." } "\n" };
    }
    html! {
        p {
            "Entries under ROOT that are not indexed, with the reason: loaders do not see them \
             either, so they are in neither training nor validation."
        } "\n"
        (filter_box("skipped-table", "Filter by path or reason"))
        div class="scroll" { table id="skipped-table" { "\n"
            thead { tr { th { "path" } th { "reason" } th { "message" } } } "\n"
            tbody { "\n"
                @for s in skipped.iter().take(max_items) {
                    tr {
                        td class="path" { (s.rel.to_string_lossy()) }
                        td { (s.reason.as_str()) }
                        td { (s.message) }
                    } "\n"
                }
            } "\n"
        } } "\n"
        (more(
            skipped.len(),
            max_items.min(skipped.len()),
            "entries",
            "`cleansplit scan ROOT --format json` lists them all",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::SkipReason;

    #[test]
    fn lists_escaped_and_capped() {
        let s = |p: &str| Skipped {
            rel: p.into(),
            reason: SkipReason::LooseFile,
            message: "a file where a class folder was expected".into(),
        };
        let html = body(&[s("train/<b>.jpg"), s("train/x.jpg"), s("train/y.jpg")], 2).into_string();
        assert!(html.contains("train/&lt;b&gt;.jpg") && !html.contains("<b>"));
        assert!(html.contains("loose_file"));
        assert!(html.contains("and 1 more entries"));
        assert!(!html.contains("train/y.jpg"));
        assert!(body(&[], 5).into_string().contains("Nothing"));
    }
}
