//! Orientation (intensity centroid) and the 256-bit steered BRIEF descriptor with a
//! mirror-symmetric sampling pattern.

use std::sync::OnceLock;

use super::Gray;
use crate::base::hash::Hash256;
use crate::base::rng::SplitMix;

/// Radius of the orientation disc.
const DISC: i32 = 15;
/// Largest distance of a pattern point from the keypoint (rotated, it stays inside the
/// border of 16 pixels).
const PATTERN_RADIUS: f64 = 13.0;

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

/// Half-widths of the orientation disc per row offset.
fn disc_rows() -> &'static [i32; (2 * DISC + 1) as usize] {
    static ROWS: OnceLock<[i32; (2 * DISC + 1) as usize]> = OnceLock::new();
    ROWS.get_or_init(|| {
        let mut r = [0; (2 * DISC + 1) as usize];
        for (i, v) in r.iter_mut().enumerate() {
            let dy = i as i32 - DISC;
            *v = (f64::from(DISC * DISC - dy * dy)).sqrt().floor() as i32;
        }
        r
    })
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

/// The sampling pattern: 128 random point pairs (isotropic Gaussian, sigma = 31 / 5, within
/// [`PATTERN_RADIUS`]), then the same 128 mirrored across the x axis (`y -> -y`).
pub fn pattern() -> &'static [[(f32, f32); 2]; 256] {
    static PATTERN: OnceLock<[[(f32, f32); 2]; 256]> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut rng = SplitMix(0x0b5e_55ed_b21e_f256);
        let mut gauss = || loop {
            // Box-Muller; integer offsets as ORB's pattern.
            let (u, v) = (rng.unit().max(1e-12), rng.unit());
            let r = (-2.0 * u.ln()).sqrt() * 31.0 / 5.0;
            let (x, y) = (
                (r * (std::f64::consts::TAU * v).cos()).round(),
                (r * (std::f64::consts::TAU * v).sin()).round(),
            );
            if (x * x + y * y).sqrt() <= PATTERN_RADIUS {
                return (x as f32, y as f32);
            }
        };
        let mut p = [[(0f32, 0f32); 2]; 256];
        let mut i = 0;
        while i < 128 {
            let (a, b) = (gauss(), gauss());
            // A pair on the axis would be its own mirror, and a pair of one point no test.
            if a == b || (a.1 == 0.0 && b.1 == 0.0) {
                continue;
            }
            p[i] = [a, b];
            p[i + 128] = [(a.0, -a.1), (b.0, -b.1)];
            i += 1;
        }
        p
    })
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
    for (i, pair) in pattern().iter().enumerate() {
        if at(pair[0]) < at(pair[1]) {
            d[i / 64] |= 1 << (i % 64);
        }
    }
    Hash256(d)
}
