//! The scan: layout discovery, then one record per image file, in parallel, reusing the
//! previous index for files whose size and mtime have not changed.
//!
//! Per file (the hot path, see `benches/scan.rs`), in `file`: read the bytes once, BLAKE3
//! them, sniff the format, check the container's end, decode to grayscale, take one 64 x 64
//! area reduction and hash it, and take the local features (`features`). Nothing else touches
//! pixels.

pub mod budget;
pub mod decode;
pub mod features;
pub mod file;
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod hash;
pub mod hash256;
pub mod jpeg_header;
mod pair;
pub mod progress;
pub mod quality;
pub mod reduce;
pub mod special;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::base::flags::Status;
use crate::base::format::Format;
use crate::index::meta::Meta;
use crate::index::shard::Shard;
use crate::index::{self, Record};
use crate::layout::{self, Layout, LayoutOptions};
use crate::loader::Loader;
use crate::output::inside;
use file::{blank_record, path_flags, scan_file_features};
use pair::{Pairing, Streamed, pair_whole, stream_previous};

/// Default `--max-pixels`: Pillow's decompression-bomb error threshold.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;
/// Files larger than this are not read at all (status `too_large`): the memory budget of one
/// file ([`budget::LARGE`]).
pub const MAX_FILE_BYTES: u64 = budget::LARGE;

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
    /// The training loader whose view every later count follows (`--loader`). The index
    /// itself does not depend on it (`keras_ok` is the default loader's verdict).
    pub loader: Loader,
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
            loader: Loader::Keras,
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
    /// The loader chosen with `--loader` (from [`ScanOptions::loader`]).
    pub loader: Loader,
    /// How ROOT was read (`--splits`, `--labels`): advice that names a command repeats them.
    pub layout_options: LayoutOptions,
}

impl ScanOutcome {
    /// The options that change what a command sees of ROOT, as arguments to repeat in a
    /// suggested command: `--loader` (unless the default), `--labels`, `--splits`. Empty or
    /// starting with a space.
    pub fn repeat_options(&self) -> String {
        let mut s = String::new();
        if self.loader != Loader::Keras {
            s.push_str(&format!(" --loader {}", self.loader));
        }
        if let Some(labels) = &self.layout_options.labels {
            s.push_str(&format!(
                " --labels {}",
                shell_word(&labels.display().to_string())
            ));
        }
        if let Some(splits) = &self.layout_options.splits {
            s.push_str(&format!(" --splits {}", shell_word(&splits.join(","))));
        }
        s
    }

    /// ROOT as a shell word, for suggested commands.
    pub fn root_arg(&self) -> String {
        shell_word(&self.root.display().to_string())
    }
    pub fn status_counts(&self) -> BTreeMap<Status, usize> {
        let mut m = BTreeMap::new();
        // Runs of one status (most are `ok`): one map update per run, not per record.
        for run in self.records.chunk_by(|a, b| a.status == b.status) {
            *m.entry(run[0].status).or_default() += run.len();
        }
        m
    }

    /// Files seen under ROOT: indexed plus skipped. The summary's counts add up to this.
    pub fn files_seen(&self) -> usize {
        self.records.len() + self.layout.skipped.len()
    }

    /// Class names of the indexed images, sorted (the empty class of unlabeled files is not a
    /// class). From the records: the scan moves the layout's files into them.
    pub fn classes(&self) -> std::collections::BTreeSet<&str> {
        // Records are in path order, so a class comes in runs: one set insert per run (`Name`
        // equality is a pointer comparison), not a string search per record.
        self.records
            .chunk_by(|a, b| a.class == b.class)
            .map(|run| run[0].class.as_str())
            .filter(|c| !c.is_empty())
            .collect()
    }

    /// Indexed images without a class: no row in the labels CSV, or no class folders.
    pub fn unlabeled(&self) -> usize {
        self.records.iter().filter(|r| r.class.is_empty()).count()
    }

    /// The warning every command that reads a dataset gives when the chosen loader reads none
    /// of its images (an empty or wrong ROOT must never pass silently).
    pub fn unusable_warning(&self) -> Option<String> {
        crate::loader::coverage::Coverage::of(&self.records, self.loader)
            .no_usable_warning(self.loader)
    }

