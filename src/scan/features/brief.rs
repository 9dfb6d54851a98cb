//! Orientation (intensity centroid) and the 256-bit steered BRIEF descriptor with a
//! mirror-symmetric sampling pattern, turned by table to one of 32 orientation bins (as
//! ORB does; the bins map to their mirrors exactly, so the mirror permutation still holds).

use std::sync::OnceLock;

use super::{Gray, round};
use crate::base::hash::Hash256;
use crate::base::rng::SplitMix;

/// Radius of the orientation disc.
const DISC: i32 = 15;
/// Largest distance of a pattern point from the keypoint (rotated, it stays inside the
/// border of 16 pixels).
const PATTERN_RADIUS: f64 = 13.0;

/// 9-tap binomial smoothing (sigma 2 per axis; taps 1, 8, 28, 56, 70, 56, 28, 8, 1, which
/// sum to 256), integer arithmetic and clamped edges, so it
/// commutes exactly with a mirror.
#[inline(always)]
pub fn smooth(g: &Gray) -> Gray {
    let (w, h) = (g.w, g.h);
    // A row pass sums to at most 256 * 255, which fits 16 bits.
    let mut tmp = vec![0u16; w * h];
    let mut padded = Vec::with_capacity(w + 8);
    for (row, out) in g.px.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        smooth_row(row, &mut padded, out);
    }
    let mut px = vec![0u8; w * h];
    for (y, out) in px.chunks_exact_mut(w).enumerate() {
        let r = |k: isize| {
            let yy = (y as isize + k).clamp(0, h as isize - 1) as usize;
            &tmp[yy * w..(yy + 1) * w]
        };
        let (a, b, c, d, e) = (r(-4), r(-3), r(-2), r(-1), r(0));
        let (f, gg, hh, i) = (r(1), r(2), r(3), r(4));
        // One pass, the taps paired by symmetry (integer sums: the same as tap by tap).
        for x in 0..w {
            let v = |s: &[u16]| u32::from(s[x]);
            let acc = v(a)
                + v(i)
                + 8 * (v(b) + v(hh))
                + 28 * (v(c) + v(gg))
                + 56 * (v(d) + v(f))
                + 70 * v(e);
            out[x] = ((acc + (1 << 15)) >> 16) as u8;
        }
    }
    Gray { w, h, px }
}

/// The horizontal pass of [`smooth`] on one row: the row copied into `padded` with 4
/// replicated pixels at each end (the clamped edge), then one pass with the taps paired by
/// symmetry.
#[inline(always)]
fn smooth_row(row: &[u8], padded: &mut Vec<u8>, out: &mut [u16]) {
    let w = row.len();
    padded.clear();
    padded.extend_from_slice(&[row[0]; 4]);
    padded.extend_from_slice(row);
    padded.extend_from_slice(&[row[w - 1]; 4]);
    let t = |k: usize| &padded[k..k + w];
    let (a, b, c, d, e, f, g, h, i) = (t(0), t(1), t(2), t(3), t(4), t(5), t(6), t(7), t(8));
    for (x, o) in out[..w].iter_mut().enumerate() {
        let v = |s: &[u8]| u16::from(s[x]);
        *o = v(a) + v(i) + 8 * (v(b) + v(h)) + 28 * (v(c) + v(g)) + 56 * (v(d) + v(f)) + 70 * v(e);
    }
}

/// Half-widths of the orientation disc per row offset.
pub(super) fn disc_rows() -> &'static [i32; (2 * DISC + 1) as usize] {
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

/// Per disc row, a byte mask over the 32 columns `x - 16 .. x + 16` around a keypoint at `x`
/// (0xff inside the disc).
fn disc_masks() -> &'static [[u8; 32]; (2 * DISC + 1) as usize] {
    static MASKS: OnceLock<[[u8; 32]; (2 * DISC + 1) as usize]> = OnceLock::new();
    MASKS.get_or_init(|| {
        let mut m = [[0u8; 32]; (2 * DISC + 1) as usize];
        for (row, &half) in m.iter_mut().zip(disc_rows()) {
            for (k, b) in row.iter_mut().enumerate() {
                *b = if (k as i32 - 16).abs() <= half {
                    0xff
                } else {
                    0
                };
            }
        }
        m
    })
}

