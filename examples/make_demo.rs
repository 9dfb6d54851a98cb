//! Generates the small, deterministic demo dataset that `cleansplit` is shown
//! and tested on.
//!
//! ```text
//! cargo run --release --example make_demo -- testdata/demo
//! ```
//!
//! writes `testdata/demo/<split>/<class>/<file>` and, beside it,
//! `testdata/demo_truth.csv` (the list of every planted problem, see below).
//!
//! # Safety rule
//!
//! The output folder is deleted and recreated. To avoid wiping anything else,
//! an existing output folder is only removed if it is empty or if it looks like
//! an earlier output of this program: it holds a `train/` folder and nothing
//! except `train/` and `val/`. Otherwise the program refuses and exits with an
//! error, touching nothing.
//!
//! # What it makes
//!
//! Splits `train` and `val`, classes `apple`, `banana` and `cherry`. The
//! "photos" are procedurally generated: a smooth random background (a random
//! linear gradient plus a few large, low-frequency cosine waves blending three
//! random colours), then a few randomly placed, rotated, shaded ellipses,
//! rectangles and convex polygons with soft drop shadows, then mild per-pixel
//! noise. Every photo has its own random low-frequency layout, and a candidate
//! photo is redrawn until its 64-bit DCT perceptual hash (and that of its
//! mirror image) is at least `MIN_DISTANCE` = 24 bits from every earlier
//! photo's, so distinct photos are far apart, while real near-duplicates
//! (resized, re-encoded, ...) stay close to their source.
//! Sizes vary between 160x120 and 320x240, some in portrait orientation.
//! JPEGs are written with quality 85.
//!
//! Distinct photos: `train/apple` 14, `train/banana` 14, `train/cherry` 3,
//! `val/apple` 4, `val/banana` 4, `val/cherry` 1, named like `apple_001.jpg`.
//! `cherry` is deliberately much smaller than the other classes, so the class
//! balance report has an imbalance to show.
//!
//! # Planted problems
//!
//! Each copy is made from its own source photo in `train` (no photo is the
//! source of two problems), and apart from these no two images are similar.
//! Copies are derived from the source's pixels before JPEG encoding (except
//! the exact copy, which copies the file's bytes), which keeps the output
//! independent of any JPEG decoder.
//!
//! | # | file | what it tests |
//! |---|------|---------------|
//! | 1 | `val/apple/resized_copy.jpg` | a train photo at half size: leak found by perceptual hash despite a different resolution |
//! | 2 | `val/banana/reencoded_copy.jpg` | a train photo saved at JPEG quality 50: different bytes, same picture |
//! | 3 | `val/apple/flipped_copy.jpg` | a train photo mirrored left-right: only found when flips are hashed too |
//! | 4 | `val/banana/exact_copy.jpg` | byte-identical copy of a train file: the simplest leak (content hash) |
//! | 5 | `train/apple/conflict.jpg` + `train/banana/conflict.jpg` | the same file under two labels: a label conflict |
//! | 6 | `val/cherry/letterboxed_copy.jpg` | a 4:3 train photo padded to a square with black bars (12.5% top and bottom): found only if uniform borders are trimmed before hashing |
//! | 7 | `val/apple/cropped_copy.jpg` | the central 90% x 90% of a train photo, scaled back to full size: a centre crop |
//! | 8 | `val/banana/grayscale_copy.jpg` | a train photo as an 8-bit grayscale JPEG: the hash works on luminance |
//! | 9 | `train/banana/corrupt.jpg` | 2 KiB of random bytes behind a JPEG SOI marker: undecodable |
//! | 10 | `train/apple/empty.jpg` | zero bytes |
//! | 11 | `train/cherry/actually_png.jpg` | a PNG named `.jpg`: extension does not match the content |
//! | 12 | `val/apple/truncated.jpg` | a JPEG cut after 60% of its bytes: an interrupted download (lenient decoders, the `image` crate's included, return it with the missing part grey instead of failing; the missing end-of-image marker `FF D9` gives it away) |
//! | 13 | `train/apple/blank.png` | a uniform mid-gray 200x150 image: near-constant, carries no information |
//! | 14 | `train/cherry/tiny.png` | a 24x24 photo: too small to be useful (under 32 px) |
//! | 15 | `train/banana/dup_within.jpg` | a 0.75x copy of another `train/banana` photo: a duplicate within one split (not a leak) |
//!
//! `<outdir>_truth.csv` has the header `kind,path_a,path_b` and one row per
//! problem, paths relative to the demo root with `/`. Pairs (`resized`,
//! `reencoded`, `flipped`, `exact`, `label_conflict`, `letterbox`, `crop`,
//! `grayscale`, `within_split`) have the train source in `path_a` and the copy
//! in `path_b`; single files (`corrupt`, `empty`, `ext_mismatch`, `truncated`,
//! `near_constant`, `tiny`) leave `path_b` empty.
//!
//! # Determinism
//!
//! Everything comes from one fixed seed through an inline splitmix64 generator;
//! the cosine used for the backgrounds is a polynomial built from `+` and `*`
//! only (no platform `libm`), and the encoder settings are fixed, so two runs
//! produce byte-identical files.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::{self, FilterType};
use image::{ExtendedColorType, GrayImage, ImageEncoder, Rgb, RgbImage};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Master seed: change it and every picture changes.
const SEED: u64 = 0x00c1_ea45_b117_de30;
/// JPEG quality of the photos.
const QUALITY: u8 = 85;
const TAU: f64 = std::f64::consts::TAU;
/// Least pHash distance (bits of 64) between any two distinct photos.
const MIN_DISTANCE: u32 = 24;

