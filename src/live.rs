//! What the run has seen so far, per beacon and per location, for the early decision.
//!
//! The engine reports every send and reply; this keeps, per target, the same [`Stats`] the
//! final ranking builds (samples and probe counts) and the send times of its unanswered probes
//! (an unanswered probe sent `age` ago means its reply, if any, will be at least `age`), and
//! asks `edgegap_rank::decide` which locations can no longer win. Targets are identified by
//! their beacon's index, as everywhere in the facade.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use edgegap_ping::{Event, Seq, TargetId};
use edgegap_rank::{LiveLocation, LocationKey, RankConfig, Stats, decide_at};

use crate::adaptive::{Standing, standing};
use crate::targets::{index_of, target_id};

/// Below this many locations the decision is re-evaluated on every event; above it at most
/// once per [`eval_every`], so each event costs O(1) amortised and a run over tens of thousands
/// of beacons stays linear (only the locations an event touched are re-scored).
const EVAL_ALWAYS_BELOW: usize = 64;
/// The shortest time between two evaluations of a large run.
const EVAL_EVERY: Duration = Duration::from_millis(5);
/// Locations per [`EVAL_EVERY`]: a larger run evaluates proportionally less often, so the
/// passes over every location cost a fixed share of the time, whatever the list's length.
const EVAL_LOCATIONS_PER_STEP: usize = 4096;

/// How much less often a large run's decision is evaluated when nothing acts on it (no early
/// decision, no adaptive sampling): it then only dates the report's decision, to within this
/// many periods, and is not evaluated at all once the best location is known.
const REPORT_ONLY_SLOWER: u32 = 4;

/// Locations visited per probe sent, at most, by the passes of a large run's evaluations: a
/// pass over every location waits for a thirty-second of them to have been probed since the
/// last one, so each probe pays for a bounded share of it whatever the pacing.
const LOCATIONS_PER_SEND: u32 = 32;

/// How often a run of `locations` locations whose sends are `min_gap` apart is evaluated:
/// every [`EVAL_EVERY`] up to [`EVAL_LOCATIONS_PER_STEP`] locations, then proportionally less
/// often (64,000 locations: every 80 ms), and never more often than one send per
/// [`LOCATIONS_PER_SEND`] locations allows (256 locations 1 ms apart: every 8 ms).
fn eval_every(locations: usize, min_gap: Duration) -> Duration {
    let steps =
        u32::try_from(locations.div_ceil(EVAL_LOCATIONS_PER_STEP).max(1)).unwrap_or(u32::MAX);
    let sends = u32::try_from(locations)
        .unwrap_or(u32::MAX)
        .div_ceil(LOCATIONS_PER_SEND);
    EVAL_EVERY
        .saturating_mul(steps)
        .max(min_gap.saturating_mul(sends))
}

/// How many samples the leader needs before it leads, and a beacon before it may be stopped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Thresholds {
    pub leader_samples: usize,
    pub min_samples: usize,
}

/// The adaptive sampling settings of a run (see [`crate::adaptive`]); `None` in
/// [`LiveRun::new`] for a fixed number of probes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sampling {
    /// Samples each target wants at first (the engine's `count`).
    pub count: u32,
    /// The engine's replacement budget for lost probes.
    pub extra_probes: u32,
    /// Most probes a location may send.
    pub max_probes: u32,
    /// The engine's per-target interval, to align the contenders' next probes.
    pub interval: Duration,
}

/// What a beacon saw beyond its engine summary.
#[derive(Debug, Clone, Default)]
pub(crate) struct BeaconTrace {
    /// Its samples as (send µs from the job's start, round-trip time): the report's pairs.
    pub samples: Vec<(u64, Duration)>,
    /// Runs of consecutive lost or late probes, in send order.
    pub loss_events: u32,
}

/// What the run's controller should tell the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Stop the target now (its location cannot win).
    Stop(TargetId),
    /// Ask `more` samples, the next probe no earlier than `not_before`.
    Extend {
        id: TargetId,
        more: u32,
        not_before: Option<Instant>,
    },
    /// No more probes; end once those in flight settle.
    Release(TargetId),
}

/// The most contenders probed side by side with the leader at once (the closest by score).
const MAX_CONTENDERS: usize = 8;

/// Samples asked at a time of a contender: enough that one is always waiting to be sent, so
/// the engine keeps its interval whatever the round-trip time.
const EXTEND_BY: u32 = 2;

/// One probe of a target as the controller saw it: 16 bytes, one vector per target, so a run
/// over tens of thousands of beacons keeps little per beacon (`benches/scale.sh`).
#[derive(Debug, Clone, Copy)]
struct Note {
    seq: Seq,
    /// When it was sent, in µs from the run's start (saturating, at 71 minutes).
    sent_us: u32,
    /// [`IN_FLIGHT`], [`LOSSY`] (lost or late), or its round-trip time in nanoseconds.
    outcome: u64,
}

