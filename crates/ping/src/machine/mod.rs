//! The sans-I/O core of the engine: schedule, pacing, per-target state machines,
//! the in-flight table, adaptive timeouts, replacement of lost probes and
//! done-detection. No sockets and no clock: every method takes `now`, and the
//! driver asks [`Machine::poll_transmit`] what to send and
//! [`Machine::poll_timeout`] when to call [`Machine::handle_timeout`] next.
//!
//! Every call costs O(log n) in the number of targets (plus a scan of the one target's own
//! probes it touches), never a pass over all targets: the targets that want to send wait in
//! one ordered queue per channel, by `(next_send_at, index)`, and the targets with probes in
//! flight wait in one ordered queue by the instant their oldest probe times out. Both are
//! binary heaps exact at their front (a target is queued under its current key while it
//! should be, and a key it left is stale and dropped before it reaches the front:
//! `Machine::requeue` sees to it after every change to a target, see [`queue`]), so
//! `poll_timeout` reads the next event off their first entries. Only `new`, `cancel` and the
//! deadline (which end every target) and the summary visit every target, once.

mod queue;
pub(crate) mod table;
pub(crate) mod target;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tracing::{debug, trace};

use crate::config::{EngineConfig, IpVersion, MAX_PROBES};
use crate::event::{Event, LossCause, RunStop, RunSummary, TargetStatus, TargetSummary};
use crate::payload;
use crate::types::{Protocol, TargetId, TargetSpec};
use edgegap_core::Unreachable;

use queue::{Key, Queue};
pub(crate) use table::{Channel, Family, ProbeKey};
use table::{ProbeRef, ProbeTable};
use target::{Addr, Ended, Phase, Probe, ProbeState, Target, Tick};

/// Room for events kept between two drains once a burst has gone.
const EVENTS_KEPT: usize = 1024;

/// An instruction to send one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transmit {
    /// Index of the target in input order.
    pub(crate) target: usize,
    /// The probe's key (its channel and sequence number).
    pub(crate) key: ProbeKey,
    /// Where to send it.
    pub(crate) dest: SocketAddr,
    /// The probe's secret, to write into its payload (UDP, ICMP).
    pub(crate) secret: u64,
}

/// The longest a driver leaves a reply in its socket before it hands it over (the
/// dedicated-thread driver reads late by at most 50 ms, each reply timed by the kernel's
/// stamp): a probe's key stays in the table this much longer than its reply is wanted.
pub(crate) const UNREAD_GRACE: Duration = Duration::from_millis(100);

/// The engine's state for one run.
#[derive(Debug)]
pub(crate) struct Machine {
    config: EngineConfig,
    nonce: u64,
    /// Draws each probe's secret: ChaCha12 seeded once per run from the operating system
    /// (by the driver), so no secret can be known before its probe is sent.
    secrets: StdRng,
    targets: Vec<Target>,
    /// Target index by id, for `stop_target` (ids are unique: `start` rejects duplicates);
    /// `None` when every target's id is its input position, as the CLI's are: no map to hold.
    by_id: Option<HashMap<TargetId, u32>>,
    /// The targets that want to send, per channel, ordered by `(next_send_at, index)`: the
    /// first entry of a channel that is not blocked is the target that has waited longest,
    /// ties in input order. A target is in its channel's queue exactly while it wants to send
    /// (`Target::queued_send`). Indexed by `Channel::slot`. Its front is always current (see
    /// [`queue`]).
    send_queues: [Queue; Channel::COUNT],
    /// The active targets with probes in flight, ordered by the instant their oldest probe
    /// times out (`Target::queued_timeout`).
    timeouts: Queue,
    table: ProbeTable,
    /// The UDP targets with an IPv4 address resolved by `new` (literal addresses: all of a
    /// large run's), for lenient matching and refusals: `(Addr::v4_key, index)`, sorted once
    /// at the end of `new` (12 bytes a target where a hash map takes about 80).
    udp_v4: Vec<(u64, u32)>,
    /// The other UDP targets by address (IPv6, or resolved later): the first target of each
    /// address here, the others of an address several targets share (rare) in `udp_shared`.
    udp_by_addr: HashMap<SocketAddr, u32>,
    udp_shared: HashMap<SocketAddr, Vec<u32>>,
    /// The IPv6 addresses of the targets (a target's [`Addr`] holds an index here).
    v6: Vec<Ipv6Addr>,
    /// The statuses that carry text ([`Ended::Detailed`]), by target index.
    details: HashMap<u32, TargetStatus>,
    /// Each target's last send error, by target index (rare: kept out of the targets).
    errors: HashMap<u32, String>,
    events: VecDeque<Event>,
    /// The targets whose event from `new` (`Resolved` for an address, `Done` for a target that
    /// cannot be probed) is still to be reported, in input order, before any in `events`. The
    /// event is made when polled: a large run does not hold one per target from the start.
    startup: VecDeque<u32>,
    /// Whether `new` is still running (its events go to `startup`).
    starting: bool,
    started: Instant,
    deadline: Option<Instant>,
    finished_at: Option<Instant>,
    /// When the last probe went (pacing).
    last_send: Option<Tick>,
    open: usize,
    /// What ended the run early, once something did (no more sends from then on).
    stopped: Option<RunStop>,
    foreign: u64,
    stale: u64,
    /// Channels on which the last `poll_transmit` found no free sequence number.
    blocked: Vec<Channel>,
    /// Targets (and their probes) looked at so far: a test bounds the work per operation.
    #[cfg(test)]
    visits: std::cell::Cell<u64>,
}

