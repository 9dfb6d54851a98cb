//! FAST-9 corners ranked by the Harris response, with 3 x 3 non-maximum suppression.
//!
//! Cost: the segment test first rejects whole rows at once (8 opposite-pair tests in `u8`),
//! the Harris response of a corner adds 7 sliding column sums of the Sobel products per
//! channel, and the suppression compares corners only.
//!
//! Hand-written rather than `imageproc::corners::corners_fast9`: imageproc would be a new
//! dependency tree (nalgebra, rand, ...) for two short functions, and this version rejects
//! most pixels with four comparisons and keeps every sum in integers, so a mirrored image
//! gives exactly the mirrored corners (the descriptor's mirror permutation relies on it).

use super::Gray;

/// Bresenham circle of radius 3, clockwise from the top.
pub(super) const CIRCLE: [(i32, i32); 16] = [
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

/// Whether either of two circular 16-bit masks has a run of at least 9 set bits: both
/// doubled into one `u64` (bits 0..32 and 32..64), runs of 2, 4, 8 then 9 by shifted ANDs,
/// looking only at runs starting in each mask's first 16 bits (they end by bit 24).
#[inline(always)]
fn has_run9_either(a: u32, b: u32) -> bool {
    let m = u64::from(a | a << 16) | u64::from(b | b << 16) << 32;
    let r = m & (m >> 1);
    let r = r & (r >> 2);
    let r = r & (r >> 4);
    let r = r & (m >> 8);
    r & 0x0000_ffff_0000_ffff != 0
}

/// Half-width of the Harris window (7 x 7).
const WIN: usize = 3;

/// Harris responses (k = 0.04) of the 7 x 7 windows of Sobel gradients centred on `points`
/// (row-major order, at least 4 pixels from every edge), in one pass down the rows: the
/// structure tensor's column sums (Ix², Iy², Ix·Iy over 7 rows) slide down a row at a time
/// over a ring of the last 7 rows' gradient products, and a response adds 7 column sums per
/// channel. Integers throughout, so each response equals the direct 49-term sum.
#[inline(always)]
fn harris_responses(g: &Gray, points: &[(usize, usize)]) -> Vec<f64> {
    let w = g.w;
    let mut out = Vec::with_capacity(points.len());
    let Some(&(_, y0)) = points.first() else {
        return out;
    };
    // Ring slot `r % 7` holds row r's three products, channel c at `(slot * 3 + c) * w`.
    let mut ring = vec![0i32; 7 * 3 * w];
    let mut cols = vec![0i32; 3 * w];
    let mut scratch = (vec![0i32; w], vec![0i32; w]);
    for r in y0 - WIN..=y0 + WIN {
        let slot = &mut ring[(r % 7) * 3 * w..][..3 * w];
        gradient_products(g, r, slot, &mut scratch);
        cols.iter_mut().zip(slot.iter()).for_each(|(c, &p)| *c += p);
    }
    let mut centre = y0;
    for &(x, y) in points {
        while centre < y {
            // Row centre - 3 leaves the window and row centre + 4 enters it (same slot).
            let slot = &mut ring[((centre + WIN + 1) % 7) * 3 * w..][..3 * w];
            cols.iter_mut().zip(slot.iter()).for_each(|(c, &p)| *c -= p);
            gradient_products(g, centre + WIN + 1, slot, &mut scratch);
            cols.iter_mut().zip(slot.iter()).for_each(|(c, &p)| *c += p);
            centre += 1;
        }
        let sum = |c: usize| cols[c * w + x - WIN..=c * w + x + WIN].iter().sum::<i32>();
        let (a, b, c) = (f64::from(sum(0)), f64::from(sum(1)), f64::from(sum(2)));
        out.push(a * b - c * c - 0.04 * (a + b) * (a + b));
    }
    out
}

/// Ix², Iy² and Ix·Iy of the 3 x 3 Sobel gradients on row `y` into `out` (three runs of
/// `w`; columns 0 and w - 1 zero). Sobel is separable: Ix is the difference of vertically
/// smoothed columns, Iy the horizontally smoothed vertical difference.
#[inline(always)]
fn gradient_products(g: &Gray, y: usize, out: &mut [i32], scratch: &mut (Vec<i32>, Vec<i32>)) {
    let w = g.w;
    let (vs, vd) = scratch;
    let px = |y: usize| &g.px[y * w..(y + 1) * w];
    let (up, mid, down) = (px(y - 1), px(y), px(y + 1));
    for x in 0..w {
        let (u, m, d) = (i32::from(up[x]), i32::from(mid[x]), i32::from(down[x]));
        vs[x] = u + 2 * m + d;
        vd[x] = d - u;
    }
    let (xx, rest) = out.split_at_mut(w);
    let (yy, xy) = rest.split_at_mut(w);
    for x in 1..w - 1 {
        let ix = vs[x + 1] - vs[x - 1];
        let iy = vd[x - 1] + 2 * vd[x] + vd[x + 1];
        xx[x] = ix * ix;
        yy[x] = iy * iy;
        xy[x] = ix * iy;
    }
}

/// FAST-9 corners at least `border` pixels from every edge, the `quota` strongest by Harris
/// response after 3 x 3 non-maximum suppression; ties broken by position.
#[inline(always)]
pub fn corners(g: &Gray, threshold: u8, border: usize, quota: usize) -> Vec<(usize, usize)> {
    let (w, h) = (g.w, g.h);
    if w < 2 * border + 1 || h < 2 * border + 1 || quota == 0 {
        return Vec::new();
    }
    let segment = fast9(g, threshold, border);
    let scores = harris_responses(g, &segment);
    // Only positive responses compete; every other pixel counts as zero in the suppression.
    let found: Vec<((usize, usize), f64)> = segment
        .into_iter()
        .zip(scores)
        .filter(|&(_, r)| r > 0.0)
        .collect();
    let mut kept = suppress(&found, w);
    kept.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| (a.2, a.1).cmp(&(b.2, b.1)))
    });
    kept.truncate(quota);
    kept.into_iter().map(|(_, x, y)| (x, y)).collect()
}

