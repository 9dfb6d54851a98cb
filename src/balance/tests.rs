use super::*;
use crate::base::flags::Status;
use crate::index::rec;

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

#[test]
fn sklearn_balanced_example() {
    // labels [1, 1, 1, 1, 0, 0] -> classes [0, 1] with counts [2, 4] -> [1.5, 0.75]
    assert!(close(
        &weights(&[2, 4], Method::Balanced, 0.999),
        &[1.5, 0.75]
    ));
}

#[test]
fn other_methods_by_hand() {
    // inverse: 1/2, 1/4 -> mean 0.375 -> 4/3, 2/3
    assert!(close(
        &weights(&[2, 4], Method::Inverse, 0.0),
        &[4.0 / 3.0, 2.0 / 3.0]
    ));
    let s = [1.0 / 2f64.sqrt(), 0.5];
    let m = (s[0] + s[1]) / 2.0;
    assert!(close(
        &weights(&[2, 4], Method::Sqrt, 0.0),
        &[s[0] / m, s[1] / m]
    ));
    let b: f64 = 0.9;
    let e = [(1.0 - b) / (1.0 - b.powi(2)), (1.0 - b) / (1.0 - b.powi(4))];
    let sum = e[0] + e[1];
    assert!(close(
        &weights(&[2, 4], Method::Effective, 0.9),
        &[2.0 * e[0] / sum, 2.0 * e[1] / sum]
    ));
    // An empty class gets weight 0, not infinity.
    assert_eq!(weights(&[0, 5], Method::Balanced, 0.9)[0], 0.0);
}

#[test]
fn empty_classes_do_not_shrink_the_others() {
    // Issue 9 item 5: scikit-learn over the present classes gives 1.1 and 0.786, not
    // 0.733 and 0.524 (divided by 6 classes).
    let w = weights(&[5, 5, 5, 7, 0, 0], Method::Balanced, 0.999);
    assert!(close(&w, &[1.1, 1.1, 1.1, 22.0 / 28.0, 0.0, 0.0]), "{w:?}");
    // The effective-number weights sum to the number of present classes.
    let e = weights(&[5, 0, 20], Method::Effective, 0.99);
    assert!(
        (e.iter().sum::<f64>() - 2.0).abs() < 1e-9 && e[1] == 0.0,
        "{e:?}"
    );
    // Mean-normalised methods average 1 over the present classes.
    let i = weights(&[2, 0, 4], Method::Inverse, 0.0);
    assert!(close(&i, &[4.0 / 3.0, 0.0, 2.0 / 3.0]), "{i:?}");
}

#[test]
fn chi_square_p_values() {
    // Identical proportions: chi2 0, p 1.
    let (c, df, p) = chi_square(&[10, 20], &[5, 10]);
    assert!(c.abs() < 1e-12 && df == 1 && (p - 1.0).abs() < 1e-9);
    // chi2 = 3.841 with df 1 is p = 0.05.
    assert!((chi_square_sf(3.841_458_8, 1) - 0.05).abs() < 1e-6);
    // df 4, chi2 9.4877 -> p 0.05
    assert!((chi_square_sf(9.487_729, 4) - 0.05).abs() < 1e-6);
    // R: pchisq(20, 3, lower.tail = FALSE) = 0.0001697424; a 2x2 table by hand.
    assert!((chi_square_sf(20.0, 3) - 1.697_424e-4).abs() < 1e-9);
    let (c, df, p) = chi_square(&[30, 10], &[10, 30]);
    assert!((c - 20.0).abs() < 1e-9 && df == 1);
    assert!((p - 7.744_216e-6).abs() < 1e-10, "{p}");
}

