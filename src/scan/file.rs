//! One file: read it once, BLAKE3 the bytes, sniff the format, check the container's end,
//! decode (the third-party decoders behind `guard`), hash the reduction, and take the local
//! features; a record per file whatever happens to it.

use std::fs;
use std::path::Path;

use super::{MAX_FILE_BYTES, budget, decode, features, hash, hash256, quality, special};
use crate::base::flags::{Flag, Status};
use crate::base::format::{self, Format};
use crate::base::intern::Name;
use crate::base::paths::extension;
use crate::index::{self, Record};
use crate::layout::Candidate;
use crate::loader::Loader;

/// Flags that follow from the path, class and content rather than from decoding: set on
/// fresh and reused records alike, so an index from an older version gets them too.
pub(super) fn path_flags(r: &mut Record) {
    crate::layout::odd_names::apply(&r.path, &mut r.flags);
    r.flags.set(Flag::Unlabeled, r.class.is_empty());
    r.flags.set(Flag::KerasSkips, !Loader::Keras.loads(r));
}

pub(super) fn blank_record(c: &Candidate) -> Record {
    let mut r = Record::new(c.rel.clone());
    (r.split, r.class) = (c.split.clone(), c.class.clone());
    (r.size, r.mtime_ns) = (c.size, c.mtime_ns);
    r
}

/// Reads, checks, decodes and hashes one file. Never panics and never fails: every problem
/// becomes a status and a message in the record.
/// The file is `root.join(&c.rel)` (a candidate holds only its relative path: at a million
/// files the absolute copies were ~100 bytes per image at the scan's peak).
pub fn scan_file(root: &Path, c: &Candidate, max_pixels: u64) -> Record {
    scan_file_features(root, c, max_pixels).0
}

/// [`scan_file`] with the image's local features ([`features`]; `None` when the image is not
/// hashable).
pub fn scan_file_features(
    root: &Path,
    c: &Candidate,
    max_pixels: u64,
) -> (Record, Option<features::Features>) {
    let (mut rec, f) = budget::per_file(|| read_file(&root.join(&c.rel), c, max_pixels));
    path_flags(&mut rec);
    (rec, f)
}

fn read_file(abs: &Path, c: &Candidate, max_pixels: u64) -> (Record, Option<features::Features>) {
    let mut rec = blank_record(c);
    if c.size > MAX_FILE_BYTES {
        rec.status = Status::TooLarge;
        rec.message = format!(
            "{} bytes; files over {MAX_FILE_BYTES} bytes are not read (the scan's memory budget per file)",
            c.size
        )
        .into();
        return (rec, None);
    }
    // Over a job's share, the file waits for the large slot before it is read.
    let _ = budget::reserve(c.size, String::new);
    // Directories named like images, FIFOs, sockets, devices: never opened for reading.
    match fs::metadata(abs) {
        Ok(md) if md.is_file() => {}
        Ok(_) => {
            rec.message = "not a regular file (a directory, FIFO, socket or device)".into();
            return (rec, None);
        }
        Err(e) => {
            rec.message = e.to_string().into();
            return (rec, None);
        }
    }
    let bytes = match fs::read(abs) {
        Ok(b) => b,
        Err(e) => {
            rec.status = Status::Unreadable;
            rec.message = e.to_string().into();
            return (rec, None);
        }
    };
    rec.size = bytes.len() as u64;
    let f = examine_guarded(&mut rec, &bytes, max_pixels, true);
    (rec, f)
}

/// The whole per-file path on bytes already in memory (sniff, truncation check, decode,
/// reduce, hash) for a file named `rel`, as [`scan_file`] does it after reading. For the fuzz
/// harness (`fuzz/`) and regression tests: a record whose message starts with
/// [`super::guard::PANIC_MESSAGE`] is a bug.
pub fn examine_bytes(rel: &Path, bytes: &[u8], max_pixels: u64) -> Record {
    let c = Candidate {
        rel: rel.into(),
        split: Name::default(),
        class: Name::default(),
        size: bytes.len() as u64,
        mtime_ns: 0,
    };
    let mut rec = blank_record(&c);
    if !format::keras_takes_extension(&c.rel) {
        rec.flags.insert(Flag::KerasSkips);
    }
    budget::per_file(|| examine_guarded(&mut rec, bytes, max_pixels, true));
    rec
}

