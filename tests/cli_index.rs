//! End-to-end tests of the index at scale: sharded scans (`scan --shard K/N` in separate
//! processes), `merge-index` and its refusals, reuse of the merged index, and indexes written
//! with fewer or more columns than this binary knows.

mod common;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use cleansplit::index::{self, Record};

fn os(s: impl AsRef<std::ffi::OsStr>) -> OsString {
    s.as_ref().to_owned()
}

fn run(args: &[OsString]) -> Output {
    assert_cmd::Command::cargo_bin("cleansplit")
        .unwrap()
        .args(args)
        .timeout(common::RUN_TIMEOUT)
        .output()
        .unwrap()
}

/// `cleansplit scan ROOT --index INDEX -q [--shard K/N]`, which must succeed.
fn scan(root: &Path, index: &Path, shard: Option<&str>) {
    scan_with(root, index, shard, &[]);
}

fn scan_with(root: &Path, index: &Path, shard: Option<&str>, extra: &[&str]) {
    let mut args = vec![os("scan"), os(root), os("--index"), os(index), os("-q")];
    if let Some(s) = shard {
        args.extend([os("--shard"), os(s)]);
    }
    args.extend(extra.iter().map(os));
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cleansplit merge-index PARTS.. --index OUT`: (exit code, stderr).
fn merge(parts: &[PathBuf], out: &Path) -> (i32, String) {
    let mut args = vec![os("merge-index")];
    args.extend(parts.iter().map(os));
    args.extend([os("--index"), os(out)]);
    let o = run(&args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn sorted(mut r: Vec<Record>) -> Vec<Record> {
    r.sort_by(|a, b| a.path.cmp(&b.path));
    r
}

/// Scans the 4 shards of ROOT as 4 processes at once; returns the parts.
fn shards(root: &Path, work: &Path, n: u32) -> Vec<PathBuf> {
    let parts: Vec<PathBuf> = (0..n).map(|k| work.join(format!("part-{k}.csv"))).collect();
    std::thread::scope(|s| {
        for (k, p) in parts.iter().enumerate() {
            s.spawn(move || scan(root, p, Some(&format!("{k}/{n}"))));
        }
    });
    parts
}

#[test]
fn four_shards_merge_to_one_full_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::copy_demo(tmp.path());
    let parts = shards(&root, tmp.path(), 4);
    let mut total = 0;
    for p in &parts {
        let recs = index::read(p).unwrap();
        assert!(!recs.is_empty(), "{} is empty", p.display());
        total += recs.len();
    }
    let merged = tmp.path().join("index.csv");
    let (code, err) = merge(&parts, &merged);
    assert_eq!(code, 0, "{err}");

    let full = tmp.path().join("full.csv");
    scan(&root, &full, None);
    let full_records = sorted(index::read(&full).unwrap());
    assert_eq!(full_records.len(), total);
    assert_eq!(sorted(index::read(&merged).unwrap()), full_records);

    // Every command reuses the merged index: a rescan reads nothing and rewrites nothing.
    let before = fs::read(&merged).unwrap();
    let modified = fs::metadata(&merged).unwrap().modified().unwrap();
    let out = common::cleansplit_with_index(&merged, ["leaks".as_ref(), root.as_os_str()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = common::cleansplit_with_index(&merged, ["scan".as_ref(), root.as_os_str()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{total} of {total} records reused")),
        "{stdout}"
    );
    assert_eq!(fs::read(&merged).unwrap(), before);
    assert_eq!(fs::metadata(&merged).unwrap().modified().unwrap(), modified);
}

#[test]
fn parts_that_do_not_belong_together_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::copy_demo(tmp.path());
    let parts = shards(&root, tmp.path(), 2);
    let out = tmp.path().join("index.csv");

    // The same shard twice.
    let again = tmp.path().join("again-0.csv");
    scan(&root, &again, Some("0/2"));
    let (code, err) = merge(&[parts[0].clone(), again.clone(), parts[1].clone()], &out);
    assert_eq!(code, 2);
    assert!(err.contains("both shard 0/2 (overlapping parts)"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // Shards of two different shardings.
    let other = tmp.path().join("of3.csv");
    scan(&root, &other, Some("1/3"));
    let (code, err) = merge(&[parts[0].clone(), other], &out);
    assert_eq!(code, 2);
    assert!(err.contains("shard counts (2 vs 3)"), "{err}");

    // A missing shard.
    let (code, err) = merge(&parts[..1], &out);
    assert_eq!(code, 2);
    assert!(err.contains("shard 1/2 missing"), "{err}");

    // A full scan is not a part; a CSV without a sidecar is not a part.
    let full = tmp.path().join("full.csv");
    scan(&root, &full, None);
    let (code, err) = merge(&[parts[0].clone(), full.clone()], &out);
    assert_eq!(code, 2);
    assert!(err.contains("is not a shard"), "{err}");
    let foreign = tmp.path().join("foreign.csv");
    fs::write(&foreign, "a,b\n1,2\n").unwrap();
    let (code, err) = merge(&[parts[0].clone(), foreign], &out);
    assert_eq!(code, 2);
    assert!(err.contains("has no sidecar"), "{err}");

    // Another view of ROOT: only `train` taken as a split.
    let narrow = tmp.path().join("narrow-1.csv");
    scan_with(&root, &narrow, Some("1/2"), &["--splits", "train"]);
    let (code, err) = merge(&[parts[0].clone(), narrow], &out);
    assert_eq!(code, 2);
    assert!(err.contains("differ in split folders"), "{err}");

    // A part cut short after its sidecar was written.
    let text = fs::read_to_string(&parts[1]).unwrap();
    let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    fs::write(&parts[1], cut).unwrap();
    let (code, err) = merge(&parts, &out);
    assert_eq!(code, 2);
    assert!(err.contains("does not match its sidecar"), "{err}");
    assert!(!out.exists(), "nothing is written when a merge is refused");
}

#[test]
fn bad_shard_argument_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::copy_demo(tmp.path());
    let o = run(&[
        os("scan"),
        os(&root),
        os("--shard"),
        os("4/4"),
        os("--index"),
        os(tmp.path().join("i.csv")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("0 <= K < N"), "{err}");
}

#[test]
fn an_index_without_a_pixel_column_rehashes_only_decoded_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::copy_demo(tmp.path());
    let idx = tmp.path().join("index.csv");
    scan(&root, &idx, None);
    let full = index::read(&idx).unwrap();
    let decoded = full.iter().filter(|r| r.is_ok()).count();
    assert!(
        decoded > 0 && decoded < full.len(),
        "the demo has broken files too"
    );

    // An older index: no phash_crop column, and an unknown newer column at the end.
    let text = fs::read(&idx).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_slice());
    let header = rdr.byte_headers().unwrap().clone();
    let drop_at = header.iter().position(|h| h == b"phash_crop").unwrap();
    let mut w = csv::Writer::from_path(&idx).unwrap();
    let keep = |row: &csv::ByteRecord, extra: &[u8]| {
        let mut out: Vec<Vec<u8>> = row
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop_at)
            .map(|(_, f)| f.to_vec())
            .collect();
        out.push(extra.to_vec());
        out
    };
    w.write_record(keep(&header, b"from_the_future")).unwrap();
    for row in rdr.byte_records() {
        w.write_record(keep(&row.unwrap(), b"x")).unwrap();
    }
    w.flush().unwrap();
    drop(w);

    let out = common::cleansplit_with_index(&idx, ["scan".as_ref(), root.as_os_str()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reused = full.len() - decoded;
    assert!(
        stdout.contains(&format!("{reused} of {} records reused", full.len())),
        "{stdout}"
    );
    // Rewritten with every column, equal to the full scan.
    assert_eq!(sorted(index::read(&idx).unwrap()), sorted(full));
}
