//! Local features for augmented copies (issue 22): ORB-style keypoints with 256-bit steered
//! BRIEF descriptors, computed in the same single read and decode as the hashes.
//!
//! A rotation by a few degrees, a 10% shift or a zoom moves every DCT coefficient of the
//! 256-bit hash, so copies that Keras' `ImageDataGenerator` writes sit at chance distance.
//! Local features survive them: corners are found again after any similarity or mild affine
//! transform, each corner's descriptor is taken in its own orientation, and the geometric
//! verification (`crate::near::affine`) asks whether many of them agree on one transform.
//!
//! Per image (docs/DESIGN.md "Augmented copies"): the decoded grayscale image is area-resized so its
//! long side is at most [`TARGET_SIDE`] pixels (the working frame; a JPEG whose DCT scale
//! already gives 7/8 of that or more is used as decoded); a pyramid of [`LEVELS`] levels,
//! each [`LEVEL_SCALE`] smaller; FAST-9 corners on each level (`fast`), ranked by the Harris
//! response after 3 x 3 suppression, at most [`MAX_FEATURES`] in all (shared between levels
//! by area); orientation by the intensity centroid of a radius-15 disc; a 256-bit descriptor
//! from 256 intensity comparisons of the level smoothed by a 9-tap binomial filter, the
//! pattern precomputed at 32 orientation bins (`brief`).
//!
//! Cost (docs/BENCHMARKS.md "Scan cost"): everything per pixel runs a row at a time so it
//! vectorises (FAST's segment test, Sobel products, smoothing, the orientation's moments,
//! the pyramid's fixed-point resampling), compiled for AVX2 as well and chosen at run time
//! ([`extract`]); Harris from sliding column sums, suppression among the corners only.
//! `reference` (tests) keeps the straightforward version and a test pins that both give the
//! same features.
//!
//! The sampling pattern is mirror-symmetric: pair `i + 128` is pair `i` mirrored across the
//! keypoint's own axis, so the descriptor of the same corner in a left-right mirrored image
//! is this descriptor with its two 128-bit halves swapped ([`mirrored`]). Like the hashes'
//! flips ("transform the hash, not the image"), a mirrored copy needs no second extraction.

mod brief;
mod fast;
pub(crate) mod rescan;
pub mod sidecar;

use crate::base::hash::Hash256;
use crate::scan::reduce::{Rect, area_resize};

/// Long side of the working frame, in pixels (measured: docs/DESIGN.md "Augmented copies").
pub const TARGET_SIDE: usize = 256;
/// Most keypoints kept per image.
pub const MAX_FEATURES: usize = 300;
/// Pyramid levels.
pub const LEVELS: usize = 3;
/// Scale step between levels.
pub const LEVEL_SCALE: f32 = 1.3;
/// FAST threshold (gray levels).
pub const FAST_THRESHOLD: u8 = 20;
/// No keypoint closer than this to a level's edge (the rotated pattern and the orientation
/// disc fit inside).
const BORDER: usize = 16;

/// One keypoint, in working-frame pixels (level 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    /// Orientation in radians (`atan2` of the intensity centroid).
    pub angle: f32,
    /// Pyramid level the corner was found on (its scale is `LEVEL_SCALE^level`).
    pub level: u8,
}

/// The local features of one image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Working frame size.
    pub w: u16,
    pub h: u16,
    pub points: Vec<Keypoint>,
    pub desc: Vec<Hash256>,
}

