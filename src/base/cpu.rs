//! Instructions the baseline x86-64 target lacks, used where the CPU has them, and a cache
//! prefetch hint.
//!
//! The release build targets baseline x86-64 (any 64-bit x86 CPU runs it), where
//! `u64::count_ones` compiles to a dozen shifts, masks and a multiply. Hamming distances are
//! the inner loop of the searches (a million-image `leaks` counts bits about three billion
//! times), so their loops run in a copy compiled with `popcnt`, chosen once per call of
//! [`with_popcnt`].

/// `f()`, compiled with the `popcnt` instruction when the CPU has it (every x86-64 CPU since
/// 2008 or so; other architectures count bits in one instruction already). Only what is
/// inlined into that copy gets the instruction: mark a closure of any size `#[inline(always)]`
/// (without it the sampled probe's was called, not inlined, and counted bits the long way), and
/// keep the bit counting in it or in `#[inline]` functions it calls.
#[inline(always)]
pub fn with_popcnt<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        /// # Safety
        /// The CPU must have `popcnt`.
        #[target_feature(enable = "popcnt")]
        unsafe fn run<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has `popcnt`, checked just above.
            return unsafe { run(f) };
        }
    }
    f()
}

/// A hint to bring `p`'s cache line in (no fault whatever the address; nothing elsewhere).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing and cannot fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_counted_the_same_either_way() {
        let mut state = 9;
        for _ in 0..1000 {
            let x = crate::base::rng::splitmix(&mut state);
            assert_eq!(with_popcnt(|| x.count_ones()), x.count_ones());
        }
    }
}
