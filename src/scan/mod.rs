//! The scan: layout discovery, then one record per image file, in parallel, reusing the
//! previous index for files whose size and mtime have not changed.
//!
//! Per file (the hot path, see `benches/scan.rs`): read the bytes once, BLAKE3 them, sniff
//! the format, check the container's end, decode to grayscale, take one 64 x 64 area
//! reduction and hash it. Nothing else touches pixels.

pub mod decode;
pub mod format;
pub mod hash;
pub mod reduce;

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::index::{self, Flag, Flags, Record, Status};
use crate::index_meta::Meta;
use crate::layout::{self, Candidate, Layout, LayoutOptions};
use crate::shard::Shard;
use format::Format;

/// Default `--max-pixels`: Pillow's decompression-bomb error threshold.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;
/// Files larger than this are not read at all (status `too_large`).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Options of `cleansplit scan` (shared by every command that scans first).
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub layout: LayoutOptions,
    /// Where the index lives (`--index`); `None` for the cache directory.
    pub index: Option<PathBuf>,
    /// Worker threads (`--jobs`); `None` for all cores.
    pub jobs: Option<usize>,
    pub max_pixels: u64,
    /// Re-read every file even if the index has it (`--rehash`).
    pub rehash: bool,
    /// Draw a progress bar (only ever on a terminal).
    pub progress: bool,
    /// Hash only the files of this shard (`scan --shard K/N`); see `shard`.
    pub shard: Option<Shard>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            layout: LayoutOptions::default(),
            index: None,
            jobs: None,
            max_pixels: DEFAULT_MAX_PIXELS,
            rehash: false,
            progress: false,
            shard: None,
        }
    }
}

/// What a scan found and did.
#[derive(Debug)]
pub struct ScanOutcome {
    /// ROOT, canonicalised.
    pub root: PathBuf,
    pub layout: Layout,
    /// One record per candidate file, sorted by path. (`layout.files` is empty after the
    /// scan: the records hold the same files, once.)
    pub records: Vec<Record>,
    pub index_path: PathBuf,
    /// Records taken from the previous index without reading the file.
    pub reused: usize,
    /// Records of the previous index whose file is gone.
    pub dropped: usize,
    /// Why the previous index was not used, if it existed but could not be.
    pub index_note: Option<String>,
    pub elapsed: Duration,
}

impl ScanOutcome {
    pub fn status_counts(&self) -> BTreeMap<Status, usize> {
        let mut m = BTreeMap::new();
        for r in &self.records {
            *m.entry(r.status).or_default() += 1;
        }
        m
    }

    /// Files seen under ROOT: indexed plus skipped. The summary's counts add up to this.
    pub fn files_seen(&self) -> usize {
        self.records.len() + self.layout.skipped.len()
    }
}

/// Errors that mean ROOT or the index cannot be used (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0:#}")]
    Root(anyhow::Error),
    #[error("{0:#}")]
    Index(anyhow::Error),
}

