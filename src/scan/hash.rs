//! The perceptual hashes and their dihedral (flip / quarter-turn) variants.
//!
//! Both hashes come from one shared reduction: the decoded grayscale image, border-trimmed,
//! area-averaged to 64 x 64, then turned upright by its EXIF orientation.
//!
//! * **pHash** (64 bits): 2x2-average the reduction to 32 x 32, take the 2-D DCT-II, keep the
//!   8 x 8 lowest frequencies `F(u, v)` (`u` vertical, `v` horizontal). Bit `8u + v` is set
//!   when `F(u, v) > 0`; bit 0 (the DC term, always positive) is set when the mean is above
//!   mid-gray (127.5). Thresholding at zero instead of at the median makes every flip and
//!   quarter turn an exact bit operation on the hash: mirroring x multiplies `F(u, v)` by
//!   `(-1)^v`, mirroring y by `(-1)^u`, and a transpose swaps `u` and `v`. So
//!   [`Transform::apply_to_phash`] gives the hash of the flipped or rotated image without
//!   decoding it again (exact up to coefficients that are exactly zero).
//! * **pHash of the centre crop**: the same, from the central 90% x 90% of the reduction;
//!   matched against other images' full pHash it finds centre crops.
//! * **dHash** (64 bits): the reduction area-averaged to 9 x 8; bit `8r + c` is set when
//!   pixel `(c + 1, r)` is brighter than pixel `(c, r)`.
//!
//! Hashes are written as 16 hex digits of the `u64` (bit 0 is the least significant digit's
//! lowest bit).

use std::sync::LazyLock;

use super::reduce::{self, Plane, Rect};
// Re-exported so `scan::hash` stays the one place callers find everything hash-related.
use crate::base::hash::Transform;

/// Side of the shared reduction.
pub const REDUCED: usize = 64;
/// Side of the pHash DCT input.
const DCT_N: usize = 32;
/// Below this standard deviation (gray levels) of the reduction, an image is near-constant.
pub const NEAR_CONSTANT_STD: f32 = 3.0;
/// Fraction of each side kept by the centre-crop hash.
pub const CROP_FRACTION: f32 = 0.9;

/// `COS[u][x] = cos(pi * (2x + 1) * u / 64)` for the 8 lowest frequencies of a 32-point DCT.
static COS: LazyLock<[[f32; DCT_N]; 8]> = LazyLock::new(|| {
    let mut t = [[0f32; DCT_N]; 8];
    for (u, row) in t.iter_mut().enumerate() {
        for (x, c) in row.iter_mut().enumerate() {
            *c = (std::f64::consts::PI * (2 * x + 1) as f64 * u as f64 / (2 * DCT_N) as f64).cos()
                as f32;
        }
    }
    t
});

/// pHash of a 32 x 32 plane (see the module doc).
pub fn phash(p: &Plane) -> u64 {
    assert_eq!((p.w, p.h), (DCT_N, DCT_N));
    let cos = &*COS;
    // tmp[u][x] = sum_y cos[u][y] * p[y][x]
    let mut tmp = [[0f32; DCT_N]; 8];
    for (u, trow) in tmp.iter_mut().enumerate() {
        for (&c, prow) in cos[u].iter().zip(p.px.chunks_exact(DCT_N)) {
            for (t, v) in trow.iter_mut().zip(prow) {
                *t += c * v;
            }
        }
    }
    let mean = p.px.iter().sum::<f32>() / (DCT_N * DCT_N) as f32;
    let mut h = u64::from(mean > 127.5);
    for (u, trow) in tmp.iter().enumerate() {
        for (v, crow) in cos.iter().enumerate() {
            if u == 0 && v == 0 {
                continue;
            }
            let f: f32 = trow.iter().zip(crow).map(|(a, b)| a * b).sum();
            if f > 0.0 {
                h |= 1 << (8 * u + v);
            }
        }
    }
    h
}

/// dHash of a 9 x 8 plane (see the module doc).
pub fn dhash(p: &Plane) -> u64 {
    assert_eq!((p.w, p.h), (9, 8));
    let mut h = 0u64;
    for r in 0..8 {
        for c in 0..8 {
            if p.at(c + 1, r) > p.at(c, r) {
                h |= 1 << (8 * r + c);
            }
        }
    }
    h
}

/// The hashes of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashes {
    pub phash: u64,
    pub dhash: u64,
    pub phash_crop: u64,
    /// The image is (nearly) one flat colour: its hashes carry no information.
    pub near_constant: bool,
}

/// The shared 64 x 64 reduction of a grayscale image: borders trimmed, area-averaged, and
/// turned upright by its EXIF orientation.
pub fn reduction(
    gray: &[u8],
    w: usize,
    h: usize,
    orientation: u8,
) -> Result<Plane, reduce::EmptyPlane> {
    reduction_within(gray, w, h, (w as f32, h as f32), orientation)
}

/// [`reduction`] of the part of `gray` that holds the image: `extent` is how far it reaches
/// (a DCT-downscaled JPEG's last row and column can be partly padding).
pub fn reduction_within(
    gray: &[u8],
    w: usize,
    h: usize,
    extent: (f32, f32),
    orientation: u8,
) -> Result<Plane, reduce::EmptyPlane> {
    let mut rect = reduce::trim_borders(gray, w, h);
    rect.x1 = rect.x1.min(extent.0);
    rect.y1 = rect.y1.min(extent.1);
    let plane = reduce::area_resize(gray, w, h, rect, REDUCED, REDUCED)?;
    Ok(match Transform::from_exif(orientation) {
        Transform::Identity => plane,
        t => reduce::transform(&plane, t),
    })
}

