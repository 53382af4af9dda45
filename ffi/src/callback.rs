//! The optional completion callback: a C function pointer and the caller's `user_data`,
//! called once when a probe's result is ready, on the library's **callback thread**.
//!
//! Why one thread of its own, running one callback at a time: the caller's code never runs on
//! a runtime worker (a slow callback cannot stall the measurements), and a callback that frees
//! other probes never has to wait. `egp_probe_free` detaches the callback: once it returns, the
//! callback is not running and will never be called, so the caller may free `user_data` right
//! after. On a caller's thread that may mean waiting for a callback that is running right now.
//! Inside a callback it never does: callbacks run one after the other, so the only one running
//! is the caller's own, and a freed probe's callback that is still queued is simply dropped.
//! (Before, callbacks ran on the two workers and free waited for a running callback: probe A's
//! callback freeing B while B's freed A blocked both workers for good.)
//!
//! No lock of this crate is held while a callback runs.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, ThreadId};

use crate::result::{EgpResult, FfiError};
use crate::runtime;

/// A probe handle: an id, never a pointer. 0 is never a valid probe.
pub type EgpProbe = u64;

/// Called once when a probe's result is ready, **on the library's callback thread** (never
/// the thread that started the probe, never a probing thread): `probe` is the handle, `status`
/// the run's result code (`EGP_RESULT_OK` when a report is ready), `user_data` what was passed
/// with the callback.
///
/// Callbacks of all probes run one at a time on that one thread, so a slow callback delays the
/// others (never the measurements): return quickly. The callback must not throw or unwind (C++
/// exceptions, longjmp).
///
/// Allowed inside the callback, on any probe (its own or another), and none of them blocks:
/// `egp_probe_poll`, `egp_probe_result_json`, `egp_probe_payload_json`, `egp_probe_cancel`,
/// `egp_probe_free` (also of its own probe, and of a probe whose callback is due: that one is
/// then never called), `egp_probe_create`, `egp_probe_create_json`,
/// `egp_probe_set_previous_json`, `egp_probe_set_callback`, `egp_probe_start`,
/// `egp_config_init`, `egp_last_error_message`, `egp_last_error_code` and the static-string
/// functions. Not allowed: `egp_probe_run_blocking` (it returns `EGP_RESULT_RUNTIME` there).
/// Do not wait inside the callback for another probe's callback: it runs after this one returns.
pub type EgpCompletionCallback =
    Option<unsafe extern "C" fn(probe: EgpProbe, status: EgpResult, user_data: *mut c_void)>;

/// Name of the callback thread.
const THREAD_NAME: &str = "edgegap-probe-cb";

/// A callback with its user data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    func: unsafe extern "C" fn(EgpProbe, EgpResult, *mut c_void),
    user_data: *mut c_void,
}

// SAFETY: the documented contract of `egp_probe_set_callback` is that the callback and its
// `user_data` are used from the library's callback thread; the library never dereferences
// `user_data`, it only hands it back to the caller's function.
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

/// A callback that is due: queued for the callback thread.
struct Due {
    slot: Arc<CallbackSlot>,
    probe: EgpProbe,
    status: EgpResult,
}

static CALLBACK_THREAD: OnceLock<Result<Sender<Due>, String>> = OnceLock::new();

/// The queue of the callback thread, which is started on the first call.
fn callback_thread() -> Result<&'static Sender<Due>, FfiError> {
    CALLBACK_THREAD
        .get_or_init(|| {
            let (queue, due) = mpsc::channel::<Due>();
            thread::Builder::new()
                .name(THREAD_NAME.into())
                .spawn(move || {
                    runtime::mark_library_thread();
                    for Due {
                        slot,
                        probe,
                        status,
                    } in due
                    {
                        // A panic here would be a bug of this crate (a callback that unwinds
                        // aborts at the `extern "C"` boundary): keep delivering the others.
                        let _ = catch_unwind(AssertUnwindSafe(|| slot.fire(probe, status)));
                    }
                })
                .map(|_| queue)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            FfiError::new(
                EgpResult::Runtime,
                format!("could not start the callback thread ({THREAD_NAME}): {e}"),
            )
        })
}

/// Starts the callback thread now (from `egp_probe_set_callback`), so a failure to start it is
/// reported to the caller instead of losing the callback later.
pub(crate) fn ensure_callback_thread() -> Result<(), FfiError> {
    callback_thread().map(|_| ())
}

