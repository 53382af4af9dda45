//! One target's state: its probes, counters and round-trip statistics.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use edgegap_core::{ProbeCounts, Samples};

use crate::config::EngineConfig;
use crate::event::{TargetStatus, TargetSummary};
use crate::machine::table::{Channel, ProbeKey};
use crate::types::{Protocol, TargetId};
use edgegap_core::Unreachable;

/// Where a target is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for its name to resolve.
    Resolving,
    /// Sending and receiving.
    Active,
    /// Finished; its summary is final.
    Done,
}

/// The state of one probe. `InFlight` is the only state that is not terminal,
/// except `TimedOut`, which may still turn `Late`. Each state counts in exactly one of the
/// target's [`ProbeCounts`] outcomes: `Received`; `TimedOut` and `Failed` are `lost`; `Late`;
/// `Cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeState {
    /// Sent, not answered, not timed out.
    InFlight,
    /// Answered in time.
    Received(Duration),
    /// Lost: not answered within its timeout (or declared lost by the reordering rule).
    TimedOut,
    /// Answered after its timeout.
    Late(Duration),
    /// Lost: could not be sent, or was refused.
    Failed,
    /// In flight when its target was stopped or the run ended.
    Cancelled,
}

/// One probe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    pub(crate) key: ProbeKey,
    /// The instant the core handed it to the driver; the driver sends it right after, so
    /// nothing that answers it can arrive at or before this instant.
    pub(crate) sent_at: Instant,
    /// The 64 random bits drawn for it when it was sent (see [`crate::payload`]): a reply
    /// must carry exactly these.
    pub(crate) secret: u64,
    pub(crate) state: ProbeState,
}

/// One target.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) id: TargetId,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) addr: Option<SocketAddr>,
    pub(crate) channel: Option<Channel>,
    pub(crate) phase: Phase,
    pub(crate) probes: Vec<Probe>,
    pub(crate) next_send_at: Instant,
    pub(crate) in_flight: u32,
    /// What became of its probes (`sent` grows with `probes`).
    pub(crate) counts: ProbeCounts,
    /// Probes that timed out (whether answered late or not): a target without a sample and
    /// with one of these got no reply, not a send failure.
    pub(crate) timeouts: u32,
    pub(crate) rtt: RttStats,
    pub(crate) last_error: Option<String>,
    pub(crate) status: Option<TargetStatus>,
    /// Whether it is in its channel's send queue (under `(next_send_at, index)`: whoever
    /// changes `next_send_at` takes it out first).
    pub(crate) queued_send: bool,
    /// Its key in the timeout queue (when its oldest probe in flight times out), while there.
    pub(crate) queued_timeout: Option<Instant>,
    /// Samples (and budget) added to `count` by the run's controller
    /// ([`crate::RunControl::extend_target`]).
    pub(crate) extra: u32,
    /// Whether the controller released it: it sends nothing more and ends once its probes in
    /// flight settle.
    pub(crate) released: bool,
}

impl Target {
    /// A target that still needs its address.
    pub(crate) fn new(id: TargetId, protocol: Option<Protocol>, now: Instant) -> Target {
        Target {
            id,
            protocol,
            addr: None,
            channel: None,
            phase: Phase::Resolving,
            probes: Vec::new(),
            next_send_at: now,
            in_flight: 0,
            counts: ProbeCounts::default(),
            timeouts: 0,
            rtt: RttStats::default(),
            last_error: None,
            status: None,
            queued_send: false,
            queued_timeout: None,
            extra: 0,
            released: false,
        }
    }

    /// Probes sent so far.
    pub(crate) fn sent(&self) -> u32 {
        self.counts.sent
    }

    /// Samples this target wants: `count`, plus what the controller added.
    pub(crate) fn wanted(&self, config: &EngineConfig) -> u32 {
        config.count.saturating_add(self.extra)
    }

    /// Most probes this target may send: `count + extra_probes`, plus what the controller
    /// added (the loss replacements stay `extra_probes`).
    pub(crate) fn budget(&self, config: &EngineConfig) -> u32 {
        config.budget().saturating_add(self.extra)
    }

