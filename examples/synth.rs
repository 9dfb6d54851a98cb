//! Generates a synthetic dataset of N images for the scale benchmark (`scripts/scale_bench.sh`):
//! a tree of hard links and an index that matches it, so every command reuses every record and
//! no image is decoded. What is measured is the index: loading, matching, grouping, planning.
//!
//! ```text
//! cargo run --release --example synth -- OUT [--n 1000000] [--copies 10000] [--big-group 0]
//!                                            [--classes 1000] [--seed 1]
//!                                            [--plant 8,12,16,...] [--per-distance 1000]
//!                                            [--features] [--features-per-image 300]
//!                                            [--plant-affine 1000]
//! ```
//!
//! writes
//! - `OUT/sources/src_NNNN.jpg`: a few small generated JPEGs, one per 50,000 files (ext4 allows
//!   about 65,000 links per inode);
//! - `OUT/root/<split>/c<class>/<n>.jpg`: N hard links to them, splits `train`/`val`/`test` at
//!   80/10/10, class sizes skewed (class k drawn with weight 1/(1 + k/50));
//! - `OUT/index.csv`: one record per link, written with `cleansplit::index::write_atomic` (the
//!   documented contract), with the link's real size and mtime so a scan reuses it, and random
//!   64-bit hashes and BLAKE3s. Planted: `--copies` records that copy an earlier record (40%
//!   byte-identical: same BLAKE3 and hashes; 60% near: 1-3 pHash bits and 0-2 dHash bits
//!   flipped), in a random split, so most are cross-split leaks; `--big-group K` more records
//!   that are all byte-identical (a scraped "image not available" placeholder); 0.1% of the
//!   records are `corrupt` with a message;
//! - with `--features`: `OUT/index.csv.features`, the local-features sidecar a scan would
//!   write (`cleansplit::scan::features::sidecar`), 300 random keypoints and descriptors per
//!   content, made from its BLAKE3 so nothing is held; with `--plant-affine K` also K augmented
//!   copies (issue 22): pairs of unrelated records where the second's features are the first's
//!   under a random similarity (rotation up to 40 degrees, zoom 0.8-1.25, shift up to 20%,
//!   mirrored half the time): half the keypoints kept (moved, 0.4 px of noise, each descriptor
//!   with 0-48 of its 256 bits flipped), the rest new, listed in `planted.csv` with distance
//!   `affine`; `--features-per-image K` keeps the first K keypoints of each image (0: empty
//!   entries, 30 bytes per image: what images without corners give, so a scan of 10 million
//!   records neither decodes them for features nor needs 120 GB of sidecar);
//! - with `--plant D1,D2,...`: `--per-distance` pairs of unrelated records at each distance
//!   `D` become far copies: the second's full 256-bit hash is the first's under a random flip
//!   or turn with exactly `D` of its 255 informative bits changed (its other views stay
//!   random), listed in `OUT/planted.csv` (`path_a,path_b,distance`) for
//!   `scripts/scale_bench.sh` to score `pairs.csv` against.
//!
//! OUT must not exist or be empty. Deterministic for a seed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use cleansplit::base::flags::Status;
use cleansplit::base::hash::{Hash256, Hashes256, Transform};
use cleansplit::index::{self, Record};
use cleansplit::scan::features::sidecar;
use cleansplit::scan::features::{Features, Keypoint, mirrored};

/// Links per source file, below ext4's 65,000 links per inode.
const LINKS_PER_SOURCE: usize = 50_000;

struct Opts {
    out: PathBuf,
    n: usize,
    copies: usize,
    big_group: usize,
    classes: usize,
    seed: u64,
    plant: Vec<u32>,
    per_distance: usize,
    features: bool,
    features_per_image: usize,
    plant_affine: usize,
}

