//! Measures the shortcut check's thresholds (docs/DESIGN.md, "The shortcut check"): its verdict
//! on real datasets, how often it fires on random halves of them and on shuffled labels (false
//! alarms), and how often it fires when part of one class (or of val) is re-encoded to one size
//! and format (detections), plus the time for a large synthetic table.
//!
//! `cargo run --release --example shortcut_rates -- [--large N] ROOT INDEX.csv [ROOT INDEX.csv ...]`
//! (index files as written by `cleansplit scan ROOT --index INDEX.csv`).

use std::path::Path;
use std::time::Instant;

use cleansplit::base::rng::splitmix;
use cleansplit::base::severity::Severity;
use cleansplit::index::{self, Record};
use cleansplit::shortcuts::features::FileMeta;
use cleansplit::shortcuts::{self, Target};

fn flagged(t: &Result<shortcuts::Test, String>) -> bool {
    t.as_ref().is_ok_and(|t| t.severity != Severity::Ok)
}

fn run(target: Target, rows: &[(FileMeta, String)]) -> Result<shortcuts::Test, String> {
    let rows: Vec<(FileMeta, &str)> = rows.iter().map(|(m, l)| (m.clone(), l.as_str())).collect();
    shortcuts::run_test(target, "x".into(), &rows)
}

/// `rows` with a fraction `f` of the images of group `g` re-encoded as 224x224 JPEG q75 RGB.
fn confound(rows: &[(FileMeta, String)], g: &str, f: f64, seed: u64) -> Vec<(FileMeta, String)> {
    let mut s = seed;
    rows.iter()
        .map(|(m, l)| {
            let mut m = m.clone();
            if l == g && (splitmix(&mut s) % 10_000) as f64 / 10_000.0 < f {
                m.width = 224;
                m.height = 224;
                m.format = "jpeg".into();
                m.color = "rgb8".into();
                m.gray = false;
                m.alpha = false;
                m.orientation = false;
                m.quality = Some(75);
                m.size = 224 * 224 * 3 / 12 + splitmix(&mut s) % 4000;
            }
            (m, l.clone())
        })
        .collect()
}

fn report(name: &str, target: Target, rows: &[(FileMeta, String)]) {
    if rows.is_empty() {
        return;
    }
    let as_is = run(target, rows);
    match &as_is {
        Ok(t) => println!(
            "{name} {target:?}: n={} acc={:.3} base={:.3} lift={:.3} (bytes/px alone {:.3}) -> {:?} rule={:?} carriers={:?}",
            t.images,
            t.accuracy,
            t.baseline,
            t.lift,
            t.bytes_per_pixel.lift,
            t.severity,
            t.first_rule,
            t.carriers
                .iter()
                .map(|c| format!("{} {:.2}", c.feature, c.importance))
                .collect::<Vec<_>>()
        ),
        Err(e) => {
            println!("{name} {target:?}: skipped ({e})");
            return;
        }
    }
    let trials = 100;
    let mut s = 0xfa15e;
    let (mut half, mut perm) = (0, 0);
    let mut max_lift: f64 = f64::MIN;
    for _ in 0..trials {
        let sub: Vec<(FileMeta, String)> = rows
            .iter()
            .filter(|_| splitmix(&mut s).is_multiple_of(2))
            .cloned()
            .collect();
        half += usize::from(flagged(&run(target, &sub)));
        let mut labels: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
        for i in (1..labels.len()).rev() {
            labels.swap(i, (splitmix(&mut s) % (i as u64 + 1)) as usize);
        }
        let shuffled: Vec<(FileMeta, String)> =
            rows.iter().map(|(m, _)| m.clone()).zip(labels).collect();
        let r = run(target, &shuffled);
        if let Ok(t) = &r {
            max_lift = max_lift.max(t.lift);
        }
        perm += usize::from(flagged(&r));
    }
    println!(
        "  false alarms: random halves {half}/{trials}, shuffled labels {perm}/{trials} (max lift {max_lift:.3})"
    );
    let group = rows[0].1.clone();
    let groups: Vec<&String> = {
        let mut g: Vec<&String> = rows.iter().map(|(_, l)| l).collect();
        g.sort();
        g.dedup();
        g
    };
    // The group to confound: the first non-train one for splits, else the first class.
    let g = groups
        .iter()
        .find(|g| target == Target::Class || !g.contains("train"))
        .map(|g| g.to_string())
        .unwrap_or(group);
    for f in [1.0, 0.75, 0.5, 0.25, 0.1] {
        let mut hits = 0;
        let mut lifts = 0.0;
        for seed in 0..20 {
            let r = run(target, &confound(rows, &g, f, seed));
            hits += usize::from(flagged(&r));
            lifts += r.map(|t| t.lift).unwrap_or(0.0);
        }
        println!(
            "  {:.0}% of {g} re-encoded 224x224 q75: flagged {hits}/20, mean lift {:.3}",
            f * 100.0,
            lifts / 20.0
        );
    }
}

