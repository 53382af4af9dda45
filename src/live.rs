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

/// How often a run of `locations` locations is evaluated: every [`EVAL_EVERY`] up to
/// [`EVAL_LOCATIONS_PER_STEP`] locations, then proportionally less often (64,000 locations:
/// every 80 ms).
fn eval_every(locations: usize) -> Duration {
    let steps =
        u32::try_from(locations.div_ceil(EVAL_LOCATIONS_PER_STEP).max(1)).unwrap_or(u32::MAX);
    EVAL_EVERY.saturating_mul(steps)
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
    /// Its samples as `(send µs from the job's start, rtt ms)`: the report's pairs.
    pub samples: Vec<(u64, f64)>,
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

#[derive(Debug, Default)]
struct TargetLive {
    stats: Stats,
    outstanding: Vec<(Seq, Instant)>,
    done: bool,
    stop_requested: bool,
    released: bool,
    /// Samples asked of the engine so far (`count` plus the extensions).
    wanted: u32,
    /// When its last probe was sent.
    last_sent: Option<Instant>,
    /// Its samples as `(send instant in µs from the run's start, rtt in ms)`, in arrival
    /// order: the pairs of the adaptive comparison and the report's confidence.
    trace: Vec<(u64, f64)>,
    /// Its probes in send order, and whether each was lost or late: loss events are runs of
    /// those (see `edgegap_rank::Stats::loss_events`).
    sent_seqs: Vec<(Seq, bool)>,
    loss_events: u32,
    /// The location (position in `LiveRun::live`) the target belongs to.
    location: usize,
}

impl TargetLive {
    /// Marks the probe `seq` lost or late: a new loss event unless it joins a run of them
    /// (in send order, whatever order the losses are learnt in).
    fn mark_lossy(&mut self, seq: Seq) {
        let Some(i) = self.sent_seqs.iter().rposition(|(s, _)| *s == seq) else {
            return;
        };
        if self.sent_seqs[i].1 {
            return;
        }
        self.sent_seqs[i].1 = true;
        let before = i > 0 && self.sent_seqs[i - 1].1;
        let after = self.sent_seqs.get(i + 1).is_some_and(|(_, lossy)| *lossy);
        self.loss_events =
            (self.loss_events + 1).saturating_sub(u32::from(before) + u32::from(after));
        self.stats.set_loss_events(self.loss_events);
    }

    /// Whether it has nothing in flight and wants nothing more from the engine.
    fn idle(&self, sampling: &Sampling) -> bool {
        let received = self.stats.counts().received;
        let sent = self.stats.counts().sent;
        self.outstanding.is_empty()
            && (received >= self.wanted
                || sent >= self.wanted.saturating_add(sampling.extra_probes))
    }
}

/// Live state of one run.
#[derive(Debug)]
pub(crate) struct LiveRun {
    start: Instant,
    targets: Vec<TargetLive>,
    /// The indices of each location's targets, by location position.
    members: Vec<Vec<usize>>,
    /// What each location has seen so far, kept between evaluations.
    live: Vec<LiveLocation>,
    /// Locations whose stats changed since the last evaluation.
    dirty: Vec<usize>,
    is_dirty: Vec<bool>,
    decided_at: Option<Duration>,
    last_eval: Option<Instant>,
    /// Adaptive sampling, when on.
    sampling: Option<Sampling>,
    /// Whether each location's probes were aligned with the leader's yet.
    aligned: Vec<bool>,
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
        let mut slots: HashMap<&LocationKey, usize> = HashMap::new();
        let mut live: Vec<LiveLocation> = Vec::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let wanted = sampling.map_or(0, |s| s.count);
        let mut targets: Vec<TargetLive> = (0..beacons)
            .map(|_| TargetLive {
                wanted,
                ..TargetLive::default()
            })
            .collect();
        for (i, key) in members {
            let slot = *slots.entry(key).or_insert_with(|| {
                live.push(LiveLocation::new(key.clone()));
                groups.push(Vec::new());
                live.len() - 1
            });
            groups[slot].push(*i);
            if let Some(t) = targets.get_mut(*i) {
                t.location = slot;
            }
        }
        let n = live.len();
        Self {
            start,
            targets,
            members: groups,
            live,
            dirty: (0..n).collect(),
            is_dirty: vec![true; n],
            decided_at: None,
            last_eval: None,
            sampling,
            aligned: vec![false; n],
        }
    }

    /// Takes what each beacon that sent a probe saw beyond its summary: its samples as
    /// `(send µs, rtt ms)`, with `offset_us` added to the send instants (from this run's
    /// start to the job's), and its loss events, by beacon index.
    pub(crate) fn take_traces(&mut self, offset_us: u64) -> Vec<(usize, BeaconTrace)> {
        self.targets
            .iter_mut()
            .enumerate()
            .filter(|(_, t)| !t.sent_seqs.is_empty())
            .map(|(i, t)| {
                let mut samples = std::mem::take(&mut t.trace);
                for (at, _) in &mut samples {
                    *at = at.saturating_add(offset_us);
                }
                let trace = BeaconTrace {
                    samples,
                    loss_events: t.loss_events,
                };
                (i, trace)
            })
            .collect()
    }

    fn location_trace(&self, location: usize) -> Vec<(u64, f64)> {
        let mut out: Vec<(u64, f64)> = self.members[location]
            .iter()
            .flat_map(|&i| self.targets[i].trace.iter().copied())
            .collect();
        out.sort_by_key(|&(at, _)| at);
        out
    }

    /// When the best location became known, measured from the start of the run.
    pub(crate) fn decided_at(&self) -> Option<Duration> {
        self.decided_at
    }

    /// Takes one engine event into account: O(1).
    pub(crate) fn observe(&mut self, event: &Event) {
        let Some(t) = self.targets.get_mut(index_of(event.target())) else {
            return;
        };
        match event {
            Event::Sent { seq, at, .. } => {
                t.outstanding.push((*seq, *at));
                t.sent_seqs.push((*seq, false));
                t.last_sent = Some(*at);
                t.stats.counts_mut().sent += 1;
            }
            Event::Received { seq, rtt, .. } => {
                if let Some(&(_, at)) = t.outstanding.iter().find(|(s, _)| s == seq) {
                    let us = at.saturating_duration_since(self.start).as_micros();
                    t.trace.push((
                        u64::try_from(us).unwrap_or(u64::MAX),
                        rtt.as_secs_f64() * 1000.0,
                    ));
                }
                t.outstanding.retain(|(s, _)| s != seq);
                t.stats.record(*rtt);
                t.stats.counts_mut().received += 1;
            }
            Event::Lost { seq, .. } => {
                t.outstanding.retain(|(s, _)| s != seq);
                t.stats.counts_mut().lost += 1;
                t.mark_lossy(*seq);
            }
            Event::Late { .. } => {
                let counts = t.stats.counts_mut();
                counts.lost = counts.lost.saturating_sub(1);
                counts.late += 1;
            }
            Event::Duplicate { .. } => t.stats.counts_mut().duplicates += 1,
            Event::Done { summary } => {
                t.done = true;
                t.outstanding.clear();
                // The engine's own counts are final (they include the cancelled probes).
                *t.stats.counts_mut() = summary.counts;
            }
            _ => return,
        }
        let location = t.location;
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
        let every = eval_every(self.live.len());
        let due = self.live.len() < EVAL_ALWAYS_BELOW
            || self
                .last_eval
                .is_none_or(|t| now.duration_since(t) >= every);
        if !(force || due) {
            return Vec::new();
        }
        self.last_eval = Some(now);
        for location in std::mem::take(&mut self.dirty) {
            self.is_dirty[location] = false;
            self.rebuild(location, config);
        }
        for location in 0..self.live.len() {
            self.bound(location, now);
        }
        let decision = decide_at(&self.live, config, thresholds.leader_samples);
        if decision.decided && self.decided_at.is_none() {
            self.decided_at = Some(now.duration_since(self.start));
        }
        let mut actions = Vec::new();
        let mut hopeless = vec![false; self.live.len()];
        for &location in &decision.hopeless {
            hopeless[location] = true;
            for &i in &self.members[location] {
                let t = &mut self.targets[i];
                let samples = usize::try_from(t.stats.samples().len()).unwrap_or(usize::MAX);
                if !t.done && !t.stop_requested && samples >= thresholds.min_samples.max(1) {
                    t.stop_requested = true;
                    actions.push(Action::Stop(target_id(i)));
                }
            }
        }
        if let Some(sampling) = self.sampling {
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
            .flat_map(|l| self.members[l].iter())
            .filter_map(|&i| self.targets[i].last_sent)
            .max()
            .map(|last| (last + sampling.interval).max(now));
        for (location, &playing) in in_play.iter().enumerate() {
            let joining = playing && !self.aligned[location];
            if joining {
                self.aligned[location] = true;
            }
            for &i in &self.members[location] {
                let t = &mut self.targets[i];
                if t.done || t.released || t.stop_requested {
                    continue;
                }
                if playing {
                    // The engine sends while `in flight + received < wanted` and `sent <
                    // wanted + extra_probes`: keep one probe waiting on both counts.
                    let counts = t.stats.counts();
                    let ahead =
                        counts.received + u32::try_from(t.outstanding.len()).unwrap_or(u32::MAX);
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
                } else if t.idle(&sampling) || t.wanted > sampling.count {
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
        self.members[location]
            .iter()
            .any(|&i| !self.targets[i].done && !self.targets[i].released)
    }

    /// Whether a location may still send: fewer than `max_probes` probes sent or asked.
    fn has_budget(&self, location: usize, sampling: Sampling) -> bool {
        let asked: u32 = self.members[location]
            .iter()
            .map(|&i| {
                let t = &self.targets[i];
                t.wanted.max(t.stats.counts().sent)
            })
            .sum();
        asked < sampling.max_probes
    }

    /// Merges a location's targets again (after an event touched one of them) and re-scores it.
    fn rebuild(&mut self, location: usize, config: &RankConfig) {
        let members = &self.members[location];
        let live = &mut self.live[location];
        live.stats = match members.as_slice() {
            [one] => self.targets[*one].stats.clone(),
            many => {
                let mut merged = Stats::new();
                for &i in many {
                    merged.merge(&self.targets[i].stats);
                }
                merged
            }
        };
        live.finished = members.iter().all(|&i| self.targets[i].done);
        live.unreachable = live.finished && !live.stats.has_samples();
        live.refresh(config);
    }

    /// The earliest any not-yet-answered beacon of the location could still answer, at `now`:
    /// a beacon with samples is bounded by them; one without by the age of its oldest
    /// unanswered probe, or not at all when it has none in flight.
    fn bound(&mut self, location: usize, now: Instant) {
        let mut bound_ms: Option<f64> = None;
        let mut unbounded = false;
        for &i in &self.members[location] {
            let t = &self.targets[i];
            if t.done || t.stats.has_samples() {
                continue;
            }
            match t.outstanding.iter().map(|(_, at)| *at).min() {
                Some(oldest) => {
                    let age = now.saturating_duration_since(oldest).as_secs_f64() * 1000.0;
                    bound_ms = Some(bound_ms.map_or(age, |b: f64| b.min(age)));
                }
                None => unbounded = true,
            }
        }
        self.live[location].oldest_outstanding_ms = if unbounded { Some(0.0) } else { bound_ms };
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
        assert_eq!(eval_every(10), EVAL_EVERY);
        assert_eq!(eval_every(4096), EVAL_EVERY);
        assert_eq!(eval_every(4097), EVAL_EVERY * 2);
        assert_eq!(eval_every(64_000), EVAL_EVERY * 16);
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

    #[test]
    fn a_silent_faster_beacon_keeps_its_location_in_the_race() {
        // "Split" has a slow beacon with samples and a second one with a probe in flight for
        // only 2 ms: that one could still answer in 2 ms, so Split is not hopeless.
        let t0 = Instant::now();
        let mut live = LiveRun::new(
            3,
            &[(0, key("Near")), (1, key("Split")), (2, key("Split"))],
            t0,
            None,
        );
        let config = RankConfig::default();
        for seq in 0..3 {
            probe(&mut live, t0, 0, seq, 0, Some(10));
            probe(&mut live, t0, 1, 10 + seq, 0, Some(200));
        }
        probe(&mut live, t0, 2, 20, 298, None);
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
        let mut t = TargetLive::default();
        for seq in 0..8 {
            t.sent_seqs.push((Seq(seq), false));
        }
        // Probes 1, 2, 3 lost (learnt 3, 1, 2), then 6 alone.
        for seq in [3, 1] {
            t.mark_lossy(Seq(seq));
        }
        assert_eq!(t.loss_events, 2, "two runs so far");
        t.mark_lossy(Seq(2));
        assert_eq!(t.loss_events, 1, "2 joins them");
        t.mark_lossy(Seq(6));
        t.mark_lossy(Seq(6));
        assert_eq!(t.loss_events, 2);
        assert_eq!(t.stats.loss_events(), 2);
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
