//! Scan throughput: cleansplit's per-file pipeline against the plain pipeline
//! (`image::open` + `image_hasher` pHash) measured in the same run, plus a rescan of the
//! unchanged tree against the first scan.
//!
//! ```text
//! cargo bench --bench scan                      # default corpus (see below)
//! cargo bench --bench scan -- DIR [DIR...]      # any dataset roots
//! CLEANSPLIT_BENCH_ROUNDS=5 cargo bench --bench scan
//! ```
//!
//! Default corpus: `../shared/data/cats_vs_dogs_subset` and
//! `../shared/data/hymenoptera/hymenoptera_data` (1,898 photos). Files are read once before
//! timing so every contender starts from a warm page cache. Each contender runs on all cores
//! (rayon); the best of `ROUNDS` rounds is reported, and ratios are what to compare across
//! machines.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image_hasher::{HashAlg, HasherConfig};
use rayon::prelude::*;

use cleansplit::layout::{self, Candidate, LayoutOptions};
use cleansplit::scan::{self, DEFAULT_MAX_PIXELS, ScanOptions, hash, hash256};

fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..rounds {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one round"))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let roots: Vec<PathBuf> = if args.is_empty() {
        vec![
            "../shared/data/cats_vs_dogs_subset".into(),
            "../shared/data/hymenoptera/hymenoptera_data".into(),
        ]
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    let rounds: usize = std::env::var("CLEANSPLIT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);

    let mut files: Vec<Candidate> = Vec::new();
    for root in &roots {
        match layout::discover(root, &LayoutOptions::default()) {
            // Made absolute, so each file opens without its ROOT (`scan_file` joins "").
            Ok(l) => files.extend(l.files.to_candidates().into_iter().map(|mut c| {
                c.rel = root.join(&c.rel).into();
                c
            })),
            Err(e) => {
                eprintln!("skipping {}: {e:#}", root.display());
            }
        }
    }
    if files.is_empty() {
        eprintln!("no images found; pass dataset roots as arguments");
        return;
    }
    let bytes: u64 = files
        .iter()
        .map(|c| std::fs::read(&c.rel).map_or(0, |b| b.len() as u64))
        .sum();
    println!(
        "corpus: {} images, {:.1} MiB, {} threads, best of {rounds} rounds",
        files.len(),
        bytes as f64 / (1 << 20) as f64,
        rayon::current_num_threads()
    );

    let (t_base, base_ok) = best_of(rounds, || {
        let hasher = HasherConfig::new()
            .hash_alg(HashAlg::Mean)
            .preproc_dct()
            .to_hasher();
        files
            .par_iter()
            .filter(|c| {
                image::open(&c.rel)
                    .map(|img| hasher.hash_image(&img))
                    .is_ok()
            })
            .count()
    });
    let (t_ours, ours_ok) = best_of(rounds, || {
        files
            .par_iter()
            .map(|c| scan::file::scan_file(Path::new(""), c, DEFAULT_MAX_PIXELS))
            .filter(|r| r.is_ok())
            .count()
    });
    let rate = |t: Duration| files.len() as f64 / t.as_secs_f64();
    println!(
        "plain image::open + image_hasher pHash: {:>8.3} s  {:>7.0} images/s  ({base_ok} hashed)",
        t_base.as_secs_f64(),
        rate(t_base)
    );
    println!(
        "cleansplit scan_file:                   {:>8.3} s  {:>7.0} images/s  ({ours_ok} ok)",
        t_ours.as_secs_f64(),
        rate(t_ours)
    );
    println!(
        "speed-up: {:.2}x the plain pipeline",
        t_base.as_secs_f64() / t_ours.as_secs_f64()
    );

    // What the 256-bit hashes add to scan_file: on the decoded images, the shared reduction
    // and 64-bit hashes alone against the same plus the untrimmed view (when a border was
    // trimmed) and the four 256-bit hashes.
    let decoded: Vec<_> = files
        .par_iter()
        .filter_map(|c| {
            let bytes = std::fs::read(&c.rel).ok()?;
            let fmt = cleansplit::base::format::sniff(&bytes)?;
            scan::decode::decode(fmt, &bytes, DEFAULT_MAX_PIXELS).ok()
        })
        .collect();
    let (t_64, _) = best_of(rounds, || {
        decoded
            .par_iter()
            .map(|d| {
                let r =
                    hash::reduction_within(&d.gray, d.gray_w, d.gray_h, d.extent, d.orientation)
                        .expect("non-empty");
                hash::hashes_of_reduction(&r).phash
            })
            .count()
    });
    let (t_256, _) = best_of(rounds, || {
        decoded
            .par_iter()
            .map(|d| {
                let (t, u) = hash256::views(&d.gray, d.gray_w, d.gray_h, d.extent, d.orientation)
                    .expect("non-empty");
                (
                    hash::hashes_of_reduction(&t).phash,
                    hash256::hashes(&t, u.as_ref()).full,
                )
            })
            .count()
    });
    let extra = t_256.saturating_sub(t_64).as_secs_f64();
    println!(
        "256-bit hashes: reduction + 64-bit hashes {:.3} s, with the 256-bit hashes {:.3} s: \
         +{:.3} s = {:.1}% of scan_file",
        t_64.as_secs_f64(),
        t_256.as_secs_f64(),
        extra,
        100.0 * extra / t_ours.as_secs_f64()
    );

    // Whole command path (walk + scan + index write), then a rescan of the unchanged tree.
    let dir = tempfile::tempdir().expect("temp dir");
    let root = &roots[0];
    let opts = ScanOptions {
        index: Some(dir.path().join("index.csv")),
        ..ScanOptions::default()
    };
    let (t_first, _) = best_of(rounds, || {
        let o = ScanOptions {
            rehash: true,
            ..opts.clone()
        };
        scan::run(root, &o).expect("scan")
    });
    let (t_again, again) = best_of(rounds, || scan::run(root, &opts).expect("rescan"));
    println!(
        "{}: first scan {:.3} s, rescan {:.4} s ({} of {} reused) = {:.2}% of the first",
        root.display(),
        t_first.as_secs_f64(),
        t_again.as_secs_f64(),
        again.reused,
        again.records.len(),
        100.0 * t_again.as_secs_f64() / t_first.as_secs_f64()
    );
}
