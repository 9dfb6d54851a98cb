//! The 256-bit DCT hash of the shared reduction, for the whole image and for centre crops.
//!
//! **Hash.** Take a 64 x 64 view of the image, the 2-D DCT-II of a window of it (area-resampled
//! to 64 x 64 cells), and keep the 16 x 16 lowest frequencies `F(u, v)` (`u` vertical, `v`
//! horizontal). Bit `16u + v` is set when `F(u, v) > 0`; bit 0 (the DC term, always positive)
//! is always clear. As for the 64-bit pHash, thresholding at zero keeps every flip and quarter
//! turn an exact bit operation on the stored hash ([`Transform`] via [`Hash256::transformed`]): mirroring x
//! negates odd `v`, mirroring y odd `u`, a transpose swaps `u` and `v`. Measured against a
//! median threshold (PDQ-like) with `examples/hash_study.rs`, zero did as well on every kind of
//! copy (docs/DESIGN.md "Hashes"), so nothing is given up for the bit operations.
//!
//! **Views.** Border trimming (see [`super::reduce::trim_borders`]) is what makes letterboxed
//! and white-framed copies match, but it is not stable on its own: a brightened X-ray whose
//! lower edge saturates gets a white "border" trimmed that the original does not (measured: 105
//! of 256 bits apart), and a centre crop of a film with an uneven dark edge is no longer the
//! centre crop of the trimmed original (55 bits). So two views are hashed: the trimmed one and,
//! when the trim removed anything, the untrimmed one; matching takes the closer of them. Centre
//! crops (90% and 75% per side, both needed: a 75% crop sits 110+ bits from the 90% crop hash)
//! are taken of the untrimmed view, where a crop of the file is exactly a crop of the view.
//!
//! **Storage.** [`Hash256`] (`base::hash`): four 64-bit words, bit `16u + v` of the frequencies
//! in word `(16u + v) / 64`; its hex form (index columns) is 64 digits, word 3 first.

use std::sync::LazyLock;

use super::reduce::{Plane, Rect, Resampler};
use crate::base::hash::Transform;

/// Side of the views (the shared reduction's size).
const N: usize = 64;
/// Frequencies kept per axis.
const K: usize = 16;
/// Centre-crop fractions per side whose hashes are stored (index columns in this order).
pub const CROP_FRACTIONS: [f32; 2] = [0.9, 0.75];

use crate::base::hash::{Hash256, Hashes256};

/// `K x N` matrix: the window `[a, b)` of an `N`-point axis area-resampled to `N` cells, then
/// the `K` lowest DCT-II basis functions.
fn basis(window: (f32, f32)) -> Vec<f32> {
    let rect = Rect {
        x0: window.0,
        y0: 0.0,
        x1: window.1,
        y1: 1.0,
    };
    let rs = Resampler::new(N, 1, rect, N, 1).expect("constant windows inside the 64-cell axis");
    let mut resample = vec![0f32; N * N]; // [cell][source]
    let mut unit = vec![0f32; N];
    for x in 0..N {
        unit[x] = 1.0;
        for (i, v) in rs.apply(&unit).px.into_iter().enumerate() {
            resample[i * N + x] = v;
        }
        unit[x] = 0.0;
    }
    let mut m = vec![0f32; K * N];
    for u in 0..K {
        for i in 0..N {
            let c = (std::f64::consts::PI * (2 * i + 1) as f64 * u as f64 / (2 * N) as f64).cos()
                as f32;
            for x in 0..N {
                m[u * N + x] += c * resample[i * N + x];
            }
        }
    }
    m
}

/// Bases of the whole view and of each crop in [`CROP_FRACTIONS`], planned once.
static BASES: LazyLock<Vec<Vec<f32>>> = LazyLock::new(|| {
    let full = Rect::full(N, N);
    std::iter::once(1.0)
        .chain(CROP_FRACTIONS)
        .map(|f| {
            let r = full.centre(f);
            basis((r.x0, r.x1))
        })
        .collect()
});

/// The hash of a window of a 64 x 64 view (`m`: its basis, the same on both axes since the
/// windows are centred squares).
fn hash_with(p: &Plane, m: &[f32]) -> Hash256 {
    assert_eq!((p.w, p.h), (N, N));
    // tmp[u][x] = sum_y m[u][y] * p[y][x]
    let mut tmp = [[0f32; N]; K];
    for (u, trow) in tmp.iter_mut().enumerate() {
        for (&c, prow) in m[u * N..(u + 1) * N].iter().zip(p.px.chunks_exact(N)) {
            for (t, v) in trow.iter_mut().zip(prow) {
                *t += c * v;
            }
        }
    }
    let mut rows = [0u16; K];
    for (trow, row) in tmp.iter().zip(rows.iter_mut()) {
        for v in 0..K {
            let f: f32 = trow
                .iter()
                .zip(&m[v * N..(v + 1) * N])
                .map(|(a, b)| a * b)
                .sum();
            if f > 0.0 {
                *row |= 1 << v;
            }
        }
    }
    rows[0] &= !1;
    Hash256::from_rows(&rows)
}

/// The 256-bit hash of the whole view.
pub fn hash(p: &Plane) -> Hash256 {
    hash_with(p, &BASES[0])
}

