//! Geometric verification of one candidate pair: putative matches by nearest neighbour with
//! a ratio test (against the other image's descriptors and their mirror permutation), then a
//! RANSAC similarity fit refined to an affine map, then inlier count, spread and scale bounds.

use crate::base::hash::Hash256;
use crate::base::rng::SplitMix;
use crate::scan::features::{Features, mirrored};

/// Largest descriptor distance of a putative match (bits of 256).
pub const MAX_MATCH_BITS: u32 = 64;
/// Lowe's ratio: best distance below this share of the second best.
pub const RATIO: f32 = 0.8;
/// RANSAC hypotheses tried per orientation (mirrored or not).
pub const ITERATIONS: usize = 300;
/// Inlier tolerance of the similarity hypotheses and of the affine refinement, as a share of
/// the working frame's long side.
pub const HYPOTHESIS_TOLERANCE: f32 = 0.03;
pub const AFFINE_TOLERANCE: f32 = 0.016;
/// A match's own rotation (the difference of its keypoints' orientations) must agree with
/// the hypothesis within this many degrees.
pub const ANGLE_TOLERANCE_DEG: f32 = 25.0;
/// Scale bounds of an accepted transform (b's size over a's, per axis of the fit).
pub const SCALE_MIN: f32 = 0.6;
pub const SCALE_MAX: f32 = 1.7;
/// Largest root-mean-square distance of the inliers from the affine fit, in working-frame
/// pixels. Copies fit to within 1.46 px on every shared set (median 0.7-1.0); different
/// photos of one scene and the stereo pair, whose parallax no affine map explains, sit at
/// 1.68 px and more (docs/DESIGN.md "Augmented copies").
pub const MAX_RESIDUAL: f32 = 1.6;
/// Fewest inliers of an accepted pair.
pub const MIN_INLIERS: usize = 20;
/// The inliers must cover the image: standard deviation of their positions in each image, as
/// a share of its long side, at least this.
pub const MIN_SPREAD: f32 = 0.025;

/// The verified relation between two images: `b(p) ~ A a(p) + t` in working-frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// `b` is a mirrored copy of `a` (before the fit's rotation).
    pub mirrored: bool,
    /// Rotation in degrees (counter-clockwise in image coordinates), -180..180.
    pub rotation_deg: f32,
    /// Scale of `b` against `a` (square root of the fit's determinant, in each image's own
    /// working-frame pixels scaled to the original pixel sizes by the caller).
    pub scale: f32,
    /// Where `a`'s centre lands in `b`, relative to `b`'s centre, as shares of `b`'s width
    /// and height.
    pub shift_x: f32,
    pub shift_y: f32,
    pub inliers: usize,
    /// Putative matches the fit was drawn from.
    pub matches: usize,
}

#[derive(Debug, Clone, Copy)]
struct Match {
    ax: f32,
    ay: f32,
    bx: f32,
    by: f32,
    /// Orientation difference b - a, radians.
    dangle: f32,
}

/// Putative matches of `a`'s descriptors in `b` (mirrored: against `b`'s mirror
/// permutations, with `b`'s points mirrored).
fn putative(a: &Features, b: &Features, mirror: bool) -> Vec<Match> {
    crate::base::cpu::with_popcnt(
        #[inline(always)]
        || putative_in(a, b, mirror),
    )
}

#[inline(always)]
fn putative_in(a: &Features, b: &Features, mirror: bool) -> Vec<Match> {
    let bd: Vec<Hash256> = if mirror {
        b.desc.iter().map(mirrored).collect()
    } else {
        b.desc.clone()
    };
    let bw = f32::from(b.w);
    let mut out = Vec::new();
    for (i, da) in a.desc.iter().enumerate() {
        let (mut d1, mut d2, mut j1) = (u32::MAX, u32::MAX, 0);
        for (j, db) in bd.iter().enumerate() {
            let d = da.distance(db);
            if d < d1 {
                (d2, d1, j1) = (d1, d, j);
            } else if d < d2 {
                d2 = d;
            }
        }
        if d1 > MAX_MATCH_BITS || (d1 as f32) >= RATIO * d2 as f32 {
            continue;
        }
        let (pa, pb) = (a.points[i], b.points[j1]);
        let (bx, bangle) = if mirror {
            (bw - 1.0 - pb.x, std::f32::consts::PI - pb.angle)
        } else {
            (pb.x, pb.angle)
        };
        out.push(Match {
            ax: pa.x,
            ay: pa.y,
            bx,
            by: pb.y,
            dangle: bangle - pa.angle,
        });
    }
    out
}

fn wrap(a: f32) -> f32 {
    let t = std::f32::consts::TAU;
    (a + std::f32::consts::PI).rem_euclid(t) - std::f32::consts::PI
}

/// An affine map `[a b; c d] p + (tx, ty)`.
#[derive(Debug, Clone, Copy)]
struct Affine([f32; 6]);

