//! Helpers shared by the end-to-end tests: run the real binary with a private index, copy
//! the demo dataset, fingerprint a folder tree, generate small datasets of distinct images.
//!
//! Each test crate uses a subset of these.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use image::{Rgb, RgbImage};

/// Longest any single `cleansplit` run may take in a test.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The crate root.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real image sets the shared-data tests read: `CLEANSPLIT_SHARED_DATA` when set, else
/// `../shared/data` beside the repository (never part of it).
pub fn shared_data_dir() -> PathBuf {
    match std::env::var_os("CLEANSPLIT_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => manifest_dir().join("../shared/data"),
    }
}

/// `REL` under [`shared_data_dir`] when it is there; otherwise `None` and a visible skip line
/// naming `test`. The line goes straight to the process's stderr: `eprintln!` is captured by
/// the test harness and shown only for failures, which made a missing data set a silent pass
/// (as the Chromium test found).
pub fn shared_data(rel: &str, test: &str) -> Option<PathBuf> {
    let path = shared_data_dir().join(rel);
    if path.exists() {
        return Some(path);
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {test}: {} is not there (set CLEANSPLIT_SHARED_DATA to the shared data folder)",
        path.display()
    );
    None
}

/// `testdata/demo` in the source tree (never written to: tests work on copies).
pub fn demo_src() -> PathBuf {
    manifest_dir().join("testdata/demo")
}

/// `cleansplit ARGS.. --index INDEX -q`: the index never lands in the user's cache.
pub fn cleansplit_with_index<I, S>(index: &Path, args: I) -> assert_cmd::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = assert_cmd::Command::cargo_bin("cleansplit").expect("cleansplit binary");
    cmd.args(args).arg("--index").arg(index).arg("-q");
    cmd.env_remove("CLEANSPLIT_ABORT_AFTER_FILES");
    cmd.timeout(RUN_TIMEOUT);
    cmd
}

/// `cleansplit ARGS.. --index WORK/index.csv -q`. Use one WORK folder per dataset root (or
/// [`cleansplit_with_index`]) so two roots never share an index.
pub fn cleansplit<I, S>(work: &Path, args: I) -> assert_cmd::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    cleansplit_with_index(&work.join("index.csv"), args)
}

/// Copies the tree at `src` to `dst` (files and folders; `dst` must not exist).
pub fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Copies `testdata/demo` to `WORK/demo` and returns that path.
pub fn copy_demo(work: &Path) -> PathBuf {
    let dst = work.join("demo");
    copy_tree(&demo_src(), &dst);
    dst
}

/// One row of `testdata/demo_truth.csv`.
#[derive(Debug, Clone)]
pub struct Truth {
    pub kind: String,
    pub a: String,
    pub b: String,
}

pub fn demo_truth() -> Vec<Truth> {
    let mut rdr = csv::Reader::from_path(manifest_dir().join("testdata/demo_truth.csv")).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        ["kind", "path_a", "path_b"]
    );
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            Truth {
                kind: r[0].to_owned(),
                a: r[1].to_owned(),
                b: r[2].to_owned(),
            }
        })
        .collect()
}

/// What [`tree_fingerprint`] records for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File {
        size: u64,
        blake3: String,
        mtime_ns: i128,
    },
    Symlink(PathBuf),
}

/// Every path under `root` (relative) with its kind, and for files their size, BLAKE3 and
/// modification time.
pub fn tree_fingerprint(root: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, Entry::Symlink(fs::read_link(&path).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Entry::Dir);
                walk(root, &path, out);
            } else {
                let mtime = meta
                    .modified()
                    .unwrap()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                out.insert(
                    rel,
                    Entry::File {
                        size: meta.len(),
                        blake3: blake3::hash(&fs::read(&path).unwrap()).to_hex().to_string(),
                        mtime_ns: mtime.as_nanos() as i128,
                    },
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Regular files (and symlinks) under `root`, relative, sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    tree_fingerprint(root)
        .into_iter()
        .filter(|(_, e)| !matches!(e, Entry::Dir))
        .map(|(p, _)| p)
        .collect()
}

/// Names in folder `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// One row of `manifest.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    pub source: String,
    pub destination: String,
    pub split: String,
    pub class: String,
    pub group: String,
    pub action: String,
    pub reason: String,
}

pub const MANIFEST_HEADER: [&str; 7] = [
    "source",
    "destination",
    "split",
    "class",
    "group",
    "action",
    "reason",
];

/// Reads a `manifest.csv`, checking its header.
pub fn read_manifest(path: &Path) -> Vec<ManifestRow> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        MANIFEST_HEADER,
        "header of {}",
        path.display()
    );
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.len(), 7, "row {r:?}");
            ManifestRow {
                source: r[0].to_owned(),
                destination: r[1].to_owned(),
                split: r[2].to_owned(),
                class: r[3].to_owned(),
                group: r[4].to_owned(),
                action: r[5].to_owned(),
                reason: r[6].to_owned(),
            }
        })
        .collect()
}

/// splitmix64: a tiny deterministic generator for test images.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        cleansplit::base::rng::splitmix(&mut self.0)
    }

    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
}

/// A 128x96 picture of an 8x6 grid of random colours plus mild noise: strong, random
/// low-frequency structure, so two seeds give perceptual hashes far apart (not duplicates)
/// and no picture is near-constant.
pub fn distinct_image(seed: u64) -> RgbImage {
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
    let cells: Vec<[u8; 3]> = (0..48)
        .map(|_| [rng.byte(), rng.byte(), rng.byte()])
        .collect();
    RgbImage::from_fn(128, 96, |x, y| {
        let c = cells[(y / 16 * 8 + x / 16) as usize];
        let n = (rng.byte() % 9) as i16 - 4;
        Rgb(c.map(|v| (v as i16 + n).clamp(0, 255) as u8))
    })
}

/// Writes [`distinct_image`]`(seed)` to `path` (format from the extension), creating folders.
pub fn write_image(path: &Path, seed: u64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    distinct_image(seed).save(path).unwrap();
}

/// A clean dataset under `root`: `train/{cats,dogs}` with 4 images each and `val/{cats,dogs}`
/// with 2 each, all distinct PNGs.
pub fn make_clean_dataset(root: &Path, seed: u64) {
    let mut k = seed * 1000;
    for (split, n) in [("train", 4), ("val", 2)] {
        for class in ["cats", "dogs"] {
            for i in 0..n {
                k += 1;
                write_image(&root.join(split).join(class).join(format!("{i:02}.png")), k);
            }
        }
    }
}

/// Whether `rel` names a file with an image extension.
pub fn is_image_name(rel: &Path) -> bool {
    matches!(
        rel.extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref(),
        Some("jpg" | "jpeg" | "png" | "gif" | "bmp" | "webp" | "tif" | "tiff")
    )
}

/// [`cleansplit`] as a plain `std::process::Command`, for tests that spawn the binary and
/// talk to it (signals, pipes). No timeout: the caller waits.
pub fn cleansplit_std<I, S>(work: &Path, args: I) -> std::process::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cleansplit"));
    cmd.args(args)
        .arg("--index")
        .arg(work.join("index.csv"))
        .arg("-q");
    cmd.env_remove("CLEANSPLIT_ABORT_AFTER_FILES");
    cmd.env_remove("CLEANSPLIT_PAUSE_AFTER_FILES");
    cmd
}
