//! What the shortcut check tells a person: per class (or split), its most common metadata in
//! plain words ("NORMAL: 88% are 1,000-1,999 px grayscale JPEG q95"), and a test's headline,
//! meaning and fix (the text output is `report::text::shortcuts`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::Hash;

use rayon::prelude::*;
use serde::Serialize;

use super::features::FileMeta;
use super::{Target, Test};
use crate::base::severity::Severity;

/// A value and the share of a group's images that have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub value: String,
    pub share: f64,
}

/// The telling metadata of one class (or split).
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub group: String,
    pub images: usize,
    pub format: Share,
    pub colour: Share,
    /// The most common exact size (`224x224`) when at least half share it, else the most
    /// common band of the longer side (`1,000-1,999 px`).
    pub size: Share,
    /// The most common JPEG quality among its JPEGs (absent without JPEGs).
    pub jpeg_quality: Option<Share>,
    pub median_bytes_per_pixel: f64,
    /// The most common combination of size, colour, format and quality, in words.
    pub summary: String,
}

/// Plain names of colour types (`l8` -> `grayscale`).
pub fn colour_name(c: &str) -> String {
    match c {
        "l8" => "grayscale",
        "la8" => "grayscale+alpha",
        "l16" => "16-bit grayscale",
        "la16" => "16-bit grayscale+alpha",
        "rgb8" => "RGB",
        "rgba8" => "RGBA",
        "rgb16" => "16-bit RGB",
        "rgba16" => "16-bit RGBA",
        "rgb32f" => "float RGB",
        "rgba32f" => "float RGBA",
        "cmyk8" => "CMYK",
        other => other,
    }
    .to_string()
}

/// Bands of an image's longer side, for groups without one common exact size.
const BANDS: [&str; 5] = [
    "under 256 px",
    "256-511 px",
    "512-999 px",
    "1,000-1,999 px",
    "2,000 px or more",
];

fn band_index(m: &FileMeta) -> u32 {
    match m.width.max(m.height) {
        0..=255 => 0,
        256..=511 => 1,
        512..=999 => 2,
        1000..=1999 => 3,
        _ => 4,
    }
}

/// The most common key of `values`, its count and the number of values (ties: the smallest
/// key, so it is deterministic). Keys are cheap (numbers, `&str`): this runs over every row.
fn mode_of<K: Hash + Eq + Ord + Copy>(
    values: impl Iterator<Item = K>,
) -> Option<(K, usize, usize)> {
    let mut counts: HashMap<K, usize> = HashMap::new();
    let mut n = 0;
    for v in values {
        *counts.entry(v).or_default() += 1;
        n += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(k, c)| (k, c, n))
}

/// [`mode_of`] as a [`Share`], the key put in words by `name`.
fn mode<K: Hash + Eq + Ord + Copy>(
    values: impl Iterator<Item = K>,
    name: impl Fn(K) -> String,
) -> Share {
    match mode_of(values) {
        Some((k, c, n)) => Share {
            value: name(k),
            share: c as f64 / n as f64,
        },
        None => Share {
            value: String::new(),
            share: 0.0,
        },
    }
}

/// One profile per group name that has rows (in `names` order).
pub fn profiles(rows: &[&(FileMeta, &str)], names: &[&str]) -> Vec<Profile> {
    let mut by_group: HashMap<&str, Vec<&FileMeta>> = HashMap::new();
    for (m, g) in rows {
        by_group.entry(g).or_default().push(m);
    }
    names
        .par_iter()
        .filter_map(|name| by_group.get(name).map(|ms| profile(name, ms)))
        .collect()
}

/// A size key: the exact size, or (with `w == 0`) the band index in `h`.
type SizeKey = (u32, u32);

