use super::*;
use crate::base::rng::SplitMix;

/// A textured test picture: random rectangles and discs of random gray levels.
pub(crate) fn picture(w: usize, h: usize, seed: u64) -> Gray {
    let mut rng = SplitMix(seed);
    let mut px = vec![128u8; w * h];
    for _ in 0..120 {
        let (cx, cy) = (rng.unit() * w as f64, rng.unit() * h as f64);
        let r = 4.0 + rng.unit() * 22.0;
        let v = (rng.next_u64() % 256) as u8;
        let disc = rng.next_u64().is_multiple_of(2);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                let inside = if disc {
                    dx * dx + dy * dy <= r * r
                } else {
                    dx.abs() <= r && dy.abs() <= r * 0.6
                };
                if inside {
                    px[y * w + x] = v;
                }
            }
        }
    }
    Gray { w, h, px }
}

/// `g` rotated by `deg` about its centre, zoomed by `zoom` and shifted by `(sx, sy)` pixels
/// (bilinear, black outside), as Keras' generator does with `fill_mode="constant"`.
pub(crate) fn warp(g: &Gray, deg: f64, zoom: f64, sx: f64, sy: f64) -> Gray {
    let (c, s) = (deg.to_radians().cos(), deg.to_radians().sin());
    let (cx, cy) = ((g.w as f64 - 1.0) / 2.0, (g.h as f64 - 1.0) / 2.0);
    let mut px = vec![0u8; g.w * g.h];
    for y in 0..g.h {
        for x in 0..g.w {
            // Inverse map: output (x, y) comes from the source at R^-1 (p - c - shift) / zoom + c.
            let (dx, dy) = (x as f64 - cx - sx, y as f64 - cy - sy);
            let (u, v) = (
                (c * dx + s * dy) / zoom + cx,
                (-s * dx + c * dy) / zoom + cy,
            );
            if u < 0.0 || v < 0.0 || u > (g.w - 1) as f64 || v > (g.h - 1) as f64 {
                continue;
            }
            let (x0, y0) = (u.floor() as usize, v.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(g.w - 1), (y0 + 1).min(g.h - 1));
            let (fx, fy) = (u - x0 as f64, v - y0 as f64);
            let at = |x: usize, y: usize| f64::from(g.px[y * g.w + x]);
            let val = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + at(x1, y0) * fx * (1.0 - fy)
                + at(x0, y1) * (1.0 - fx) * fy
                + at(x1, y1) * fx * fy;
            px[y * g.w + x] = val.round() as u8;
        }
    }
    Gray { w: g.w, h: g.h, px }
}

pub(crate) fn mirror(g: &Gray) -> Gray {
    let mut px = g.px.clone();
    for row in px.chunks_exact_mut(g.w) {
        row.reverse();
    }
    Gray { w: g.w, h: g.h, px }
}

#[test]
fn mirror_permutation_equals_extracting_from_the_mirrored_image() {
    let g = picture(256, 192, 3);
    let a = extract_frame(&g);
    let m = extract_frame(&mirror(&g));
    // Each corner of the mirrored picture at (x, y) is the corner at (w - 1 - x, y) of the
    // original; its descriptor is the original's with the halves swapped.
    let level0: Vec<usize> = (0..m.len()).filter(|&i| m.points[i].level == 0).collect();
    let mut same = 0;
    for &i in &level0 {
        let p = m.points[i];
        let found = (0..a.len()).find(|&j| {
            let q = a.points[j];
            q.level == 0 && (q.x - (255.0 - p.x)).abs() < 0.01 && (q.y - p.y).abs() < 0.01
        });
        if let Some(j) = found {
            assert_eq!(mirrored(&a.desc[j]), m.desc[i], "corner at {p:?}");
            same += 1;
        }
    }
    assert!(
        same * 10 >= level0.len() * 9,
        "{same} of {} level-0 corners found again",
        level0.len()
    );
}

