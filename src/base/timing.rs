//! Phase times for benchmarks: with `CLEANSPLIT_TIMINGS` set, each [`phase`] prints its wall
//! and CPU seconds to stderr when it ends (docs/BENCHMARKS.md reads a million-image `leaks`
//! by them); otherwise a phase costs one check of the environment, made once.

use std::sync::OnceLock;
use std::time::Instant;

/// A running phase; prints its times when dropped.
pub struct Phase {
    name: &'static str,
    wall: Instant,
    cpu: f64,
}

/// Starts timing `name` if `CLEANSPLIT_TIMINGS` is set.
pub fn phase(name: &'static str) -> Option<Phase> {
    static ON: OnceLock<bool> = OnceLock::new();
    ON.get_or_init(|| std::env::var_os("CLEANSPLIT_TIMINGS").is_some())
        .then(|| Phase {
            name,
            wall: Instant::now(),
            cpu: cpu_seconds(),
        })
}

impl Drop for Phase {
    fn drop(&mut self) {
        eprintln!(
            "timing {}: {:.2} s wall, {:.2} s CPU",
            self.name,
            self.wall.elapsed().as_secs_f64(),
            cpu_seconds() - self.cpu
        );
    }
}

/// The process's CPU time so far, user and system, all threads (0 where unknown).
fn cpu_seconds() -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `getrusage` fills the struct it is given; zeroed is a valid `rusage`.
        let u = unsafe {
            if libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) != 0 {
                return 0.0;
            }
            u.assume_init()
        };
        let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        s(u.ru_utime) + s(u.ru_stime)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        0.0
    }
}