/// [`Note::outcome`] of a probe not answered yet (a round-trip time is never zero).
const IN_FLIGHT: u64 = 0;
/// [`Note::outcome`] of a probe lost or answered late.
const LOSSY: u64 = u64::MAX;

impl Note {
    /// Its sample as (send µs from the run's start, round-trip time), when answered in time.
    fn timed_sample(self) -> Option<(u64, Duration)> {
        (self.outcome != IN_FLIGHT && self.outcome != LOSSY)
            .then(|| (u64::from(self.sent_us), Duration::from_nanos(self.outcome)))
    }

    /// Its sample as `(send µs from the run's start, rtt ms)`, when answered in time.
    fn sample(self) -> Option<(u64, f64)> {
        self.timed_sample()
            .map(|(at, rtt)| (at, rtt.as_secs_f64() * 1000.0))
    }
}

#[derive(Debug, Default)]
struct TargetLive {
    /// Its probes in send order.
    notes: Vec<Note>,
    /// Its own statistics when its location has other beacons too; a single-beacon
    /// location's statistics are its beacon's, kept once, in the location.
    own: Option<Box<Stats>>,
    /// Probes sent and not yet answered or lost.
    in_flight: u32,
    /// Samples asked of the engine so far (`count` plus the extensions).
    wanted: u32,
    /// Runs of consecutive lost or late probes in send order (see
    /// `edgegap_rank::Stats::loss_events`).
    loss_events: u32,
    /// The location (position in `LiveRun::live`) the target belongs to.
    location: u32,
    done: bool,
    stop_requested: bool,
    released: bool,
}

impl TargetLive {
    /// Marks the probe `seq` lost or late: a new loss event unless it joins a run of them
    /// (in send order, whatever order the losses are learnt in). Returns whether it was in
    /// flight.
    fn mark_lossy(notes: &mut [Note], loss_events: &mut u32, seq: Seq) -> bool {
        let Some(i) = notes.iter().rposition(|n| n.seq == seq) else {
            return false;
        };
        let was = notes[i].outcome;
        if was == LOSSY {
            return false;
        }
        notes[i].outcome = LOSSY;
        let before = i > 0 && notes[i - 1].outcome == LOSSY;
        let after = notes.get(i + 1).is_some_and(|n| n.outcome == LOSSY);
        *loss_events = (*loss_events + 1).saturating_sub(u32::from(before) + u32::from(after));
        was == IN_FLIGHT
    }

    /// Records the reply to probe `seq` after `rtt`; returns whether it was in flight.
    fn mark_answered(notes: &mut [Note], seq: Seq, rtt: Duration) -> bool {
        let Some(note) = notes.iter_mut().rev().find(|n| n.seq == seq) else {
            return false;
        };
        let was = note.outcome;
        if was == IN_FLIGHT {
            note.outcome = u64::try_from(rtt.as_nanos()).unwrap_or(LOSSY - 1).max(1);
        }
        was == IN_FLIGHT
    }

    /// When its oldest probe in flight was sent, in µs from the run's start.
    fn oldest_in_flight_us(&self) -> Option<u32> {
        if self.in_flight == 0 {
            return None;
        }
        self.notes
            .iter()
            .find(|n| n.outcome == IN_FLIGHT)
            .map(|n| n.sent_us)
    }

    /// Whether it has nothing in flight and wants nothing more from the engine.
    fn idle(&self, stats: &Stats, sampling: &Sampling) -> bool {
        let counts = stats.counts();
        self.in_flight == 0
            && (counts.received >= self.wanted
                || counts.sent >= self.wanted.saturating_add(sampling.extra_probes))
    }
}

/// Live state of one run.
#[derive(Debug)]
pub(crate) struct LiveRun {
    start: Instant,
    targets: Vec<TargetLive>,
    /// Location `l`'s targets are `member_list[member_start[l]..member_start[l + 1]]`.
    member_start: Vec<u32>,
    member_list: Vec<u32>,
    /// What each location has seen so far, kept between evaluations.
    live: Vec<LiveLocation>,
    /// Locations whose stats changed since the last evaluation.
    dirty: Vec<usize>,
    /// Locations with a beacon that may still get its first sample.
    waiting: Vec<u32>,
    is_dirty: Vec<bool>,
    decided_at: Option<Duration>,
    last_eval: Option<Instant>,
    /// Adaptive sampling, when on.
    sampling: Option<Sampling>,
    /// Whether each location's probes were aligned with the leader's yet.
    aligned: Vec<bool>,
    /// The samples a target is asked for (room is made for as many at its first).
    expected: u32,
    /// The engine's least time between two sends (it paces the evaluations of a large run).
    min_gap: Duration,
    /// Whether nothing acts on the decision: it only dates the report's decision
    /// ([`REPORT_ONLY_SLOWER`]).
    report_only: bool,
}

