//! The HTML report: one self-contained page for people.
//!
//! The page makes no request of any kind: CSS and a few lines of script are inline, charts
//! are inline SVG, and thumbnails are `data:` URIs (made only for the images the page
//! shows). A Content-Security-Policy says the same to the browser, so even a mistake here
//! cannot make it fetch anything. The page is built with maud's `html!` templates, which
//! escape every value they interpolate: file names are attacker-controlled input, and no
//! string reaches the page unescaped (the only `PreEscaped` values are the CSS and script
//! constants below). The script only adds filter boxes; without it the page is complete.
//!
//! Two steps: [`view::View::prepare`] computes everything the page shows (lists, counts,
//! thumbnails: all the I/O), then the section renderers turn that view into markup.
//! To add a section, write a `fn section(view: &View) -> Section` in a new file beside
//! these and list it in `sections`; the table of contents follows that list.

mod classes;
mod groups;
mod header;
mod leakage;
mod parts;
mod problems;
mod skipped;
mod subjects;
#[cfg(test)]
mod tests;
mod view;

use std::path::Path;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::audit::Finding;
use crate::index::Record;
use crate::leaks::Leaks;
pub use view::View;

/// Longer side of the thumbnails, in pixels.
pub const THUMB_SIDE: u32 = 160;
/// Members shown per duplicate group; the rest are counted.
pub const MAX_MEMBERS: usize = 8;

/// Everything the page shows.
pub struct ReportInput<'a> {
    /// Page title, e.g. `cleansplit audit: /abs/path/to/ROOT`.
    pub title: String,
    /// Dataset root; record paths are relative to it.
    pub root: &'a Path,
    pub records: &'a [Record],
    pub leaks: &'a Leaks,
    pub findings: &'a [Finding],
    /// Items rendered per section (pairs, groups, problem files, classes); the rest are counted.
    pub max_items: usize,
    /// Images with more pixels get no thumbnail (`--max-pixels`, as in the scan).
    pub max_pixels: u64,
    /// Entries under ROOT that are not indexed (listed by path and reason).
    pub skipped: &'a [crate::layout::Skipped],
    /// The loader whose view decides which files are problem files (`--loader`).
    pub loader: crate::loader::Loader,
    /// The subject id inferred from the file names, if any.
    pub subjects: Option<&'a crate::subjects::Inference>,
}

/// One section of the page: its anchor, its entry in the table of contents, its content.
pub struct Section {
    pub id: &'static str,
    /// Text of the table-of-contents link (may carry a count).
    pub toc: String,
    pub title: &'static str,
    pub body: Markup,
}

/// The sections, in page order.
fn sections(view: &View) -> Vec<Section> {
    vec![
        header::verdict_section(view),
        classes::section(view),
        leakage::section(view),
        subjects::section(view),
        groups::cross_split_section(view),
        groups::conflicts_section(view),
        groups::within_split_section(view),
        problems::section(view),
        skipped::section(view),
    ]
}

/// Renders the whole report as one HTML page (reads the thumbnails' images first).
pub fn render(input: &ReportInput) -> String {
    render_view(&View::prepare(input))
}

/// `report.html` of an audit (what `AuditJob::page` is given).
pub fn audit_page(o: &crate::audit::AuditOutcome, max_pixels: u64) -> String {
    render(&ReportInput {
        title: format!("cleansplit audit: {}", o.scan.root.display()),
        root: &o.scan.root,
        records: &o.scan.records,
        leaks: &o.leaks,
        findings: &o.findings,
        max_items: o.max_items,
        max_pixels,
        skipped: &o.scan.layout.skipped,
        loader: o.scan.loader,
        subjects: o.subjects.as_ref(),
    })
}

/// Renders a prepared view: no I/O.
pub fn render_view(view: &View) -> String {
    let sections = sections(view);
    let body = html! {
        (header::header(view))
        nav class="toc" aria-label="Contents" { ul { "\n"
            @for s in &sections {
                li { a href={ "#" (s.id) } { (s.toc) } } "\n"
            }
        } } "\n"
        main { "\n"
            @for s in &sections {
                section id=(s.id) { "\n" h2 { (s.title) } "\n" (s.body) } "\n"
            }
        } "\n"
    };
    page(&view.input.title, body)
}

/// The page frame around `body`: head, CSP, style and script.
fn page(title: &str, body: Markup) -> String {
    // A nonce no file name can predict: it depends on the body the name is part of.
    let nonce = blake3::hash(body.0.as_bytes()).to_hex()[..32].to_string();
    let csp = format!(
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; \
         base-uri 'none'; form-action 'none'"
    );
    html! {
        (DOCTYPE) "\n"
        html lang="en" { "\n"
            head { "\n"
                meta charset="utf-8"; "\n"
                meta name="viewport" content="width=device-width, initial-scale=1"; "\n"
                meta http-equiv="Content-Security-Policy" content=(csp); "\n"
                meta name="referrer" content="no-referrer"; "\n"
                title { (title) } "\n"
                style { (PreEscaped(CSS)) } "\n"
            } "\n"
            body { "\n"
                (body)
                script nonce=(nonce) { (PreEscaped(SCRIPT)) } "\n"
            } "\n"
        } "\n"
    }
    .into_string()
}

const CSS: &str = include_str!("report.css");

/// Shows the filter boxes and hides non-matching items; the page works without it.
const SCRIPT: &str = include_str!("report.js");
