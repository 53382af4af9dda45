//! The allocator's settings for this process.
//!
//! glibc's `malloc` serves large blocks (from 128 KiB) with their own mappings, returned to the
//! system when freed, but it raises that threshold to the size of each such block freed (up to
//! 32 MiB). A run over a long beacon list frees several multi-megabyte buffers early (the
//! file's text, the target list handed to the engine, the live state's index), after which
//! every later buffer below that size comes from the heap, where freeing it leaves a hole
//! that stays resident. Fixing the threshold keeps the peak resident memory close to the live
//! heap: a 64,000-beacon run peaked at 88 MB before, 76 MB with it (`benches/scale.sh`).
//!
//! glibc also gives each thread that allocates an arena of its own. The probe engine runs on a
//! thread of its own and grows the live state the main thread built (each beacon's samples):
//! each block then moves to the engine thread's arena, leaving a hole in the main one. One
//! arena for the process keeps the two from holding memory side by side (a 64,000-beacon run
//! answering: 73 MB with an arena per thread, 66 MB with one); the two threads rarely allocate
//! at the same time.
//! Other platforms' allocators need nothing here.
#![allow(unsafe_code)]

/// Applies the settings; call once, first thing in `main`, before any thread exists.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's default threshold, kept fixed.
        const MMAP_THRESHOLD: libc::c_int = 128 * 1024;
        // SAFETY: `mallopt` only changes the allocator's parameters and is called before any
        // other thread exists, so nothing allocates concurrently.
        let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        if applied == 0 {
            // Not an error a user can act on: the run works the same, with more memory.
            tracing::debug!("mallopt(M_MMAP_THRESHOLD) was refused");
        }
        // SAFETY: as above.
        let applied = unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        if applied == 0 {
            tracing::debug!("mallopt(M_ARENA_MAX) was refused");
        }
    }
}
