//! Sharded scans: which files shard K of N hashes.
//!
//! A file belongs to shard `BLAKE3(path bytes relative to ROOT) mod N`, over the first 64 bits
//! of the hash. The ROOT-relative path is the same on every machine that mounts the dataset,
//! so the assignment depends on nothing else (not the walk order, the host or the mount point),
//! and every file lands in exactly one shard.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::base::paths::path_field;

/// Shard `index` of `count` (0-based: `0/4` .. `3/4`), as `--shard K/N` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// The shard (0-based) a ROOT-relative path falls in, out of `count`.
pub fn shard_of(rel: &Path, count: u32) -> u32 {
    let h = blake3::hash(&path_field(rel));
    let first = u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"));
    (first % u64::from(count.max(1))) as u32
}

impl Shard {
    /// Does this shard hash the file at `rel` (relative to ROOT)?
    pub fn contains(self, rel: &Path) -> bool {
        shard_of(rel, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard takes K/N with 0 <= K < N, e.g. 0/4 (got {s:?})");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            "3/4".parse::<Shard>().unwrap(),
            Shard { index: 3, count: 4 }
        );
        for bad in ["4/4", "1/0", "x/2", "1", "-1/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_path_in_exactly_one_shard_and_spread() {
        let paths: Vec<PathBuf> = (0..4000)
            .map(|i| PathBuf::from(format!("train/c{}/{i}.jpg", i % 7)))
            .collect();
        let mut counts = [0usize; 4];
        for p in &paths {
            let hits: Vec<u32> = (0..4)
                .filter(|&k| Shard { index: k, count: 4 }.contains(p))
                .collect();
            assert_eq!(hits.len(), 1);
            counts[hits[0] as usize] += 1;
        }
        // 1,000 expected per shard; 6 sigma is about 165.
        assert!(
            counts.iter().all(|&c| (835..=1165).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn stable_value() {
        // A fixed path always lands in the same shard: the assignment is part of the contract
        // (parts scanned by different builds must merge).
        let p = Path::new("train/cats/cat_001.jpg");
        let h = blake3::hash(b"train/cats/cat_001.jpg");
        let first = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap());
        assert_eq!(shard_of(p, 1000), (first % 1000) as u32);
        assert_eq!(shard_of(p, 1), 0);
    }
}
