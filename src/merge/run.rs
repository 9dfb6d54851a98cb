//! [`run`]: the `merge` command as one library call: every source scanned, the classes
//! matched, copies kept once, and OUT written through a temporary folder.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{MergeOptions, MergeReport, Source, check_out, classes, prepare, source_names};
use crate::base::notify::{Notice, Notify};
use crate::index;
use crate::leaks::LeakOptions;
use crate::scan::{self, ScanOptions};
use crate::split::normalize::{Normalize, rename_destinations};
use crate::split::{self, Conflicts, Mode, Refused, WriteJob};

/// What `merge` is asked to do.
#[derive(Debug, Clone)]
pub struct MergeJob {
    /// The source datasets (any layout the scan reads), as given.
    pub sources: Vec<PathBuf>,
    /// The output folder (OUT): must not exist or be empty, and be inside no source.
    pub out: PathBuf,
    /// How every source is scanned (its labels and index are set per source from `labels`
    /// and `index_dir`); its loader decides what is placed.
    pub scan: ScanOptions,
    /// Folder for the sources' indexes (`--index-dir`; default: the user's cache folder).
    pub index_dir: Option<PathBuf>,
    /// CSV of `source,old,new` class renames (`--map`).
    pub map: Option<PathBuf>,
    /// `--labels SRC=FILE`, as given: SRC is a source's name or its path as given.
    pub labels: Vec<String>,
    /// Keep only these classes, named after `--map` (`--classes`).
    pub classes: Option<Vec<String>>,
    /// Keep the sources' splits by role instead of pooling them (`--keep-splits`).
    pub keep_splits: bool,
    pub conflicts: Conflicts,
    pub leak: LeakOptions,
    /// How files are placed (`--mode`).
    pub mode: Mode,
    /// Check every placed file's content hash against its source (`--verify`).
    pub verify: bool,
    /// Re-encode every placed image (`--normalize`).
    pub normalize: Option<Normalize>,
}

/// What `merge` did: its report (also `merge_report.json`) and the time it took.
#[derive(Debug)]
pub struct MergeOutcome {
    pub report: MergeReport,
    pub elapsed: Duration,
}

/// Scans every source, merges them and writes OUT. Every option, the sources and OUT are
/// checked before anything is scanned; each source scanned is a note, one with images
/// without a class a warning. A `--conflicts error` conflict is a [`Refused`] error.
pub fn run(job: &MergeJob, notify: Notify) -> Result<MergeOutcome> {
    let start = Instant::now();
    job.leak.validate()?;
    job.scan.validate()?;
    if job.normalize.is_some() && job.mode == Mode::Manifest {
        bail!("--normalize writes images; --mode manifest writes none");
    }
    let srcs = &job.sources;
    let mut roots = Vec::new();
    for s in srcs {
        roots.push(
            std::fs::canonicalize(s).with_context(|| format!("cannot open SRC {}", s.display()))?,
        );
    }
    for (i, r) in roots.iter().enumerate() {
        if roots[..i].contains(r) {
            bail!("{} is given twice as a source", srcs[i].display());
        }
    }
    check_out(&roots, &job.out)?;
    let map = match &job.map {
        Some(p) => classes::read_map(p)?,
        None => Vec::new(),
    };
    let names = source_names(&roots);
    let mut labels = labels_per_source(&job.labels, srcs, &roots, &names)?;
    let mut sources = Vec::new();
    for (i, ((root, name), given)) in roots.iter().zip(&names).zip(srcs).enumerate() {
        let index = match &job.index_dir {
            Some(dir) => {
                let file = index::default_path(root)?;
                Some(dir.join(file.file_name().expect("an index file name")))
            }
            None => None,
        };
        // Absolute in the report, as the roots are (the scan reads it as given).
        let source_labels = labels[i].take();
        let labels_abs = source_labels
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
        let mut opts = job.scan.clone();
        opts.index = index;
        opts.layout.labels = source_labels;
        let o = scan::run(given, &opts)?;
        notify(Notice::Note(format!(
            "source {name}: {} ({}), {} images in {} classes{}",
            given.display(),
            o.layout.kind,
            o.records.len(),
            o.classes().len(),
            if o.layout.splits.is_empty() {
                String::new()
            } else {
                format!(", splits {}", o.layout.splits.join(", "))
            }
        )));
        let unlabeled = o.unlabeled();
        if unlabeled > 0 {
            notify(Notice::Warning(format!(
                "source {name}: {unlabeled} of {} images have no class and are not placed; give them classes with class folders or --labels {name}=FILE (a CSV of `file name or stem,label` rows)",
                o.records.len()
            )));
        }
        sources.push(Source {
            name: name.clone(),
            root: o.root,
            layout: o.layout.kind.to_string(),
            splits: o.layout.splits,
            records: o.records,
            labels: labels_abs,
        });
    }
    let opts = MergeOptions {
        keep_splits: job.keep_splits,
        map,
        classes: job.classes.clone(),
        conflicts: job.conflicts,
        leak: job.leak.clone(),
        loader: job.scan.loader,
    };
    let prepared = prepare(sources, &opts)?;
    let mut merged = prepared
        .place()
        .map_err(|e| anyhow::Error::new(Refused(e)))?;
    if let Some(n) = &job.normalize {
        let records = &prepared.records;
        rename_destinations(merged.dests.listed(&merged.plan, records), n.extension());
    }
    let mut manifest = Vec::new();
    prepared.write_manifest(&mut manifest, &merged)?;
    let extra = vec![
        ("manifest.csv", manifest),
        (
            "merge_report.json",
            serde_json::to_vec_pretty(&merged.report)?,
        ),
    ];
    let write = WriteJob {
        // Record paths are absolute, so joining them to a root leaves them as they are; OUT
        // was checked against every source above, the writer checks it again for this one.
        root: &prepared.sources[0].root,
        out: &job.out,
        mode: job.mode,
        verify: job.verify,
        records: &prepared.records,
        names: &merged.names,
        dests: &merged.dests,
        normalize: job.normalize,
        loader: job.scan.loader,
    };
    for w in split::write(&write, &merged.plan, &extra)? {
        notify(Notice::Warning(w));
    }
    Ok(MergeOutcome {
        report: merged.report,
        elapsed: start.elapsed(),
    })
}

/// `--labels SRC=FILE` per source, in the order of `roots`. SRC is a source's name (as the
/// merge prints it and `--map` uses it) or its path as given; anything else, a missing `=`
/// or a source named twice is refused before any scan.
fn labels_per_source(
    given: &[String],
    srcs: &[PathBuf],
    roots: &[PathBuf],
    names: &[String],
) -> Result<Vec<Option<PathBuf>>> {
    let mut out: Vec<Option<PathBuf>> = vec![None; roots.len()];
    for g in given {
        let Some((src, file)) = g
            .split_once('=')
            .filter(|(s, f)| !s.is_empty() && !f.is_empty())
        else {
            bail!("--labels {g:?}: expected SRC=FILE (a source's name, then its labels CSV)");
        };
        let by_path = std::fs::canonicalize(src).ok();
        let Some(i) = (0..roots.len()).find(|&i| {
            names[i] == src || srcs[i] == Path::new(src) || by_path.as_ref() == Some(&roots[i])
        }) else {
            bail!(
                "--labels {g:?}: no source {src:?} (sources: {})",
                names.join(", ")
            );
        };
        if out[i].is_some() {
            bail!("--labels: source {} is given labels twice", names[i]);
        }
        out[i] = Some(PathBuf::from(file));
    }
    Ok(out)
}