/// splitmix64 (Steele, Lea and Flood 2014; the library's one generator): tiny, fast, good
/// enough here.
struct Rng(u64);

impl Rng {
    /// An independent stream for one use (a photo, the corrupt bytes, ...).
    fn stream(id: u64) -> Self {
        let mut r = Rng(SEED ^ id.wrapping_mul(0xd134_2543_de82_ef95));
        r.next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        cleansplit::base::rng::splitmix(&mut self.0)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in [lo, hi].
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }
}

/// Cosine from `+`, `*`, `/` and `round` only, so it gives the same bits on
/// every platform (unlike `f64::cos`, which calls the system math library).
fn cos(x: f64) -> f64 {
    let r = (x - TAU * (x / TAU).round()).abs(); // in [0, pi]
    let half_pi = TAU / 4.0;
    let (a, sign) = if r > half_pi {
        (TAU / 2.0 - r, -1.0)
    } else {
        (r, 1.0)
    };
    let x2 = a * a;
    // Taylor series to x^14; error below 1e-9 on [0, pi/2].
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=7 {
        let k = f64::from(k);
        term *= -x2 / ((2.0 * k - 1.0) * (2.0 * k));
        sum += term;
    }
    sign * sum
}

/// A random colour, brightness and saturation spread wide (values 0..=255).
fn random_color(rng: &mut Rng) -> [f64; 3] {
    let hue = rng.unit();
    let sat = rng.range(0.2, 0.9);
    let val = rng.range(25.0, 245.0);
    let mut c = [0.0; 3];
    for (k, ch) in c.iter_mut().enumerate() {
        let pure = 0.5 + 0.5 * cos(TAU * (hue - k as f64 / 3.0));
        *ch = val * (1.0 - sat + sat * pure);
    }
    c
}