impl Machine {
    /// A machine for these targets. Targets with a literal address are ready at once;
    /// names wait for [`Machine::on_resolved`]; targets whose protocol needs a port
    /// they lack end at once. `secret_seed` seeds the generator of the per-probe secrets: the
    /// driver draws it from the operating system's CSPRNG for every run.
    pub(crate) fn new(
        specs: &[TargetSpec],
        config: EngineConfig,
        nonce: u64,
        secret_seed: [u8; 32],
        now: Instant,
    ) -> Machine {
        let deadline = config.deadline.map(|d| now + d);
        let mut machine = Machine {
            config,
            nonce,
            secrets: StdRng::from_seed(secret_seed),
            targets: Vec::with_capacity(specs.len()),
            by_id: None,
            send_queues: Default::default(),
            timeouts: Queue::default(),
            table: ProbeTable::default(),
            udp_v4: Vec::new(),
            udp_by_addr: HashMap::new(),
            udp_shared: HashMap::new(),
            v6: Vec::new(),
            details: HashMap::new(),
            errors: HashMap::new(),
            events: VecDeque::new(),
            startup: VecDeque::new(),
            starting: true,
            started: now,
            deadline,
            finished_at: None,
            last_send: None,
            open: specs.len(),
            stopped: None,
            foreign: 0,
            stale: 0,
            blocked: Vec::new(),
            #[cfg(test)]
            visits: std::cell::Cell::new(0),
        };
        if !specs
            .iter()
            .enumerate()
            .all(|(index, spec)| spec.id.0 as usize == index)
        {
            let mut by_id = HashMap::with_capacity(specs.len());
            for (index, spec) in specs.iter().enumerate() {
                by_id.entry(spec.id).or_insert(index as u32);
            }
            machine.by_id = Some(by_id);
        }
        for (index, spec) in specs.iter().enumerate() {
            let protocol = spec.ports.resolve(spec.protocol);
            machine.targets.push(Target::new(spec.id, protocol));
            match (protocol, &spec.host) {
                (None, _) => {
                    let wanted = spec.protocol.only().unwrap_or(Protocol::Udp);
                    machine.finish(
                        now,
                        index,
                        TargetStatus::Unreachable(Unreachable::NoPort(wanted)),
                    );
                }
                (Some(_), crate::types::Host::Ip(ip)) => {
                    machine.on_resolved(now, index, Ok(vec![*ip]), spec.ports);
                }
                (Some(_), crate::types::Host::Name(_)) => {}
            }
        }
        machine.starting = false;
        // Stable in input order (the order `new` resolved them) within an address.
        machine.udp_v4.sort_unstable();
        machine.udp_v4.shrink_to_fit();
        machine
    }

    /// Shrinks every sequence space to `space` numbers (tests of wraparound).
    #[cfg(test)]
    pub(crate) fn with_seq_space(mut self, space: u64) -> Machine {
        self.table = ProbeTable::with_space(space);
        self
    }

    /// The session nonce carried by every UDP probe.
    pub(crate) fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Number of targets.
    pub(crate) fn len(&self) -> usize {
        self.targets.len()
    }

    /// The channel a target probes on, once it is active.
    pub(crate) fn channel(&self, index: usize) -> Option<Channel> {
        let t = &self.targets[index];
        (t.phase == Phase::Active).then_some(t.channel).flatten()
    }

    /// Whether every target is done.
    pub(crate) fn is_finished(&self) -> bool {
        self.open == 0
    }

    /// The next event to report.
    /// Whether an event waits to be taken by [`Machine::poll_event`].
    pub(crate) fn has_events(&self) -> bool {
        !self.startup.is_empty() || !self.events.is_empty()
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        if let Some(index) = self.startup.pop_front() {
            if self.startup.is_empty() {
                self.startup = VecDeque::new();
            }
            let index = index as usize;
            let t = &self.targets[index];
            // What `new` did to the target: resolved it (its address and protocol never change
            // after), or ended it (its summary is final).
            return Some(match (self.addr_of(index), t.protocol) {
                (Some(addr), Some(protocol)) => Event::Resolved {
                    target: t.id,
                    addr,
                    protocol,
                },
                _ => Event::Done {
                    summary: Box::new(self.summary_of(index)),
                },
            });
        }
        let event = self.events.pop_front();
        if self.events.is_empty() && self.events.capacity() > EVENTS_KEPT {
            // The burst at the start (a `Resolved` per target) or at a cancel (a `Done` per
            // target) is not held for the rest of the run.
            self.events.shrink_to(EVENTS_KEPT);
        }
        event
    }

