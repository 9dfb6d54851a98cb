//! Multi-index hashing against brute force on synthetic perceptual hashes.
//!
//! `cargo bench --bench neighbors -- [RADIUS | --radius R] [--n N] [--no-brute]`
//! (or `NEIGHBORS_RADIUS` / `NEIGHBORS_N`). Defaults: n = 1,000,000, radius = 10.
//! The hashes are uniform random 64-bit values from a fixed-seed splitmix64, plus about
//! 10,000 planted near neighbours (copies with 0..=radius bits flipped).

use std::time::Instant;

use cleansplit::neighbors::{MultiIndex, pairs_within, pairs_within_brute};

use cleansplit::base::rng::splitmix as splitmix64;

struct Args {
    n: usize,
    radius: u32,
    brute: bool,
}

fn parse_args() -> Args {
    let env_num = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    let mut args = Args {
        n: env_num("NEIGHBORS_N").unwrap_or(1_000_000),
        radius: env_num("NEIGHBORS_RADIUS")
            .map(|r: usize| r as u32)
            .unwrap_or(10),
        brute: true,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).and_then(|v| v.parse::<usize>().ok());
        match argv[i].as_str() {
            "--n" | "-n" => {
                args.n = value.expect("--n needs a number");
                i += 1;
            }
            "--radius" | "-r" => {
                args.radius = value.expect("--radius needs a number") as u32;
                i += 1;
            }
            "--no-brute" => args.brute = false,
            // A bare number is the radius; anything else (cargo passes `--bench`) is ignored.
            other => {
                if let Ok(r) = other.parse() {
                    args.radius = r;
                }
            }
        }
        i += 1;
    }
    args
}

fn main() {
    let Args { n, radius, brute } = parse_args();
    let mut state = 0x5EED_0FC1_EA55_1700u64;
    let mut hashes: Vec<u64> = (0..n).map(|_| splitmix64(&mut state)).collect();
    let planted = if n >= 2 { (n / 100).min(10_000) } else { 0 };
    for _ in 0..planted {
        let src = hashes[(splitmix64(&mut state) % n as u64) as usize];
        let flips = (splitmix64(&mut state) % (u64::from(radius.min(64)) + 1)) as u32;
        let mut mask = 0u64;
        while mask.count_ones() < flips {
            mask |= 1 << (splitmix64(&mut state) % 64);
        }
        let dst = (splitmix64(&mut state) % n as u64) as usize;
        hashes[dst] = src ^ mask;
    }
    println!(
        "n = {n}, radius = {radius}, planted = {planted}, rayon threads = {}",
        rayon::current_num_threads()
    );

    let t = Instant::now();
    let index = MultiIndex::new(&hashes, radius);
    let build = t.elapsed().as_secs_f64();
    let bytes = index.heap_bytes();
    println!("index: {index:?}");
    println!(
        "MultiIndex::new: {build:.3} s, heap {:.1} MiB = {:.1} bytes/image",
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / n.max(1) as f64
    );
    drop(index);

    let t = Instant::now();
    let mih = pairs_within(&hashes, radius);
    let search = t.elapsed().as_secs_f64();
    println!(
        "MIH pairs_within (build + search): {search:.3} s, pairs found: {}",
        mih.len()
    );
    let mih_total = build + search;
    println!("MIH total (MultiIndex::new + pairs_within): {mih_total:.3} s");

    if brute {
        let t = Instant::now();
        let reference = pairs_within_brute(&hashes, radius);
        let brute_secs = t.elapsed().as_secs_f64();
        println!(
            "brute pairs_within_brute: {brute_secs:.3} s, pairs found: {}",
            reference.len()
        );
        assert_eq!(mih, reference, "MIH and brute force disagree");
        println!("results identical: yes");
        println!(
            "speed-up: {:.1}x (pairs_within alone: {:.1}x)",
            brute_secs / mih_total,
            brute_secs / search
        );
    }
}
