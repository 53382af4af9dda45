//! The one internal tokio runtime shared by every probe, created on first use.
//!
//! Two worker threads named `edgegap-probe`: probing is I/O-bound, and a game should not see
//! a thread per core appear. The runtime lives until the process exits.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

use crate::result::{EgpResult, FfiError};

/// Worker threads of the shared runtime.
const WORKERS: usize = 2;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, started on the first call.
pub(crate) fn get() -> Result<&'static Runtime, FfiError> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .thread_name("edgegap-probe")
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

/// Fails when called on a thread of an async runtime (ours, from the completion callback),
/// where blocking would stall or deadlock the probes it waits for.
pub(crate) fn ensure_may_block(what: &str) -> Result<(), FfiError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(FfiError::new(
            EgpResult::Runtime,
            format!(
                "{what} blocks, and cannot be called from a runtime thread (such as inside the \
                 completion callback)"
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
}
