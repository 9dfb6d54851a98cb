//! What the scan concluded about a file: its [`Status`] and its [`Flags`]. Written to and
//! read from the index by name, so these names are a file-format contract.

use std::fmt;
use std::str::FromStr;

/// Outcome of reading and decoding one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Decoded completely; hashes are valid.
    Ok,
    /// Zero bytes.
    Empty,
    /// The container ends early (missing JPEG EOI, PNG IEND, GIF trailer, short RIFF/BMP).
    Truncated,
    /// The decoder rejected the data.
    Corrupt,
    /// A format this build cannot decode (or not an image at all despite its name).
    Unsupported,
    /// More pixels than `--max-pixels` (a decompression bomb guard), checked before allocating.
    TooLarge,
    /// The file could not be read (permissions, I/O error, a directory, a broken link).
    Unreadable,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Ok,
        Status::Empty,
        Status::Truncated,
        Status::Corrupt,
        Status::Unsupported,
        Status::TooLarge,
        Status::Unreadable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Empty => "empty",
            Status::Truncated => "truncated",
            Status::Corrupt => "corrupt",
            Status::Unsupported => "unsupported",
            Status::TooLarge => "too_large",
            Status::Unreadable => "unreadable",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown status {s:?}"))
    }
}

/// Things a Keras/PyTorch user should know about an image that decoded fine (or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// The extension names another format than the bytes hold.
    ExtMismatch,
    /// Keras' directory loaders skip it (extension not bmp/gif/jpeg/jpg/png) or fail on it
    /// (content not one of those formats).
    KerasSkips,
    /// Under 32 px on a side.
    Tiny,
    /// Single-channel image.
    Gray,
    /// Has an alpha channel.
    Alpha,
    /// CMYK/YCCK JPEG.
    Cmyk,
    /// 16 bits (or more) per channel.
    HighBitDepth,
    /// More than one frame (GIF, APNG, WebP).
    Animated,
    /// Nearly uniform: its perceptual hash says nothing about its content.
    NearConstant,
}

impl Flag {
    pub const ALL: [Flag; 9] = [
        Flag::ExtMismatch,
        Flag::KerasSkips,
        Flag::Tiny,
        Flag::Gray,
        Flag::Alpha,
        Flag::Cmyk,
        Flag::HighBitDepth,
        Flag::Animated,
        Flag::NearConstant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::ExtMismatch => "ext_mismatch",
            Flag::KerasSkips => "keras_skips",
            Flag::Tiny => "tiny",
            Flag::Gray => "gray",
            Flag::Alpha => "alpha",
            Flag::Cmyk => "cmyk",
            Flag::HighBitDepth => "16bit",
            Flag::Animated => "animated",
            Flag::NearConstant => "near_constant",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A small set of [`Flag`]s, written as `a;b;c` in the CSV.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u16);

impl Flags {
    pub fn insert(&mut self, f: Flag) {
        self.0 |= f.bit();
    }
    pub fn remove(&mut self, f: Flag) {
        self.0 &= !f.bit();
    }
    pub fn contains(self, f: Flag) -> bool {
        self.0 & f.bit() != 0
    }
    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.into_iter().filter(move |f| self.contains(*f))
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Flag::as_str).collect();
        f.write_str(&names.join(";"))
    }
}

impl FromStr for Flags {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut flags = Flags::default();
        for name in s.split(';').filter(|n| !n.is_empty()) {
            let flag = Flag::ALL
                .into_iter()
                .find(|f| f.as_str() == name)
                .ok_or_else(|| format!("unknown flag {name:?}"))?;
            flags.insert(flag);
        }
        Ok(flags)
    }
}
