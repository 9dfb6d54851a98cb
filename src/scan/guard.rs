//! The last line of defence around a decoder: a panic inside [`quietly`] is caught, nothing is
//! printed (not even with `RUST_BACKTRACE` set), and its message comes back as an error for the
//! index. Panics anywhere else still go to the previous hook as usual.
//!
//! Every known cause of a decoder panic is checked before decoding (zero dimensions, pixel
//! caps); this only catches what nobody has found yet. It needs unwinding, hence the
//! `compile_error!` for `panic = "abort"` builds in `lib.rs`.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs inside [`quietly`].
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

static INSTALL: Once = Once::new();

/// Prefix of the index message for a caught panic (the fuzz harness and the regression tests
/// look for it: a record with it is a bug to fix).
pub const PANIC_MESSAGE: &str = "the decoder panicked on this file";

fn install_hook() {
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic becomes `Err(message)` without printing anything.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was = QUIET.with(|q| q.replace(true));
    let out = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    out.map_err(|payload| {
        let what = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        format!("{PANIC_MESSAGE}: {what}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_message() {
        assert_eq!(quietly(|| 7), Ok(7));
        let e = quietly(|| -> u8 { panic!("boom {}", 3) }).unwrap_err();
        assert_eq!(e, format!("{PANIC_MESSAGE}: boom 3"));
        // Nested use restores the outer state.
        let r = quietly(|| quietly(|| panic!("inner")).is_err());
        assert_eq!(r, Ok(true));
        assert!(!QUIET.with(Cell::get));
    }
}
