//! Multi-index hashing over 256-bit hashes against brute force.
//!
//! `cargo bench --features bench --bench neighbors256 -- [RADIUS] [--n N] [--rows R] [--clustered C]`
//! Defaults: n = 1,000,000 uniform random 256-bit hashes (fixed-seed splitmix64) plus 10,000
//! planted near neighbours (copies of random members with 0..=RADIUS bits flipped), radius 40
//! (the largest radius `leaks` picks on its own, see docs/DESIGN.md "Calibration"). `--clustered C`
//! draws the n hashes in groups of C around random centres (0..=3r/4 bits away), for data
//! with many near pairs.
//!
//! It times listing all pairs within the radius ([`pairs_within`], the chunk-at-a-time join),
//! then brute force in the same run. A full brute-force pass (5 x 10^11 distance computations
//! of 4 words) would take most of an hour on 2 cores, so brute force is timed on R random rows
//! (default 4,000: each row compares one hash with all n with the same distance function, in
//! the same rayon pool) and extrapolated to all n / 2 row equivalents. The same rows are checked
//! against the join's pairs and the query index's answers, so the run also confirms both are
//! exact where compared. The machine is shared, so the ratio is taken on CPU time (wall time is
//! printed too).

use std::collections::HashMap;
use std::time::Instant;

use cleansplit::base::hash::Hash256;
use cleansplit::base::rng::splitmix;
use cleansplit::near::exact::{MultiIndex256, PairsPlan, pairs_within};
use rayon::prelude::*;

fn random(state: &mut u64) -> Hash256 {
    Hash256([
        splitmix(state),
        splitmix(state),
        splitmix(state),
        splitmix(state),
    ])
}

/// CPU seconds (user + system, all threads) of this process so far, from `/proc/self/stat`
/// (Linux; `None` elsewhere). The machine is shared, so ratios are taken on CPU time: a phase
/// that waited for the CPU is not charged for it.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Wall and CPU seconds since `(wall, cpu)`.
fn since(start: (Instant, Option<f64>)) -> (f64, f64) {
    let wall = start.0.elapsed().as_secs_f64();
    let cpu = cpu_seconds()
        .zip(start.1)
        .map_or(wall, |(now, then)| now - then);
    (wall, cpu)
}

fn now() -> (Instant, Option<f64>) {
    (Instant::now(), cpu_seconds())
}

/// `h` with `k` distinct random bits flipped.
fn flip(h: Hash256, k: u32, state: &mut u64) -> Hash256 {
    let mut copy = h;
    while copy.distance(&h) < k {
        let b = (splitmix(state) % 256) as usize;
        let (w, mask) = (b / 64, 1u64 << (b % 64));
        if (copy.0[w] ^ h.0[w]) & mask == 0 {
            copy.0[w] ^= mask;
        }
    }
    copy
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (mut n, mut radius, mut rows, mut cluster) = (1_000_000usize, 40u32, 4_000usize, 1usize);
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).and_then(|v| v.parse::<usize>().ok());
        match argv[i].as_str() {
            "--n" => {
                n = value.expect("--n needs a number");
                i += 1;
            }
            "--clustered" => {
                cluster = value.expect("--clustered needs a cluster size").max(1);
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
    // Clustered data: groups of `cluster` hashes around a random centre, each 0..=3r/4 bits
    // from it, so many pairs fall within the radius and some just outside.
    let mut hashes: Vec<Hash256> = Vec::with_capacity(n + n / 100);
    while hashes.len() < n {
        let centre = random(&mut state);
        for _ in 0..cluster.min(n - hashes.len()) {
            let k = if cluster == 1 {
                0
            } else {
                splitmix(&mut state) % (u64::from(radius) * 3 / 4 + 1)
            };
            hashes.push(flip(centre, k as u32, &mut state));
        }
    }
    let planted = (n / 100).min(10_000);
    for _ in 0..planted {
        let src = hashes[(splitmix(&mut state) % n as u64) as usize];
        let k = splitmix(&mut state) % (u64::from(radius) + 1);
        let copy = flip(src, k as u32, &mut state);
        hashes.push(copy);
    }
    let total = hashes.len();
    println!(
        "n = {total} ({n} random{} + {planted} planted), radius {radius}, {} threads",
        if cluster > 1 {
            format!(" in clusters of {cluster}")
        } else {
            String::new()
        },
        rayon::current_num_threads()
    );

    let plan = PairsPlan::new(total, radius);
    let t = now();
    let pairs = pairs_within(&hashes, radius);
    let (mih, mih_cpu) = since(t);
    println!("all-pairs join: {plan:?}");
    println!(
        "all pairs {mih:.1} s ({mih_cpu:.1} s CPU); {} pairs; \
         peak {:.1} bytes/image besides the 32 of the hashes",
        pairs.len(),
        plan.heap_bytes() as f64 / total as f64,
    );

    // Brute force on a sample of rows, checked against the index.
    let t = Instant::now();
    let index = MultiIndex256::new(&hashes, radius);
    println!(
        "query index: build {:.2} s, {:.1} bytes/image, {index:?}",
        t.elapsed().as_secs_f64(),
        index.heap_bytes() as f64 / total as f64
    );
    let mut sample: Vec<usize> = (0..rows)
        .map(|_| (splitmix(&mut state) % total as u64) as usize)
        .collect();
    sample.sort_unstable();
    sample.dedup();
    let rows = sample.len();
    let t = now();
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
    let (wall, cpu) = since(t);
    let (per_row, per_row_cpu) = (wall / rows as f64, cpu / rows as f64);
    let t = Instant::now();
    for (&q, expect) in sample.iter().zip(&brute) {
        let mut got = Vec::new();
        index.query(&hashes[q], |id, d| got.push((id, d)));
        got.sort_unstable();
        assert_eq!(&got, expect, "query {q} differs from brute force");
    }
    let per_query = t.elapsed().as_secs_f64() / rows as f64;
    // The join's pairs of the sampled rows, against the same rows.
    let mut of_row: HashMap<u32, Vec<(u32, u32)>> = sample
        .iter()
        .map(|&q| (q as u32, vec![(q as u32, 0)]))
        .collect();
    for &(i, j, d) in &pairs {
        if let Some(v) = of_row.get_mut(&i) {
            v.push((j, d));
        }
        if let Some(v) = of_row.get_mut(&j) {
            v.push((i, d));
        }
    }
    for (&q, expect) in sample.iter().zip(&brute) {
        let got = of_row.get_mut(&(q as u32)).unwrap();
        got.sort_unstable();
        assert_eq!(got, expect, "all-pairs row {q} differs from brute force");
    }
    let (brute_all, brute_cpu) = (
        per_row * total as f64 / 2.0,
        per_row_cpu * total as f64 / 2.0,
    );
    println!(
        "brute force: {per_row:.2e} s per full row ({per_row_cpu:.2e} s CPU; {rows} rows, equal \
         to the index and the join on every one); all pairs extrapolated {brute_all:.0} s \
         ({brute_cpu:.0} s CPU; {total} / 2 rows)"
    );
    println!(
        "speed-up of the all-pairs join: {:.1}x in CPU time ({:.1}x wall)",
        brute_cpu / mih_cpu,
        brute_all / mih
    );
    println!(
        "query index: {per_query:.2e} s per query (1 thread), {:.1}x brute force per row (wall)",
        per_row * rayon::current_num_threads() as f64 / per_query
    );
}
