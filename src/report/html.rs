//! The HTML report: one self-contained page for people.
//!
//! The page makes no request of any kind: CSS and a few lines of script are inline, charts
//! are inline SVG, and thumbnails are `data:` URIs (made only for the images the page
//! shows). A Content-Security-Policy says the same to the browser, so even a mistake here
//! cannot make it fetch anything. Every piece of text that comes from the dataset (paths,
//! split and class names, decoder messages) goes through [`escape`]: file names are
//! attacker-controlled input. The script only adds filter boxes; without it the page is
//! complete.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::thumbs;
use crate::audit::{Finding, Severity};
use crate::groups::Group;
use crate::index::{Flag, Record};
use crate::leaks::{Leaks, Pair, SplitLeak};

/// Longer side of the thumbnails, in pixels.
pub const THUMB_SIDE: u32 = 160;
/// Members shown per duplicate group; the rest are counted.
pub const MAX_MEMBERS: usize = 8;
/// Flags that make a usable file worth listing under "Problem files".
const NOTABLE_FLAGS: [Flag; 8] = [
    Flag::KerasSkips,
    Flag::Alpha,
    Flag::ExtMismatch,
    Flag::Tiny,
    Flag::NearConstant,
    Flag::Animated,
    Flag::Cmyk,
    Flag::HighBitDepth,
];
/// Colours of the splits in charts, in split-name order.
const PALETTE: [&str; 8] = [
    "#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#06b6d4", "#84cc16", "#ec4899",
];

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
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the whole report as one HTML page.
pub fn render(input: &ReportInput) -> String {
    let shown = Shown::select(input);
    let ctx = Ctx {
        input,
        thumbs: load_thumbs(input, &shown.thumbnail_records()),
    };
    let mut body = header(input);
    body.push_str(&toc(&shown));
    body.push_str("<main>\n");
    body.push_str(&section("verdict", "Verdict", &verdict(input.findings)));
    body.push_str(&section("classes", "Classes", &classes(input)));
    body.push_str(&section("leakage", "Leakage", &leakage(input)));
    body.push_str(&section(
        "cross-split",
        "Cross-split duplicates",
        &cross_split(&ctx, &shown.cross),
    ));
    body.push_str(&section(
        "conflicts",
        "Label conflicts",
        &conflicts(&ctx, &shown.conflicts),
    ));
    body.push_str(&section(
        "within-split",
        "Duplicates within a split",
        &within_split(&ctx, &shown.within),
    ));
    body.push_str(&section(
        "problems",
        "Problem files",
        &problems(input, &shown.problems),
    ));
    body.push_str("</main>\n");
    page(&input.title, &body)
}

/// What each list section holds (all of it; rendering stops at `max_items`).
struct Shown<'a> {
    cross: Vec<&'a Pair>,
    conflicts: Vec<&'a Group>,
    within: Vec<&'a Group>,
    problems: Vec<usize>,
    max_items: usize,
}

impl<'a> Shown<'a> {
    fn select(input: &ReportInput<'a>) -> Self {
        let recs = input.records;
        let leaks = input.leaks;
        Shown {
            cross: leaks
                .pairs
                .iter()
                .filter(|p| recs[p.a].split != recs[p.b].split)
                .collect(),
            conflicts: leaks.groups.iter().filter(|g| g.label_conflict()).collect(),
            within: leaks.groups.iter().filter(|g| g.within_split()).collect(),
            problems: (0..recs.len()).filter(|&i| is_problem(&recs[i])).collect(),
            max_items: input.max_items,
        }
    }

    /// Record indices whose thumbnails the page shows (and no others).
    fn thumbnail_records(&self) -> BTreeSet<usize> {
        let n = self.max_items;
        let mut out = BTreeSet::new();
        for p in self.cross.iter().take(n) {
            out.extend([p.a, p.b]);
        }
        for g in self
            .conflicts
            .iter()
            .take(n)
            .chain(self.within.iter().take(n))
        {
            out.extend(g.members.iter().take(MAX_MEMBERS));
        }
        out
    }
}

fn is_problem(r: &Record) -> bool {
    !r.is_ok() || NOTABLE_FLAGS.iter().any(|&f| r.flags.contains(f))
}

/// Rendering context: the input plus the thumbnails made for it.
struct Ctx<'a> {
    input: &'a ReportInput<'a>,
    thumbs: HashMap<usize, String>,
}

