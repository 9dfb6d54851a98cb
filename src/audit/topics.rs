//! The verdict's topics, one named step each: what it found, what that means for training
//! and the command that fixes it (`None` where a topic has nothing to say).

use std::collections::{BTreeMap, BTreeSet};

use super::{Facts, Finding, Topic, finding, ok, pct};
use crate::balance::BalanceReport;
use crate::base::flags::{Flag, Status};
use crate::base::severity::Severity;
use crate::index::Record;
use crate::layout::{Role, SkipReason, split_role};
use crate::loader::{Loader, Verdict};

/// No image at all, or none the loader reads: most likely a wrong path or a format the
/// loader skips, which a CI gate must not pass.
pub(super) fn no_images(f: &Facts) -> Option<Finding> {
    if f.scan.records.is_empty() {
        return Some(finding(
            Severity::Problem,
            Topic::NoImages,
            format!("no image files under {}", f.scan.root.display()),
            "there is nothing to train on: ROOT is empty or is not the dataset folder",
            "check the path: ROOT should hold split or class folders of images".into(),
        ));
    }
    let loader = f.loader;
    f.coverage.no_usable(loader).map(|why| {
        finding(
            Severity::Problem,
            Topic::NoUsableImages,
            why,
            "there is nothing to train on: every file is broken or one the loader skips",
            format!("convert the files to a format the {loader} loader reads, or choose --loader"),
        )
    })
}

/// Images without a class: what can and cannot be done, and how to give them one.
pub(super) fn unlabeled(f: &Facts) -> Option<Finding> {
    let note = f.coverage.unlabeled_note()?;
    Some(finding(
        Severity::Warning,
        if f.coverage.classless() {
            Topic::NoClasses
        } else {
            Topic::Unlabeled
        },
        note,
        "leaks and duplicates are checked for every image; class counts, weights and a stratified split use labelled images only",
        format!(
            "{} (unlabeled images: --keep-unlabeled; no classes at all: a plain group-aware split)",
            f.split_cmd
        ),
    ))
}

/// Leakage across splits, phrased for the held-out splits against train.
pub(super) fn leakage(f: &Facts) -> Option<Finding> {
    let s = &f.leaks.summary;
    if s.splits.len() < 2 {
        return None;
    }
    if !f.kinds.leak {
        return Some(finding(
            Severity::Ok,
            Topic::Leakage,
            "no image has a duplicate in another split".into(),
            "validation measures unseen images",
            String::new(),
        ));
    }
    let train = s
        .splits
        .iter()
        .find(|sp| split_role(&sp.split) == Role::Train)
        .map(|sp| sp.split.as_str());
    let lines: Vec<String> = s
        .splits
        .iter()
        .filter(|sp| Some(sp.split.as_str()) != train)
        .map(|sp| {
            let (n, other) = match train {
                Some(t) => (sp.leaked_into.get(t).copied().unwrap_or(0), t),
                None => (sp.leaked, "another split"),
            };
            format!(
                "{n} of {} {} images ({}) have a duplicate in {other}",
                sp.images,
                sp.split,
                pct(n, sp.images)
            )
        })
        .collect();
    Some(finding(
        Severity::Problem,
        Topic::Leakage,
        lines.join("; "),
        "the model is validated partly on copies of training images: validation accuracy starts high and \
         stalls, and it overstates how well the model generalises",
        f.split_cmd.clone(),
    ))
}

pub(super) fn label_conflicts(f: &Facts) -> Finding {
    if !f.kinds.conflict {
        return ok(Topic::LabelConflicts, "no image is under two classes");
    }
    let images: usize = f
        .leaks
        .groups
        .iter()
        .filter(|g| g.label_conflict())
        .map(|g| g.members.len())
        .sum();
    finding(
        Severity::Problem,
        Topic::LabelConflicts,
        format!(
            "{} group(s) of copies ({images} files) sit under more than one class",
            f.leaks.summary.label_conflict_groups
        ),
        "the model is taught two answers for the same picture, which caps accuracy and confuses those classes",
        format!(
            "fix the labels, or {} --conflicts drop (or majority)",
            f.split_cmd
        ),
    )
}

/// Duplicates within one split.
pub(super) fn duplicates(f: &Facts) -> Finding {
    if !f.kinds.duplicate {
        return ok(Topic::Duplicates, "no duplicates within a split");
    }
    let s = &f.leaks.summary;
    finding(
        Severity::Warning,
        Topic::Duplicates,
        format!(
            "{} groups of duplicates within one split ({} redundant copies)",
            s.within_split_groups, s.redundant_within_split
        ),
        "repeated photos are over-weighted in training and inflate counts",
        format!("{} (keeps one copy of each)", f.split_cmd),
    )
}

