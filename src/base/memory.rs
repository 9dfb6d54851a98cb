//! Giving freed memory back to the system. glibc's `malloc` keeps memory freed in small
//! blocks inside its heaps, resident, for later reuse: at a million images the walk's
//! candidates (tens of MB in folder-sized blocks) would stay in the peak RSS of every command
//! after the scan, though nothing uses them (docs/BENCHMARKS.md "At a million images").

/// Returns the free pages of every `malloc` heap to the system (glibc's `malloc_trim(0)`;
/// nothing elsewhere, where the allocator has no such call). Costs a pass over the heaps'
/// free blocks, a few milliseconds: for after a phase that freed much, not for a loop.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only rearranges the allocator's own free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