/// The corners of `found` (row-major, positive responses) that no 3 x 3 neighbour
/// outscores, as `(response, x, y)`. Pixels without a corner count as zero. The response map
/// is kept for three rows at a time (slot `y % 3`), so no `w x h` map is cleared per level.
#[inline(always)]
fn suppress(found: &[((usize, usize), f64)], w: usize) -> Vec<(f64, usize, usize)> {
    let mut band = vec![0f64; 3 * w];
    let mut in_slot = [usize::MAX; 3];
    let mut kept = Vec::new();
    let row_of = |i: usize| found[i].0.1;
    let (mut start, mut next) = (0, 0); // row `y`'s first corner; row `y + 1`'s first corner
    while start < found.len() {
        let y = row_of(start);
        for r in y - 1..=y + 1 {
            if in_slot[r % 3] == r {
                continue;
            }
            let slot = &mut band[(r % 3) * w..][..w];
            slot.fill(0.0);
            let from = found.partition_point(|&((_, fy), _)| fy < r);
            for &((x, _), s) in found[from..].iter().take_while(|((_, fy), _)| *fy == r) {
                slot[x] = s;
            }
            in_slot[r % 3] = r;
        }
        next = next.max(start);
        while next < found.len() && row_of(next) == y {
            next += 1;
        }
        let rows = [(y - 1) % 3, y % 3, (y + 1) % 3].map(|slot| &band[slot * w..][..w]);
        for &((x, _), s) in &found[start..next] {
            let mut beaten = false;
            for row in rows {
                let n = &row[x - 1..x + 2];
                beaten |= (n[0] > s) | (n[1] > s) | (n[2] > s);
            }
            if !beaten {
                kept.push((s, x, y));
            }
        }
        start = next;
    }
    kept
}

