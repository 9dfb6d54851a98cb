//! The "Skipped entries" section of report.html: every entry under ROOT that is not indexed
//! (OS junk, hidden, not an image, loose files, folders beside the splits, walk errors), by
//! path and reason, capped at `--max-items` like the other lists.

use std::fmt::Write;

use super::escape::escape;
use crate::layout::Skipped;

/// The section body: a table of the first `max_items` skipped entries and how many more.
pub fn render(skipped: &[Skipped], max_items: usize) -> String {
    if skipped.is_empty() {
        return "<p class=\"ok-text\">Nothing under ROOT was skipped.</p>\n".into();
    }
    let mut out = String::from(
        "<p>Entries under ROOT that are not indexed, with the reason: loaders do not see them \
         either, so they are in neither training nor validation.</p>\n<div class=\"scroll\"><table \
         id=\"skipped-table\">\n<thead><tr><th>path</th><th>reason</th><th>message</th></tr></thead>\n<tbody>\n",
    );
    for s in skipped.iter().take(max_items) {
        let _ = writeln!(
            out,
            "<tr><td class=\"path\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.rel.to_string_lossy()),
            escape(s.reason.as_str()),
            escape(&s.message)
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
    if skipped.len() > max_items {
        let _ = writeln!(
            out,
            "<p>... and {} more (`cleansplit scan ROOT --format json` lists them all).</p>",
            skipped.len() - max_items
        );
    }
    out
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
        let html = render(&[s("train/<b>.jpg"), s("train/x.jpg"), s("train/y.jpg")], 2);
        assert!(html.contains("train/&lt;b&gt;.jpg") && !html.contains("<b>"));
        assert!(html.contains("loose_file"));
        assert!(html.contains("and 1 more"));
        assert!(!html.contains("train/y.jpg"));
        assert!(render(&[], 5).contains("Nothing"));
    }
}