/// Files that do not decode, that the loader skips or cannot decode, or whose extension lies
/// about the content.
pub(super) fn problem_files(f: &Facts) -> Finding {
    let records = &f.scan.records;
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records.iter().filter(|r| r.status != Status::Ok) {
        *by_status.entry(r.status.as_str()).or_default() += 1;
    }
    let loader = f.loader;
    let (mut ignored, mut fails) = (0usize, 0usize);
    for r in records.iter().filter(|r| r.is_ok()) {
        match loader.verdict(r) {
            Verdict::Loads => {}
            Verdict::Ignored => ignored += 1,
            Verdict::Fails(_) => fails += 1,
        }
    }
    let ext_mismatch = records
        .iter()
        .filter(|r| r.flags.contains(Flag::ExtMismatch))
        .count();
    let mut parts: Vec<String> = by_status.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let panics: Vec<&Record> = records
        .iter()
        .filter(|r| crate::scan::guard::is_decoder_panic(&r.message))
        .collect();
    if let Some(first) = panics.first() {
        parts.push(format!(
            "{} a decoding library panicked on (counted as corrupt; a bug to report), e.g. {}",
            panics.len(),
            first.path.display()
        ));
    }
    if ignored > 0 {
        parts.push(format!(
            "{ignored} the {loader} loader does not list (extension)"
        ));
    }
    if fails > 0 {
        parts.push(format!(
            "{fails} the {loader} loader lists but cannot decode"
        ));
    }
    if ext_mismatch > 0 {
        parts.push(format!(
            "{ext_mismatch} with an extension that does not match the content"
        ));
    }
    if parts.is_empty() {
        return ok(
            Topic::ProblemFiles,
            &format!("every file decodes and the {loader} loader reads it"),
        );
    }
    finding(
        if f.kinds.problem {
            Severity::Problem
        } else {
            Severity::Warning
        },
        Topic::ProblemFiles,
        parts.join(", "),
        "broken files crash or silently shrink a training run; skipped formats make folder counts lie",
        format!(
            "re-encode or remove them ({}); {} leaves broken files out",
            f.listed(),
            f.split_cmd
        ),
    )
}

/// Unusual modes and near-empty images among the usable ones (modes only when a minority).
pub(super) fn odd_images(f: &Facts) -> Option<Finding> {
    let ok: Vec<&Record> = f.scan.records.iter().filter(|r| r.is_ok()).collect();
    let mut odd: Vec<String> = Vec::new();
    for (flag, what, minority_only) in [
        (Flag::Gray, "grayscale", true),
        (Flag::Alpha, "with alpha", true),
        (Flag::Cmyk, "CMYK", false),
        (Flag::HighBitDepth, "16-bit", true),
        (Flag::Tiny, "under 32 px", false),
        (Flag::NearConstant, "near-constant (blank)", false),
        (Flag::Animated, "animated", false),
        (
            Flag::ControlChar,
            "with a control character in the name",
            false,
        ),
        (Flag::LeadingDash, "with a name starting with '-'", false),
        (Flag::WindowsName, "with a name Windows cannot hold", false),
    ] {
        let with: Vec<&&Record> = ok.iter().filter(|r| r.flags.contains(flag)).collect();
        let n = with.len();
        if n > 0 && (!minority_only || 2 * n < ok.len()) {
            let examples: Vec<String> = with
                .iter()
                .take(3)
                .map(|r| r.path.display().to_string())
                .collect();
            let more = if n > 3 { ", ..." } else { "" };
            odd.push(format!("{n} {what} ({}{more})", examples.join(", ")));
        }
    }
    (!odd.is_empty()).then(|| {
        finding(
            Severity::Warning,
            Topic::OddImages,
            odd.join(", "),
            "unusual modes are converted silently by loaders; tiny and blank images carry little signal",
            format!("review them ({}); convert or remove as needed", f.listed()),
        )
    })
}

