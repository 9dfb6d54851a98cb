//! Measures candidate 256-bit hashes of the shared reduction on a folder with known copies.
//!
//! `cargo run --release --example hash_study -- ROOT TRUTH.tsv [--cross] [--candidate I] [--show D]`
//!
//! * ROOT: a folder of images (walked recursively, symlinks followed).
//! * TRUTH.tsv: tab-separated, a header line, then `a  b  kind [polarity]` with paths relative
//!   to ROOT (the format of `scripts/truth/*.tsv`, of the set `scripts/make_transform_set.py`
//!   writes, and of `xray_lookalike/PLANTED.tsv`); rows with polarity `neg` are skipped.
//! * `--cross`: unrelated pairs only across splits (first path component differs), as leaks
//!   reports them.
//! * `--candidate I`: only the I-th candidate (0: zero threshold, 1: from 32 x 32, 2: median).
//! * `--show D`: list the true pairs farther apart than D bits in the `flip` mode.
//!
//! Every image goes through the scan's own decode and reduction (border trim, 64 x 64, EXIF
//! upright); each candidate hash is then computed from that reduction, for the whole image and
//! for its central 90% and 75%. For each candidate it prints the distance of every true copy
//! in three match modes (`id`: identity, whole images only; `flip`: identity or left-right
//! mirror, and crop hashes of either image against the other's whole hash; `all8`: the same
//! over all eight flips and quarter turns) per kind, and the distribution of the same distances
//! over unrelated pairs (pairs not joined by the truth). Flips are applied to the reduction
//! and re-hashed, so candidates that cannot do them as bit operations are measured fairly.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use cleansplit::base::format;
use cleansplit::base::hash::{Hashes256, Transform};
use cleansplit::near::{calibrate, decide};
use cleansplit::scan::hash256::{self};
use cleansplit::scan::reduce::{self, Plane, Rect, Resampler};
use cleansplit::scan::{decode, hash};
use rayon::prelude::*;

type H256 = [u64; 4];

/// Crop fractions whose hashes are stored next to the full one.
const CROPS: [f32; 2] = [0.9, 0.75];

/// One candidate: a name and the hash of a reduction (64 x 64) or of a part of it.
struct Candidate {
    name: &'static str,
    hash: fn(&Plane, Rect) -> H256,
}

/// Bases by (cells, window start bits, window end bits).
type BasisCache = HashMap<(usize, u32, u32), std::rc::Rc<Vec<f32>>>;

/// `rows x n` DCT-II basis restricted to the source window `[a, b)` of a 64-point axis:
/// the window is area-resampled to `n` cells first, then the lowest 16 frequencies taken.
fn basis(n: usize, window: (f32, f32)) -> std::rc::Rc<Vec<f32>> {
    thread_local! {
        static CACHE: std::cell::RefCell<BasisCache> = Default::default();
    }
    let key = (n, window.0.to_bits(), window.1.to_bits());
    if let Some(m) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return m;
    }
    let m = std::rc::Rc::new(basis_uncached(n, window));
    CACHE.with(|c| c.borrow_mut().insert(key, m.clone()));
    m
}

fn basis_uncached(n: usize, window: (f32, f32)) -> Vec<f32> {
    // Resampling matrix R (n x 64) from a resampler over a 64 x 1 row.
    let rect = Rect {
        x0: window.0,
        y0: 0.0,
        x1: window.1,
        y1: 1.0,
    };
    let rs = Resampler::new(64, 1, rect, n, 1).expect("non-empty window");
    let mut r = vec![0f32; n * 64];
    for x in 0..64 {
        let mut e = vec![0f32; 64];
        e[x] = 1.0;
        let out = rs.apply(&e);
        for i in 0..n {
            r[i * 64 + x] = out.px[i];
        }
    }
    let mut m = vec![0f32; 16 * 64];
    for u in 0..16 {
        for i in 0..n {
            let c = (std::f64::consts::PI * (2 * i + 1) as f64 * u as f64 / (2 * n) as f64).cos();
            for x in 0..64 {
                m[u * 64 + x] += c as f32 * r[i * 64 + x];
            }
        }
    }
    m
}