#[test]
fn working_frame_caps_the_long_side() {
    let g = picture(600, 300, 1);
    let f = working_frame(&g.px, g.w, g.h, (600.0, 300.0)).expect("frame");
    assert_eq!((f.w, f.h), (TARGET_SIDE, TARGET_SIDE / 2));
    let small = working_frame(&g.px[..100 * 50], 100, 50, (100.0, 50.0)).expect("frame");
    assert_eq!((small.w, small.h), (100, 50));
}

#[test]
fn sidecar_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index.csv.features");
    let f = extract_frame(&picture(256, 192, 5));
    let d1 = [1u8; 16];
    let d2 = [2u8; 16];
    sidecar::write::write_atomic(
        &path,
        vec![(d2, Features::default()), (d1, f.clone())],
        Vec::new(),
        None,
        None,
    )
    .expect("write");
    let s = sidecar::Sidecar::open(&path).expect("open").expect("valid");
    assert_eq!(s.len(), 2);
    let back = s.get(&d1).expect("entry");
    assert_eq!(back.desc, f.desc);
    assert_eq!((back.w, back.h), (f.w, f.h));
    for (p, q) in back.points.iter().zip(&f.points) {
        assert!((p.x - q.x).abs() <= 1.0 / 64.0 && (p.y - q.y).abs() <= 1.0 / 64.0);
        assert!((p.angle - q.angle).abs() < 1e-3);
    }
    assert!(s.get(&d2).expect("empty entry").is_empty());
    assert!(s.get(&[3u8; 16]).is_none());
    // Mapped, both entries read in place as they decode (raw, field by field); an entry
    // outside the map is none.
    let (p1, p2) = (s.position(&d1).expect("d1"), s.position(&d2).expect("d2"));
    let mapped = s.map_entries([p1, p2].into_iter()).expect("mapped");
    let raw = mapped.entry(p1).expect("in the map");
    assert_eq!(raw.len(), f.len());
    for i in 0..f.len() {
        assert_eq!(raw.desc(i), back.desc[i]);
        assert_eq!(raw.angle(i), back.points[i].angle);
        assert_eq!(raw.level(i), back.points[i].level);
    }
    assert!(mapped.entry(p2).expect("empty entry").is_empty());
    if !f.is_empty() {
        let alone = s.map_entries([p2].into_iter());
        assert!(alone.is_none_or(|m| m.entry(p1).is_none()));
    }
    assert!(s.map_entries([5].into_iter()).is_none());
    // Carried over into a new sidecar without the fresh features.
    let path2 = dir.path().join("other.features");
    sidecar::write::write_atomic(&path2, Vec::new(), vec![d1], None, Some(&s)).expect("write");
    let s2 = sidecar::Sidecar::open(&path2)
        .expect("open")
        .expect("valid");
    assert_eq!(s2.get(&d1).expect("kept").desc, f.desc);
    // Fresh features through the pending file, beside kept ones; a digest once.
    let path3 = dir.path().join("third.features");
    let pending = sidecar::write::Pending::new(dir.path()).expect("pending");
    let g = extract_frame(&picture(256, 192, 9));
    let d3 = [3u8; 16];
    pending.add(d3, &g).expect("add");
    pending.add(d1, &g).expect("add");
    sidecar::write::write_atomic(
        &path3,
        Vec::new(),
        vec![d1, [9u8; 16]],
        Some(pending),
        Some(&s),
    )
    .expect("write");
    let s3 = sidecar::Sidecar::open(&path3)
        .expect("open")
        .expect("valid");
    assert_eq!(s3.len(), 3);
    assert_eq!(s3.get(&d3).expect("pending").desc, g.desc);
    assert!(s3.get(&[9u8; 16]).expect("kept but unknown").is_empty());
    assert_eq!(s3.get(&d1).expect("pending before kept").desc, g.desc);
    // Only the sidecars are left: the pending file is gone.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    // Anything else is not a sidecar.
    std::fs::write(&path2, b"not a sidecar").expect("write");
    assert!(sidecar::Sidecar::open(&path2).expect("open").is_none());
}