fn profile(name: &str, ms: &[&FileMeta]) -> Profile {
    let exact = mode_of(ms.iter().map(|m| (m.width, m.height)));
    let use_exact = exact.is_some_and(|(_, c, n)| 2 * c >= n);
    let size_key = |m: &FileMeta| -> SizeKey {
        if use_exact {
            (m.width, m.height)
        } else {
            (0, band_index(m))
        }
    };
    let size_name = |k: SizeKey| {
        if k.0 == 0 {
            BANDS[k.1 as usize].to_string()
        } else {
            format!("{}x{}", k.0, k.1)
        }
    };
    let size = mode(ms.iter().map(|m| size_key(m)), size_name);
    let jpeg_quality = ms
        .iter()
        .any(|m| m.quality.is_some())
        .then(|| mode(ms.iter().filter_map(|m| m.quality), |q| format!("q{q}")));
    let mut bpp: Vec<f64> = ms.iter().map(|m| m.bytes_per_pixel()).collect();
    bpp.sort_unstable_by(f64::total_cmp);
    let joint = mode(
        ms.iter()
            .map(|m| (size_key(m), m.color.as_str(), m.format.as_str(), m.quality)),
        |(k, colour, format, q)| {
            let q = q.map(|q| format!(" q{q}")).unwrap_or_default();
            format!(
                "{} {} {}{q}",
                size_name(k),
                colour_name(colour),
                format.to_uppercase()
            )
        },
    );
    Profile {
        group: name.to_string(),
        images: ms.len(),
        format: mode(ms.iter().map(|m| m.format.as_str()), str::to_uppercase),
        colour: mode(ms.iter().map(|m| m.color.as_str()), colour_name),
        size,
        jpeg_quality,
        median_bytes_per_pixel: bpp.get(bpp.len() / 2).copied().unwrap_or(0.0),
        summary: format!("{}: {} are {}", name, pct(joint.share), joint.value),
    }
}

/// A share as a whole percentage (`88%`).
pub fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// A share in words (`JPEG 88%`).
pub fn share(s: &Share) -> String {
    format!("{} {}", s.value, pct(s.share))
}

/// What a flagged test means and what to do, for the verdict and the text output.
pub fn meaning(target: Target) -> &'static str {
    match target {
        Target::Class => {
            "the classes differ in how their files were made (size, format, colour mode, \
             compression): the model can learn the source instead of the content; it will \
             fail on images from elsewhere"
        }
        Target::Split => {
            "the splits were made differently (another pipeline re-encoded or resized one of \
             them): validation scores measure the pipeline as much as the model, and the \
             model may learn the source instead of the content"
        }
    }
}

/// The fix, with the command.
pub fn fix(root: &str) -> String {
    format!(
        "re-encode every image to one size, format and colour mode before training \
         (cleansplit split {root} OUT --normalize 224x224,jpeg,rgb), or rebalance the sources \
         within each class"
    )
}

/// One line for a test: its figures and verdict.
pub fn headline(t: &Test) -> String {
    let what = match t.target {
        Target::Class => "the class",
        Target::Split => "the split",
    };
    let mut s = format!(
        "file metadata alone predicts {what} ({}, {} images) {} of the time vs {} by always \
         answering the most common one",
        t.scope,
        t.images,
        pct(t.accuracy),
        pct(t.baseline)
    );
    if t.severity != Severity::Ok && !t.carriers.is_empty() {
        let names: Vec<&str> = t.carriers.iter().map(|c| c.feature.as_str()).collect();
        let _ = write!(s, "; carried by {}", names.join(", "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(w: u32, h: u32, format: &str, color: &str, quality: Option<u8>) -> FileMeta {
        FileMeta {
            width: w,
            height: h,
            size: 1000,
            format: format.into(),
            color: color.into(),
            orientation: false,
            alpha: false,
            gray: color == "l8",
            quality,
        }
    }

    #[test]
    fn profile_says_exact_size_when_common_else_band() {
        let mut rows = Vec::new();
        for i in 0..10 {
            rows.push((meta(224, 224, "jpeg", "rgb8", Some(75)), "PNEUMONIA"));
            rows.push((meta(1200 + i, 1100, "jpeg", "l8", Some(95)), "NORMAL"));
        }
        rows.push((meta(300, 224, "png", "rgb8", None), "PNEUMONIA"));
        let refs: Vec<&(FileMeta, &str)> = rows.iter().collect();
        let ps = profiles(&refs, &["NORMAL", "PNEUMONIA"]);
        assert_eq!(
            ps[0].summary,
            "NORMAL: 100% are 1,000-1,999 px grayscale JPEG q95"
        );
        assert_eq!(ps[1].summary, "PNEUMONIA: 91% are 224x224 RGB JPEG q75");
        assert_eq!(ps[1].format.value, "JPEG");
        assert!((ps[1].jpeg_quality.as_ref().unwrap().share - 1.0).abs() < 1e-9);
    }
}