impl Affine {
    fn map(&self, x: f32, y: f32) -> (f32, f32) {
        let m = self.0;
        (m[0] * x + m[1] * y + m[4], m[2] * x + m[3] * y + m[5])
    }

    /// The similarity taking (p1, p2) of a to (q1, q2) of b.
    fn similarity(m1: &Match, m2: &Match) -> Option<Affine> {
        let (dax, day) = (m2.ax - m1.ax, m2.ay - m1.ay);
        let (dbx, dby) = (m2.bx - m1.bx, m2.by - m1.by);
        let n = dax * dax + day * day;
        if n < 1e-3 {
            return None;
        }
        // (dbx + i dby) / (dax + i day) = a + i b
        let a = (dbx * dax + dby * day) / n;
        let b = (dby * dax - dbx * day) / n;
        let tx = m1.bx - (a * m1.ax - b * m1.ay);
        let ty = m1.by - (b * m1.ax + a * m1.ay);
        Some(Affine([a, -b, b, a, tx, ty]))
    }

    /// Least-squares affine fit of the chosen matches.
    fn least_squares(ms: &[Match], keep: &[bool]) -> Option<Affine> {
        // Normal equations for x' = a x + b y + tx (and the same for y'), centred.
        let sel: Vec<&Match> = ms
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(m, _)| m)
            .collect();
        if sel.len() < 3 {
            return None;
        }
        let n = sel.len() as f64;
        let (mx, my) = (
            sel.iter().map(|m| f64::from(m.ax)).sum::<f64>() / n,
            sel.iter().map(|m| f64::from(m.ay)).sum::<f64>() / n,
        );
        let (ux, uy) = (
            sel.iter().map(|m| f64::from(m.bx)).sum::<f64>() / n,
            sel.iter().map(|m| f64::from(m.by)).sum::<f64>() / n,
        );
        let (mut sxx, mut sxy, mut syy, mut bxx, mut bxy, mut byx, mut byy) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for m in &sel {
            let (x, y) = (f64::from(m.ax) - mx, f64::from(m.ay) - my);
            let (u, v) = (f64::from(m.bx) - ux, f64::from(m.by) - uy);
            sxx += x * x;
            sxy += x * y;
            syy += y * y;
            bxx += u * x;
            bxy += u * y;
            byx += v * x;
            byy += v * y;
        }
        let det = sxx * syy - sxy * sxy;
        if det.abs() < 1e-6 {
            return None;
        }
        let a = (bxx * syy - bxy * sxy) / det;
        let b = (bxy * sxx - bxx * sxy) / det;
        let c = (byx * syy - byy * sxy) / det;
        let d = (byy * sxx - byx * sxy) / det;
        let tx = ux - a * mx - b * my;
        let ty = uy - c * mx - d * my;
        Some(Affine([a, b, c, d, tx, ty].map(|v| v as f32)))
    }

    fn inliers(&self, ms: &[Match], tol: f32) -> Vec<bool> {
        let t2 = tol * tol;
        ms.iter()
            .map(|m| {
                let (x, y) = self.map(m.ax, m.ay);
                (x - m.bx).powi(2) + (y - m.by).powi(2) <= t2
            })
            .collect()
    }

    /// Singular values of the linear part (largest first).
    fn singular_values(&self) -> (f32, f32) {
        let [a, b, c, d, ..] = self.0;
        let s1 = ((a + d).powi(2) + (c - b).powi(2)).sqrt();
        let s2 = ((a - d).powi(2) + (c + b).powi(2)).sqrt();
        ((s1 + s2) / 2.0, (s1 - s2).abs() / 2.0)
    }
}

fn spread(ms: &[Match], keep: &[bool], b_side: bool) -> (f32, f32) {
    let pts: Vec<(f32, f32)> = ms
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(m, _)| if b_side { (m.bx, m.by) } else { (m.ax, m.ay) })
        .collect();
    let n = pts.len().max(1) as f32;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f32>() / n,
        pts.iter().map(|p| p.1).sum::<f32>() / n,
    );
    let sx = (pts.iter().map(|p| (p.0 - mx).powi(2)).sum::<f32>() / n).sqrt();
    let sy = (pts.iter().map(|p| (p.1 - my).powi(2)).sum::<f32>() / n).sqrt();
    (sx, sy)
}

/// What the verification measured for one orientation, accepted or not (for the study
/// example and the tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub fit: Fit,
    pub accepted: bool,
    /// Smaller standard deviation of the inliers' positions over both images, as a share of
    /// the long side.
    pub spread: f32,
    /// Root mean square distance of the inliers from the fit, in working-frame pixels of `b`.
    pub residual: f32,
}

