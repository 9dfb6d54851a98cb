//! Hash values and the operations on them that need no pixels: the eight flips and quarter
//! turns ([`Transform`]), Hamming distance on 64-bit hashes, and a 256-bit hash value
//! ([`Hash256`]) with its distance, flips and turns as bit operations, and hex form. Computing hashes lives in `scan::hash`.

use std::fmt;
use std::str::FromStr;

/// One of the eight flips and quarter turns of a square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transform {
    Identity,
    /// Mirror left-right.
    FlipH,
    /// Mirror top-bottom.
    FlipV,
    Rot180,
    /// Mirror along the main diagonal.
    Transpose,
    /// Rotate 90 degrees clockwise.
    Rot90,
    /// Mirror along the anti-diagonal.
    Transverse,
    /// Rotate 270 degrees clockwise.
    Rot270,
}

impl Transform {
    pub const ALL: [Transform; 8] = [
        Transform::Identity,
        Transform::FlipH,
        Transform::FlipV,
        Transform::Rot180,
        Transform::Transpose,
        Transform::Rot90,
        Transform::Transverse,
        Transform::Rot270,
    ];

    /// `(transpose, flip_x, flip_y)`: `dst(x, y) = src(x', y')` where `a = flip_x ? n-1-x : x`,
    /// `b = flip_y ? n-1-y : y` and `(x', y') = transpose ? (b, a) : (a, b)`.
    pub fn parts(self) -> (bool, bool, bool) {
        match self {
            Transform::Identity => (false, false, false),
            Transform::FlipH => (false, true, false),
            Transform::FlipV => (false, false, true),
            Transform::Rot180 => (false, true, true),
            Transform::Transpose => (true, false, false),
            Transform::Rot90 => (true, true, false),
            Transform::Transverse => (true, true, true),
            Transform::Rot270 => (true, false, true),
        }
    }

    pub fn inverse(self) -> Transform {
        match self {
            Transform::Rot90 => Transform::Rot270,
            Transform::Rot270 => Transform::Rot90,
            t => t,
        }
    }

    /// The transform that turns an image stored with EXIF orientation `o` upright.
    pub fn from_exif(o: u8) -> Transform {
        match o {
            2 => Transform::FlipH,
            3 => Transform::Rot180,
            4 => Transform::FlipV,
            5 => Transform::Transpose,
            6 => Transform::Rot90,
            7 => Transform::Transverse,
            8 => Transform::Rot270,
            _ => Transform::Identity,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Transform::Identity => "identity",
            Transform::FlipH => "flip_h",
            Transform::FlipV => "flip_v",
            Transform::Rot180 => "rot180",
            Transform::Transpose => "transpose",
            Transform::Rot90 => "rot90",
            Transform::Transverse => "transverse",
            Transform::Rot270 => "rot270",
        }
    }

    /// The pHash of the transformed image, from the pHash of the image.
    pub fn apply_to_phash(self, h: u64) -> u64 {
        if self == Transform::Identity {
            return h;
        }
        let (tr, fx, fy) = self.parts();
        let mut out = h & 1;
        for u in 0..8 {
            for v in 0..8 {
                if u == 0 && v == 0 {
                    continue;
                }
                let src = if tr { 8 * v + u } else { 8 * u + v };
                let negate = (fx && v % 2 == 1) ^ (fy && u % 2 == 1);
                let bit = ((h >> src) & 1) ^ u64::from(negate);
                out |= bit << (8 * u + v);
            }
        }
        out
    }
}

/// Number of differing bits.
#[inline]
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// A 256-bit hash as four 64-bit words (word 0 holds bits 0..64). Written as 64 hex digits,
/// word 3 first, so the hex reads as one big-endian number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash256(pub [u64; 4]);

/// Side of the frequency matrix a [`Hash256`] holds: bit `16u + v` is frequency `(u, v)`.
const K: usize = 16;

/// Row `u` of the 16 x 16 bit matrix: bit `16u + v` of the frequencies is bit `(16u + v) % 64`
/// of word `(16u + v) / 64`.
fn row(h: &Hash256, u: usize) -> u16 {
    (h.0[u / 4] >> (16 * (u % 4))) as u16
}

/// Bits negated by a left-right mirror (odd `v`) and by a top-bottom mirror (odd `u`).
const ODD_V: u64 = 0xAAAA_AAAA_AAAA_AAAA;
const ODD_U: u64 = 0xFFFF_0000_FFFF_0000;

/// Transposes a 16 x 16 bit matrix (row `u`, bit `v`) by swapping ever smaller off-diagonal
/// blocks.
fn transpose16(rows: &mut [u16; K]) {
    for (j, m) in [(8, 0x00FFu16), (4, 0x0F0F), (2, 0x3333), (1, 0x5555)] {
        for k in 0..K {
            if k & j == 0 {
                let t = ((rows[k] >> j) ^ rows[k + j]) & m;
                rows[k + j] ^= t;
                rows[k] ^= t << j;
            }
        }
    }
}

impl Hash256 {
    /// The hash of a 16 x 16 bit matrix: bit `v` of row `u` is bit `16u + v`.
    pub fn from_rows(rows: &[u16; K]) -> Hash256 {
        let mut w = [0u64; 4];
        for (u, &r) in rows.iter().enumerate() {
            w[u / 4] |= u64::from(r) << (16 * (u % 4));
        }
        Hash256(w)
    }

