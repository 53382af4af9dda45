//! One target's state: its probes, counters and round-trip statistics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use edgegap_core::{ProbeCounts, Samples};

use crate::config::EngineConfig;
use crate::event::{Seq, TargetStatus, TargetSummary};
use crate::machine::table::Channel;
use crate::types::{Protocol, TargetId};
use edgegap_core::Unreachable;

/// An instant of a run in 8 bytes (an [`Instant`] takes 16): nanoseconds since the run's
/// epoch (the `now` its machine was made at), plus one, so that an `Option<Tick>` takes 8
/// bytes too. Converting an instant at or after the epoch to a tick and back is exact; an
/// instant before the epoch counts as the epoch (the machine is never given one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Tick(NonZeroU64);

impl Tick {
    /// The epoch itself.
    pub(crate) const EPOCH: Tick = Tick(NonZeroU64::MIN);

    /// The tick of `at`.
    pub(crate) fn of(at: Instant, epoch: Instant) -> Tick {
        let ns = u64::try_from(at.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX);
        Tick(NonZeroU64::MIN.saturating_add(ns))
    }

    /// The instant of this tick.
    pub(crate) fn instant(self, epoch: Instant) -> Instant {
        epoch + Duration::from_nanos(self.0.get() - 1)
    }

    /// The time from `earlier` to this tick (zero when `earlier` is not before it).
    pub(crate) fn since(self, earlier: Tick) -> Duration {
        Duration::from_nanos(self.0.get().saturating_sub(earlier.0.get()))
    }

    /// The tick `d` after this one: `Tick::of(self.instant(epoch) + d, epoch)` without the
    /// clock arithmetic (saturating after 584 years).
    pub(crate) fn plus(self, d: Duration) -> Tick {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Tick(self.0.saturating_add(ns))
    }
}

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

/// A [`ProbeState`] without its round-trip time (kept apart in [`Probe`], in nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StateTag {
    /// [`ProbeState::InFlight`].
    InFlight,
    /// [`ProbeState::Received`], its round trip in [`Probe::rtt_ns`].
    Received,
    /// [`ProbeState::TimedOut`].
    TimedOut,
    /// [`ProbeState::Late`], its round trip in [`Probe::rtt_ns`].
    Late,
    /// [`ProbeState::Failed`].
    Failed,
    /// [`ProbeState::Cancelled`].
    Cancelled,
}

/// One probe, in 32 bytes (its channel is its target's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    /// Its sequence number on its target's channel.
    pub(crate) seq: Seq,
    /// Its state, but for the round trip.
    state: StateTag,
    /// The instant the core handed it to the driver; the driver sends it right after, so
    /// nothing that answers it can arrive at or before this instant.
    pub(crate) sent_at: Tick,
    /// The 64 random bits drawn for it when it was sent (see [`crate::payload`]): a reply
    /// must carry exactly these.
    pub(crate) secret: u64,
    /// The round trip of a `Received` or `Late` probe, in nanoseconds.
    rtt_ns: u64,
}

impl Probe {
    /// A probe just sent.
    pub(crate) fn sent(seq: Seq, sent_at: Tick, secret: u64) -> Probe {
        Probe {
            seq,
            state: StateTag::InFlight,
            sent_at,
            secret,
            rtt_ns: 0,
        }
    }

    /// Its state.
    pub(crate) fn state(&self) -> ProbeState {
        match self.state {
            StateTag::InFlight => ProbeState::InFlight,
            StateTag::Received => ProbeState::Received(Duration::from_nanos(self.rtt_ns)),
            StateTag::TimedOut => ProbeState::TimedOut,
            StateTag::Late => ProbeState::Late(Duration::from_nanos(self.rtt_ns)),
            StateTag::Failed => ProbeState::Failed,
            StateTag::Cancelled => ProbeState::Cancelled,
        }
    }

    /// Whether it is in flight (cheaper than comparing [`Probe::state`]).
    pub(crate) fn in_flight(&self) -> bool {
        self.state == StateTag::InFlight
    }

    /// Changes its state (a round trip is kept to the nanosecond, saturating at 584 years).
    pub(crate) fn set_state(&mut self, state: ProbeState) {
        self.state = match state {
            ProbeState::InFlight => StateTag::InFlight,
            ProbeState::Received(rtt) => {
                self.rtt_ns = nanos(rtt);
                StateTag::Received
            }
            ProbeState::TimedOut => StateTag::TimedOut,
            ProbeState::Late(rtt) => {
                self.rtt_ns = nanos(rtt);
                StateTag::Late
            }
            ProbeState::Failed => StateTag::Failed,
            ProbeState::Cancelled => StateTag::Cancelled,
        };
    }
}