    /// The first `cap` skipped entries (in path order) and how many there are in all.
    pub fn skipped_list(&self, cap: usize) -> (Vec<crate::layout::SkippedEntry>, usize) {
        (
            self.layout
                .skipped
                .iter()
                .take(cap)
                .map(crate::layout::SkippedEntry::of)
                .collect(),
            self.layout.skipped.len(),
        )
    }
}

/// `w` quoted for a POSIX shell when it holds anything but plain path characters.
pub fn shell_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./,:=+@%".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// Errors that mean ROOT or the index cannot be used (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0:#}")]
    Root(anyhow::Error),
    #[error("{0:#}")]
    Index(anyhow::Error),
    /// A panic in cleansplit's own code while scanning a file: a bug, not a broken file.
    #[error(
        "internal error while scanning {path}: {message} (a bug in cleansplit, not a problem with the file: please report it with the file)"
    )]
    Bug { path: PathBuf, message: String },
    /// An interrupt was requested (`interrupt::request`) before the scan finished.
    #[error(transparent)]
    Interrupted(#[from] crate::output::interrupt::Stopped),
}

/// `--jobs` may ask for at most this many threads per core: more only costs memory and
/// start-up time (100,000 threads never finish starting).
pub const MAX_JOBS_PER_CORE: usize = 4;

/// The largest accepted `--jobs` on this machine.
pub fn max_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * MAX_JOBS_PER_CORE
}

impl ScanOptions {
    /// Refuses options that would run but give a wrong or endless scan.
    pub fn validate(&self) -> Result<()> {
        if let Some(j) = self.jobs {
            let max = max_jobs();
            if j == 0 || j > max {
                anyhow::bail!(
                    "--jobs must be between 1 and {max} ({MAX_JOBS_PER_CORE} per core), not {j}"
                );
            }
        }
        if self.max_pixels == 0 {
            anyhow::bail!("--max-pixels must be at least 1 (0 would skip every image)");
        }
        Ok(())
    }
}

