//! Destination file names that stay within the file system's limit on one name.

use std::path::Path;

/// Longest file name (one path component) in bytes on Linux, macOS and Windows file systems.
pub const MAX_NAME_BYTES: usize = 255;

/// `stem-<tag as 8 hex digits>.ext` for `file`, shortened so it fits [`MAX_NAME_BYTES`]: the
/// stem is cut first, then the extension, each on bytes at a character boundary.
pub fn tagged(file: &Path, tag: u32) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = file
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let suffix = format!("-{tag:08x}");
    let room = MAX_NAME_BYTES - suffix.len();
    let ext = cut(&ext, room);
    let stem = cut(&stem, room - ext.len());
    format!("{stem}{suffix}{ext}")
}

/// The longest prefix of `s` with at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_keep_their_stem() {
        assert_eq!(tagged(Path::new("cat.jpg"), 0xab), "cat-000000ab.jpg");
        assert_eq!(tagged(Path::new("noext"), 1), "noext-00000001");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        // 250 bytes of stem in two-byte characters, plus ".jpg".
        let long = format!("{}.jpg", "é".repeat(125));
        let name = tagged(Path::new(&long), 0xdeadbeef);
        assert!(name.len() <= MAX_NAME_BYTES, "{}", name.len());
        assert!(name.ends_with("-deadbeef.jpg"));
        assert!(name.starts_with("éé"));
        // 255 - 9 - 4 = 242 bytes of stem: 121 whole characters.
        assert_eq!(name.len(), 121 * 2 + 13);
        // An absurd extension is cut too.
        let name = tagged(Path::new(&format!("a.{}", "x".repeat(300))), 7);
        assert_eq!(name.len(), MAX_NAME_BYTES);
    }
}