/// A target's address in 8 bytes (a `SocketAddr` takes 32): an IPv4 address inline, an IPv6
/// one as its index in the machine's table of them ([`Target::addr`] rebuilds it, as
/// `SocketAddr::new` made it: no flow label, no scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addr {
    /// The IPv4 address's bits, or the index of the IPv6 address.
    ip: u32,
    /// The port (0 for ICMP).
    port: u16,
    /// Which kind of address it is.
    kind: AddrKind,
}

/// What [`Addr::ip`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddrKind {
    /// No address yet.
    None,
    /// IPv4: `ip` holds its bits.
    V4,
    /// IPv6: `ip` is its index in the machine's table.
    V6,
}

impl Addr {
    /// No address (yet).
    pub(crate) const NONE: Addr = Addr {
        ip: 0,
        port: 0,
        kind: AddrKind::None,
    };

    /// `addr`, its IPv6 address (if it is one) appended to `v6`.
    pub(crate) fn new(addr: SocketAddr, v6: &mut Vec<Ipv6Addr>) -> Addr {
        match addr.ip() {
            IpAddr::V4(ip) => Addr {
                ip: ip.to_bits(),
                port: addr.port(),
                kind: AddrKind::V4,
            },
            IpAddr::V6(ip) => {
                let index = u32::try_from(v6.len()).expect("fewer than 2^32 IPv6 targets");
                v6.push(ip);
                Addr {
                    ip: index,
                    port: addr.port(),
                    kind: AddrKind::V6,
                }
            }
        }
    }

    /// The address, given the IPv6 table it was made with.
    pub(crate) fn get(self, v6: &[Ipv6Addr]) -> Option<SocketAddr> {
        let ip = match self.kind {
            AddrKind::None => return None,
            AddrKind::V4 => IpAddr::V4(Ipv4Addr::from_bits(self.ip)),
            AddrKind::V6 => IpAddr::V6(v6[self.ip as usize]),
        };
        Some(SocketAddr::new(ip, self.port))
    }

    /// A key of an IPv4 address and port (`None` for IPv6 or no address), for sorted tables.
    pub(crate) fn v4_key(self) -> Option<u64> {
        (self.kind == AddrKind::V4).then(|| (u64::from(self.ip) << 16) | u64::from(self.port))
    }
}

/// The key [`Addr::v4_key`] gives this address, if it is an IPv4 one.
pub(crate) fn v4_key(addr: SocketAddr) -> Option<u64> {
    match addr {
        SocketAddr::V4(a) => Some((u64::from(a.ip().to_bits()) << 16) | u64::from(a.port())),
        SocketAddr::V6(_) => None,
    }
}

/// How a target ended, in one byte. The statuses that carry text (or that this list does not
/// name) are [`Ended::Detailed`]: the machine keeps them in a side table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// [`TargetStatus::Complete`].
    Complete,
    /// [`TargetStatus::Stopped`].
    Stopped,
    /// [`TargetStatus::Cancelled`].
    Cancelled,
    /// [`TargetStatus::Deadline`].
    Deadline,
    /// Unreachable: [`Unreachable::NoReply`].
    NoReply,
    /// Unreachable: [`Unreachable::Refused`].
    Refused,
    /// Unreachable: [`Unreachable::NoPort`].
    NoPort(Protocol),
    /// Any other status, kept whole in the machine's side table.
    Detailed,
}

impl Ended {
    /// The compact form of `status`, or `Detailed` when it must be kept whole.
    pub(crate) fn of(status: &TargetStatus) -> Ended {
        match status {
            TargetStatus::Complete => Ended::Complete,
            TargetStatus::Stopped => Ended::Stopped,
            TargetStatus::Cancelled => Ended::Cancelled,
            TargetStatus::Deadline => Ended::Deadline,
            TargetStatus::Unreachable(Unreachable::NoReply) => Ended::NoReply,
            TargetStatus::Unreachable(Unreachable::Refused) => Ended::Refused,
            TargetStatus::Unreachable(Unreachable::NoPort(p)) => Ended::NoPort(*p),
            TargetStatus::Unreachable(_) => Ended::Detailed,
        }
    }

    /// The status, `None` for `Detailed` (which the side table holds).
    pub(crate) fn status(self) -> Option<TargetStatus> {
        Some(match self {
            Ended::Complete => TargetStatus::Complete,
            Ended::Stopped => TargetStatus::Stopped,
            Ended::Cancelled => TargetStatus::Cancelled,
            Ended::Deadline => TargetStatus::Deadline,
            Ended::NoReply => TargetStatus::Unreachable(Unreachable::NoReply),
            Ended::Refused => TargetStatus::Unreachable(Unreachable::Refused),
            Ended::NoPort(p) => TargetStatus::Unreachable(Unreachable::NoPort(p)),
            Ended::Detailed => return None,
        })
    }
}

