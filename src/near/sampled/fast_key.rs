//! A table's key and check of a hash, fast: the build and the queries compute one per view
//! and table (about 170 million at a million images): with byte lookups alone, a third of the
//! search's CPU. The affine search keys local-feature descriptors the same way
//! (`crate::near::affine::candidates`).
//!
//! [`KeyTable::key`] is the definition (a shift and mask per bit). Two ways of computing it
//! that give the same value:
//! * **Gathered** (x86_64 with fast BMI2): `pext` gathers the key's and check's bits of each
//!   64-bit word into one compact `u64` (at most 31 + 32 bits), and 8 byte lookups in 16 KB of
//!   tables put each bit in its slot (at a million images the table builds went from 23% of
//!   `leaks`' CPU samples to 11%), or ...
//! * **Bytewise** (everywhere else): for each byte of the hash that holds a bit of either, the
//!   key and check bits of its 256 values (about 28 lookups in 56 KB, more than an L1 cache).

use super::KeyTable;
use crate::base::hash::Hash256;

/// `(table.key(h), check.key(h))`, by whichever way this machine does fastest.
pub(crate) struct FastKey {
    way: Way,
    /// The key's bits (the check's sit above them in the combined word).
    width: u32,
}

enum Way {
    #[cfg(target_arch = "x86_64")]
    Gathered(Gathered),
    Bytewise(Vec<(usize, Box<[u64; 256]>)>),
}

impl FastKey {
    pub(crate) fn new(table: &KeyTable, check: &KeyTable) -> Self {
        assert!(
            table.width() + check.width() <= 64,
            "a key and its check fit one word"
        );
        #[cfg(target_arch = "x86_64")]
        if fast_pext() {
            return FastKey {
                way: Way::Gathered(Gathered::new(table, check)),
                width: table.width(),
            };
        }
        FastKey::bytewise(table, check)
    }

    /// The portable way (also what the gathered one is tested against).
    fn bytewise(table: &KeyTable, check: &KeyTable) -> Self {
        let mut bytes = Vec::new();
        for b in 0..32 {
            let mut lut = Box::new([0u64; 256]);
            for (value, entry) in lut.iter_mut().enumerate() {
                let mut h = Hash256([0; 4]);
                h.0[b / 8] = (value as u64) << (8 * (b % 8));
                *entry = both(table, check, &h);
            }
            if lut[255] != 0 {
                bytes.push((b, lut));
            }
        }
        FastKey {
            way: Way::Bytewise(bytes),
            width: table.width(),
        }
    }

    /// `(table.key(h), check.key(h))`.
    #[inline]
    pub(crate) fn key(&self, h: &Hash256) -> (u32, u64) {
        let k = match &self.way {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Gathered` is only made when the CPU has BMI2 (`fast_pext`).
            Way::Gathered(g) => unsafe { g.key(h) },
            Way::Bytewise(bytes) => {
                let mut k = 0u64;
                for (b, lut) in bytes {
                    k |= lut[((h.0[b / 8] >> (8 * (b % 8))) & 0xFF) as usize];
                }
                k
            }
        };
        // The key is at most 31 bits, so `width < 64`.
        ((k & ((1 << self.width) - 1)) as u32, k >> self.width)
    }
}

impl FastKey {
    /// The key (without the check) of each of `hashes`, appended to `out`: one call for all,
    /// so that the gathered way's `pext`s are inlined into its loop (a call per key was a
    /// tenth of the affine keying's CPU at a million images).
    pub(crate) fn keys_into(&self, hashes: &[Hash256], out: &mut Vec<u32>) {
        let mask = (1u64 << self.width) - 1;
        match &self.way {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Gathered` is only made when the CPU has BMI2 (`fast_pext`).
            Way::Gathered(g) => unsafe { g.keys_into(hashes, mask, out) },
            Way::Bytewise(_) => out.extend(hashes.iter().map(|h| self.key(h).0)),
        }
    }
}

