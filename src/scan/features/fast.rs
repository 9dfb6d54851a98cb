//! FAST-9 corners ranked by the Harris response, with 3 x 3 non-maximum suppression.
//!
//! Cost: the segment test runs on 32 columns at once (each circle pixel one bit of a mask
//! per column, the run of nine by rotations), the Harris response of a corner adds 7 sliding
//! column sums of the Sobel products per channel, and the suppression compares corners only.
//!
//! Hand-written rather than `imageproc::corners::corners_fast9`: imageproc would be a new
//! dependency tree (nalgebra, rand, ...) for two short functions, and this version tests 32
//! pixels at once and keeps every sum in integers, so a mirrored image gives exactly the
//! mirrored corners (the descriptor's mirror permutation relies on it).

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
    let order = |a: &(f64, usize, usize), b: &(f64, usize, usize)| {
        b.0.total_cmp(&a.0)
            .then_with(|| (a.2, a.1).cmp(&(b.2, b.1)))
    };
    // A strict order (positions differ), so selecting the quota first and sorting only it
    // gives what sorting all and truncating gives.
    if kept.len() > quota {
        kept.select_nth_unstable_by(quota, order);
        kept.truncate(quota);
    }
    kept.sort_unstable_by(order);
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
    let n = w - 2 * border;
    let offs = CIRCLE.map(|(dx, dy)| dy as isize * w as isize + dx as isize);
    let mut found = Vec::new();
    // Padded to whole words of 8 (the padding stays 0).
    let mut pass = vec![0u8; n.next_multiple_of(8)];
    for y in border..h - border {
        let row = y * w + border;
        if n >= LANES {
            // The last chunk overlaps the one before it when `n` is not a multiple.
            for c in (0..n).step_by(LANES) {
                let c = c.min(n - LANES);
                segment_chunk(&g.px, &offs, row + c, threshold, &mut pass[c..c + LANES]);
            }
        } else {
            for (x, p) in pass[..n].iter_mut().enumerate() {
                *p = u8::from(segment_at(&g.px, &offs, row + x, threshold));
            }
        }
        // Most words are zero; a set byte is found by the word's trailing zeros.
        for (c, word) in pass.chunks_exact(8).enumerate() {
            let mut m = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            while m != 0 {
                found.push((border + 8 * c + m.trailing_zeros() as usize / 8, y));
                m &= m - 1;
            }
        }
    }
    found
}

/// Columns the segment test takes at once (one AVX2 vector of bytes).
const LANES: usize = 32;

/// The segment test of the `LANES` pixels from index `i0` on (all at least 3 from every
/// edge; `offs` the circle's offsets) into `pass` (1 where a corner), all columns at once:
/// each circle pixel's comparison shifts one bit into a 16-bit mask per column (kept as two
/// bytes, so 32 columns a vector), then the run of nine by rotations. Circle pixel `k` lands
/// on bit `15 - k`, which keeps runs runs. Integer comparisons, so exactly [`segment_at`].
#[inline(always)]
fn segment_chunk(px: &[u8], offs: &[isize; 16], i0: usize, t: u8, pass: &mut [u8]) {
    let at = |k: usize| -> &[u8; LANES] {
        let s = (i0 as isize + offs[k]) as usize;
        px[s..s + LANES].try_into().expect("a chunk")
    };
    let centre: &[u8; LANES] = px[i0..i0 + LANES].try_into().expect("a chunk");
    let (mut hi, mut lo) = ([0u8; LANES], [0u8; LANES]);
    for l in 0..LANES {
        (hi[l], lo[l]) = (centre[l].saturating_add(t), centre[l].saturating_sub(t));
    }
    // Circle pixels 0..8 and 8..16 of each column's bright and dark masks.
    let (mut b0, mut d0, mut b1, mut d1) = ([0u8; LANES], [0u8; LANES], [0u8; LANES], [0u8; LANES]);
    for k in 0..8 {
        let a = at(k);
        for l in 0..LANES {
            b0[l] = b0[l] << 1 | u8::from(a[l] > hi[l]);
            d0[l] = d0[l] << 1 | u8::from(a[l] < lo[l]);
        }
    }
    for k in 8..16 {
        let a = at(k);
        for l in 0..LANES {
            b1[l] = b1[l] << 1 | u8::from(a[l] > hi[l]);
            d1[l] = d1[l] << 1 | u8::from(a[l] < lo[l]);
        }
    }
    for l in 0..LANES {
        let mb = u16::from(b0[l]) << 8 | u16::from(b1[l]);
        let md = u16::from(d0[l]) << 8 | u16::from(d1[l]);
        pass[l] = u8::from(has_run9(mb) | has_run9(md));
    }
}

/// Whether a circular 16-bit mask has a run of at least 9 set bits: bit `i` of `r` ends up
/// set when bits `i..i + 2, 4, 8` and then `9` (circularly) all are.
#[inline(always)]
fn has_run9(m: u16) -> bool {
    let r = m & m.rotate_right(1);
    let r = r & r.rotate_right(2);
    let r = r & r.rotate_right(4);
    r & m.rotate_right(8) != 0
}

/// The segment test of one pixel (index `i`, at least 3 from every edge), for rows too
/// narrow for [`segment_chunk`].
fn segment_at(px: &[u8], offs: &[isize; 16], i: usize, t: u8) -> bool {
    let (hi, lo) = (px[i].saturating_add(t), px[i].saturating_sub(t));
    let (mut mb, mut md) = (0u16, 0u16);
    for (k, &o) in offs.iter().enumerate() {
        let p = px[(i as isize + o) as usize];
        mb |= u16::from(p > hi) << k;
        md |= u16::from(p < lo) << k;
    }
    has_run9(mb) | has_run9(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::rng::SplitMix;

    /// Noise at three grains (every pixel, 2 x 2 and 4 x 4 blocks): far more segment-test
    /// candidates and corners than the test pictures, at every bit pattern of the circle.
    fn noise(w: usize, h: usize, grain: usize, seed: u64) -> Gray {
        let mut rng = SplitMix(seed);
        let cells: Vec<u8> = (0..w * h).map(|_| (rng.next_u64() % 256) as u8).collect();
        let px = (0..w * h)
            .map(|i| cells[(i / w / grain) * w + (i % w) / grain])
            .collect();
        Gray { w, h, px }
    }

    #[test]
    fn vector_segment_test_equals_the_pixel_one() {
        for (i, &(w, h, grain)) in [
            (256, 64, 1),
            (97, 61, 2),
            (50, 40, 4),
            (70, 90, 1),
            (37, 30, 1),
        ]
        .iter()
        .enumerate()
        {
            let g = noise(w, h, grain, i as u64);
            for t in [0, 20, 60, 255] {
                let offs = CIRCLE.map(|(dx, dy)| dy as isize * w as isize + dx as isize);
                let mut expected = Vec::new();
                for y in 3..h - 3 {
                    for x in 3..w - 3 {
                        if segment_at(&g.px, &offs, y * w + x, t) {
                            expected.push((x, y));
                        }
                    }
                }
                assert!(t == 255 || expected.len() > 20, "{w} x {h}, t {t}");
                assert_eq!(fast9(&g, t, 3), expected, "{w} x {h}, t {t}");
            }
        }
    }
}
