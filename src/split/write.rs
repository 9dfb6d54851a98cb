//! Writing OUT safely: the OUT and destination checks, placing each file (copy, hard link,
//! symlink, or re-encoded), verifying it, all in a temporary folder renamed into place.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use super::manifest::Destinations;
use super::options::Mode;
use super::plan::Plan;
use crate::index::Record;
use crate::output::fault::{Counted, disk_write};

/// Every destination must be a relative path of plain components (split, class, file; split
/// and file without classes; or class, file where `merge` pools the splits), so no label or
/// name can make a file land outside OUT, or onto a source file.
pub fn check_destination(d: &Path) -> Result<()> {
    let plain = (2..=3).contains(&d.components().count())
        && d.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain {
        bail!(
            "refusing destination {}: split, class and file names must be plain folder names",
            d.display()
        );
    }
    Ok(())
}

/// [`check_destination`] for each of a list.
pub fn check_destinations(dests: &[Option<PathBuf>]) -> Result<()> {
    dests
        .iter()
        .flatten()
        .try_for_each(|d| check_destination(d))
}

/// [`check_destination`] for every planned destination (made one by one, in parallel); the
/// first bad one in record order is reported.
fn check_planned(dests: &Destinations, plan: &Plan, records: &[Record]) -> Result<()> {
    let bad = (0..records.len())
        .into_par_iter()
        .filter_map(|i| dests.get(i, plan, records))
        .find_first(|d| check_destination(d).is_err());
    bad.map_or(Ok(()), |d| check_destination(&d))
}

/// Checks that OUT can be written: it must not exist or be empty, and must not be inside
/// ROOT (the split would then be part of the dataset it came from).
pub fn check_out(root: &Path, out: &Path) -> Result<()> {
    // First, so a `..` after a missing folder is refused for the right reason.
    if crate::output::inside(out, root) {
        bail!(
            "OUT {} is inside ROOT {}: choose a folder outside the dataset",
            out.display(),
            root.display()
        );
    }
    if out.exists() {
        let empty = fs::read_dir(out)
            .with_context(|| format!("OUT {} is not a readable folder", out.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "OUT {} exists and is not empty: refusing to write into it (name a new folder, or remove or rename {} first)",
                out.display(),
                out.display()
            );
        }
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::canonicalize(parent)
        .with_context(|| format!("OUT's folder {} does not exist", parent.display()))?;
    Ok(())
}

/// A warning produced while writing (e.g. hard links falling back to copies).
pub type Warnings = Vec<String>;

/// Places one file: copy, hard link (falling back to copy), or symlink; checks its size.
fn place(
    src: &Path,
    dst: &Path,
    mode: Mode,
    expect_size: u64,
    warned: &mut bool,
    warnings: &mut Warnings,
) -> Result<()> {
    if mode == Mode::Manifest {
        return Ok(());
    }
    if let Some(dir) = dst.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    if mode == Mode::Copy {
        disk_write(expect_size).with_context(|| format!("cannot copy {}", src.display()))?;
    }
    match mode {
        Mode::Copy => {
            fs::copy(src, dst).with_context(|| format!("cannot copy {}", src.display()))?;
        }
        Mode::Hardlink => {
            if let Err(e) = fs::hard_link(src, dst) {
                if !*warned {
                    warnings.push(format!("hard links failed ({e}); copying instead"));
                    *warned = true;
                }
                fs::copy(src, dst).with_context(|| format!("cannot copy {}", src.display()))?;
            }
        }
        Mode::Symlink => {
            #[cfg(unix)]
            std::os::unix::fs::symlink(src, dst)
                .with_context(|| format!("cannot link {}", dst.display()))?;
            #[cfg(not(unix))]
            bail!("--mode symlink needs a Unix system");
        }
        Mode::Manifest => return Ok(()),
    }
    let got = fs::metadata(dst)
        .with_context(|| format!("cannot check {}", dst.display()))?
        .len();
    if got != expect_size {
        bail!(
            "{} has {got} bytes after placing, expected {expect_size}",
            dst.display()
        );
    }
    Ok(())
}

/// Everything `write` needs besides the plan.
pub struct WriteJob<'a> {
    pub root: &'a Path,
    pub out: &'a Path,
    pub mode: Mode,
    pub verify: bool,
    pub records: &'a [Record],
    pub names: &'a [String],
    pub dests: &'a Destinations,
    /// Re-encode instead of placing (`--normalize`); `mode` is then ignored.
    pub normalize: Option<crate::split::normalize::Normalize>,
    /// The loader OUT is for: under Keras every split gets every class folder (see
    /// `class_folders`).
    pub loader: crate::loader::Loader,
}

/// An extra file of OUT written by a function through a buffer (`manifest.csv` has a row per
/// source: held in memory it cost ~100 bytes per image at a million).
pub type Streamed<'a> = (&'a str, &'a dyn Fn(&mut dyn Write) -> Result<()>);

