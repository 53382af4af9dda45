//! Looking at a run's events where the engine runs ([`crate::start_observed`]).
//!
//! A reader of [`crate::Run::events`] is another task, often on another thread: every batch of
//! events handed to it is a wake-up of its own. A controller that only looks at the events to
//! steer the run (stop the targets that can no longer win, ask more samples of close ones) can
//! instead be an [`Observer`]: the engine calls it with each batch, on its own wake-ups and on
//! its own thread, and carries out what it asks at once.

use std::any::Any;
use std::time::Instant;

use crate::driver::Command;
use crate::event::Event;
use crate::types::TargetId;

/// Looks at a run's events as the engine hands them over, on the engine's own schedule (each
/// event as it happens, or in batches per [`crate::EngineConfig::forward_every`]), and steers
/// the run. It runs on the engine's thread: it must be quick, and it must not block.
pub trait Observer: Any + Send {
    /// The events since the last call, in order, at `now` (take them out: the vector is
    /// cleared afterwards). Called with no event when [`Observer::next_look`] is due. What is
    /// asked of `steer` is carried out as soon as this returns.
    fn observe(&mut self, events: &mut Vec<Event>, now: Instant, steer: &mut Steer);

    /// When to be called next even if no event comes (default: only for events). Asked once
    /// when the run starts and after each [`Observer::observe`], and kept in between: an
    /// observer changes it in `observe`, not from outside.
    fn next_look(&self) -> Option<Instant> {
        None
    }
}

/// What an [`Observer`] asks of its run: the requests of [`crate::RunControl`], carried out as
/// soon as [`Observer::observe`] returns.
#[derive(Debug, Default)]
pub struct Steer {
    pub(crate) commands: Vec<Command>,
    pub(crate) cancel: bool,
}

impl Steer {
    /// As [`crate::RunControl::stop_target`].
    pub fn stop_target(&mut self, id: TargetId) {
        self.commands.push(Command::Stop(id));
    }

    /// As [`crate::RunControl::extend_target`].
    pub fn extend_target(&mut self, id: TargetId, more: u32, not_before: Option<Instant>) {
        self.commands.push(Command::Extend {
            id,
            more,
            not_before,
        });
    }

    /// As [`crate::RunControl::release_target`].
    pub fn release_target(&mut self, id: TargetId) {
        self.commands.push(Command::Release(id));
    }

    /// As [`crate::RunControl::cancel`].
    pub fn cancel(&mut self) {
        self.cancel = true;
    }
}