    /// Whether the schedule allows another probe now or later (ignoring time).
    pub(crate) fn wants_to_send(&self, config: &EngineConfig) -> bool {
        self.phase == Phase::Active
            && self.channel.is_some()
            && !self.released
            && self.in_flight + self.counts.received < self.wanted(config)
            && self.sent() < self.budget(config)
    }

    /// The oldest probe still in flight.
    pub(crate) fn oldest_in_flight(&self) -> Option<(usize, &Probe)> {
        if self.in_flight == 0 {
            return None;
        }
        self.probes
            .iter()
            .enumerate()
            .find(|(_, p)| p.state == ProbeState::InFlight)
    }

    /// The status this target ends with when it has nothing more to do, if it has.
    /// With [`EngineConfig::hold_complete`], a target with samples that has nothing more to
    /// do waits, idle, for the controller to extend or release it.
    /// A released target sends nothing more and ends once its probes in flight settle.
    pub(crate) fn natural_end(&self, config: &EngineConfig) -> Option<TargetStatus> {
        let held = config.hold_complete && !self.released;
        if self.counts.received >= self.wanted(config) {
            return (!held).then_some(TargetStatus::Complete);
        }
        let exhausted = self.sent() >= self.budget(config) || self.released;
        if self.in_flight > 0 || !exhausted {
            return None;
        }
        Some(if self.counts.received > 0 {
            if held {
                return None;
            }
            TargetStatus::Complete
        } else if self.timeouts > 0 {
            TargetStatus::Unreachable(Unreachable::NoReply)
        } else {
            TargetStatus::Unreachable(Unreachable::SendFailed(
                self.last_error
                    .clone()
                    .unwrap_or_else(|| "no probe could be sent".to_owned()),
            ))
        })
    }

    /// Makes room for one more probe: the first time for the `count` probes a run wants,
    /// then for the replacements, never past the budget (a `Vec`'s own doubling would hold
    /// room for four probes where one was sent).
    pub(crate) fn reserve_probe(&mut self, config: &EngineConfig) {
        let len = self.probes.len();
        if len == self.probes.capacity() {
            let more = if len == 0 {
                config.count
            } else {
                self.budget(config).saturating_sub(self.sent())
            };
            self.probes.reserve_exact((more as usize).max(1));
        }
    }

    /// The target's figures.
    pub(crate) fn summary(&self) -> TargetSummary {
        TargetSummary {
            id: self.id,
            addr: self.addr,
            protocol: self.protocol,
            status: self.status.clone().unwrap_or(TargetStatus::Cancelled),
            counts: self.counts,
            rtts: self.rtts(),
        }
    }

    /// The target's figures, taking what it holds (the end of a run).
    pub(crate) fn into_summary(self) -> TargetSummary {
        TargetSummary {
            id: self.id,
            addr: self.addr,
            protocol: self.protocol,
            rtts: self.rtts(),
            status: self.status.unwrap_or(TargetStatus::Cancelled),
            counts: self.counts,
        }
    }

    /// The samples, in the order their probes were sent.
    fn rtts(&self) -> Vec<Duration> {
        self.probes
            .iter()
            .filter_map(|p| match p.state {
                ProbeState::Received(rtt) => Some(rtt),
                _ => None,
            })
            .collect()
    }
}

/// A target's round-trip statistics: the samples (the workspace's one [`Samples`], for the
/// p90), and QUIC's smoothed and latest RTT for the reordering rule. A target's first sample
/// is held inline (its p90, smoothed and latest RTT are that sample): most targets of a large
/// run get one sample or none. From the second on they live on the heap, as [`Samples`]
/// take 96 bytes and their own vector.
#[derive(Debug, Default, Clone)]
pub(crate) enum RttStats {
    /// No sample yet.
    #[default]
    Empty,
    /// Exactly one sample, in nanoseconds.
    One(u64),
    /// Two samples or more.
    Many(Box<Sampled>),
}

/// The statistics of a target with two samples or more.
#[derive(Debug, Clone)]
pub(crate) struct Sampled {
    samples: Samples,
    smoothed: Duration,
    latest: Duration,
}

/// A round-trip time in nanoseconds (saturating, as [`Samples`] records it).
fn nanos(rtt: Duration) -> u64 {
    u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX)
}