fn lerp(a: [f64; 3], b: [f64; 3], t: f64) -> [f64; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// A smooth random scalar field on the unit square: a linear gradient plus
/// a few low-frequency cosine waves, roughly in [0, 1].
struct Field {
    grad: (f64, f64),
    waves: Vec<(f64, f64, f64, f64)>, // fx, fy, phase, amplitude
}

impl Field {
    fn new(rng: &mut Rng) -> Self {
        let grad = (rng.range(-1.0, 1.0), rng.range(-1.0, 1.0));
        let n = rng.int(2, 3);
        let waves = (0..n)
            .map(|_| {
                (
                    rng.range(-2.0, 2.0),
                    rng.range(-2.0, 2.0),
                    rng.range(0.0, TAU),
                    rng.range(0.1, 0.3),
                )
            })
            .collect();
        Field { grad, waves }
    }

    fn at(&self, u: f64, v: f64) -> f64 {
        let mut f = 0.5 + 0.5 * (self.grad.0 * (u - 0.5) + self.grad.1 * (v - 0.5));
        for &(fx, fy, phase, amp) in &self.waves {
            f += amp * cos(TAU * (fx * u + fy * v) + phase);
        }
        f.clamp(0.0, 1.0)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Ellipse,
    Rect,
    Polygon,
}

/// A filled, rotated shape in pixel coordinates.
struct Shape {
    kind: Kind,
    center: (f64, f64),
    radius: (f64, f64),
    angle: (f64, f64), // (cos, sin) of the rotation
    /// Polygon vertices in the shape's unit frame (x/rx, y/ry).
    vertices: Vec<(f64, f64)>,
}

impl Shape {
    fn random(rng: &mut Rng, w: f64, h: f64) -> Self {
        let kind = match rng.int(0, 2) {
            0 => Kind::Ellipse,
            1 => Kind::Rect,
            _ => Kind::Polygon,
        };
        let m = w.min(h);
        let center = (rng.range(0.05, 0.95) * w, rng.range(0.05, 0.95) * h);
        let radius = (rng.range(0.08, 0.4) * m, rng.range(0.08, 0.4) * m);
        let theta = rng.range(0.0, TAU);
        let angle = (cos(theta), cos(theta - TAU / 4.0));
        let mut vertices = Vec::new();
        if let Kind::Polygon = kind {
            // Convex: sorted angles on a circle of radius 1.
            let n = rng.int(3, 7);
            let mut angles: Vec<f64> = (0..n).map(|_| rng.range(0.0, TAU)).collect();
            angles.sort_by(f64::total_cmp);
            for a in angles {
                vertices.push((cos(a), cos(a - TAU / 4.0)));
            }
        }
        Shape {
            kind,
            center,
            radius,
            angle,
            vertices,
        }
    }

    /// Point in the shape's unit frame.
    fn local(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.center.0, y - self.center.1);
        let (c, s) = self.angle;
        (
            (c * dx + s * dy) / self.radius.0,
            (-s * dx + c * dy) / self.radius.1,
        )
    }

    fn contains(&self, x: f64, y: f64) -> bool {
        let (u, v) = self.local(x, y);
        match self.kind {
            Kind::Ellipse => u * u + v * v <= 1.0,
            Kind::Rect => u.abs() <= 0.8 && v.abs() <= 0.8,
            Kind::Polygon => {
                // Convex and counter-clockwise: inside if left of every edge.
                let n = self.vertices.len();
                (0..n).all(|i| {
                    let (ax, ay) = self.vertices[i];
                    let (bx, by) = self.vertices[(i + 1) % n];
                    (bx - ax) * (v - ay) - (by - ay) * (u - ax) >= 0.0
                })
            }
        }
    }

    /// Pixel bounding box (x0, y0, x1, y1), clipped to the canvas.
    fn bbox(&self, w: usize, h: usize) -> (usize, usize, usize, usize) {
        let r = self.radius.0.max(self.radius.1) + 2.0;
        let clip = |v: f64, max: usize| v.clamp(0.0, max as f64) as usize;
        (
            clip(self.center.0 - r, w),
            clip(self.center.1 - r, h),
            clip(self.center.0 + r + 1.0, w),
            clip(self.center.1 + r + 1.0, h),
        )
    }

    /// Fraction of the pixel (x, y) covered, from 4x4 subsamples.
    fn coverage(&self, x: usize, y: usize, shift: (f64, f64)) -> f64 {
        let mut hits = 0;
        for sy in 0..4 {
            for sx in 0..4 {
                let px = x as f64 + (f64::from(sx) + 0.5) / 4.0 - shift.0;
                let py = y as f64 + (f64::from(sy) + 0.5) / 4.0 - shift.1;
                if self.contains(px, py) {
                    hits += 1;
                }
            }
        }
        f64::from(hits) / 16.0
    }
}

/// Renders one procedural "photo" of the given size from stream `id`.
fn photo(id: u64, w: u32, h: u32) -> RgbImage {
    let mut rng = Rng::stream(id);
    let (wu, hu) = (w as usize, h as usize);
    let (wf, hf) = (f64::from(w), f64::from(h));

    // Background: two smooth fields blending three colours.
    let colors = [
        random_color(&mut rng),
        random_color(&mut rng),
        random_color(&mut rng),
    ];
    let f1 = Field::new(&mut rng);
    let f2 = Field::new(&mut rng);
    let mut px = vec![[0.0f64; 3]; wu * hu];
    for y in 0..hu {
        for x in 0..wu {
            let (u, v) = ((x as f64 + 0.5) / wf, (y as f64 + 0.5) / hf);
            let base = lerp(colors[0], colors[1], f1.at(u, v));
            px[y * wu + x] = lerp(base, colors[2], 0.7 * f2.at(u, v));
        }
    }

    // Foreground: shaded shapes with a soft drop shadow.
    let light = rng.range(0.0, TAU);
    let light = (cos(light), cos(light - TAU / 4.0));
    let shadow = (0.03 * wf.min(hf), 0.04 * wf.min(hf));
    for _ in 0..rng.int(3, 6) {
        let shape = Shape::random(&mut rng, wf, hf);
        let color = random_color(&mut rng);
        let (x0, y0, x1, y1) = shape.bbox(wu, hu);
        let (sx1, sy1) = (
            (x1 + shadow.0 as usize + 2).min(wu),
            (y1 + shadow.1 as usize + 2).min(hu),
        );
        for y in y0..sy1 {
            for x in x0..sx1 {
                let a = 0.35 * shape.coverage(x, y, shadow);
                if a > 0.0 {
                    let p = &mut px[y * wu + x];
                    *p = lerp(*p, [0.0; 3], a);
                }
            }
        }
        for y in y0..y1 {
            for x in x0..x1 {
                let a = shape.coverage(x, y, (0.0, 0.0));
                if a > 0.0 {
                    let (u, v) = shape.local(x as f64 + 0.5, y as f64 + 0.5);
                    let shade = (1.0 + 0.3 * (u * light.0 + v * light.1)).clamp(0.6, 1.4);
                    let c = [color[0] * shade, color[1] * shade, color[2] * shade];
                    let p = &mut px[y * wu + x];
                    *p = lerp(*p, c, a);
                }
            }
        }
    }

    // Mild sensor noise: a shared luminance part and a small per-channel part.
    let mut img = RgbImage::new(w, h);
    for (i, p) in img.pixels_mut().enumerate() {
        let lum = (rng.unit() + rng.unit() - 1.0) * 6.0;
        let c = px[i];
        let mut out = [0u8; 3];
        for k in 0..3 {
            let chroma = (rng.unit() - 0.5) * 3.0;
            out[k] = (c[k] + lum + chroma).round().clamp(0.0, 255.0) as u8;
        }
        *p = Rgb(out);
    }
    img
}

/// A 64-bit DCT perceptual hash, used only to keep the distinct photos apart:
/// luma, 32x32 box average, 2-D DCT-II, the 8x8 lowest frequencies, one bit
/// per coefficient above the median of the 63 non-DC ones.
fn phash(img: &RgbImage) -> u64 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let cell = |i: usize, n: usize| (i * n / 32, ((i + 1) * n / 32).max(i * n / 32 + 1));
    let mut small = [0.0f64; 32 * 32];
    for (cy, row) in small.chunks_mut(32).enumerate() {
        let (y0, y1) = cell(cy, h);
        for (cx, out) in row.iter_mut().enumerate() {
            let (x0, x1) = cell(cx, w);
            let mut sum = 0.0;
            for y in y0..y1 {
                for x in x0..x1 {
                    let [r, g, b] = img.get_pixel(x as u32, y as u32).0;
                    sum += 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
                }
            }
            *out = sum / ((y1 - y0) * (x1 - x0)) as f64;
        }
    }
    let mut basis = [[0.0f64; 32]; 8];
    for (k, row) in basis.iter_mut().enumerate() {
        for (i, b) in row.iter_mut().enumerate() {
            *b = cos(TAU / 2.0 * (2 * i + 1) as f64 * k as f64 / 64.0);
        }
    }
    let mut coeffs = [0.0f64; 64];
    for (k, c) in coeffs.iter_mut().enumerate() {
        let (ky, kx) = (k / 8, k % 8);
        for (i, v) in small.iter().enumerate() {
            *c += v * basis[ky][i / 32] * basis[kx][i % 32];
        }
    }
    let mut ac = coeffs[1..].to_vec();
    ac.sort_by(f64::total_cmp);
    let median = ac[ac.len() / 2];
    coeffs
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > median)
        .fold(0, |bits, (k, _)| bits | 1 << k)
}