/// The 16 x 16 lowest DCT coefficients of the window `rect` of `p`, resampled to `n` cells.
fn coeffs(p: &Plane, rect: Rect, n: usize) -> [f32; 256] {
    let my = basis(n, (rect.y0, rect.y1));
    let mx = basis(n, (rect.x0, rect.x1));
    let mut tmp = vec![0f32; 16 * 64];
    for u in 0..16 {
        for y in 0..64 {
            let c = my[u * 64 + y];
            for x in 0..64 {
                tmp[u * 64 + x] += c * p.px[y * 64 + x];
            }
        }
    }
    let mut f = [0f32; 256];
    for u in 0..16 {
        for v in 0..16 {
            f[16 * u + v] = (0..64).map(|x| tmp[u * 64 + x] * mx[v * 64 + x]).sum();
        }
    }
    f
}

fn bits(f: &[f32; 256], thr: f32, dc: bool) -> H256 {
    let mut h = [0u64; 4];
    for (k, &c) in f.iter().enumerate().skip(1) {
        if c > thr {
            h[k / 64] |= 1 << (k % 64);
        }
    }
    if dc {
        h[0] |= 1;
    }
    h
}

fn median_ac(f: &[f32; 256]) -> f32 {
    let mut v: Vec<f32> = f[1..].to_vec();
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

#[allow(dead_code)]
fn mean(p: &Plane, r: Rect) -> f32 {
    let rs = Resampler::new(64, 64, r, 1, 1).expect("non-empty");
    rs.apply(&p.px).px[0]
}

static CANDIDATES: LazyLock<Vec<Candidate>> = LazyLock::new(|| {
    vec![
        Candidate {
            name: "zero64: 16x16 DCT of the 64x64 view, threshold 0, DC bit 0",
            hash: |p, r| bits(&coeffs(p, r, 64), 0.0, false),
        },
        Candidate {
            name: "zero32: the same from the view 2x2-averaged to 32x32",
            hash: |p, r| bits(&coeffs(p, r, 32), 0.0, false),
        },
        Candidate {
            name: "median64: threshold at the median AC coefficient (PDQ-like)",
            hash: |p, r| {
                let f = coeffs(p, r, 64);
                bits(&f, median_ac(&f), false)
            },
        },
    ]
});

/// Per image and candidate: hashes of the 8 transforms of the two views (`[0]` border-trimmed,
/// `[1]` untrimmed), each for the full view and the crops: `[v][t][0]` full, `[v][t][1 + k]`
/// crop `CROPS[k]`.
type ImageHashes = Vec<[[[H256; 3]; 8]; 2]>;

fn dist(a: &H256, b: &H256) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// The reduction (border-trimmed), the untrimmed reduction, the trimmed rectangle as
/// fractions of the decoded image, and the library's 256-bit hashes.
fn reduction_of(path: &Path) -> Option<([Plane; 2], [f32; 4], Hashes256)> {
    let bytes = std::fs::read(path).ok()?;
    let fmt = format::sniff(&bytes)?;
    let d = decode::decode(fmt, &bytes, 200_000_000).ok()?;
    let r = reduce::trim_borders(&d.gray, d.gray_w, d.gray_h);
    let (w, h) = (d.extent.0, d.extent.1);
    let frac = [r.x0 / w, r.y0 / h, r.x1.min(w) / w, r.y1.min(h) / h];
    let p = hash::reduction_within(&d.gray, d.gray_w, d.gray_h, d.extent, d.orientation).ok()?;
    let whole = Rect {
        x0: 0.0,
        y0: 0.0,
        x1: w,
        y1: h,
    };
    let u = reduce::area_resize(&d.gray, d.gray_w, d.gray_h, whole, 64, 64).ok()?;
    let u = reduce::transform(&u, Transform::from_exif(d.orientation));
    let (t, un) =
        hash256::views(&d.gray, d.gray_w, d.gray_h, d.extent, d.orientation).expect("non-empty");
    let lib = hash256::hashes(&t, un.as_ref());
    Some(([p, u], frac, lib))
}

fn hashes_of(views: &[Plane; 2]) -> ImageHashes {
    let full = Rect::full(64, 64);
    CANDIDATES
        .iter()
        .map(|c| {
            let mut out = [[[[0u64; 4]; 3]; 8]; 2];
            for (v, p) in views.iter().enumerate() {
                for (t, tr) in Transform::ALL.iter().enumerate() {
                    let q = reduce::transform(p, *tr);
                    out[v][t][0] = (c.hash)(&q, full);
                    for (k, &f) in CROPS.iter().enumerate() {
                        out[v][t][1 + k] = (c.hash)(&q, full.centre(f));
                    }
                }
            }
            out
        })
        .collect()
}

/// A match mode: the first `nt` transforms of `a` against `b` as stored; `views`: also the
/// untrimmed views (every trimmed/untrimmed combination), else trimmed only; `crops`: which of
/// the crop hashes (of the untrimmed view) are matched against the other image's full hashes.
struct Mode {
    name: &'static str,
    nt: usize,
    views: bool,
    crops: [bool; 2],
}

const MODES: [Mode; 5] = [
    Mode {
        name: "id",
        nt: 1,
        views: false,
        crops: [false; 2],
    },
    Mode {
        name: "flip,trim",
        nt: 2,
        views: false,
        crops: [true; 2],
    },
    Mode {
        name: "flip",
        nt: 2,
        views: true,
        crops: [true; 2],
    },
    Mode {
        name: "flip,no75",
        nt: 2,
        views: true,
        crops: [true, false],
    },
    Mode {
        name: "all8",
        nt: 8,
        views: true,
        crops: [true; 2],
    },
];

/// Distance of `a` and `b` for candidate `c` in mode `m` (the decision's distance: the
/// minimum over everything the mode tries).
fn mode_dist(a: &ImageHashes, b: &ImageHashes, c: usize, m: &Mode) -> u32 {
    let (ha, hb) = (&a[c], &b[c]);
    let views: &[usize] = if m.views { &[0, 1] } else { &[0] };
    let mut best = u32::MAX;
    for t in 0..m.nt {
        for &va in views {
            for &vb in views {
                best = best.min(dist(&ha[va][t][0], &hb[vb][0][0]));
            }
        }
        for k in 0..2 {
            if m.crops[k] {
                for &v in views {
                    let cv = usize::from(m.views);
                    best = best.min(dist(&ha[cv][t][1 + k], &hb[v][0][0]));
                    best = best.min(dist(&hb[cv][t][1 + k], &ha[v][0][0]));
                }
            }
        }
    }
    best
}

fn pct(sorted: &[u32], q: f64) -> u32 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if pos.len() < 2 {
        eprintln!("usage: hash_study ROOT TRUTH.tsv [--cross]");
        std::process::exit(2);
    }
    let root = PathBuf::from(pos[0]);
    let cross = args.iter().any(|a| a == "--cross");
    let truth = std::fs::read_to_string(pos[1]).expect("read TRUTH.tsv");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(&root).unwrap().to_path_buf())
        .filter(|p| {
            let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
            !matches!(ext.as_deref(), Some("tsv" | "md" | "txt" | "csv") | None)
        })
        .collect();
    files.sort();
    let show: Option<u32> = args
        .iter()
        .position(|a| a == "--show")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    let hashed: Vec<(PathBuf, ImageHashes, [f32; 4], Hashes256)> = files
        .par_iter()
        .filter_map(|rel| {
            let (p, frac, lib) = reduction_of(&root.join(rel))?;
            (p[0].std_dev() >= hash::NEAR_CONSTANT_STD)
                .then(|| (rel.clone(), hashes_of(&p), frac, lib))
        })
        .collect();
    let id: HashMap<&Path, usize> = hashed
        .iter()
        .enumerate()
        .map(|(i, (p, _, _, _))| (p.as_path(), i))
        .collect();
    // Truth pairs and families (union-find) so copies of copies are not "unrelated".
    let mut parent: Vec<usize> = (0..hashed.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut pairs: Vec<(usize, usize, String)> = Vec::new();
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 || f.get(3) == Some(&"neg") {
            continue;
        }
        let (Some(&a), Some(&b)) = (id.get(Path::new(f[0])), id.get(Path::new(f[1]))) else {
            eprintln!(
                "skipped (not decodable or near-constant): {} {}",
                f[0], f[1]
            );
            continue;
        };
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        parent[ra] = rb;
        pairs.push((a, b, f[2].to_owned()));
    }
    let fam: Vec<usize> = (0..hashed.len()).map(|i| find(&mut parent, i)).collect();
    let splits: Vec<Option<std::ffi::OsString>> = hashed
        .iter()
        .map(|(p, _, _, _)| p.components().next().map(|c| c.as_os_str().to_owned()))
        .collect();
    let n = hashed.len();
    println!(
        "{} images hashed, {} true pairs, unrelated pairs: {}",
        n,
        pairs.len(),
        if cross { "across splits" } else { "all" }
    );
    let only: Option<usize> = args
        .iter()
        .position(|a| a == "--candidate")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    for (c, cand) in CANDIDATES.iter().enumerate() {
        if only.is_some_and(|o| o != c) {
            continue;
        }
        println!("\n== {}", cand.name);
        let mut by_kind: BTreeMap<&str, Vec<[u32; 5]>> = BTreeMap::new();
        for (a, b, kind) in &pairs {
            let (ha, hb) = (&hashed[*a].1, &hashed[*b].1);
            let d = MODES.each_ref().map(|m| mode_dist(ha, hb, c, m));
            if show.is_some_and(|s| d[1] > s) {
                println!(
                    "  far {kind} flip={} {} {:?} ~ {} {:?}",
                    d[1],
                    hashed[*a].0.display(),
                    hashed[*a].2,
                    hashed[*b].0.display(),
                    hashed[*b].2
                );
            }
            by_kind.entry(kind).or_default().push(d);
        }
        for (kind, ds) in &by_kind {
            let mut line = format!("  {kind:<18} n={:<3}", ds.len());
            for (m, mode) in MODES.iter().enumerate() {
                let name = mode.name;
                let mut v: Vec<u32> = ds.iter().map(|d| d[m]).collect();
                v.sort_unstable();
                line += &format!(
                    " | {name}: {:>3} {:>3} {:>3}",
                    pct(&v, 0.5),
                    pct(&v, 0.9),
                    v[v.len() - 1]
                );
            }
            println!("{line}");
        }
        let unrelated: Vec<[u32; 5]> = (0..n)
            .into_par_iter()
            .flat_map_iter(|i| {
                let (fam, splits, hashed) = (&fam, &splits, &hashed);
                (i + 1..n)
                    .filter(move |&j| fam[i] != fam[j] && (!cross || splits[i] != splits[j]))
                    .map(move |j| {
                        let (ha, hb) = (&hashed[i].1, &hashed[j].1);
                        MODES.each_ref().map(|m| mode_dist(ha, hb, c, m))
                    })
            })
            .collect();
        for (m, mode) in MODES.iter().enumerate() {
            let name = mode.name;
            let mut v: Vec<u32> = unrelated.iter().map(|d| d[m]).collect();
            if v.is_empty() {
                continue;
            }
            v.sort_unstable();
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            let sd =
                (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            let below = |t: u32| v.partition_point(|&x| x <= t);
            println!(
                "  unrelated {name:<20} n={} min {} 0.01% {} 0.1% {} 1% {} mean {:.1} ± {:.1}; <=32: {} <=48: {} <=64: {}",
                v.len(),
                v[0],
                pct(&v, 0.0001),
                pct(&v, 0.001),
                pct(&v, 0.01),
                mean,
                sd,
                below(32),
                below(48),
                below(64)
            );
        }
    }
    library_decision(&hashed, &pairs, &fam, &splits, cross);
}