/// The fixed resamplings below have constant, non-zero sizes.
fn fixed(r: Rect, dw: usize, dh: usize) -> reduce::Resampler {
    reduce::Resampler::new(REDUCED, REDUCED, r, dw, dh).expect("constant non-zero sizes")
}

/// The fixed resamplings of the 64 x 64 reduction, planned once.
static FULL_32: LazyLock<reduce::Resampler> =
    LazyLock::new(|| fixed(Rect::full(REDUCED, REDUCED), DCT_N, DCT_N));
static CROP_32: LazyLock<reduce::Resampler> = LazyLock::new(|| {
    fixed(
        Rect::full(REDUCED, REDUCED).centre(CROP_FRACTION),
        DCT_N,
        DCT_N,
    )
});
static FULL_9X8: LazyLock<reduce::Resampler> =
    LazyLock::new(|| fixed(Rect::full(REDUCED, REDUCED), 9, 8));

/// All hashes from the shared reduction (64 x 64).
pub fn hashes_of_reduction(r: &Plane) -> Hashes {
    assert_eq!((r.w, r.h), (REDUCED, REDUCED));
    let p32 = FULL_32.apply(&r.px);
    let crop = CROP_32.apply(&r.px);
    let d = FULL_9X8.apply(&r.px);
    Hashes {
        phash: phash(&p32),
        dhash: dhash(&d),
        phash_crop: phash(&crop),
        near_constant: r.std_dev() < NEAR_CONSTANT_STD,
    }
}

/// Hashes of a decoded grayscale image (`w` x `h`, row-major) with EXIF orientation `o`.
pub fn compute(
    gray: &[u8],
    w: usize,
    h: usize,
    orientation: u8,
) -> Result<Hashes, reduce::EmptyPlane> {
    Ok(hashes_of_reduction(&reduction(gray, w, h, orientation)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::hash::distance;

    /// A deterministic, structured test picture (smooth shapes, not noise).
    fn picture(w: usize, h: usize, seed: u32) -> Vec<u8> {
        let s = seed as f32;
        (0..h)
            .flat_map(|y| {
                (0..w).map(move |x| {
                    let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
                    let v = 128.0
                        + 60.0 * ((fx * (3.0 + s) + fy * 2.0).sin())
                        + 50.0 * ((fy * (5.0 + s * 0.7) - fx).cos())
                        + if (fx - 0.3).powi(2) + (fy - 0.6).powi(2) < 0.04 {
                            40.0
                        } else {
                            -10.0
                        };
                    v.clamp(0.0, 255.0) as u8
                })
            })
            .collect()
    }

    #[test]
    fn transform_of_hash_equals_hash_of_transform() {
        let g = picture(64, 64, 3);
        let r = reduction(&g, 64, 64, 1).unwrap();
        let h = hashes_of_reduction(&r).phash;
        for t in Transform::ALL {
            let ht = hashes_of_reduction(&reduce::transform(&r, t)).phash;
            assert_eq!(t.apply_to_phash(h), ht, "{t:?}");
            assert_eq!(t.inverse().apply_to_phash(t.apply_to_phash(h)), h);
        }
    }

    #[test]
    fn exif_orientation_matches_image_crate() {
        use image::{DynamicImage, GrayImage, metadata::Orientation};
        let (w, h) = (80, 50);
        let g = picture(w, h, 1);
        let img =
            DynamicImage::ImageLuma8(GrayImage::from_raw(w as u32, h as u32, g.clone()).unwrap());
        for o in 1..=8u8 {
            let mut upright = img.clone();
            upright.apply_orientation(Orientation::from_exif(o).unwrap());
            let u = upright.to_luma8();
            let expect = reduction(u.as_raw(), u.width() as usize, u.height() as usize, 1).unwrap();
            let got = reduction(&g, w, h, o).unwrap();
            let worst = expect
                .px
                .iter()
                .zip(&got.px)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-2, "orientation {o}: max diff {worst}");
        }
    }

    #[test]
    fn near_constant_detected() {
        let blank = vec![200u8; 50 * 40];
        assert!(compute(&blank, 50, 40, 1).unwrap().near_constant);
        assert!(
            !compute(&picture(50, 40, 2), 50, 40, 1)
                .unwrap()
                .near_constant
        );
    }

    #[test]
    fn different_pictures_are_far_apart() {
        let a = compute(&picture(96, 64, 1), 96, 64, 1).unwrap();
        let b = compute(&picture(96, 64, 7), 96, 64, 1).unwrap();
        assert!(
            distance(a.phash, b.phash) > 12,
            "{}",
            distance(a.phash, b.phash)
        );
    }

    #[test]
    fn letterbox_does_not_change_hash_much() {
        let (w, h) = (96, 64);
        let g = picture(w, h, 4);
        let mut boxed = vec![0u8; w * (h + 32)];
        boxed[16 * w..(16 + h) * w].copy_from_slice(&g);
        let a = compute(&g, w, h, 1).unwrap();
        let b = compute(&boxed, w, h + 32, 1).unwrap();
        assert!(
            distance(a.phash, b.phash) <= 2,
            "{}",
            distance(a.phash, b.phash)
        );
    }
}