impl LiveRun {
    /// A run over the beacons `members` (beacon index and its location) of a list of
    /// `beacons` beacons.
    pub(crate) fn new(
        beacons: usize,
        members: &[(usize, LocationKey)],
        start: Instant,
        sampling: Option<Sampling>,
    ) -> Self {
        let mut slots: HashMap<&LocationKey, u32> = HashMap::new();
        // At most one location per member (each beacon its own, in a large list): sized
        // once, trimmed after.
        let mut live: Vec<LiveLocation> = Vec::with_capacity(members.len());
        let wanted = sampling.map_or(0, |s| s.count);
        let mut targets: Vec<TargetLive> = (0..beacons)
            .map(|_| TargetLive {
                wanted,
                ..TargetLive::default()
            })
            .collect();
        let mut sizes: Vec<u32> = Vec::new();
        let mut placed: Vec<(usize, u32)> = Vec::with_capacity(members.len());
        for (i, key) in members {
            let slot = *slots.entry(key).or_insert_with(|| {
                live.push(LiveLocation::new(key.clone()));
                sizes.push(0);
                u32::try_from(live.len() - 1).unwrap_or(u32::MAX)
            });
            if *i < targets.len() {
                sizes[slot as usize] += 1;
                placed.push((*i, slot));
            }
        }
        drop(slots);
        // The members of each location side by side, in one list.
        let mut member_start = Vec::with_capacity(sizes.len() + 1);
        let mut next = 0u32;
        for size in &sizes {
            member_start.push(next);
            next += size;
        }
        member_start.push(next);
        let mut fill = member_start.clone();
        let mut member_list = vec![0u32; placed.len()];
        for (i, slot) in placed {
            let at = &mut fill[slot as usize];
            member_list[*at as usize] = u32::try_from(i).unwrap_or(u32::MAX);
            *at += 1;
            targets[i].location = slot;
            if sizes[slot as usize] > 1 {
                targets[i].own = Some(Box::default());
            }
        }
        let n = live.len();
        live.shrink_to_fit();
        Self {
            start,
            targets,
            member_start,
            member_list,
            live,
            dirty: (0..n).collect(),
            waiting: (0..u32::try_from(n).unwrap_or(u32::MAX)).collect(),
            is_dirty: vec![true; n],
            decided_at: None,
            last_eval: None,
            sampling,
            aligned: vec![false; n],
            expected: 1,
            min_gap: Duration::ZERO,
            report_only: false,
        }
    }

    /// The engine sends no two probes closer than `min_gap` (see [`eval_every`]).
    #[must_use]
    pub(crate) fn paced(mut self, min_gap: Duration) -> Self {
        self.min_gap = min_gap;
        self
    }

    /// Nothing acts on the decision (no early decision, no adaptive sampling): a large run
    /// evaluates it [`REPORT_ONLY_SLOWER`] times less often, only to date the report's
    /// decision, and not at all once it is known.
    #[must_use]
    pub(crate) fn report_only(mut self, report_only: bool) -> Self {
        self.report_only = report_only && self.sampling.is_none();
        self
    }

    /// Each target is asked for `samples` samples (room is made for as many at once).
    #[must_use]
    pub(crate) fn expecting(mut self, samples: u32) -> Self {
        self.expected = samples.max(1);
        self
    }

    /// How often the decision is evaluated, when on a clock (a run of
    /// [`EVAL_ALWAYS_BELOW`] locations or more); `None` when it is on every event. The engine
    /// is asked to hand its events over as often (`EngineConfig::forward_every`): they would
    /// wait for the next evaluation anyway, and the controller is woken once per period
    /// instead of once per probe.
    pub(crate) fn evaluation_period(&self) -> Option<Duration> {
        (self.live.len() >= EVAL_ALWAYS_BELOW).then(|| self.period())
    }

    /// The least time between two evaluations of a large run.
    fn period(&self) -> Duration {
        let every = eval_every(self.live.len(), self.min_gap);
        if self.report_only {
            every.saturating_mul(REPORT_ONLY_SLOWER)
        } else {
            every
        }
    }

