//! What a run reports: events while it runs, summaries at the end.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use edgegap_core::{ProbeCounts, Unreachable};

use crate::types::{Protocol, TargetId};

/// The sequence number of one probe within its socket's sequence space
/// (UDP and TCP: 32 bits; ICMP: 16 bits, so an ICMP `Seq` is below 65536).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Seq(pub u32);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {}", self.0)
    }
}

/// Why a probe was declared lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LossCause {
    /// No reply within the target's timeout (it may still turn `Late`).
    Timeout,
    /// A later probe was answered first and this one is older than QUIC's time threshold (it
    /// may still turn `Late`).
    Reordered,
    /// The peer refused it (ICMP port unreachable for UDP, RST for TCP).
    Refused,
    /// It could not be sent; the operating system's error.
    SendFailed(String),
}

impl LossCause {
    /// Whether an answer may still come (and turn the probe `Late`).
    pub fn may_turn_late(&self) -> bool {
        matches!(self, LossCause::Timeout | LossCause::Reordered)
    }
}

/// One thing that happened during a run, in the order the engine saw it.
///
/// Every probe sent ends in exactly one outcome, and the events name it as the summary's
/// [`ProbeCounts`] do: `Received`, `Lost` (which a later answer turns `Late`), or cancelled
/// (the probes still in flight when its target's `Done` comes). Every target gets exactly one
/// `Done`, and no event about a target follows its `Done`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The target's address is known (ICMP targets have port 0).
    Resolved {
        /// The target.
        target: TargetId,
        /// The address probed.
        addr: SocketAddr,
        /// The transport chosen for it.
        protocol: Protocol,
    },
    /// A probe went out.
    Sent {
        /// The target.
        target: TargetId,
        /// The probe.
        seq: Seq,
        /// When it was sent (monotonic).
        at: Instant,
    },
    /// A probe was answered in time: a sample.
    Received {
        /// The target.
        target: TargetId,
        /// The probe.
        seq: Seq,
        /// Its round-trip time.
        rtt: Duration,
    },
    /// A probe was declared lost.
    Lost {
        /// The target.
        target: TargetId,
        /// The probe.
        seq: Seq,
        /// Why.
        cause: LossCause,
    },
    /// A lost probe was answered after all: it now counts as late (still loss, never a sample).
    Late {
        /// The target.
        target: TargetId,
        /// The probe.
        seq: Seq,
        /// How long the answer took.
        rtt: Duration,
    },
    /// A second answer to an already answered probe, ignored.
    Duplicate {
        /// The target.
        target: TargetId,
        /// The probe.
        seq: Seq,
    },
    /// The target is finished; its summary is final.
    Done {
        /// The target's figures (boxed: an event is moved through the engine's queue and a
        /// batch, and the other kinds are a third of a summary's size).
        summary: Box<TargetSummary>,
    },
}

impl Event {
    /// The target this event is about.
    pub fn target(&self) -> TargetId {
        match self {
            Event::Resolved { target, .. }
            | Event::Sent { target, .. }
            | Event::Received { target, .. }
            | Event::Lost { target, .. }
            | Event::Late { target, .. }
            | Event::Duplicate { target, .. } => *target,
            Event::Done { summary } => summary.id,
        }
    }
}

/// The final figures for one target. Every sent probe has exactly one outcome in `counts`
/// (`sent = received + lost + late + cancelled`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TargetSummary {
    /// The target.
    pub id: TargetId,
    /// The address probed, once known.
    pub addr: Option<SocketAddr>,
    /// The transport used, once chosen.
    pub protocol: Option<Protocol>,
    /// How the target ended.
    pub status: TargetStatus,
    /// What became of its probes.
    pub counts: ProbeCounts,
    /// The answered probes' round-trip times, in send order.
    pub rtts: Vec<Duration>,
}

impl TargetSummary {
    /// The loss fraction `(lost + late) / (sent − cancelled)`, or `None` when no probe's fate
    /// is known.
    pub fn loss(&self) -> Option<f64> {
        self.counts.loss()
    }

    /// Why the target has no sample (`None` when it has one): its unreachable reason, or how
    /// the run or the target was ended before any reply.
    pub fn unreachable(&self) -> Option<Unreachable> {
        if !self.rtts.is_empty() {
            return None;
        }
        Some(match &self.status {
            TargetStatus::Unreachable(why) => why.clone(),
            TargetStatus::Cancelled => Unreachable::Cancelled,
            TargetStatus::Deadline => Unreachable::Deadline,
            TargetStatus::Stopped => Unreachable::Stopped,
            TargetStatus::Complete => Unreachable::NoReply,
        })
    }
}

/// How a target ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TargetStatus {
    /// Got `count` samples, or used up its probe budget with at least one sample.
    Complete,
    /// `stop_target()` was called for it.
    Stopped,
    /// The run was cancelled before the target finished.
    Cancelled,
    /// The run's deadline passed before the target finished.
    Deadline,
    /// No sample, and why.
    Unreachable(Unreachable),
}

impl fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetStatus::Complete => f.write_str("complete"),
            TargetStatus::Stopped => f.write_str("stopped"),
            TargetStatus::Cancelled => f.write_str("cancelled"),
            TargetStatus::Deadline => f.write_str("deadline"),
            TargetStatus::Unreachable(why) => write!(f, "unreachable: {why}"),
        }
    }
}

/// What ended a run before every target finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStop {
    /// `cancel()` (or dropping the run).
    Cancelled,
    /// The configured deadline.
    Deadline,
}

/// The result of a whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// One summary per target, in input order.
    pub targets: Vec<TargetSummary>,
    /// Datagrams that matched no probe (wrong source, wrong nonce, altered, unknown sequence).
    pub foreign: u64,
    /// Replies that matched a probe of a target that had already finished (its
    /// summary was final, so they are counted only here).
    pub stale: u64,
    /// Wall time of the run (monotonic).
    pub elapsed: Duration,
    /// What ended the run early, if anything did.
    pub stopped: Option<RunStop>,
}

impl RunSummary {
    /// Whether the run was cancelled or hit its deadline.
    pub fn ended_early(&self) -> bool {
        self.stopped.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sample_says_why_by_status() {
        let mut s = TargetSummary {
            id: TargetId(1),
            addr: None,
            protocol: None,
            status: TargetStatus::Deadline,
            counts: ProbeCounts {
                sent: 5,
                received: 0,
                lost: 1,
                late: 1,
                cancelled: 3,
                duplicates: 0,
            },
            rtts: vec![],
        };
        assert!(s.counts.adds_up());
        assert_eq!(s.loss(), Some(1.0));
        assert_eq!(s.unreachable(), Some(Unreachable::Deadline));
        s.status = TargetStatus::Cancelled;
        assert_eq!(s.unreachable(), Some(Unreachable::Cancelled));
        s.rtts.push(Duration::from_millis(3));
        assert_eq!(s.unreachable(), None);
    }
}
