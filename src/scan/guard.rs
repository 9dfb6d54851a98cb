//! The guard around third-party decoders (`image`, `gif`, and the `mozjpeg` bindings): a panic
//! inside [`decoder`] is caught and comes back as the file's error, prefixed with
//! [`PANIC_MESSAGE`], so the file is `corrupt` and the summary, the audit and the report count
//! and list it as a decoder panic.
//!
//! Only decoder calls are guarded. A panic anywhere else in the scan (our own reduction,
//! hashing, parsing) is a bug of cleansplit: the scan stops and says so with the file's name
//! (`scan::run`), instead of calling a good file corrupt.
//!
//! The library installs no panic hook: a caught decoder panic is printed by whatever hook the
//! process has. The `cleansplit` binary's hook stays quiet for panics inside [`decoder`]
//! ([`inside_decoder`]) and prints every other one. Catching needs unwinding, hence the
//! `compile_error!` for `panic = "abort"` builds in `lib.rs`.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// Set while this thread runs inside [`decoder`].
    static IN_DECODER: Cell<bool> = const { Cell::new(false) };
}

/// Prefix of the index message for a caught decoder panic (the summary, the audit, the fuzz
/// harness and the regression tests look for it).
pub const PANIC_MESSAGE: &str = "the decoder panicked on this file";

/// Whether this thread is inside [`decoder`] (for a panic hook that stays quiet there).
pub fn inside_decoder() -> bool {
    IN_DECODER.with(Cell::get)
}

/// Whether an index message records a caught decoder panic.
pub fn is_decoder_panic(message: &str) -> bool {
    message.starts_with(PANIC_MESSAGE)
}

/// Runs a third-party decoder call `f`; a panic becomes `Err(message)` (see [`PANIC_MESSAGE`]).
pub fn decoder<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let was = IN_DECODER.with(|q| q.replace(true));
    let out = panic::catch_unwind(AssertUnwindSafe(f));
    IN_DECODER.with(|q| q.set(was));
    out.map_err(|payload| format!("{PANIC_MESSAGE}: {}", panic_text(&*payload)))
}

/// The text of a panic's payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("no message")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoder_panic_becomes_a_message() {
        assert_eq!(decoder(|| 7), Ok(7));
        let e = decoder(|| -> u8 { panic!("boom {}", 3) }).unwrap_err();
        assert_eq!(e, format!("{PANIC_MESSAGE}: boom 3"));
        assert!(is_decoder_panic(&e));
        // Nested use restores the outer state.
        let r = decoder(|| decoder(|| panic!("inner")).is_err() && inside_decoder());
        assert_eq!(r, Ok(true));
        assert!(!inside_decoder());
    }
}
