use std::borrow::Cow;
use std::collections::HashMap;

use proptest::prelude::*;

use super::shape::{stem, tokens};
use super::*;

/// Items from `(split, class, name)`, each its own picture.
fn items(rows: &[(String, String, String)]) -> Vec<Item<'_>> {
    rows.iter()
        .enumerate()
        .map(|(i, (s, c, n))| Item {
            name: Cow::Borrowed(n.as_str()),
            split: s,
            class: c,
            picture: i,
        })
        .collect()
}

fn row(split: &str, class: &str, name: String) -> (String, String, String) {
    (split.into(), class.into(), name)
}

/// A small deterministic generator (no dependency on the order proptest draws in).
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

/// `n` patients, 2-4 images each, named by `name(patient, image)`, split per image 80/20.
fn patients(
    n: usize,
    seed: u64,
    name: impl Fn(usize, usize) -> String,
) -> (Vec<(String, String, String)>, Vec<usize>) {
    let mut s = seed;
    let (mut rows, mut truth) = (Vec::new(), Vec::new());
    for p in 0..n {
        let k = 2 + (lcg(&mut s) % 3) as usize;
        for i in 0..k {
            let split = if lcg(&mut s).is_multiple_of(5) {
                "val"
            } else {
                "train"
            };
            let class = if lcg(&mut s).is_multiple_of(2) {
                "a"
            } else {
                "b"
            };
            rows.push(row(split, class, name(p, i)));
            truth.push(p);
        }
    }
    (rows, truth)
}

/// Whether the inferred keys partition the items exactly as `truth` does.
fn same_partition(inf: &Inference, items: &[Item], truth: &[usize]) -> bool {
    let mut key_to_truth: HashMap<&str, usize> = HashMap::new();
    let mut truth_to_key: HashMap<usize, &str> = HashMap::new();
    items.iter().zip(truth).all(|(it, &t)| {
        let Some(k) = key_of(&inf.regex, &it.name) else {
            return false;
        };
        *key_to_truth.entry(k).or_insert(t) == t && *truth_to_key.entry(t).or_insert(k) == k
    })
}

#[test]
fn tokens_keep_separators() {
    let t = tokens("NORMAL2-IM-0588-0001");
    assert_eq!(t.lead, "");
    assert_eq!(
        t.tokens,
        vec![("NORMAL2", "-"), ("IM", "-"), ("0588", "-"), ("0001", "")]
    );
    let t = tokens("__a__b");
    assert_eq!(t.lead, "__");
    assert_eq!(t.tokens, vec![("a", "__"), ("b", "")]);
    assert_eq!(stem("a.b.jpg"), "a.b");
    assert_eq!(stem(".hidden"), ".hidden");
}

#[test]
fn nih_ids_are_the_leading_number() {
    let (rows, truth) = patients(40, 1, |p, i| format!("{:08}_{:03}.png", 1300 + 37 * p, i));
    let it = items(&rows);
    let inf = infer(&it).expect("patients");
    assert_eq!(inf.group_by, r"^([0-9]{8})[-_. ].*\.");
    assert_eq!(inf.rule, Rule::IdToken);
    assert!(same_partition(&inf, &it, &truth));
    assert!(inf.evidence.strong);
    assert!(inf.evidence.spanning > 0);
}

#[test]
fn mixed_families_each_get_their_id() {
    // person<N>_<bacteria|virus>_<global counter> and IM-<N>-<image>: one patient may have
    // bacteria and virus images, so the key is person<N>, not the stem without the counter.
    let (rows, truth) = patients(60, 7, |p, i| {
        if p.is_multiple_of(3) {
            format!("IM-{:04}-{:04}.jpeg", 100 + p, i + 1)
        } else {
            let kind = if (p + i).is_multiple_of(2) {
                "bacteria"
            } else {
                "virus"
            };
            format!("person{}_{kind}_{}.jpeg", p + 1, 7 * p + i)
        }
    });
    let it = items(&rows);
    let inf = infer(&it).expect("patients");
    assert_eq!(inf.group_by, r"^(IM-[0-9]{4}|person[0-9]+)[-_. ].*\.");
    assert!(same_partition(&inf, &it, &truth));
}

#[test]
fn person_names_without_digits_drop_the_counter() {
    let people = [
        "George_W_Bush",
        "Tony_Blair",
        "Jean-Claude_Van_Damme",
        "Ana_Ivanovic",
        "Li_Na",
        "Serena_Williams",
        "Hugo_Chavez",
        "Gerhard_Schroeder",
        "Colin_Powell",
        "Ariel_Sharon",
        "Junichiro_Koizumi",
        "Laura_Bush",
    ];
    let (rows, truth) = patients(people.len(), 3, |p, i| {
        format!("{}_{:04}.jpg", people[p], i + 1)
    });
    // Flat within each split: the person is no class here.
    let rows: Vec<_> = rows
        .into_iter()
        .map(|(s, _, n)| (s, String::new(), n))
        .collect();
    let it = items(&rows);
    let inf = infer(&it).expect("people");
    assert_eq!(inf.rule, Rule::StemWithoutCounter);
    assert!(same_partition(&inf, &it, &truth));
    // One class per person (face identification): the key names the class, no subject.
    let rows: Vec<_> = rows
        .iter()
        .zip(&truth)
        .map(|((s, _, n), &p)| (s.clone(), people[p].to_owned(), n.clone()))
        .collect();
    assert!(infer(&items(&rows)).is_none());
}

