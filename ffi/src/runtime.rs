//! The one internal tokio runtime shared by every probe, created on first use, and the marker
//! of the library's own threads.
//!
//! Two worker threads named `edgegap-probe`: probing is I/O-bound, and a game should not see
//! a thread per core appear. The runtime lives until the process exits. The workers never run
//! the caller's code: completion callbacks run on the callback thread (`callback.rs`).
//!
//! A *library thread* is one of the runtime's threads or the callback thread. Nothing may wait
//! on a library thread for a probe, a callback or a caller: every entry point the header allows
//! inside a callback is non-blocking there, and the blocking one refuses (`ensure_may_block`).

use std::cell::Cell;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

use crate::result::{EgpResult, FfiError};

/// Worker threads of the shared runtime.
const WORKERS: usize = 2;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

thread_local! {
    static LIBRARY_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as one of the library's own (the runtime's and the callback's).
pub(crate) fn mark_library_thread() {
    LIBRARY_THREAD.with(|flag| flag.set(true));
}

/// Whether the calling thread is one of the library's own: then no call may wait on it.
pub(crate) fn on_library_thread() -> bool {
    LIBRARY_THREAD.with(Cell::get)
}

/// The shared runtime, started on the first call.
pub(crate) fn get() -> Result<&'static Runtime, FfiError> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .thread_name("edgegap-probe")
                .on_thread_start(mark_library_thread)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            FfiError::new(
                EgpResult::Runtime,
                format!("could not start the probe runtime ({WORKERS} threads): {e}"),
            )
        })
}

/// Fails when called on a library thread (from inside the completion callback) or on a thread
/// of any async runtime, where blocking would stall or deadlock the probes it waits for.
pub(crate) fn ensure_may_block(what: &str) -> Result<(), FfiError> {
    if on_library_thread() || tokio::runtime::Handle::try_current().is_ok() {
        return Err(FfiError::new(
            EgpResult::Runtime,
            format!(
                "{what} blocks, and cannot be called from a library thread (such as inside the \
                 completion callback) or an async runtime's thread"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_is_shared_and_blocking_is_refused_on_its_threads() {
        let first = std::ptr::from_ref(get().unwrap());
        let second = std::ptr::from_ref(get().unwrap());
        assert_eq!(first, second);
        assert!(ensure_may_block("test").is_ok());
        let inside = get()
            .unwrap()
            .block_on(async { ensure_may_block("run_blocking") });
        assert_eq!(inside.unwrap_err().code, EgpResult::Runtime);
    }

    #[test]
    fn the_workers_are_library_threads_and_callers_are_not() {
        assert!(!on_library_thread());
        let worker = get()
            .unwrap()
            .block_on(async { tokio::spawn(async { on_library_thread() }).await })
            .unwrap();
        assert!(worker, "a runtime worker is a library thread");
        let marked = std::thread::spawn(|| {
            mark_library_thread();
            (
                on_library_thread(),
                ensure_may_block("x").map_err(|e| e.code),
            )
        })
        .join()
        .unwrap();
        assert_eq!(marked, (true, Err(EgpResult::Runtime)));
        assert!(!on_library_thread(), "the mark is per thread");
    }
}