impl Features {
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// The descriptor of the same corner in the left-right mirrored image (see the module doc).
pub fn mirrored(d: &Hash256) -> Hash256 {
    Hash256([d.0[2], d.0[3], d.0[0], d.0[1]])
}

/// A grayscale `u8` image.
#[derive(Debug, Clone)]
pub struct Gray {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

/// `v.round()` (half away from zero) as an integer, for `|v| < 2^23`, without the libm
/// call `f32::round` compiles to on baseline x86-64: the fractional part `v - trunc(v)` is
/// exact in f32, so comparing it with one half decides exactly as `round` does.
#[inline]
fn round(v: f32) -> i32 {
    let t = v as i32;
    let f = v - t as f32;
    t + i32::from(f >= 0.5) - i32::from(f <= -0.5)
}

/// A resampled plane to `u8`, as `v.round().clamp(0.0, 255.0) as u8` (without libm's
/// `roundf`; `round` below for why it is exact).
#[inline(always)]
fn to_gray(p: crate::scan::reduce::Plane) -> Gray {
    Gray {
        w: p.w,
        h: p.h,
        px: p
            .px
            .iter()
            .map(|&v| {
                // v >= 0 after the clamp (the values below 0.5 round to 0 either way).
                let v = v.clamp(0.0, 255.0);
                let t = v as u8;
                t + u8::from(v - f32::from(t) >= 0.5)
            })
            .collect(),
    }
}

/// Fixed-point weights of an area (box) resampling of `src` pixels into `dst <= src` cells:
/// cell `i` spans `[i * src, (i + 1) * src)` in units of `1 / dst` pixel, source pixel `k`
/// spans `[k * dst, (k + 1) * dst)`, and the weight is the overlap over `src` in units of
/// 2^-16, rounded. Exact integer overlaps, so cell `dst - 1 - i` has cell `i`'s weights
/// reversed (a mirrored level is the mirrored level). Returns each cell's first pixel and
/// `taps` weights (zero padded; the padded pixels are clamped to the axis).
pub(crate) fn shrink_weights(src: usize, dst: usize) -> (usize, Vec<usize>, Vec<u32>) {
    let taps = (src.div_ceil(dst) + 1).min(src);
    let mut first = Vec::with_capacity(dst);
    let mut w = vec![0u32; dst * taps];
    for i in 0..dst {
        let (lo, hi) = (i * src, (i + 1) * src);
        let f = lo / dst;
        first.push(f.min(src - taps));
        let base = first[i];
        for k in base..(base + taps).min(src) {
            let overlap = hi.min((k + 1) * dst).saturating_sub(lo.max(k * dst));
            w[i * taps + k - base] =
                ((overlap as u64 * 65536 + src as u64 / 2) / src as u64) as u32;
        }
    }
    (taps, first, w)
}

/// A pyramid level: `g` area-averaged to `dw` x `dh` (each at most `g`'s) in fixed point, a
/// vertical pass (rows into `u32`) then a horizontal one (`u64`), rounded once at the end.
#[inline(always)]
fn shrink(g: &Gray, dw: usize, dh: usize) -> Gray {
    let (sw, sh) = (g.w, g.h);
    let (xt, xf, xw) = shrink_weights(sw, dw);
    let (yt, yf, yw) = shrink_weights(sh, dh);
    let mut col = vec![0u32; sw];
    let mut px = vec![0u8; dw * dh];
    for (oy, out) in px.chunks_exact_mut(dw).enumerate() {
        col.fill(0);
        for (k, &wk) in yw[oy * yt..(oy + 1) * yt].iter().enumerate() {
            if wk == 0 {
                continue;
            }
            let row = &g.px[(yf[oy] + k) * sw..][..sw];
            col.iter_mut()
                .zip(row)
                .for_each(|(c, &v)| *c += wk * u32::from(v));
        }
        // Every cell's taps lie inside the row (`first + taps <= sw`).
        let round = |acc: u64| ((acc + (1 << 31)) >> 32).min(255) as u8;
        if xt == 3 {
            for ((o, &f), ws) in out.iter_mut().zip(&xf).zip(xw.chunks_exact(3)) {
                let v = &col[f..f + 3];
                *o = round(
                    u64::from(ws[0]) * u64::from(v[0])
                        + u64::from(ws[1]) * u64::from(v[1])
                        + u64::from(ws[2]) * u64::from(v[2]),
                );
            }
        } else {
            for ((o, &f), ws) in out.iter_mut().zip(&xf).zip(xw.chunks_exact(xt)) {
                let acc = ws
                    .iter()
                    .zip(&col[f..f + xt])
                    .map(|(&wk, &v)| u64::from(wk) * u64::from(v))
                    .sum();
                *o = round(acc);
            }
        }
    }
    Gray { w: dw, h: dh, px }
}

/// The working frame: the real extent of a decoded image area-resized to a long side of at
/// most [`TARGET_SIDE`] (never enlarged).
#[inline(always)]
pub fn working_frame(gray: &[u8], w: usize, h: usize, extent: (f32, f32)) -> Option<Gray> {
    let (ew, eh) = (extent.0.min(w as f32), extent.1.min(h as f32));
    let long = ew.max(eh);
    if long < 1.0 {
        return None;
    }
    let k = (TARGET_SIDE as f32 / long).min(1.0);
    let (dw, dh) = (
        ((ew * k).round() as usize).max(1),
        ((eh * k).round() as usize).max(1),
    );
    if dw == w && dh == h {
        return Some(Gray {
            w,
            h,
            px: gray.to_vec(),
        });
    }
    let r = Rect {
        x0: 0.0,
        y0: 0.0,
        x1: ew,
        y1: eh,
    };
    area_resize(gray, w, h, r, dw, dh).ok().map(to_gray)
}

/// Features of a decoded grayscale image (see the module doc).
pub fn extract(gray: &[u8], w: usize, h: usize, extent: (f32, f32)) -> Features {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { extract_avx2(gray, w, h, extent) };
    }
    extract_inline(gray, w, h, extent)
}

/// [`extract`] compiled for AVX2: the same code (the row loops below are inlined into it),
/// so the same integer and `f32` operations in the same order, on 256-bit vectors. No FMA
/// (not enabled, and Rust never fuses a multiply and an add on its own), so the features
/// are identical to the bit (a test compares both).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn extract_avx2(gray: &[u8], w: usize, h: usize, extent: (f32, f32)) -> Features {
    extract_inline(gray, w, h, extent)
}