/// One target (about 120 bytes: the fields a large run rarely needs, the text of a status or
/// an error, an IPv6 address, live in the machine's side tables).
#[derive(Debug)]
pub(crate) struct Target {
    /// Its probes, in the order they were sent.
    pub(crate) probes: Vec<Probe>,
    /// Its round-trip statistics.
    pub(crate) rtt: RttStats,
    /// What became of its probes (`sent` grows with `probes`).
    pub(crate) counts: ProbeCounts,
    /// When it may send next (the per-target interval).
    pub(crate) next_send_at: Tick,
    /// Its key in the timeout queue (when its oldest probe in flight times out), while there.
    pub(crate) queued_timeout: Option<Tick>,
    /// Its address, once resolved.
    pub(crate) addr: Addr,
    /// Its id.
    pub(crate) id: TargetId,
    /// Its probes in flight.
    pub(crate) in_flight: u32,
    /// Probes that timed out (whether answered late or not): a target without a sample and
    /// with one of these got no reply, not a send failure.
    pub(crate) timeouts: u32,
    /// Samples (and budget) added to `count` by the run's controller
    /// ([`crate::RunControl::extend_target`]).
    pub(crate) extra: u32,
    /// Its transport, once chosen.
    pub(crate) protocol: Option<Protocol>,
    /// Its sequence space, once resolved.
    pub(crate) channel: Option<Channel>,
    /// Where it is in its life.
    pub(crate) phase: Phase,
    /// How it ended, once it did.
    pub(crate) status: Option<Ended>,
    /// Whether a probe of it could not be sent (the error is in the machine's side table).
    pub(crate) has_error: bool,
    /// Whether it is in its channel's send queue (under `(next_send_at, index)`: whoever
    /// changes `next_send_at` takes it out first).
    pub(crate) queued_send: bool,
    /// Whether the controller released it: it sends nothing more and ends once its probes in
    /// flight settle.
    pub(crate) released: bool,
}