    /// The addresses of a name resolved (or why not). Picks one per `ip_version`
    /// (IPv4 first for `Any`).
    pub(crate) fn on_resolved(
        &mut self,
        now: Instant,
        index: usize,
        result: Result<Vec<IpAddr>, String>,
        ports: crate::types::Ports,
    ) {
        let Some(t) = self.targets.get(index) else {
            return;
        };
        if t.phase != Phase::Resolving {
            return;
        }
        let Some(protocol) = t.protocol else { return };
        let ip = match result {
            Err(why) => Err(why),
            Ok(addrs) => pick_address(&addrs, self.config.ip_version).ok_or_else(|| {
                let wanted = match self.config.ip_version {
                    IpVersion::V4 => "IPv4",
                    IpVersion::V6 => "IPv6",
                    IpVersion::Any => "IP",
                };
                let found: Vec<String> = addrs.iter().map(ToString::to_string).collect();
                format!(
                    "no {wanted} address (found: {})",
                    if found.is_empty() {
                        "none".to_owned()
                    } else {
                        found.join(", ")
                    }
                )
            }),
        };
        let ip = match ip {
            Ok(ip) => ip,
            Err(why) => {
                self.finish(
                    now,
                    index,
                    TargetStatus::Unreachable(Unreachable::ResolveFailed(why)),
                );
                return;
            }
        };
        let family = Family::of(ip);
        let (port, channel) = match protocol {
            Protocol::Udp => (ports.udp, Channel::Udp(family)),
            Protocol::Tcp => (ports.tcp, Channel::Tcp(family)),
            Protocol::Icmp => (Some(0), Channel::Icmp(family)),
        };
        let Some(port) = port else {
            self.finish(
                now,
                index,
                TargetStatus::Unreachable(Unreachable::NoPort(protocol)),
            );
            return;
        };
        let addr = SocketAddr::new(ip, port);
        let next_send_at = self.tick(now);
        let targets = self.targets.capacity();
        let t = &mut self.targets[index];
        debug_assert!(!t.queued_send, "a resolving target waits in no queue");
        t.addr = Addr::new(addr, &mut self.v6);
        t.channel = Some(channel);
        t.phase = Phase::Active;
        t.next_send_at = next_send_at;
        if protocol == Protocol::Udp {
            let index = index as u32;
            if self.starting
                && let Some(key) = t.addr.v4_key()
            {
                if self.udp_v4.capacity() == 0 {
                    self.udp_v4.reserve_exact(targets);
                }
                self.udp_v4.push((key, index));
            } else {
                match self.udp_by_addr.entry(addr) {
                    Entry::Vacant(first) => {
                        first.insert(index);
                    }
                    Entry::Occupied(_) => self.udp_shared.entry(addr).or_default().push(index),
                }
            }
        }
        debug!(target_id = %t.id, %addr, %protocol, "target resolved");
        if self.starting {
            self.startup.push_back(index as u32);
        } else {
            self.events.push_back(Event::Resolved {
                target: t.id,
                addr,
                protocol,
            });
        }
        self.requeue(index);
    }

    /// The tick of an instant of this run. The machine is never given an instant before the
    /// one it was made at (the driver's clock only goes forward), so the queues can compare
    /// ticks where they compared instants, with the same results.
    fn tick(&self, at: Instant) -> Tick {
        Tick::of(at, self.started)
    }

    /// A target's address, once it has one.
    fn addr_of(&self, index: usize) -> Option<SocketAddr> {
        self.targets[index].addr.get(&self.v6)
    }

    /// A target's figures so far.
    fn summary_of(&self, index: usize) -> TargetSummary {
        let t = &self.targets[index];
        let status = status_of(t, || self.details.get(&(index as u32)).cloned());
        t.summary(self.addr_of(index), status)
    }

    /// Ends a target that cannot be probed (no socket for its family, ICMP not permitted...).
    pub(crate) fn end_unreachable(&mut self, now: Instant, index: usize, why: Unreachable) {
        if self
            .targets
            .get(index)
            .is_some_and(|t| t.phase != Phase::Done)
        {
            self.finish(now, index, TargetStatus::Unreachable(why));
        }
    }