/// Scans ROOT incrementally and writes the index.
pub fn run(root: &Path, opts: &ScanOptions) -> Result<ScanOutcome, ScanError> {
    let start = Instant::now();
    let root = fs::canonicalize(root)
        .with_context(|| format!("cannot open ROOT {}", root.display()))
        .map_err(ScanError::Root)?;
    let index_path = match &opts.index {
        Some(p) => p.clone(),
        None => index::default_path(&root).map_err(ScanError::Index)?,
    };
    if inside(&index_path, &root) {
        return Err(ScanError::Index(anyhow::anyhow!(
            "refusing to write the index inside the dataset ({}): Keras would see a bogus class",
            index_path.display()
        )));
    }
    // The walk and the reading of the previous index are independent: both at once.
    let (layout, previous) = rayon::join(
        || layout::discover(&root, &opts.layout),
        || match index_path.exists() {
            false => Ok(None),
            true if opts.rehash => Ok(None),
            true => index::read_file_with_schema(&index_path).map(Some),
        },
    );
    let mut layout = layout.map_err(ScanError::Root)?;
    if let Some(shard) = opts.shard {
        layout.files.retain(|c| shard.contains(&c.rel));
        layout.skipped.retain(|s| shard.contains(&s.rel));
    }
    let (previous, index_note) = match previous {
        Ok(p) => (p, None),
        Err(e) => (None, Some(format!("previous index not reused: {e:#}"))),
    };
    // An index that lacks a column computed from pixels (written by an older version) is
    // reused for everything but its decoded records, which are hashed again.
    let (mut previous, schema) = match previous {
        Some((recs, schema)) => (recs, Some(schema)),
        None => (Vec::new(), None),
    };
    let reuse_decoded = schema.as_ref().is_some_and(|s| !s.missing_pixels);
    // Both sides in path order (the index is written so; the walk sorts): one merge pass
    // pairs each file with its previous record, without a hash map of a million paths.
    if !previous.is_sorted_by(|a, b| a.path <= b.path) {
        previous.sort_by(|a, b| a.path.cmp(&b.path));
    }
    let mut previous = previous.into_iter().peekable();

    let mut reused_records = Vec::new();
    let mut todo: Vec<Candidate> = Vec::new();
    // A reused record whose split or class changed (e.g. a new --labels file).
    let mut relabelled = false;
    // Files gone since the previous index.
    let mut dropped = 0;
    for c in std::mem::take(&mut layout.files) {
        let mut prev = None;
        while let Some(p) = previous.next_if(|p| p.path <= c.rel) {
            if p.path == c.rel {
                prev = Some(p);
                break;
            }
            dropped += 1;
        }
        match prev {
            Some(mut r)
                if r.size == c.size
                    && r.mtime_ns == c.mtime_ns
                    && c.mtime_ns != 0
                    && (reuse_decoded || !r.is_ok()) =>
            {
                if r.split != c.split || r.class != c.class {
                    relabelled = true;
                    r.split = c.split;
                    r.class = c.class;
                }
                reused_records.push(r);
            }
            _ => todo.push(c),
        }
    }
    dropped += previous.count();
    let reused = reused_records.len();

    let bar = progress_bar(opts.progress, todo.len() as u64);
    let max_pixels = opts.max_pixels;
    let work = || -> Vec<Record> {
        todo.par_iter()
            .map(|c| {
                let r = scan_file(c, max_pixels);
                bar.inc(1);
                r
            })
            .collect()
    };
    let fresh = match opts.jobs {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| ScanError::Root(e.into()))?
            .install(work),
        None => work(),
    };
    bar.finish_and_clear();

    drop(todo);
    let mut records = reused_records;
    if !fresh.is_empty() {
        records.extend(fresh);
        records.sort_by(|a, b| a.path.cmp(&b.path));
    }
    // A rescan that changes nothing writes nothing: same records, same columns, and a sidecar
    // that describes this file, this layout and this shard.
    let unchanged = reused == records.len()
        && dropped == 0
        && !relabelled
        && schema.as_ref().is_some_and(|s| s.current)
        && Meta::read(&index_path).ok().flatten().is_some_and(|m| {
            m.matches(&index_path, records.len()) && m.describes(&layout, opts.shard)
        });
    if !unchanged {
        index::write_atomic(&index_path, &records).map_err(ScanError::Index)?;
        Meta::of_scan(&index_path, &layout, opts.shard, records.len())
            .and_then(|m| m.write(&index_path))
            .map_err(ScanError::Index)?;
    }
    Ok(ScanOutcome {
        root,
        layout,
        records,
        index_path,
        reused,
        dropped,
        index_note,
        elapsed: start.elapsed(),
    })
}

/// Would `path` (which may not exist yet) land inside `root` (canonical)? Checked on the
/// nearest existing ancestor, so symlinks and `..` cannot hide it.
pub fn inside(path: &Path, root: &Path) -> bool {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    abs.ancestors()
        .find_map(|a| fs::canonicalize(a).ok())
        .is_some_and(|c| c.starts_with(root))
}

fn progress_bar(enabled: bool, len: u64) -> indicatif::ProgressBar {
    if !enabled || len == 0 {
        return indicatif::ProgressBar::hidden();
    }
    // Draws only when stderr is a terminal.
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "scanning {bar:40} {pos}/{len} images, {per_sec}, eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn blank_record(c: &Candidate) -> Record {
    Record {
        path: c.rel.clone(),
        split: c.split.clone(),
        class: c.class.clone(),
        size: c.size,
        mtime_ns: c.mtime_ns,
        blake3: String::new(),
        format: "unknown".into(),
        width: 0,
        height: 0,
        color: String::new(),
        orientation: 1,
        phash: None,
        dhash: None,
        phash_crop: None,
        flags: Flags::default(),
        status: Status::Unreadable,
        message: String::new(),
    }
}

