use super::verify;
use crate::scan::features::extract_frame;
use crate::scan::features::tests::{mirror, picture, warp};

#[test]
fn rotated_shifted_zoomed_copy_is_matched() {
    let g = picture(256, 192, 7);
    let a = extract_frame(&g);
    assert!(a.len() > 100, "a textured picture has corners: {}", a.len());
    let b = extract_frame(&warp(&g, 17.0, 1.1, 20.0, -12.0));
    let fit = verify::verify(&a, &b).expect("the warped copy verifies");
    assert!((fit.rotation_deg - 17.0).abs() < 3.0, "{fit:?}");
    assert!((fit.scale - 1.1).abs() < 0.08, "{fit:?}");
    assert!(!fit.mirrored);
    assert!(fit.inliers >= verify::MIN_INLIERS);
}

#[test]
fn mirrored_and_rotated_copy_is_matched_through_the_permutation() {
    let g = picture(256, 192, 11);
    let a = extract_frame(&g);
    let b = extract_frame(&mirror(&warp(&g, -30.0, 1.0, 0.0, 0.0)));
    let fit = verify::verify(&a, &b).expect("the mirrored copy verifies");
    assert!(fit.mirrored, "{fit:?}");
}

#[test]
fn different_pictures_are_not_matched() {
    for seed in 0..4 {
        let a = extract_frame(&picture(256, 192, 100 + seed));
        let b = extract_frame(&picture(256, 192, 200 + seed));
        assert_eq!(verify::verify(&a, &b), None, "seed {seed}");
    }
}