#[test]
fn keras_class_order_and_exclusions() {
    let mut records = vec![
        rec("train/a/1.jpg", "train", "a"),
        rec("train/B/1.jpg", "train", "B"),
        rec("train/2/1.jpg", "train", "2"),
        rec("train/10/1.jpg", "train", "10"),
        rec("train/10/2.jpg", "train", "10"),
        rec("val/a/1.jpg", "val", "a"),
    ];
    let mut corrupt = rec("train/a/bad.jpg", "train", "a");
    corrupt.status = Status::Corrupt;
    records.push(corrupt);
    let mut webp = rec("train/a/x.webp", "train", "a");
    webp.format = Some(crate::base::format::Format::Webp);
    records.push(webp);
    let r = analyze(&records, None, &BalanceOptions::default()).unwrap();
    assert_eq!(r.class_names, vec!["10", "2", "B", "a"]);
    assert_eq!(r.weights.split, "train");
    assert_eq!(
        r.weights
            .counts
            .0
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>(),
        vec![2, 1, 1, 1]
    );
    assert_eq!(r.excluded.values().sum::<usize>(), 2);
    let val = r.splits.iter().find(|s| s.split == "val").unwrap();
    assert_eq!(val.missing, vec!["10", "2", "B"]);
    assert!(val.drift.is_some());
    let json = serde_json::to_value(&r.weights).unwrap();
    assert_eq!(json["class_weight"]["0"], 5.0 / (4.0 * 2.0));
}

#[test]
fn dedup_counts_groups_once_and_single_class() {
    let records = vec![
        rec("a/1.jpg", "", "a"),
        rec("a/2.jpg", "", "a"),
        rec("a/3.jpg", "", "a"),
    ];
    let groups = vec![Some(1), Some(1), None];
    let r = analyze(&records, Some(&groups), &BalanceOptions::default()).unwrap();
    assert_eq!(r.weights.counts.0, vec![("a".to_string(), 2)]);
    assert_eq!(r.weights.split, "");
    assert!(close(
        &r.weights
            .class_weight
            .0
            .iter()
            .map(|(_, w)| *w)
            .collect::<Vec<_>>(),
        &[1.0]
    ));
}

#[test]
fn weights_follow_the_training_folder_like_keras() {
    // train has classes a and c (and an empty folder d); val also has b. Keras' train
    // loader indexes a=0, c=1, d=2: the weights must use the same indices.
    let records = vec![
        rec("train/a/1.jpg", "train", "a"),
        rec("train/c/1.jpg", "train", "c"),
        rec("train/c/2.jpg", "train", "c"),
        rec("val/b/1.jpg", "val", "b"),
    ];
    let mut dirs = BTreeMap::new();
    dirs.insert(
        "train".to_string(),
        ["a", "c", "d"].iter().map(|s| s.to_string()).collect(),
    );
    dirs.insert(
        "val".to_string(),
        ["b"].iter().map(|s| s.to_string()).collect(),
    );
    let opts = BalanceOptions {
        class_dirs: dirs,
        ..Default::default()
    };
    let r = analyze(&records, None, &opts).unwrap();
    assert_eq!(r.weights.class_names, vec!["a", "c", "d"]);
    assert_eq!(r.class_names, vec!["a", "b", "c", "d"]);
    let w: Vec<f64> = r.weights.class_weight.0.iter().map(|(_, w)| *w).collect();
    // Over the 2 present classes (d is empty): 3/(2*1), 3/(2*2), 0.
    assert!(close(&w, &[1.5, 0.75, 0.0]), "{w:?}");
    let train = r.splits.iter().find(|s| s.split == "train").unwrap();
    assert_eq!(train.missing, vec!["b", "d"]);
}

#[test]
fn class_order_file_must_cover_classes() {
    let records = vec![rec("a/1.jpg", "", "a"), rec("b/1.jpg", "", "b")];
    let opts = BalanceOptions {
        class_order: Some(vec!["b".into(), "a".into()]),
        ..Default::default()
    };
    assert_eq!(
        analyze(&records, None, &opts).unwrap().class_names,
        vec!["b", "a"]
    );
    let bad = BalanceOptions {
        class_order: Some(vec!["b".into()]),
        ..Default::default()
    };
    assert!(analyze(&records, None, &bad).is_err());
}