/// Files the layout could not place in a class folder. A loose file counts when the loader
/// would list it (an image outside the class folders); a README or the manifest and reports
/// `split` writes beside its splits are no training data, so no finding.
pub(super) fn layout(f: &Facts) -> Option<Finding> {
    let lost = f
        .scan
        .layout
        .skipped
        .iter()
        .filter(|k| match k.reason {
            SkipReason::LooseFile => f.loader.lists(&k.rel),
            SkipReason::WalkError | SkipReason::NotASplit => true,
            _ => false,
        })
        .count();
    (lost > 0).then(|| {
        finding(
            Severity::Warning,
            Topic::Layout,
            format!("{lost} files or folders sit outside the class folders (loose or unreadable)"),
            "loaders ignore them, so they are not part of training or validation",
            format!(
                "audit.json, report.html and `cleansplit scan {}{} --format json` list them by path and reason",
                f.scan.root_arg(),
                f.scan.repeat_options()
            ),
        )
    })
}

/// Class imbalance in the split the weights are for.
pub(super) fn imbalance(f: &Facts, b: &BalanceReport) -> Option<Finding> {
    let t = b.splits.iter().find(|sp| sp.split == b.weights.split)?;
    let ratio = t.imbalance_ratio.unwrap_or(1.0);
    let small = &t.below_min_count;
    if ratio < 3.0 && small.is_empty() {
        return Some(finding(
            Severity::Ok,
            Topic::Imbalance,
            format!("largest/smallest class = {ratio:.2}"),
            "",
            String::new(),
        ));
    }
    let name = if t.split.is_empty() {
        "the dataset"
    } else {
        &t.split
    };
    let mut h = format!("largest/smallest class in {name} = {ratio:.1}");
    if !small.is_empty() {
        h.push_str(&format!(
            "; under {} images: {}",
            b.min_count,
            small.join(", ")
        ));
    }
    Some(finding(
        Severity::Warning,
        Topic::Imbalance,
        h,
        "accuracy is dominated by the large classes; small classes are learned poorly",
        format!(
            "{} writes OUT/class_weights.json, the weights of its new training split: pass them to Keras' class_weight= / PyTorch's weight= (weights of this ROOT's train split would count its duplicates)",
            f.split_cmd
        ),
    ))
}

/// Splits whose class mix differs from train's (chi-square p < 0.01) or lacks classes.
pub(super) fn drift(f: &Facts, b: &BalanceReport) -> Option<Finding> {
    let drifted: Vec<String> = b
        .splits
        .iter()
        .filter_map(|sp| sp.drift.as_ref().map(|d| (sp, d)))
        .filter(|(sp, d)| d.p_value < 0.01 || !sp.missing.is_empty())
        .map(|(sp, d)| {
            let mut t = format!(
                "{}: class shares differ from {} by up to {:.1} points ({}; chi-square p = {:.3})",
                sp.split,
                d.against,
                100.0 * d.max_share_diff,
                d.class,
                d.p_value
            );
            if !sp.missing.is_empty() {
                t.push_str(&format!("; missing classes: {}", sp.missing.join(", ")));
            }
            t
        })
        .collect();
    (!drifted.is_empty()).then(|| {
        finding(
            Severity::Warning,
            Topic::Drift,
            drifted.join("; "),
            "a validation split with another class mix measures a different problem than training",
            format!("{} (stratified by class)", f.split_cmd),
        )
    })
}

/// Splits whose class folders are not the training split's. Keras' directory loader and
/// torchvision's `ImageFolder`, given one split folder, number its class folders on their
/// own (sorted names), so a split loaded apart with another set of folders gives a class
/// another number than training does: its labels are wrong for the model.
pub(super) fn class_folders(f: &Facts, b: &BalanceReport) -> Option<Finding> {
    let dirs = &f.scan.layout.class_dirs;
    let train_name = &b.weights.split;
    let train = dirs.get(train_name)?;
    let mut renumbered = false;
    let differing: Vec<String> = dirs
        .iter()
        .filter(|&(split, classes)| split != train_name && classes != train)
        .map(|(split, classes)| {
            let list =
                |v: Vec<&String>| v.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
            let mut parts = Vec::new();
            let lacking: Vec<&String> = train.difference(classes).collect();
            if !lacking.is_empty() {
                parts.push(format!("no folder for {}", list(lacking)));
            }
            let extra: Vec<&String> = classes.difference(train).collect();
            if !extra.is_empty() {
                parts.push(format!("folders {train_name} lacks: {}", list(extra)));
            }
            if let Some((c, here, there)) = first_renumbered(train, classes) {
                renumbered = true;
                parts.push(format!(
                    "`{c}` is class {here} there and {there} in {train_name}"
                ));
            }
            format!("{split}: {}", parts.join("; "))
        })
        .collect();
    if differing.is_empty() {
        return None;
    }
    let (severity, meaning) = if renumbered {
        (
            Severity::Problem,
            "a split loaded on its own (image_dataset_from_directory or ImageFolder per split folder) numbers its classes differently from training, so its labels are wrong for the model and its accuracy means nothing",
        )
    } else {
        (
            Severity::Warning,
            "a class without a folder in a split is never evaluated there (or, only there, never trained)",
        )
    };
    let train_list = train.iter().cloned().collect::<Vec<_>>().join("\", \"");
    Some(finding(
        severity,
        Topic::ClassFolders,
        format!(
            "class folders differ from {train_name}'s: {}",
            differing.join("; ")
        ),
        meaning,
        format!(
            "give every split {train_name}'s class folders and no others, or load each split with Keras 3's class_names=[\"{train_list}\"] (it keeps {train_name}'s numbers and leaves other folders out; each name must be a folder of the split)"
        ),
    ))
}

