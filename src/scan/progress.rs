//! A scan's progress for a host program that draws its own bar (the Python module: tqdm in a
//! notebook) instead of the terminal's: the host makes a [`Progress`], runs the command inside
//! [`watch`] and reads the counts from another thread while it runs.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// Counts that every scan run inside [`watch`] adds to (a merge scans several sources: the
/// totals add up).
#[derive(Debug, Default)]
pub struct Progress {
    /// A scan began: anything that failed before it was the options, not the data.
    pub started: AtomicBool,
    /// Files to read (those the previous index did not have, or all with `--rehash`).
    pub total: AtomicU64,
    /// Files read so far.
    pub done: AtomicU64,
}

thread_local! {
    /// The calling thread's watcher: a scan reads it on the thread that calls `scan::run`.
    static CURRENT: RefCell<Option<Arc<Progress>>> = const { RefCell::new(None) };
}

/// Runs `f` with every scan it makes (on this thread) counting into `progress`, and no
/// terminal progress bar.
pub fn watch<T>(progress: Arc<Progress>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<Progress>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| *c.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(progress)));
    f()
}

/// The watcher of the current thread's scans, if any.
pub(crate) fn current() -> Option<Arc<Progress>> {
    CURRENT.with(|c| c.borrow().clone())
}
