//! The sidecar at the end of a scan: features of reused records that the previous sidecar
//! lacks are computed (their files read once more), the sidecar is rewritten when anything is
//! new, and registered for `leaks`.

use std::fs;
use std::path::Path;

use anyhow::Result;
use rayon::prelude::*;

use super::{Features, extract};
use crate::base::format;
use crate::index::Record;
use crate::scan::special;

/// Whether a record's features belong in the sidecar.
pub(crate) fn wants_features(r: &Record) -> bool {
    r.hashable() && r.blake3().is_some()
}

/// Writes the features sidecar when the scan computed anything new, after computing the
/// features of reused records that the previous sidecar lacks (an index from before the
/// sidecar, or a deleted sidecar: their files are read once more), then registers it for
/// `leaks` ([`super::sidecar::register`]). An unchanged rescan only reads the sidecar's
/// table. Returns whether it wrote.
pub(crate) fn update(
    root: &Path,
    reused: &[Record],
    pending: Option<super::sidecar::write::Pending>,
    previous: Option<super::sidecar::Sidecar>,
    path: &Path,
    max_pixels: u64,
) -> Result<bool> {
    use super::sidecar::write::write_atomic;
    use super::sidecar::{Sidecar, register};
    // Without a folder for the pending file there is no sidecar either.
    let Some(pending) = pending else {
        return Ok(false);
    };
    let has = |r: &Record| {
        previous
            .as_ref()
            .is_some_and(|p| r.blake3().is_some_and(|d| p.contains(&d)))
    };
    let missing: Vec<&Record> = reused
        .iter()
        .filter(|r| wants_features(r) && !has(r))
        .collect();
    // Into the pending file as they are made, like the scan's own.
    missing.par_iter().try_for_each(|r| -> Result<()> {
        let Some(d) = r.blake3() else {
            return Ok(());
        };
        let Ok(bytes) = fs::read(root.join(&r.path)) else {
            return Ok(());
        };
        // The decoders are guarded inside `decode`; a panic in our own code here is a bug.
        match features_of_bytes(&bytes, max_pixels) {
            Some(f) => pending.add(d, &f),
            None => Ok(()),
        }
    })?;
    let write = !pending.is_empty() || previous.is_none();
    if write {
        let kept: Vec<crate::index::Digest> = reused
            .iter()
            .filter(|r| has(r))
            .filter_map(Record::blake3)
            .collect();
        write_atomic(path, Vec::new(), kept, Some(pending), previous.as_ref())?;
    }
    drop(previous);
    if let Some(s) = Sidecar::open(path)? {
        register(s);
    }
    Ok(write)
}

/// The local features of an image file's bytes (sniff, decode, extract), as the scan
/// computes them.
pub fn features_of_bytes(bytes: &[u8], max_pixels: u64) -> Option<Features> {
    let fmt = format::sniff(bytes)?;
    let d = special::decode(fmt, bytes, max_pixels).ok()?;
    Some(extract(&d.gray, d.gray_w, d.gray_h, d.extent))
}
