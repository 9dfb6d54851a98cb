//! Local-feature verification on a set with ground truth (issue 22, README "Augmented
//! copies"): `cargo run --release --example affine_study -- ROOT GT.tsv [MAX_UNRELATED]`.
//! GT.tsv: `copy<TAB>original[<TAB>kind]` paths relative to ROOT (a header line is skipped).
//! Prints per kind the true pairs accepted and their inlier quantiles, and for unrelated
//! cross-split pairs (every pair of a copy with an image that is not its original) the
//! largest inlier counts and the accepted ones.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cleansplit::base::format;
use cleansplit::near::affine::verify;
use cleansplit::scan::features::{self, Features};
use rayon::prelude::*;

fn load(p: &Path) -> Option<Features> {
    let bytes = std::fs::read(p).ok()?;
    let fmt = format::sniff(&bytes)?;
    let d = cleansplit::scan::special::decode(fmt, &bytes, 1 << 28).ok()?;
    Some(features::extract(&d.gray, d.gray_w, d.gray_h, d.extent))
}

/// An unrelated pair's verification: inliers, accepted, the two images, spread, matches,
/// rotation, scale, residual.
type Unrelated = (usize, bool, usize, usize, f32, usize, f32, f32, f32);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = PathBuf::from(&args[1]);
    let gt = std::fs::read_to_string(&args[2]).unwrap();
    let max_unrelated: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let mut pairs: Vec<(String, String, String)> = Vec::new();
    for line in gt.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 2 || f[0] == "copy" {
            continue;
        }
        pairs.push((
            f[0].into(),
            f[1].into(),
            f.get(2).unwrap_or(&"copy").to_string(),
        ));
    }
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .follow_links(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(&root).unwrap().to_path_buf())
        .filter(|p| {
            format::Format::from_extension(
                &p.extension()
                    .map(|e| e.to_string_lossy().to_lowercase())
                    .unwrap_or_default(),
            )
            .is_some()
        })
        .collect();
    files.sort();
    let t = std::time::Instant::now();
    let feats: Vec<Option<Features>> = files.par_iter().map(|p| load(&root.join(p))).collect();
    let n_feat: usize = feats.iter().flatten().map(|f| f.len()).sum();
    eprintln!(
        "{} images, {:.1} features each, {:.2} s",
        files.len(),
        n_feat as f64 / files.len() as f64,
        t.elapsed().as_secs_f64()
    );
    let pos: BTreeMap<&Path, usize> = files
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_path(), i))
        .collect();
    let split = |p: &Path| p.components().next().map(|c| c.as_os_str().to_owned());
    let mut by_kind: BTreeMap<String, Vec<(usize, bool)>> = BTreeMap::new();
    let truth: std::collections::HashSet<(usize, usize)> = pairs
        .iter()
        .filter_map(|(c, o, _)| Some((*pos.get(Path::new(c))?, *pos.get(Path::new(o))?)))
        .flat_map(|(a, b)| [(a, b), (b, a)])
        .collect();
    let t = std::time::Instant::now();
    let res: Vec<(String, Option<verify::Outcome>)> = pairs
        .par_iter()
        .map(|(c, o, k)| {
            let (Some(&a), Some(&b)) = (pos.get(Path::new(o)), pos.get(Path::new(c))) else {
                return (k.clone(), None);
            };
            match (&feats[a], &feats[b]) {
                (Some(fa), Some(fb)) => (k.clone(), verify::study(fa, fb)),
                _ => (k.clone(), None),
            }
        })
        .collect();
    for (k, o) in &res {
        let e = by_kind.entry(k.clone()).or_default();
        e.push(o.map_or((0, false), |o| (o.fit.inliers, o.accepted)));
    }
    for (k, v) in &by_kind {
        let mut inl: Vec<usize> = v.iter().map(|x| x.0).collect();
        inl.sort();
        let q = |f: f64| inl[((inl.len() - 1) as f64 * f) as usize];
        println!(
            "{k}: accepted {}/{}  inliers min {} p5 {} p25 {} median {}",
            v.iter().filter(|x| x.1).count(),
            v.len(),
            q(0.0),
            q(0.05),
            q(0.25),
            q(0.5)
        );
    }
    for ((c, o, k), (_, r)) in pairs.iter().zip(&res) {
        if !r.is_some_and(|r| r.accepted) {
            println!(
                "  missed {k} {c} ~ {o}: {:?}",
                r.map(|r| (
                    r.fit.inliers,
                    r.fit.matches,
                    r.spread,
                    r.fit.rotation_deg,
                    r.fit.scale
                ))
            );
        } else if let Some(r) = r
            && ((r.fit.inliers as f32) < 0.4 * r.fit.matches as f32 || r.fit.inliers < 30)
        {
            println!(
                "  weak {k} {c}: {}/{} spread {:.3} residual {:.2}",
                r.fit.inliers, r.fit.matches, r.spread, r.residual
            );
        }
    }
    // Residuals of the true pairs, and named pairs (HARD=file of `a<TAB>b` lines).
    let mut res_true: Vec<f32> = res
        .iter()
        .filter_map(|(_, o)| o.filter(|o| o.accepted).map(|o| o.residual))
        .collect();
    res_true.sort_by(f32::total_cmp);
    if !res_true.is_empty() {
        let q = |f: f64| res_true[((res_true.len() - 1) as f64 * f) as usize];
        println!(
            "true pairs' residual (px): median {:.2} p95 {:.2} p99 {:.2} max {:.2}",
            q(0.5),
            q(0.95),
            q(0.99),
            q(1.0)
        );
    }
    if let Ok(hard) = std::env::var("HARD") {
        for line in std::fs::read_to_string(hard).unwrap().lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 2 {
                continue;
            }
            let (Some(&a), Some(&b)) = (pos.get(Path::new(f[0])), pos.get(Path::new(f[1]))) else {
                println!("  hard {line}: not found");
                continue;
            };
            let o = verify::study(feats[a].as_ref().unwrap(), feats[b].as_ref().unwrap());
            println!(
                "  hard {} ~ {}: {:?}",
                f[0],
                f[1],
                o.map(|o| (
                    o.accepted,
                    o.fit.inliers,
                    o.fit.matches,
                    o.spread,
                    o.residual,
                    o.fit.rotation_deg,
                    o.fit.scale
                ))
            );
        }
    }
    // Candidate votes: true pairs against all others, per key plan.
    let ok_feats: Vec<Features> = feats
        .iter()
        .map(|f| f.clone().unwrap_or_default())
        .collect();
    let true_pairs: std::collections::HashSet<(u32, u32)> = truth
        .iter()
        .map(|&(a, b)| (a.min(b) as u32, a.max(b) as u32))
        .collect();
    // PLANS: tables,bits,max_bucket[,keys per image] ...
    let plans: Vec<(usize, usize, usize, usize)> = std::env::var("PLANS")
        .unwrap_or_else(|_| "8,32,8 8,32,8,64 8,32,8,32 4,32,8,64 8,24,16 16,28,16".into())
        .split_whitespace()
        .map(|p| {
            let v: Vec<usize> = p.split(',').map(|x| x.parse().unwrap()).collect();
            (v[0], v[1], v[2], v.get(3).copied().unwrap_or(usize::MAX))
        })
        .collect();
    for (tables, bits, max_bucket, keys) in plans {
        let plan = cleansplit::near::affine::KeyPlan {
            tables,
            bits,
            max_bucket,
            min_votes: 1,
            keys_per_image: keys,
        };
        let t = std::time::Instant::now();
        let (scores, _) =
            cleansplit::near::affine::candidates::scores(ok_feats.as_slice(), &plan, None, 1)
                .unwrap();
        let v: std::collections::HashMap<(u32, u32), u32> = scores.into_iter().collect();
        let el = t.elapsed().as_secs_f64();
        let mut tv: Vec<u32> = true_pairs
            .iter()
            .map(|p| v.get(p).copied().unwrap_or(0))
            .collect();
        tv.sort();
        let mut fv: Vec<u32> = v
            .iter()
            .filter(|(p, _)| !true_pairs.contains(p))
            .map(|(_, &c)| c)
            .collect();
        fv.sort();
        let above = |th: u32| fv.iter().filter(|&&c| c >= th).count();
        let min_votes = cleansplit::near::affine::MIN_VOTES;
        println!(
            "plan tables {tables} bits {bits} bucket {max_bucket} keys {keys}: {el:.2} s; true votes >= {}: {}/{}, min {} p5 {} median {}; other pairs with votes {} (>=2: {}, >=3: {}, >=5: {}, >=8: {}), max {}",
            min_votes,
            tv.iter().filter(|&&v| v >= min_votes).count(),
            tv.len(),
            tv.first().unwrap_or(&0),
            tv.get(tv.len() / 20).unwrap_or(&0),
            tv.get(tv.len() / 2).unwrap_or(&0),
            fv.len(),
            above(2),
            above(3),
            above(5),
            above(8),
            fv.last().unwrap_or(&0)
        );
    }
    if std::env::var("NO_UNRELATED").is_ok() {
        return;
    }
    // Unrelated cross-split pairs.
    let mut cand: Vec<(usize, usize)> = Vec::new();
    for i in 0..files.len() {
        for j in i + 1..files.len() {
            if split(&files[i]) != split(&files[j]) && !truth.contains(&(i, j)) {
                cand.push((i, j));
            }
        }
    }
    let step = (cand.len() / max_unrelated).max(1);
    let cand: Vec<(usize, usize)> = cand.into_iter().step_by(step).collect();
    let mut un: Vec<Unrelated> = cand
        .par_iter()
        .filter_map(|&(i, j)| {
            let o = verify::study(feats[i].as_ref()?, feats[j].as_ref()?)?;
            Some((
                o.fit.inliers,
                o.accepted,
                i,
                j,
                o.spread,
                o.fit.matches,
                o.fit.rotation_deg,
                o.fit.scale,
                o.residual,
            ))
        })
        .collect();
    un.sort_by_key(|u| std::cmp::Reverse(u.0));
    println!(
        "unrelated cross-split pairs: {} checked, {} accepted, {:.2} s verification of everything",
        un.len(),
        un.iter().filter(|x| x.1).count(),
        t.elapsed().as_secs_f64()
    );
    let mut res_un: Vec<f32> = un.iter().filter(|x| x.0 >= 10).map(|x| x.8).collect();
    res_un.sort_by(f32::total_cmp);
    println!(
        "unrelated pairs with >= 10 inliers: residuals {:?}",
        res_un.iter().take(10).collect::<Vec<_>>()
    );
    for (inl, acc, i, j, sp, m, r, s, _) in un.iter().take(12) {
        println!(
            "  {inl}/{m} inliers (accepted {acc}, spread {sp:.3}, rot {r:.1} scale {s:.2}): {} ~ {}",
            files[*i].display(),
            files[*j].display()
        );
    }
}