    /// The next probe to send now, if the schedule and pacing allow one. At most one
    /// probe per `min_gap`: call again after `poll_timeout()`.
    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.blocked.clear();
        if self.open == 0 || self.stopped.is_some() {
            return None;
        }
        let now_tick = self.tick(now);
        if self
            .last_send
            .is_some_and(|last| now_tick < last.plus(self.config.min_gap))
        {
            return None;
        }
        loop {
            // The due target that has waited longest; ties go to input order. Each channel's
            // queue is in that order: the target is the least of the first entries of the
            // channels not found out of sequence numbers.
            let mut order: Option<((Tick, usize), Channel)> = None;
            for (channel, queue) in Channel::ALL.into_iter().zip(&self.send_queues) {
                if queue.is_empty() || self.blocked.contains(&channel) {
                    continue;
                }
                self.visit(1);
                if let Some(first) = queue.first()
                    && first.0 <= now_tick
                    && order.is_none_or(|(best, _)| first < best)
                {
                    order = Some((first, channel));
                }
            }
            let ((_, index), channel) = order?;
            if let Some(seq) = self.table.allocate(channel) {
                return self.record_send(now, now_tick, index, ProbeKey { channel, seq });
            }
            trace!(
                ?channel,
                "no free sequence number; waiting for one to expire"
            );
            self.blocked.push(channel);
        }
    }

    fn record_send(
        &mut self,
        now: Instant,
        sent_at: Tick,
        index: usize,
        key: ProbeKey,
    ) -> Option<Transmit> {
        let seq = key.seq;
        let retention = self.retention();
        let secret = self.secrets.next_u64();
        let dest = self.addr_of(index)?;
        let next_send_at = sent_at.plus(self.config.interval);
        let t = &mut self.targets[index];
        if t.queued_send {
            // Its key changes with `next_send_at`: the old one is stale from now on.
            self.send_queues[key.channel.slot()].forget();
            t.queued_send = false;
        }
        let probe = t.probes.len();
        t.reserve_probe(&self.config);
        t.probes.push(Probe::sent(seq, sent_at, secret));
        t.in_flight += 1;
        t.counts.sent += 1;
        t.next_send_at = next_send_at;
        self.table.insert(
            key,
            ProbeRef {
                target: index,
                probe,
            },
            sent_at.plus(retention),
        );
        self.last_send = Some(sent_at);
        trace!(target_id = %t.id, %seq, "send");
        self.events.push_back(Event::Sent {
            target: t.id,
            seq,
            at: now,
        });
        self.requeue(index);
        Some(Transmit {
            target: index,
            key,
            dest,
            secret,
        })
    }

    /// When `handle_timeout` (and `poll_transmit`) must run next; `None` when the run is over
    /// or only waits for input (names resolving).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.open == 0 {
            return None;
        }
        // The earliest of the core's own deadlines, in ticks (one conversion at the end).
        let mut next: Option<Tick> = None;
        let mut consider = |at: Tick| {
            if next.is_none_or(|n| at < n) {
                next = Some(at);
            }
        };
        if self.stopped.is_none() {
            // The earliest first entry of the channels not blocked, paced (pacing is the same
            // for all, so it applies to their minimum).
            let mut first: Option<Tick> = None;
            for (channel, queue) in Channel::ALL.into_iter().zip(&self.send_queues) {
                if queue.is_empty() || self.blocked.contains(&channel) {
                    continue;
                }
                self.visit(1);
                if let Some((at, _)) = queue.first() {
                    first = Some(first.map_or(at, |f| f.min(at)));
                }
            }
            if let Some(at) = first {
                let pacing = self.last_send.map(|last| last.plus(self.config.min_gap));
                consider(pacing.map_or(at, |p| p.max(at)));
            }
        }
        if let Some((at, _)) = self.timeouts.first() {
            self.visit(1);
            consider(at);
        }
        if let Some(at) = self
            .table
            .next_expiry()
            .filter(|_| !self.blocked.is_empty())
        {
            consider(at);
        }
        let next = next.map(|at| at.instant(self.started));
        match (next, self.deadline) {
            (Some(next), Some(deadline)) => Some(next.min(deadline)),
            (next, deadline) => next.or(deadline),
        }
    }

    /// Whether `handle_timeout(now)` would time a probe out or end the run at its deadline:
    /// the replies that came before must be handed over first, or their probes would count
    /// lost. A driver that reads its sockets late asks this before it skips a read. (A key
    /// stays in the table [`UNREAD_GRACE`] longer than a reply may be left unread.)
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) fn expires_by(&self, now: Instant) -> bool {
        if self.deadline.is_some_and(|d| now >= d) {
            return true;
        }
        let now = self.tick(now);
        self.timeouts.first().is_some_and(|(at, _)| at <= now)
    }

    /// How long a probe's key stays in the table: twice the hard timeout, so that a
    /// reply to a probe timed out at the hard timeout is still recognised as late, and
    /// [`UNREAD_GRACE`] more, so that one a driver read late is too.
    fn retention(&self) -> Duration {
        self.config.timeout.saturating_mul(2) + UNREAD_GRACE
    }

    /// Applies timeouts and the deadline.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.open > 0 && self.deadline.is_some_and(|d| now >= d) {
            debug!("run deadline reached");
            self.end_run(now, RunStop::Deadline);
        }
        // The targets whose oldest probe has timed out, handled in input order (as the
        // events always were).
        let mut due = Vec::new();
        let now_tick = self.tick(now);
        while let Some((at, index)) = self.timeouts.first() {
            if at > now_tick {
                break;
            }
            self.timeouts.pop_first();
            // A stale key (the target's oldest probe changed since) is only dropped.
            if self.targets[index].queued_timeout == Some(at) {
                self.timeouts.forget();
                self.targets[index].queued_timeout = None;
                due.push(index);
            }
        }
        self.clean_timeouts();
        due.sort_unstable();
        for index in due {
            let t = &self.targets[index];
            self.visit(1 + t.probes.len() as u64);
            let timeout = t.rtt.timeout(&self.config);
            let expired: Vec<usize> = t
                .probes
                .iter()
                .enumerate()
                .filter(|(_, p)| p.in_flight() && p.sent_at.plus(timeout) <= now_tick)
                .map(|(i, _)| i)
                .collect();
            for probe in expired {
                self.time_out(index, probe, LossCause::Timeout);
            }
            self.check_done(now, index);
            self.requeue(index);
        }
        self.table.purge(now_tick);
    }

    /// Puts a target in the send and timeout queues under its current keys, or takes it out
    /// of them, after anything about it changed (a send, an answer, a loss, its end...). The
    /// queues are exact at their front: a target is queued in its channel's send queue, under
    /// `(next_send_at, index)`, exactly while it wants to send, and in the timeout queue, under
    /// the instant its oldest probe in flight times out, exactly while it is active with a
    /// probe in flight; a key it left is stale, and never at the front (see [`queue`]).
    fn requeue(&mut self, index: usize) {
        let t = &mut self.targets[index];
        #[cfg(test)]
        self.visits
            .set(self.visits.get() + 1 + t.probes.len() as u64);
        let send = t.wants_to_send(&self.config);
        let channel = t.channel;
        if t.queued_send != send
            && let Some(channel) = channel
        {
            let queue = &mut self.send_queues[channel.slot()];
            if send {
                queue.push((t.next_send_at, index));
            } else {
                queue.forget();
            }
            t.queued_send = send;
        }
        let expiry = if t.phase == Phase::Active {
            t.oldest_in_flight()
                .map(|(_, oldest)| oldest.sent_at.plus(t.rtt.timeout(&self.config)))
        } else {
            None
        };
        if t.queued_timeout != expiry {
            if t.queued_timeout.is_some() {
                self.timeouts.forget();
            }
            if let Some(at) = expiry {
                self.timeouts.push((at, index));
            }
            t.queued_timeout = expiry;
        }
        if let Some(channel) = channel {
            let targets = &self.targets;
            self.send_queues[channel.slot()].clean(|key| send_key_current(targets, key));
        }
        self.clean_timeouts();
    }

    /// Drops the stale keys at the front of the timeout queue.
    fn clean_timeouts(&mut self) {
        let targets = &self.targets;
        self.timeouts
            .clean(|(at, index)| targets[index].queued_timeout == Some(at));
    }

    /// Counts work for the test that bounds it.
    #[cfg(test)]
    fn visit(&self, n: u64) {
        self.visits.set(self.visits.get() + n);
    }

    /// Counts work in tests only.
    #[cfg(not(test))]
    #[inline(always)]
    #[allow(clippy::unused_self)]
    fn visit(&self, _: u64) {}

    /// A UDP datagram arrived on the socket of `family` at `now` (its kernel receive time
    /// where there is one).
    ///
    /// In strict mode it is a reply only if it is a well-formed probe of this run whose
    /// sequence number is in the table, that came back from the address and port it was sent
    /// to, that carries exactly the secret drawn for that probe, and that arrived after the
    /// probe was sent. Anything else is foreign: in particular a datagram built by guessing
    /// (a copied probe with another sequence number, or the bytes of a probe not sent yet).
    pub(crate) fn on_datagram(
        &mut self,
        now: Instant,
        family: Family,
        from: SocketAddr,
        data: &[u8],
    ) {
        if let Some(header) = payload::decode(self.nonce, self.config.payload_size, data) {
            self.on_echoed_probe(now, Channel::Udp(family), from, header);
            return;
        }
        if let Some(at) = self
            .config
            .lenient
            .then(|| self.lenient_match(from))
            .flatten()
        {
            self.answer(now, at, None);
            return;
        }
        trace!(%from, len = data.len(), "foreign datagram");
        self.foreign += 1;
    }

    /// An ICMP echo reply from `from` arrived on the ICMP socket of `family` at `now`, with
    /// `data` as its echo data. The same strict rules as for a UDP reply (see
    /// [`Machine::on_datagram`]): our payload, a sequence number in the table, the probed
    /// address, exactly that probe's secret, and an arrival after the send; anything else is
    /// foreign.
    pub(crate) fn on_echo(&mut self, now: Instant, family: Family, from: IpAddr, data: &[u8]) {
        if let Some(header) = payload::decode(self.nonce, self.config.payload_size, data) {
            self.on_echoed_probe(now, Channel::Icmp(family), SocketAddr::new(from, 0), header);
        } else {
            trace!(%from, len = data.len(), "foreign echo reply");
            self.foreign += 1;
        }
    }

    /// A well-formed probe of this run came back on `channel` from `from`: the answer to the
    /// probe with its sequence number if that probe went to `from` with the same secret.
    fn on_echoed_probe(
        &mut self,
        now: Instant,
        channel: Channel,
        from: SocketAddr,
        header: payload::Header,
    ) {
        let seq = header.seq;
        match self.table.get(ProbeKey { channel, seq }) {
            Some(at) if self.addr_of(at.target) != Some(from) => {
                debug!(%from, %seq, "our probe came back from the wrong address: foreign");
            }
            Some(at) if self.targets[at.target].probes[at.probe].secret != header.secret => {
                debug!(%from, %seq, "reply with the wrong secret (forged or guessed): foreign");
            }
            Some(at) => {
                self.answer(now, at, None);
                return;
            }
            None => debug!(%from, %seq, "reply to no probe in the table: foreign"),
        }
        self.foreign += 1;
    }

    /// The UDP targets probing `addr`, in the order they resolved.
    fn udp_targets(&self, addr: SocketAddr) -> impl Iterator<Item = usize> + '_ {
        let resolved_by_new = match target::v4_key(addr) {
            Some(key) => {
                let from = self.udp_v4.partition_point(|&(k, _)| k < key);
                let to = from + self.udp_v4[from..].partition_point(|&(k, _)| k == key);
                &self.udp_v4[from..to]
            }
            None => &[],
        };
        let first = self.udp_by_addr.get(&addr).copied();
        let others = self.udp_shared.get(&addr).into_iter().flatten().copied();
        resolved_by_new
            .iter()
            .map(|&(_, index)| index)
            .chain(first)
            .chain(others)
            .map(|index| index as usize)
    }

    fn lenient_match(&self, from: SocketAddr) -> Option<ProbeRef> {
        self.udp_targets(from).find_map(|index| {
            let t = &self.targets[index];
            let (probe, _) = t.oldest_in_flight()?;
            (t.phase == Phase::Active).then_some(ProbeRef {
                target: index,
                probe,
            })
        })
    }

    /// The kernel reported ICMP port unreachable for a UDP datagram to `dest`;
    /// `original` is (a prefix of) what we sent.
    pub(crate) fn on_udp_refused(
        &mut self,
        now: Instant,
        family: Family,
        dest: SocketAddr,
        original: &[u8],
    ) {
        let channel = Channel::Udp(family);
        let by_seq = payload::peek_seq(self.nonce, original)
            .and_then(|seq| self.table.get(ProbeKey { channel, seq }))
            .filter(|at| self.addr_of(at.target) == Some(dest));
        if let Some(at) = by_seq {
            self.refuse(now, at.target, Some(at.probe));
            return;
        }
        let indices: Vec<usize> = self.udp_targets(dest).collect();
        if indices.is_empty() {
            debug!(%dest, "port unreachable for an address we do not probe");
        }
        for index in indices {
            self.refuse(now, index, None);
        }
    }

    /// A transport that times probes itself (TCP handshakes) measured `rtt` for a probe. A
    /// zero `rtt` is foreign, never a sample.
    pub(crate) fn on_probe_reply(&mut self, now: Instant, key: ProbeKey, rtt: Duration) {
        if let Some(at) = self.table.get(key) {
            self.answer(now, at, Some(rtt));
        } else {
            debug!(?key, "reply for a probe no longer in the table");
            self.stale += 1;
        }
    }

    /// The peer refused a TCP probe (RST).
    pub(crate) fn on_probe_refused(&mut self, now: Instant, key: ProbeKey) {
        if let Some(at) = self.table.get(key) {
            self.refuse(now, at.target, Some(at.probe));
        }
    }

    /// A probe could not be sent.
    pub(crate) fn on_send_failed(&mut self, now: Instant, key: ProbeKey, error: String) {
        let Some(at) = self.table.get(key) else {
            return;
        };
        let t = &mut self.targets[at.target];
        if t.phase == Phase::Done || !t.probes[at.probe].in_flight() {
            return;
        }
        debug!(target_id = %t.id, seq = %key.seq, %error, "probe failed");
        t.probes[at.probe].set_state(ProbeState::Failed);
        t.in_flight -= 1;
        t.counts.lost += 1;
        self.events.push_back(Event::Lost {
            target: t.id,
            seq: key.seq,
            cause: LossCause::SendFailed(error.clone()),
        });
        t.has_error = true;
        self.errors.insert(at.target as u32, error);
        self.check_done(now, at.target);
        self.requeue(at.target);
    }

    /// The position of the target with this id, if there is one.
    fn index_of(&self, id: TargetId) -> Option<usize> {
        self.visit(1);
        match &self.by_id {
            None => Some(id.0 as usize).filter(|&index| index < self.targets.len()),
            Some(by_id) => by_id.get(&id).map(|&index| index as usize),
        }
    }

    /// Stops the target with this id: no more sends, its in-flight probes end cancelled.
    pub(crate) fn stop_target(&mut self, now: Instant, id: TargetId) {
        if let Some(index) = self.index_of(id)
            && self.targets[index].phase != Phase::Done
        {
            self.finish(now, index, TargetStatus::Stopped);
        }
    }

    /// Asks `more` samples of the target with this id (and raises its send budget as much),
    /// its next probe no earlier than `not_before`: a controller aligns the probes of
    /// targets it compares this way, and the per-target interval still holds. Nothing
    /// happens to a target that has ended.
    pub(crate) fn extend_target(
        &mut self,
        now: Instant,
        id: TargetId,
        more: u32,
        not_before: Option<Instant>,
    ) {
        let Some(index) = self.index_of(id) else {
            return;
        };
        let t = &mut self.targets[index];
        if t.phase == Phase::Done {
            return;
        }
        // The send queue is keyed by `next_send_at`: its key goes stale before it changes.
        if t.queued_send
            && let Some(channel) = t.channel
        {
            self.send_queues[channel.slot()].forget();
            t.queued_send = false;
        }
        let cap = MAX_PROBES.saturating_sub(self.config.count);
        t.extra = t.extra.saturating_add(more).min(cap);
        if let Some(at) = not_before {
            t.next_send_at = t.next_send_at.max(Tick::of(at, self.started));
        }
        self.check_done(now, index);
        self.requeue(index);
    }

    /// Releases a target: it sends nothing more and ends once its probes in flight settle
    /// (at once when none is), whatever it still wanted; a held target (see
    /// [`EngineConfig::hold_complete`]) is let go.
    pub(crate) fn release_target(&mut self, now: Instant, id: TargetId) {
        let Some(index) = self.index_of(id) else {
            return;
        };
        if self.targets[index].phase == Phase::Done {
            return;
        }
        self.targets[index].released = true;
        self.check_done(now, index);
        self.requeue(index);
    }

    /// Stops all sending; every unfinished target ends cancelled.
    pub(crate) fn cancel(&mut self, now: Instant) {
        self.end_run(now, RunStop::Cancelled);
    }

    /// Stops all sending; every unfinished target ends with `why`'s status. The first cause
    /// to end the run is the one reported.
    fn end_run(&mut self, now: Instant, why: RunStop) {
        if self.stopped.is_none() {
            debug!(?why, "run ended early");
            self.stopped = Some(why);
        }
        let status = match why {
            RunStop::Cancelled => TargetStatus::Cancelled,
            RunStop::Deadline => TargetStatus::Deadline,
        };
        for index in 0..self.targets.len() {
            if self.targets[index].phase != Phase::Done {
                self.finish(now, index, status.clone());
            }
        }
    }

    /// The run's figures (final once `is_finished()`).
    #[cfg(test)]
    pub(crate) fn summary(&self, now: Instant) -> RunSummary {
        RunSummary {
            targets: (0..self.targets.len())
                .map(|i| self.summary_of(i))
                .collect(),
            ..self.run_figures(now)
        }
    }

    /// The run's figures at its end, taking what the machine holds: the indexes, queues and
    /// table are freed before the summaries are built, and the targets (their probes, and the
    /// vector that holds them, a slice at a time) as their summaries are: the end of a run is
    /// when the most is held, and the summaries are about as large as the targets.
    pub(crate) fn into_summary(mut self, now: Instant) -> RunSummary {
        /// Targets summarised between two shrinks of the targets' vector.
        const SHRINK_EVERY: usize = 4096;
        let mut targets = std::mem::take(&mut self.targets);
        let figures = self.run_figures(now);
        let v6 = std::mem::take(&mut self.v6);
        let mut details = std::mem::take(&mut self.details);
        drop(self);
        // From the last target to the first, so the vector can give its memory back as it
        // goes; the summaries are put back in input order at the end.
        let mut summaries = Vec::with_capacity(targets.len());
        while let Some(t) = targets.pop() {
            let index = targets.len();
            let status = status_of(&t, || details.remove(&(index as u32)));
            summaries.push(t.summary(t.addr.get(&v6), status));
            drop(t);
            if targets.capacity() - targets.len() >= SHRINK_EVERY {
                targets.shrink_to_fit();
            }
        }
        summaries.reverse();
        RunSummary {
            targets: summaries,
            ..figures
        }
    }

    /// Everything in the run's summary but the targets'.
    fn run_figures(&self, now: Instant) -> RunSummary {
        RunSummary {
            targets: Vec::new(),
            foreign: self.foreign,
            stale: self.stale,
            elapsed: self
                .finished_at
                .unwrap_or(now)
                .saturating_duration_since(self.started),
            stopped: self.stopped,
        }
    }

    /// The probe at `at` was answered at `now`; `measured` is the round trip when the
    /// transport timed it itself (TCP, ICMP), otherwise it is `now` less the send instant.
    ///
    /// A round trip that is not positive means the answer arrived at or before the instant
    /// the probe was handed to the driver: nothing can answer a probe before it is sent, so
    /// the answer was made without it (forged) and counts as foreign, whatever the state of
    /// the probe or its target. No sample is ever zero or negative.
    fn answer(&mut self, now: Instant, at: ProbeRef, measured: Option<Duration>) {
        let now_tick = self.tick(now);
        let t = &mut self.targets[at.target];
        let probe = t.probes[at.probe];
        let seq = probe.seq;
        let elapsed = now_tick.since(probe.sent_at);
        let rtt = measured.unwrap_or(elapsed);
        if elapsed.is_zero() || rtt.is_zero() {
            debug!(target_id = %t.id, %seq, "answer before its probe could have been answered: foreign");
            self.foreign += 1;
            return;
        }
        if t.phase == Phase::Done {
            trace!(target_id = %t.id, "answer after the target finished: stale");
            self.stale += 1;
            return;
        }
        match probe.state() {
            ProbeState::InFlight => {
                t.probes[at.probe].set_state(ProbeState::Received(rtt));
                t.in_flight -= 1;
                t.counts.received += 1;
                t.rtt
                    .add(rtt, self.config.count.saturating_add(t.extra) as usize);
                trace!(target_id = %t.id, %seq, ?rtt, "reply");
                self.events.push_back(Event::Received {
                    target: t.id,
                    seq,
                    rtt,
                });
                self.declare_reordered_lost(now_tick, at);
                self.check_done(now, at.target);
                self.requeue(at.target);
            }
            ProbeState::TimedOut => {
                t.probes[at.probe].set_state(ProbeState::Late(rtt));
                t.counts.lost -= 1;
                t.counts.late += 1;
                debug!(target_id = %t.id, %seq, ?rtt, "late reply");
                self.events.push_back(Event::Late {
                    target: t.id,
                    seq,
                    rtt,
                });
            }
            ProbeState::Received(_) | ProbeState::Late(_) => {
                t.counts.duplicates += 1;
                debug!(target_id = %t.id, %seq, "duplicate reply");
                self.events
                    .push_back(Event::Duplicate { target: t.id, seq });
            }
            ProbeState::Failed | ProbeState::Cancelled => {
                trace!(target_id = %t.id, %seq, "answer to a failed or cancelled probe: stale");
                self.stale += 1;
            }
        }
    }

    /// QUIC's time-threshold rule: once a later probe is answered, an earlier one still in
    /// flight that was sent more than 9/8 × max(srtt, latest rtt) ago is lost.
    fn declare_reordered_lost(&mut self, now: Tick, answered: ProbeRef) {
        let Some(threshold) = self.targets[answered.target].rtt.reorder_threshold() else {
            return;
        };
        for probe in 0..answered.probe {
            let p = self.targets[answered.target].probes[probe];
            if p.in_flight() && now.since(p.sent_at) > threshold {
                self.time_out(answered.target, probe, LossCause::Reordered);
            }
        }
    }

    fn time_out(&mut self, index: usize, probe: usize, cause: LossCause) {
        let t = &mut self.targets[index];
        if !t.probes[probe].in_flight() {
            return;
        }
        t.probes[probe].set_state(ProbeState::TimedOut);
        t.in_flight -= 1;
        t.counts.lost += 1;
        t.timeouts += 1;
        let seq = t.probes[probe].seq;
        debug!(target_id = %t.id, %seq, ?cause, "probe lost");
        self.events.push_back(Event::Lost {
            target: t.id,
            seq,
            cause,
        });
    }

    fn refuse(&mut self, now: Instant, index: usize, probe: Option<usize>) {
        let t = &mut self.targets[index];
        if t.phase == Phase::Done {
            self.stale += 1;
            return;
        }
        let probe = probe
            .filter(|&p| t.probes[p].in_flight())
            .or_else(|| t.oldest_in_flight().map(|(p, _)| p));
        if let Some(p) = probe {
            t.probes[p].set_state(ProbeState::Failed);
            t.in_flight -= 1;
            t.counts.lost += 1;
            let seq = t.probes[p].seq;
            self.events.push_back(Event::Lost {
                target: t.id,
                seq,
                cause: LossCause::Refused,
            });
        }
        debug!(target_id = %t.id, "refused");
        let status = if t.counts.received > 0 {
            TargetStatus::Complete
        } else {
            TargetStatus::Unreachable(Unreachable::Refused)
        };
        self.finish(now, index, status);
    }

    fn check_done(&mut self, now: Instant, index: usize) {
        let t = &self.targets[index];
        if t.phase != Phase::Active {
            return;
        }
        let last_error = if t.has_error {
            self.errors.get(&(index as u32))
        } else {
            None
        };
        if let Some(status) = t.natural_end(&self.config, last_error) {
            self.finish(now, index, status);
        }
    }

    /// Ends a target: in-flight probes become cancelled, the summary is emitted once.
    fn finish(&mut self, now: Instant, index: usize, status: TargetStatus) {
        let t = &mut self.targets[index];
        if t.phase == Phase::Done {
            return;
        }
        for p in &mut t.probes {
            if p.in_flight() {
                p.set_state(ProbeState::Cancelled);
                t.counts.cancelled += 1;
            }
        }
        t.in_flight = 0;
        t.phase = Phase::Done;
        debug!(target_id = %t.id, %status, received = t.counts.received, "target done");
        let ended = Ended::of(&status);
        t.status = Some(ended);
        if ended == Ended::Detailed {
            self.details.insert(index as u32, status);
        }
        if t.has_error {
            // Only `natural_end` reads it, and never again.
            self.errors.remove(&(index as u32));
            self.targets[index].has_error = false;
        }
        if self.starting {
            self.startup.push_back(index as u32);
        } else {
            let summary = self.summary_of(index);
            self.events.push_back(Event::Done {
                summary: Box::new(summary),
            });
        }
        self.open -= 1;
        if self.open == 0 {
            self.finished_at = Some(now);
        }
        self.requeue(index);
    }
}

