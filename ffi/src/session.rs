//! One probe as the C side sees it: created, running on the shared runtime, finished.
//!
//! A supervisor task on the runtime owns the facade's [`ProbeHandle`] and awaits the run's end
//! (no polling); the session keeps a progress reader and a canceller of the run, so progress
//! can be read and the run cancelled at any time. At the end the supervisor stores the report
//! as JSON text, wakes blocking waiters and queues the completion callback for the callback
//! thread.
//!
//! Nothing here waits while holding the state lock, and no lock is held while a callback runs.
//! `release` (free) never waits for the run: it cancels it, and the supervisor task, which owns
//! its own reference to the session, lets the resources go when the run ends.

use probe::{ProbeBuilder, ProbeError, ProbeHandle, Progress, Report};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::callback::{self, CallbackSlot, Completion, EgpProbe};
use crate::result::{EgpResult, FfiError};
use crate::runtime;

/// Where a probe is in its life (`EgpProgress::state`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgpState {
    /// Created, not started.
    Created = 0,
    /// Started; the result is not ready yet.
    Running = 1,
    /// Ended: the result (or the reason there is none) is ready.
    Finished = 2,
}

/// A snapshot of a probe's progress, filled by `egp_probe_poll`.
///
/// This struct is never extended; a later version would add a new poll function instead.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EgpProgress {
    /// Probes sent so far.
    pub probes_sent: u64,
    /// Replies received and used as samples so far.
    pub samples: u64,
    /// Beacons whose measurement has ended.
    pub targets_done: u32,
    /// Beacons being measured.
    pub targets_total: u32,
    /// An `EgpState` value.
    pub state: u32,
    /// The run's `EgpResult`: `EGP_RESULT_NOT_STARTED` or `EGP_RESULT_NOT_FINISHED` before
    /// the end, then `EGP_RESULT_OK` when a report is ready, or why there is none.
    pub status: u32,
    /// 1 once the best location is known (others may still be measured), else 0.
    pub decided: u32,
    /// 1 once the result is ready (`egp_probe_result_json` will then not return NOT_FINISHED).
    pub finished: u32,
    /// 1 when the probe was cancelled (its report then holds what was measured until then).
    pub cancelled: u32,
    /// Always 0.
    pub reserved: u32,
}

/// The texts a finished run hands out.
#[derive(Debug)]
pub(crate) struct Texts {
    /// The whole report, pretty JSON.
    pub report_json: String,
    /// The matchmaker payload (`{"beacons": {"City": ms, ...}}`), compact JSON.
    pub payload_json: String,
}

#[derive(Debug)]
struct Outcome {
    result: Result<Texts, FfiError>,
    progress: Progress,
}

/// What the session keeps of a running probe whose handle the supervisor owns.
struct RunControl {
    progress: Box<dyn Fn() -> Progress + Send + Sync>,
    cancel: Box<dyn Fn() + Send + Sync>,
}

impl RunControl {
    fn of(handle: &ProbeHandle) -> Self {
        Self {
            progress: Box::new(handle.progress_reader()),
            cancel: Box::new(handle.canceller()),
        }
    }
}

impl std::fmt::Debug for RunControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunControl")
            .field("progress", &(self.progress)())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum State {
    Created(Box<ProbeBuilder>),
    Running {
        control: Option<RunControl>,
        last: Progress,
    },
    Finished(Box<Outcome>),
}

/// A probe owned by the C side through the registry.
#[derive(Debug)]
pub(crate) struct Session {
    state: Mutex<State>,
    ended: Condvar,
    beacons: u32,
    cancel_requested: AtomicBool,
    callback: Arc<CallbackSlot>,
}