impl Target {
    /// A target that still needs its address.
    pub(crate) fn new(id: TargetId, protocol: Option<Protocol>) -> Target {
        Target {
            id,
            protocol,
            addr: Addr::NONE,
            channel: None,
            phase: Phase::Resolving,
            probes: Vec::new(),
            next_send_at: Tick::EPOCH,
            in_flight: 0,
            counts: ProbeCounts::default(),
            timeouts: 0,
            rtt: RttStats::default(),
            status: None,
            has_error: false,
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
        self.probes.iter().enumerate().find(|(_, p)| p.in_flight())
    }

    /// The status this target ends with when it has nothing more to do, if it has.
    /// With [`EngineConfig::hold_complete`], a target with samples that has nothing more to
    /// do waits, idle, for the controller to extend or release it.
    /// A released target sends nothing more and ends once its probes in flight settle.
    /// `last_error` is its last send error (the machine's side table holds it).
    pub(crate) fn natural_end(
        &self,
        config: &EngineConfig,
        last_error: Option<&String>,
    ) -> Option<TargetStatus> {
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
                last_error.map_or_else(|| "no probe could be sent".to_owned(), Clone::clone),
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

    /// The target's figures: `addr` is its address and `status` its status (both rebuilt by
    /// the machine from the target and its side tables).
    pub(crate) fn summary(&self, addr: Option<SocketAddr>, status: TargetStatus) -> TargetSummary {
        TargetSummary {
            id: self.id,
            addr,
            protocol: self.protocol,
            status,
            counts: self.counts,
            rtts: self.rtts(),
        }
    }

    /// The samples, in the order their probes were sent.
    fn rtts(&self) -> Vec<Duration> {
        self.probes
            .iter()
            .filter(|p| p.state == StateTag::Received)
            .map(|p| Duration::from_nanos(p.rtt_ns))
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
    /// Every sample.
    samples: Samples,
    /// Their nearest-rank 90th percentile, kept as each comes (the timeout is read on every
    /// send and answer: not a look into the samples each time).
    p90: Duration,
    /// QUIC's smoothed RTT.
    smoothed: Duration,
    /// The latest sample.
    latest: Duration,
}

/// A round-trip time in nanoseconds (saturating, as [`Samples`] records it).
fn nanos(rtt: Duration) -> u64 {
    u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX)
}

impl RttStats {
    /// Adds a sample; at the second, room is made for `expected` samples in all.
    pub(crate) fn add(&mut self, rtt: Duration, expected: usize) {
        match self {
            RttStats::Empty => *self = RttStats::One(nanos(rtt)),
            RttStats::One(first) => {
                let first = Duration::from_nanos(*first);
                let mut samples = Samples::new();
                samples.reserve(expected.max(2));
                samples.record(first);
                samples.record(rtt);
                *self = RttStats::Many(Box::new(Sampled {
                    p90: samples.quantile(0.9).unwrap_or(rtt),
                    samples,
                    smoothed: (first * 7 + rtt) / 8,
                    latest: rtt,
                }));
            }
            RttStats::Many(s) => {
                s.samples.record(rtt);
                s.p90 = s.samples.quantile(0.9).unwrap_or(rtt);
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
            RttStats::Many(s) => Some(s.p90),
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

    #[test]
    fn probes_and_targets_stay_small() {
        // A large run holds one `Target` per target and one `Probe` per probe sent.
        assert_eq!(std::mem::size_of::<Probe>(), 32);
        assert_eq!(std::mem::size_of::<Addr>(), 8);
        assert!(std::mem::size_of::<Option<Ended>>() <= 2);
        assert!(
            std::mem::size_of::<Target>() <= 120,
            "{}",
            std::mem::size_of::<Target>()
        );
    }

    #[test]
    fn probe_states_keep_their_round_trips() {
        let mut p = Probe::sent(Seq(3), Tick::EPOCH, 7);
        assert!(p.in_flight());
        assert_eq!(p.state(), ProbeState::InFlight);
        let rtt = Duration::new(1, 234_567_891);
        for state in [
            ProbeState::Received(rtt),
            ProbeState::TimedOut,
            ProbeState::Late(rtt * 2),
            ProbeState::Failed,
            ProbeState::Cancelled,
        ] {
            p.set_state(state);
            assert_eq!(p.state(), state);
            assert!(!p.in_flight());
        }
    }

    #[test]
    fn addresses_and_statuses_round_trip_through_their_compact_forms() {
        let mut v6 = Vec::new();
        let a4: SocketAddr = "127.1.2.3:9000".parse().unwrap();
        let a6: SocketAddr = "[::1]:53".parse().unwrap();
        let (c4, c6) = (Addr::new(a4, &mut v6), Addr::new(a6, &mut v6));
        assert_eq!(
            (c4.get(&v6), c6.get(&v6), Addr::NONE.get(&v6)),
            (Some(a4), Some(a6), None)
        );
        assert_eq!(c4.v4_key(), v4_key(a4));
        assert_eq!((c6.v4_key(), v4_key(a6)), (None, None));
        for status in [
            TargetStatus::Complete,
            TargetStatus::Stopped,
            TargetStatus::Cancelled,
            TargetStatus::Deadline,
            TargetStatus::Unreachable(Unreachable::NoReply),
            TargetStatus::Unreachable(Unreachable::Refused),
            TargetStatus::Unreachable(Unreachable::NoPort(Protocol::Tcp)),
        ] {
            assert_eq!(Ended::of(&status).status(), Some(status));
        }
        let detailed = TargetStatus::Unreachable(Unreachable::SendFailed("no route".into()));
        assert_eq!(Ended::of(&detailed), Ended::Detailed);
        assert_eq!(Ended::Detailed.status(), None);
    }

    #[test]
    fn ticks_round_trip_exactly_and_add_as_instants_do() {
        let epoch = Instant::now();
        assert_eq!(Tick::of(epoch, epoch), Tick::EPOCH);
        assert_eq!(std::mem::size_of::<Option<Tick>>(), 8);
        for ns in [0, 1, 999, 1_000_000_007, 86_400_000_000_000] {
            let at = epoch + Duration::from_nanos(ns);
            let tick = Tick::of(at, epoch);
            assert_eq!(tick.instant(epoch), at);
            let d = Duration::new(3, 17);
            assert_eq!(tick.plus(d), Tick::of(at + d, epoch));
            assert!(tick < tick.plus(Duration::from_nanos(1)));
        }
        // An instant before the epoch counts as the epoch.
        let later = epoch + Duration::from_secs(1);
        assert_eq!(Tick::of(epoch, later), Tick::EPOCH);
    }

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
        stats.add(ms(5), 10);
        assert_eq!(
            stats.timeout(&config),
            ms(50),
            "3 × 5 ms is below the floor"
        );
        for _ in 0..8 {
            stats.add(ms(100), 10);
        }
        stats.add(ms(120), 10);
        assert_eq!(stats.p90(), Some(ms(100)));
        assert_eq!(stats.timeout(&config), ms(300));
        stats.add(ms(900), 10);
        stats.add(ms(900), 10);
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
        stats.add(ms(80), 10);
        assert_eq!(stats.reorder_threshold(), Some(ms(90)));
        stats.add(ms(160), 10);
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
            stats.add(rtt, rtts.len());
            samples.record(rtt);
            let srtt = smoothed.map_or(rtt, |s| (s * 7 + rtt) / 8);
            smoothed = Some(srtt);
            assert_eq!(matches!(stats, RttStats::One(_)), i == 0);
            assert_eq!(
                stats.p90(),
                samples.quantile(0.9),
                "after {} samples",
                i + 1
            );
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
