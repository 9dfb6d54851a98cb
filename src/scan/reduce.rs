//! Grayscale reductions: border trimming, area (box) resampling, and the eight dihedral
//! transforms of a square plane.
//!
//! Every hash is computed from one shared reduction (a 64 x 64 area average of the
//! border-trimmed image), so a file is decoded once and resampled once at full size; the
//! rest works on 4,096 values.

use crate::base::hash::Transform;

/// A grayscale plane of `f32` values in `0.0..=255.0`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub w: usize,
    pub h: usize,
    pub px: Vec<f32>,
}

impl Plane {
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.px[y * self.w + x]
    }

    /// Standard deviation of the values: near 0 for blank images.
    pub fn std_dev(&self) -> f32 {
        let n = self.px.len().max(1) as f32;
        let mean = self.px.iter().sum::<f32>() / n;
        (self.px.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt()
    }
}

/// A source rectangle in pixel units; edges may be fractional.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Rect {
    pub fn full(w: usize, h: usize) -> Rect {
        Rect {
            x0: 0.0,
            y0: 0.0,
            x1: w as f32,
            y1: h as f32,
        }
    }

    /// The central `frac` x `frac` part of this rectangle.
    pub fn centre(self, frac: f32) -> Rect {
        let mx = (self.x1 - self.x0) * (1.0 - frac) / 2.0;
        let my = (self.y1 - self.y0) * (1.0 - frac) / 2.0;
        Rect {
            x0: self.x0 + mx,
            y0: self.y0 + my,
            x1: self.x1 - mx,
            y1: self.y1 - my,
        }
    }
}

/// Resampling weights along one axis: output cell `i` covers source pixels
/// `first[i]..first[i] + len[i]` with the normalised overlaps `w[off[i]..off[i] + len[i]]`.
struct AxisWeights {
    first: Vec<usize>,
    len: Vec<usize>,
    off: Vec<usize>,
    w: Vec<f32>,
    /// The same weights padded to `taps` per cell and stored tap by tap: tap `k` of cell `i`
    /// reads source pixel `tap_px[k * n + i]` with weight `tap_w[k * n + i]`. A padding tap
    /// has weight zero, so adding it leaves the cell's sum exactly as it was.
    taps: usize,
    tap_px: Vec<usize>,
    tap_w: Vec<f32>,
}

impl AxisWeights {
    /// Weights for `n` output cells spanning `[a, b)` of a source axis of `src_len` pixels.
    fn new(a: f32, b: f32, n: usize, src_len: usize) -> AxisWeights {
        let step = (b - a) / n as f32;
        let mut aw = AxisWeights {
            first: vec![],
            len: vec![],
            off: vec![],
            w: vec![],
            taps: 0,
            tap_px: vec![],
            tap_w: vec![],
        };
        for i in 0..n {
            let lo = a + step * i as f32;
            let hi = lo + step;
            let first = (lo.floor().max(0.0) as usize).min(src_len - 1);
            let last = (hi.ceil() as usize).clamp(first + 1, src_len);
            let off = aw.w.len();
            aw.w.extend(
                (first..last).map(|k| (hi.min(k as f32 + 1.0) - lo.max(k as f32)).max(0.0)),
            );
            let total: f32 = aw.w[off..].iter().sum();
            let len = last - first;
            for x in &mut aw.w[off..] {
                *x = if total > 0.0 {
                    *x / total
                } else {
                    1.0 / len as f32
                };
            }
            aw.first.push(first);
            aw.len.push(len);
            aw.off.push(off);
        }
        aw.taps = aw.len.iter().copied().max().unwrap_or(0);
        for k in 0..aw.taps {
            for i in 0..n {
                let (first, ws) = aw.cell(i);
                let w = ws.get(k).copied().unwrap_or(0.0);
                aw.tap_px.push((first + k).min(src_len - 1));
                aw.tap_w.push(w);
            }
        }
        aw
    }

    /// Resamples one source line into `out` (one value per cell). Tap by tap over all cells
    /// rather than cell by cell: the cells' sums are independent chains the CPU overlaps,
    /// and each cell still adds its taps in order, so the sums are the same to the bit.
    #[inline(always)]
    fn apply_line<T: Copy + Into<f32>>(&self, line: &[T], out: &mut [f32]) {
        let n = out.len();
        let tap = |k: usize| {
            self.tap_px[k * n..(k + 1) * n]
                .iter()
                .zip(&self.tap_w[k * n..])
        };
        for (o, (&i, &w)) in out.iter_mut().zip(tap(0)) {
            *o = line[i].into() * w;
        }
        for k in 1..self.taps {
            for (o, (&i, &w)) in out.iter_mut().zip(tap(k)) {
                *o += line[i].into() * w;
            }
        }
    }

