//! How the daemon's memory goes back to the system after a burst.
//!
//! Every password check is argon2id over 19 MiB (OWASP's parameters), on a
//! blocking thread. glibc serves an allocation that large with mmap and
//! unmaps it on free, but by default it then raises its mmap threshold to
//! that size, so the next check's 19 MiB comes from the thread's heap
//! arena, which keeps it: a box that had two sign-ins stayed ~20 MiB
//! bigger for good (measured: idle RSS 17 MiB before a sign-in, 37 MiB
//! after). A fixed threshold keeps large allocations on mmap, returned to
//! the system as soon as they are freed; below it nothing changes.

/// glibc's default threshold, fixed so that it no longer grows.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_BYTES: i32 = 128 * 1024;

/// Fixes glibc's mmap threshold (see the module doc). Call once, early.
pub fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; glibc takes its own
    // lock, and the call has no pointer arguments.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}