/// `table.key(h) | check.key(h) << table.width()`.
fn both(table: &KeyTable, check: &KeyTable, h: &Hash256) -> u64 {
    table.key(h) | check.key(h) << table.width()
}

/// The key and check bits of each word gathered with `pext`, then placed by byte lookups.
#[cfg(target_arch = "x86_64")]
pub(super) struct Gathered {
    /// The bits of word `w` the key or the check reads ...
    masks: [u64; 4],
    /// ... land at this bit of the compact value (the earlier words' bits below them).
    at: [u32; 4],
    /// `luts[b][v]`: the key and check bits of the compact value's byte `b` being `v`; `None`
    /// when the compact value is the key (ascending positions, no check: the affine search's
    /// tables), which saves the 8 lookups.
    luts: Option<Box<[[u64; 256]; 8]>>,
}

#[cfg(target_arch = "x86_64")]
impl Gathered {
    fn new(table: &KeyTable, check: &KeyTable) -> Self {
        // The hash positions either reads, ascending: compact bit `j` is `positions[j]`
        // (pext keeps a word's bits in order, and the words go in order).
        let mut positions: Vec<u8> = table
            .positions
            .iter()
            .chain(&check.positions)
            .copied()
            .collect();
        positions.sort_unstable();
        positions.dedup();
        assert!(positions.len() <= 64, "a key and its check fit one word");
        let mut masks = [0u64; 4];
        for &p in &positions {
            masks[usize::from(p >> 6)] |= 1 << (p & 63);
        }
        let mut at = [0u32; 4];
        for w in 1..4 {
            at[w] = at[w - 1] + masks[w - 1].count_ones();
        }
        if check.positions.is_empty() && table.positions.windows(2).all(|w| w[0] < w[1]) {
            return Gathered {
                masks,
                at,
                luts: None,
            };
        }
        let mut luts = Box::new([[0u64; 256]; 8]);
        for (j, &p) in positions.iter().enumerate() {
            let mut h = Hash256([0; 4]);
            h.0[usize::from(p >> 6)] = 1 << (p & 63);
            let bit = both(table, check, &h);
            for (value, entry) in luts[j / 8].iter_mut().enumerate() {
                if value >> (j % 8) & 1 == 1 {
                    *entry |= bit;
                }
            }
        }
        Gathered {
            masks,
            at,
            luts: Some(luts),
        }
    }

    /// `table.key(h) | check.key(h) << table.width()`.
    ///
    /// # Safety
    /// The CPU must have BMI2.
    #[target_feature(enable = "bmi2")]
    unsafe fn key(&self, h: &Hash256) -> u64 {
        // SAFETY: this function's caller promised BMI2.
        let compact = unsafe { self.compact(h) };
        let Some(luts) = &self.luts else {
            return compact;
        };
        let mut k = 0u64;
        for (b, lut) in luts.iter().enumerate() {
            k |= lut[(compact >> (8 * b)) as usize & 0xFF];
        }
        k
    }
}

#[cfg(target_arch = "x86_64")]
impl Gathered {
    /// [`Gathered::key`] of each of `hashes`, masked, appended to `out`.
    ///
    /// # Safety
    /// The CPU must have BMI2.
    #[target_feature(enable = "bmi2")]
    unsafe fn keys_into(&self, hashes: &[Hash256], mask: u64, out: &mut Vec<u32>) {
        out.reserve(hashes.len());
        // Loops, not closures: a closure would not have BMI2 enabled, and would call what
        // it should inline.
        if self.luts.is_some() {
            for h in hashes {
                // SAFETY: this function's caller promised BMI2.
                out.push((unsafe { self.key(h) } & mask) as u32);
            }
        } else {
            for h in hashes {
                // SAFETY: as above.
                out.push((unsafe { self.compact(h) } & mask) as u32);
            }
        }
    }

