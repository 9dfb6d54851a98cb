//! The straightforward extraction as it was before the cost work (issue 22 item 5), kept
//! to pin that the optimised one computes exactly the same features.

use super::{BORDER, FAST_THRESHOLD, Features, Gray, Keypoint, LEVEL_SCALE, LEVELS, MAX_FEATURES};
use crate::base::hash::Hash256;

/// The segment test's circle is a definition, not part of what is pinned: shared.
use super::fast::CIRCLE;

/// Whether a circular 16-bit mask has a run of at least 9 set bits.
fn has_run9(mask: u32) -> bool {
    let m = mask | (mask << 16);
    let mut r = m;
    for k in 1..9 {
        r &= m >> k;
    }
    r != 0
}

/// Harris response (k = 0.04) over a 7 x 7 window of Sobel gradients centred on (x, y).
fn harris(g: &Gray, x: usize, y: usize) -> f64 {
    let (mut a, mut b, mut c) = (0i64, 0i64, 0i64);
    let w = g.w;
    let p = |xx: usize, yy: usize| i64::from(g.px[yy * w + xx]);
    for yy in y - 3..=y + 3 {
        for xx in x - 3..=x + 3 {
            let ix = (p(xx + 1, yy - 1) + 2 * p(xx + 1, yy) + p(xx + 1, yy + 1))
                - (p(xx - 1, yy - 1) + 2 * p(xx - 1, yy) + p(xx - 1, yy + 1));
            let iy = (p(xx - 1, yy + 1) + 2 * p(xx, yy + 1) + p(xx + 1, yy + 1))
                - (p(xx - 1, yy - 1) + 2 * p(xx, yy - 1) + p(xx + 1, yy - 1));
            a += ix * ix;
            b += iy * iy;
            c += ix * iy;
        }
    }
    let (a, b, c) = (a as f64, b as f64, c as f64);
    a * b - c * c - 0.04 * (a + b) * (a + b)
}

/// FAST-9 corners at least `border` pixels from every edge, the `quota` strongest by Harris
/// response after 3 x 3 non-maximum suppression; ties broken by position.
pub fn corners(g: &Gray, threshold: i16, border: usize, quota: usize) -> Vec<(usize, usize)> {
    let (w, h) = (g.w, g.h);
    if w < 2 * border + 1 || h < 2 * border + 1 || quota == 0 {
        return Vec::new();
    }
    let offs: Vec<isize> = CIRCLE
        .iter()
        .map(|&(dx, dy)| dy as isize * w as isize + dx as isize)
        .collect();
    let mut score = vec![0f64; w * h];
    let mut found: Vec<(usize, usize)> = Vec::new();
    for y in border..h - border {
        for x in border..w - border {
            let i = y * w + x;
            let v = i16::from(g.px[i]);
            let (hi, lo) = (v + threshold, v - threshold);
            let at = |k: usize| i16::from(g.px[(i as isize + offs[k]) as usize]);
            // Of the four compass points at least two must be brighter (or darker) for a
            // run of nine.
            let compass = [at(0), at(4), at(8), at(12)];
            let bright = compass.iter().filter(|&&p| p > hi).count();
            let dark = compass.iter().filter(|&&p| p < lo).count();
            if bright < 2 && dark < 2 {
                continue;
            }
            let (mut mb, mut md) = (0u32, 0u32);
            for k in 0..16 {
                let p = at(k);
                mb |= u32::from(p > hi) << k;
                md |= u32::from(p < lo) << k;
            }
            if has_run9(mb) || has_run9(md) {
                let r = harris(g, x, y);
                if r > 0.0 {
                    score[i] = r;
                    found.push((x, y));
                }
            }
        }
    }
    let mut kept: Vec<(f64, usize, usize)> = found
        .into_iter()
        .filter(|&(x, y)| {
            let s = score[y * w + x];
            (y - 1..=y + 1).all(|yy| (x - 1..=x + 1).all(|xx| score[yy * w + xx] <= s))
        })
        .map(|(x, y)| (score[y * w + x], x, y))
        .collect();
    kept.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| (a.2, a.1).cmp(&(b.2, b.1)))
    });
    kept.truncate(quota);
    kept.into_iter().map(|(_, x, y)| (x, y)).collect()
}

/// Radius of the orientation disc.
const DISC: i32 = 15;

/// 9-tap binomial smoothing (sigma 2 per axis), integer arithmetic and clamped edges, so it commutes exactly with a mirror.
pub fn smooth(g: &Gray) -> Gray {
    const K: [u32; 9] = [1, 8, 28, 56, 70, 56, 28, 8, 1];
    let (w, h) = (g.w, g.h);
    let mut tmp = vec![0u32; w * h];
    for y in 0..h {
        let row = &g.px[y * w..(y + 1) * w];
        for x in 0..w {
            let mut s = 0u32;
            for (k, &kw) in K.iter().enumerate() {
                let xx = (x as isize + k as isize - 4).clamp(0, w as isize - 1) as usize;
                s += kw * u32::from(row[xx]);
            }
            tmp[y * w + x] = s;
        }
    }
    let mut px = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0u32;
            for (k, &kw) in K.iter().enumerate() {
                let yy = (y as isize + k as isize - 4).clamp(0, h as isize - 1) as usize;
                s += kw * tmp[yy * w + x];
            }
            px[y * w + x] = ((s + (1 << 15)) >> 16) as u8;
        }
    }
    Gray { w, h, px }
}

