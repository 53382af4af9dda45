//! Where a run's events go, for both drivers: the channel of [`super::Run::events`], or an
//! [`Observer`] called inline ([`crate::start_observed`]).

use std::time::Instant;

use tokio::sync::mpsc;
use tracing::trace;

use super::apply;
use crate::event::Event;
use crate::machine::Machine;
use crate::observe::{Observer, Steer};

/// The most events an observer is handed in one call.
const OBSERVED_CHUNK: usize = 256;

/// What [`Sink::forward`] did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Forwarded {
    /// Events are left to hand over now (a channel's next batch).
    pub(crate) more: bool,
    /// The observer was called (its work took time: the dedicated-thread driver reads its
    /// clock afresh; the runtime's, the only one elsewhere, reads it on every pass anyway).
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) observed: bool,
}

/// Where a run's events go.
pub(crate) enum Sink {
    /// To the reader of the channel (`None` once nobody reads it, or the run is over).
    Channel(Option<mpsc::UnboundedSender<Event>>),
    /// To an observer, called with each batch.
    Observer {
        observer: Box<dyn Observer>,
        /// The batch being handed over (reused).
        batch: Vec<Event>,
        steer: Steer,
        /// Its [`Observer::next_look`], asked after each call (read on every wake-up: the
        /// observer itself is not touched until it is due).
        look: Option<Instant>,
    },
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Channel(tx) => f.debug_tuple("Channel").field(tx).finish(),
            Sink::Observer { batch, steer, .. } => f
                .debug_struct("Observer")
                .field("batch", &batch.len())
                .field("steer", steer)
                .finish_non_exhaustive(),
        }
    }
}

impl Sink {
    /// A sink calling `observer`.
    pub(crate) fn observer(observer: Box<dyn Observer>) -> Self {
        Sink::Observer {
            look: observer.next_look(),
            observer,
            batch: Vec::new(),
            steer: Steer::default(),
        }
    }

    /// When the observer wants to look even without events.
    pub(crate) fn next_look(&self) -> Option<Instant> {
        match self {
            Sink::Channel(_) => None,
            Sink::Observer { look, .. } => *look,
        }
    }

    /// The observer, once the run is over (`None` for a channel).
    pub(crate) fn into_observer(self) -> Option<Box<dyn Observer>> {
        match self {
            Sink::Channel(_) => None,
            Sink::Observer { observer, .. } => Some(observer),
        }
    }

    /// Hands the core's events over, unless they are held back ([`crate::EngineConfig::forward_every`]):
    /// at most `at_most` of them to a channel (the driver yields to its reader between
    /// batches), all of them to an observer, which is also called when its look is due and
    /// whose requests are carried out at once (`now` is the driver's instant for this pass).
    /// Returns what happened (see [`Forwarded`]).
    pub(crate) fn forward(
        &mut self,
        machine: &mut Machine,
        held_since: &mut Option<Instant>,
        at_most: usize,
        now: Instant,
    ) -> Forwarded {
        match self {
            Sink::Channel(tx) => {
                if super::holding(machine, held_since, now) {
                    return Forwarded::default();
                }
                for _ in 0..at_most {
                    let Some(event) = machine.poll_event() else {
                        break;
                    };
                    if tx.as_ref().is_some_and(|tx| tx.send(event).is_err()) {
                        trace!("nobody reads the events any more");
                        *tx = None;
                    }
                }
                let more = machine.has_events();
                if machine.is_finished() && !more {
                    // Closing the channel tells readers the run is over.
                    *tx = None;
                }
                Forwarded {
                    more: more && tx.is_some(),
                    observed: false,
                }
            }
            Sink::Observer {
                observer,
                batch,
                steer,
                look,
            } => {
                let due = look.is_some_and(|at| at <= now);
                let held = super::holding(machine, held_since, now);
                if !due && (held || !machine.has_events()) {
                    return Forwarded::default();
                }
                *held_since = None;
                // In chunks: a burst as long as the list (a `Resolved` per target at the start)
                // is never held as events all at once.
                loop {
                    while batch.len() < OBSERVED_CHUNK
                        && let Some(event) = machine.poll_event()
                    {
                        batch.push(event);
                    }
                    observer.observe(batch, now, steer);
                    *look = observer.next_look();
                    batch.clear();
                    for command in steer.commands.drain(..) {
                        apply(machine, command);
                    }
                    if std::mem::take(&mut steer.cancel) {
                        machine.cancel(now);
                    }
                    if !machine.has_events() {
                        return Forwarded {
                            more: false,
                            observed: true,
                        };
                    }
                }
            }
        }
    }
}
