//! Small pieces every section uses: numbers, badges, paths, "and N more" lines, filter boxes.

use std::path::Path;

use maud::{Markup, html};

use crate::base::severity::Severity;
use crate::index::Record;

/// Colours of the splits in charts, in split-name order.
pub const PALETTE: [&str; 8] = [
    "#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#06b6d4", "#84cc16", "#ec4899",
];

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn pct(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// At most `max` characters, with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('\u{2026}');
    out
}

/// A split's name, or `(no split)` for a dataset without splits.
pub fn split_name(split: &str) -> &str {
    if split.is_empty() {
        "(no split)"
    } else {
        split
    }
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "ok",
        Severity::Warning => "warning",
        Severity::Problem => "problem",
    }
}

pub fn badge(class: &str, text: &str) -> Markup {
    html! { span class={ "badge " (class) } { (text) } }
}

/// A path as text with line-break opportunities after each `/` (for element content; an
/// attribute takes the plain path).
pub fn path_breaks(p: &Path) -> Markup {
    let text = p.to_string_lossy();
    html! {
        @for (i, part) in text.split('/').enumerate() {
            @if i > 0 { "/" wbr; }
            (part)
        }
    }
}

/// Path, then `split · class` (the class emphasised when `stress_class`).
pub fn caption(r: &Record, stress_class: bool) -> Markup {
    html! {
        div class="path" { (path_breaks(&r.path)) }
        div class="meta" {
            (split_name(&r.split)) " \u{b7} "
            @if stress_class { b { (r.class) } } @else { (r.class) }
        }
    }
}

/// "and N more: see WHERE" after a truncated list (empty when nothing was cut).
pub fn more(total: usize, shown: usize, what: &str, see: &str) -> Markup {
    html! {
        @if total > shown {
            p class="more" {
                "and " (thousands(total - shown)) " more " (what)
                @if !see.is_empty() { ": see " (see) }
            } "\n"
        }
    }
}

/// A filter box for the items inside element `target`; hidden until the script shows it.
pub fn filter_box(target: &str, placeholder: &str) -> Markup {
    html! {
        input type="search" class="filter" data-filter=(target) placeholder=(placeholder)
            aria-label=(placeholder) hidden; "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_and_shorten() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(shorten("abcdef", 4), "abc\u{2026}");
        assert_eq!(shorten("abc", 4), "abc");
    }

    #[test]
    fn paths_break_after_slashes_and_stay_text() {
        let m = path_breaks(Path::new("a/<b>/c&d.jpg")).into_string();
        assert_eq!(m, "a/<wbr>&lt;b&gt;/<wbr>c&amp;d.jpg");
        assert_eq!(more(3, 3, "x", "").into_string(), "");
        assert_eq!(
            more(5, 2, "pairs", "pairs.csv").into_string(),
            "<p class=\"more\">and 3 more pairs: see pairs.csv</p>\n"
        );
    }
}