    fn cell(&self, i: usize) -> (usize, &[f32]) {
        (
            self.first[i],
            &self.w[self.off[i]..self.off[i] + self.len[i]],
        )
    }
}

/// A planned area resampling of a `sw` x `sh` plane's rectangle into `dw` x `dh` cells.
/// Planning once and applying many times keeps the fixed resamplings of the hashes
/// allocation-free on the hot path.
pub struct Resampler {
    sw: usize,
    sh: usize,
    dw: usize,
    dh: usize,
    xw: AxisWeights,
    yw: AxisWeights,
}

/// A resampling from or to a plane with no pixels: a zero width or height that slipped past
/// the decoders (which reject it) must be an error, never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot resample a {sw}x{sh} image to {dw}x{dh}: a side is zero")]
pub struct EmptyPlane {
    pub sw: usize,
    pub sh: usize,
    pub dw: usize,
    pub dh: usize,
}

impl Resampler {
    pub fn new(
        sw: usize,
        sh: usize,
        r: Rect,
        dw: usize,
        dh: usize,
    ) -> Result<Resampler, EmptyPlane> {
        if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
            return Err(EmptyPlane { sw, sh, dw, dh });
        }
        let clamp = |v: f32, hi: usize| v.clamp(0.0, hi as f32);
        let xw = AxisWeights::new(clamp(r.x0, sw), clamp(r.x1, sw), dw, sw);
        let yw = AxisWeights::new(clamp(r.y0, sh), clamp(r.y1, sh), dh, sh);
        Ok(Resampler {
            sw,
            sh,
            dw,
            dh,
            xw,
            yw,
        })
    }

    /// Applies the resampling to a plane of `sw * sh` values.
    #[inline(always)]
    pub fn apply<T: Copy + Into<f32>>(&self, src: &[T]) -> Plane {
        let (sw, dw, dh) = (self.sw, self.dw, self.dh);
        assert_eq!(src.len(), sw * self.sh);
        let row_lo = self.yw.first[0];
        let row_hi = self.yw.first[dh - 1] + self.yw.len[dh - 1];
        // Horizontal pass over the rows the vertical pass needs.
        let mut tmp = vec![0f32; (row_hi - row_lo) * dw];
        for (y, out) in (row_lo..row_hi).zip(tmp.chunks_exact_mut(dw)) {
            self.xw.apply_line(&src[y * sw..(y + 1) * sw], out);
        }
        let mut px = vec![0f32; dw * dh];
        for (oy, out) in px.chunks_exact_mut(dw).enumerate() {
            let (first, ws) = self.yw.cell(oy);
            for (k, &w) in ws.iter().enumerate() {
                let y = first + k - row_lo;
                for (o, &t) in out.iter_mut().zip(&tmp[y * dw..(y + 1) * dw]) {
                    *o += t * w;
                }
            }
        }
        Plane { w: dw, h: dh, px }
    }
}

/// Area-averages the rectangle `r` of a `sw` x `sh` plane into `dw` x `dh` cells.
/// This is a box filter with exact fractional coverage: each source pixel contributes in
/// proportion to how much of it a cell covers, which is what a perceptual hash wants (every
/// pixel counts, no aliasing) and costs about one multiply-add per source pixel.
#[inline(always)]
pub fn area_resize<T: Copy + Into<f32>>(
    src: &[T],
    sw: usize,
    sh: usize,
    r: Rect,
    dw: usize,
    dh: usize,
) -> Result<Plane, EmptyPlane> {
    Ok(Resampler::new(sw, sh, r, dw, dh)?.apply(src))
}

/// Tolerance (gray levels) for a border line to count as uniform. JPEG noise in flat bars
/// stays within it; photo content does not.
const BORDER_TOLERANCE: i64 = 10;

/// Finds uniform borders (letterbox / pillarbox bars, or a plain frame) and returns the
/// rectangle inside them. Each side is trimmed while its outermost remaining line stays
/// within `BORDER_TOLERANCE` of the colour of the side's first line, and by at most 45%
/// of the dimension; a blank image is not trimmed at all.
pub fn trim_borders(px: &[u8], w: usize, h: usize) -> Rect {
    if w < 8 || h < 8 {
        return Rect::full(w, h);
    }
    let max_y = h * 45 / 100;
    let max_x = w * 45 / 100;
    let top = trim_side(max_y, w, |i, k| px[i * w + k]);
    let bottom = trim_side(max_y, w, |i, k| px[(h - 1 - i) * w + k]);
    let left = trim_side(max_x, h, |i, k| px[k * w + i]);
    let right = trim_side(max_x, h, |i, k| px[k * w + w - 1 - i]);
    // Everything uniform: a blank image, keep it whole so it is reported as near-constant.
    if top == max_y && bottom == max_y || left == max_x && right == max_x {
        return Rect::full(w, h);
    }
    Rect {
        x0: left as f32,
        y0: top as f32,
        x1: (w - right) as f32,
        y1: (h - bottom) as f32,
    }
}

