//! Recall by distance of the sampled search alone, in memory (no files, no index): N random
//! images (full view and two crops), pairs planted at exact 256-bit distances under a random
//! flip or turn, then the search `leaks` runs at that size (`leaks::search::run`, the default
//! effort unless `--rounds` / `--bits` are given), timed, and the share of each distance found.
//!
//! ```text
//! cargo run --release --example search_recall -- [--n 1000000] [--per 1000]
//!     [--distances 8,12,16,20,24,28,32,36,40,44] [--rounds R] [--bits W] [--radius 48] [--seed 1]
//! ```
//!
//! The whole-command figures (load, calibration, grouping, memory) come from
//! `scripts/scale_bench.sh`, which plants the same way through `examples/synth.rs`.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use cleansplit::base::hash::{Hash256, Hashes256, Transform};
use cleansplit::base::rng::splitmix;
use cleansplit::leaks::{Search, search_run};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        splitmix(&mut self.0)
    }
    fn hash(&mut self) -> Hash256 {
        let mut h = Hash256([self.next(), self.next(), self.next(), self.next()]);
        h.0[0] &= !1;
        h
    }
    /// `h` with exactly `k` of its 255 informative bits flipped.
    fn flip(&mut self, mut h: Hash256, k: u32) -> Hash256 {
        let mut seen = [false; 256];
        let mut done = 0;
        while done < k {
            let p = 1 + (self.next() % 255) as usize;
            if !seen[p] {
                seen[p] = true;
                h.0[p / 64] ^= 1 << (p % 64);
                done += 1;
            }
        }
        h
    }
}

fn main() -> Result<()> {
    let mut n = 1_000_000usize;
    let mut per = 1000usize;
    let mut distances: Vec<u32> = vec![8, 12, 16, 20, 24, 28, 32, 36, 40, 44];
    let (mut rounds, mut bits) = (None, None);
    let mut radius = 48u32;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--n" => n = val()?.replace('_', "").parse()?,
            "--per" => per = val()?.parse()?,
            "--distances" => {
                distances = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--rounds" => rounds = Some(val()?.parse()?),
            "--bits" => bits = Some(val()?.parse()?),
            "--radius" => radius = val()?.parse()?,
            "--seed" => seed = val()?.parse()?,
            s => bail!("unknown argument {s}"),
        }
    }
    if 2 * per * distances.len() > n {
        bail!(
            "--n is too small for {per} pairs at each of {} distances",
            distances.len()
        );
    }
    let mut rng = Rng(seed);
    let mut hashes: Vec<Hashes256> = (0..n)
        .map(|_| Hashes256 {
            full: rng.hash(),
            untrimmed: None,
            crops: [rng.hash(), rng.hash()],
        })
        .collect();
    // Pair k of distance index j: image 2 * (j * per + k) and the next one, the copy's full
    // view the original's under a random flip or turn with exactly d bits changed.
    let mut planted = Vec::new();
    for (j, &d) in distances.iter().enumerate() {
        for k in 0..per {
            let a = 2 * (j * per + k);
            let t = Transform::ALL[(rng.next() % 8) as usize];
            let copy = rng.flip(hashes[a].full.transformed(t), d);
            hashes[a + 1].full = copy;
            planted.push((j, a as u32, a as u32 + 1));
        }
    }
    let t0 = Instant::now();
    let (matches, report) = search_run(
        &hashes,
        radius,
        &Transform::ALL,
        true,
        Search::Sampled,
        rounds,
        bits,
    );
    let secs = t0.elapsed().as_secs_f64();
    let mut found: Vec<(u32, u32)> = matches
        .iter()
        .map(|m| (m.a.min(m.b), m.a.max(m.b)))
        .collect();
    found.sort_unstable();
    println!(
        "n = {n}, {} pairs found, search {secs:.2} s; {}",
        found.len(),
        serde_json::to_string(&report)?
    );
    println!("| distance | found | share | estimated |");
    println!("|---|---|---|---|");
    for (j, &d) in distances.iter().enumerate() {
        let hits = planted
            .iter()
            .filter(|p| p.0 == j && found.binary_search(&(p.1, p.2)).is_ok())
            .count();
        let est = report
            .estimated_recall
            .as_ref()
            .and_then(|r| r.get(&d).copied())
            .map_or(String::from("-"), |e| format!("{e:.3}"));
        println!(
            "| {d} | {hits}/{per} | {:.1}% | {est} |",
            100.0 * hits as f64 / per as f64
        );
    }
    Ok(())
}
