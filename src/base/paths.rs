//! Path rules shared by every layer: paths as CSV bytes, file extensions, and what counts as a
//! single ordinary path component (labels, class and split names become folder names, so they
//! must not be able to climb out of OUT). Where an output lands is `output`'s.

use std::path::{Component, Path, PathBuf};

/// A path as raw bytes for CSV output (shared by every CSV the tool writes), so non-UTF-8
/// names survive a round trip.
#[cfg(unix)]
pub fn path_field(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
pub fn path_field(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

/// Lower-case extension of a path, if any.
pub fn extension(p: &Path) -> Option<String> {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Why a name cannot be used as one folder or file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComponentError {
    #[error("is empty")]
    Empty,
    #[error("is `.` or `..`")]
    Dot,
    #[error("contains `/` or `\\`")]
    Separator,
    #[error("contains a NUL byte")]
    Nul,
    #[error("is an absolute path")]
    Absolute,
}

/// Checks that `name` is one ordinary path component: not empty, not `.` or `..`, no `/`, `\`
/// or NUL byte, not absolute. Labels, class names and split names pass through here before
/// they become folder names.
pub fn plain_component(name: &str) -> Result<(), ComponentError> {
    if name.is_empty() {
        return Err(ComponentError::Empty);
    }
    if name.contains('\0') {
        return Err(ComponentError::Nul);
    }
    if Path::new(name).is_absolute() {
        return Err(ComponentError::Absolute);
    }
    if name.contains('/') || name.contains('\\') {
        return Err(ComponentError::Separator);
    }
    if name == "." || name == ".." {
        return Err(ComponentError::Dot);
    }
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => Ok(()),
        _ => Err(ComponentError::Dot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_components() {
        for ok in ["cat", "a b", "é", ".hidden", "x..y", "..."] {
            assert_eq!(plain_component(ok), Ok(()), "{ok}");
        }
        assert_eq!(plain_component(""), Err(ComponentError::Empty));
        assert_eq!(plain_component("."), Err(ComponentError::Dot));
        assert_eq!(plain_component(".."), Err(ComponentError::Dot));
        assert_eq!(
            plain_component("../../escaped"),
            Err(ComponentError::Separator)
        );
        assert_eq!(plain_component("a/b"), Err(ComponentError::Separator));
        assert_eq!(plain_component("a\\b"), Err(ComponentError::Separator));
        assert_eq!(plain_component("/etc"), Err(ComponentError::Absolute));
        assert_eq!(plain_component("a\0b"), Err(ComponentError::Nul));
    }

    #[test]
    fn path_bytes_round_trip() {
        let p = Path::new("train/cat/ü.jpg");
        assert_eq!(path_from_bytes(&path_field(p)), p);
    }
}
