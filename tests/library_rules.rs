//! The library enforces what the CLI promises: a caller of the library gets the same
//! refusals as the command line (compare tests/cli_validation.rs), without clap.

use std::fs;

use cleansplit::balance::BalanceOptions;
use cleansplit::base::paths::plain_component;
use cleansplit::layout::{self, LayoutOptions};
use cleansplit::leaks::{LeakOptions, MAX_DISTANCE_LIMIT};
use cleansplit::scan::{self, ScanOptions};
use cleansplit::split::{self, Conflicts, Dedup, Sizes, SplitOptions};

fn split_opts(names: &[&str], sizes: Sizes) -> SplitOptions {
    SplitOptions {
        names: names.iter().map(|s| s.to_string()).collect(),
        sizes,
        seed: 42,
        group_by: None,
        dedup: Dedup::KeepOne,
        conflicts: Conflicts::Drop,
        loader: Default::default(),
        keep_unlabeled: false,
    }
}

#[test]
fn split_options_refused_like_the_cli() {
    let ok = split_opts(&["train", "val"], Sizes::Ratio(vec![0.8, 0.2]));
    assert!(ok.validate().is_ok());
    let dup = split_opts(&["train", "train"], Sizes::Ratio(vec![0.5, 0.5]));
    assert!(dup.validate().unwrap_err().to_string().contains("twice"));
    let zero = split_opts(&["train", "val"], Sizes::Count(0));
    assert!(zero.validate().is_err());
    let escape = split_opts(&["train", "../x"], Sizes::Ratio(vec![0.5, 0.5]));
    assert!(escape.validate().is_err());
    let sum = split_opts(&["a", "b"], Sizes::Ratio(vec![0.5, 0.6]));
    assert!(sum.validate().is_err());
}

#[test]
fn balance_and_leak_options_refused_like_the_cli() {
    for beta in [0.0, 1.0, 1.5, f64::NAN] {
        let o = BalanceOptions {
            beta,
            ..Default::default()
        };
        assert!(o.validate().is_err(), "{beta}");
    }
    let o = BalanceOptions {
        class_order: Some(vec!["a".into(), "b".into(), "a".into()]),
        ..Default::default()
    };
    assert!(o.validate().is_err());
    assert!(BalanceOptions::default().validate().is_ok());
    let l = LeakOptions {
        max_distance: Some(MAX_DISTANCE_LIMIT + 1),
        ..Default::default()
    };
    assert!(l.validate().is_err());
    assert!(LeakOptions::default().validate().is_ok());
}

#[test]
fn scan_refuses_bad_options_and_outputs_inside_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir_all(root.join("cats")).unwrap();
    let bad = ScanOptions {
        max_pixels: 0,
        index: Some(tmp.path().join("i.csv")),
        ..Default::default()
    };
    assert!(scan::run(&root, &bad).is_err());
    let jobs = ScanOptions {
        jobs: Some(0),
        ..Default::default()
    };
    assert!(jobs.validate().is_err());
    assert!(cleansplit::output::check_output(&root, &root.join("cats/out"), "--out").is_err());
    assert!(cleansplit::output::check_output(&root, &tmp.path().join("out"), "--out").is_ok());
    let canon = fs::canonicalize(&root).unwrap();
    assert!(split::check_out(&canon, &root.join("out")).is_err());
    assert!(!tmp.path().join("i.csv").exists());
}

#[test]
fn labels_must_be_plain_components_in_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("flat");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("a.png"), b"x").unwrap();
    let labels = tmp.path().join("labels.csv");
    fs::write(&labels, "a,../../escaped\n").unwrap();
    let opts = LayoutOptions {
        splits: None,
        labels: Some(labels),
    };
    let err = layout::discover(&root, &opts).unwrap_err();
    assert!(format!("{err:#}").contains("a label becomes a folder name"));
    assert!(plain_component("cat").is_ok());
    let dests = vec![Some("train/../../x.png".into())];
    assert!(split::check_destinations(&dests).is_err());
    let dests = vec![Some("train/cat/x.png".into()), None];
    assert!(split::check_destinations(&dests).is_ok());
}

#[test]
fn balance_class_indices_match_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let img = |p: std::path::PathBuf, seed: u8| {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        image::RgbImage::from_fn(32, 24, |x, y| {
            image::Rgb([(x as u8).wrapping_mul(seed), (y as u8) ^ seed, seed])
        })
        .save(p)
        .unwrap();
    };
    for (i, class) in ["apple", "cherry"].iter().enumerate() {
        for k in 0..3u8 {
            img(
                root.join("train").join(class).join(format!("{k}.png")),
                10 + 20 * i as u8 + k,
            );
        }
        img(root.join("val").join(class).join("v.png"), 90 + i as u8);
    }
    // An empty class folder: Keras still gives it an index (1), so cherry is 2.
    fs::create_dir_all(root.join("train/banana")).unwrap();
    let index = tmp.path().join("i.csv");
    let scan = scan::run(
        &root,
        &ScanOptions {
            index: Some(index.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let lib = cleansplit::balance::analyze_scan(&scan, None, &BalanceOptions::default()).unwrap();
    let lib_json = serde_json::to_value(&lib.weights).unwrap();
    let out = tmp.path().join("w.json");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_cleansplit"))
        .arg("balance")
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .arg("--index")
        .arg(&index)
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(
        cli.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli_json: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    assert_eq!(lib_json, cli_json);
    let cw = &lib_json["class_weight"];
    assert!(
        cw.get("2").is_some(),
        "the empty folder keeps its index: {lib_json}"
    );
}

#[test]
fn entry_points_refuse_before_they_scan_or_write() {
    use cleansplit::base::notify::Notice;
    use cleansplit::leaks::LeaksJob;
    use cleansplit::split::{Mode, SplitJob};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir_all(root.join("cats")).unwrap();
    let index = tmp.path().join("i.csv");
    let scan = ScanOptions {
        index: Some(index.clone()),
        ..Default::default()
    };
    let mut notices = Vec::new();
    let mut notify = |n: Notice| notices.push(n);
    // --out inside ROOT.
    let leaks = LeaksJob {
        root: root.clone(),
        scan: scan.clone(),
        leak: LeakOptions::default(),
        out: Some(root.join("cats/out")),
    };
    let err = cleansplit::leaks::run(&leaks, &mut notify).unwrap_err();
    assert!(format!("{err:#}").contains("inside ROOT"), "{err:#}");
    // --normalize with --mode manifest, and --kfold 1.
    let job = SplitJob {
        root: root.clone(),
        out: tmp.path().join("out"),
        scan: scan.clone(),
        split: split_opts(&["train", "val"], Sizes::Ratio(vec![0.8, 0.2])),
        leak: LeakOptions::default(),
        mode: Mode::Manifest,
        verify: false,
        kfold: None,
        by_source: false,
        normalize: Some("8x8,png,gray".parse().unwrap()),
        group_by_auto: false,
    };
    let err = split::run(&job, &mut notify).unwrap_err();
    assert!(
        format!("{err:#}").contains("--normalize writes images"),
        "{err:#}"
    );
    let folds = SplitJob {
        mode: Mode::Copy,
        normalize: None,
        kfold: Some(1),
        ..job
    };
    let err = split::run(&folds, &mut notify).unwrap_err();
    assert!(
        format!("{err:#}").contains("--kfold needs at least 2"),
        "{err:#}"
    );
    // Nothing was scanned (no index) or written, and nothing was said.
    assert!(!index.exists() && !tmp.path().join("out").exists());
    assert!(notices.is_empty());
}
