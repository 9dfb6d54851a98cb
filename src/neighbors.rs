//! Placeholder (linear scan) with the final API; replaced by multi-index hashing.

use rayon::prelude::*;

pub struct MultiIndex {
    hashes: Vec<u64>,
    radius: u32,
}

impl MultiIndex {
    pub fn new(hashes: &[u64], radius: u32) -> Self {
        MultiIndex {
            hashes: hashes.to_vec(),
            radius,
        }
    }
    pub fn radius(&self) -> u32 {
        self.radius
    }
    pub fn len(&self) -> usize {
        self.hashes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
    pub fn query(&self, query: u64, mut f: impl FnMut(u32, u32)) {
        for (i, h) in self.hashes.iter().enumerate() {
            let d = (h ^ query).count_ones();
            if d <= self.radius {
                f(i as u32, d);
            }
        }
    }
    pub fn heap_bytes(&self) -> usize {
        self.hashes.len() * 8
    }
}

pub fn pairs_within(hashes: &[u64], radius: u32) -> Vec<(u32, u32, u32)> {
    pairs_within_brute(hashes, radius)
}

pub fn pairs_within_brute(hashes: &[u64], radius: u32) -> Vec<(u32, u32, u32)> {
    (0..hashes.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            (i + 1..hashes.len()).filter_map(move |j| {
                let d = (hashes[i] ^ hashes[j]).count_ones();
                (d <= radius).then_some((i as u32, j as u32, d))
            })
        })
        .collect()
}