/// Reads, checks, decodes and hashes one file. Never panics and never fails: every problem
/// becomes a status and a message in the record.
pub fn scan_file(c: &Candidate, max_pixels: u64) -> Record {
    let mut rec = blank_record(c);
    if !format::keras_takes_extension(&c.rel) {
        rec.flags.insert(Flag::KerasSkips);
    }
    if c.size > MAX_FILE_BYTES {
        rec.status = Status::TooLarge;
        rec.message = format!(
            "{} bytes; files over {MAX_FILE_BYTES} bytes are not read",
            c.size
        );
        return rec;
    }
    // Directories named like images, FIFOs, sockets, devices: never opened for reading.
    match fs::metadata(&c.abs) {
        Ok(md) if md.is_file() => {}
        Ok(_) => {
            rec.message = "not a regular file (a directory, FIFO, socket or device)".into();
            return rec;
        }
        Err(e) => {
            rec.message = e.to_string();
            return rec;
        }
    }
    let bytes = match fs::read(&c.abs) {
        Ok(b) => b,
        Err(e) => {
            rec.status = Status::Unreadable;
            rec.message = e.to_string();
            return rec;
        }
    };
    rec.size = bytes.len() as u64;
    if bytes.is_empty() {
        rec.status = Status::Empty;
        rec.message = "zero bytes".into();
        return rec;
    }
    rec.blake3 = blake3::hash(&bytes).to_hex()[..32].to_owned();
    match catch_unwind(AssertUnwindSafe(|| examine(&mut rec, &bytes, max_pixels))) {
        Ok(()) => {}
        Err(_) => {
            rec.status = Status::Corrupt;
            rec.message = "the decoder panicked on this file".into();
        }
    }
    rec
}

/// Format, truncation, decode and hashes; fills `rec` in place.
fn examine(rec: &mut Record, bytes: &[u8], max_pixels: u64) {
    let ext_format = layout::extension(&rec.path).and_then(|e| Format::from_extension(&e));
    let Some(fmt) = format::sniff(bytes) else {
        rec.flags.insert(Flag::KerasSkips);
        (rec.status, rec.message) = match ext_format {
            Some(f) => (
                Status::Corrupt,
                format!(
                    "the bytes are not a recognisable image (the name says {})",
                    f.as_str()
                ),
            ),
            None => (Status::Unsupported, "not a recognised image format".into()),
        };
        return;
    };
    rec.format = fmt.as_str().into();
    if ext_format != Some(fmt) {
        rec.flags.insert(Flag::ExtMismatch);
    }
    if !fmt.keras_decodes() {
        rec.flags.insert(Flag::KerasSkips);
    }
    if format::is_animated(fmt, bytes) {
        rec.flags.insert(Flag::Animated);
    }
    if let Some(why) = format::truncation(fmt, bytes) {
        rec.status = Status::Truncated;
        rec.message = why;
        return;
    }
    let d = match decode::decode(fmt, bytes, max_pixels) {
        Ok(d) => d,
        Err(e) => {
            (rec.status, rec.message) = match e {
                decode::DecodeError::TooLarge(m) => (Status::TooLarge, m),
                decode::DecodeError::Unsupported(m) => (Status::Unsupported, m),
                decode::DecodeError::Corrupt(m) => (Status::Corrupt, m),
            };
            return;
        }
    };
    rec.width = d.width;
    rec.height = d.height;
    rec.color = d.color;
    rec.orientation = d.orientation;
    for f in d.flags.iter() {
        rec.flags.insert(f);
    }
    if d.width < 32 || d.height < 32 {
        rec.flags.insert(Flag::Tiny);
    }
    let h = hash::hashes_of_reduction(&hash::reduction_within(
        &d.gray,
        d.gray_w,
        d.gray_h,
        d.extent,
        d.orientation,
    ));
    rec.phash = Some(h.phash);
    rec.dhash = Some(h.dhash);
    rec.phash_crop = Some(h.phash_crop);
    if h.near_constant {
        rec.flags.insert(Flag::NearConstant);
    }
    rec.status = Status::Ok;
}
