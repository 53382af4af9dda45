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

#[derive(Debug, Default)]
struct TargetLive {
    stats: Stats,
    outstanding: Vec<(Seq, Instant)>,
    done: bool,
    stop_requested: bool,
    /// The location (position in `LiveRun::live`) the target belongs to.
    location: usize,
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
}

impl LiveRun {
    /// A run over the beacons `members` (beacon index and its location) of a list of
    /// `beacons` beacons.
    pub(crate) fn new(beacons: usize, members: &[(usize, LocationKey)], start: Instant) -> Self {
        let mut slots: HashMap<&LocationKey, usize> = HashMap::new();
        let mut live: Vec<LiveLocation> = Vec::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut targets: Vec<TargetLive> = (0..beacons).map(|_| TargetLive::default()).collect();
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
        }
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
                t.stats.counts_mut().sent += 1;
            }
            Event::Received { seq, rtt, .. } => {
                t.outstanding.retain(|(s, _)| s != seq);
                t.stats.record(*rtt);
                t.stats.counts_mut().received += 1;
            }
            Event::Lost { seq, .. } => {
                t.outstanding.retain(|(s, _)| s != seq);
                t.stats.counts_mut().lost += 1;
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
    /// [`EVAL_EVERY`] for large ones, or when `force`d at the end) and returns the targets
    /// that should stop: those of locations that can no longer win, once they have
    /// `min_samples` samples (every reachable location is still measured).
    pub(crate) fn evaluate(
        &mut self,
        now: Instant,
        config: &RankConfig,
        thresholds: Thresholds,
        force: bool,
    ) -> Vec<TargetId> {
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
        let mut stop = Vec::new();
        for &location in &decision.hopeless {
            for &i in &self.members[location] {
                let t = &mut self.targets[i];
                let samples = usize::try_from(t.stats.samples().len()).unwrap_or(usize::MAX);
                if !t.done && !t.stop_requested && samples >= thresholds.min_samples.max(1) {
                    t.stop_requested = true;
                    stop.push(target_id(i));
                }
            }
        }
        stop
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
        let mut live = LiveRun::new(2, &[(0, key("Near")), (1, key("Far"))], t0);
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
        assert_eq!(stop, [target_id(1)]);
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
            [target_id(1)]
        );
        assert!(live.decided_at().is_some());
    }
}