/// Writes OUT: places the files and the given extra files (name, bytes) in a temporary folder
/// beside OUT, then renames it into place. Nothing under ROOT is opened for writing.
pub fn write(job: &WriteJob, plan: &Plan, extra: &[(&str, Vec<u8>)]) -> Result<Warnings> {
    write_streamed(job, plan, extra, &[])
}

/// [`write()`], with extra files also written by functions ([`Streamed`]).
pub fn write_streamed(
    job: &WriteJob,
    plan: &Plan,
    extra: &[(&str, Vec<u8>)],
    streamed: &[Streamed],
) -> Result<Warnings> {
    check_out(job.root, job.out)?;
    check_planned(job.dests, plan, job.records)?;
    let parent = job
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = job
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let mut warnings: Warnings = crate::output::interrupt::remove_stale(parent, &name)
        .into_iter()
        .map(|p| format!("removed {}, left by an interrupted run", p.display()))
        .collect();
    let mut tmp = crate::output::interrupt::WorkDir::create(parent, &name)?;
    let mut warned = false;
    // Test hooks (`output::fault`; `None` in a build without them).
    let abort_after = crate::output::fault::abort_after_files();
    let pause_after = crate::output::fault::pause_after_files();
    let mut placed = 0usize;
    // The manifest mode places no file: no source and destination paths to build per image.
    let places_files = job.normalize.is_some() || job.mode != Mode::Manifest;
    // The class folders each split got, and every class placed (see `class_folders`).
    let mut folders: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    let mut classes: BTreeSet<&str> = BTreeSet::new();
    for (i, r) in job.records.iter().enumerate() {
        let Some(s) = plan.placements[i].split() else {
            continue;
        };
        if places_files && s < job.names.len() && !r.class.is_empty() {
            folders.entry(s).or_default().insert(r.class.as_str());
            classes.insert(r.class.as_str());
        }
        if places_files {
            let Some(dest) = job.dests.get(i, plan, job.records) else {
                continue;
            };
            let (src, dst) = (job.root.join(&r.path), tmp.path().join(&dest));
            if let Some(n) = &job.normalize {
                n.write(&src, &dst)?;
            } else {
                place(&src, &dst, job.mode, r.size, &mut warned, &mut warnings)?;
            }
            // A re-encoded copy differs from its source by design: nothing to compare.
            if job.verify && job.normalize.is_none() {
                let bytes =
                    fs::read(&dst).with_context(|| format!("cannot verify {}", dst.display()))?;
                if Some(crate::index::digest_of(&bytes)) != r.blake3() {
                    bail!(
                        "{} differs from its source {} after placing",
                        dest.display(),
                        r.path.display()
                    );
                }
            }
        }
        placed += 1;
        if abort_after.is_some_and(|n| placed >= n) {
            std::process::abort();
        }
        if pause_after.is_some_and(|n| placed == n) {
            crate::output::interrupt::pause_for_test();
        }
        tmp.check()?;
    }
    warnings.extend(class_folders(
        tmp.path(),
        job.names,
        &folders,
        &classes,
        job.loader,
    )?);
    for (file, bytes) in extra {
        let f = fs::File::create(tmp.path().join(file))
            .with_context(|| format!("cannot write {file}"))?;
        let mut w = Counted(f);
        w.write_all(bytes)
            .with_context(|| format!("cannot write {file}"))?;
    }
    for (file, write_to) in streamed {
        let f = fs::File::create(tmp.path().join(file))
            .with_context(|| format!("cannot write {file}"))?;
        let mut w = BufWriter::new(Counted(f));
        write_to(&mut w)
            .and_then(|()| Ok(w.flush()?))
            .with_context(|| format!("cannot write {file}"))?;
    }
    if job.out.exists() {
        // Checked empty before planning.
        fs::remove_dir(job.out)
            .with_context(|| format!("cannot replace empty {}", job.out.display()))?;
    }
    tmp.finish(job.out)?;
    Ok(warnings)
}

/// Gives every split of OUT every class folder a loader numbers alike. Keras and torchvision,
/// given one split folder, number its class folders on their own (sorted names), so a split
/// that got no image of a small class numbers the others differently from training. Keras
/// indexes an empty folder, so under Keras the missing folders are made, empty; torchvision's
/// `ImageFolder` refuses an empty one, so under `torch` it is a warning instead.
fn class_folders(
    out: &Path,
    names: &[String],
    folders: &BTreeMap<usize, BTreeSet<&str>>,
    classes: &BTreeSet<&str>,
    loader: crate::loader::Loader,
) -> Result<Warnings> {
    let mut warnings = Warnings::new();
    for (&s, has) in folders {
        let missing: Vec<&str> = classes.difference(has).copied().collect();
        if missing.is_empty() {
            continue;
        }
        let split = &names[s];
        match loader {
            crate::loader::Loader::Torch => warnings.push(format!(
                "{split} has no image of {}: torchvision's ImageFolder on {split} alone numbers its classes differently from the other splits (map them by name, or use larger classes)",
                missing.join(", ")
            )),
            crate::loader::Loader::Keras | crate::loader::Loader::KerasLegacy => {
                for class in missing {
                    let dir = out.join(split).join(class);
                    fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
            }
        }
    }
    Ok(warnings)
}
