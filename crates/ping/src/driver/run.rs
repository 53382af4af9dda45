//! The handles of a run in progress: [`Run`] (events on a channel), [`ObservedRun`] (events to
//! an observer), [`RunControl`], and what a finished run hands back.

use std::marker::PhantomData;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::debug;

#[cfg(any(target_os = "linux", target_os = "android"))]
use super::poll;
use super::{Command, sink::Sink};
use crate::error::EngineError;
use crate::event::{Event, RunStop, RunSummary};
use crate::machine::Machine;
use crate::observe::Observer;
use crate::types::TargetId;

/// What a driver hands back at the end of a run: the core, the instant it finished, and where
/// its events went. The caller builds the summary once it is done with the events
/// ([`Finished::summary`]), so the two are never held at once.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) machine: Machine,
    pub(crate) at: Instant,
    pub(crate) sink: Sink,
}

/// A started run, whichever way its events go: its control and its driver's task.
#[derive(Debug)]
pub(crate) struct Launched {
    pub(crate) control: RunControl,
    pub(crate) handle: JoinHandle<Ended>,
    /// Cancels the run when dropped (taken by `join`).
    pub(crate) cancel_on_drop: Option<RunControl>,
}

impl Drop for Launched {
    fn drop(&mut self) {
        if let Some(control) = self.cancel_on_drop.take() {
            control.cancel();
        }
    }
}

impl Launched {
    /// Waits for the driver's end; a panic in it is resumed here.
    async fn join(mut self) -> Result<Ended, JoinError> {
        let guard = self.cancel_on_drop.take();
        let outcome = (&mut self.handle).await;
        drop(guard);
        match outcome {
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            outcome => outcome,
        }
    }
}

/// A run in progress. Read `events` while it runs; `finish()` waits for its end.
/// Dropping a `Run` cancels it.
#[derive(Debug)]
pub struct Run {
    /// Every event of the run, in order; closed once the run is over.
    pub events: mpsc::UnboundedReceiver<Event>,
    pub(crate) launched: Launched,
}

impl Run {
    /// A handle to stop targets or cancel the run from anywhere.
    pub fn control(&self) -> RunControl {
        self.launched.control.clone()
    }

    /// Waits for the end of the run (every target done, or cancelled, or the deadline)
    /// and returns the summary. Events not yet read from `events` are dropped.
    pub async fn finish(self) -> RunSummary {
        let Run {
            mut events,
            launched,
        } = self;
        // The driver sees a closed channel and stops handing events over; those waiting go.
        events.close();
        drop(events);
        match launched.join().await {
            Ok(ended) => Finished {
                machine: ended.machine,
                at: ended.at,
            }
            .summary(),
            Err(e) => {
                debug!(error = %e, "engine task did not finish (runtime shutting down)");
                RunSummary {
                    targets: Vec::new(),
                    foreign: 0,
                    stale: 0,
                    elapsed: Duration::ZERO,
                    stopped: Some(RunStop::Cancelled),
                }
            }
        }
    }
}

/// A run whose events go to an observer ([`crate::start_observed`]). `finish()` waits for its
/// end and hands the observer back. Dropping it cancels the run.
#[derive(Debug)]
pub struct ObservedRun<O> {
    pub(crate) launched: Launched,
    pub(crate) observer: PhantomData<fn() -> O>,
}

impl<O: Observer> ObservedRun<O> {
    /// A handle to stop targets or cancel the run from anywhere.
    pub fn control(&self) -> RunControl {
        self.launched.control.clone()
    }

    /// Waits for the end of the run (every target done, or cancelled, or the deadline) and
    /// returns the observer, which has seen every event, and the finished run, whose summary
    /// is built when asked (after the observer is done with what it kept, if it likes).
    ///
    /// # Errors
    /// [`EngineError::Interrupted`] when the run's task was dropped before it finished (its
    /// runtime shut down).
    pub async fn finish(self) -> Result<(O, Finished), EngineError> {
        let ended = self.launched.join().await.map_err(|e| {
            debug!(error = %e, "engine task did not finish (runtime shutting down)");
            EngineError::Interrupted
        })?;
        let observer: Box<dyn std::any::Any> = ended
            .sink
            .into_observer()
            .expect("an observed run's sink is its observer");
        let observer = observer
            .downcast::<O>()
            .expect("an observed run's observer is the one it was started with");
        let finished = Finished {
            machine: ended.machine,
            at: ended.at,
        };
        Ok((*observer, finished))
    }
}

/// A finished run, before its summary is built.
#[derive(Debug)]
pub struct Finished {
    machine: Machine,
    at: Instant,
}

impl Finished {
    /// The run's summary.
    pub fn summary(self) -> RunSummary {
        let summary = self.machine.into_summary(self.at);
        debug!(targets = summary.targets.len(), foreign = summary.foreign, elapsed = ?summary.elapsed, "run finished");
        summary
    }
}

/// Stops targets or the whole run. Cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct RunControl {
    pub(crate) token: CancellationToken,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    /// Wakes the run's own thread, when it has one (`direct.rs`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) wake: Option<Arc<poll::Wake>>,
}

impl RunControl {
    /// No more sends to this target; it ends at once with status `Stopped`
    /// (its probes in flight end cancelled).
    pub fn stop_target(&self, id: TargetId) {
        self.command(Command::Stop(id));
    }

    /// Asks `more` samples of this target on top of those it wanted (its send budget grows as
    /// much; the loss replacements stay `extra_probes`), its next probe no earlier than
    /// `not_before` (the per-target interval still holds): a controller that compares
    /// targets sends their probes aligned this way. No effect on a target that has ended;
    /// with [`crate::EngineConfig::hold_complete`] a target never ends before its controller says.
    pub fn extend_target(&self, id: TargetId, more: u32, not_before: Option<Instant>) {
        self.command(Command::Extend {
            id,
            more,
            not_before,
        });
    }

    /// Releases a target: it sends nothing more and ends once its probes in flight are
    /// answered or lost (none is cancelled), with status `Complete` when it has a sample. This
    /// is how a controller ends a target it held ([`crate::EngineConfig::hold_complete`]) or
    /// extended.
    pub fn release_target(&self, id: TargetId) {
        self.command(Command::Release(id));
    }

    /// Stops all sending at once; the run ends promptly with what was measured.
    pub fn cancel(&self) {
        self.token.cancel();
        self.wake();
    }

    fn command(&self, command: Command) {
        // After the run ended nobody listens, and there is nothing to do.
        if self.commands.send(command).is_ok() {
            self.wake();
        }
    }

    /// Wakes the run's own thread (if it has one) to look at its commands and token.
    #[cfg_attr(
        not(any(target_os = "linux", target_os = "android")),
        allow(clippy::unused_self)
    )]
    fn wake(&self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(wake) = &self.wake {
            wake.wake();
        }
    }
}