fn large(n: usize) {
    let mut s = 1u64;
    let rows: Vec<(FileMeta, &str)> = (0..n)
        .map(|_| {
            let w = 200 + (splitmix(&mut s) % 1800) as u32;
            let h = 200 + (splitmix(&mut s) % 1800) as u32;
            let jpeg = !splitmix(&mut s).is_multiple_of(10);
            let m = FileMeta {
                width: w,
                height: h,
                size: u64::from(w * h) / 5 + splitmix(&mut s) % 10_000,
                format: if jpeg { "jpeg" } else { "png" }.into(),
                color: if splitmix(&mut s).is_multiple_of(7) {
                    "l8"
                } else {
                    "rgb8"
                }
                .into(),
                orientation: splitmix(&mut s).is_multiple_of(20),
                alpha: false,
                gray: false,
                quality: jpeg.then(|| 70 + (splitmix(&mut s) % 30) as u8),
            };
            let class = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
                [(splitmix(&mut s) % 10) as usize];
            (m, class)
        })
        .collect();
    // Where the time goes, step by step, then the whole test.
    let t = Instant::now();
    let metas: Vec<&FileMeta> = rows.iter().map(|(m, _)| m).collect();
    let table = shortcuts::features::table(&metas);
    let t_table = t.elapsed().as_secs_f64();
    let y: Vec<u32> = rows
        .iter()
        .map(|(_, c)| u32::from(c.as_bytes()[0] - b'a'))
        .collect();
    let t2 = Instant::now();
    shortcuts::model::cross_validate(&table, &y, 10);
    let t_cv = t2.elapsed().as_secs_f64();
    let t3 = Instant::now();
    let refs: Vec<&(FileMeta, &str)> = rows.iter().collect();
    shortcuts::report::profiles(&refs, &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    let t_prof = t3.elapsed().as_secs_f64();
    println!("steps: feature table {t_table:.2} s, 5-fold CV {t_cv:.2} s, profiles {t_prof:.2} s");
    let t = Instant::now();
    let r = shortcuts::run_test(Target::Class, "class".into(), &rows).unwrap();
    println!(
        "{n} records, 10 classes: {:.2} s (accuracy {:.3}, baseline {:.3})",
        t.elapsed().as_secs_f64(),
        r.accuracy,
        r.baseline
    );
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--large") {
        large(args[1].parse().expect("--large N"));
        args.drain(..2);
    }
    for pair in args.chunks(2) {
        let (root, idx) = (Path::new(&pair[0]), Path::new(&pair[1]));
        let records: Vec<Record> = index::read(idx).expect("index");
        let q = |r: &Record| {
            (r.format == Some(cleansplit::base::format::Format::Jpeg))
                .then(|| std::fs::read(root.join(&r.path)).ok())
                .flatten()
                .and_then(|b| cleansplit::scan::quality::jpeg_quality(&b))
        };
        // The scan-time cost of the quality estimate: header parse of every JPEG, in memory.
        let jpegs: Vec<Vec<u8>> = records
            .iter()
            .filter(|r| r.format == Some(cleansplit::base::format::Format::Jpeg))
            .filter_map(|r| std::fs::read(root.join(&r.path)).ok())
            .collect();
        if !jpegs.is_empty() {
            let t = Instant::now();
            let mut found = 0;
            for _ in 0..10 {
                for b in &jpegs {
                    found += usize::from(cleansplit::scan::quality::jpeg_quality(b).is_some());
                }
            }
            let per_jpeg = t.elapsed().as_secs_f64() * 1e6 / (10 * jpegs.len()) as f64;
            // Against the whole per-file scan of the same files, one thread, same run.
            let layout = cleansplit::layout::discover(root, &Default::default()).expect("layout");
            let t = Instant::now();
            for c in layout.files.iter() {
                let c = c.to_candidate();
                std::hint::black_box(cleansplit::scan::file::scan_file(root, &c, u64::MAX));
            }
            let per_file = t.elapsed().as_secs_f64() * 1e6 / layout.files.len() as f64;
            println!(
                "{}: quality estimate {per_jpeg:.2} us per JPEG ({} JPEGs, {} with tables); whole scan_file {per_file:.0} us per file ({:.2}%)",
                root.display(),
                jpegs.len(),
                found / 10,
                100.0 * per_jpeg / per_file
            );
        }
        let ok: Vec<&Record> = records.iter().filter(|r| r.is_ok()).collect();
        let mut splits: Vec<String> = ok.iter().map(|r| r.split.to_string()).collect();
        splits.sort();
        splits.dedup();
        let train = cleansplit::balance::training_split(&splits, None)
            .unwrap_or_else(|_| splits[0].clone());
        let class_rows: Vec<(FileMeta, String)> = ok
            .iter()
            .filter(|r| r.split == train)
            .map(|r| (FileMeta::of(r, q(r)), r.class.to_string()))
            .collect();
        let split_rows: Vec<(FileMeta, String)> = ok
            .iter()
            .filter(|r| !r.split.is_empty())
            .map(|r| (FileMeta::of(r, q(r)), r.split.to_string()))
            .collect();
        let name = root.display().to_string();
        report(&name, Target::Class, &class_rows);
        report(&name, Target::Split, &split_rows);
    }
}