    /// Number of differing bits.
    #[inline]
    pub fn distance(&self, other: &Hash256) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// The hash of the transformed image, from the hash of the image (a DCT hash thresholded
    /// at zero, as `scan::hash256` computes it: exact up to coefficients that are exactly
    /// zero). Same mapping as [`Transform::apply_to_phash`] on 16 x 16 bits.
    pub fn transformed(self, t: Transform) -> Hash256 {
        let transposed = if t.parts().0 { self.transposed() } else { self };
        self.transformed_given(t, transposed)
    }

    /// [`Hash256::transformed`] with the hash's transpose ([`Hash256::transposed`]) already at
    /// hand: several transforms of one hash then cost one transpose, not one each (the
    /// transpose is most of a transform's cost).
    #[inline]
    pub fn transformed_given(self, t: Transform, transposed: Hash256) -> Hash256 {
        if t == Transform::Identity {
            return self;
        }
        let (tr, fx, fy) = t.parts();
        let mut h = if tr { transposed } else { self };
        let mask = if fx { ODD_V } else { 0 } ^ if fy { ODD_U } else { 0 };
        for w in &mut h.0 {
            *w ^= mask;
        }
        // The DC bit is never set (F(0, 0) is not negated by any mirror).
        h.0[0] &= !1;
        h
    }

    /// The hash with `u` and `v` swapped (the bits of [`Transform::Transpose`]).
    pub fn transposed(&self) -> Hash256 {
        let mut rows = [0u16; K];
        for (u, r) in rows.iter_mut().enumerate() {
            *r = row(self, u);
        }
        transpose16(&mut rows);
        Hash256::from_rows(&rows)
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in self.0.iter().rev() {
            write!(f, "{w:016x}")?;
        }
        Ok(())
    }
}

/// The value of each byte as a hex digit (either case), `0xFF` for any other byte.
const HEX: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// 1 to 16 hex digits as a number; `None` for anything else (no sign, no `0x`, not empty).
/// A table lookup per digit: the index's hashes are most of what reading a million-row index
/// parses (docs/BENCHMARKS.md "At a million images").
pub fn hex_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut v = 0u64;
    let mut bad = 0u8;
    for &b in digits {
        let d = HEX[b as usize];
        bad |= d;
        v = (v << 4) | u64::from(d & 0xF);
    }
    (bad & 0xF0 == 0).then_some(v)
}

impl FromStr for Hash256 {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad 256-bit hash {s:?}: want 64 hex digits");
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(bad());
        }
        let mut words = [0u64; 4];
        for (i, w) in words.iter_mut().enumerate() {
            let start = (3 - i) * 16;
            *w = hex_u64(&b[start..start + 16]).ok_or_else(bad)?;
        }
        Ok(Hash256(words))
    }
}

/// The 256-bit hashes of one image (computed by `scan::hash256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashes256 {
    /// The border-trimmed view.
    pub full: Hash256,
    /// The untrimmed view, when the trim removed something (else it equals `full`).
    pub untrimmed: Option<Hash256>,
    /// Centre crops of the untrimmed view: 90% and 75% per side (`scan::hash256`).
    pub crops: [Hash256; 2],
}

/// The 256-bit hashes of a list of images, read by position: a slice of them, or a view into
/// records that keep them in their own compact layout (so a million images need no copy).
pub trait HashList: Sync {
    fn count(&self) -> usize;
    fn hashes(&self, i: usize) -> Hashes256;
}

impl HashList for [Hashes256] {
    fn count(&self) -> usize {
        self.len()
    }
    fn hashes(&self, i: usize) -> Hashes256 {
        self[i]
    }
}

impl HashList for Vec<Hashes256> {
    fn count(&self) -> usize {
        self.len()
    }
    fn hashes(&self, i: usize) -> Hashes256 {
        self[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_is_an_involution_and_moves_bits() {
        let mut rows = [0u16; K];
        rows[2] = 1 << 5;
        transpose16(&mut rows);
        assert_eq!(rows[5], 1 << 2);
        assert!(rows.iter().enumerate().all(|(u, &r)| u == 5 || r == 0));
        transpose16(&mut rows);
        assert_eq!(rows[2], 1 << 5);
        let h = Hash256::from_rows(&rows);
        assert_eq!(h.transposed().transposed(), h);
        assert_ne!(h.transposed(), h);
    }

    #[test]
    fn hash256_hex_round_trip_and_distance() {
        let h = Hash256([1, 0, 0, 0xF000_0000_0000_0000]);
        let s = h.to_string();
        assert_eq!(s.len(), 64);
        assert!(s.starts_with("f000"));
        assert!(s.ends_with("0001"));
        assert_eq!(s.parse::<Hash256>().unwrap(), h);
        assert_eq!(h.distance(&Hash256::default()), 5);
        assert!("xyz".parse::<Hash256>().is_err());
        assert!("g".repeat(64).parse::<Hash256>().is_err());
        assert!(format!("+{}", "0".repeat(63)).parse::<Hash256>().is_err());
        assert_eq!(hex_u64(b"ff"), Some(255));
        assert_eq!(hex_u64(b"DeadBeef"), Some(0xdead_beef));
        assert_eq!(hex_u64(b"ffffffffffffffff"), Some(u64::MAX));
        for bad in [&b""[..], b"+1", b"0x1", b"g", b" 1", b"12345678901234567"] {
            assert_eq!(hex_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn transform_inverse_undoes_apply() {
        let h = 0x0123_4567_89AB_CDEFu64;
        for t in Transform::ALL {
            assert_eq!(t.inverse().apply_to_phash(t.apply_to_phash(h)), h, "{t:?}");
        }
        assert_eq!(distance(0b1011, 0b0001), 2);
    }
}