fn parse_args() -> Result<Opts> {
    let mut args = std::env::args().skip(1);
    let mut o = Opts {
        out: PathBuf::new(),
        n: 1_000_000,
        copies: 10_000,
        big_group: 0,
        classes: 1000,
        seed: 1,
        plant: Vec::new(),
        per_distance: 1000,
        features: false,
        features_per_image: 300,
        plant_affine: 0,
    };
    let mut out = None;
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<u64> {
            args.next()
                .with_context(|| format!("{name} needs a value"))?
                .replace('_', "")
                .parse()
                .with_context(|| format!("{name} takes a number"))
        };
        match a.as_str() {
            "--n" => o.n = num("--n")? as usize,
            "--copies" => o.copies = num("--copies")? as usize,
            "--big-group" => o.big_group = num("--big-group")? as usize,
            "--classes" => o.classes = num("--classes")?.max(1) as usize,
            "--seed" => o.seed = num("--seed")?,
            "--per-distance" => o.per_distance = num("--per-distance")? as usize,
            "--features" => o.features = true,
            "--features-per-image" => {
                o.features_per_image = (num("--features-per-image")? as usize).min(300);
                o.features = true;
            }
            "--plant-affine" => {
                o.plant_affine = num("--plant-affine")? as usize;
                o.features = true;
            }
            "--plant" => {
                o.plant = args
                    .next()
                    .context("--plant needs a value")?
                    .split(',')
                    .map(|d| d.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .context("--plant takes distances like 8,16,24")?;
                if o.plant.iter().any(|&d| d > 255) {
                    bail!("--plant distances are at most 255 bits");
                }
            }
            s if s.starts_with("--") => bail!("unknown option {s}"),
            s => out = Some(PathBuf::from(s)),
        }
    }
    o.out = out.context(
        "usage: synth OUT [--n N] [--copies N] [--big-group K] [--classes C] [--seed S] \
         [--plant D1,D2,.. --per-distance K] [--features] [--features-per-image K] \
         [--plant-affine K]",
    )?;
    if o.copies + o.big_group > o.n {
        bail!("--copies plus --big-group must not exceed --n");
    }
    if 4 * (o.plant.len() * o.per_distance + o.plant_affine) > o.n - o.copies - o.big_group {
        bail!("--plant needs at most a quarter of the unique records (--n minus the copies)");
    }
    Ok(o)
}

/// SplitMix64: small, fast, good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// `h` with exactly `k` of its 255 informative bits (all but bit 0) flipped.
    fn flip_exact(&mut self, mut h: Hash256, k: u32) -> Hash256 {
        let mut seen = [false; 256];
        let mut done = 0;
        while done < k {
            let p = 1 + self.below(255);
            if !seen[p] {
                seen[p] = true;
                h.0[p / 64] ^= 1 << (p % 64);
                done += 1;
            }
        }
        h
    }
    /// `h` with `k` distinct random bits flipped.
    fn flip_bits(&mut self, h: u64, k: u32) -> u64 {
        let mut mask = 0u64;
        while mask.count_ones() < k {
            mask |= 1 << (self.next() % 64);
        }
        h ^ mask
    }
}

/// A small distinct JPEG per source (a gradient keyed by `i`), and its size and mtime.
fn write_sources(dir: &Path, count: usize) -> Result<Vec<(PathBuf, u64, i64)>> {
    fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for i in 0..count {
        let img = image::RgbImage::from_fn(48, 40, |x, y| {
            let v = (x * 5 + y * 3 + i as u32 * 37) as u8;
            image::Rgb([v, v.wrapping_mul(3), (i * 11) as u8])
        });
        let p = dir.join(format!("src_{i:04}.jpg"));
        img.save(&p)
            .with_context(|| format!("cannot write {}", p.display()))?;
        let md = fs::metadata(&p)?;
        let mtime = md
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        out.push((p, md.len(), mtime));
    }
    Ok(out)
}

fn digest(rng: &mut Rng) -> [u8; 16] {
    let mut d = [0u8; 16];
    d[..8].copy_from_slice(&rng.next().to_le_bytes());
    d[8..].copy_from_slice(&rng.next().to_le_bytes());
    d
}

/// Random 256-bit hashes (the ones `leaks` decides on); `near` flips `k` bits per word of
/// `near`'s hashes instead.
fn hashes256(rng: &mut Rng, near: Option<(Hashes256, u32)>) -> Hashes256 {
    let mut word = |base: Option<u64>, k: u32| match base {
        Some(b) => rng.flip_bits(b, k),
        None => rng.next(),
    };
    let mut h256 = |base: Option<Hash256>, k: u32| {
        let mut h = Hash256([0; 4]);
        for (i, w) in h.0.iter_mut().enumerate() {
            *w = word(base.map(|b| b.0[i]), k);
        }
        h
    };
    match near {
        Some((o, k)) => Hashes256 {
            full: h256(Some(o.full), k),
            untrimmed: None,
            crops: [h256(Some(o.crops[0]), k + 2), h256(Some(o.crops[1]), k + 2)],
        },
        None => Hashes256 {
            full: h256(None, 0),
            untrimmed: None,
            crops: [h256(None, 0), h256(None, 0)],
        },
    }
}