/// The pixels at least `border` from every edge that pass the FAST-9 segment test: nine
/// contiguous circle pixels all brighter than the centre plus `threshold`, or all darker than
/// it minus `threshold`, in row-major order.
#[inline(always)]
fn fast9(g: &Gray, threshold: u8, border: usize) -> Vec<(usize, usize)> {
    let (w, h) = (g.w, g.h);
    let offs: Vec<isize> = CIRCLE
        .iter()
        .map(|&(dx, dy)| dy as isize * w as isize + dx as isize)
        .collect();
    let mut found = Vec::new();
    let n = w - 2 * border;
    let mut test = RowTest {
        hi: vec![0; n],
        lo: vec![0; n],
        pass: vec![0; n],
        dark: vec![0; n],
    };
    for y in border..h - border {
        compass_test(g, y, threshold, border, &mut test);
        for x in candidates(&test.pass).map(|i| border + i) {
            let i = y * w + x;
            let v = g.px[i];
            let (hi, lo) = (v.saturating_add(threshold), v.saturating_sub(threshold));
            let (mut mb, mut md) = (0u32, 0u32);
            for (k, &o) in offs.iter().enumerate() {
                let p = g.px[(i as isize + o) as usize];
                mb |= u32::from(p > hi) << k;
                md |= u32::from(p < lo) << k;
            }
            if has_run9_either(mb, md) {
                found.push((x, y));
            }
        }
    }
    found
}

/// The quick rejection for row `y`, all columns at once: a run of nine covers one of every
/// two opposite circle pixels (the seven it leaves out are too few to hold both), so for
/// each of the 8 opposite pairs one must be brighter (or, for every pair, one darker).
/// `test.pass[x - border]` is set for the columns that pass. In `u8` with saturating bounds, which compare
/// exactly as the signed ones: `v + t > 255` and `v - t < 0` admit no pixel.
#[inline(always)]
fn compass_test(g: &Gray, y: usize, t: u8, border: usize, test: &mut RowTest) {
    let w = g.w;
    let n = w - 2 * border;
    let at = |(dx, dy): (i32, i32)| {
        let start =
            ((y as isize + dy as isize) * w as isize + (border as isize + dx as isize)) as usize;
        &g.px[start..start + n]
    };
    let RowTest {
        hi,
        lo,
        pass: bright,
        dark,
    } = test;
    // Equal lengths let the passes below run without bounds checks (and vectorise).
    let (hi, lo, bright, dark) = (&mut hi[..n], &mut lo[..n], &mut bright[..n], &mut dark[..n]);
    for ((c, h), l) in at((0, 0)).iter().zip(hi.iter_mut()).zip(lo.iter_mut()) {
        (*h, *l) = (c.saturating_add(t), c.saturating_sub(t));
    }
    bright.fill(1);
    dark.fill(1);
    for k in 0..8 {
        let (a, b) = (at(CIRCLE[k]), at(CIRCLE[k + 8]));
        for i in 0..n {
            bright[i] &= u8::from(a[i] > hi[i]) | u8::from(b[i] > hi[i]);
            dark[i] &= u8::from(a[i] < lo[i]) | u8::from(b[i] < lo[i]);
        }
    }
    bright
        .iter_mut()
        .zip(dark.iter())
        .for_each(|(b, &d)| *b |= d);
}

/// The indices of the non-zero bytes of `pass`, skipping 8 zero bytes at a time (most are).
fn candidates(pass: &[u8]) -> impl Iterator<Item = usize> + '_ {
    pass.chunks(8).enumerate().flat_map(|(c, chunk)| {
        let any = match <[u8; 8]>::try_from(chunk) {
            Ok(word) => u64::from_ne_bytes(word) != 0,
            Err(_) => chunk.iter().any(|&b| b != 0),
        };
        let hits = chunk.iter().enumerate().filter(|&(_, &b)| b != 0);
        hits.take(if any { 8 } else { 0 })
            .map(move |(j, _)| 8 * c + j)
    })
}

/// Per-row buffers of [`compass_test`] (one value per column from `border` on); `pass` is
/// non-zero where the column passes.
struct RowTest {
    hi: Vec<u8>,
    lo: Vec<u8>,
    pass: Vec<u8>,
    dark: Vec<u8>,
}