/// Resets `running_on` and wakes waiting detachers when the callback returns (or unwinds).
struct Running<'a>(&'a CallbackSlot);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.lock().running_on = None;
        self.0.idle.notify_all();
    }
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

    /// Queues the callback, if one is set, for the callback thread; returns at once.
    pub(crate) fn fire_later(self: &Arc<Self>, probe: EgpProbe, status: EgpResult) {
        if self.lock().pending.is_none() {
            return;
        }
        let due = Due {
            slot: Arc::clone(self),
            probe,
            status,
        };
        // The thread was started when the callback was set, and a thread that ended (it never
        // does) would only mean a callback not delivered, so neither failure can stall a probe.
        if callback_thread().map(|queue| queue.send(due)).is_err() {
            tracing::error!(probe, "the completion callback could not be queued");
        }
    }

    /// Calls the callback, if one is set and was not detached, once, on the calling thread,
    /// with no lock held.
    pub(crate) fn fire(&self, probe: EgpProbe, status: EgpResult) {
        let completion = {
            let mut slot = self.lock();
            let Some(completion) = slot.pending.take() else {
                return;
            };
            slot.running_on = Some(thread::current().id());
            completion
        };
        let _running = Running(self);
        // SAFETY: the function pointer and user data were given together by the caller for
        // exactly this call, and `detach` has not run (it clears `pending` under the lock).
        unsafe { (completion.func)(probe, status, completion.user_data) };
    }

    /// Makes sure the callback will not be called any more. On a caller's thread it also waits
    /// until the callback is not running (on another thread) when this returns; on a library
    /// thread (a callback freeing a probe) it never waits: callbacks run one at a time there,
    /// so the only one that can be running is the caller's own.
    pub(crate) fn detach(&self) {
        let me = thread::current().id();
        let mut slot = self.lock();
        slot.pending = None;
        if runtime::on_library_thread() {
            return;
        }
        while slot.running_on.is_some_and(|t| t != me) {
            slot = self.idle.wait(slot).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
        let start = Instant::now();
        while !done() {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

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

    /// What the queued callbacks saw.
    #[derive(Default)]
    struct Seen {
        calls: AtomicU32,
        in_flight: AtomicU32,
        overlapped: AtomicBool,
        elsewhere: AtomicBool,
    }

    unsafe extern "C" fn observe(_: EgpProbe, _: EgpResult, user_data: *mut c_void) {
        // SAFETY: the test passes a `Seen` that outlives every callback.
        let seen = unsafe { &*user_data.cast::<Seen>() };
        if seen.in_flight.fetch_add(1, Ordering::SeqCst) > 0 {
            seen.overlapped.store(true, Ordering::SeqCst);
        }
        if thread::current().name() != Some(THREAD_NAME) || !runtime::on_library_thread() {
            seen.elsewhere.store(true, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(2));
        seen.in_flight.fetch_sub(1, Ordering::SeqCst);
        seen.calls.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn queued_callbacks_run_one_at_a_time_on_the_callback_thread() {
        static SEEN: LazyLock<Seen> = LazyLock::new(Seen::default);
        ensure_callback_thread().unwrap();
        let slots: Vec<Arc<CallbackSlot>> = (0..8).map(|_| Arc::default()).collect();
        for slot in &slots {
            slot.set(Completion::new(
                Some(observe),
                std::ptr::from_ref::<Seen>(&SEEN).cast_mut().cast(),
            ));
        }
        let firing: Vec<_> = slots
            .iter()
            .enumerate()
            .map(|(i, slot)| {
                let slot = Arc::clone(slot);
                std::thread::spawn(move || slot.fire_later(i as u64 + 1, EgpResult::Ok))
            })
            .collect();
        for thread in firing {
            thread.join().unwrap();
        }
        assert!(wait_until(Duration::from_secs(10), || SEEN
            .calls
            .load(Ordering::SeqCst)
            == 8));
        assert!(
            !SEEN.overlapped.load(Ordering::SeqCst),
            "two callbacks ran at once"
        );
        assert!(
            !SEEN.elsewhere.load(Ordering::SeqCst),
            "a callback ran on another thread"
        );
        for slot in &slots {
            slot.fire_later(99, EgpResult::Ok);
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            SEEN.calls.load(Ordering::SeqCst),
            8,
            "each callback runs once"
        );
    }

    /// Two slots whose callbacks detach each other (what freeing each other's probe does).
    static CROSS: LazyLock<[Arc<CallbackSlot>; 2]> = LazyLock::new(Default::default);
    static CROSS_CALLS: AtomicU32 = AtomicU32::new(0);
    static CROSS_SLOWEST_DETACH_US: AtomicU32 = AtomicU32::new(0);

    unsafe extern "C" fn detach_the_other(_: EgpProbe, _: EgpResult, user_data: *mut c_void) {
        let other = 1 - user_data as usize;
        std::thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        CROSS[other].detach();
        let us = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
        CROSS_SLOWEST_DETACH_US.fetch_max(us, Ordering::SeqCst);
        CROSS_CALLS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn callbacks_detaching_each_other_never_wait_and_only_the_first_runs() {
        for (i, slot) in CROSS.iter().enumerate() {
            slot.set(Completion::new(Some(detach_the_other), i as *mut c_void));
        }
        CROSS[0].fire_later(1, EgpResult::Ok);
        CROSS[1].fire_later(2, EgpResult::Ok);
        assert!(wait_until(Duration::from_secs(10), || CROSS_CALLS
            .load(Ordering::SeqCst)
            >= 1));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            CROSS_CALLS.load(Ordering::SeqCst),
            1,
            "the second callback was detached while it was due"
        );
        assert!(CROSS_SLOWEST_DETACH_US.load(Ordering::SeqCst) < 5_000);
    }

    static HELD_STARTED: AtomicU32 = AtomicU32::new(0);
    static HELD_RELEASE: AtomicBool = AtomicBool::new(false);

    unsafe extern "C" fn held(_: EgpProbe, _: EgpResult, _: *mut c_void) {
        HELD_STARTED.store(1, Ordering::SeqCst);
        while !HELD_RELEASE.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn detach_on_a_library_thread_never_waits() {
        let slot = Arc::new(CallbackSlot::default());
        slot.set(Completion::new(Some(held), std::ptr::null_mut()));
        let firing = {
            let slot = Arc::clone(&slot);
            std::thread::spawn(move || slot.fire(1, EgpResult::Ok))
        };
        assert!(wait_until(Duration::from_secs(10), || HELD_STARTED
            .load(Ordering::SeqCst)
            == 1));
        let detached = {
            let slot = Arc::clone(&slot);
            std::thread::spawn(move || {
                runtime::mark_library_thread();
                slot.detach();
            })
        };
        // The library thread's detach returns although the callback still runs.
        assert!(wait_until(Duration::from_secs(10), || detached.is_finished()));
        detached.join().unwrap();
        HELD_RELEASE.store(true, Ordering::SeqCst);
        firing.join().unwrap();
    }
}