    /// The bits of the key and check of `h`, gathered in position order.
    ///
    /// # Safety
    /// The CPU must have BMI2.
    #[target_feature(enable = "bmi2")]
    #[inline]
    unsafe fn compact(&self, h: &Hash256) -> u64 {
        use std::arch::x86_64::_pext_u64;
        let mut compact = 0u64;
        for w in 0..4 {
            // `at[w] < 64`: the bits below it are the earlier words' (at most 63 in all).
            compact |= _pext_u64(h.0[w], self.masks[w]) << self.at[w];
        }
        compact
    }
}

/// Whether `pext` is fast here: BMI2, and not an AMD CPU before Zen 3 (family 0x19), where
/// it is microcoded (tens to hundreds of cycles, slower than the bytewise lookups).
#[cfg(target_arch = "x86_64")]
fn fast_pext() -> bool {
    use std::arch::x86_64::__cpuid;
    if !std::arch::is_x86_feature_detected!("bmi2") {
        return false;
    }
    // Leaves 0 (vendor) and 1 (family) exist on every x86_64 CPU.
    let (vendor, signature) = (__cpuid(0), __cpuid(1));
    let amd = (vendor.ebx, vendor.edx, vendor.ecx) == (0x6874_7541, 0x6974_6E65, 0x444D_4163);
    // The extended family counts only when the base family is 0xF (every AMD since 2003).
    let base = (signature.eax >> 8) & 0xF;
    let family = base
        + if base == 0xF {
            (signature.eax >> 20) & 0xFF
        } else {
            0
        };
    !amd || family >= 0x19
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::near::sampled::Plan;

    fn random_hash(state: &mut u64) -> Hash256 {
        let mut h = Hash256([0; 4]);
        h.0.iter_mut()
            .for_each(|w| *w = crate::base::rng::splitmix(state));
        h
    }

    #[test]
    fn fast_keys_are_the_keys() {
        let mut state = 3;
        for width in [10, 23, 26, 31] {
            let plan = Plan::new(width, 2);
            for (table, check) in plan.tables.iter().zip(&plan.checks) {
                let ways = [FastKey::new(table, check), FastKey::bytewise(table, check)];
                for _ in 0..200 {
                    let h = random_hash(&mut state);
                    for fast in &ways {
                        assert_eq!(fast.key(&h), (table.key(&h) as u32, check.key(&h)));
                    }
                }
            }
        }
    }

    #[test]
    fn keys_of_ascending_positions_without_a_check_are_the_keys() {
        // The affine search's tables: the gathered way skips its lookups for these.
        let mut state = 7;
        let no_check = KeyTable::of_positions(Vec::new());
        for positions in [vec![1u8, 5, 64, 130, 255], (0..=255).step_by(8).collect()] {
            let table = KeyTable::of_positions(positions);
            let fast = FastKey::new(&table, &no_check);
            let hashes: Vec<Hash256> = (0..200).map(|_| random_hash(&mut state)).collect();
            for h in &hashes {
                assert_eq!(fast.key(h), (table.key(h) as u32, 0));
            }
            // All at once, by each way.
            for way in [fast, FastKey::bytewise(&table, &no_check)] {
                let mut keys = vec![9];
                way.keys_into(&hashes, &mut keys);
                let want: Vec<u32> = hashes.iter().map(|h| table.key(h) as u32).collect();
                assert_eq!(keys[1..], want[..]);
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn gathered_keys_are_the_keys_where_the_cpu_has_bmi2() {
        if !std::arch::is_x86_feature_detected!("bmi2") {
            eprintln!("skipped: no BMI2 on this CPU");
            return;
        }
        let mut state = 5;
        let plan = Plan::new(31, 1);
        for (table, check) in plan.tables.iter().zip(&plan.checks) {
            let gathered = FastKey {
                way: Way::Gathered(Gathered::new(table, check)),
                width: table.width(),
            };
            for _ in 0..200 {
                let h = random_hash(&mut state);
                assert_eq!(gathered.key(&h), (table.key(&h) as u32, check.key(&h)));
            }
        }
    }
}
