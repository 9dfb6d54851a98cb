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

/// Half-width of the Harris window (7 x 7).
const WIN: usize = 3;

/// The Sobel structure tensor summed over 7-pixel column segments: `sums[c][y * w + x]` is
/// the sum of channel `c` (Ix², Iy², Ix·Iy) over rows `y - 3..=y + 3` of column `x`, for the
/// rows where FAST looks for corners. A Harris response then adds 7 of them per channel
/// instead of computing 49 gradients; integers throughout, so it equals the direct sum.
struct Tensor {
    w: usize,
    sums: [Vec<i32>; 3],
}

impl Tensor {
    /// The column sums for rows `border..h - border` (`border` at least 4, so every
    /// gradient has its 3 x 3 neighbourhood).
    fn new(g: &Gray, border: usize) -> Tensor {
        let (w, h) = (g.w, g.h);
        debug_assert!(border > WIN && h > 2 * border);
        let prods = gradient_products(g, border - WIN..h - border + WIN);
        let mut sums = [vec![0i32; w * h], vec![0i32; w * h], vec![0i32; w * h]];
        for (sum, prod) in sums.iter_mut().zip(&prods) {
            let row = |y: usize| &prod[y * w..(y + 1) * w];
            let (y0, y1) = (border, h - border);
            let first = &mut sum[y0 * w..(y0 + 1) * w];
            for y in y0 - WIN..=y0 + WIN {
                first.iter_mut().zip(row(y)).for_each(|(s, &p)| *s += p);
            }
            // Slide the window down one row: add the row entering, drop the row leaving.
            for y in y0 + 1..y1 {
                let (done, rest) = sum.split_at_mut(y * w);
                let above = &done[(y - 1) * w..];
                let (enter, leave) = (row(y + WIN), row(y - WIN - 1));
                for (x, s) in rest[..w].iter_mut().enumerate() {
                    *s = above[x] + enter[x] - leave[x];
                }
            }
        }
        Tensor { w, sums }
    }

    /// Harris response (k = 0.04) of the 7 x 7 window of Sobel gradients centred on (x, y).
    fn harris(&self, x: usize, y: usize) -> f64 {
        let at = |c: usize| {
            let i = y * self.w + x;
            self.sums[c][i - WIN..=i + WIN].iter().sum::<i32>()
        };
        let (a, b, c) = (f64::from(at(0)), f64::from(at(1)), f64::from(at(2)));
        a * b - c * c - 0.04 * (a + b) * (a + b)
    }
}

/// Ix², Iy² and Ix·Iy of the 3 x 3 Sobel gradients on the given rows (columns 1..w - 1;
/// zero elsewhere). Sobel is separable: Ix is the difference of vertically smoothed columns,
/// Iy the horizontally smoothed vertical difference.
fn gradient_products(g: &Gray, rows: std::ops::Range<usize>) -> [Vec<i32>; 3] {
    let w = g.w;
    let mut out = [
        vec![0i32; w * g.h],
        vec![0i32; w * g.h],
        vec![0i32; w * g.h],
    ];
    let (mut vs, mut vd) = (vec![0i32; w], vec![0i32; w]);
    let px = |y: usize| &g.px[y * w..(y + 1) * w];
    for y in rows {
        let (up, mid, down) = (px(y - 1), px(y), px(y + 1));
        for x in 0..w {
            let (u, m, d) = (i32::from(up[x]), i32::from(mid[x]), i32::from(down[x]));
            vs[x] = u + 2 * m + d;
            vd[x] = d - u;
        }
        let [xx, yy, xy] = &mut out;
        let r = y * w;
        for x in 1..w - 1 {
            let ix = vs[x + 1] - vs[x - 1];
            let iy = vd[x - 1] + 2 * vd[x] + vd[x + 1];
            xx[r + x] = ix * ix;
            yy[r + x] = iy * iy;
            xy[r + x] = ix * iy;
        }
    }
    out
}

/// FAST-9 corners at least `border` pixels from every edge, the `quota` strongest by Harris
/// response after 3 x 3 non-maximum suppression; ties broken by position.
pub fn corners(g: &Gray, threshold: u8, border: usize, quota: usize) -> Vec<(usize, usize)> {
    let (w, h) = (g.w, g.h);
    if w < 2 * border + 1 || h < 2 * border + 1 || quota == 0 {
        return Vec::new();
    }
    let segment = fast9(g, threshold, border);
    if segment.is_empty() {
        return Vec::new();
    }
    let tensor = Tensor::new(g, border);
    let mut score = vec![0f64; w * h];
    let mut found: Vec<(usize, usize)> = Vec::with_capacity(segment.len());
    for (x, y) in segment {
        let r = tensor.harris(x, y);
        if r > 0.0 {
            score[y * w + x] = r;
            found.push((x, y));
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

/// The pixels at least `border` from every edge that pass the FAST-9 segment test: nine
/// contiguous circle pixels all brighter than the centre plus `threshold`, or all darker than
/// it minus `threshold`, in row-major order.
fn fast9(g: &Gray, threshold: u8, border: usize) -> Vec<(usize, usize)> {
    let (w, h) = (g.w, g.h);
    let offs: Vec<isize> = CIRCLE
        .iter()
        .map(|&(dx, dy)| dy as isize * w as isize + dx as isize)
        .collect();
    let mut found = Vec::new();
    let mut maybe = vec![false; w];
    for y in border..h - border {
        compass_test(g, y, threshold, border, &mut maybe);
        for x in (border..w - border).filter(|&x| maybe[x]) {
            let i = y * w + x;
            let v = g.px[i];
            let (hi, lo) = (v.saturating_add(threshold), v.saturating_sub(threshold));
            let (mut mb, mut md) = (0u32, 0u32);
            for (k, &o) in offs.iter().enumerate() {
                let p = g.px[(i as isize + o) as usize];
                mb |= u32::from(p > hi) << k;
                md |= u32::from(p < lo) << k;
            }
            if has_run9(mb) || has_run9(md) {
                found.push((x, y));
            }
        }
    }
    found
}

/// The quick rejection for row `y`, all columns at once: a run of nine covers at least two of
/// the four compass points (0, 4, 8, 12 of [`CIRCLE`]), so at least two must be brighter (or
/// two darker). `maybe[x]` is set for the columns that pass. In `u8` with saturating bounds,
/// which compare exactly as the signed ones: `v + t > 255` and `v - t < 0` admit no pixel.
fn compass_test(g: &Gray, y: usize, t: u8, border: usize, maybe: &mut [bool]) {
    let w = g.w;
    let n = w - 2 * border;
    let row = |y: usize, dx: isize| {
        let start = (y * w + border) as isize + dx;
        &g.px[start as usize..start as usize + n]
    };
    let (c, up, right, down, left) = (
        row(y, 0),
        row(y - 3, 0),
        row(y, 3),
        row(y + 3, 0),
        row(y, -3),
    );
    let out = &mut maybe[border..border + n];
    for i in 0..n {
        let (hi, lo) = (c[i].saturating_add(t), c[i].saturating_sub(t));
        let b = u8::from(up[i] > hi)
            + u8::from(right[i] > hi)
            + u8::from(down[i] > hi)
            + u8::from(left[i] > hi);
        let d = u8::from(up[i] < lo)
            + u8::from(right[i] < lo)
            + u8::from(down[i] < lo)
            + u8::from(left[i] < lo);
        out[i] = b >= 2 || d >= 2;
    }
}