/// A fresh, unrelated image record.
fn record(path: PathBuf, split: &str, class: String, rng: &mut Rng) -> Record {
    let phash = rng.next();
    let mut r = Record::new(path);
    (r.split, r.class) = (split.into(), class.into());
    r.set_blake3(Some(digest(rng)));
    r.format = Some(cleansplit::base::format::Format::Jpeg);
    r.width = 320 + rng.below(640) as u32;
    r.height = 240 + rng.below(480) as u32;
    r.color = "rgb8".into();
    r.set_phash(Some(phash));
    r.set_dhash(Some(rng.next()));
    r.set_phash_crop(Some(rng.flip_bits(phash, 6)));
    r.set_hash256(Some(hashes256(rng, None)));
    r.status = Status::Ok;
    r.set_jpeg_quality(Some(75 + rng.below(21) as u8));
    r
}

/// Draws distinct record positions at random, each once, skipping those `used` marks.
fn picker(mut used: Vec<bool>) -> impl FnMut(&mut Rng) -> usize {
    move |rng: &mut Rng| loop {
        let i = rng.below(used.len());
        if !used[i] {
            used[i] = true;
            return i;
        }
    }
}

/// Far copies at exact distances (`--plant`): pairs of distinct unique, hashed records, each
/// record in at most one pair; the second's full hash becomes the first's under a random flip
/// or turn with exactly `d` informative bits changed. Returns `(path_a, path_b, d)`.
fn plant(
    o: &Opts,
    unique: usize,
    records: &mut [Record],
    rng: &mut Rng,
) -> Vec<(String, String, u32)> {
    // Only hashed records; each used once.
    let mut pick = picker(
        records[..unique]
            .iter()
            .map(|r| r.hash256().is_none())
            .collect(),
    );
    let mut out = Vec::new();
    for &d in &o.plant {
        for _ in 0..o.per_distance {
            let (a, b) = (pick(rng), pick(rng));
            let t = Transform::ALL[rng.below(8)];
            let Some(mut hb) = records[b].hash256() else {
                continue;
            };
            let ha = records[a].hash256().expect("picked hashed");
            hb.full = rng.flip_exact(ha.full.transformed(t), d);
            records[b].set_hash256(Some(hb));
            let path = |r: &Record| r.path.to_string_lossy().into_owned();
            out.push((path(&records[a]), path(&records[b]), d));
        }
    }
    out
}

/// Augmented copies (`--plant-affine`): pairs of distinct unique records not used by
/// `--plant`; returns `(a, b)` record positions.
fn plant_affine(
    o: &Opts,
    unique: usize,
    records: &[Record],
    taken: &[(String, String, u32)],
    rng: &mut Rng,
) -> Vec<(usize, usize)> {
    let busy: std::collections::HashSet<String> = taken
        .iter()
        .flat_map(|(a, b, _)| [a.clone(), b.clone()])
        .collect();
    let mut pick = picker(
        records[..unique]
            .iter()
            .map(|r| r.blake3().is_none() || busy.contains(&*r.path.to_string_lossy()))
            .collect(),
    );
    (0..o.plant_affine)
        .map(|_| (pick(rng), pick(rng)))
        .collect()
}

/// The random features of a content: 300 keypoints on a 256 x 192 frame in the extraction's
/// level quotas, uniform angles, random descriptors (seeded by the digest).
fn features_of(digest: &[u8; 16]) -> Features {
    let mut rng = Rng(u64::from_le_bytes(digest[..8].try_into().unwrap_or_default()) ^ 0xfea7);
    let (w, h) = (256.0f32, 192.0f32);
    let mut f = Features {
        w: w as u16,
        h: h as u16,
        ..Features::default()
    };
    for (level, count) in [160usize, 90, 50].into_iter().enumerate() {
        for _ in 0..count {
            f.points.push(Keypoint {
                x: 16.0 + rng.unit() * (w - 32.0),
                y: 16.0 + rng.unit() * (h - 32.0),
                angle: (rng.unit() * 2.0 - 1.0) * std::f32::consts::PI,
                level: level as u8,
            });
            f.desc
                .push(Hash256([rng.next(), rng.next(), rng.next(), rng.next()]));
        }
    }
    f
}

