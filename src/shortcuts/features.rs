//! Metadata features of each image, taken from the index alone (nothing is read or decoded),
//! and their discretisation into at most [`MAX_BINS`] codes per feature for the tree.
//!
//! Every feature is something a network sees or that follows from how a file was made, and
//! that says nothing about what the image shows: its size, shape, container, colour mode and
//! compression. If these predict the label, the label and the source are entangled.

use std::collections::HashMap;

use crate::base::flags::Flag;
use crate::index::Record;

/// Codes per feature: enough for size and quality levels, small enough for fast histograms.
pub const MAX_BINS: usize = 32;

/// The metadata of one image the features come from (one index record, status ok).
#[derive(Debug, Clone, PartialEq)]
pub struct FileMeta {
    pub width: u32,
    pub height: u32,
    pub size: u64,
    pub format: String,
    pub color: String,
    /// A non-identity EXIF orientation (2..=8): the file came from a camera or phone.
    pub orientation: bool,
    pub alpha: bool,
    pub gray: bool,
    /// Estimated JPEG encoder quality (`None` for other formats or when unknown).
    pub quality: Option<u8>,
}

impl FileMeta {
    /// The features of an indexed image whose JPEG quality estimate is `quality`.
    pub fn of(r: &Record, quality: Option<u8>) -> FileMeta {
        FileMeta {
            width: r.width,
            height: r.height,
            size: r.size,
            format: crate::index::format_name(r.format).to_string(),
            color: r.color.to_string(),
            orientation: r.orientation > 1,
            alpha: r.flags.contains(Flag::Alpha),
            gray: r.flags.contains(Flag::Gray),
            quality,
        }
    }

    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// File bytes per pixel: a compression proxy (quality, format and content together).
    pub fn bytes_per_pixel(&self) -> f64 {
        self.size as f64 / self.pixels().max(1) as f64
    }
}

/// How a feature's codes are ordered, which decides the splits the tree may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Codes are quantile bins of a number: splits are `value <= threshold`.
    Numeric,
    /// Codes are values: splits are `value == one of them`.
    Categorical,
}

/// One feature column, discretised.
#[derive(Debug, Clone)]
pub struct Feature {
    pub name: &'static str,
    pub kind: Kind,
    /// One code per row.
    pub codes: Vec<u8>,
    /// What each code means: for a numeric bin its upper bound (inclusive) as text; for a
    /// category its value.
    pub labels: Vec<String>,
}

impl Feature {
    pub fn bins(&self) -> usize {
        self.labels.len()
    }
}

/// The names of every feature, in column order (documented in docs/GUIDE.md, "The shortcut check").
pub const NAMES: [&str; 11] = [
    "width",
    "height",
    "aspect",
    "pixels",
    "format",
    "colour",
    "bytes_per_pixel",
    "orientation",
    "alpha",
    "gray",
    "jpeg_quality",
];

/// Position of `bytes_per_pixel` in [`NAMES`].
pub const BYTES_PER_PIXEL: usize = 6;

/// Builds the feature table of `rows` (column-major: one [`Feature`] per entry of [`NAMES`]).
pub fn table(rows: &[&FileMeta]) -> Vec<Feature> {
    let num = |name, f: &dyn Fn(&FileMeta) -> Option<f64>| {
        numeric(name, &rows.iter().map(|m| f(m)).collect::<Vec<_>>())
    };
    let cat = |name, f: &dyn Fn(&FileMeta) -> &str| categorical(name, rows.iter().map(|m| f(m)));
    let flag = |v: bool| if v { "yes" } else { "no" };
    vec![
        num("width", &|m| Some(f64::from(m.width))),
        num("height", &|m| Some(f64::from(m.height))),
        num("aspect", &|m| {
            Some(f64::from(m.width) / f64::from(m.height.max(1)))
        }),
        num("pixels", &|m| Some(m.pixels() as f64)),
        cat("format", &|m| m.format.as_str()),
        cat("colour", &|m| m.color.as_str()),
        num("bytes_per_pixel", &|m| Some(m.bytes_per_pixel())),
        cat("orientation", &|m| flag(m.orientation)),
        cat("alpha", &|m| flag(m.alpha)),
        cat("gray", &|m| flag(m.gray)),
        num("jpeg_quality", &|m| m.quality.map(f64::from)),
    ]
}