/// The orientation disc's half-widths (the optimised code's table, unchanged).
fn disc_rows() -> &'static [i32; (2 * DISC + 1) as usize] {
    super::brief::disc_rows()
}

/// `(cos, sin, angle)` of the intensity centroid of the disc around (x, y). Cos and sin come
/// straight from the moments, so a mirror negates the cosine exactly.
pub fn orientation(g: &Gray, x: usize, y: usize) -> (f32, f32, f32) {
    let (mut m10, mut m01) = (0i64, 0i64);
    for (i, &half) in disc_rows().iter().enumerate() {
        let dy = i as i32 - DISC;
        let yy = (y as i32 + dy) as usize;
        let row = &g.px[yy * g.w..(yy + 1) * g.w];
        for dx in -half..=half {
            let v = i64::from(row[(x as i32 + dx) as usize]);
            m10 += i64::from(dx) * v;
            m01 += i64::from(dy) * v;
        }
    }
    let (fx, fy) = (m10 as f64, m01 as f64);
    let n = (fx * fx + fy * fy).sqrt();
    if n == 0.0 {
        return (1.0, 0.0, 0.0);
    }
    ((fx / n) as f32, (fy / n) as f32, fy.atan2(fx) as f32)
}

/// The descriptor at (x, y) of the smoothed level, the pattern turned by the orientation.
/// Bit `i` is set when the first point of pair `i` is darker than the second.
pub fn describe(s: &Gray, x: usize, y: usize, c: f32, sn: f32) -> Hash256 {
    let mut d = [0u64; 4];
    let (xi, yi) = (x as isize, y as isize);
    let w = s.w as isize;
    let at = |(px, py): (f32, f32)| {
        let rx = (px * c - py * sn).round() as isize;
        let ry = (px * sn + py * c).round() as isize;
        s.px[((yi + ry) * w + xi + rx) as usize]
    };
    for (i, pair) in super::brief::pattern().iter().enumerate() {
        if at(pair[0]) < at(pair[1]) {
            d[i / 64] |= 1 << (i % 64);
        }
    }
    Hash256(d)
}

/// The area average of `g` into `dw` x `dh` cells, pixel by pixel: each cell the
/// fixed-point sum over the source pixels it covers of the product of the two axes' weights.
fn shrink(g: &Gray, dw: usize, dh: usize) -> Gray {
    let mut px = Vec::with_capacity(dw * dh);
    for y in 0..dh {
        for x in 0..dw {
            let mut acc = 0u64;
            // Outside its span a cell's weights are zero.
            for sy in y * g.h / dh..((y + 1) * g.h).div_ceil(dh) {
                for sx in x * g.w / dw..((x + 1) * g.w).div_ceil(dw) {
                    let (wy, wx) = (weight(g.h, dh, y, sy), weight(g.w, dw, x, sx));
                    acc += wy * wx * u64::from(g.px[sy * g.w + sx]);
                }
            }
            px.push(((acc + (1 << 31)) >> 32).min(255) as u8);
        }
    }
    Gray { w: dw, h: dh, px }
}

/// The weight of source pixel `k` in cell `i` (`src` pixels into `dst` cells): their
/// overlap, a fraction of the cell, in units of 2^-16, rounded.
fn weight(src: usize, dst: usize, i: usize, k: usize) -> u64 {
    let (lo, hi) = (i * src, (i + 1) * src);
    let overlap = hi.min((k + 1) * dst).saturating_sub(lo.max(k * dst)) as u64;
    (overlap * 65536 + src as u64 / 2) / src as u64
}

/// Features of an image already in its working frame.
pub fn extract_frame(g: &Gray) -> Features {
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
    let mut level = g.clone();
    for (l, area) in areas.iter().enumerate() {
        if l > 0 {
            let s = LEVEL_SCALE.powi(l as i32);
            let (dw, dh) = (
                (g.w as f32 / s).round() as usize,
                (g.h as f32 / s).round() as usize,
            );
            if dw < 2 * BORDER + 8 || dh < 2 * BORDER + 8 {
                break;
            }
            level = shrink(g, dw, dh);
        }
        if level.w < 2 * BORDER + 8 || level.h < 2 * BORDER + 8 {
            break;
        }
        let quota = ((MAX_FEATURES as f32) * area / total).round() as usize;
        let corners = corners(&level, i16::from(FAST_THRESHOLD), BORDER, quota);
        if corners.is_empty() {
            continue;
        }
        let smooth = smooth(&level);
        let (sx, sy) = (g.w as f32 / level.w as f32, g.h as f32 / level.h as f32);
        for (x, y) in corners {
            let (c, s, angle) = orientation(&level, x, y);
            // The optimised steering snaps the orientation to one of 32 bins.
            let (c, s) = super::brief::bin_trig(super::brief::bin_of(c, s));
            out.desc.push(describe(&smooth, x, y, c, s));
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