fn verify_one(a: &Features, b: &Features, mirror: bool) -> Option<Outcome> {
    let ms = putative(a, b, mirror);
    if ms.len() < 3 {
        return None;
    }
    let long_a = f32::from(a.w.max(a.h));
    let long_b = f32::from(b.w.max(b.h));
    let tol_h = HYPOTHESIS_TOLERANCE * long_b;
    let tol_a = AFFINE_TOLERANCE * long_b;
    let angle_tol = ANGLE_TOLERANCE_DEG.to_radians();
    let mut rng = SplitMix(0x5eed ^ ms.len() as u64);
    let n = ms.len();
    let mut best: Option<(usize, Affine)> = None;
    for _ in 0..ITERATIONS {
        let i = (rng.next_u64() % n as u64) as usize;
        let j = (rng.next_u64() % n as u64) as usize;
        if i == j {
            continue;
        }
        let Some(h) = Affine::similarity(&ms[i], &ms[j]) else {
            continue;
        };
        let scale = (h.0[0] * h.0[0] + h.0[2] * h.0[2]).sqrt() * long_a / long_b;
        if !(SCALE_MIN..=SCALE_MAX).contains(&scale) {
            continue;
        }
        let rot = h.0[2].atan2(h.0[0]);
        if wrap(ms[i].dangle - rot).abs() > angle_tol || wrap(ms[j].dangle - rot).abs() > angle_tol
        {
            continue;
        }
        let t2 = tol_h * tol_h;
        let count = ms
            .iter()
            .filter(|m| {
                let (x, y) = h.map(m.ax, m.ay);
                (x - m.bx).powi(2) + (y - m.by).powi(2) <= t2
                    && wrap(m.dangle - rot).abs() <= angle_tol
            })
            .count();
        if best.is_none_or(|(c, _)| count > c) {
            best = Some((count, h));
        }
    }
    let (_, h) = best?;
    let mut keep = h.inliers(&ms, tol_h);
    let mut fit = h;
    for _ in 0..2 {
        if let Some(f) = Affine::least_squares(&ms, &keep) {
            fit = f;
            keep = fit.inliers(&ms, tol_a);
        }
    }
    let rot = fit.0[2].atan2(fit.0[0]);
    // Orientation consistency again for the final inliers.
    for (k, m) in keep.iter_mut().zip(&ms) {
        *k = *k && wrap(m.dangle - rot).abs() <= angle_tol;
    }
    let inliers = keep.iter().filter(|k| **k).count();
    let (s1, s2) = fit.singular_values();
    let (s1, s2) = (s1 * long_a / long_b, s2 * long_a / long_b);
    let (sax, say) = spread(&ms, &keep, false);
    let (sbx, sby) = spread(&ms, &keep, true);
    let spread = (sax.min(say) / long_a).min(sbx.min(sby) / long_b);
    let det = fit.0[0] * fit.0[3] - fit.0[1] * fit.0[2];
    let (cx, cy) = fit.map((f32::from(a.w) - 1.0) / 2.0, (f32::from(a.h) - 1.0) / 2.0);
    let (bw, bh) = (f32::from(b.w), f32::from(b.h));
    let out = Fit {
        mirrored: mirror,
        rotation_deg: rot.to_degrees(),
        scale: (det.abs().sqrt() * long_a / long_b).max(0.0),
        shift_x: (cx - (bw - 1.0) / 2.0) / bw.max(1.0),
        shift_y: (cy - (bh - 1.0) / 2.0) / bh.max(1.0),
        inliers,
        matches: n,
    };
    let residual = {
        let (mut s, mut k) = (0f32, 0usize);
        for (m, _) in ms.iter().zip(&keep).filter(|(_, k)| **k) {
            let (x, y) = fit.map(m.ax, m.ay);
            s += (x - m.bx).powi(2) + (y - m.by).powi(2);
            k += 1;
        }
        (s / k.max(1) as f32).sqrt()
    };
    let accepted = det > 0.0
        && residual <= MAX_RESIDUAL
        && inliers >= MIN_INLIERS
        && spread >= MIN_SPREAD
        && s2 >= SCALE_MIN
        && s1 <= SCALE_MAX;
    Some(Outcome {
        fit: out,
        accepted,
        spread,
        residual,
    })
}

/// Both orientations (plain, mirrored); the one with more inliers.
pub fn study(a: &Features, b: &Features) -> Option<Outcome> {
    let p = verify_one(a, b, false);
    let m = verify_one(a, b, true);
    match (p, m) {
        (Some(p), Some(m)) => Some(
            if (m.accepted, m.fit.inliers) > (p.accepted, p.fit.inliers) {
                m
            } else {
                p
            },
        ),
        (p, m) => p.or(m),
    }
}

/// The verified fit of `b` against `a`, if they are copies.
pub fn verify(a: &Features, b: &Features) -> Option<Fit> {
    study(a, b).filter(|o| o.accepted).map(|o| o.fit)
}