fn load_thumbs(input: &ReportInput, wanted: &BTreeSet<usize>) -> HashMap<usize, String> {
    let indices: Vec<usize> = wanted.iter().copied().collect();
    let paths: Vec<PathBuf> = indices
        .iter()
        .map(|&i| input.root.join(&input.records[i].path))
        .collect();
    indices
        .into_iter()
        .zip(thumbs::data_uris(&paths, THUMB_SIDE, input.max_pixels))
        .filter_map(|(i, uri)| uri.map(|u| (i, u)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Small text helpers.

fn path_text(p: &Path) -> String {
    escape(&p.to_string_lossy())
}

/// A path for element content, with line-break opportunities after each `/` (never for
/// attributes: use [`path_text`] there).
fn path_html(p: &Path) -> String {
    path_text(p).replace('/', "/<wbr>")
}

fn split_text(split: &str) -> String {
    if split.is_empty() {
        "(no split)".into()
    } else {
        escape(split)
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
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

fn pct(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "ok",
        Severity::Warning => "warning",
        Severity::Problem => "problem",
    }
}

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge {class}\">{}</span>", escape(text))
}

/// "and N more: see WHERE" after a truncated list (empty when nothing was cut).
fn more(total: usize, shown: usize, what: &str, see: &str) -> String {
    if total <= shown {
        return String::new();
    }
    let see = if see.is_empty() {
        String::new()
    } else {
        format!(": see {see}")
    };
    format!(
        "<p class=\"more\">and {} more {what}{see}</p>\n",
        thousands(total - shown)
    )
}

/// A filter box for the items inside element `target`; hidden until the script shows it.
fn filter_box(target: &str, placeholder: &str) -> String {
    format!(
        "<input type=\"search\" class=\"filter\" data-filter=\"{target}\" \
         placeholder=\"{placeholder}\" aria-label=\"{placeholder}\" hidden>\n"
    )
}

fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\">\n<h2>{}</h2>\n{body}</section>\n",
        escape(title)
    )
}

// ---------------------------------------------------------------------------------------
// Page frame.

fn page(title: &str, body: &str) -> String {
    // A nonce no file name can predict: it depends on the body the name is part of.
    let nonce = &blake3::hash(body.as_bytes()).to_hex()[..32];
    let mut out = String::with_capacity(body.len() + CSS.len() + SCRIPT.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         img-src data:; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; \
         base-uri 'none'; form-action 'none'\">"
    );
    out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>");
    out.push_str(body);
    let _ = writeln!(out, "<script nonce=\"{nonce}\">{SCRIPT}</script>");
    out.push_str("</body>\n</html>\n");
    out
}

fn header(input: &ReportInput) -> String {
    let recs = input.records;
    let s = &input.leaks.summary;
    let usable = recs.iter().filter(|r| r.is_ok()).count();
    let classes: BTreeSet<&str> = recs.iter().map(|r| r.class.as_str()).collect();
    let splits: BTreeSet<&str> = recs.iter().map(|r| r.split.as_str()).collect();
    let stats = [
        (thousands(recs.len()), "files indexed"),
        (thousands(usable), "usable images"),
        (thousands(classes.len()), "classes"),
        (thousands(splits.len()), "splits"),
        (thousands(s.pairs), "duplicate pairs"),
        (thousands(s.cross_split_groups), "cross-split groups"),
        (thousands(s.label_conflict_groups), "label conflicts"),
        (thousands(recs.len() - usable), "unusable files"),
    ];
    let mut out = String::from("<header>\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&input.title));
    let _ = writeln!(
        out,
        "<p class=\"muted\">Root <code>{}</code> &middot; made by cleansplit {}</p>",
        path_text(input.root),
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("<div class=\"stats\">\n");
    for (value, label) in stats {
        let _ = writeln!(
            out,
            "<div class=\"stat\"><b>{value}</b><span>{label}</span></div>"
        );
    }
    out.push_str("</div>\n</header>\n");
    out
}

fn toc(shown: &Shown) -> String {
    let entries = [
        ("verdict", "Verdict".to_string()),
        ("classes", "Classes".to_string()),
        ("leakage", "Leakage".to_string()),
        (
            "cross-split",
            format!("Cross-split ({})", thousands(shown.cross.len())),
        ),
        (
            "conflicts",
            format!("Conflicts ({})", thousands(shown.conflicts.len())),
        ),
        (
            "within-split",
            format!("Within-split ({})", thousands(shown.within.len())),
        ),
        (
            "problems",
            format!("Problems ({})", thousands(shown.problems.len())),
        ),
    ];
    let mut out = String::from("<nav class=\"toc\" aria-label=\"Contents\"><ul>\n");
    for (id, label) in entries {
        let _ = writeln!(out, "<li><a href=\"#{id}\">{label}</a></li>");
    }
    out.push_str("</ul></nav>\n");
    out
}

// ---------------------------------------------------------------------------------------
// Verdict.

fn verdict(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "<p class=\"muted\">No findings.</p>\n".into();
    }
    let mut ordered: Vec<&Finding> = findings.iter().collect();
    ordered.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let worst = ordered[0].severity;
    let summary = match worst {
        Severity::Problem => "Problems that distort training or evaluation were found.",
        Severity::Warning => "Nothing distorts training, but some findings are worth a look.",
        Severity::Ok => "Every check passed.",
    };
    let mut out = format!(
        "<p class=\"overall {}\">{} {summary}</p>\n",
        severity_name(worst),
        badge(severity_name(worst), severity_name(worst))
    );
    for f in ordered {
        out.push_str(&finding(f));
    }
    out
}

fn finding(f: &Finding) -> String {
    let sev = severity_name(f.severity);
    let mut out = format!("<div class=\"finding {sev}\">\n");
    let _ = writeln!(
        out,
        "<div class=\"finding-head\">{} <span class=\"topic\">{}</span></div>",
        badge(sev, sev),
        escape(&f.topic)
    );
    let _ = writeln!(out, "<p class=\"headline\">{}</p>", escape(&f.headline));
    if !f.meaning.is_empty() {
        let _ = writeln!(out, "<p class=\"meaning\">{}</p>", escape(&f.meaning));
    }
    if !f.fix.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"fix\">Fix: <code>{}</code></p>",
            escape(&f.fix)
        );
    }
    out.push_str("</div>\n");
    out
}