/// How many lines of one side (line `i` has `len` pixels `get(i, k)`) are uniform in the
/// colour of the outermost line, up to `limit`.
fn trim_side(limit: usize, len: usize, get: impl Fn(usize, usize) -> u8) -> usize {
    let reference = (0..len).map(|k| i64::from(get(0, k))).sum::<i64>() / len.max(1) as i64;
    let uniform =
        |i: usize| (0..len).all(|k| (i64::from(get(i, k)) - reference).abs() <= BORDER_TOLERANCE);
    (0..limit).take_while(|&i| uniform(i)).count()
}

/// Applies a dihedral transform to a square plane: `dst(x, y) = src(x', y')`, see
/// [`Transform::parts`] for the mapping.
pub fn transform(p: &Plane, t: Transform) -> Plane {
    assert_eq!(p.w, p.h, "dihedral transforms need a square plane");
    let n = p.w;
    let (tr, fx, fy) = t.parts();
    let mut px = Vec::with_capacity(n * n);
    for y in 0..n {
        for x in 0..n {
            let a = if fx { n - 1 - x } else { x };
            let b = if fy { n - 1 - y } else { y };
            let (sx, sy) = if tr { (b, a) } else { (a, b) };
            px.push(p.at(sx, sy));
        }
    }
    Plane { w: n, h: n, px }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_resize_averages_exact_blocks() {
        let src: Vec<u8> = (0..16).collect(); // 4x4
        let p = area_resize(&src, 4, 4, Rect::full(4, 4), 2, 2).unwrap();
        assert_eq!(p.px, vec![2.5, 4.5, 10.5, 12.5]);
    }

    #[test]
    fn area_resize_keeps_constant_and_handles_fractions() {
        let src = vec![7u8; 37 * 23];
        let p = area_resize(&src, 37, 23, Rect::full(37, 23).centre(0.9), 9, 8).unwrap();
        assert!(p.px.iter().all(|v| (v - 7.0).abs() < 1e-4));
        // Upscaling a 2x2 image works (tiny inputs).
        let p = area_resize(&[0u8, 255, 0, 255], 2, 2, Rect::full(2, 2), 4, 4).unwrap();
        assert_eq!(p.at(0, 0), 0.0);
        assert_eq!(p.at(3, 3), 255.0);
    }

    #[test]
    fn zero_sides_are_an_error_not_a_panic() {
        let e = area_resize::<u8>(&[], 0, 5, Rect::full(0, 5), 64, 64).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot resample a 0x5 image to 64x64: a side is zero"
        );
        assert!(area_resize::<u8>(&[], 5, 0, Rect::full(5, 0), 64, 64).is_err());
        assert!(area_resize(&[1u8; 4], 2, 2, Rect::full(2, 2), 0, 3).is_err());
    }

    #[test]
    fn trims_letterbox_bars() {
        let (w, h) = (40, 40);
        let mut px = vec![0u8; w * h];
        for y in 8..32 {
            for x in 0..w {
                px[y * w + x] = ((x * 7 + y * 13) % 200 + 30) as u8;
            }
        }
        let r = trim_borders(&px, w, h);
        assert_eq!(
            r,
            Rect {
                x0: 0.0,
                y0: 8.0,
                x1: 40.0,
                y1: 32.0
            }
        );
        // A blank image is not trimmed.
        assert_eq!(trim_borders(&vec![0u8; w * h], w, h), Rect::full(w, h));
    }

    #[test]
    fn transforms_compose_like_the_dihedral_group() {
        let p = Plane {
            w: 3,
            h: 3,
            px: (0..9).map(|v| v as f32).collect(),
        };
        for t in Transform::ALL {
            let back = transform(&transform(&p, t), t.inverse());
            assert_eq!(back, p, "{t:?}");
        }
        // Rotating 90 degrees clockwise: the new top-left is the old bottom-left.
        assert_eq!(transform(&p, Transform::Rot90).at(0, 0), p.at(0, 2));
    }
}