/// `(cos, sin, angle)` of the intensity centroid of the disc around (x, y) (at least 16 from
/// every edge). Cos and sin come straight from the moments, so a mirror negates the cosine
/// exactly.
///
/// Cost: every disc row is the same 32 columns under its mask, so the moments are column
/// sums in `i16` lanes (a vector each): `c` of the pixels (m10 = sum of `(k - 16) c[k]`) and
/// `m` of `dy` times them (m01 = their sum). No lane overflows: `c` is at most 31 x 255, and
/// every partial sum of `m` lies within 120 x 255 either side of zero. Integer sums, as row
/// by row.
#[inline(always)]
pub fn orientation(g: &Gray, x: usize, y: usize) -> (f32, f32, f32) {
    let (mut c, mut m) = ([0i16; 32], [0i16; 32]);
    for (i, mask) in disc_masks().iter().enumerate() {
        let dy = i as i16 - DISC as i16;
        let start = (y as i32 + i32::from(dy)) as usize * g.w + x - 16;
        let row: &[u8; 32] = g.px[start..start + 32].try_into().expect("a disc row");
        for k in 0..32 {
            let v = i16::from(row[k] & mask[k]);
            c[k] += v;
            m[k] += dy * v;
        }
    }
    let (mut m10, mut m01) = (0i32, 0i32);
    for k in 0..32 {
        m10 += (k as i32 - 16) * i32::from(c[k]);
        m01 += i32::from(m[k]);
    }
    let (fx, fy) = (f64::from(m10), f64::from(m01));
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

/// Orientation steps of the precomputed turned patterns (ORB uses 30). 32, so that the
/// mirror of every step's angle `a`, `pi - a`, is a step too: bin `b` mirrors to `16 - b`.
pub const BINS: usize = 32;

/// `(cos, sin)` of bin `b`'s angle `2 pi b / 32`, exact under the mirror: bins -8..=8 (right
/// of the y axis, cos exactly 0 at ±90°) from cos and sin, the others as the mirror of one of
/// them (cos negated), so a mirrored corner's pattern is exactly the mirrored pattern.
pub fn bin_trig(b: usize) -> (f32, f32) {
    let b = b as i32;
    let mirrored = (9..=23).contains(&b);
    let k = if mirrored {
        16 - b
    } else {
        (b + 16).rem_euclid(32) - 16
    };
    let a = f64::from(k) * std::f64::consts::TAU / BINS as f64;
    let (c, s) = if k.abs() == 8 {
        (0.0, k.signum() as f32)
    } else {
        (a.cos() as f32, a.sin() as f32)
    };
    if mirrored { (-c, s) } else { (c, s) }
}

/// The bin nearest the orientation `(cos, sin)`. It depends on `|cos|` and its sign only, so
/// the mirrored orientation `(-cos, sin)` falls in the mirrored bin.
pub fn bin_of(c: f32, s: f32) -> usize {
    let k = round(s.atan2(c.abs()) * (BINS as f32 / std::f32::consts::TAU));
    let b = if c >= 0.0 { k } else { BINS as i32 / 2 - k };
    b.rem_euclid(BINS as i32) as usize
}

/// The pattern turned to each bin's angle, as pixel offsets `(dx, dy)` (pair `i` is points
/// `2i` and `2i + 1`), rounded half away from zero.
fn turned() -> &'static [[(i8, i8); 512]; BINS] {
    static TURNED: OnceLock<[[(i8, i8); 512]; BINS]> = OnceLock::new();
    TURNED.get_or_init(|| {
        let mut t = [[(0i8, 0i8); 512]; BINS];
        for (b, offsets) in t.iter_mut().enumerate() {
            let (c, sn) = bin_trig(b);
            for (o, &(px, py)) in offsets.iter_mut().zip(pattern().iter().flatten()) {
                *o = (round(px * c - py * sn) as i8, round(px * sn + py * c) as i8);
            }
        }
        t
    })
}

/// The turned patterns of [`Offsets::describe`] as offsets into one level's rows (`dy * w + dx`),
/// filled per orientation bin the first time a keypoint of that level needs it.
#[derive(Default)]
pub struct Offsets {
    w: usize,
    ready: [bool; BINS],
    table: Vec<isize>,
}

impl Offsets {
    /// Forgets the offsets of the previous level (of another width).
    pub fn reset(&mut self, w: usize) {
        self.w = w;
        self.ready = [false; BINS];
        self.table.resize(BINS * 512, 0);
    }

    /// The descriptor at (x, y) of the smoothed level, the pattern turned to orientation bin
    /// `bin` ([`bin_of`]; a table lookup instead of turning 512 points per keypoint). Bit `i`
    /// is set when the first point of pair `i` is darker than the second.
    #[inline(always)]
    pub fn describe(&mut self, s: &Gray, x: usize, y: usize, bin: usize) -> Hash256 {
        debug_assert_eq!(s.w, self.w);
        let offs = &mut self.table[bin * 512..][..512];
        if !self.ready[bin] {
            let w = self.w as isize;
            for (o, &(dx, dy)) in offs.iter_mut().zip(turned()[bin].iter()) {
                *o = isize::from(dy) * w + isize::from(dx);
            }
            self.ready[bin] = true;
        }
        // The pattern stays inside the level's border around a keypoint, so every offset
        // lands in the image.
        let centre = (y * s.w + x) as isize;
        let at = |o: isize| s.px[(centre + o) as usize];
        let mut d = [0u64; 4];
        for (word, pairs) in d.iter_mut().zip(offs.chunks_exact(128)) {
            for (j, p) in pairs.chunks_exact(2).enumerate() {
                *word |= u64::from(at(p[0]) < at(p[1])) << j;
            }
        }
        Hash256(d)
    }
}
