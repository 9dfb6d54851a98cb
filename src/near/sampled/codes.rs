//! What the sampled search runs over: any set of 256-bit codes with `u32` ids, grouped in
//! *units* (an image's views; an image's local-feature descriptors), each unit storing some
//! codes and querying with some. The image search ([`super::candidate_pairs`]) is one user:
//! [`ImageViews`], ids [`EntryId`]s (image and view).
//!
//! A unit is the grain of the parallel work and of the query batches; its codes are read
//! together (one record's hashes once for all its views). Ids only need to be below
//! [`Codes::id_limit`]: the fewer bits they take, the more check bits a slot holds.

use rayon::prelude::*;

use crate::base::hash::{Hash256, HashList, Hashes256};
use crate::near::view::{EntryId, View};

/// A set of 256-bit codes the sampled search can index and query.
pub trait Codes: Sync {
    /// Units, `0..units()`.
    fn units(&self) -> usize;
    /// Calls `f(id, code)` for each code unit `u` stores (the side the tables index).
    fn stored(&self, u: usize, f: impl FnMut(u32, &Hash256));
    /// Calls `f(id, code)` for each code unit `u` queries with (each is probed under every
    /// transform the search is given).
    fn queries(&self, u: usize, f: impl FnMut(u32, &Hash256));
    /// Every id is below this.
    fn id_limit(&self) -> u64;
}

/// Stored codes of all units.
pub fn stored_count<C: Codes + ?Sized>(codes: &C) -> usize {
    (0..codes.units())
        .into_par_iter()
        .with_min_len(4096)
        .map(|u| {
            let mut count = 0;
            codes.stored(u, |_, _| count += 1);
            count
        })
        .sum()
}

/// Images' views as codes: image `i` stores every view (trimmed, untrimmed when it differs,
/// both crops when `crops`) and queries with its full views (trimmed, untrimmed); ids are
/// [`EntryId`]s.
pub struct ImageViews<'a, L: HashList + ?Sized> {
    pub hashes: &'a L,
    pub crops: bool,
}

impl<L: HashList + ?Sized> ImageViews<'_, L> {
    /// The hash of entry `id`.
    #[inline]
    pub fn hash(&self, id: u32) -> Hash256 {
        let id = EntryId(id);
        view(&self.hashes.hashes(id.image() as usize), id.view())
    }
}

/// An image's hash of `view`; an untrimmed view the image lacks is its trimmed one.
pub(super) fn view(h: &Hashes256, view: View) -> Hash256 {
    view.hash(h).unwrap_or(h.full)
}

/// Calls `f(id, hash)` for each full view of image `i`, and its crops when `crops`. An
/// untrimmed view equal to the trimmed one is left out (it would only find the same pairs).
#[inline]
fn each_view(h: &Hashes256, i: usize, crops: bool, mut f: impl FnMut(u32, &Hash256)) {
    for v in View::ALL {
        if v.is_crop() && !crops {
            continue;
        }
        match v.hash(h) {
            Some(x) if v != View::Untrimmed || x != h.full => f(EntryId::new(i, v).0, &x),
            _ => {}
        }
    }
}

impl<L: HashList + ?Sized> Codes for ImageViews<'_, L> {
    fn units(&self) -> usize {
        self.hashes.count()
    }
    #[inline]
    fn stored(&self, u: usize, f: impl FnMut(u32, &Hash256)) {
        each_view(&self.hashes.hashes(u), u, self.crops, f);
    }
    #[inline]
    fn queries(&self, u: usize, f: impl FnMut(u32, &Hash256)) {
        each_view(&self.hashes.hashes(u), u, false, f);
    }
    fn id_limit(&self) -> u64 {
        (self.hashes.count() as u64) << View::ID_BITS
    }
}
