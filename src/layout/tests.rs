use super::*;

fn touch(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];

fn rels(l: &Layout) -> Vec<String> {
    l.files
        .iter()
        .map(|c| c.rel.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn split_class_layout_with_odd_entries() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    touch(r, "Train/cats/a.jpg", b"x");
    touch(r, "Train/cats/deeper/b.png", b"x");
    touch(r, "Train/dogs/c.jpg", b"x");
    touch(r, "Train/loose.jpg", b"x");
    touch(r, "val/cats/d.jpg", b"x");
    touch(r, "val/cats/.hidden.jpg", b"x");
    touch(r, "val/cats/.DS_Store", b"x");
    touch(r, "val/cats/notes.txt", b"hello");
    touch(r, "val/cats/noext", JPEG_MAGIC);
    touch(r, "val/__MACOSX/cats/._d.jpg", b"x");
    touch(r, "README.md", b"x");
    touch(r, "extra/cats/e.jpg", b"x");
    let l = discover(r, &LayoutOptions::default()).unwrap();
    assert_eq!(l.kind, LayoutKind::SplitClass);
    assert_eq!(l.splits, vec!["Train", "val"]);
    assert_eq!(
        rels(&l),
        vec![
            "Train/cats/a.jpg",
            "Train/cats/deeper/b.png",
            "Train/dogs/c.jpg",
            "val/cats/d.jpg",
            "val/cats/noext"
        ]
    );
    assert_eq!(l.files.to_candidates()[1].class, "cats");
    assert_eq!(l.files.to_candidates()[3].split, "val");
    let c = l.skip_counts();
    assert_eq!(c[&SkipReason::LooseFile], 2); // Train/loose.jpg, README.md
    assert_eq!(c[&SkipReason::Hidden], 1);
    assert_eq!(c[&SkipReason::OsJunk], 2); // .DS_Store, __MACOSX
    assert_eq!(c[&SkipReason::NotImage], 1);
    assert_eq!(c[&SkipReason::NotASplit], 1);
}

#[test]
fn class_folders_include_empty_ones() {
    let d = tempfile::tempdir().unwrap();
    touch(d.path(), "train/a/1.jpg", b"x");
    touch(d.path(), "train/c/notes.txt", b"x");
    fs::create_dir_all(d.path().join("train/b")).unwrap();
    fs::create_dir_all(d.path().join("train/.cache")).unwrap();
    touch(d.path(), "val/a/1.jpg", b"x");
    let l = discover(d.path(), &LayoutOptions::default()).unwrap();
    let train: Vec<&str> = l.class_dirs["train"].iter().map(String::as_str).collect();
    assert_eq!(train, vec!["a", "b", "c"]);
    assert_eq!(l.class_dirs["val"].len(), 1);
}

#[test]
fn class_layout_without_splits() {
    let d = tempfile::tempdir().unwrap();
    touch(d.path(), "ants/a.jpg", b"x");
    touch(d.path(), "bees/b.jpg", b"x");
    touch(d.path(), "stray.jpg", b"x");
    let l = discover(d.path(), &LayoutOptions::default()).unwrap();
    assert_eq!(l.kind, LayoutKind::Class);
    assert!(l.splits.is_empty());
    assert_eq!(
        l.classes().into_iter().collect::<Vec<_>>(),
        vec!["ants", "bees"]
    );
    assert_eq!(l.skip_counts()[&SkipReason::LooseFile], 1);
}

#[test]
fn explicit_splits_option() {
    let d = tempfile::tempdir().unwrap();
    touch(d.path(), "fold_a/x/1.jpg", b"x");
    touch(d.path(), "fold_b/y/2.jpg", b"x");
    let opts = LayoutOptions {
        splits: Some(vec!["fold_a".into(), "fold_b".into()]),
        labels: None,
    };
    let l = discover(d.path(), &opts).unwrap();
    assert_eq!(l.kind, LayoutKind::SplitClass);
    assert_eq!(l.files.to_candidates()[0].split, "fold_a");
    assert_eq!(l.files.to_candidates()[0].class, "x");
    let bad = LayoutOptions {
        splits: Some(vec!["nope".into()]),
        labels: None,
    };
    assert!(discover(d.path(), &bad).is_err());
}

#[test]
fn labels_csv_layouts() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().join("data");
    touch(&r, "train/1.jpg", b"x");
    touch(&r, "train/2.jpg", b"x");
    touch(&r, "train/3.jpg", b"x");
    touch(&r, "test/4.jpg", b"x");
    let labels = d.path().join("labels.csv");
    fs::write(&labels, "id,label\n1,cat\n2.jpg,dog\n4,dog\n").unwrap();
    let opts = LayoutOptions {
        splits: None,
        labels: Some(labels.clone()),
    };
    let l = discover(&r, &opts).unwrap();
    assert_eq!(l.kind, LayoutKind::SplitLabels);
    let got: Vec<(String, String)> = l
        .files
        .iter()
        .map(|c| (c.rel.to_string_lossy().into_owned(), c.class.to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("test/4.jpg".into(), "dog".into()),
            ("train/1.jpg".into(), "cat".into()),
            ("train/2.jpg".into(), "dog".into()),
            ("train/3.jpg".into(), "".into()),
        ]
    );
    // The file without a row is an image without a class, not a skip.
    assert!(l.skipped.is_empty());
    assert_eq!(l.unlabeled(), 1);
    assert_eq!(l.classes().len(), 2);

    let flat = d.path().join("flat");
    touch(&flat, "1.jpg", b"x");
    let l = discover(&flat, &opts).unwrap();
    assert_eq!(l.kind, LayoutKind::Labels);
    assert_eq!(l.files.to_candidates()[0].class, "cat");
}

