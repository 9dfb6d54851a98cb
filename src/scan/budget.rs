//! The memory budget of the scan: what one file may cost (its bytes plus the decoder's
//! buffers), so a scan's peak memory is bounded on any input, not only its pixel count.
//!
//! - A file whose bytes and decoding together need at most [`PER_JOB`] (64 MiB: a 12 MP RGBA
//!   PNG) is scanned by every job at once.
//! - A file needing more (up to [`LARGE`], 512 MiB) waits for the one large slot: only one
//!   such file is held at a time, whatever `--jobs` says.
//! - A file needing more than [`LARGE`] is `too_large`, with the estimate as the reason, and
//!   is never decoded (a file over [`LARGE`] bytes is not even read).
//!
//! So the scan's own buffers stay under `PER_JOB x jobs + LARGE` (docs/DESIGN.md "Safety" gives the
//! measured peak). The estimate is taken from the header before any pixel buffer exists:
//! the decoder's output (`width x height x bytes per pixel`), the gray copy the hashes use
//! (`width x height`), the canvas of an animation (4 bytes per pixel) and, for progressive
//! or multi-scan JPEGs, libjpeg's coefficient buffers.

use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard};

/// What every job may hold for one file at the same time.
pub const PER_JOB: u64 = 64 << 20;
/// The most one file may need; only one file above [`PER_JOB`] is held at a time.
pub const LARGE: u64 = 512 << 20;

static LARGE_SLOT: Mutex<()> = Mutex::new(());

thread_local! {
    /// The large slot, while this thread's file holds it.
    static HELD: RefCell<Option<MutexGuard<'static, ()>>> = const { RefCell::new(None) };
}

/// Releases the large slot when the file's scope ends, also on a panic.
struct Scope;

impl Drop for Scope {
    fn drop(&mut self) {
        HELD.with(|h| h.borrow_mut().take());
    }
}

/// Runs the scan of one file; the large slot [`reserve`] took inside is released at the end.
pub fn per_file<T>(f: impl FnOnce() -> T) -> T {
    let _scope = Scope;
    f()
}

/// Asks for `bytes` of memory for the current file (its bytes and its decoding, in total).
/// Over [`LARGE`]: `Err` with the reason (`what` describes the need). Over [`PER_JOB`]: waits
/// for the large slot, kept until the file's [`per_file`] scope ends.
pub fn reserve(bytes: u64, what: impl FnOnce() -> String) -> Result<(), String> {
    if bytes > LARGE {
        return Err(format!(
            "{} needs about {} MiB, over the scan's memory budget of {} MiB per file",
            what(),
            bytes.div_ceil(1 << 20),
            LARGE >> 20
        ));
    }
    if bytes > PER_JOB {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if h.is_none() {
                *h = Some(LARGE_SLOT.lock().unwrap_or_else(|p| p.into_inner()));
            }
        });
    }
    Ok(())
}

/// Whether this thread holds the large slot (for tests).
pub fn holds_large_slot() -> bool {
    HELD.with(|h| h.borrow().is_some())
}

/// Bytes libjpeg holds for a JPEG's coefficients when it buffers the whole image (progressive
/// or multi-scan files): 2 bytes per coefficient, per component at its sampling. `0` for a
/// single-scan sequential JPEG (decoded a band at a time) or a header that cannot be read.
pub fn jpeg_coefficient_bytes(bytes: &[u8]) -> u64 {
    let Some(h) = super::jpeg_header::frame(bytes) else {
        return 0;
    };
    let scans = memchr::memmem::find_iter(bytes, &[0xFF, 0xDA]).count();
    if !h.progressive && scans <= 1 {
        return 0;
    }
    let (hmax, vmax) = h.sampling.iter().fold((1u64, 1u64), |(a, b), &(x, y)| {
        (a.max(x.into()), b.max(y.into()))
    });
    let (w, ht) = (u64::from(h.width), u64::from(h.height));
    h.sampling
        .iter()
        .map(|&(x, y)| {
            let cw = (w * u64::from(x)).div_ceil(hmax).div_ceil(8);
            let ch = (ht * u64::from(y)).div_ceil(vmax).div_ceil(8);
            cw * ch * 128
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_budget_is_refused_and_large_files_take_the_slot() {
        let e = reserve(LARGE + 1, || "a 1x1 image".into()).unwrap_err();
        assert!(
            e.contains("over the scan's memory budget of 512 MiB"),
            "{e}"
        );
        per_file(|| {
            reserve(PER_JOB, String::new).unwrap();
            assert!(!holds_large_slot());
            reserve(PER_JOB + 1, String::new).unwrap();
            assert!(holds_large_slot());
            // A second ask in the same file keeps the slot (no self-deadlock).
            reserve(LARGE, String::new).unwrap();
        });
        assert!(!holds_large_slot());
        // Released on a panic too.
        let _ = std::panic::catch_unwind(|| {
            per_file(|| {
                reserve(PER_JOB + 1, String::new).unwrap();
                panic!("boom")
            })
        });
        assert!(!holds_large_slot());
        // Free (poisoned by the panic, which `reserve` ignores), not held.
        assert!(!matches!(
            LARGE_SLOT.try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        ));
    }
}
