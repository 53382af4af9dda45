//! What a run reports: events while it runs, summaries at the end.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

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

/// One thing that happened during a run, in the order the engine saw it.
///
/// A probe that times out and is answered later produces a `Timeout` and then a
/// `Late` event; it counts once, as late, in the summary. Every target gets
/// exactly one `Done`, and no event about a target follows its `Done`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    Reply {
        /// The target.
        target: TargetId,
        /// The probe.
        seq: Seq,
        /// Its round-trip time.
        rtt: Duration,
    },
    /// A probe timed out (it may still turn `Late`).
    Timeout {
        /// The target.
        target: TargetId,
        /// The probe.
        seq: Seq,
    },
    /// A timed-out probe was answered after all: counted, never a sample.
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
    /// A probe could not be sent (or was refused).
    Failed {
        /// The target.
        target: TargetId,
        /// The probe.
        seq: Seq,
        /// What went wrong.
        error: String,
    },
    /// The target is finished; its summary is final.
    Done {
        /// The target's figures.
        summary: TargetSummary,
    },
}

impl Event {
    /// The target this event is about.
    pub fn target(&self) -> TargetId {
        match self {
            Event::Resolved { target, .. }
            | Event::Sent { target, .. }
            | Event::Reply { target, .. }
            | Event::Timeout { target, .. }
            | Event::Late { target, .. }
            | Event::Duplicate { target, .. }
            | Event::Failed { target, .. } => *target,
            Event::Done { summary } => summary.id,
        }
    }
}

/// The final figures for one target. Every sent probe is in exactly one of
/// `answered`, `timed_out`, `late`, `failed` or `cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetSummary {
    /// The target.
    pub id: TargetId,
    /// The address probed, once known.
    pub addr: Option<SocketAddr>,
    /// The transport used, once chosen.
    pub protocol: Option<Protocol>,
    /// How the target ended.
    pub status: TargetStatus,
    /// Probes sent.
    pub sent: u32,
    /// Probes answered in time (samples).
    pub answered: u32,
    /// Probes that timed out and were never answered.
    pub timed_out: u32,
    /// Probes answered after their timeout.
    pub late: u32,
    /// Probes that could not be sent, or were refused.
    pub failed: u32,
    /// Second answers to answered probes.
    pub duplicates: u32,
    /// Probes in flight when the target was stopped or the run cancelled (not loss).
    pub cancelled: u32,
    /// The answered probes' round-trip times, in send order.
    pub rtts: Vec<Duration>,
}

impl TargetSummary {
    /// Lost probes over probes that had a chance to be answered
    /// (`(timed_out + late) / (answered + timed_out + late)`), or `None` when there were none.
    pub fn loss(&self) -> Option<f64> {
        let lost = self.timed_out + self.late;
        let decided = self.answered + lost;
        (decided > 0).then(|| f64::from(lost) / f64::from(decided))
    }
}

/// How a target ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum TargetStatus {
    /// Got `count` samples, or used up its probe budget with at least one sample.
    Complete,
    /// `stop_target()` was called for it.
    Stopped,
    /// The run was cancelled or hit its deadline before the target finished.
    Cancelled,
    /// No sample, and why.
    Unreachable(Unreachable),
}

impl fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetStatus::Complete => f.write_str("complete"),
            TargetStatus::Stopped => f.write_str("stopped"),
            TargetStatus::Cancelled => f.write_str("cancelled"),
            TargetStatus::Unreachable(why) => write!(f, "unreachable: {why}"),
        }
    }
}

/// Why a target has no sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Unreachable {
    /// The port is closed: ICMP port unreachable (UDP) or a RST (TCP).
    Refused,
    /// Every probe timed out.
    NoReply,
    /// The name did not resolve, or has no address of the wanted family.
    Resolve(String),
    /// The chosen protocol needs a port the target lacks.
    NoPort(Protocol),
    /// Neither unprivileged (datagram) nor raw ICMP sockets are allowed.
    IcmpNotPermitted(String),
    /// Probes could not be sent.
    SendFailed(String),
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::Refused => f.write_str(
                "connection refused: nothing listens on that port (ICMP port unreachable or TCP reset); \
                 check the beacon's port or use another protocol",
            ),
            Unreachable::NoReply => f.write_str(
                "no reply: every probe timed out; the beacon may be down or a firewall drops the probes \
                 (try another protocol, or a longer timeout)",
            ),
            Unreachable::Resolve(why) => write!(f, "could not resolve the address: {why}"),
            Unreachable::NoPort(protocol) => write!(
                f,
                "the target has no {protocol} port; choose another protocol (or auto)"
            ),
            Unreachable::IcmpNotPermitted(why) => write!(
                f,
                "ICMP is not permitted ({why}); allow unprivileged ping with \
                 `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`, or run with CAP_NET_RAW, \
                 or use --protocol udp"
            ),
            Unreachable::SendFailed(why) => write!(f, "probes could not be sent: {why}"),
        }
    }
}

/// The result of a whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Whether the run was cancelled or hit its deadline.
    pub cancelled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_hint_says_how_to_fix() {
        let text = Unreachable::IcmpNotPermitted("EPERM".into()).to_string();
        assert!(text.contains("ping_group_range"));
        assert!(text.contains("CAP_NET_RAW"));
        assert!(text.contains("--protocol udp"));
    }

    #[test]
    fn loss_counts_late_as_lost() {
        let s = TargetSummary {
            id: TargetId(1),
            addr: None,
            protocol: None,
            status: TargetStatus::Complete,
            sent: 5,
            answered: 3,
            timed_out: 1,
            late: 1,
            failed: 0,
            duplicates: 0,
            cancelled: 0,
            rtts: vec![],
        };
        assert_eq!(s.loss(), Some(0.4));
    }
}
