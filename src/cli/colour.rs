//! Colour for the verdict on a terminal. The library renders plain text; here the severity
//! tags get ANSI styles and everything is printed through `anstream`, which strips them when
//! stdout is not a terminal, when `NO_COLOR` is set (or `CLICOLOR=0`), and keeps them with
//! `CLICOLOR_FORCE=1`. anstream/anstyle are what clap itself uses for its help, so no new
//! crate enters the build for this.

use anstyle::{AnsiColor, Style};

const PROBLEM: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const OK: Style = AnsiColor::Green.on_default();

/// The style of a severity tag as the verdict prints it (`PROBLEM`, `warning`, `ok`).
fn style_of(tag: &str) -> Option<Style> {
    match tag {
        "PROBLEM" => Some(PROBLEM),
        "warning" => Some(WARNING),
        "ok" => Some(OK),
        _ => None,
    }
}

/// Styles the tag at the start of each finding line (`  PROBLEM  topic: ...`) and the
/// verdict line itself. Other text is left as it is.
pub fn paint_verdict(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("verdict: ") {
            let style = if rest.contains("problem(s)") {
                PROBLEM
            } else if rest.contains("warning(s)") {
                WARNING
            } else {
                OK
            };
            let body = rest.trim_end_matches('\n');
            out.push_str(&format!("verdict: {style}{body}{style:#}"));
            out.push_str(&rest[body.len()..]);
            continue;
        }
        let painted = line.strip_prefix("  ").and_then(|rest| {
            let tag = rest.split(' ').next()?;
            let style = style_of(tag)?;
            Some(format!("  {style}{tag}{style:#}{}", &rest[tag.len()..]))
        });
        out.push_str(painted.as_deref().unwrap_or(line));
    }
    out
}

/// Prints `text` to stdout, keeping its styles only where colour is wanted.
pub fn print(text: &str) {
    // anstream decides (terminal, NO_COLOR, CLICOLOR_FORCE); the write itself goes through
    // `out`, so a closed pipe ends the printing quietly instead of panicking.
    let stdout = std::io::stdout();
    if anstream::AutoStream::choice(&stdout) == anstream::ColorChoice::Never {
        super::out::stdout(format_args!("{}", anstream::adapter::strip_str(text)));
    } else {
        super::out::stdout(format_args!("{text}"));
    }
}

/// Styles the `warning` tag of lines that start with `warning:` (the merge summary).
pub fn paint_warnings(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("warning:") {
            Some(rest) => out.push_str(&format!("{WARNING}warning{WARNING:#}:{rest}")),
            None => out.push_str(line),
        }
    }
    out
}
