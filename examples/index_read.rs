//! Times reading an index CSV (the load every command starts with), apart from the walk and
//! the analyses: `cargo run --release --example index_read -- INDEX.csv [RUNS]`. Prints the
//! rows, the best wall time of RUNS (default 3) and the process's CPU time per run.

use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let path = PathBuf::from(args.next().expect("usage: index_read INDEX.csv [RUNS]"));
    let runs: u32 = args
        .next()
        .map(|r| r.to_string_lossy().parse().expect("RUNS is a number"))
        .unwrap_or(3);
    let mut best = f64::MAX;
    let mut rows = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let (records, _) = cleansplit::index::read_file_with_schema(&path)?;
        best = best.min(t.elapsed().as_secs_f64());
        rows = records.len();
    }
    println!(
        "{rows} rows: best {best:.3} s of {runs} ({:.0} ns per row)",
        best * 1e9 / rows.max(1) as f64
    );
    Ok(())
}