impl RttStats {
    /// Adds a sample.
    pub(crate) fn add(&mut self, rtt: Duration) {
        match self {
            RttStats::Empty => *self = RttStats::One(nanos(rtt)),
            RttStats::One(first) => {
                let first = Duration::from_nanos(*first);
                let mut samples = Samples::new();
                samples.record(first);
                samples.record(rtt);
                *self = RttStats::Many(Box::new(Sampled {
                    samples,
                    smoothed: (first * 7 + rtt) / 8,
                    latest: rtt,
                }));
            }
            RttStats::Many(s) => {
                s.samples.record(rtt);
                s.latest = rtt;
                s.smoothed = (s.smoothed * 7 + rtt) / 8;
            }
        }
    }

    /// The nearest-rank 90th percentile of the samples (as the report computes it).
    pub(crate) fn p90(&self) -> Option<Duration> {
        match self {
            RttStats::Empty => None,
            RttStats::One(ns) => Some(Duration::from_nanos(*ns)),
            RttStats::Many(s) => s.samples.quantile(0.9),
        }
    }

    /// The timeout for this target's probes: `timeout` until there is a sample,
    /// then `max(timeout_floor, 3 × p90)`, never above `timeout`.
    pub(crate) fn timeout(&self, config: &EngineConfig) -> Duration {
        self.p90().map_or(config.timeout, |p90| {
            (p90 * 3).max(config.timeout_floor).min(config.timeout)
        })
    }

    /// QUIC's time threshold: an earlier probe still in flight when a later one is
    /// answered is lost once it was sent more than this long ago
    /// (`9/8 × max(srtt, latest rtt)`, at least 1 ms).
    pub(crate) fn reorder_threshold(&self) -> Option<Duration> {
        let base = match self {
            RttStats::Empty => return None,
            RttStats::One(ns) => Duration::from_nanos(*ns),
            RttStats::Many(s) => s.smoothed.max(s.latest),
        };
        Some((base * 9 / 8).max(Duration::from_millis(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    #[test]
    fn adaptive_timeout_is_three_p90_between_floor_and_cap() {
        let config = EngineConfig::default();
        let mut stats = RttStats::default();
        assert_eq!(
            stats.timeout(&config),
            ms(1000),
            "no sample yet: the hard timeout"
        );
        stats.add(ms(5));
        assert_eq!(
            stats.timeout(&config),
            ms(50),
            "3 × 5 ms is below the floor"
        );
        for _ in 0..8 {
            stats.add(ms(100));
        }
        stats.add(ms(120));
        assert_eq!(stats.p90(), Some(ms(100)));
        assert_eq!(stats.timeout(&config), ms(300));
        stats.add(ms(900));
        stats.add(ms(900));
        assert_eq!(
            stats.timeout(&config),
            ms(1000),
            "capped at the hard timeout"
        );
    }

    #[test]
    fn reorder_threshold_follows_quic() {
        let mut stats = RttStats::default();
        assert_eq!(stats.reorder_threshold(), None);
        stats.add(ms(80));
        assert_eq!(stats.reorder_threshold(), Some(ms(90)));
        stats.add(ms(160));
        // srtt = (80*7+160)/8 = 90, latest 160: 9/8 × 160 = 180
        assert_eq!(stats.reorder_threshold(), Some(ms(180)));
    }

    #[test]
    fn one_sample_inline_and_many_on_the_heap_agree_with_samples() {
        let config = EngineConfig::default();
        let rtts = [ms(7), ms(3), ms(250), ms(3), ms(40)];
        let mut stats = RttStats::default();
        let mut samples = Samples::new();
        let mut smoothed: Option<Duration> = None;
        for (i, &rtt) in rtts.iter().enumerate() {
            stats.add(rtt);
            samples.record(rtt);
            let srtt = smoothed.map_or(rtt, |s| (s * 7 + rtt) / 8);
            smoothed = Some(srtt);
            assert_eq!(matches!(stats, RttStats::One(_)), i == 0);
            assert_eq!(stats.p90(), samples.quantile(0.9), "after {} samples", i + 1);
            assert_eq!(
                stats.reorder_threshold(),
                Some((srtt.max(rtt) * 9 / 8).max(ms(1)))
            );
            assert_eq!(
                stats.timeout(&config),
                (samples.quantile(0.9).unwrap() * 3)
                    .max(config.timeout_floor)
                    .min(config.timeout)
            );
        }
    }
}