/// Empty check, content hash, then [`examine`] (whose decoder calls are guarded: see
/// [`guard`]).
fn examine_guarded(
    rec: &mut Record,
    bytes: &[u8],
    max_pixels: u64,
    with_features: bool,
) -> Option<features::Features> {
    if bytes.is_empty() {
        rec.status = Status::Empty;
        rec.message = "zero bytes".into();
        return None;
    }
    rec.set_blake3(Some(index::digest_of(bytes)));
    if crate::output::fault::panic_marker(bytes, "SCAN") {
        panic!("injected panic in the scan's own code");
    }
    examine(rec, bytes, max_pixels, with_features)
}

/// Format, truncation, decode, hashes and (`with_features`) local features; fills `rec` in
/// place.
fn examine(
    rec: &mut Record,
    bytes: &[u8],
    max_pixels: u64,
    with_features: bool,
) -> Option<features::Features> {
    let ext_format = extension(&rec.path).and_then(|e| Format::from_extension(&e));
    // TGA has no magic number: its extension is all there is to go on (the decoder then
    // checks the header).
    let sniffed = format::sniff(bytes).or(ext_format.filter(|&f| f == Format::Tga));
    let Some(fmt) = sniffed else {
        (rec.status, rec.message) = match ext_format {
            Some(f) => (
                Status::Corrupt,
                format!(
                    "the bytes are not a recognisable image (the name says {})",
                    f.as_str()
                )
                .into(),
            ),
            None => (Status::Unsupported, "not a recognised image format".into()),
        };
        return None;
    };
    rec.format = Some(fmt);
    if fmt == Format::Jpeg {
        rec.set_jpeg_quality(quality::jpeg_quality(bytes));
    }
    if ext_format != Some(fmt) {
        rec.flags.insert(Flag::ExtMismatch);
    }
    if format::is_animated(fmt, bytes) {
        rec.flags.insert(Flag::Animated);
    }
    if let Some(why) = format::truncation(fmt, bytes) {
        rec.status = Status::Truncated;
        rec.message = why.into();
        return None;
    }
    let d = match special::decode(fmt, bytes, max_pixels) {
        Ok(d) => d,
        Err(e) => {
            let (status, m) = match e {
                decode::DecodeError::TooLarge(m) => (Status::TooLarge, m),
                decode::DecodeError::Unsupported(m) => (Status::Unsupported, m),
                decode::DecodeError::Corrupt(m) => (Status::Corrupt, m),
            };
            (rec.status, rec.message) = (status, m.into());
            return None;
        }
    };
    rec.width = d.width;
    rec.height = d.height;
    rec.color = d.color.into();
    rec.orientation = d.orientation;
    for f in d.flags.iter() {
        rec.flags.insert(f);
    }
    if d.width < 32 || d.height < 32 {
        rec.flags.insert(Flag::Tiny);
    }
    let views = hash256::views(&d.gray, d.gray_w, d.gray_h, d.extent, d.orientation);
    let (trimmed, untrimmed) = match views {
        Ok(v) => v,
        Err(e) => {
            rec.status = Status::Corrupt;
            rec.message = e.to_string().into();
            return None;
        }
    };
    let h = hash::hashes_of_reduction(&trimmed);
    rec.set_hash256(Some(hash256::hashes(&trimmed, untrimmed.as_ref())));
    rec.set_phash(Some(h.phash));
    rec.set_dhash(Some(h.dhash));
    rec.set_phash_crop(Some(h.phash_crop));
    if h.near_constant {
        rec.flags.insert(Flag::NearConstant);
    }
    rec.status = Status::Ok;
    (with_features && !h.near_constant)
        .then(|| features::extract(&d.gray, d.gray_w, d.gray_h, d.extent))
}