#[test]
fn class_names_and_counters_are_no_subjects() {
    // cat.103.jpg: the key `cat` holds half the images.
    let rows: Vec<_> = (0..200usize)
        .map(|i| {
            let c = if i.is_multiple_of(2) { "cat" } else { "dog" };
            let s = if i.is_multiple_of(5) { "val" } else { "train" };
            row(s, &format!("{c}s"), format!("{c}.{i}.jpg"))
        })
        .collect();
    let c = candidates(&items(&rows));
    assert!(c.iter().all(|c| c.verdict.is_err()), "{c:?}");
    // Every folder numbers its files 0001_x.jpg..: the same number in two folders.
    let mut rows = Vec::new();
    for (s, n) in [("train", 40), ("val", 10)] {
        for class in ["a", "b", "c", "d", "e"] {
            for i in 1..=n {
                rows.push(row(s, class, format!("{i:04}_img.jpg")));
            }
        }
    }
    let c = candidates(&items(&rows));
    assert_eq!(c[0].verdict, Err(Rejection::RunningNumbers));
    assert!(infer(&items(&rows)).is_none());
}

#[test]
fn two_sizes_of_one_flickr_photo_are_one_picture() {
    // 40 Flickr photos, 30 of them also saved at the `_n` size, sizes in either split.
    let mut rows = Vec::new();
    let mut pictures = Vec::new();
    for p in 0..40u64 {
        let id = 7166606598 + 7919 * p;
        let secret = format!("{:010x}", 0x5d2cd307c3u64 ^ (p * 2654435761));
        let split = if p.is_multiple_of(4) { "val" } else { "train" };
        rows.push(row(split, "x", format!("{id}_{secret}.jpg")));
        pictures.push(p as usize);
        if p < 30 {
            let other = if p.is_multiple_of(2) { "val" } else { "train" };
            rows.push(row(other, "x", format!("{id}_{secret}_n.jpg")));
            pictures.push(p as usize);
        }
    }
    let mut it = items(&rows);
    for (i, p) in it.iter_mut().zip(&pictures) {
        i.picture = *p;
    }
    // The sizes are copies (`leaks` groups them): no subject.
    assert!(infer(&it).is_none());
    // Without the copy groups the photo id groups the two sizes.
    let inf = infer(&items(&rows)).expect("photo ids");
    assert_eq!(inf.evidence.subjects, 40);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Generated patient sets are found, keyed exactly by patient, whatever the id width,
    /// prefix and counter.
    #[test]
    fn generated_patients_are_found(
        n in 12usize..60,
        seed in any::<u64>(),
        width in 3usize..10,
        prefix in prop::sample::select(vec!["", "P", "subj", "case-"]),
        sep in prop::sample::select(vec!["_", "-", "."]),
    ) {
        let (rows, truth) = patients(n, seed, |p, i| {
            format!("{prefix}{:0width$}{sep}{:03}.png", 10 + 13 * p, i)
        });
        let it = items(&rows);
        let inf = infer(&it);
        prop_assert!(inf.is_some());
        let inf = inf.unwrap();
        prop_assert!(same_partition(&inf, &it, &truth), "{}", inf.group_by);
        // The same data in another order gives the same key.
        let mut rev = it.clone();
        rev.reverse();
        prop_assert_eq!(infer(&rev).map(|i| i.group_by), Some(inf.group_by.clone()));
    }

    /// Any names: the inference never panics, and an inferred key is a proper prefix of the
    /// stem ending where a token ends; the counts are consistent.
    #[test]
    fn keys_are_token_prefixes(
        names in prop::collection::vec("[a-c0-9]{1,3}([-_. ][a-c0-9]{1,3}){0,3}\\.jpg", 1..80),
        splits in prop::collection::vec(0u8..3, 80),
    ) {
        let rows: Vec<_> = names
            .iter()
            .zip(&splits)
            .map(|(n, s)| row(["train", "val", ""][*s as usize], "", n.clone()))
            .collect();
        let it = items(&rows);
        for c in candidates(&it) {
            if let Ok(e) = &c.verdict {
                prop_assert!(e.spanning <= e.subjects && e.repeated <= e.subjects);
                prop_assert!(e.images_involved <= e.keyed && e.keyed <= e.images);
                prop_assert!(e.largest <= e.keyed);
            }
        }
        if let Some(inf) = infer(&it) {
            for i in &it {
                if let Some(k) = key_of(&inf.regex, &i.name) {
                    let s = stem(&i.name);
                    prop_assert!(s.starts_with(k) && s.len() > k.len());
                    prop_assert!(shape::SEPARATORS.contains(&s[k.len()..].chars().next().unwrap()));
                }
            }
        }
    }

    /// Unique names and per-folder counters never make subjects.
    #[test]
    fn unique_names_are_no_subjects(n in 1usize..200, seed in any::<u64>()) {
        let mut s = seed;
        let rows: Vec<_> = (0..n)
            .map(|i| {
                let split = if lcg(&mut s).is_multiple_of(4) { "val" } else { "train" };
                row(split, "c", format!("{:x}_{:06}.jpg", lcg(&mut s), i))
            })
            .collect();
        prop_assert!(infer(&items(&rows)).is_none());
    }
}