#[cfg(test)]
impl Machine {
    /// Work done so far (targets and probes looked at), for the test that bounds it.
    pub(crate) fn visits(&self) -> u64 {
        self.visits.get()
    }

    /// Checks that the queues hold the keys recomputed from scratch: every target that wants
    /// to send is in its channel's send queue under `(next_send_at, index)`, every active
    /// target with a probe in flight is in the timeout queue under its oldest probe's expiry,
    /// each queue counts exactly those, and its front is one of them (the other keys it holds
    /// are stale).
    pub(crate) fn assert_queues_exact(&self) {
        let mut sending = [0; Channel::COUNT];
        let mut waiting = 0;
        for (index, t) in self.targets.iter().enumerate() {
            let send = t.wants_to_send(&self.config).then_some(t.next_send_at);
            assert_eq!(
                t.queued_send,
                send.is_some(),
                "send queue of target {index}"
            );
            if let Some(at) = send {
                let channel = t.channel.expect("a target that sends has a channel");
                assert!(
                    self.send_queues[channel.slot()]
                        .keys()
                        .any(|key| key == (at, index)),
                    "target {index} missing from the send queue"
                );
                sending[channel.slot()] += 1;
            }
            let expiry = (t.phase == Phase::Active)
                .then(|| t.oldest_in_flight())
                .flatten()
                .map(|(_, p)| {
                    Tick::of(
                        p.sent_at.instant(self.started) + t.rtt.timeout(&self.config),
                        self.started,
                    )
                });
            assert_eq!(t.queued_timeout, expiry, "timeout key of target {index}");
            if let Some(at) = expiry {
                assert!(
                    self.timeouts.keys().any(|key| key == (at, index)),
                    "target {index} missing from the timeout queue"
                );
                waiting += 1;
            }
        }
        for (slot, queue) in self.send_queues.iter().enumerate() {
            assert_eq!(queue.current(), sending[slot], "send queue {slot} count");
            if let Some(front) = queue.first() {
                assert!(
                    send_key_current(&self.targets, front),
                    "stale front {front:?} of send queue {slot}"
                );
            }
        }
        assert_eq!(self.timeouts.current(), waiting, "timeout queue count");
        if let Some((at, index)) = self.timeouts.first() {
            assert_eq!(
                self.targets[index].queued_timeout,
                Some(at),
                "stale front of the timeout queue"
            );
        }
    }
}

/// Whether `(at, index)` is target `index`'s current key in its send queue.
fn send_key_current(targets: &[Target], (at, index): Key) -> bool {
    let t = &targets[index];
    t.queued_send && t.next_send_at == at
}

/// A target's status: `Cancelled` before it ends, `detailed` gives those kept whole.
fn status_of(t: &Target, detailed: impl FnOnce() -> Option<TargetStatus>) -> TargetStatus {
    match t.status {
        None => TargetStatus::Cancelled,
        Some(ended) => ended
            .status()
            .or_else(detailed)
            .unwrap_or(TargetStatus::Cancelled),
    }
}

/// Picks the address to probe among a name's addresses.
pub(crate) fn pick_address(addrs: &[IpAddr], version: IpVersion) -> Option<IpAddr> {
    let v4 = addrs.iter().find(|a| a.is_ipv4());
    let v6 = addrs.iter().find(|a| a.is_ipv6());
    match version {
        IpVersion::Any => v4.or(v6),
        IpVersion::V4 => v4,
        IpVersion::V6 => v6,
    }
    .copied()
}

#[cfg(test)]
mod tests;