/// `f` as an augmented copy sees it (see the module doc), seeded by `seed`.
fn augmented(f: &Features, seed: u64) -> Features {
    let mut rng = Rng(seed);
    let (w, h) = (f32::from(f.w), f32::from(f.h));
    let mirror = rng.below(2) == 1;
    let theta = (rng.unit() * 2.0 - 1.0) * 40f32.to_radians();
    let scale = 0.8 + rng.unit() * 0.45;
    let (tx, ty) = ((rng.unit() - 0.5) * 0.4 * w, (rng.unit() - 0.5) * 0.4 * h);
    let (c, s) = (theta.cos() * scale, theta.sin() * scale);
    let noise = |rng: &mut Rng| (rng.unit() + rng.unit() + rng.unit() - 1.5) * 0.8;
    let fresh = features_of(&seed.to_le_bytes().repeat(2).try_into().unwrap_or_default());
    let mut out = Features {
        w: f.w,
        h: f.h,
        ..Features::default()
    };
    for level in 0..3u8 {
        let kept: Vec<usize> = (0..f.len())
            .filter(|&i| f.points[i].level == level && rng.below(2) == 0)
            .collect();
        let new: Vec<usize> = (0..fresh.len())
            .filter(|&i| fresh.points[i].level == level)
            .collect();
        let quota = new.len();
        let (mut k, mut n) = (kept.iter().peekable(), new.iter());
        while out.points.iter().filter(|p| p.level == level).count() < quota {
            let take_kept = k.peek().is_some() && rng.below(2) == 0;
            if take_kept {
                let i = *k.next().expect("peeked");
                let p = f.points[i];
                let (mut x, mut angle) = (p.x, p.angle);
                let mut d = f.desc[i];
                if mirror {
                    (x, angle) = (w - 1.0 - x, std::f32::consts::PI - angle);
                    d = mirrored(&d);
                }
                let (cx, cy) = (x - w / 2.0, p.y - h / 2.0);
                let nx = c * cx - s * cy + w / 2.0 + tx + noise(&mut rng);
                let ny = s * cx + c * cy + h / 2.0 + ty + noise(&mut rng);
                if !(16.0..w - 16.0).contains(&nx) || !(16.0..h - 16.0).contains(&ny) {
                    continue;
                }
                for _ in 0..rng.below(49) {
                    let b = rng.below(256);
                    d.0[b / 64] ^= 1 << (b % 64);
                }
                out.points.push(Keypoint {
                    x: nx,
                    y: ny,
                    angle: angle + theta,
                    level,
                });
                out.desc.push(d);
            } else if let Some(&i) = n.next() {
                out.points.push(fresh.points[i]);
                out.desc.push(fresh.desc[i]);
            } else {
                break;
            }
        }
    }
    out
}

/// Writes `OUT/index.csv.features` for `records`: every content's random features, the
/// planted copies' augmented from their originals'.
fn write_features(
    out: &Path,
    records: &[Record],
    affine: &[(usize, usize)],
    per_image: usize,
) -> Result<()> {
    let copy_of: std::collections::HashMap<[u8; 16], [u8; 16]> = affine
        .iter()
        .filter_map(|&(a, b)| Some((records[b].blake3()?, records[a].blake3()?)))
        .collect();
    let mut digests: Vec<[u8; 16]> = records.iter().filter_map(|r| r.blake3()).collect();
    digests.sort_unstable();
    digests.dedup();
    let heads: Vec<sidecar::write::Head> = digests
        .iter()
        .map(|&digest| sidecar::write::Head {
            digest,
            n: per_image as u16,
            w: 256,
            h: 192,
        })
        .collect();
    let make = |d: &[u8; 16]| match copy_of.get(d) {
        _ if per_image == 0 => Features::default(),
        Some(orig) => {
            let mut f = augmented(
                &features_of(orig),
                u64::from_le_bytes(d[..8].try_into().unwrap_or_default()),
            );
            f.points.truncate(300);
            f.desc.truncate(300);
            f
        }
        None => {
            let mut f = features_of(d);
            f.points.truncate(per_image);
            f.desc.truncate(per_image);
            f
        }
    };
    let mut heads = heads;
    // An augmented copy may have lost keypoints off the frame: its head says how many.
    for (h, d) in heads.iter_mut().zip(&digests) {
        if copy_of.contains_key(d) {
            h.n = make(d).len() as u16;
        }
    }
    sidecar::write::write_streamed(
        &out.join("index.csv.features"),
        heads.len(),
        heads.iter().map(|h| (*h, ())),
        |h, _, buf| {
            let f = make(&h.digest);
            sidecar::encode(&f, f.len(), buf);
            Ok(())
        },
    )
}

