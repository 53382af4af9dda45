//! The panic boundary: every entry point runs its body through [`call`], so a Rust panic
//! becomes `EGP_RESULT_PANIC` and never unwinds into C, C# or C++.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::last_error;
use crate::result::{EgpResult, FfiError};

/// Runs `body`, turning its error or its panic into a result code and this thread's last error.
///
/// `AssertUnwindSafe` is sound here: after a panic nothing the closure touched is used again
/// except through mutexes, and every lock in this crate recovers from poisoning.
pub(crate) fn call(body: impl FnOnce() -> Result<(), FfiError>) -> EgpResult {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => EgpResult::Ok,
        Ok(Err(error)) => {
            let code = error.code;
            last_error::set(error);
            code
        }
        Err(payload) => {
            let message = format!(
                "internal error (please report it): a panic was stopped at the C boundary: {}",
                panic_text(payload.as_ref())
            );
            last_error::set(FfiError::new(EgpResult::Panic, message));
            EgpResult::Panic
        }
    }
}

/// Like [`call`] for functions that return a value instead of a code: `fallback` on panic.
pub(crate) fn value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(no message)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_panic_code_with_its_message() {
        let code = call(|| panic!("boom at the boundary"));
        assert_eq!(code, EgpResult::Panic);
        assert_eq!(last_error::code(), EgpResult::Panic);
        assert!(last_error::message().contains("boom at the boundary"));
    }

    #[test]
    fn a_formatted_panic_keeps_its_message() {
        let n = 7;
        assert_eq!(call(|| panic!("formatted {n}")), EgpResult::Panic);
        assert!(last_error::message().contains("formatted 7"));
    }

    #[test]
    fn errors_become_their_code_and_success_is_ok() {
        assert_eq!(
            call(|| Err(FfiError::new(EgpResult::InvalidJson, "bad json"))),
            EgpResult::InvalidJson
        );
        assert_eq!(last_error::message(), "bad json");
        assert_eq!(call(|| Ok(())), EgpResult::Ok);
        // Success leaves the last error as it was (errno-like).
        assert_eq!(last_error::message(), "bad json");
    }

    #[test]
    fn value_falls_back_on_panic() {
        assert_eq!(value(0_u32, || 5), 5);
        assert_eq!(value(0_u32, || panic!("no")), 0);
    }
}