/// The library's own decision (calibrated radius, `find_matches`) on these images: true pairs
/// found per kind and the other reported pairs, for the default mirror mode and all eight.
fn library_decision(
    hashed: &[(PathBuf, ImageHashes, [f32; 4], Hashes256)],
    pairs: &[(usize, usize, String)],
    fam: &[usize],
    splits: &[Option<std::ffi::OsString>],
    cross: bool,
) {
    let lib: Vec<Hashes256> = hashed.iter().map(|h| h.3).collect();
    for (name, transforms) in [
        ("flip", &Transform::ALL[..2]),
        ("all8", &Transform::ALL[..]),
    ] {
        let c = calibrate::choose_radius(&lib, transforms, true);
        let found = decide::find_matches(&lib, c.radius, transforms, true);
        let got: std::collections::HashSet<(usize, usize)> =
            found.iter().map(|m| (m.a as usize, m.b as usize)).collect();
        println!("\nlibrary decision, {name}: {}", c.reason);
        let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (a, b, kind) in pairs {
            let e = by_kind.entry(kind).or_default();
            e.0 += 1;
            e.1 += usize::from(got.contains(&((*a).min(*b), (*a).max(*b))));
        }
        let line: Vec<String> = by_kind
            .iter()
            .map(|(k, (n, f))| format!("{k} {f}/{n}"))
            .collect();
        println!("  found: {}", line.join(", "));
        for m in &found {
            let (a, b) = (m.a as usize, m.b as usize);
            if fam[a] != fam[b] && (!cross || splits[a] != splits[b]) {
                println!(
                    "  other pair d={} {} {}: {} ~ {}",
                    m.distance,
                    m.view.as_str(),
                    m.transform.as_str(),
                    hashed[a].0.display(),
                    hashed[b].0.display()
                );
            }
        }
    }
}