/// A random photo size between 160x120 and 320x240 (aspect ratio between
/// 10:9 and 8:5); one in four is portrait.
fn random_size(rng: &mut Rng) -> (u32, u32) {
    let w = rng.int(160, 320);
    let h = (f64::from(w) * rng.range(0.62, 0.9))
        .round()
        .clamp(120.0, 240.0) as u32;
    if rng.int(0, 3) == 0 { (h, w) } else { (w, h) }
}

fn jpeg_rgb(img: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    JpegEncoder::new_with_quality(&mut buf, quality).encode_image(img)?;
    Ok(buf)
}

fn jpeg_gray(img: &GrayImage, quality: u8) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    JpegEncoder::new_with_quality(&mut buf, quality).encode_image(img)?;
    Ok(buf)
}

fn png_rgb(img: &RgbImage) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    PngEncoder::new_with_quality(&mut buf, CompressionType::Best, PngFilter::Adaptive)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )?;
    Ok(buf)
}

/// Writes files under the demo root and records the planted problems.
struct Demo {
    root: PathBuf,
    /// Random stream of the next candidate photo.
    next_id: u64,
    /// pHashes of the distinct photos made so far.
    hashes: Vec<u64>,
    truth: Vec<(&'static str, String, String)>,
}

impl Demo {
    /// A new distinct photo. Random candidates are drawn until one is at
    /// least `MIN_DISTANCE` bits from every earlier photo, both as it is and
    /// mirrored, so no two distinct photos look alike to a perceptual hash.
    fn photo(&mut self, size: Option<(u32, u32)>) -> RgbImage {
        loop {
            self.next_id += 1;
            let id = self.next_id;
            let (w, h) = size.unwrap_or_else(|| random_size(&mut Rng::stream(!id)));
            let img = photo(id, w, h);
            let hash = phash(&img);
            let flipped = phash(&imageops::flip_horizontal(&img));
            let far = |other: &u64| {
                (hash ^ other).count_ones() >= MIN_DISTANCE
                    && (flipped ^ other).count_ones() >= MIN_DISTANCE
            };
            if self.hashes.iter().all(far) {
                self.hashes.push(hash);
                return img;
            }
        }
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, bytes)?;
        Ok(())
    }