// ---------------------------------------------------------------------------------------
// Classes.

/// Files per class and split (every indexed file, usable or not).
fn class_counts(records: &[Record]) -> (Vec<String>, BTreeMap<&str, BTreeMap<&str, usize>>) {
    let splits: BTreeSet<&str> = records.iter().map(|r| r.split.as_str()).collect();
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for r in records {
        *counts
            .entry(r.class.as_str())
            .or_default()
            .entry(r.split.as_str())
            .or_default() += 1;
    }
    (splits.into_iter().map(str::to_owned).collect(), counts)
}

fn classes(input: &ReportInput) -> String {
    let (splits, counts) = class_counts(input.records);
    if counts.is_empty() {
        return "<p class=\"muted\">No images were indexed.</p>\n".into();
    }
    let unusable = input.records.iter().filter(|r| !r.is_ok()).count();
    let mut out = format!(
        "<p>{} in {}. Counts include {} that cannot be used (see <a href=\"#problems\">Problem files</a>).</p>\n",
        plural(input.records.len(), "file", "files"),
        plural(counts.len(), "class", "classes"),
        plural(unusable, "file", "files"),
    );
    let shown: Vec<(&str, &BTreeMap<&str, usize>)> = counts
        .iter()
        .take(input.max_items)
        .map(|(c, m)| (*c, m))
        .collect();
    out.push_str(&class_chart(&splits, &shown));
    out.push_str(&class_table(&splits, &shown, &counts));
    out.push_str(&more(counts.len(), shown.len(), "classes", ""));
    out
}

fn class_table(
    splits: &[String],
    shown: &[(&str, &BTreeMap<&str, usize>)],
    all: &BTreeMap<&str, BTreeMap<&str, usize>>,
) -> String {
    let mut out = String::from("<table class=\"counts\">\n<thead><tr><th>class</th>");
    for s in splits {
        let _ = write!(out, "<th class=\"num\">{}</th>", split_text(s));
    }
    out.push_str("<th class=\"num\">total</th></tr></thead>\n<tbody>\n");
    for (class, per_split) in shown {
        let _ = write!(out, "<tr><td>{}</td>", escape(class));
        for s in splits {
            let n = per_split.get(s.as_str()).copied().unwrap_or(0);
            let _ = write!(out, "<td class=\"num\">{}</td>", thousands(n));
        }
        let total: usize = per_split.values().sum();
        let _ = writeln!(
            out,
            "<td class=\"num\"><b>{}</b></td></tr>",
            thousands(total)
        );
    }
    out.push_str("</tbody>\n<tfoot><tr><th>all classes</th>");
    let mut grand = 0;
    for s in splits {
        let n: usize = all.values().filter_map(|m| m.get(s.as_str())).sum();
        grand += n;
        let _ = write!(out, "<th class=\"num\">{}</th>", thousands(n));
    }
    let _ = writeln!(
        out,
        "<th class=\"num\">{}</th></tr></tfoot>\n</table>",
        thousands(grand)
    );
    out
}

