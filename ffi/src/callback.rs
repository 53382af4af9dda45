//! The optional completion callback: a C function pointer and the caller's `user_data`,
//! called once from a runtime worker thread when a probe's result is ready.
//!
//! `egp_probe_free` detaches the callback: once it returns, the callback is not running and
//! will never be called, so the caller may free `user_data` right after.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

use crate::result::EgpResult;

/// A probe handle: an id, never a pointer. 0 is never a valid probe.
pub type EgpProbe = u64;

/// Called once when a probe's result is ready, **from a worker thread of the library** (never
/// the thread that started the probe): `probe` is the handle, `status` the run's result code
/// (`EGP_RESULT_OK` when a report is ready), `user_data` what was passed with the callback.
///
/// The callback must return quickly, must not throw or unwind (C++ exceptions, longjmp) and
/// must not call `egp_probe_run_blocking`; it may call every other function, including
/// `egp_probe_result_json` and `egp_probe_free` on its own probe.
pub type EgpCompletionCallback =
    Option<unsafe extern "C" fn(probe: EgpProbe, status: EgpResult, user_data: *mut c_void)>;

/// A callback with its user data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    func: unsafe extern "C" fn(EgpProbe, EgpResult, *mut c_void),
    user_data: *mut c_void,
}

// SAFETY: the documented contract of `egp_probe_set_callback` is that the callback and its
// `user_data` are used from a worker thread; the library never dereferences `user_data`, it
// only hands it back to the caller's function.
unsafe impl Send for Completion {}

impl Completion {
    /// A completion, or `None` for a NULL function pointer.
    pub(crate) fn new(func: EgpCompletionCallback, user_data: *mut c_void) -> Option<Self> {
        func.map(|func| Self { func, user_data })
    }
}

#[derive(Debug, Default)]
struct Slot {
    pending: Option<Completion>,
    running_on: Option<ThreadId>,
}

/// Holds a probe's callback until it fires or is detached.
#[derive(Debug, Default)]
pub(crate) struct CallbackSlot {
    slot: Mutex<Slot>,
    idle: Condvar,
}

impl CallbackSlot {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // The slot's fields are updated in single assignments: a poisoned lock is consistent.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets (or with `None` clears) the callback.
    pub(crate) fn set(&self, completion: Option<Completion>) {
        self.lock().pending = completion;
    }

    /// Calls the callback, if one is set, once.
    pub(crate) fn fire(&self, probe: EgpProbe, status: EgpResult) {
        let completion = {
            let mut slot = self.lock();
            let Some(completion) = slot.pending.take() else {
                return;
            };
            slot.running_on = Some(thread::current().id());
            completion
        };
        // SAFETY: the function pointer and user data were given together by the caller for
        // exactly this call, and `detach` has not run (it clears `pending` under the lock).
        unsafe { (completion.func)(probe, status, completion.user_data) };
        self.lock().running_on = None;
        self.idle.notify_all();
    }

    /// Makes sure the callback will not be called any more and is not running on another
    /// thread when this returns (called from inside the callback itself, it does not wait).
    pub(crate) fn detach(&self) {
        let me = thread::current().id();
        let mut slot = self.lock();
        slot.pending = None;
        while slot.running_on.is_some_and(|t| t != me) {
            slot = self.idle.wait(slot).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    unsafe extern "C" fn count(probe: EgpProbe, status: EgpResult, user_data: *mut c_void) {
        // SAFETY: the tests pass a live `AtomicU32` as user data.
        let counter = unsafe { &*user_data.cast::<AtomicU32>() };
        counter.fetch_add(probe as u32 + status as u32, Ordering::SeqCst);
    }

    #[test]
    fn fires_once_with_its_arguments() {
        let counter = AtomicU32::new(0);
        let slot = CallbackSlot::default();
        slot.set(Completion::new(
            Some(count),
            (&raw const counter).cast_mut().cast(),
        ));
        slot.fire(10, EgpResult::NotFinished);
        slot.fire(10, EgpResult::NotFinished);
        assert_eq!(counter.load(Ordering::SeqCst), 20);
    }

    #[test]
    fn detached_never_fires() {
        let counter = AtomicU32::new(0);
        let slot = CallbackSlot::default();
        slot.set(Completion::new(
            Some(count),
            (&raw const counter).cast_mut().cast(),
        ));
        slot.detach();
        slot.fire(1, EgpResult::Ok);
        assert_eq!(counter.load(Ordering::SeqCst), 0);
        assert!(Completion::new(None, std::ptr::null_mut()).is_none());
    }

    static SLOW_STARTED: AtomicU32 = AtomicU32::new(0);
    static SLOW_DONE: AtomicU32 = AtomicU32::new(0);

    unsafe extern "C" fn slow(_: EgpProbe, _: EgpResult, _: *mut c_void) {
        SLOW_STARTED.store(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(100));
        SLOW_DONE.store(1, Ordering::SeqCst);
    }

    #[test]
    fn detach_waits_for_a_running_callback() {
        let slot = Arc::new(CallbackSlot::default());
        slot.set(Completion::new(Some(slow), std::ptr::null_mut()));
        let firing = {
            let slot = Arc::clone(&slot);
            std::thread::spawn(move || slot.fire(1, EgpResult::Ok))
        };
        while SLOW_STARTED.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        slot.detach();
        assert_eq!(
            SLOW_DONE.load(Ordering::SeqCst),
            1,
            "detach returned while the callback ran"
        );
        firing.join().unwrap();
    }
}
