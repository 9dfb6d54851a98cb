use super::*;
use crate::base::hash::Hash256;
use crate::index::rec;

/// A 256-bit hash spread from a 64-bit seed (bit 0 clear, as real hashes have it).
fn wide(h: u64) -> Hash256 {
    let mut w = Hash256([h, h.rotate_left(13) ^ 0x5555, !h, h.rotate_left(41)]);
    w.0[0] &= !1;
    w
}

fn with_hash(mut r: Record, h: u64) -> Record {
    r.set_phash(Some(h));
    r.set_phash_crop(Some(!h));
    r.set_dhash(Some(h));
    r.set_hash256(Some(Hashes256 {
        full: wide(h),
        untrimmed: None,
        crops: [wide(!h), wide(h ^ 0xF0F0)],
    }));
    r.set_blake3(Some(crate::index::digest_of(
        format!("{h:x}-{}", r.path.display()).as_bytes(),
    )));
    r
}

#[test]
fn finds_flip_only_with_geometric() {
    let base = 0x0123_4567_89ab_cdefu64;
    let mut copy = with_hash(rec("val/a/2.jpg", "val", "a"), 0x77);
    copy.edit_hash256(|h| h.full = wide(base).transformed(Transform::FlipH));
    let records = vec![with_hash(rec("train/a/1.jpg", "train", "a"), base), copy];
    let with = find_pairs(&records, 4, Geometric::Flip, false).expect("search");
    assert_eq!(with.len(), 1);
    assert_eq!(with[0].transform, Transform::FlipH);
    assert_eq!((with[0].distance256, with[0].view), (0, View::Trimmed));
    assert!(
        find_pairs(&records, 4, Geometric::None, false)
            .expect("search")
            .is_empty()
    );
}

#[test]
fn quarter_turns_are_found_by_default() {
    let base = 0x0123_4567_89ab_cdefu64;
    let mut copy = with_hash(rec("val/a/2.jpg", "val", "a"), 0x77);
    copy.edit_hash256(|h| h.full = wide(base).transformed(Transform::Rot90));
    let records = vec![with_hash(rec("train/a/1.jpg", "train", "a"), base), copy];
    assert!(
        find_pairs(&records, 4, Geometric::Flip, true)
            .expect("search")
            .is_empty()
    );
    let pairs = find_pairs(&records, 4, Geometric::default(), true).expect("search");
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].transform, Transform::Rot90);
}

#[test]
fn crop_matches_report_the_crop_view() {
    let base = 0x0123_4567_89ab_cdefu64;
    let mut copy = with_hash(rec("val/a/2.jpg", "val", "a"), 0x77);
    // The copy is the central 75% of the original, with 3 bits of noise.
    let mut c = wide(base ^ 0xF0F0);
    c.0[2] ^= 0b111;
    copy.edit_hash256(|h| h.full = c);
    let records = vec![with_hash(rec("train/a/1.jpg", "train", "a"), base), copy];
    let pairs = find_pairs(&records, 4, Geometric::Flip, true).expect("search");
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert!(pairs[0].crop);
    assert_eq!((pairs[0].distance256, pairs[0].view), (3, View::Crop75));
    assert!(
        find_pairs(&records, 4, Geometric::Flip, false)
            .expect("search")
            .is_empty()
    );
}

#[test]
fn exact_and_self_pairs() {
    let mut a = with_hash(rec("train/a/1.jpg", "train", "a"), 7);
    let mut b = with_hash(rec("train/b/1.jpg", "train", "b"), 7);
    a.set_blake3(Some([1; 16]));
    b.set_blake3(Some([1; 16]));
    let mut c = with_hash(rec("val/a/9.jpg", "val", "a"), 7 ^ 0b111);
    c.edit_hash256(|h| h.full = wide(7));
    c.edit_hash256(|h| h.full.0[1] ^= 0b1011);
    let records = vec![a, b, c];
    let pairs = find_pairs(&records, 4, Geometric::Flip, true).expect("search");
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    assert!(pairs.iter().all(|p| p.a != p.b));
    assert_eq!(pairs[0].kind, MatchKind::Exact);
    let l = analyze(
        &records,
        &LeakOptions {
            max_distance: Some(4),
            ..Default::default()
        },
    )
    .expect("analysis");
    assert_eq!(l.summary.groups, 1);
    assert_eq!(l.summary.label_conflict_groups, 1);
    assert_eq!(l.summary.cross_split_groups, 1);
    let val = l.summary.splits.iter().find(|s| s.split == "val").unwrap();
    assert_eq!((val.images, val.leaked), (1, 1));
    let train = l
        .summary
        .splits
        .iter()
        .find(|s| s.split == "train")
        .unwrap();
    assert_eq!((train.images, train.leaked), (2, 2));
}