    /// The beacon indices of a location's targets.
    fn members(&self, location: usize) -> impl Iterator<Item = usize> + '_ {
        self.member_list[self.member_range(location)]
            .iter()
            .map(|&i| i as usize)
    }

    /// Where a location's targets are in `member_list` (for loops that change the targets).
    fn member_range(&self, location: usize) -> std::ops::Range<usize> {
        self.member_start[location] as usize..self.member_start[location + 1] as usize
    }

    /// The statistics of target `i` (its location's, when it is the location's only beacon).
    fn stats(&self, i: usize) -> &Stats {
        let t = &self.targets[i];
        t.own
            .as_deref()
            .unwrap_or(&self.live[t.location as usize].stats)
    }

    /// The instant `us` µs after the run's start.
    fn instant(&self, us: u32) -> Instant {
        self.start + Duration::from_micros(u64::from(us))
    }

    /// What each beacon saw beyond its summary, by beacon index (empty for those that sent
    /// nothing): its samples as `(send µs, rtt ms)`, with `offset_us` added to the send
    /// instants (from this run's start to the job's), and its loss events. Consumes the live
    /// state, each target's notes freed as its trace is made.
    pub(crate) fn into_traces(self, offset_us: u64) -> Vec<BeaconTrace> {
        let Self { targets, live, .. } = self;
        drop(live);
        targets
            .into_iter()
            .map(|t| {
                let mut samples = Vec::with_capacity(
                    t.notes
                        .iter()
                        .filter(|n| n.timed_sample().is_some())
                        .count(),
                );
                samples.extend(
                    t.notes
                        .into_iter()
                        .filter_map(Note::timed_sample)
                        .map(|(at, rtt)| (at.saturating_add(offset_us), rtt)),
                );
                BeaconTrace {
                    samples,
                    loss_events: t.loss_events,
                }
            })
            .collect()
    }

    fn location_trace(&self, location: usize) -> Vec<(u64, f64)> {
        let mut out: Vec<(u64, f64)> = self
            .members(location)
            .flat_map(|i| self.targets[i].notes.iter().filter_map(|n| n.sample()))
            .collect();
        out.sort_by_key(|&(at, _)| at);
        out
    }

    /// When the best location became known, measured from the start of the run.
    pub(crate) fn decided_at(&self) -> Option<Duration> {
        self.decided_at
    }

    /// Takes one engine event into account: O(1) (a reply or a loss looks its probe up among
    /// the target's own, from the latest).
    pub(crate) fn observe(&mut self, event: &Event) {
        let Self {
            targets,
            live,
            start,
            expected,
            ..
        } = self;
        let Some(t) = targets.get_mut(index_of(event.target())) else {
            return;
        };
        let location = t.location as usize;
        let Some(here) = live.get_mut(location) else {
            return;
        };
        let stats = match t.own.as_deref_mut() {
            Some(own) => own,
            None => &mut here.stats,
        };
        match event {
            Event::Sent { seq, at, .. } => {
                if t.notes.capacity() == 0 {
                    // Most targets send exactly what they were asked: no growth, no slack.
                    t.notes.reserve_exact(t.wanted.max(*expected) as usize);
                }
                let us = at.saturating_duration_since(*start).as_micros();
                t.notes.push(Note {
                    seq: *seq,
                    sent_us: u32::try_from(us).unwrap_or(u32::MAX),
                    outcome: IN_FLIGHT,
                });
                t.in_flight += 1;
                stats.counts_mut().sent += 1;
            }
            Event::Received { seq, rtt, .. } => {
                if TargetLive::mark_answered(&mut t.notes, *seq, *rtt) {
                    t.in_flight -= 1;
                }
                if !stats.has_samples() {
                    // As many samples as the target was asked for come, usually.
                    stats.reserve(t.wanted.max(*expected) as usize);
                }
                stats.record(*rtt);
                stats.counts_mut().received += 1;
            }
            Event::Lost { seq, .. } => {
                if TargetLive::mark_lossy(&mut t.notes, &mut t.loss_events, *seq) {
                    t.in_flight -= 1;
                }
                stats.counts_mut().lost += 1;
                stats.set_loss_events(t.loss_events);
            }
            Event::Late { .. } => {
                let counts = stats.counts_mut();
                counts.lost = counts.lost.saturating_sub(1);
                counts.late += 1;
            }
            Event::Duplicate { .. } => stats.counts_mut().duplicates += 1,
            Event::Done { summary } => {
                t.done = true;
                t.in_flight = 0;
                // The engine's own counts are final (they include the cancelled probes).
                *stats.counts_mut() = summary.counts;
            }
            _ => return,
        }
        if let Some(flag) = self.is_dirty.get_mut(location)
            && !*flag
        {
            *flag = true;
            self.dirty.push(location);
        }
    }

    /// Re-evaluates the decision at `now` (on every call for small runs, at most every
    /// [`EVAL_EVERY`] for large ones, or when `force`d at the end) and returns what the
    /// engine should do: stop the targets of locations that can no longer win, once they have
    /// `min_samples` samples (every reachable location is still measured); with adaptive
    /// sampling, also extend the leader and its open contenders and release the others
    /// (see [`crate::adaptive`]).
    pub(crate) fn evaluate(
        &mut self,
        now: Instant,
        config: &RankConfig,
        thresholds: Thresholds,
        force: bool,
    ) -> Vec<Action> {
        if self.report_only && self.decided_at.is_some() && !force {
            // Known: nothing more to date, and nothing acts on it.
            return Vec::new();
        }
        let every = self.period();
        let due = self.live.len() < EVAL_ALWAYS_BELOW
            || self
                .last_eval
                .is_none_or(|t| now.duration_since(t) >= every);
        if !(force || due) {
            return Vec::new();
        }
        self.last_eval = Some(now);
        // The list is handed back emptied: its room is kept for the next evaluation.
        let mut dirty = std::mem::take(&mut self.dirty);
        for &location in &dirty {
            self.is_dirty[location] = false;
            self.rebuild(location, config);
        }
        dirty.clear();
        self.dirty = dirty;
        // Only the locations still waiting for a beacon's first sample have a bound to
        // update; once none of theirs waits, their bound stays `None`.
        let mut i = 0;
        while let Some(&location) = self.waiting.get(i) {
            if self.bound(location as usize, now) {
                i += 1;
            } else {
                self.waiting.swap_remove(i);
            }
        }
        let decision = decide_at(&self.live, config, thresholds.leader_samples);
        if decision.decided && self.decided_at.is_none() {
            self.decided_at = Some(now.duration_since(self.start));
        }
        let mut actions = Vec::new();
        for &location in &decision.hopeless {
            for k in self.member_range(location) {
                let i = self.member_list[k] as usize;
                let samples = usize::try_from(self.stats(i).samples().len()).unwrap_or(usize::MAX);
                let t = &mut self.targets[i];
                if !t.done && !t.stop_requested && samples >= thresholds.min_samples.max(1) {
                    t.stop_requested = true;
                    actions.push(Action::Stop(target_id(i)));
                }
            }
        }
        if let Some(sampling) = self.sampling {
            let mut hopeless = vec![false; self.live.len()];
            for &location in &decision.hopeless {
                hopeless[location] = true;
            }
            self.sample_adaptively(
                now,
                config,
                sampling,
                decision.leader,
                &hopeless,
                &mut actions,
            );
        }
        actions
    }

    /// Extends the leader and its open contenders, releases every other held target.
    fn sample_adaptively(
        &mut self,
        now: Instant,
        config: &RankConfig,
        sampling: Sampling,
        leader: Option<usize>,
        hopeless: &[bool],
        actions: &mut Vec<Action>,
    ) {
        let mut in_play = vec![false; self.live.len()];
        let mut open: Vec<(f64, usize)> = Vec::new();
        if let Some(leader) = leader.filter(|&l| self.has_budget(l, sampling)) {
            let leader_trace = self.location_trace(leader);
            let band = self.live[leader].score().map_or(0.0, |s| config.band_ms(s));
            // The closest candidates by score (a long list of look-alike beacons must not
            // turn into thousands of comparisons, nor of extended targets).
            let mut candidates: Vec<(f64, usize)> = (0..self.live.len())
                .filter(|&location| {
                    location != leader
                        && !hopeless[location]
                        && !self.live[location].unreachable
                        && self.can_probe(location)
                        && self.has_budget(location, sampling)
                })
                .map(|location| {
                    (
                        self.live[location].score().unwrap_or(f64::INFINITY),
                        location,
                    )
                })
                .collect();
            let keep = 4 * MAX_CONTENDERS;
            if candidates.len() > keep {
                candidates.select_nth_unstable_by(keep, |a, b| a.0.total_cmp(&b.0));
                candidates.truncate(keep);
            }
            for (score, location) in candidates {
                if standing(
                    &leader_trace,
                    &self.location_trace(location),
                    band,
                    config.confidence,
                ) == Standing::Open
                {
                    open.push((score, location));
                }
            }
            open.sort_by(|a, b| a.0.total_cmp(&b.0));
            for &(_, location) in open.iter().take(MAX_CONTENDERS) {
                in_play[location] = true;
                in_play[leader] = true;
            }
        }
        // Probes of locations joining the comparison leave with the next probes of those
        // already in it (or the latest of theirs), so that the pairs share the last hop.
        let align_at = (0..self.live.len())
            .filter(|&l| in_play[l])
            .flat_map(|l| self.members(l))
            .filter_map(|i| self.targets[i].notes.last().map(|n| n.sent_us))
            .max()
            .map(|last| (self.instant(last) + sampling.interval).max(now));
        for (location, &playing) in in_play.iter().enumerate() {
            let joining = playing && !self.aligned[location];
            if joining {
                self.aligned[location] = true;
            }
            for k in self.member_range(location) {
                let i = self.member_list[k] as usize;
                let counts = self.stats(i).counts();
                let idle = self.targets[i].idle(self.stats(i), &sampling);
                let t = &mut self.targets[i];
                if t.done || t.released || t.stop_requested {
                    continue;
                }
                if playing {
                    // The engine sends while `in flight + received < wanted` and `sent <
                    // wanted + extra_probes`: keep one probe waiting on both counts.
                    let ahead = counts.received + t.in_flight;
                    let starved = t.wanted <= ahead + 1
                        || t.wanted.saturating_add(sampling.extra_probes) <= counts.sent + 1;
                    let more = if starved { EXTEND_BY } else { 0 };
                    if more > 0 || joining {
                        t.wanted += more;
                        actions.push(Action::Extend {
                            id: target_id(i),
                            more,
                            not_before: if joining { align_at } else { None },
                        });
                    }
                } else if idle || t.wanted > sampling.count {
                    // Done with its first samples, or extended and now settled or out of
                    // budget: nothing more to send. (A target still taking its first samples
                    // keeps them: every reachable location gets its `count`.)
                    t.released = true;
                    actions.push(Action::Release(target_id(i)));
                }
            }
        }
    }

    /// Whether a location has a target that can still send.
    fn can_probe(&self, location: usize) -> bool {
        self.members(location)
            .any(|i| !self.targets[i].done && !self.targets[i].released)
    }

    /// Whether a location may still send: fewer than `max_probes` probes sent or asked.
    fn has_budget(&self, location: usize, sampling: Sampling) -> bool {
        let asked: u32 = self
            .members(location)
            .map(|i| self.targets[i].wanted.max(self.stats(i).counts().sent))
            .sum();
        asked < sampling.max_probes
    }

    /// Merges a location's targets again (after an event touched one of them) and re-scores
    /// it. A single-beacon location's statistics are already its beacon's.
    fn rebuild(&mut self, location: usize, config: &RankConfig) {
        let members = &self.member_list[self.member_range(location)];
        let live = &mut self.live[location];
        if members.len() > 1 {
            let mut merged = Stats::new();
            for &i in members {
                if let Some(own) = &self.targets[i as usize].own {
                    merged.merge(own);
                }
            }
            live.stats = merged;
        }
        live.finished = members.iter().all(|&i| self.targets[i as usize].done);
        live.unreachable = live.finished && !live.stats.has_samples();
        live.refresh(config);
    }

    /// The earliest any not-yet-answered beacon of the location could still answer, at `now`:
    /// a beacon with samples is bounded by them; one without by the age of its oldest
    /// unanswered probe, or not at all when it has none in flight. Returns whether a beacon
    /// of the location still waits for its first sample.
    fn bound(&mut self, location: usize, now: Instant) -> bool {
        let mut bound_ms: Option<f64> = None;
        let mut unbounded = false;
        let mut waits = false;
        for i in self.members(location) {
            let t = &self.targets[i];
            if t.done || self.stats(i).has_samples() {
                continue;
            }
            waits = true;
            match t.oldest_in_flight_us() {
                Some(oldest) => {
                    let age = now
                        .saturating_duration_since(self.instant(oldest))
                        .as_secs_f64()
                        * 1000.0;
                    bound_ms = Some(bound_ms.map_or(age, |b: f64| b.min(age)));
                }
                None => unbounded = true,
            }
        }
        self.live[location].oldest_outstanding_ms = if unbounded { Some(0.0) } else { bound_ms };
        waits
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn key(city: &str) -> LocationKey {
        LocationKey::new(city, "")
    }

    const THRESHOLDS: Thresholds = Thresholds {
        leader_samples: 3,
        min_samples: 2,
    };

    /// Sends probe `seq` of target `t` at `t0 + at_ms`, answered after `rtt_ms` if given.
    fn probe(live: &mut LiveRun, t0: Instant, t: usize, seq: u32, at_ms: u64, rtt_ms: Option<u64>) {
        let target = target_id(t);
        live.observe(&Event::Sent {
            target,
            seq: Seq(seq),
            at: t0 + Duration::from_millis(at_ms),
        });
        if let Some(rtt) = rtt_ms {
            live.observe(&Event::Received {
                target,
                seq: Seq(seq),
                rtt: Duration::from_millis(rtt),
            });
        }
    }

    #[test]
    fn large_runs_evaluate_proportionally_less_often() {
        let none = Duration::ZERO;
        assert_eq!(eval_every(10, none), EVAL_EVERY);
        assert_eq!(eval_every(4096, none), EVAL_EVERY);
        assert_eq!(eval_every(4097, none), EVAL_EVERY * 2);
        assert_eq!(eval_every(64_000, none), EVAL_EVERY * 16);
        // Paced sends: a pass over every location waits for one send per 32 of them.
        let ms = Duration::from_millis(1);
        assert_eq!(eval_every(64, ms), EVAL_EVERY);
        assert_eq!(eval_every(256, ms), ms * 8);
        assert_eq!(eval_every(4096, ms), ms * 128);
        assert_eq!(
            eval_every(64_000, Duration::from_micros(20)),
            EVAL_EVERY * 16
        );
    }

    #[test]
    fn a_losing_location_is_stopped_only_once_it_has_enough_samples() {
        let t0 = Instant::now();
        let mut live = LiveRun::new(2, &[(0, key("Near")), (1, key("Far"))], t0, None);
        let config = RankConfig::default();
        for seq in 0..3 {
            probe(&mut live, t0, 0, seq, u64::from(seq) * 20, Some(10));
        }
        probe(&mut live, t0, 1, 10, 0, Some(100));
        let now = t0 + Duration::from_millis(120);
        assert!(
            live.evaluate(now, &config, THRESHOLDS, true).is_empty(),
            "one sample is not enough"
        );
        assert!(
            live.decided_at().is_some(),
            "Far cannot win: the best is known"
        );
        probe(&mut live, t0, 1, 11, 20, Some(101));
        let stop = live.evaluate(now, &config, THRESHOLDS, true);
        assert_eq!(stop, [Action::Stop(target_id(1))]);
        assert!(
            live.evaluate(now, &config, THRESHOLDS, true).is_empty(),
            "asked once only"
        );
    }

    /// "Near" (10 ms, three samples) against "Split": a slow beacon with samples (200 ms) and
    /// a second one whose only probe went out at 298 ms, unanswered.
    fn near_and_split(t0: Instant, report_only: bool) -> LiveRun {
        let mut live = LiveRun::new(
            3,
            &[(0, key("Near")), (1, key("Split")), (2, key("Split"))],
            t0,
            None,
        )
        .report_only(report_only);
        for seq in 0..3 {
            probe(&mut live, t0, 0, seq, 0, Some(10));
            probe(&mut live, t0, 1, 10 + seq, 0, Some(200));
        }
        probe(&mut live, t0, 2, 20, 298, None);
        live
    }

    #[test]
    fn a_silent_faster_beacon_keeps_its_location_in_the_race() {
        // "Split" has a slow beacon with samples and a second one with a probe in flight for
        // only 2 ms: that one could still answer in 2 ms, so Split is not hopeless.
        let t0 = Instant::now();
        let mut live = near_and_split(t0, false);
        let config = RankConfig::default();
        let now = t0 + Duration::from_millis(300);
        assert!(live.evaluate(now, &config, THRESHOLDS, true).is_empty());
        assert!(live.decided_at().is_none());
        // Once that probe is 100 ms old without reply, Split can no longer win.
        let later = t0 + Duration::from_millis(400);
        assert_eq!(
            live.evaluate(later, &config, THRESHOLDS, true),
            [Action::Stop(target_id(1))]
        );
        assert!(live.decided_at().is_some());
    }

    #[test]
    fn a_report_only_run_evaluates_less_often_and_not_once_decided() {
        let ms = Duration::from_millis(1);
        let t0 = Instant::now();
        let keys: Vec<(usize, LocationKey)> = (0..64).map(|i| (i, key(&format!("L{i}")))).collect();
        let acting = LiveRun::new(64, &keys, t0, None).paced(ms);
        let reporting = LiveRun::new(64, &keys, t0, None)
            .paced(ms)
            .report_only(true);
        let period = acting
            .evaluation_period()
            .expect("a large run is on a clock");
        assert_eq!(
            reporting.evaluation_period(),
            Some(period * REPORT_ONLY_SLOWER)
        );
        // Adaptive sampling acts on every evaluation: never report-only.
        let sampled = LiveRun::new(64, &keys, t0, Some(SAMPLING)).report_only(true);
        assert!(!sampled.report_only);

        // Decided at 400 ms (as in the test above): later evaluations are skipped unless forced.
        let mut live = near_and_split(t0, true);
        let config = RankConfig::default();
        let decided = t0 + Duration::from_millis(400);
        live.evaluate(decided, &config, THRESHOLDS, false);
        assert_eq!(live.decided_at(), Some(Duration::from_millis(400)));
        let later = t0 + Duration::from_millis(500);
        live.evaluate(later, &config, THRESHOLDS, false);
        assert_eq!(live.last_eval, Some(decided), "not evaluated once decided");
        live.evaluate(later, &config, THRESHOLDS, true);
        assert_eq!(
            live.last_eval,
            Some(later),
            "a forced evaluation still runs"
        );
    }

    const SAMPLING: Sampling = Sampling {
        count: 3,
        extra_probes: 3,
        max_probes: 20,
        interval: Duration::from_millis(20),
    };

    #[test]
    fn a_close_contender_is_probed_side_by_side_until_it_is_behind() {
        let t0 = Instant::now();
        let members = [(0, key("Near")), (1, key("Close")), (2, key("Far"))];
        let mut live = LiveRun::new(3, &members, t0, Some(SAMPLING));
        let config = RankConfig::default();
        let mut seq = 0;
        let mut round = |live: &mut LiveRun, at: u64| {
            // Near 28 ms, Close 31 ms (inside the near-tie band of 28), Far 80 ms; Close's
            // probe leaves 1 ms after Near's.
            probe(live, t0, 0, seq, at, Some(28 + at % 2));
            probe(live, t0, 1, seq + 1, at + 1, Some(31 + at % 2));
            probe(live, t0, 2, seq + 2, at + 2, Some(80));
            seq += 3;
        };
        for i in 0..3 {
            round(&mut live, i * 20);
        }
        let now = t0 + Duration::from_millis(100);
        let actions = live.evaluate(now, &config, THRESHOLDS, true);
        assert!(actions.contains(&Action::Stop(target_id(2))), "{actions:?}");
        let extended: Vec<_> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Extend { id, not_before, .. } => Some((*id, *not_before)),
                _ => None,
            })
            .collect();
        assert_eq!(
            extended.len(),
            2,
            "the leader and its contender: {actions:?}"
        );
        // Both next probes leave together: after the latest probe of the two plus the interval.
        let align = t0 + Duration::from_millis(41 + 20);
        assert!(extended.iter().all(|(_, at)| *at == Some(align.max(now))));
        assert!(
            live.decided_at().is_none(),
            "not decided while Close is open"
        );
        for i in 3..8 {
            round(&mut live, i * 20);
        }
        let later = t0 + Duration::from_millis(200);
        let actions = live.evaluate(later, &config, THRESHOLDS, true);
        assert!(
            actions.contains(&Action::Release(target_id(0))),
            "{actions:?}"
        );
        assert!(
            actions.contains(&Action::Release(target_id(1))),
            "{actions:?}"
        );
    }

    #[test]
    fn without_a_leader_idle_targets_are_released() {
        let t0 = Instant::now();
        let mut live = LiveRun::new(1, &[(0, key("Lossy"))], t0, Some(SAMPLING));
        let config = RankConfig::default();
        // Two samples and four losses: the budget (3 + 3) is spent, no leader (3 samples).
        for seq in 0..2 {
            probe(&mut live, t0, 0, seq, u64::from(seq) * 20, Some(10));
        }
        for seq in 2..6 {
            probe(&mut live, t0, 0, seq, u64::from(seq) * 20, None);
            live.observe(&Event::Lost {
                target: target_id(0),
                seq: Seq(seq),
                cause: edgegap_ping::LossCause::Timeout,
            });
        }
        let actions = live.evaluate(t0 + Duration::from_millis(200), &config, THRESHOLDS, true);
        assert_eq!(actions, [Action::Release(target_id(0))]);
    }

    #[test]
    fn a_burst_of_losses_is_one_event_whatever_order_they_are_learnt_in() {
        let t0 = Instant::now();
        let mut live = LiveRun::new(1, &[(0, key("Lossy"))], t0, None);
        for seq in 0..8 {
            probe(&mut live, t0, 0, seq, u64::from(seq) * 20, None);
        }
        let lose = |live: &mut LiveRun, seq: u32| {
            live.observe(&Event::Lost {
                target: target_id(0),
                seq: Seq(seq),
                cause: edgegap_ping::LossCause::Timeout,
            });
        };
        // Probes 1, 2, 3 lost (learnt 3, 1, 2), then 6 alone.
        for seq in [3, 1] {
            lose(&mut live, seq);
        }
        assert_eq!(live.targets[0].loss_events, 2, "two runs so far");
        lose(&mut live, 2);
        assert_eq!(live.targets[0].loss_events, 1, "2 joins them");
        lose(&mut live, 6);
        assert_eq!(live.targets[0].loss_events, 2);
        assert_eq!(live.stats(0).loss_events(), 2);
        assert_eq!(
            live.targets[0].in_flight, 4,
            "0, 4, 5 and 7 are still in flight"
        );
        assert_eq!(live.stats(0).counts().lost, 4);
    }

    #[test]
    fn only_the_closest_contenders_are_probed_side_by_side() {
        let t0 = Instant::now();
        let members: Vec<(usize, LocationKey)> =
            (0..40).map(|i| (i, key(&format!("L{i:02}")))).collect();
        let mut live = LiveRun::new(40, &members, t0, Some(SAMPLING));
        let config = RankConfig::default();
        let mut seq = 0;
        for round in 0..3u64 {
            for i in 0..40 {
                // Everyone within a millisecond of everyone: all contenders.
                let rtt = 30 + (i as u64 + round) % 2;
                probe(&mut live, t0, i, seq, round * 20 + i as u64 / 8, Some(rtt));
                seq += 1;
            }
        }
        let actions = live.evaluate(t0 + Duration::from_millis(100), &config, THRESHOLDS, true);
        let extended: HashSet<TargetId> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Extend { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(extended.len(), MAX_CONTENDERS + 1, "{actions:?}");
        let released = actions
            .iter()
            .filter(|a| matches!(a, Action::Release(_)))
            .count();
        assert_eq!(released, 40 - MAX_CONTENDERS - 1);
    }
}