/// Quantile bins of a numeric column; `None` (not applicable, e.g. the quality of a PNG)
/// gets its own code 0, labelled `none`.
fn numeric(name: &'static str, values: &[Option<f64>]) -> Feature {
    let mut sorted: Vec<f64> = values.iter().flatten().copied().collect();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    let has_none = values.iter().any(Option::is_none);
    let slots = MAX_BINS - usize::from(has_none);
    // Upper bounds: every distinct value when there are few, else row quantiles (a value
    // shared by many rows is an upper bound itself, so it never straddles two bins).
    let mut uppers: Vec<f64> = if distinct.len() <= slots {
        distinct
    } else {
        (1..=slots)
            .map(|k| sorted[k * sorted.len() / slots - 1])
            .collect()
    };
    uppers.dedup();
    let offset = usize::from(has_none);
    let codes = values
        .iter()
        .map(|v| match v {
            None => 0,
            Some(x) => (offset + uppers.partition_point(|u| u < x).min(uppers.len() - 1)) as u8,
        })
        .collect();
    let mut labels: Vec<String> = Vec::with_capacity(uppers.len() + offset);
    if has_none {
        labels.push("none".into());
    }
    labels.extend(uppers.iter().map(|u| number(*u)));
    Feature {
        name,
        kind: Kind::Numeric,
        codes,
        labels,
    }
}

/// A number as a short label (integers without decimals).
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

/// Codes of a categorical column: the most frequent values get their own code (ties by
/// name, so codes are deterministic), the rest share `other`.
fn categorical<'a>(name: &'static str, values: impl Iterator<Item = &'a str>) -> Feature {
    let values: Vec<&str> = values.collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in &values {
        *counts.entry(*v).or_default() += 1;
    }
    let mut order: Vec<(&str, usize)> = counts.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let keep = if order.len() <= MAX_BINS {
        order.len()
    } else {
        MAX_BINS - 1
    };
    let mut labels: Vec<String> = order[..keep].iter().map(|(v, _)| v.to_string()).collect();
    let index: HashMap<&str, u8> = order[..keep]
        .iter()
        .enumerate()
        .map(|(i, (v, _))| (*v, i as u8))
        .collect();
    let other = keep as u8;
    if keep < order.len() {
        labels.push("other".into());
    }
    let codes = values
        .iter()
        .map(|v| index.get(v).copied().unwrap_or(other))
        .collect();
    Feature {
        name,
        kind: Kind::Categorical,
        codes,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(w: u32, h: u32, format: &str, quality: Option<u8>) -> FileMeta {
        FileMeta {
            width: w,
            height: h,
            size: u64::from(w * h),
            format: format.into(),
            color: "rgb8".into(),
            orientation: false,
            alpha: false,
            gray: false,
            quality,
        }
    }

    #[test]
    fn numeric_bins_are_ordered_and_keep_equal_values_together() {
        let rows: Vec<FileMeta> = (0..1000)
            .map(|i| meta(100 + (i % 50) * 10, 100, "jpeg", Some(75)))
            .collect();
        let t = table(&rows.iter().collect::<Vec<_>>());
        let w = &t[0];
        assert_eq!(w.name, "width");
        assert!(w.bins() <= MAX_BINS);
        for (a, b) in rows.iter().zip(&w.codes) {
            for (c, d) in rows.iter().zip(&w.codes) {
                if a.width < c.width {
                    assert!(b <= d);
                }
                if a.width == c.width {
                    assert_eq!(b, d);
                }
            }
        }
        // A constant column has one bin.
        assert_eq!(t[1].bins(), 1);
    }

    #[test]
    fn missing_quality_has_its_own_code() {
        let rows = [
            meta(10, 10, "png", None),
            meta(10, 10, "jpeg", Some(90)),
            meta(10, 10, "jpeg", Some(75)),
        ];
        let q = &table(&rows.iter().collect::<Vec<_>>())[10];
        assert_eq!(q.labels, ["none", "75", "90"]);
        assert_eq!(q.codes, [0, 2, 1]);
    }

    #[test]
    fn rare_categories_share_other() {
        let rows: Vec<FileMeta> = (0..100)
            .map(|i| {
                let mut m = meta(10, 10, "jpeg", None);
                m.color = format!("c{i}");
                m
            })
            .collect();
        let c = &table(&rows.iter().collect::<Vec<_>>())[5];
        assert_eq!(c.bins(), MAX_BINS);
        assert_eq!(c.labels.last().unwrap(), "other");
        assert_eq!(c.codes.iter().filter(|&&x| x == 31).count(), 100 - 31);
    }
}