fn main() -> Result<()> {
    let o = parse_args()?;
    let t0 = Instant::now();
    if o.out.exists() && fs::read_dir(&o.out)?.next().is_some() {
        bail!("{} exists and is not empty", o.out.display());
    }
    let sources = write_sources(
        &o.out.join("sources"),
        o.n.div_ceil(LINKS_PER_SOURCE).max(1),
    )?;
    let root = o.out.join("root");
    let mut rng = Rng(o.seed);
    // Skewed class weights: class k drawn with weight 1/(1 + k/50), by inverse CDF.
    let weights: Vec<f64> = (0..o.classes)
        .map(|k| 1.0 / (1.0 + k as f64 / 50.0))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(o.classes);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let draw_class = |rng: &mut Rng| {
        let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        cdf.partition_point(|&c| c < u).min(o.classes - 1)
    };
    let draw_split = |rng: &mut Rng| match rng.below(10) {
        0 => "val",
        1 => "test",
        _ => "train",
    };
    let unique = o.n - o.copies - o.big_group;
    let mut records: Vec<Record> = Vec::with_capacity(o.n);
    for i in 0..o.n {
        let split = draw_split(&mut rng);
        let class = draw_class(&mut rng);
        let path = PathBuf::from(format!("{split}/c{class:04}/{i:08}.jpg"));
        let mut r = record(path, split, format!("c{class:04}"), &mut rng);
        if i >= unique + o.copies {
            // The big group: one placeholder image, byte-identical everywhere.
            r.set_blake3(Some([0xba; 16]));
            r.set_phash(Some(0x5555));
            r.set_dhash(Some(0xaaaa));
            r.set_phash_crop(Some(0x5555));
            let h = Hash256([0x5555; 4]);
            r.set_hash256(Some(Hashes256 {
                full: h,
                untrimmed: None,
                crops: [h, h],
            }));
            (r.width, r.height) = (200, 200);
        } else if i >= unique {
            // A copy of a readable image: a copy of a corrupt record would be an "ok" record
            // without hashes, which every scan reads again.
            let orig = loop {
                let o = &records[rng.below(unique)];
                if o.status == Status::Ok {
                    break o;
                }
            };
            if rng.below(10) < 4 {
                r.set_blake3(orig.blake3());
                r.set_phash(orig.phash());
                r.set_dhash(orig.dhash());
                r.set_phash_crop(orig.phash_crop());
                r.set_hash256(orig.hash256());
                (r.width, r.height) = (orig.width, orig.height);
            } else {
                let k = 1 + rng.below(3) as u32;
                let p = rng.flip_bits(orig.phash().unwrap_or_default(), k);
                let kd = rng.below(3) as u32;
                r.set_phash(Some(p));
                r.set_dhash(Some(rng.flip_bits(orig.dhash().unwrap_or_default(), kd)));
                r.set_phash_crop(Some(rng.flip_bits(p, 6)));
                r.set_hash256(orig.hash256().map(|o| hashes256(&mut rng, Some((o, k)))));
            }
            // A copy usually keeps the class (a few are label conflicts).
            if rng.below(20) != 0 {
                r.class.clone_from(&orig.class);
                r.path = format!("{}/{}/{i:08}.jpg", r.split, r.class).into();
            }
        } else if rng.below(1000) == 0 {
            r.status = Status::Corrupt;
            r.message = "synthetic: corrupt JPEG data".into();
            r.set_phash(None);
            r.set_dhash(None);
            r.set_phash_crop(None);
            r.set_hash256(None);
        }
        records.push(r);
    }
    let mut planted = plant(&o, unique, &mut records, &mut rng);
    let affine = plant_affine(&o, unique, &records, &planted, &mut rng);
    for (i, r) in records.iter_mut().enumerate() {
        let (src, size, mtime) = &sources[i / LINKS_PER_SOURCE];
        let link = root.join(&r.path);
        if let Some(dir) = link.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::hard_link(src, &link).with_context(|| format!("cannot link {}", link.display()))?;
        (r.size, r.mtime_ns) = (*size, *mtime);
    }
    if o.features {
        write_features(&o.out, &records, &affine, o.features_per_image)?;
    }
    for &(a, b) in &affine {
        let path = |r: &Record| r.path.to_string_lossy().into_owned();
        planted.push((path(&records[a]), path(&records[b]), u32::MAX));
    }
    records.sort_by(|a, b| a.path.cmp(&b.path));
    index::write_atomic(&o.out.join("index.csv"), &records)?;
    if !planted.is_empty() {
        let mut csv = String::from("path_a,path_b,distance\n");
        for (a, b, d) in &planted {
            if *d == u32::MAX {
                csv.push_str(&format!("{a},{b},affine\n"));
            } else {
                csv.push_str(&format!("{a},{b},{d}\n"));
            }
        }
        fs::write(o.out.join("planted.csv"), csv)?;
    }
    eprintln!(
        "synth: {} files under {}, index {}, {} planted copies + a group of {}, {:.1} s",
        o.n,
        root.display(),
        o.out.join("index.csv").display(),
        o.copies,
        o.big_group,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