    fn plant(&mut self, kind: &'static str, a: &str, b: &str) {
        self.truth.push((kind, a.to_string(), b.to_string()));
    }
}

/// Applies the safety rule (see the top of the file), then empties `out`.
fn prepare_outdir(out: &Path) -> Result<()> {
    if out.exists() {
        let mut has_train = false;
        let mut empty = true;
        for entry in fs::read_dir(out)? {
            let entry = entry?;
            empty = false;
            let name = entry.file_name();
            let is_dir = entry.file_type()?.is_dir();
            match name.to_str() {
                Some("train") if is_dir => has_train = true,
                Some("val") if is_dir => {}
                _ => {
                    return Err(format!(
                        "refusing to delete {}: it holds {:?}, but an earlier demo output \
                         holds only train/ and val/",
                        out.display(),
                        name
                    )
                    .into());
                }
            }
        }
        if !empty && !has_train {
            return Err(format!(
                "refusing to delete {}: it has no train/ folder, so it is not an earlier demo output",
                out.display()
            )
            .into());
        }
        fs::remove_dir_all(out)?;
    }
    fs::create_dir_all(out)?;
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("make_demo: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out] = args.as_slice() else {
        return Err(
            "usage: cargo run --release --example make_demo -- <OUTDIR>  \
                    (e.g. testdata/demo)"
                .into(),
        );
    };
    let out = PathBuf::from(out);
    let name = match out.file_name().and_then(|n| n.to_str()) {
        Some(n) => n.to_string(),
        None => return Err(format!("{}: needs a plain folder name", out.display()).into()),
    };
    let truth_path = out.with_file_name(format!("{name}_truth.csv"));
    prepare_outdir(&out)?;

    let mut demo = Demo {
        root: out.clone(),
        next_id: 0,
        hashes: Vec::new(),
        truth: Vec::new(),
    };

    // Photos that some planted copies need at a fixed size: (class, number, size).
    // apple_003 is 320x240 so its half-size copy is still 160x120; cherry_002
    // is 4:3 landscape so its letterboxed copy has bars top and bottom.
    let fixed = [("apple", 3, (320, 240)), ("cherry", 2, (288, 216))];

    // The distinct photos; train ones are kept as sources for the copies.
    let counts = [
        ("train", "apple", 14),
        ("train", "banana", 14),
        ("train", "cherry", 3),
        ("val", "apple", 4),
        ("val", "banana", 4),
        ("val", "cherry", 1),
    ];
    let mut train: Vec<(String, RgbImage, Vec<u8>)> = Vec::new();
    for (split, class, count) in counts {
        for i in 1..=count {
            let size = fixed
                .iter()
                .find(|f| split == "train" && f.0 == class && f.1 == i)
                .map(|f| f.2);
            let img = demo.photo(size);
            let rel = format!("{split}/{class}/{class}_{i:03}.jpg");
            let bytes = jpeg_rgb(&img, QUALITY)?;
            demo.write(&rel, &bytes)?;
            if split == "train" {
                train.push((rel, img, bytes));
            }
        }
    }
    let source = |class: &str, i: u32| {
        let rel = format!("train/{class}/{class}_{i:03}.jpg");
        let (rel, img, bytes) = train.iter().find(|t| t.0 == rel).expect("source exists");
        (rel.clone(), img.clone(), bytes.clone())
    };

    // 1. Resized to half size.
    let (src, img, _) = source("apple", 3);
    let copy = imageops::resize(
        &img,
        img.width() / 2,
        img.height() / 2,
        FilterType::Triangle,
    );
    let dst = "val/apple/resized_copy.jpg";
    demo.write(dst, &jpeg_rgb(&copy, QUALITY)?)?;
    demo.plant("resized", &src, dst);

    // 2. Re-encoded at quality 50.
    let (src, img, _) = source("banana", 2);
    let dst = "val/banana/reencoded_copy.jpg";
    demo.write(dst, &jpeg_rgb(&img, 50)?)?;
    demo.plant("reencoded", &src, dst);

    // 3. Mirrored left-right.
    let (src, img, _) = source("apple", 7);
    let dst = "val/apple/flipped_copy.jpg";
    demo.write(dst, &jpeg_rgb(&imageops::flip_horizontal(&img), QUALITY)?)?;
    demo.plant("flipped", &src, dst);

    // 4. Byte-identical copy.
    let (src, _, bytes) = source("banana", 5);
    let dst = "val/banana/exact_copy.jpg";
    demo.write(dst, &bytes)?;
    demo.plant("exact", &src, dst);

    // 5. The same file under two labels.
    let bytes = jpeg_rgb(&demo.photo(None), QUALITY)?;
    let (a, b) = ("train/apple/conflict.jpg", "train/banana/conflict.jpg");
    demo.write(a, &bytes)?;
    demo.write(b, &bytes)?;
    demo.plant("label_conflict", a, b);

    // 6. Letterboxed: the 4:3 photo centred on a black square.
    let (src, img, _) = source("cherry", 2);
    let side = img.width().max(img.height());
    let mut canvas = RgbImage::from_pixel(side, side, Rgb([0, 0, 0]));
    let (ox, oy) = ((side - img.width()) / 2, (side - img.height()) / 2);
    imageops::replace(&mut canvas, &img, i64::from(ox), i64::from(oy));
    let dst = "val/cherry/letterboxed_copy.jpg";
    demo.write(dst, &jpeg_rgb(&canvas, QUALITY)?)?;
    demo.plant("letterbox", &src, dst);

    // 7. Central 90% x 90%, scaled back to the original size.
    let (src, img, _) = source("apple", 11);
    let (w, h) = img.dimensions();
    let (cw, ch) = ((w * 9).div_ceil(10), (h * 9).div_ceil(10));
    let crop = imageops::crop_imm(&img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
    let copy = imageops::resize(&crop, w, h, FilterType::Triangle);
    let dst = "val/apple/cropped_copy.jpg";
    demo.write(dst, &jpeg_rgb(&copy, QUALITY)?)?;
    demo.plant("crop", &src, dst);

    // 8. Grayscale, saved as an 8-bit gray JPEG.
    let (src, img, _) = source("banana", 9);
    let dst = "val/banana/grayscale_copy.jpg";
    demo.write(dst, &jpeg_gray(&imageops::grayscale(&img), QUALITY)?)?;
    demo.plant("grayscale", &src, dst);

    // 9. Random bytes behind a JPEG start-of-image marker.
    let mut rng = Rng::stream(0xc0ff_ee00);
    let mut bytes = vec![0xff, 0xd8, 0xff];
    while bytes.len() < 2048 {
        bytes.push(rng.next_u64() as u8);
    }
    let dst = "train/banana/corrupt.jpg";
    demo.write(dst, &bytes)?;
    demo.plant("corrupt", dst, "");

    // 10. Empty file.
    let dst = "train/apple/empty.jpg";
    demo.write(dst, &[])?;
    demo.plant("empty", dst, "");

    // 11. A PNG named .jpg (kept small: PNG is lossless, so larger).
    let img = demo.photo(Some((160, 120)));
    let dst = "train/cherry/actually_png.jpg";
    demo.write(dst, &png_rgb(&img)?)?;
    demo.plant("ext_mismatch", dst, "");

    // 12. A JPEG cut after 60% of its bytes.
    let bytes = jpeg_rgb(&demo.photo(None), QUALITY)?;
    let dst = "val/apple/truncated.jpg";
    demo.write(dst, &bytes[..bytes.len() * 6 / 10])?;
    demo.plant("truncated", dst, "");

    // 13. Uniform mid-gray.
    let img = RgbImage::from_pixel(200, 150, Rgb([128, 128, 128]));
    let dst = "train/apple/blank.png";
    demo.write(dst, &png_rgb(&img)?)?;
    demo.plant("near_constant", dst, "");

    // 14. A 24x24 photo.
    let img = demo.photo(Some((24, 24)));
    let dst = "train/cherry/tiny.png";
    demo.write(dst, &png_rgb(&img)?)?;
    demo.plant("tiny", dst, "");

    // 15. A 0.75x copy of another photo of the same split and class.
    let (src, img, _) = source("banana", 13);
    let (w, h) = (
        (img.width() * 3).div_ceil(4),
        (img.height() * 3).div_ceil(4),
    );
    let copy = imageops::resize(&img, w, h, FilterType::Triangle);
    let dst = "train/banana/dup_within.jpg";
    demo.write(dst, &jpeg_rgb(&copy, QUALITY)?)?;
    demo.plant("within_split", &src, dst);

    let mut csv = String::from("kind,path_a,path_b\n");
    for (kind, a, b) in &demo.truth {
        csv.push_str(&format!("{kind},{a},{b}\n"));
    }
    fs::write(&truth_path, csv)?;
    println!(
        "wrote {} and {}: {} distinct photos ({} candidates drawn), {} planted problems",
        out.display(),
        truth_path.display(),
        demo.hashes.len(),
        demo.next_id,
        demo.truth.len()
    );
    Ok(())
}