#[test]
fn round_matches_f32_round() {
    let halves = (-600..=600).map(|i| i as f32 * 0.5);
    let near = halves.flat_map(|v: f32| {
        let b = v.to_bits();
        [
            v,
            f32::from_bits(b.wrapping_add(1)),
            f32::from_bits(b.wrapping_sub(1)),
        ]
    });
    let mut rng = SplitMix(9);
    let random = (0..100_000).map(|_| ((rng.unit() - 0.5) * 600.0) as f32);
    for v in near
        .chain(random)
        .chain([0.49999997, -0.49999997, 0.0, -0.0])
    {
        assert_eq!(round(v), v.round() as i32, "{v}");
    }
}

#[test]
fn optimised_extraction_equals_the_reference() {
    let base = picture(256, 192, 11);
    let images = [
        base.clone(),
        mirror(&base),
        warp(&base, 7.0, 1.1, 5.0, -3.0),
        picture(192, 256, 12),
        picture(97, 61, 13),
        picture(41, 300, 14),
    ];
    for (i, g) in images.iter().enumerate() {
        let f = extract_frame(g);
        assert!(i >= 4 || f.len() > 50, "image {i}: {} keypoints", f.len());
        assert_eq!(f, super::reference::extract_frame(g), "image {i}");
        // The AVX2 build (when the CPU has it) and the portable one agree to the bit.
        assert_eq!(f, super::extract_frame_portable(g), "image {i}");
    }
}

#[test]
fn orientation_bins_mirror_exactly() {
    use super::brief::{BINS, bin_of, bin_trig};
    for b in 0..BINS {
        let m = (BINS + BINS / 2 - b) % BINS;
        let (c, s) = bin_trig(b);
        assert_eq!(bin_trig(m), (-c, s), "bin {b}");
        assert_eq!(bin_of(c, s), b, "bin {b} is its own nearest");
    }
    let mut rng = SplitMix(4);
    for _ in 0..10_000 {
        let a = (rng.unit() * std::f64::consts::TAU) as f32;
        let (c, s) = (a.cos(), a.sin());
        assert_eq!(
            bin_of(-c, s),
            (BINS + BINS / 2 - bin_of(c, s)) % BINS,
            "{a}"
        );
    }
}

#[test]
fn orientation_equals_the_reference_on_noise() {
    // The reference is the straightforward copy (`reference.rs`); this file is the one place
    // that compares the two, so `brief` and `reference` do not import each other.
    let (w, h) = (80, 60);
    let disc = 15;
    let mut rng = SplitMix(7);
    let px = (0..w * h).map(|_| (rng.next_u64() % 256) as u8).collect();
    let g = Gray { w, h, px };
    for y in disc + 1..h - disc - 1 {
        for x in [16, 17, 40, w - 17] {
            assert_eq!(
                super::brief::orientation(&g, x, y),
                super::reference::orientation(&g, x, y),
                "({x}, {y})"
            );
        }
    }
    let flat = Gray {
        w,
        h,
        px: vec![255; w * h],
    };
    assert_eq!(super::brief::orientation(&flat, 40, 30), (1.0, 0.0, 0.0));
}

#[test]
fn corners_on_noise_equal_the_reference() {
    // Noise at three grains: far more corners than the test pictures.
    for (i, &(w, h, grain)) in [(256, 192, 1), (200, 150, 2), (41, 120, 3)]
        .iter()
        .enumerate()
    {
        let mut rng = SplitMix(10 + i as u64);
        let cells: Vec<u8> = (0..w * h).map(|_| (rng.next_u64() % 256) as u8).collect();
        let px = (0..w * h)
            .map(|i| cells[(i / w / grain) * w + (i % w) / grain])
            .collect();
        let g = Gray { w, h, px };
        let ours = super::fast::corners(&g, 20, 16, 300);
        assert!(ours.len() > 5, "{w} x {h}: {} corners", ours.len());
        assert_eq!(
            ours,
            super::reference::corners(&g, 20, 16, 300),
            "{w} x {h}"
        );
    }
}
