//! The message of the last failed call, kept per thread (like `errno`).

use std::cell::RefCell;

use crate::result::{EgpResult, FfiError};

thread_local! {
    static LAST: RefCell<Option<FfiError>> = const { RefCell::new(None) };
}

/// Records `error` as this thread's last error.
pub(crate) fn set(error: FfiError) {
    tracing::debug!(code = %error.code, message = %error.message, "ffi call failed");
    LAST.with(|last| *last.borrow_mut() = Some(error));
}

/// This thread's last error message, or `""` when no call on this thread has failed yet.
pub(crate) fn message() -> String {
    LAST.with(|last| {
        last.borrow()
            .as_ref()
            .map_or_else(String::new, |e| e.message.clone())
    })
}

/// This thread's last error code, or `Ok` when no call on this thread has failed yet.
pub(crate) fn code() -> EgpResult {
    LAST.with(|last| last.borrow().as_ref().map_or(EgpResult::Ok, |e| e.code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_has_its_own_last_error() {
        set(FfiError::new(EgpResult::InvalidJson, "main thread"));
        let other = std::thread::spawn(|| {
            let before = (code(), message());
            set(FfiError::new(EgpResult::NullArgument, "other thread"));
            (before, code(), message())
        })
        .join()
        .unwrap();
        assert_eq!(other.0, (EgpResult::Ok, String::new()));
        assert_eq!(other.1, EgpResult::NullArgument);
        assert_eq!(other.2, "other thread");
        assert_eq!(code(), EgpResult::InvalidJson);
        assert_eq!(message(), "main thread");
    }
}