/// The 256-bit hash of the central `CROP_FRACTIONS[k]` of the view.
pub fn crop_hash(p: &Plane, k: usize) -> Hash256 {
    hash_with(p, &BASES[1 + k])
}

/// The two views of a decoded grayscale image (arguments as for
/// [`super::hash::reduction_within`]): the shared reduction (border-trimmed, equal to what
/// `reduction_within` returns) and, when the trim removed anything, the untrimmed 64 x 64 area
/// average, both upright.
pub fn views(
    gray: &[u8],
    w: usize,
    h: usize,
    extent: (f32, f32),
    orientation: u8,
) -> Result<(Plane, Option<Plane>), super::reduce::EmptyPlane> {
    use super::reduce::{area_resize, transform, trim_borders};
    let whole = Rect {
        x0: 0.0,
        y0: 0.0,
        x1: extent.0.min(w as f32),
        y1: extent.1.min(h as f32),
    };
    // As `reduction_within` does it (one trim and one resample serve both hash families).
    let mut rect = trim_borders(gray, w, h);
    rect.x1 = rect.x1.min(extent.0);
    rect.y1 = rect.y1.min(extent.1);
    let upright = |p: Plane| match Transform::from_exif(orientation) {
        Transform::Identity => p,
        t => transform(&p, t),
    };
    let trimmed = upright(area_resize(gray, w, h, rect, N, N)?);
    if rect == whole {
        return Ok((trimmed, None));
    }
    let untrimmed = upright(area_resize(gray, w, h, whole, N, N)?);
    Ok((trimmed, Some(untrimmed)))
}

/// Hashes of the trimmed view and, if the trim removed anything, the untrimmed one (both 64 x
/// 64 and upright).
pub fn hashes(trimmed: &Plane, untrimmed: Option<&Plane>) -> Hashes256 {
    let u = untrimmed.unwrap_or(trimmed);
    Hashes256 {
        full: hash(trimmed),
        untrimmed: untrimmed.map(hash),
        crops: [crop_hash(u, 0), crop_hash(u, 1)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::reduce;

    fn picture(seed: u32) -> Plane {
        let s = seed as f32;
        let px = (0..N * N)
            .map(|i| {
                let (x, y) = ((i % N) as f32 / N as f32, (i / N) as f32 / N as f32);
                let v = 128.0
                    + 60.0 * (x * (3.0 + s) + y * 2.0).sin()
                    + 50.0 * (y * (5.0 + s * 0.7) - x).cos()
                    + if (x - 0.3).powi(2) + (y - 0.6).powi(2) < 0.04 {
                        40.0
                    } else {
                        -10.0
                    };
                v.clamp(0.0, 255.0)
            })
            .collect();
        Plane { w: N, h: N, px }
    }

    #[test]
    fn transform_of_hash_equals_hash_of_transform() {
        for seed in 0..4 {
            let p = picture(seed);
            let h = hash(&p);
            assert_eq!(h.0[0] & 1, 0);
            for t in Transform::ALL {
                let q = reduce::transform(&p, t);
                assert_eq!(h.transformed(t), hash(&q), "{t:?}");
                assert_eq!(h.transformed(t).transformed(t.inverse()), h);
                // Centred crops commute with the dihedral group too.
                for k in 0..2 {
                    assert_eq!(
                        crop_hash(&p, k).transformed(t),
                        crop_hash(&q, k),
                        "{t:?} crop {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn views_equal_the_shared_reduction_and_add_the_untrimmed_one() {
        let (w, h) = (90, 70);
        let mut gray = vec![0u8; w * h];
        for (i, v) in gray.iter_mut().enumerate() {
            let (x, y) = (i % w, i / w);
            *v = if y < 10 {
                0
            } else {
                ((x * 7 + y * 3) % 200 + 20) as u8
            };
        }
        let extent = (w as f32, h as f32);
        for o in [1, 6] {
            let (t, u) = views(&gray, w, h, extent, o).unwrap();
            assert_eq!(
                t,
                crate::scan::hash::reduction_within(&gray, w, h, extent, o).unwrap()
            );
            let u = u.expect("the black bar is trimmed, so the untrimmed view is kept");
            assert_ne!(hash(&t), hash(&u));
        }
        let plain: Vec<u8> = (0..w * h).map(|i| ((i % w) * 2 + (i / w)) as u8).collect();
        assert!(views(&plain, w, h, extent, 1).unwrap().1.is_none());
    }

    #[test]
    fn different_pictures_are_far_apart_and_crops_differ() {
        let (a, b) = (hash(&picture(1)), hash(&picture(7)));
        assert!(a.distance(&b) > 20, "{}", a.distance(&b));
        let p = picture(2);
        assert!(hash(&p).distance(&crop_hash(&p, 0)) > 10);
    }

    #[test]
    fn a_crop_of_the_view_matches_the_crop_hash() {
        // Resample the central 75% of a larger smooth picture and compare with the crop hash.
        let big = picture(3);
        let r = Rect::full(N, N).centre(0.75);
        let cropped = reduce::area_resize(&big.px, N, N, r, N, N).unwrap();
        let d = hash(&cropped).distance(&crop_hash(&big, 1));
        assert!(d <= 4, "{d}");
    }
}
