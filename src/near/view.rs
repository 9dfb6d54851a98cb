//! The views of an image's 256-bit hashes ([`Hashes256`]): which hashes a search stores and
//! queries with, and how a match is reported. [`View`] is the one list: the decision
//! ([`super::decide`]), the sampled search's entry ids ([`super::sampled`]) and the reports
//! (`pairs.csv`'s `view` column) all walk [`View::ALL`] or match on a view, so a new view is a
//! new variant here plus its hash in `base::hash::Hashes256` (computed by `scan::hash256`,
//! stored by `index::columns`).

use serde::Serialize;

use crate::base::hash::{Hash256, Hashes256};

/// Through which hashes two images matched (and which hash of an image a search entry is).
/// The order ranks explanations: a match through an earlier view is the simpler one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Border-trimmed view against border-trimmed view.
    Trimmed,
    /// An untrimmed view on at least one side.
    Untrimmed,
    /// One image is (a flip or turn of) the central 90% x 90% of the other.
    Crop90,
    /// One image is (a flip or turn of) the central 75% x 75% of the other.
    Crop75,
    /// Not a hash view: local features agree on one similarity or affine transform
    /// (rotation, shift, zoom, shear, mirror; [`super::affine`]) where no hash matched. Never
    /// stored or queried, so it is not in [`View::ALL`].
    Affine,
}

impl View {
    /// Every view, in rank order.
    pub const ALL: [View; 4] = [View::Trimmed, View::Untrimmed, View::Crop90, View::Crop75];
    /// How many views there are.
    pub const COUNT: usize = View::ALL.len();
    /// Bits a view takes in an [`EntryId`]: enough for [`View::COUNT`] views.
    pub const ID_BITS: u32 = usize::BITS - (View::COUNT - 1).leading_zeros();

    /// The name in reports (`pairs.csv`, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            View::Trimmed => "trimmed",
            View::Untrimmed => "untrimmed",
            View::Crop90 => "crop90",
            View::Crop75 => "crop75",
            View::Affine => "affine",
        }
    }

    /// A centre crop: queried with, never stored (an image is matched as a crop of another's
    /// full views).
    pub fn is_crop(self) -> bool {
        matches!(self, View::Crop90 | View::Crop75)
    }

    /// This view's hash of an image, if it has one (the untrimmed view only when the trim
    /// removed something).
    pub fn hash(self, h: &Hashes256) -> Option<Hash256> {
        match self {
            View::Trimmed => Some(h.full),
            View::Untrimmed => h.untrimmed,
            View::Crop90 => Some(h.crops[0]),
            View::Crop75 => Some(h.crops[1]),
            View::Affine => None,
        }
    }

    /// The views an image queries with: every view with `crops`, else the full ones.
    pub fn queried(crops: bool) -> impl Iterator<Item = View> {
        View::ALL.into_iter().filter(move |v| crops || !v.is_crop())
    }

    /// The view a query of view `self` reports when it hits a stored view `stored`.
    pub fn combined(self, stored: View) -> View {
        if self.is_crop() {
            self
        } else {
            self.max(stored)
        }
    }
}

/// The stored (full) views of an image, with their hashes: what queries are matched against.
pub fn stored(h: &Hashes256) -> impl Iterator<Item = (Hash256, View)> + '_ {
    View::ALL
        .into_iter()
        .filter(|v| !v.is_crop())
        .filter_map(|v| v.hash(h).map(|x| (x, v)))
}

/// The hashes an image queries with ([`View::queried`]), with their views.
pub fn queries(h: &Hashes256, crops: bool) -> impl Iterator<Item = (Hash256, View)> + '_ {
    View::queried(crops).filter_map(|v| v.hash(h).map(|x| (x, v)))
}

// The view bits are as few as hold every view.
const _: () = assert!(View::COUNT <= 1 << View::ID_BITS && View::COUNT > 1 << (View::ID_BITS - 1));

/// One hash of one image in a search, packed in 32 bits: `image << View::ID_BITS | view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(pub u32);

impl EntryId {
    /// Images an id can name.
    pub const MAX_IMAGES: usize = 1 << (u32::BITS - View::ID_BITS);

    pub fn new(image: usize, view: View) -> EntryId {
        debug_assert!(image < EntryId::MAX_IMAGES);
        EntryId(((image as u32) << View::ID_BITS) | view as u32)
    }

    /// The image's position.
    pub fn image(self) -> u32 {
        self.0 >> View::ID_BITS
    }

    pub fn view(self) -> View {
        View::ALL[(self.0 & ((1 << View::ID_BITS) - 1)) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_every_view_and_the_last_image() {
        for (i, v) in View::ALL.into_iter().enumerate() {
            assert_eq!(v as usize, i, "ALL is in declaration order");
            for image in [0, 1, 12345, EntryId::MAX_IMAGES - 1] {
                let id = EntryId::new(image, v);
                assert_eq!((id.image() as usize, id.view()), (image, v));
            }
        }
    }

    #[test]
    fn queries_and_stored_views_follow_the_hashes() {
        let h = |x| Hash256([x; 4]);
        let mut hs = Hashes256 {
            full: h(1),
            untrimmed: None,
            crops: [h(2), h(3)],
        };
        let views =
            |it: &mut dyn Iterator<Item = (Hash256, View)>| it.map(|x| x.1).collect::<Vec<_>>();
        assert_eq!(views(&mut stored(&hs)), [View::Trimmed]);
        assert_eq!(views(&mut queries(&hs, false)), [View::Trimmed]);
        hs.untrimmed = Some(h(4));
        assert_eq!(views(&mut queries(&hs, true)), View::ALL);
        assert_eq!(
            queries(&hs, true).map(|x| x.0).collect::<Vec<_>>(),
            [h(1), h(4), h(2), h(3)]
        );
        assert_eq!(View::Crop75.combined(View::Untrimmed), View::Crop75);
        assert_eq!(View::Trimmed.combined(View::Untrimmed), View::Untrimmed);
    }
}
