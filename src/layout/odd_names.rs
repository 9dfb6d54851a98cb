//! Odd file names: the ones that break scripts or cannot travel.
//!
//! A dataset is copied, zipped, listed in shell loops and moved between machines. Three kinds
//! of names break that, each a flag on the record (docs/FORMATS.md "The index"):
//! - `control_char`: a control character (a newline, a tab, an escape) in any component of
//!   the path; `for f in $(ls)` and line-based tools split or garble it;
//! - `leading_dash`: a component starting with `-`, read as an option by `rm`, `cp`, `mv`
//!   (`-rf.jpg`);
//! - `windows_name`: a name Windows cannot hold: one of `< > : " \ | ? *` or a control
//!   character, a trailing dot or space, a reserved device name (`CON`, `PRN`, `AUX`, `NUL`,
//!   `COM1`-`COM9`, `LPT1`-`LPT9`, with any extension), or bytes that are not UTF-8 (Windows
//!   names are UTF-16).

use std::path::{Component, Path};

use crate::base::flags::{Flag, Flags};

/// Windows' reserved device names (case-insensitive, with or without an extension).
const RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Characters Windows does not allow in a file name (besides control characters).
const WINDOWS_FORBIDDEN: [char; 8] = ['<', '>', ':', '"', '\\', '|', '?', '*'];

/// The name flags of a path relative to ROOT (every component is checked: a class folder
/// named `CON` is as unportable as a file).
pub fn name_flags(rel: &Path) -> Flags {
    let mut flags = Flags::default();
    // Fast path (every reused record of a rescan comes here): a UTF-8 path with `/` only is
    // split on bytes, as `components` would split it, without parsing it.
    if let Some(text) = rel.to_str()
        && !text.contains('\\')
        && !text.starts_with('/')
    {
        for name in text.split('/') {
            if !matches!(name, "" | "." | "..") {
                check(name, &mut flags);
            }
        }
        return flags;
    }
    by_components(rel)
}

/// [`name_flags`] by `Path::components` (any path: not UTF-8, `\\`, absolute).
fn by_components(rel: &Path) -> Flags {
    let mut flags = Flags::default();
    for c in rel.components() {
        let Component::Normal(os) = c else { continue };
        let Some(name) = os.to_str() else {
            // Not UTF-8: lossy text for the other checks, and Windows cannot hold it.
            flags.insert(Flag::WindowsName);
            check(&os.to_string_lossy(), &mut flags);
            continue;
        };
        check(name, &mut flags);
    }
    flags
}

fn check(name: &str, flags: &mut Flags) {
    // One pass over the bytes for the ASCII cases (every reused record of a rescan comes here);
    // the C1 controls (U+0080-U+009F) only where there is non-ASCII text.
    let (mut control, mut forbidden) = (false, false);
    for &b in name.as_bytes() {
        control |= b < 0x20 || b == 0x7f;
        forbidden |= b.is_ascii() && WINDOWS_FORBIDDEN.contains(&char::from(b));
    }
    if control || !name.is_ascii() && name.chars().any(char::is_control) {
        flags.insert(Flag::ControlChar);
        flags.insert(Flag::WindowsName);
    }
    if name.starts_with('-') {
        flags.insert(Flag::LeadingDash);
    }
    let stem = name.split('.').next().unwrap_or("").trim_end();
    if forbidden
        || name.ends_with('.')
        || name.ends_with(' ')
        || matches!(stem.len(), 3 | 4) && RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem))
    {
        flags.insert(Flag::WindowsName);
    }
}

/// Sets the name flags of a record from its path, clearing stale ones (a reused record keeps
/// its path, but an index written by an older version has none of these flags).
pub fn apply(path: &Path, flags: &mut Flags) {
    let found = name_flags(path);
    for f in [Flag::ControlChar, Flag::LeadingDash, Flag::WindowsName] {
        flags.set(f, found.contains(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<&'static str> {
        name_flags(Path::new(p)).iter().map(Flag::as_str).collect()
    }

    #[test]
    fn ordinary_names_have_no_flags() {
        assert!(names("train/cats/cat.001.jpg").is_empty());
        assert!(names("train/cats/a-b_c (1).jpeg").is_empty());
        assert!(names("train/Ünïcödé/猫.png").is_empty());
        assert!(names("train/console/conference.jpg").is_empty());
    }

    #[test]
    fn control_characters() {
        assert_eq!(
            names("train/cats/new\nline.jpg"),
            vec!["control_char", "windows_name"]
        );
        assert_eq!(
            names("train/c\tat/a.jpg"),
            vec!["control_char", "windows_name"]
        );
        // A C1 control (U+0085, NEL) in UTF-8 text; and DEL.
        assert_eq!(
            names("train/cats/a\u{85}b.jpg"),
            vec!["control_char", "windows_name"]
        );
        assert_eq!(
            names("train/cats/a\u{7f}.jpg"),
            vec!["control_char", "windows_name"]
        );
    }

    #[test]
    fn leading_dash_anywhere_in_the_path() {
        assert_eq!(names("train/cats/-rf.jpg"), vec!["leading_dash"]);
        assert_eq!(names("train/-x/a.jpg"), vec!["leading_dash"]);
        assert!(names("train/cats/a-.jpg").is_empty());
    }

    #[test]
    fn windows_cannot_hold() {
        for p in [
            "train/cats/a:b.jpg",
            "train/cats/q\"uote.jpg",
            "train/cats/why?.jpg",
            "train/cats/star*.png",
            "train/cats/pipe|.png",
            "train/cats/back\\slash.png",
            "train/cats/trailing.",
            "train/cats/trailing ",
            "train/CON/a.jpg",
            "train/cats/nul.jpg",
            "train/cats/Com1.tar.png",
        ] {
            assert_eq!(names(p), vec!["windows_name"], "{p}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn bytes_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"train/cats/bad\xffname.jpg"));
        assert!(name_flags(p).contains(Flag::WindowsName));
    }

    #[test]
    fn fast_path_splits_as_components_do() {
        for p in [
            "a//CON.jpg",
            "./x/-a.jpg",
            "a/./b:c/x.jpg",
            "a/../nul",
            "train/cats/a.jpg",
            "t\tx/a.",
            "dir/",
            "a/b /c",
        ] {
            assert_eq!(name_flags(Path::new(p)), by_components(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn apply_clears_stale_flags() {
        let mut f = Flags::default();
        f.insert(Flag::LeadingDash);
        f.insert(Flag::Gray);
        apply(Path::new("train/cats/a.jpg"), &mut f);
        assert!(!f.contains(Flag::LeadingDash));
        assert!(f.contains(Flag::Gray));
    }
}