/// The first class both folder lists hold whose number (sorted position) differs, with its
/// number in `other` and in `train`.
fn first_renumbered(
    train: &std::collections::BTreeSet<String>,
    other: &std::collections::BTreeSet<String>,
) -> Option<(String, usize, usize)> {
    let number = |set: &std::collections::BTreeSet<String>, c: &String| {
        set.iter().position(|x| x == c).unwrap_or(usize::MAX)
    };
    other
        .iter()
        .filter(|c| train.contains(*c))
        .map(|c| (c.clone(), number(other, c), number(train, c)))
        .find(|(_, here, there)| here != there)
}

/// Class folders with no file the loader lists, under `--loader torch`: torchvision's
/// `ImageFolder` refuses to build a dataset that has one ("Found no valid file for the classes
/// ..."), so training or evaluation stops before the first batch. Keras gives such a folder a
/// class number and no images instead (`balance` reports its weight 0), which is no error.
pub(super) fn empty_class_folders(f: &Facts) -> Option<Finding> {
    if f.loader != Loader::Torch {
        return None;
    }
    // Records are in path order, so split and class come in runs: one check per run.
    let listed: BTreeSet<(&str, &str)> = f
        .scan
        .records
        .chunk_by(|a, b| a.split == b.split && a.class == b.class)
        .filter(|run| run.iter().any(|r| f.loader.lists(&r.path)))
        .map(|run| (run[0].split.as_str(), run[0].class.as_str()))
        .collect();
    let empty: Vec<String> = f
        .scan
        .layout
        .class_dirs
        .iter()
        .flat_map(|(split, classes)| {
            classes
                .iter()
                .filter(|c| !listed.contains(&(split.as_str(), c.as_str())))
                .map(move |c| match split.is_empty() {
                    true => c.clone(),
                    false => format!("{split}/{c}"),
                })
        })
        .collect();
    (!empty.is_empty()).then(|| {
        finding(
            Severity::Problem,
            Topic::EmptyClassFolders,
            format!(
                "{} class folder{} with no file torchvision's ImageFolder lists: {}",
                empty.len(),
                if empty.len() == 1 { "" } else { "s" },
                empty.join(", ")
            ),
            Loader::Torch.empty_class_note(),
            "add images the loader lists to each, or remove the folders".into(),
        )
    })
}

/// ROOT that looks like one split folder of a dataset (named like a split, with sibling
/// folders named like splits): the other splits were never looked at, so leaks into them
/// cannot show.
pub(super) fn split_folder_root(f: &Facts) -> Option<Finding> {
    let (name, siblings) = split_siblings(&f.scan.root)?;
    let parent = f.scan.root.parent()?;
    Some(finding(
        Severity::Warning,
        Topic::SplitFolder,
        format!(
            "ROOT is the {name} split of {} (beside it: {})",
            parent.display(),
            siblings.join(", ")
        ),
        "leaks and duplicates across splits are only found when every split is scanned together",
        format!(
            "cleansplit audit {}{}",
            crate::scan::shell_word(&parent.display().to_string()),
            f.scan.repeat_options()
        ),
    ))
}

/// ROOT's name and its sibling folders' names when both are split names (`train` beside
/// `val`, ...); `None` otherwise.
pub fn split_siblings(root: &std::path::Path) -> Option<(String, Vec<String>)> {
    let name = root.file_name()?.to_str()?.to_string();
    if split_role(&name) == Role::Other {
        return None;
    }
    let mut siblings: Vec<String> = std::fs::read_dir(root.parent()?)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| *n != name && split_role(n) != Role::Other)
        .collect();
    siblings.sort();
    (!siblings.is_empty()).then_some((name, siblings))
}
