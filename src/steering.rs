//! The live decision as the engine's observer: it sees each batch of events where and when the
//! engine hands them over (on the engine's thread, on its wake-ups), evaluates, and steers the
//! run at once. No wake-up of the caller's task per batch, and no channel in between.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use edgegap_ping::{Event, Observer, Steer};
use edgegap_rank::RankConfig;

use crate::live::{Action, LiveRun, Thresholds};
use crate::progress::ProgressCounters;

/// How often a run with adaptive sampling looks at its decision without an event: nothing the
/// engine does (or does not do) can leave a held target waiting longer.
const TICK: Duration = Duration::from_millis(10);

/// A run's live state, steering it from the engine's side.
pub(crate) struct Steering {
    pub(crate) live: LiveRun,
    counters: Arc<ProgressCounters>,
    rank: RankConfig,
    thresholds: Thresholds,
    /// Whether the decision stops targets (it is always evaluated, for `decided_at`).
    early_decision: bool,
    /// With adaptive sampling, the next look without events.
    next_tick: Option<Instant>,
}

impl Steering {
    /// Steering for `live`; `adaptive` looks every [`TICK`] even without events.
    pub(crate) fn new(
        live: LiveRun,
        counters: Arc<ProgressCounters>,
        rank: RankConfig,
        thresholds: Thresholds,
        early_decision: bool,
        adaptive: bool,
    ) -> Self {
        Self {
            live,
            counters,
            rank,
            thresholds,
            early_decision,
            next_tick: adaptive.then(Instant::now),
        }
    }
}

impl Observer for Steering {
    fn observe(&mut self, events: &mut Vec<Event>, now: Instant, steer: &mut Steer) {
        let mut seen = Seen::default();
        for event in events.drain(..) {
            seen.count(&event);
            self.live.observe(&event);
        }
        seen.add_to(&self.counters);
        if self.next_tick.is_some() {
            self.next_tick = Some(now + TICK);
        }
        let actions = self.live.evaluate(now, &self.rank, self.thresholds, false);
        if self.live.decided_at().is_some() {
            self.counters.decided.store(true, Ordering::Relaxed);
        }
        if self.early_decision {
            for action in actions {
                match action {
                    Action::Stop(id) => steer.stop_target(id),
                    Action::Extend {
                        id,
                        more,
                        not_before,
                    } => steer.extend_target(id, more, not_before),
                    Action::Release(id) => steer.release_target(id),
                }
            }
        }
    }

    fn next_look(&self) -> Option<Instant> {
        self.next_tick
    }
}

/// A batch's events by kind, for the progress display: added to its counters once per batch
/// (three atomic additions, not up to three per event).
#[derive(Default)]
struct Seen {
    sent: u64,
    samples: u64,
    done: u32,
}

impl Seen {
    fn count(&mut self, event: &Event) {
        match event {
            Event::Sent { .. } => self.sent += 1,
            Event::Received { .. } => self.samples += 1,
            Event::Done { .. } => self.done += 1,
            _ => {}
        }
    }

    fn add_to(&self, counters: &ProgressCounters) {
        if self.sent > 0 {
            counters.probes_sent.fetch_add(self.sent, Ordering::Relaxed);
        }
        if self.samples > 0 {
            counters.samples.fetch_add(self.samples, Ordering::Relaxed);
        }
        if self.done > 0 {
            counters
                .targets_done
                .fetch_add(self.done, Ordering::Relaxed);
        }
    }
}
