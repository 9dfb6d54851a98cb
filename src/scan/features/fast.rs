//! FAST-9 corners ranked by the Harris response, with 3 x 3 non-maximum suppression.
//!
//! Hand-written rather than `imageproc::corners::corners_fast9`: imageproc would be a new
//! dependency tree (nalgebra, rand, ...) for two short functions, and this version rejects
//! most pixels with four comparisons and keeps every sum in integers, so a mirrored image
//! gives exactly the mirrored corners (the descriptor's mirror permutation relies on it).

use super::Gray;

/// Bresenham circle of radius 3, clockwise from the top.
const CIRCLE: [(i32, i32); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

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
