//! Fault injection for the tests, compiled in only with the cargo feature `fault-injection`
//! (which `cargo test` enables through the package's dev-dependency on itself). Without it
//! every hook here is a constant "no fault", so a `cargo build` or `cargo install` binary
//! ignores the variables:
//!
//! - `CLEANSPLIT_ABORT_AFTER_FILES=N`: `split`/`merge` abort the process (as SIGKILL would:
//!   no destructor runs) right after placing the N-th file.
//! - `CLEANSPLIT_PAUSE_AFTER_FILES=N`: they pause after the N-th file (up to a minute, or
//!   until Ctrl-C), so a test can send a real signal at a known point.
//! - `CLEANSPLIT_DISK_FULL_AFTER_BYTES=N`: every write of an output (index, reports, OUT's
//!   files) counts its bytes; once N bytes have been written in the process, writes fail with
//!   "No space left on device", as on a full disk.
//! - `CLEANSPLIT_PANIC_MARKERS=1`: a file holding `CLEANSPLIT-PANIC-IN-DECODER` panics inside
//!   the decoder guard, one holding `CLEANSPLIT-PANIC-IN-SCAN` in the scan's own code
//!   ([`panic_marker`]).

use std::io;

/// Whether this build honours the variables above.
pub const ENABLED: bool = cfg!(feature = "fault-injection");

/// The positive number in the variable `var`, in a build with the hooks; `None` otherwise.
pub fn after_files(var: &str) -> Option<usize> {
    if !ENABLED {
        return None;
    }
    std::env::var(var)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

/// `CLEANSPLIT_ABORT_AFTER_FILES`.
pub fn abort_after_files() -> Option<usize> {
    after_files("CLEANSPLIT_ABORT_AFTER_FILES")
}

/// `CLEANSPLIT_PAUSE_AFTER_FILES`.
pub fn pause_after_files() -> Option<usize> {
    after_files("CLEANSPLIT_PAUSE_AFTER_FILES")
}

#[cfg(feature = "fault-injection")]
mod disk {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static WRITTEN: AtomicU64 = AtomicU64::new(0);
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();

    /// Counts `n` more bytes; `true` when they do not fit under the injected limit.
    pub fn full_after(n: u64) -> bool {
        let limit = *LIMIT.get_or_init(|| {
            std::env::var("CLEANSPLIT_DISK_FULL_AFTER_BYTES")
                .ok()
                .and_then(|v| v.trim().parse().ok())
        });
        let Some(limit) = limit else {
            return false;
        };
        WRITTEN.fetch_add(n, Ordering::SeqCst) + n > limit
    }
}

/// Whether `bytes` hold the marker `CLEANSPLIT-PANIC-IN-{which}` and the variable
/// `CLEANSPLIT_PANIC_MARKERS` is set: the scan then panics there (`DECODER`: inside the decoder
/// guard; `SCAN`: in cleansplit's own code), so the tests can tell the two apart. Always
/// `false` without the feature.
pub fn panic_marker(bytes: &[u8], which: &str) -> bool {
    if !ENABLED || std::env::var_os("CLEANSPLIT_PANIC_MARKERS").is_none() {
        return false;
    }
    let marker = format!("CLEANSPLIT-PANIC-IN-{which}");
    memchr::memmem::find(bytes, marker.as_bytes()).is_some()
}

/// Counts `n` bytes about to be written to an output; the error a full disk gives when the
/// injected limit (`CLEANSPLIT_DISK_FULL_AFTER_BYTES`) is passed. Always `Ok` without the
/// feature.
pub fn disk_write(n: u64) -> io::Result<()> {
    #[cfg(feature = "fault-injection")]
    if disk::full_after(n) {
        return Err(disk_full());
    }
    let _ = n;
    Ok(())
}

/// The error of a full disk (ENOSPC where the OS has it).
pub fn disk_full() -> io::Error {
    #[cfg(unix)]
    {
        io::Error::from_raw_os_error(28)
    }
    #[cfg(not(unix))]
    {
        io::Error::new(io::ErrorKind::StorageFull, "no space left on device")
    }
}

/// A writer whose writes count against the injected disk limit ([`disk_write`]).
pub struct Counted<W>(pub W);

impl<W: io::Write> io::Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        disk_write(buf.len() as u64)?;
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hooks exist only with the feature: a build without it (`cargo build --release`)
    /// ignores the variables, whatever they say. (At 3d04565 the abort hook was read in every
    /// build: a release `split` with the variable set aborted.)
    #[test]
    fn hooks_follow_the_feature() {
        // SAFETY: no other test of this binary reads or writes these variables.
        unsafe {
            std::env::set_var("CLEANSPLIT_TEST_HOOK_PROBE", "3");
        }
        assert_eq!(
            after_files("CLEANSPLIT_TEST_HOOK_PROBE").is_some(),
            cfg!(feature = "fault-injection")
        );
        assert_eq!(ENABLED, cfg!(feature = "fault-injection"));
    }
}