/// Horizontal grouped bars: one group per class, one bar per split.
fn class_chart(splits: &[String], shown: &[(&str, &BTreeMap<&str, usize>)]) -> String {
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
    let mut svg = svg_open(
        WIDTH,
        height,
        "Images per class, one bar per split",
        "chart classes-chart",
    );
    // Legend.
    let mut x = LABEL;
    for (i, s) in splits.iter().enumerate() {
        let name = split_text(s);
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"16\" class=\"legend\">{name}</text>",
            PALETTE[i % PALETTE.len()],
            x + 17
        );
        x += 30 + 8 * s.chars().count().clamp(9, 30);
    }
    for (row, (class, per_split)) in shown.iter().enumerate() {
        let y0 = top + row * group_h;
        let label_y = y0 + (group_h - GAP) / 2 + 4;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{label_y}\" text-anchor=\"end\" class=\"label\">{}<title>{}</title></text>",
            LABEL - 10,
            escape(&shorten(class, 24)),
            escape(class)
        );
        for (i, s) in splits.iter().enumerate() {
            let n = per_split.get(s.as_str()).copied().unwrap_or(0);
            let y = y0 + i * (BAR + 2);
            let w = if n == 0 { 0 } else { (n * track / max).max(1) };
            let _ = write!(
                svg,
                "<rect x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{BAR}\" rx=\"2\" fill=\"{}\">\
                 <title>{} / {}: {}</title></rect>\
                 <text x=\"{}\" y=\"{}\" class=\"value\">{}</text>",
                PALETTE[i % PALETTE.len()],
                split_text(s),
                escape(class),
                thousands(n),
                LABEL + w + 5,
                y + BAR - 2,
                thousands(n)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn svg_open(width: usize, height: usize, label: &str, class: &str) -> String {
    format!(
        "<svg class=\"{class}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-label=\"{}\">",
        escape(label)
    )
}

/// At most `max` characters, with an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('\u{2026}');
    out
}

// ---------------------------------------------------------------------------------------
// Leakage.

fn leakage(input: &ReportInput) -> String {
    let s = &input.leaks.summary;
    let mut out = format!(
        "<p>{} ({} exact, {} near) in {}: {} across splits, {} within one split, {} with a label conflict. \
         Radius: {}.</p>\n",
        plural(s.pairs, "duplicate pair", "duplicate pairs"),
        thousands(s.exact_pairs),
        thousands(s.near_pairs),
        plural(s.groups, "group", "groups"),
        thousands(s.cross_split_groups),
        thousands(s.within_split_groups),
        thousands(s.label_conflict_groups),
        escape(&s.radius_reason),
    );
    if s.splits.len() < 2 {
        out.push_str(
            "<p class=\"muted\">The dataset has one split: nothing can leak between splits.</p>\n",
        );
        return out;
    }
    out.push_str(
        "<p>Share of each split's usable images that have a duplicate in another split:</p>\n",
    );
    out.push_str(&leak_chart(&s.splits));
    out.push_str(&leak_class_table(&s.splits, input.max_items));
    out
}

/// One bar per split: the share of its images with a duplicate elsewhere.
fn leak_chart(splits: &[SplitLeak]) -> String {
    const WIDTH: usize = 880;
    const LABEL: usize = 170;
    const ROW: usize = 30;
    let track = WIDTH - LABEL - 200;
    let top = 8;
    let height = top + splits.len() * ROW + 22;
    let mut svg = svg_open(
        WIDTH,
        height,
        "Share of each split with a duplicate in another split",
        "chart leak-chart",
    );
    for q in 0..=4 {
        let x = LABEL + track * q / 4;
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{}\" class=\"grid\"/>\
             <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" class=\"axis\">{}%</text>",
            height - 18,
            height - 4,
            q * 25
        );
    }
    for (row, sp) in splits.iter().enumerate() {
        let y = top + row * ROW + 5;
        let w = (sp.share.clamp(0.0, 1.0) * track as f64).round() as usize;
        let w = if sp.leaked > 0 { w.max(2) } else { 0 };
        let into: Vec<String> = sp.leaked_into.keys().map(|k| split_text(k)).collect();
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{track}\" height=\"18\" rx=\"3\" class=\"track\"/>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"18\" rx=\"3\" class=\"{}\">\
             <title>{}: {} of {} have a duplicate in {}</title></rect>\
             <text x=\"{}\" y=\"{}\" class=\"value\">{} ({} of {})</text>",
            LABEL - 10,
            y + 14,
            escape(&shorten(&sp.split, 24)),
            if sp.leaked > 0 { "leak" } else { "clean" },
            split_text(&sp.split),
            thousands(sp.leaked),
            thousands(sp.images),
            if into.is_empty() {
                "another split".to_string()
            } else {
                into.join(", ")
            },
            LABEL + track + 8,
            y + 14,
            pct(sp.share),
            thousands(sp.leaked),
            thousands(sp.images)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn leak_class_table(splits: &[SplitLeak], max_items: usize) -> String {
    let rows: Vec<(&SplitLeak, &crate::leaks::ClassLeak)> = splits
        .iter()
        .flat_map(|sp| sp.classes.iter().map(move |c| (sp, c)))
        .filter(|(_, c)| c.leaked > 0)
        .collect();
    if rows.is_empty() {
        return "<p class=\"ok-text\">No image has a duplicate in another split.</p>\n".into();
    }
    let mut out = String::from(
        "<h3>Leaked images by class</h3>\n<table>\n<thead><tr><th>split</th><th>class</th>\
         <th class=\"num\">with a duplicate elsewhere</th><th class=\"num\">images</th>\
         <th class=\"num\">share</th></tr></thead>\n<tbody>\n",
    );
    for (sp, c) in rows.iter().take(max_items) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            split_text(&sp.split),
            escape(&c.class),
            thousands(c.leaked),
            thousands(c.images),
            pct(c.share)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out.push_str(&more(rows.len(), max_items.min(rows.len()), "rows", ""));
    out
}

// ---------------------------------------------------------------------------------------
// Images: thumbnails with their path, split and class.

fn thumb(ctx: &Ctx, i: usize) -> String {
    let alt = path_text(&ctx.input.records[i].path);
    match ctx.thumbs.get(&i) {
        Some(uri) => format!(
            "<div class=\"thumbbox\"><img class=\"thumb\" src=\"{uri}\" alt=\"{alt}\"></div>"
        ),
        None => "<div class=\"thumbbox\"><span class=\"nothumb\">no preview</span></div>".into(),
    }
}

/// Path, then `split · class` (the class emphasised when `stress_class`).
fn caption(r: &Record, stress_class: bool) -> String {
    let class = if stress_class {
        format!("<b>{}</b>", escape(&r.class))
    } else {
        escape(&r.class)
    };
    format!(
        "<div class=\"path\">{}</div><div class=\"meta\">{} &middot; {class}</div>",
        path_html(&r.path),
        split_text(&r.split)
    )
}

// ---------------------------------------------------------------------------------------
// Cross-split pairs.

fn cross_split(ctx: &Ctx, pairs: &[&Pair]) -> String {
    if pairs.is_empty() {
        return "<p class=\"ok-text\">No duplicates across splits.</p>\n".into();
    }
    let max = ctx.input.max_items;
    let mut out = format!(
        "<p>{} in different splits: the model is evaluated on pictures it trained on.</p>\n",
        plural(pairs.len(), "pair of copies", "pairs of copies")
    );
    out.push_str(&filter_box(
        "cross-split-table",
        "Filter pairs by path, split or class",
    ));
    out.push_str(
        "<div class=\"scroll\"><table id=\"cross-split-table\" class=\"pairs\">\n<thead><tr><th class=\"num\">#</th>\
         <th>image A</th><th>image B</th><th>match</th></tr></thead>\n<tbody>\n",
    );
    for (n, p) in pairs.iter().take(max).enumerate() {
        out.push_str(&pair_row(ctx, n + 1, p));
    }
    out.push_str("</tbody>\n</table></div>\n");
    out.push_str(&more(
        pairs.len(),
        max.min(pairs.len()),
        "pairs",
        "pairs.csv",
    ));
    out
}

fn pair_row(ctx: &Ctx, n: usize, p: &Pair) -> String {
    let recs = ctx.input.records;
    let (a, b) = (&recs[p.a], &recs[p.b]);
    let conflict = a.class != b.class;
    let mut m = format!(
        "<span class=\"kind {0}\">{0}</span><dl><dt>distance</dt><dd>{1}</dd>\
         <dt>transform</dt><dd>{2}</dd><dt>crop</dt><dd>{3}</dd></dl>",
        p.kind.as_str(),
        p.distance,
        p.transform.as_str(),
        if p.crop { "yes" } else { "no" }
    );
    if conflict {
        m.push_str(&badge("problem", "label conflict"));
    }
    format!(
        "<tr class=\"pair\"><td class=\"num\">{n}</td><td class=\"img\"><div class=\"imgcell\">{}<div>{}</div></div></td>\
         <td class=\"img\"><div class=\"imgcell\">{}<div>{}</div></div></td><td class=\"match\">{m}</td></tr>\n",
        thumb(ctx, p.a),
        caption(a, conflict),
        thumb(ctx, p.b),
        caption(b, conflict)
    )
}

// ---------------------------------------------------------------------------------------
// Duplicate groups.

fn conflicts(ctx: &Ctx, groups: &[&Group]) -> String {
    if groups.is_empty() {
        return "<p class=\"ok-text\">No image appears under two classes.</p>\n".into();
    }
    let mut out = format!(
        "<p>{} the same picture under more than one class: the model is taught two answers. \
         Decide the right label, or leave them out with <code>cleansplit split --conflicts drop</code>.</p>\n",
        plural(groups.len(), "group holds", "groups hold")
    );
    out.push_str(&group_list(ctx, groups, "conflict", "conflicts-list"));
    out
}

fn within_split(ctx: &Ctx, groups: &[&Group]) -> String {
    if groups.is_empty() {
        return "<p class=\"ok-text\">No duplicates within a split.</p>\n".into();
    }
    let redundant: usize = groups.iter().map(|g| g.members.len() - 1).sum();
    let mut out = format!(
        "<p>{} of copies inside one split ({}) over-weight those pictures; \
         <code>cleansplit split</code> keeps one copy of each (marked <i>keep</i>).</p>\n",
        plural(groups.len(), "group", "groups"),
        plural(redundant, "redundant copy", "redundant copies")
    );
    out.push_str(&group_list(ctx, groups, "within", "within-list"));
    out
}

fn group_list(ctx: &Ctx, groups: &[&Group], kind: &str, list_id: &str) -> String {
    let max = ctx.input.max_items;
    let mut out = filter_box(list_id, "Filter groups by path, split or class");
    let _ = writeln!(out, "<div id=\"{list_id}\" class=\"groups\">");
    for g in groups.iter().take(max) {
        out.push_str(&group_card(ctx, g, kind));
    }
    out.push_str("</div>\n");
    out.push_str(&more(
        groups.len(),
        max.min(groups.len()),
        "groups",
        "groups.csv",
    ));
    out
}

fn group_card(ctx: &Ctx, g: &Group, kind: &str) -> String {
    let recs = ctx.input.records;
    let names = |set: &BTreeSet<String>| {
        set.iter()
            .map(|s| split_text(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let classes = g
        .classes
        .iter()
        .map(|c| escape(c))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = format!("<div class=\"group {kind}\" id=\"{kind}-{}\">\n", g.id);
    let tag = if kind != "conflict" && g.label_conflict() {
        format!(" {}", badge("problem", "label conflict"))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "<h3>Group {}{tag} <span class=\"muted\">{} &middot; {}: {classes} &middot; {}: {}</span></h3>",
        g.id,
        plural(g.members.len(), "image", "images"),
        if g.classes.len() == 1 {
            "class"
        } else {
            "classes"
        },
        if g.splits.len() == 1 {
            "split"
        } else {
            "splits"
        },
        names(&g.splits)
    );
    out.push_str("<div class=\"members\">\n");
    for &m in g.members.iter().take(MAX_MEMBERS) {
        let keep = if kind == "within" && m == g.representative {
            " <span class=\"keep\">keep</span>"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<figure class=\"member\">{}<figcaption>{}{keep}</figcaption></figure>",
            thumb(ctx, m),
            caption(&recs[m], g.label_conflict())
        );
    }
    out.push_str("</div>\n");
    out.push_str(&more(
        g.members.len(),
        MAX_MEMBERS.min(g.members.len()),
        "members",
        "groups.csv",
    ));
    out.push_str("</div>\n");
    out
}

// ---------------------------------------------------------------------------------------
// Problem files.

fn problems(input: &ReportInput, rows: &[usize]) -> String {
    if rows.is_empty() {
        return "<p class=\"ok-text\">Every file decoded, and none carries a notable flag.</p>\n"
            .into();
    }
    let recs = input.records;
    let mut out = problem_summary(recs, rows);
    out.push_str(&filter_box(
        "problems-table",
        "Filter by path, status or flag",
    ));
    out.push_str(
        "<div class=\"scroll\"><table id=\"problems-table\" class=\"problems\">\n<thead><tr><th>path</th><th>split</th>\
         <th>class</th><th>status</th><th>flags</th><th>message</th></tr></thead>\n<tbody>\n",
    );
    // Unusable files first, then flagged ones; path order within each.
    let mut ordered = rows.to_vec();
    ordered.sort_by_key(|&i| recs[i].is_ok());
    for &i in ordered.iter().take(input.max_items) {
        out.push_str(&problem_row(&recs[i]));
    }
    out.push_str("</tbody>\n</table></div>\n");
    out.push_str(&more(
        rows.len(),
        input.max_items.min(rows.len()),
        "files",
        "the index",
    ));
    out
}

fn problem_summary(recs: &[Record], rows: &[usize]) -> String {
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
    let mut out = format!(
        "<p>{} cannot be used for training",
        plural(unusable, "file", "files")
    );
    if unusable > 0 {
        let _ = write!(out, " ({})", list(&statuses));
    }
    out.push('.');
    if !flags.is_empty() {
        let _ = write!(
            out,
            " Flags worth knowing: {}. <code>keras_skips</code>: Keras' directory loaders skip \
             or reject the file.",
            list(&flags)
        );
    }
    out.push_str("</p>\n");
    out
}

fn problem_row(r: &Record) -> String {
    let status = if r.is_ok() {
        badge("ok", r.status.as_str())
    } else {
        badge("problem", r.status.as_str())
    };
    let flags: Vec<String> = r
        .flags
        .iter()
        .map(|f| {
            let class = if NOTABLE_FLAGS.contains(&f) {
                "flag notable"
            } else {
                "flag"
            };
            format!("<span class=\"{class}\">{}</span>", f.as_str())
        })
        .collect();
    format!(
        "<tr class=\"problem\"><td class=\"path\">{}</td><td>{}</td><td>{}</td><td>{status}</td>\
         <td>{}</td><td class=\"message\">{}</td></tr>\n",
        path_html(&r.path),
        split_text(&r.split),
        escape(&r.class),
        flags.join(" "),
        escape(&r.message)
    )
}

// ---------------------------------------------------------------------------------------
// Style and script.

const CSS: &str = include_str!("report.css");

/// Shows the filter boxes and hides non-matching items; the page works without it.
const SCRIPT: &str = include_str!("report.js");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Severity;
    use crate::groups::tests::rec;
    use crate::index::Status;
    use crate::leaks::{LeakOptions, analyze};
    use image::RgbImage;

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain/path é.jpg"), "plain/path é.jpg");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn thousands_and_shorten() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(shorten("abcdef", 4), "abc\u{2026}");
        assert_eq!(shorten("abc", 4), "abc");
    }

    const HOSTILE: &str = "<script>alert(1)</script>.jpg";
    const HOSTILE_IMG: &str = "<img src=x onerror=alert(1)>.jpg";

    /// A dataset on disk with real images: a cross-split copy, a label conflict inside
    /// train, hostile file names, and a corrupt file.
    struct Fixture {
        dir: tempfile::TempDir,
        records: Vec<Record>,
        leaks: Leaks,
        findings: Vec<Finding>,
    }

    fn write_image(root: &Path, rel: &str, seed: u8) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let img = RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8 ^ seed, (y * 5) as u8, seed.wrapping_mul(7)])
        });
        img.save_with_format(&p, image::ImageFormat::Jpeg).unwrap();
    }

    fn with_hash(mut r: Record, h: u64) -> Record {
        r.phash = Some(h);
        r.dhash = Some(h);
        r.phash_crop = Some(!h);
        r.blake3 = Some(crate::index::digest_of(
            format!("{}", r.path.display()).as_bytes(),
        ));
        r
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let hostile_train = format!("train/cats/{HOSTILE}");
        let hostile_val = format!("val/cats/{HOSTILE_IMG}");
        let files = [
            (
                hostile_train.as_str(),
                "train",
                "cats",
                0x0f0f_0000_1111_2222u64,
            ),
            (hostile_val.as_str(), "val", "cats", 0x0f0f_0000_1111_2223),
            ("train/cats/a.jpg", "train", "cats", 0xaaaa_5555_aaaa_5555),
            (
                "train/dogs/a_copy.jpg",
                "train",
                "dogs",
                0xaaaa_5555_aaaa_5554,
            ),
            ("train/dogs/b.jpg", "train", "dogs", 0x1234_5678_9abc_def0),
            ("val/dogs/c.jpg", "val", "dogs", 0x0fed_cba9_8765_4321),
        ];
        let mut records = Vec::new();
        for (n, (path, split, class, h)) in files.iter().enumerate() {
            write_image(root, path, n as u8 * 40);
            records.push(with_hash(rec(path, split, class), *h));
        }
        let mut bad = rec("val/dogs/broken.jpg", "val", "dogs");
        std::fs::write(root.join("val/dogs/broken.jpg"), b"not a jpeg").unwrap();
        bad.status = Status::Corrupt;
        bad.message = "JPEG: <bad> marker & \"more\"".into();
        bad.phash = None;
        records.push(bad);
        let mut flagged = rec("train/dogs/tiny.png", "train", "dogs");
        flagged.flags.insert(Flag::Tiny);
        flagged.flags.insert(Flag::KerasSkips);
        flagged.phash = None;
        records.push(flagged);
        records.sort_by(|a, b| a.path.cmp(&b.path));
        let leaks = analyze(
            &records,
            &LeakOptions {
                max_distance: Some(2),
                ..Default::default()
            },
        );
        let findings = vec![
            Finding {
                severity: Severity::Problem,
                topic: "leakage".into(),
                headline: "1 of 3 val images (33.3%) have a duplicate in train".into(),
                meaning: "validation accuracy is inflated <b>".into(),
                fix: "cleansplit split ROOT OUT".into(),
            },
            Finding {
                severity: Severity::Ok,
                topic: "imbalance".into(),
                headline: "classes are balanced".into(),
                meaning: String::new(),
                fix: String::new(),
            },
        ];
        Fixture {
            dir,
            records,
            leaks,
            findings,
        }
    }

    fn render_fixture(f: &Fixture, max_items: usize) -> String {
        render(&ReportInput {
            title: "cleansplit audit: <root>".into(),
            root: f.dir.path(),
            records: &f.records,
            leaks: &f.leaks,
            findings: &f.findings,
            max_items,
            max_pixels: crate::scan::DEFAULT_MAX_PIXELS,
        })
    }

    #[test]
    fn page_has_sections_pairs_and_thumbnails() {
        let f = fixture();
        assert_eq!(f.leaks.summary.cross_split_groups, 1, "{:?}", f.leaks.pairs);
        assert_eq!(f.leaks.summary.label_conflict_groups, 1);
        let html = render_fixture(&f, 200);
        for id in [
            "verdict",
            "classes",
            "leakage",
            "cross-split",
            "conflicts",
            "within-split",
            "problems",
        ] {
            assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        let row_start = html.find("<tr class=\"pair\">").expect("a pair row");
        let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
        assert_eq!(
            row.matches("<img class=\"thumb\" src=\"data:image/jpeg;base64,")
                .count(),
            2
        );
        assert!(html.contains("class=\"group conflict\""));
        assert_eq!(html.matches("<tr class=\"problem\">").count(), 2);
        // Charts are inline SVG in their sections.
        let leakage =
            &html[html.find("id=\"leakage\"").unwrap()..html.find("id=\"cross-split\"").unwrap()];
        assert!(leakage.contains("<svg"));
        let classes =
            &html[html.find("id=\"classes\"").unwrap()..html.find("id=\"leakage\"").unwrap()];
        assert!(classes.contains("<svg") && classes.contains("<table"));
        // Verdict: badge, meaning escaped, fix in <code>.
        assert!(html.contains("<code>cleansplit split ROOT OUT</code>"));
        assert!(html.contains("inflated &lt;b&gt;"));
        assert!(html.contains("<span class=\"badge problem\">problem</span>"));
    }

    #[test]
    fn hostile_names_are_text() {
        let f = fixture();
        let html = render_fixture(&f, 200);
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<root>"));
        assert!(!html.contains("<bad>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.jpg"));
        assert!(html.contains("alt=\"val/cats/&lt;img src=x onerror=alert(1)&gt;.jpg\""));
        // Exactly one script element: ours.
        assert_eq!(html.matches("<script").count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_render_lossily() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let mut r = rec("x", "train", "cats");
        r.path = PathBuf::from(std::ffi::OsStr::from_bytes(b"train/cats/caf\xe9<b>.jpg"));
        r.status = crate::index::Status::Truncated;
        let records = vec![r];
        let leaks = analyze(&records, &LeakOptions::default());
        let html = render(&ReportInput {
            title: "t".into(),
            root: dir.path(),
            records: &records,
            leaks: &leaks,
            findings: &[],
            max_items: 10,
            max_pixels: crate::scan::DEFAULT_MAX_PIXELS,
        });
        assert!(html.contains("caf\u{fffd}&lt;b&gt;.jpg"));
        assert_eq!(html.matches("<tr class=\"problem\">").count(), 1);
    }

    #[test]
    fn page_makes_no_requests() {
        let f = fixture();
        let html = render_fixture(&f, 200);
        for needle in ["http://", "https://", "src=\"//", "href=\"//", "url("] {
            assert!(!html.contains(needle), "{needle}");
        }
        // Every src is a data URI; every href an in-page anchor.
        for part in html.split(" src=\"").skip(1) {
            assert!(
                part.starts_with("data:image/jpeg;base64,"),
                "{}",
                &part[..20]
            );
        }
        for part in html.split(" href=\"").skip(1) {
            assert!(part.starts_with('#'), "{}", &part[..20]);
        }
    }

    #[test]
    fn long_lists_are_truncated_with_a_count() {
        let f = fixture();
        let html = render_fixture(&f, 1);
        assert_eq!(html.matches("<tr class=\"problem\">").count(), 1);
        assert!(html.contains("and 1 more files: see the index"), "problems");
        assert!(html.contains("and 1 more classes"));
    }

    #[test]
    fn many_pairs_are_counted_not_rendered() {
        let dir = tempfile::tempdir().unwrap();
        let mut records = Vec::new();
        for i in 0..5u8 {
            for split in ["train", "val"] {
                let path = format!("{split}/x/{i}.jpg");
                // One file of the first pair is missing: its cell says so.
                if !(i == 0 && split == "val") {
                    write_image(dir.path(), &path, i * 50);
                }
                records.push(with_hash(rec(&path, split, "x"), u64::from(i)));
            }
        }
        records.sort_by(|a, b| a.path.cmp(&b.path));
        let leaks = analyze(
            &records,
            &LeakOptions {
                max_distance: Some(0),
                geometric: crate::leaks::Geometric::None,
                no_crop: true,
            },
        );
        let html = render(&ReportInput {
            title: "t".into(),
            root: dir.path(),
            records: &records,
            leaks: &leaks,
            findings: &[],
            max_items: 2,
            max_pixels: crate::scan::DEFAULT_MAX_PIXELS,
        });
        assert_eq!(html.matches("<tr class=\"pair\">").count(), 2);
        assert!(html.contains("and 3 more pairs: see pairs.csv"));
        assert_eq!(
            html.matches("no preview").count(),
            1,
            "a missing file has a placeholder"
        );
        // Thumbnails only for what is rendered: 2 rows x 2 images, one missing.
        assert_eq!(html.matches("data:image/jpeg;base64,").count(), 3);
        assert!(html.contains("No findings."));
    }

    /// Writes a sample page of `testdata/demo` when CLEANSPLIT_SAMPLE_REPORT names a file.
    #[test]
    fn sample_report() {
        let Some(out) = std::env::var_os("CLEANSPLIT_SAMPLE_REPORT") else {
            return;
        };
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
        let tmp = tempfile::tempdir().unwrap();
        let scan = crate::scan::run(
            &root,
            &crate::scan::ScanOptions {
                index: Some(tmp.path().join("index.csv")),
                ..Default::default()
            },
        )
        .unwrap();
        let leaks = analyze(&scan.records, &LeakOptions::default());
        let s = &leaks.summary;
        let val = s.splits.iter().find(|x| x.split == "val");
        let mut findings = vec![Finding {
            severity: if s.cross_split_groups > 0 {
                Severity::Problem
            } else {
                Severity::Ok
            },
            topic: "leakage".into(),
            headline: val.map_or(String::new(), |v| {
                format!(
                    "{} of {} val images ({}) have a duplicate in train",
                    v.leaked,
                    v.images,
                    pct(v.share)
                )
            }),
            meaning: "The model is validated partly on images it trained on: validation accuracy is inflated.".into(),
            fix: "cleansplit split testdata/demo OUT".into(),
        }];
        if s.label_conflict_groups > 0 {
            findings.push(Finding {
                severity: Severity::Problem,
                topic: "label conflicts".into(),
                headline: format!(
                    "{} group(s) hold one image under two classes",
                    s.label_conflict_groups
                ),
                meaning: "The model is taught two answers for the same picture.".into(),
                fix: "cleansplit split --conflicts drop testdata/demo OUT".into(),
            });
        }
        findings.push(Finding {
            severity: Severity::Warning,
            topic: "problem files".into(),
            headline: "4 files cannot be decoded".into(),
            meaning: "Keras stops on the first of them; PyTorch's ImageFolder raises mid-epoch."
                .into(),
            fix: "cleansplit split testdata/demo OUT (leaves them out)".into(),
        });
        findings.push(Finding {
            severity: Severity::Ok,
            topic: "imbalance".into(),
            headline: "classes are within 1.5x of each other in every split".into(),
            meaning: String::new(),
            fix: String::new(),
        });
        let html = render(&ReportInput {
            title: format!("cleansplit audit: {}", scan.root.display()),
            root: &scan.root,
            records: &scan.records,
            leaks: &leaks,
            findings: &findings,
            max_items: 200,
            max_pixels: crate::scan::DEFAULT_MAX_PIXELS,
        });
        std::fs::write(out, html).unwrap();
    }
}