impl Session {
    /// A probe over `beacons` beacons, not started.
    pub(crate) fn new(builder: ProbeBuilder, beacons: usize) -> Self {
        Self {
            state: Mutex::new(State::Created(Box::new(builder))),
            ended: Condvar::new(),
            beacons: u32::try_from(beacons).unwrap_or(u32::MAX),
            cancel_requested: AtomicBool::new(false),
            callback: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every transition is one assignment of the whole state: a poisoned lock is consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a previous report to the run (sticky best location). Only before the start.
    pub(crate) fn set_previous(&self, report: Report) -> Result<(), FfiError> {
        match &mut *self.lock() {
            State::Created(builder) => {
                let taken = std::mem::take(builder.as_mut());
                **builder = taken.previous(report);
                Ok(())
            }
            _ => Err(too_late("egp_probe_set_previous_json")),
        }
    }

    /// Sets the completion callback. Only before the start.
    pub(crate) fn set_callback(&self, completion: Option<Completion>) -> Result<(), FfiError> {
        if completion.is_some() {
            callback::ensure_callback_thread()?;
        }
        match &*self.lock() {
            State::Created(_) => {
                self.callback.set(completion);
                Ok(())
            }
            _ => Err(too_late("egp_probe_set_callback")),
        }
    }

    /// Starts the run on the shared runtime; returns at once.
    ///
    /// The facade's `start` runs with no lock held (state `Running` without a handle meanwhile),
    /// so a poll or a callback never waits for whatever it does; a cancel or free arriving in
    /// between is applied as soon as the handle exists.
    pub(crate) fn start(self: &Arc<Self>, id: EgpProbe) -> Result<(), FfiError> {
        let runtime = runtime::get()?;
        let builder = {
            let mut state = self.lock();
            let builder = match &mut *state {
                State::Created(builder) => std::mem::take(builder.as_mut()),
                State::Running { .. } => return Err(already_started()),
                State::Finished(outcome) => {
                    return Err(match &outcome.result {
                        Err(e) if e.code == EgpResult::Cancelled => e.clone(),
                        _ => already_started(),
                    });
                }
            };
            let mut waiting = Progress::default();
            waiting.targets_total = self.beacons;
            *state = State::Running {
                control: None,
                last: waiting,
            };
            builder
        };
        // A panic must not leave the probe running without a run: it is finished as PANIC.
        let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let _context = runtime.enter();
            builder.start().map_err(FfiError::from)
        }))
        .unwrap_or_else(|_| {
            Err(FfiError::new(
                EgpResult::Panic,
                "internal error (please report it): starting the probe panicked",
            ))
        });
        let mut state = self.lock();
        match started {
            Ok(started) => {
                if self.cancel_requested.load(Ordering::Relaxed) {
                    started.cancel();
                }
                if let State::Running { control, .. } = &mut *state {
                    *control = Some(RunControl::of(&started));
                }
                drop(state);
                runtime.spawn(supervise(Arc::clone(self), id, started));
                Ok(())
            }
            Err(error) => {
                *state = State::Finished(Box::new(Outcome {
                    result: Err(error.clone()),
                    progress: Progress::default(),
                }));
                drop(state);
                self.ended.notify_all();
                Err(error)
            }
        }
    }

    /// Progress so far; never blocks for longer than a lock held for a few instructions.
    pub(crate) fn progress(&self) -> EgpProgress {
        let cancelled = u32::from(self.cancel_requested.load(Ordering::Relaxed));
        let (progress, state, status) = match &*self.lock() {
            State::Created(_) => {
                let mut waiting = Progress::default();
                waiting.targets_total = self.beacons;
                (waiting, EgpState::Created, EgpResult::NotStarted)
            }
            State::Running { control, last } => {
                let now = control.as_ref().map_or(*last, |c| (c.progress)());
                (now, EgpState::Running, EgpResult::NotFinished)
            }
            State::Finished(outcome) => {
                let status = outcome
                    .result
                    .as_ref()
                    .err()
                    .map_or(EgpResult::Ok, |e| e.code);
                (outcome.progress, EgpState::Finished, status)
            }
        };
        let finished = state == EgpState::Finished;
        EgpProgress {
            probes_sent: progress.probes_sent,
            samples: progress.samples,
            targets_done: progress.targets_done,
            targets_total: progress.targets_total,
            state: state as u32,
            status: status as u32,
            decided: u32::from(progress.decided),
            finished: u32::from(finished),
            cancelled,
            reserved: 0,
        }
    }

    /// Asks the run to stop; a probe not started yet is finished as cancelled. Idempotent.
    pub(crate) fn cancel(&self) {
        let mut state = self.lock();
        match &mut *state {
            State::Created(_) => {
                self.cancel_requested.store(true, Ordering::Relaxed);
                *state = State::Finished(Box::new(Outcome {
                    result: Err(FfiError::new(
                        EgpResult::Cancelled,
                        "the probe was cancelled before it started: there is no result",
                    )),
                    progress: {
                        let mut p = Progress::default();
                        p.targets_total = self.beacons;
                        p
                    },
                }));
                drop(state);
                self.ended.notify_all();
            }
            State::Running { control, .. } => {
                // Without a handle the run is being started: `start` cancels it once it exists
                // (it reads this flag under the same lock).
                self.cancel_requested.store(true, Ordering::Relaxed);
                if let Some(control) = control {
                    (control.cancel)();
                }
            }
            State::Finished(_) => {}
        }
    }

    /// Reads the finished run's texts.
    pub(crate) fn with_texts<R>(&self, read: impl FnOnce(&Texts) -> R) -> Result<R, FfiError> {
        match &*self.lock() {
            State::Created(_) => Err(FfiError::new(
                EgpResult::NotStarted,
                "the probe has not been started: call egp_probe_start first",
            )),
            State::Running { .. } => Err(FfiError::new(
                EgpResult::NotFinished,
                "the probe is still running: poll until EgpProgress.finished is 1",
            )),
            State::Finished(outcome) => match &outcome.result {
                Ok(texts) => Ok(read(texts)),
                Err(error) => Err(error.clone()),
            },
        }
    }

    /// Why the finished run has no report (`""` while it runs, or when it succeeded): the
    /// run's own error, whichever thread asks.
    pub(crate) fn error_message(&self) -> String {
        match &*self.lock() {
            State::Finished(outcome) => outcome
                .result
                .as_ref()
                .err()
                .map_or_else(String::new, |e| e.message.clone()),
            _ => String::new(),
        }
    }

    /// Blocks until the run has ended; returns its status.
    pub(crate) fn wait(&self) -> Result<(), FfiError> {
        let mut state = self.lock();
        loop {
            match &*state {
                State::Created(_) => {
                    return Err(FfiError::new(
                        EgpResult::NotStarted,
                        "the probe has not been started",
                    ));
                }
                State::Finished(outcome) => {
                    return outcome.result.as_ref().map(|_| ()).map_err(Clone::clone);
                }
                State::Running { .. } => {
                    state = self
                        .ended
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// Called by `egp_probe_free`: stops the run and makes sure the callback will not fire.
    /// Never waits for the run; waits for a running callback only on a caller's thread (see
    /// `CallbackSlot::detach`), with no lock held.
    pub(crate) fn release(&self) {
        self.cancel();
        self.callback.detach();
    }

    fn finish(&self, id: EgpProbe, result: Result<Report, ProbeError>) {
        // This runs on a runtime task, outside any entry point's panic boundary: a panic while
        // serialising must still finish the probe (as PANIC) rather than leave it running.
        let result = result.map_err(FfiError::from).and_then(|report| {
            std::panic::catch_unwind(|| Texts {
                report_json: report.to_json_pretty(),
                payload_json: report.payload.to_string(),
            })
            .map_err(|_| {
                FfiError::new(
                    EgpResult::Panic,
                    "internal error (please report it): the report could not be serialised",
                )
            })
        });
        let status = result.as_ref().err().map_or(EgpResult::Ok, |e| e.code);
        {
            let mut state = self.lock();
            let progress = match &*state {
                State::Running {
                    control: Some(control),
                    ..
                } => (control.progress)(),
                State::Running { last, .. } => *last,
                _ => Progress::default(),
            };
            *state = State::Finished(Box::new(Outcome { result, progress }));
        }
        self.ended.notify_all();
        tracing::debug!(probe = id, %status, "probe finished");
        self.callback.fire_later(id, status);
    }
}

/// Awaits the run's end (woken by the run's task itself, no polling) and finishes the session.
async fn supervise(session: Arc<Session>, id: EgpProbe, handle: ProbeHandle) {
    let result = handle.wait().await;
    session.finish(id, result);
}

fn too_late(what: &str) -> FfiError {
    FfiError::new(
        EgpResult::AlreadyStarted,
        format!("{what} must be called before egp_probe_start"),
    )
}

fn already_started() -> FfiError {
    FfiError::new(
        EgpResult::AlreadyStarted,
        "the probe was already started: a probe runs once, create a new one to probe again",
    )
}
