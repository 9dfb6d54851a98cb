//! The fuzz targets' view of the library (`fuzz/`), shared with the regression tests that
//! replay what the fuzzer found (`tests/fuzz_regressions.rs`), so both run the same code.

use std::path::Path;

use super::guard::PANIC_MESSAGE;
use crate::index::{self, Record};

/// The pixel cap under fuzzing: smaller than the default so each run stays fast; the cap
/// itself is checked from headers, which is what the fuzzer exercises.
pub const MAX_PIXELS: u64 = 1 << 22;

/// File names the first input byte chooses from, so extension-only formats (TGA) and
/// extension mismatches are reached.
pub const NAMES: [&str; 8] = [
    "f.jpg", "f.png", "f.gif", "f.bmp", "f.tga", "f.webp", "f.ico", "f.pgm",
];

/// `examine` target: the first byte picks the name, the rest are the file's bytes. `Err`
/// names a finding (a caught decoder panic).
pub fn examine(data: &[u8]) -> Result<Option<Record>, String> {
    let Some((&pick, bytes)) = data.split_first() else {
        return Ok(None);
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let rec = super::file::examine_bytes(Path::new(name), bytes, MAX_PIXELS);
    if rec.message.starts_with(PANIC_MESSAGE) {
        return Err(format!("{name}: {}", rec.message));
    }
    Ok(Some(rec))
}

/// `index` target: whatever the reader accepts must write back and read again to the same
/// records. Panics on a finding.
pub fn index_round_trip(data: &[u8]) {
    let Ok(records) = index::read_from(data) else {
        return;
    };
    let mut out = Vec::new();
    index::write_to(&mut out, &records).expect("writing to memory");
    let again = index::read_from(&out[..]).expect("reading what we wrote");
    assert_eq!(records, again);
}
