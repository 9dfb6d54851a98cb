//! Near duplicates on the 256-bit hashes: which images look alike, found fast.
//!
//! - [`decide`]: the decision for a pair (views, crops, flips and turns within a radius) and
//!   all matching pairs through the exact search;
//! - [`calibrate`]: the radius, from the chance matches of that decision;
//! - [`exact`]: exact Hamming search over 256 bits by the pigeonhole rule (per-query
//!   multi-index, all pairs of one set, pairs between two sets);
//! - [`sampled`]: the sampled search for large sets (bit-sampling keys, rounds of disjoint
//!   keys), its candidates explained by [`decide`];
//! - [`groups`]: union-find over the pairs, groups and their representatives;
//! - [`view`]: the views of an image's hashes ([`view::View`]), the one list of them;
//! - [`affine`]: rotated, shifted, zoomed and mirrored copies through local features
//!   (`scan::features`): candidates from descriptor keys, then geometric verification
//!   (issue 22; `view` = `affine`).

pub mod affine;
pub mod calibrate;
pub mod decide;
pub mod exact;
pub mod groups;
pub mod sampled;
pub mod view;
