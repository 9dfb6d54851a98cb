//! Multi-index hashing over 256-bit hashes against brute force.
//!
//! `cargo bench --bench neighbors256 -- [RADIUS] [--n N] [--rows R]`
//! Defaults: n = 1,000,000 uniform random 256-bit hashes (fixed-seed splitmix64) plus 10,000
//! planted near neighbours (copies of random members with 0..=RADIUS bits flipped), radius 40
//! (the largest radius `leaks` picks on its own, see README "Calibration").
//!
//! It times building the index and listing all pairs within the radius, then brute force in the
//! same run. A full brute-force pass (5 x 10^11 distance computations of 4 words) would take
//! most of an hour on 2 cores, so brute force is timed on R random rows (default 4,000: each
//! row compares one hash with all n, in the same rayon pool) and extrapolated to all n / 2 row
//! equivalents; the same rows are checked against the index's answer for them, so the run also
//! confirms the index is exact where it was compared.

use std::time::Instant;

use cleansplit::neighbors256::{MultiIndex256, pairs_within};
use cleansplit::scan::hash256::Hash256;
use rayon::prelude::*;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn random(state: &mut u64) -> Hash256 {
    Hash256([
        splitmix64(state),
        splitmix64(state),
        splitmix64(state),
        splitmix64(state),
    ])
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (mut n, mut radius, mut rows) = (1_000_000usize, 40u32, 4_000usize);
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).and_then(|v| v.parse::<usize>().ok());
        match argv[i].as_str() {
            "--n" => {
                n = value.expect("--n needs a number");
                i += 1;
            }
            "--rows" => {
                rows = value.expect("--rows needs a number");
                i += 1;
            }
            other => {
                if let Ok(r) = other.parse() {
                    radius = r;
                }
            }
        }
        i += 1;
    }
    let mut state = 0x256;
    let mut hashes: Vec<Hash256> = (0..n).map(|_| random(&mut state)).collect();
    let planted = (n / 100).min(10_000);
    for _ in 0..planted {
        let src = hashes[(splitmix64(&mut state) % n as u64) as usize];
        let k = splitmix64(&mut state) % (u64::from(radius) + 1);
        let mut copy = src;
        while copy.distance(&src) < k as u32 {
            let b = (splitmix64(&mut state) % 256) as usize;
            let (w, mask) = (b / 64, 1u64 << (b % 64));
            if (copy.0[w] ^ src.0[w]) & mask == 0 {
                copy.0[w] ^= mask;
            }
        }
        hashes.push(copy);
    }
    let total = hashes.len();
    println!(
        "n = {total} ({n} random + {planted} planted), radius {radius}, {} threads",
        rayon::current_num_threads()
    );

    let t = Instant::now();
    let index = MultiIndex256::new(&hashes, radius);
    let build = t.elapsed().as_secs_f64();
    let bytes = index.heap_bytes();
    drop(index);
    let t = Instant::now();
    let pairs = pairs_within(&hashes, radius);
    let mih = t.elapsed().as_secs_f64();
    println!(
        "multi-index: build {build:.2} s; build + all pairs {mih:.2} s; {} pairs; {:.1} bytes/image",
        pairs.len(),
        bytes as f64 / total as f64,
    );

    // Brute force on a sample of rows, checked against the index.
    let index = MultiIndex256::new(&hashes, radius);
    println!("plan: {index:?}");
    let sample: Vec<usize> = (0..rows)
        .map(|_| (splitmix64(&mut state) % total as u64) as usize)
        .collect();
    let t = Instant::now();
    let brute: Vec<Vec<(u32, u32)>> = sample
        .par_iter()
        .map(|&q| {
            let query = hashes[q];
            let mut out = Vec::new();
            for (j, h) in hashes.iter().enumerate() {
                let d = h.distance(&query);
                if d <= radius {
                    out.push((j as u32, d));
                }
            }
            out
        })
        .collect();
    let per_row = t.elapsed().as_secs_f64() / rows as f64;
    for (&q, expect) in sample.iter().zip(&brute) {
        let mut got = Vec::new();
        index.query(&hashes[q], |id, d| got.push((id, d)));
        got.sort_unstable();
        assert_eq!(&got, expect, "query {q} differs from brute force");
    }
    let brute_all = per_row * total as f64 / 2.0;
    println!(
        "brute force: {per_row:.2e} s per full row ({rows} rows, equal to the index on every one); \
         all pairs extrapolated {brute_all:.0} s ({total} / 2 rows)"
    );
    println!("speed-up: {:.0}x", brute_all / mih);
}