#[inline(always)]
fn extract_inline(gray: &[u8], w: usize, h: usize, extent: (f32, f32)) -> Features {
    match working_frame(gray, w, h, extent) {
        Some(g) => extract_frame_inline(&g),
        None => Features::default(),
    }
}

/// Features of an image already in its working frame (AVX2 when the CPU has it, as
/// [`extract`]).
pub fn extract_frame(g: &Gray) -> Features {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { extract_frame_avx2(g) };
    }
    extract_frame_inline(g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn extract_frame_avx2(g: &Gray) -> Features {
    extract_frame_inline(g)
}

/// [`extract_frame`] without the dispatch (the portable build; tests compare both).
#[cfg(test)]
pub(crate) fn extract_frame_portable(g: &Gray) -> Features {
    extract_frame_inline(g)
}

#[inline(always)]
fn extract_frame_inline(g: &Gray) -> Features {
    let mut out = Features {
        w: g.w.min(u16::MAX as usize) as u16,
        h: g.h.min(u16::MAX as usize) as u16,
        ..Features::default()
    };
    // Quotas per level in proportion to the level's area.
    let areas: Vec<f32> = (0..LEVELS)
        .map(|l| LEVEL_SCALE.powi(-2 * l as i32))
        .collect();
    let total: f32 = areas.iter().sum();
    let mut resized;
    let mut offsets = brief::Offsets::default();
    for (l, area) in areas.iter().enumerate() {
        let mut level = g;
        if l > 0 {
            let s = LEVEL_SCALE.powi(l as i32);
            let (dw, dh) = (
                (g.w as f32 / s).round() as usize,
                (g.h as f32 / s).round() as usize,
            );
            if dw < 2 * BORDER + 8 || dh < 2 * BORDER + 8 {
                break;
            }
            resized = shrink(g, dw, dh);
            level = &resized;
        }
        if level.w < 2 * BORDER + 8 || level.h < 2 * BORDER + 8 {
            break;
        }
        let quota = ((MAX_FEATURES as f32) * area / total).round() as usize;
        let corners = fast::corners(level, FAST_THRESHOLD, BORDER, quota);
        if corners.is_empty() {
            continue;
        }
        let smooth = brief::smooth(level);
        offsets.reset(level.w);
        let (sx, sy) = (g.w as f32 / level.w as f32, g.h as f32 / level.h as f32);
        for (x, y) in corners {
            let (c, s, angle) = brief::orientation(level, x, y);
            out.desc
                .push(offsets.describe(&smooth, x, y, brief::bin_of(c, s)));
            out.points.push(Keypoint {
                // Pixel centres: level pixel i covers [i * s, (i + 1) * s) of level 0.
                x: (x as f32 + 0.5) * sx - 0.5,
                y: (y as f32 + 0.5) * sy - 0.5,
                angle,
                level: l as u8,
            });
        }
    }
    out
}

#[cfg(test)]
mod reference;
#[cfg(test)]
pub(crate) mod tests;