#[test]
fn split_folders_without_class_folders_are_a_layout() {
    let d = tempfile::tempdir().unwrap();
    touch(d.path(), "train/1.jpg", b"x");
    touch(d.path(), "train/2.jpg", b"x");
    touch(d.path(), "test/3.jpg", b"x");
    touch(d.path(), "test/.DS_Store", b"x");
    touch(d.path(), "notes.txt", b"x");
    let l = discover(d.path(), &LayoutOptions::default()).unwrap();
    assert_eq!(l.kind, LayoutKind::SplitFlat);
    assert!(!l.kind.has_classes());
    assert_eq!(rels(&l), vec!["test/3.jpg", "train/1.jpg", "train/2.jpg"]);
    assert!(l.files.iter().all(|c| c.class.is_empty()));
    assert_eq!(l.files.to_candidates()[0].split, "test");
    assert!(l.classes().is_empty());
    assert_eq!(l.unlabeled(), 3);
    assert!(l.class_dirs.is_empty());
    assert_eq!(l.skip_counts()[&SkipReason::LooseFile], 1); // notes.txt beside the splits
}

#[test]
fn root_of_loose_images_is_a_layout() {
    let d = tempfile::tempdir().unwrap();
    touch(d.path(), "a.jpg", b"x");
    touch(d.path(), "b.png", b"x");
    let l = discover(d.path(), &LayoutOptions::default()).unwrap();
    assert_eq!(l.kind, LayoutKind::Flat);
    assert_eq!(rels(&l), vec!["a.jpg", "b.png"]);
    assert!(
        l.files
            .iter()
            .all(|c| c.class.is_empty() && c.split.is_empty())
    );
    assert!(l.skipped.is_empty());
}

#[test]
fn class_folders_in_train_and_a_flat_test_folder() {
    // Kaggle's other shape: labelled class folders for train, a flat unlabeled test set.
    let d = tempfile::tempdir().unwrap();
    touch(d.path(), "train/cat/1.jpg", b"x");
    touch(d.path(), "train/dog/2.jpg", b"x");
    touch(d.path(), "test/3.jpg", b"x");
    let l = discover(d.path(), &LayoutOptions::default()).unwrap();
    assert_eq!(l.kind, LayoutKind::SplitClass);
    let got: Vec<(&str, &str)> = l
        .files
        .iter()
        .map(|c| (c.split.as_str(), c.class.as_str()))
        .collect();
    assert_eq!(got, vec![("test", ""), ("train", "cat"), ("train", "dog")]);
    assert!(l.skipped.is_empty());
    assert_eq!(l.class_dirs.keys().collect::<Vec<_>>(), vec!["train"]);
}

#[test]
fn directory_named_like_an_image_is_walked_into() {
    let d = tempfile::tempdir().unwrap();
    touch(d.path(), "cats/x.jpg/inside.jpg", b"x");
    let l = discover(d.path(), &LayoutOptions::default()).unwrap();
    assert_eq!(rels(&l), vec!["cats/x.jpg/inside.jpg"]);
    assert!(l.skipped.is_empty());
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_counted_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    touch(d.path(), "cats/a.jpg", b"x");
    std::os::unix::fs::symlink(d.path().join("cats"), d.path().join("cats/loop")).unwrap();
    let l = discover(d.path(), &LayoutOptions::default()).unwrap();
    assert_eq!(rels(&l), vec!["cats/a.jpg"]);
    assert_eq!(l.skip_counts()[&SkipReason::WalkError], 1);
}

#[test]
fn missing_root_is_an_error() {
    assert!(discover(Path::new("/no/such/root"), &LayoutOptions::default()).is_err());
}

#[test]
fn split_roles() {
    assert_eq!(split_role("training_set"), Role::Train);
    assert_eq!(split_role("VALID"), Role::Val);
    assert_eq!(split_role("test_set"), Role::Test);
    assert_eq!(split_role("fold1"), Role::Other);
}

#[test]
fn a_tree_thousands_of_folders_deep_is_walked() {
    // The walk goes level by level, not by recursion: no stack overflow, no descriptor per
    // level held open (walkdir walked this too).
    let d = tempfile::tempdir().unwrap();
    let deep = "d/".repeat(1900);
    touch(d.path(), &format!("train/c/{deep}x.jpg"), b"x");
    #[cfg(unix)]
    std::os::unix::fs::symlink("../..", d.path().join(format!("train/c/{deep}up"))).unwrap();
    let l = discover(d.path(), &LayoutOptions::default()).unwrap();
    assert_eq!(rels(&l), vec![format!("train/c/{deep}x.jpg")]);
    assert_eq!(l.files.to_candidates()[0].class, "c");
    #[cfg(unix)]
    {
        assert_eq!(l.skipped.len(), 1);
        assert_eq!(l.skipped[0].message, "symlink loop");
    }
}