/// Sizes rayon's global pool to `jobs` (all cores when `None`), once per process, so every
/// parallel step (scan, search, thumbnails) obeys `--jobs` and no second pool is built.
pub fn set_jobs(jobs: Option<usize>) {
    if let Some(n) = jobs {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
}

/// Scans ROOT incrementally and writes the index.
pub fn run(root: &Path, opts: &ScanOptions) -> Result<ScanOutcome, ScanError> {
    let start = Instant::now();
    let watch = progress::current();
    if let Some(w) = &watch {
        w.started.store(true, Ordering::Relaxed);
    }
    opts.validate().map_err(ScanError::Root)?;
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
    // The walk first, then the previous index, paired with the walk's files block by block
    // as it is read (`pair`): the parsed index and the candidates are never held side by side.
    let walk = || -> Result<Layout, ScanError> {
        let mut layout = layout::discover(&root, &opts.layout).map_err(ScanError::Root)?;
        if let Some(shard) = opts.shard {
            layout.files.retain(|c| shard.contains(c.rel));
            layout.skipped.retain(|s| shard.contains(&s.rel));
        }
        Ok(layout)
    };
    let mut layout = walk()?;
    let use_previous = !opts.rehash && index_path.exists();
    let (pairing, schema, index_note) = match use_previous {
        false => (
            Pairing::new(std::mem::take(&mut layout.files), false),
            None,
            None,
        ),
        true => match stream_previous(&index_path, std::mem::take(&mut layout.files)) {
            Streamed::Done(p, schema) => (p, Some(schema), None),
            // The index needs the serial reader, or is not in path order: the walk's files
            // were (partly) used up, so walk again and pair with the whole index.
            Streamed::Again => {
                layout = walk()?;
                pair_whole(&index_path, std::mem::take(&mut layout.files))
            }
            Streamed::Unopened(e, files) => (
                Pairing::new(files, false),
                None,
                Some(format!("previous index not reused: {e:#}")),
            ),
        },
    };
    let pairing = pairing.finish();
    // An index from before `jpeg_quality`: its JPEGs get their quality from the file header,
    // without rehashing (the column does not come from pixels).
    let legacy_quality = schema
        .as_ref()
        .is_some_and(|s| s.missing.contains(&"jpeg_quality"));
    let Pairing {
        kept: mut reused_records,
        todo,
        dropped,
        relabelled,
        ..
    } = pairing;
    if legacy_quality {
        // An index from before the `jpeg_quality` column: read only the headers of its JPEGs.
        reused_records
            .par_iter_mut()
            .filter(|r| r.format == Some(Format::Jpeg))
            .for_each(|r| r.set_jpeg_quality(quality::quality_of_file(&root.join(&r.path))));
    }
    let reused = reused_records.len();

    let bar = progress_bar(opts.progress && watch.is_none(), todo.len() as u64);
    if let Some(w) = &watch {
        w.total.fetch_add(todo.len() as u64, Ordering::Relaxed);
    }
    let max_pixels = opts.max_pixels;
    // The fresh records are written straight into the room the pairing left after the kept
    // ones (one per file), not collected apart and copied over. `opts.jobs` sized the global
    // pool (`set_jobs`); no second pool here.
    let mut records = reused_records;
    // A panic outside the decoder guard is our bug: the first one stops the scan (naming the
    // file) instead of becoming a record.
    let bug: std::sync::Mutex<Option<(PathBuf, String)>> = std::sync::Mutex::new(None);
    // Local features (issue 22) go to the `<index>.features` sidecar, not into the records.
    let features_path = features::sidecar::path_for(&index_path);
    let previous = features::sidecar::Sidecar::open(&features_path)
        .ok()
        .flatten();
    // Fresh features go to a temporary file as they are made (`sidecar::write::Pending`).
    let pending = features_path
        .parent()
        .map(features::sidecar::write::Pending::new)
        .transpose()
        .map_err(ScanError::Index)?;
    let pending_error: std::sync::Mutex<Option<anyhow::Error>> = std::sync::Mutex::new(None);
    records.par_extend(todo.par_iter().map(|c| {
        // After an interrupt request the rest are left unread (the scan fails below).
        if crate::output::interrupt::requested() {
            return blank_record(c);
        }
        let (r, f) = std::panic::catch_unwind(|| scan_file_features(&root, c, max_pixels))
            .unwrap_or_else(|payload| {
                let mut b = bug.lock().unwrap_or_else(|p| p.into_inner());
                b.get_or_insert_with(|| (root.join(&c.rel), guard::panic_text(&*payload)));
                (blank_record(c), None)
            });
        if let (Some(f), Some(d), Some(p)) = (f, r.blake3(), &pending)
            && let Err(e) = p.add(d, &f)
        {
            pending_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
        }
        bar.inc(1);
        if let Some(w) = &watch {
            w.done.fetch_add(1, Ordering::Relaxed);
        }
        r
    }));
    if let Some(e) = pending_error
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(ScanError::Index(e));
    }
    bar.finish_and_clear();
    drop(todo);
    if let Some((path, message)) = bug.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(ScanError::Bug { path, message });
    }
    if crate::output::interrupt::requested() {
        return Err(crate::output::interrupt::Stopped.into());
    }
    // Before the sort: `records[..reused]` are the reused records only while the fresh ones
    // follow them (after it, the last reused records in path order would lose their features).
    features::rescan::update(
        &root,
        &records[..reused],
        pending,
        previous,
        &features_path,
        max_pixels,
    )
    .map_err(ScanError::Index)?;
    if records.len() > reused {
        // Two runs in path order (kept, then fresh): the sort merges them.
        records.sort_by(|a, b| a.path.cmp(&b.path));
    }
    // Name flags come from the path alone, so they are set on reused records too.
    records.par_iter_mut().for_each(path_flags);
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
    // What the scan freed (the walk's candidates, the index's blocks, the fresh records' first
    // copies) is given back before the analyses allocate theirs.
    crate::base::memory::release_freed();
    Ok(ScanOutcome {
        root,
        layout,
        records,
        index_path,
        reused,
        dropped,
        index_note,
        elapsed: start.elapsed(),
        loader: opts.loader,
        layout_options: opts.layout.clone(),
    })
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
    // `{per_sec}` prints 4 decimals ("774.5984/s"): a rounded rate of our own instead.
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "scanning {bar:40} {pos}/{len} images, {rate}, eta {eta}",
    ) {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} images/s", state.per_sec());
            },
        ));
    }
    bar
}