#[test]
fn lookalikes_beyond_the_radius_do_not_match() {
    // Close in the 64-bit pHash (2 bits), far in 256 bits: the decision is the 256-bit one.
    let base = 0x0123_4567_89ab_cdefu64;
    let other = with_hash(rec("val/a/2.jpg", "val", "a"), base ^ 0b11);
    let records = vec![with_hash(rec("train/a/1.jpg", "train", "a"), base), other];
    assert!(
        find_pairs(&records, 4, Geometric::Flip, false)
            .expect("search")
            .is_empty()
    );
    assert_eq!(dhash_flip_h(dhash_flip_h(base)), base);
}

#[test]
fn a_large_identical_set_stays_linear() {
    // 5,000 byte-identical copies (a placeholder image) across three splits, plus one
    // near copy of it: one group, 5,000 rows (member to head, and the near copy), not
    // 12.5 million.
    let n = 5_000;
    let splits = ["train", "val", "test"];
    let mut records: Vec<Record> = (0..n)
        .map(|i| {
            let s = splits[i % 3];
            let mut r = with_hash(rec(&format!("{s}/a/{i:05}.jpg"), s, "a"), 0x0f0f_00ff);
            r.set_blake3(Some([2; 16]));
            r
        })
        .collect();
    // Within 2 of the copies' 256-bit hash (the decision), whatever its other hashes.
    let mut near = with_hash(rec("train/b/near.jpg", "train", "b"), 0x0f0f_00ff ^ 0b11);
    near.edit_hash256(|h| {
        h.full = wide(0x0f0f_00ff);
        h.full.0[1] ^= 0b11;
    });
    records.push(near);
    records.sort_by(|a, b| a.path.cmp(&b.path));
    let l = analyze(
        &records,
        &LeakOptions {
            max_distance: Some(4),
            ..Default::default()
        },
    )
    .expect("analysis");
    // Linear by construction, counted rather than timed: the near search sees the set's head
    // and the near copy only (5,001 identical hashes searched would be 12.5 million pairs).
    assert_eq!(l.summary.search.images, 2, "{:?}", l.summary.search);
    assert_eq!(l.groups.len(), 1);
    assert_eq!(l.groups[0].members.len(), n + 1);
    assert_eq!(l.summary.exact_pairs, n - 1);
    assert_eq!(l.pairs.len(), n, "member-to-head links plus one near pair");
    let head = l.pairs[0].a;
    assert!(l.pairs.iter().all(|p| p.a == head || p.b == head));
    // Every member is a leak into the two other splits.
    for s in &l.summary.splits {
        assert_eq!(s.leaked, s.images, "{}", s.split);
        assert_eq!(s.leaked_into.len(), 2, "{}", s.split);
    }
    assert_eq!(l.summary.redundant_images, n);
}

#[test]
fn a_small_identical_set_lists_every_pair() {
    let records: Vec<Record> = (0..groups::ALL_PAIRS_UP_TO)
        .map(|i| {
            let mut r = with_hash(rec(&format!("a/{i:03}.png"), "", "a"), 99);
            r.set_blake3(Some([1; 16]));
            r
        })
        .collect();
    let k = records.len();
    assert_eq!(
        find_pairs(&records, 4, Geometric::Flip, true)
            .expect("search")
            .len(),
        k * (k - 1) / 2
    );
}

#[test]
fn near_constant_and_unhashed_images_do_not_match() {
    let mut a = with_hash(rec("a/1.png", "", "a"), 0);
    let mut b = with_hash(rec("a/2.png", "", "a"), 0);
    a.flags.insert(Flag::NearConstant);
    b.flags.insert(Flag::NearConstant);
    assert!(
        find_pairs(&[a, b], 8, Geometric::All, true)
            .expect("search")
            .is_empty()
    );
    let mut c = with_hash(rec("a/3.png", "", "a"), 5);
    let d = with_hash(rec("a/4.png", "", "a"), 5);
    c.set_hash256(None);
    assert!(
        find_pairs(&[c, d], 8, Geometric::All, true)
            .expect("search")
            .is_empty()
    );
}
