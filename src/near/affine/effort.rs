//! How many descriptors each image searches with: all of them up to [`FULL_SEARCH_IMAGES`]
//! images, then fewer, so that the key entries stay near [`ENTRY_BUDGET`] and `leaks` at a
//! million images keeps to its time and memory (issue 22: 30 s, 400 bytes per image).
//!
//! The cost of the candidate search is its entries (two per search descriptor and table):
//! made, partitioned, written and read back, sorted. The strongest corners of each pyramid
//! level are kept (`super::candidates::each_search_index`): they are the ones a copy most often
//! shares.

use crate::scan::features::MAX_FEATURES;

/// Key entries the search may make.
pub const ENTRY_BUDGET: usize = 512 << 20;
/// Fewest descriptors an image searches with, whatever the size.
pub const MIN_KEYS: usize = 16;
/// Up to this many images every descriptor searches.
pub const FULL_SEARCH_IMAGES: usize = ENTRY_BUDGET / (2 * super::TABLES * MAX_FEATURES);

/// Descriptors per image for a search over `images` images with `tables` key tables
/// (`usize::MAX`: all of them).
pub fn keys_per_image(images: usize, tables: usize) -> usize {
    let per_image = ENTRY_BUDGET / (2 * tables.max(1) * images.max(1));
    if per_image >= MAX_FEATURES {
        usize::MAX
    } else {
        per_image.max(MIN_KEYS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_search_with_every_descriptor_and_large_ones_with_fewer() {
        assert_eq!(keys_per_image(500, 8), usize::MAX);
        assert_eq!(keys_per_image(FULL_SEARCH_IMAGES, 8), usize::MAX);
        let at_a_million = keys_per_image(1_000_000, 8);
        assert!((MIN_KEYS..MAX_FEATURES).contains(&at_a_million));
        assert_eq!(keys_per_image(100_000_000, 8), MIN_KEYS);
    }
}
