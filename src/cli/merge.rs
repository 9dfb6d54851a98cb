//! `cleansplit merge SRC... OUT`: combine class-folder datasets into one folder, copies kept
//! once, class names matched exactly (near-matches reported), and the source check.

use super::out::{errln, outln};
use cleansplit::split::normalize::{self, Normalize};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use super::enums::{ConflictsArg, LoaderArg, ModeArg};
use super::{OutputFormat, leaks::LeakArgs};
use cleansplit::layout::LayoutOptions;
use cleansplit::merge::{self, MergeOptions, Source, classes};
use cleansplit::scan::{self, DEFAULT_MAX_PIXELS, ScanOptions};
use cleansplit::split::{self, Conflicts, WriteJob};

#[derive(clap::Args, Debug)]
#[command(
    about = "Merge class-folder datasets: copies kept once, class names matched, sources checked",
    after_help = "Examples:\n  \
        cleansplit merge data/kaggle data/scraped merged\n  \
        cleansplit merge a b merged --map names.csv --classes cat,dog --mode hardlink\n  \
        cleansplit merge a b merged --keep-splits --conflicts majority\n  \
        cleansplit merge photos kaggle merged --labels kaggle=kaggle/labels.csv"
)]
pub struct Args {
    /// Source datasets (any layout cleansplit reads), then the output folder (must not exist
    /// or be empty, and not be inside a source).
    #[arg(required = true, num_args = 3.., value_name = "SRC... OUT")]
    pub paths: Vec<PathBuf>,
    /// CSV of `source,old,new` class renames; source is a source's name (its folder name, as
    /// printed) or * for every source.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Labels of a flat source (Kaggle style): SRC=FILE, a CSV of `file name or stem,label`
    /// as `scan --labels`, for the source SRC (its name as printed, or its path as given).
    /// Repeat for several sources.
    #[arg(long, value_name = "SRC=FILE")]
    pub labels: Vec<String>,
    /// Keep only these classes (names after --map).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    pub classes: Option<Vec<String>>,
    /// Keep the sources' splits (train, val, test by role) instead of pooling them.
    #[arg(long)]
    pub keep_splits: bool,
    /// A copy under two classes: drop all, keep the majority, or error.
    #[arg(long, value_enum, default_value_t = ConflictsArg::Drop)]
    pub conflicts: ConflictsArg,
    /// copy, hardlink (falls back to copy), symlink, or manifest (CSV and JSON only).
    #[arg(long, value_enum, default_value_t = ModeArg::Copy)]
    pub mode: ModeArg,
    /// Check every placed file's content hash against its source.
    #[arg(long)]
    pub verify: bool,
    /// Folder for the sources' indexes (default: the user's cache directory).
    #[arg(long, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// First-level folders that are splits, in every source (default: names like train, val).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    pub splits: Option<Vec<String>>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Images with more pixels are not decoded (status too_large).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Re-read every file, ignoring the indexes.
    #[arg(long)]
    pub rehash: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Write re-encoded copies instead of copies or links: every image resized to WxH (aspect
    /// not kept), converted to the mode (rgb, gray) and saved in the format (jpeg at quality
    /// 90, png), e.g. 224x224,jpeg,rgb. Sources that differ in size, format or mode then no
    /// longer differ in metadata a network could learn (see `shortcuts`).
    #[arg(long, value_name = "WxH,FORMAT,MODE")]
    pub normalize: Option<String>,
    /// The training loader whose view decides what is placed: files it does not list or
    /// cannot decode are dropped (docs/GUIDE.md "Loaders").
    #[arg(long, value_enum, default_value_t = LoaderArg::Keras)]
    pub loader: LoaderArg,
    /// Print the summary as text or merge_report.json on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub leak: LeakArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let start = Instant::now();
    // Options are checked before anything is scanned or written.
    let leak = args.leak.options()?;
    let scan_opts = |index: Option<PathBuf>, labels: Option<PathBuf>| ScanOptions {
        layout: LayoutOptions {
            splits: args.splits.clone(),
            labels,
        },
        index,
        jobs: args.jobs,
        max_pixels: args.max_pixels,
        rehash: args.rehash,
        progress: !args.quiet,
        loader: args.loader.into(),
        shard: None,
    };
    scan_opts(None, None).validate()?;
    // Parsed here, not by clap, so a bad value is one line (as `split --normalize`).
    let normalize: Option<Normalize> = match &args.normalize {
        Some(s) => Some(s.parse().map_err(anyhow::Error::msg)?),
        None => None,
    };
    if normalize.is_some() && args.mode == ModeArg::Manifest {
        anyhow::bail!("--normalize writes images; --mode manifest writes none");
    }
    let (out, srcs) = args.paths.split_last().expect("clap requires 3 paths");
    let mut roots = Vec::new();
    for s in srcs {
        roots.push(
            std::fs::canonicalize(s).with_context(|| format!("cannot open SRC {}", s.display()))?,
        );
    }
    for (i, r) in roots.iter().enumerate() {
        if roots[..i].contains(r) {
            anyhow::bail!("{} is given twice as a source", srcs[i].display());
        }
    }
    merge::check_out(&roots, out)?;
    let map = match &args.map {
        Some(p) => classes::read_map(p)?,
        None => Vec::new(),
    };
    let names = merge::source_names(&roots);
    let mut labels = labels_per_source(&args.labels, srcs, &roots, &names)?;
    let mut sources = Vec::new();
    for (i, ((root, name), given)) in roots.iter().zip(&names).zip(srcs).enumerate() {
        let index = match &args.index_dir {
            Some(dir) => {
                let file = cleansplit::index::default_path(root)?;
                Some(dir.join(file.file_name().expect("an index file name")))
            }
            None => None,
        };
        // Absolute in the report, as the roots are (the scan reads it as given).
        let source_labels = labels[i].take();
        let labels_abs = source_labels
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
        let o = scan::run(given, &scan_opts(index, source_labels))?;
        if args.format == OutputFormat::Text {
            outln!(
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
            );
        }
        let unlabeled = o.unlabeled();
        if unlabeled > 0 {
            // On stderr, so `--format json` keeps stdout clean.
            errln!(
                "cleansplit: warning: source {name}: {unlabeled} of {} images have no class and are not placed; give them classes with class folders or --labels {name}=FILE (a CSV of `file name or stem,label` rows)",
                o.records.len()
            );
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
        keep_splits: args.keep_splits,
        map,
        classes: args.classes.clone(),
        conflicts: args.conflicts.into(),
        leak,
        loader: args.loader.into(),
    };
    let prepared = merge::prepare(sources, &opts)?;
    let mut merged = match prepared.place() {
        Ok(m) => m,
        Err(e) => {
            errln!("cleansplit: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(n) = &normalize {
        let records = &prepared.records;
        normalize::rename_destinations(merged.dests.listed(&merged.plan, records), n.extension());
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
    let job = WriteJob {
        // Record paths are absolute, so joining them to a root leaves them as they are; OUT
        // was checked against every source above, the writer checks it again for this one.
        root: &prepared.sources[0].root,
        out,
        mode: args.mode.into(),
        verify: args.verify,
        records: &prepared.records,
        names: &merged.names,
        dests: &merged.dests,
        normalize,
        loader: args.loader.into(),
    };
    for w in split::write(&job, &merged.plan, &extra)? {
        errln!("cleansplit: warning: {w}");
    }
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&merged.report)?),
        OutputFormat::Text => {
            super::colour::print(&summary(&merged.report));
            outln!(
                "wrote {} in {:.2} s",
                out.display(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
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
            anyhow::bail!(
                "--labels {g:?}: expected SRC=FILE (a source's name, then its labels CSV)"
            );
        };
        let by_path = std::fs::canonicalize(src).ok();
        let Some(i) = (0..roots.len()).find(|&i| {
            names[i] == src
                || srcs[i] == std::path::Path::new(src)
                || by_path.as_ref() == Some(&roots[i])
        }) else {
            anyhow::bail!(
                "--labels {g:?}: no source {src:?} (sources: {})",
                names.join(", ")
            );
        };
        if out[i].is_some() {
            anyhow::bail!("--labels: source {} is given labels twice", names[i]);
        }
        out[i] = Some(PathBuf::from(file));
    }
    Ok(out)
}

/// The merge summary: classes, near-matches, copies, conflicts, the source table and its
/// warnings.
fn summary(r: &merge::MergeReport) -> String {
    use std::fmt::Write as _;
    let warn = super::colour::warning_tag();
    let mut out = String::new();
    for s in &r.sources {
        let renamed: Vec<String> = s
            .classes
            .iter()
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{a:?} -> {b:?}"))
            .collect();
        if !renamed.is_empty() {
            let _ = writeln!(out, "renamed in {}: {}", s.name, renamed.join(", "));
        }
    }
    let _ = writeln!(out, "classes in OUT: {}", r.classes.join(", "));
    for w in &r.warnings {
        let _ = writeln!(out, "{warn}: {w}");
    }
    for m in &r.near_matches {
        let _ = writeln!(
            out,
            "{warn}: near-matching class names, kept apart: {} (same class? rename with --map FILE: source,old,new)",
            m.describe()
        );
    }
    let _ = writeln!(
        out,
        "copies across sources: {} group(s), {} file(s) dropped (one copy kept); within sources: {} group(s), {} dropped",
        r.copy_groups_across_sources,
        r.copies_dropped_across_sources,
        r.copy_groups_within_sources,
        r.copies_dropped_within_sources
    );
    if !r.label_conflicts.is_empty() {
        let _ = writeln!(
            out,
            "{warn}: {} label conflict(s) (one image under several classes), handled by --conflicts {}:",
            r.label_conflicts.len(),
            match r.conflicts {
                Conflicts::Drop => "drop",
                Conflicts::Majority => "majority",
                Conflicts::Error => "error",
            }
        );
        for c in r.label_conflicts.iter().take(10) {
            let _ = writeln!(
                out,
                "  group {}: {} ({})",
                c.group,
                c.classes.join(" vs "),
                c.members.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "placed {} of {} files; dropped {}{}",
        r.placed,
        r.files,
        r.dropped,
        if r.dropped_by_reason.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                r.dropped_by_reason
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    let _ = writeln!(out, "\nsource check (images placed, per class and source):");
    out.push_str(&r.source_table.render());
    if r.source_warnings.is_empty() {
        let _ = writeln!(
            out,
            "no class comes mostly from one source; source mixes are similar across classes"
        );
    }
    for w in &r.source_warnings {
        let _ = writeln!(out, "{warn}: {}", w.message);
    }
    if !r.source_warnings.is_empty() {
        let _ = writeln!(
            out,
            "  means: a network can learn the source (camera, background, resolution, JPEG quality) instead of the class"
        );
        let _ = writeln!(
            out,
            "  fix:   add images of these classes from the other sources; split with --stratify class,source"
        );
    }
    out
}
