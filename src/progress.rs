//! Progress of a running probe, readable at any time without blocking (for bars and game loops).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// A snapshot of a run's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Probes sent so far.
    pub probes_sent: u64,
    /// Replies used as samples so far.
    pub samples: u64,
    /// Beacons whose measurement has ended.
    pub targets_done: u32,
    /// Beacons in the run.
    pub targets_total: u32,
    /// The best location is known (early decision), though others may still be measured.
    pub decided: bool,
    /// The run has ended and its report is ready.
    pub finished: bool,
}

/// The shared counters behind [`Progress`].
#[derive(Debug, Default)]
pub(crate) struct ProgressCounters {
    pub probes_sent: AtomicU64,
    pub samples: AtomicU64,
    pub targets_done: AtomicU32,
    pub targets_total: AtomicU32,
    pub decided: AtomicBool,
    pub finished: AtomicBool,
}

impl ProgressCounters {
    pub(crate) fn snapshot(&self) -> Progress {
        Progress {
            probes_sent: self.probes_sent.load(Ordering::Relaxed),
            samples: self.samples.load(Ordering::Relaxed),
            targets_done: self.targets_done.load(Ordering::Relaxed),
            targets_total: self.targets_total.load(Ordering::Relaxed),
            decided: self.decided.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Acquire),
        }
    }
}
