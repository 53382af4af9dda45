//! Early decision: which locations can no longer win while a run is still going.
//!
//! A pure function of what has been seen so far, called by the facade on engine events. It
//! scores with [`RankConfig::score`] on the same [`Stats`] the final ranking builds, so the
//! live leader and the final first place cannot disagree on the same samples and counts.

use std::cmp::Ordering;

use edgegap_core::Stats;

use crate::{LocationKey, RankConfig, within_band};

/// What a run has seen so far of one location.
///
/// Laid out for [`decide_at`], which reads every location on every call: everything it reads
/// (the bound, the cached figures, the flags) is in the first 64 bytes, and a location starts
/// a cache line, so a decision over thousands of locations reads one line of each.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[repr(C, align(64))]
pub struct LiveLocation {
    /// A lower bound, in milliseconds, on any sample still to come from its beacons that have
    /// no sample yet: the age of their oldest unanswered probe, or `Some(0.0)` when such a
    /// beacon has no probe in flight (no bound). `None` when every beacon that can still
    /// answer already has a sample (a single-beacon location with samples, for example).
    pub oldest_outstanding_ms: Option<f64>,
    /// The score of `stats` (when [`CACHED_SCORE`] is set), kept by
    /// [`LiveLocation::refresh`] (a run of thousands of locations re-scores only those whose
    /// stats changed).
    score: f64,
    /// The statistic of `stats` (when [`CACHED_STATISTIC`] is set), kept with the score.
    statistic: f64,
    /// The smallest sample of `stats` in ms (when [`CACHED_MIN`] is set), kept with the score.
    min_ms: f64,
    /// The number of samples of `stats` (saturating), kept with the score.
    samples: u32,
    /// Which cached figures are there ([`SCORED`] once refreshed, and the figures' bits).
    cached: u8,
    /// Whether all of its probes are settled (it will get no more samples).
    pub finished: bool,
    /// Whether it is known to be unreachable (it cannot win).
    pub unreachable: bool,
    /// The location.
    pub key: LocationKey,
    /// Its beacons' samples and probe counts so far, merged (as the final ranking merges them).
    pub stats: Stats,
}

/// [`LiveLocation::cached`]: refreshed since made (the figures below are current).
const SCORED: u8 = 1;
/// [`LiveLocation::cached`]: the score is a number (a location without samples has none).
const CACHED_SCORE: u8 = 2;
/// [`LiveLocation::cached`]: the statistic is a number.
const CACHED_STATISTIC: u8 = 4;
/// [`LiveLocation::cached`]: there is a smallest sample.
const CACHED_MIN: u8 = 8;

impl LiveLocation {
    /// A location with nothing seen yet.
    pub fn new(key: LocationKey) -> Self {
        Self {
            oldest_outstanding_ms: None,
            score: 0.0,
            statistic: 0.0,
            min_ms: 0.0,
            samples: 0,
            cached: 0,
            finished: false,
            unreachable: false,
            key,
            stats: Stats::new(),
        }
    }

    /// Scores `stats` now and keeps the score for [`decide`]; call it again after `stats`
    /// change (without it, `decide` scores every location on every call).
    pub fn refresh(&mut self, config: &RankConfig) {
        // Only what the score and the statistic need (the live decision refreshes often).
        let metrics = self.stats.scoring_metrics(config.statistic);
        let mut cached = SCORED;
        let mut keep = |value: Option<f64>, bit: u8| {
            cached |= if value.is_some() { bit } else { 0 };
            value.unwrap_or(0.0)
        };
        self.score = keep(config.score(&metrics), CACHED_SCORE);
        self.statistic = keep(metrics.statistic(config.statistic), CACHED_STATISTIC);
        self.min_ms = keep(min_ms(&self.stats), CACHED_MIN);
        self.samples = u32::try_from(self.stats.samples().len()).unwrap_or(u32::MAX);
        self.cached = cached;
    }

    /// The score kept by the last [`LiveLocation::refresh`] (`None` before it, or without
    /// samples).
    pub fn score(&self) -> Option<f64> {
        self.kept(self.score, CACHED_SCORE)
    }

    /// A cached figure, when refreshed and there.
    fn kept(&self, value: f64, bit: u8) -> Option<f64> {
        (self.cached & SCORED != 0 && self.cached & bit != 0).then_some(value)
    }

    fn scored(&self) -> bool {
        self.cached & SCORED != 0
    }

    fn current_score(&self, config: &RankConfig) -> Option<f64> {
        if self.scored() {
            self.kept(self.score, CACHED_SCORE)
        } else {
            config.score(&self.stats.metrics())
        }
    }

    fn current_statistic(&self, config: &RankConfig) -> Option<f64> {
        if self.scored() {
            self.kept(self.statistic, CACHED_STATISTIC)
        } else {
            self.stats.metrics().statistic(config.statistic)
        }
    }

    fn sample_count(&self) -> u64 {
        if self.scored() {
            u64::from(self.samples)
        } else {
            self.stats.samples().len()
        }
    }

    fn min_sample_ms(&self) -> Option<f64> {
        if self.scored() {
            self.kept(self.min_ms, CACHED_MIN)
        } else {
            min_ms(&self.stats)
        }
    }
}

/// The smallest sample of `stats`, in milliseconds.
fn min_ms(stats: &Stats) -> Option<f64> {
    stats.samples().min().map(|d| d.as_secs_f64() * 1000.0)
}

/// [`decide`]'s outcome by position in its input: no key is cloned, so a run of thousands
/// of locations can decide every few milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecisionAt {
    /// The position of the leader.
    pub leader: Option<usize>,
    /// The positions of the unfinished locations that cannot win any more.
    pub hopeless: Vec<usize>,
    /// Whether the best location is known (see [`Decision::decided`]).
    pub decided: bool,
}

/// The outcome of [`decide`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// The location with the best current score among those with enough samples.
    pub leader: Option<LocationKey>,
    /// Unfinished locations that cannot win any more: probing them further is useless.
    pub hopeless: Vec<LocationKey>,
    /// Whether the best location is known: a leader exists and every other location is
    /// hopeless, finished and worse, or unreachable.
    pub decided: bool,
}

/// Decides, from what has been seen so far, which location leads and which cannot win.
///
/// - A location's *current score* is [`RankConfig::score`] of its stats so far: the same
///   statistic, loss and jitter terms the final ranking uses.
/// - The *leader* is the location with the lowest current score, ties by key, among those
///   with at least `leader_samples` (at least 1) samples that are not unreachable.
/// - A location's *most optimistic score* is the minimum of its samples and of
///   `oldest_outstanding_ms` (a location of several beacons may have samples from one and a
///   faster one still silent), or 0 when it has neither; with zero penalties. No statistic
///   of samples that are all at least that bound can be below it.
/// - A location is *hopeless* when it is not finished, not unreachable, not the leader, and
///   its most optimistic score is outside the near-tie band of the leader's current score
///   (see [`within_band`]): it could not even be kept first by stickiness.
/// - `decided` when there is a leader and every other location is hopeless, unreachable,
///   finished without a sample, or finished with a current score worse than the leader's.
///
/// Nothing is hopeless when the configuration has a negative penalty (then a score can be
/// below the smallest sample) or the leader's score is not a finite number.
pub fn decide(live: &[LiveLocation], config: &RankConfig, leader_samples: usize) -> Decision {
    let at = decide_at(live, config, leader_samples);
    Decision {
        leader: at.leader.map(|i| live[i].key.clone()),
        hopeless: at.hopeless.iter().map(|&i| live[i].key.clone()).collect(),
        decided: at.decided,
    }
}

/// [`decide`], by position: the same rules, O(n) with scores kept by
/// [`LiveLocation::refresh`]: one pass finds the best score and the best statistic, one more
/// classifies the others, and nothing is allocated unless a location is hopeless.
pub fn decide_at(live: &[LiveLocation], config: &RankConfig, leader_samples: usize) -> DecisionAt {
    let leader_samples = leader_samples.max(1) as u64;
    // The best finite score and the best finite statistic among the eligible locations
    // (reachable, with `leader_samples` samples), ties by key.
    let mut best_score: Option<(usize, f64)> = None;
    let mut best_statistic: Option<(usize, f64)> = None;
    for (i, l) in live.iter().enumerate() {
        if l.unreachable || l.sample_count() < leader_samples {
            continue;
        }
        if let Some(score) = l.current_score(config).filter(|s| s.is_finite())
            && best_score.is_none_or(|(j, best)| worse(best, &live[j].key, score, &l.key))
        {
            best_score = Some((i, score));
        }
        if let Some(statistic) = l.current_statistic(config).filter(|s| s.is_finite())
            && best_statistic.is_none_or(|(j, best)| worse(best, &live[j].key, statistic, &l.key))
        {
            best_statistic = Some((i, statistic));
        }
    }
    let Some((best_score_index, best_score)) = best_score else {
        return DecisionAt::default();
    };
    // The leader may be the location with the best statistic, ahead on significant
    // differences only (see `crate::judge`). The band is around the leader's own score: its
    // figures bound the final best score from above, whatever the others do.
    let (leader_index, leader_score) = match best_statistic {
        Some((i, _))
            if i != best_score_index
                && crate::ahead(&live[i].stats, &live[best_score_index].stats, config) =>
        {
            (i, live[i].current_score(config).unwrap_or(best_score))
        }
        _ => (best_score_index, best_score),
    };
    let leader_key = &live[leader_index].key;
    let may_prune = config.loss_penalty_ms >= 0.0 && config.jitter_weight >= 0.0;

    let mut hopeless = Vec::new();
    let mut settled_all = true;
    for (i, l) in live.iter().enumerate() {
        if i == leader_index || l.unreachable {
            continue;
        }
        if i == best_score_index {
            // The best score, behind the leader on significant differences only.
            settled_all &= l.finished;
            continue;
        }
        if l.finished {
            let settled = l
                .current_score(config)
                .is_none_or(|s| worse(s, &l.key, leader_score, leader_key));
            settled_all &= settled;
            continue;
        }
        if may_prune
            && !within_band(
                optimistic_ms(l),
                leader_score,
                config.tie_factor,
                config.tie_margin_ms,
            )
        {
            hopeless.push(i);
        } else {
            settled_all = false;
        }
    }
    DecisionAt {
        leader: Some(leader_index),
        hopeless,
        decided: settled_all,
    }
}

/// The most optimistic score of a location (see [`decide`]).
pub fn optimistic_ms(l: &LiveLocation) -> f64 {
    let min = l.min_sample_ms();
    match (min, l.oldest_outstanding_ms) {
        (Some(min), Some(age)) if age.is_finite() => min.min(age.max(0.0)),
        (Some(min), _) => min,
        (None, Some(age)) if age.is_finite() && age > 0.0 => age,
        _ => 0.0,
    }
}

/// Whether (score `a`, key `ka`) comes after (score `b`, key `kb`) in the ranking order.
fn worse(a: f64, ka: &LocationKey, b: f64, kb: &LocationKey) -> bool {
    a.total_cmp(&b).then_with(|| ka.cmp(kb)) == Ordering::Greater
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, offset_of, size_of};

    use super::LiveLocation;

    #[test]
    fn what_a_decision_reads_of_a_location_is_in_its_first_cache_line() {
        assert_eq!(align_of::<LiveLocation>(), 64);
        for end in [
            offset_of!(LiveLocation, oldest_outstanding_ms) + size_of::<Option<f64>>(),
            offset_of!(LiveLocation, score) + 8,
            offset_of!(LiveLocation, statistic) + 8,
            offset_of!(LiveLocation, min_ms) + 8,
            offset_of!(LiveLocation, samples) + 4,
            offset_of!(LiveLocation, cached) + 1,
            offset_of!(LiveLocation, finished) + 1,
            offset_of!(LiveLocation, unreachable) + 1,
        ] {
            assert!(end <= 64, "a field a decision reads ends at byte {end}");
        }
        // Three cache lines a location (a run of 64,000 locations holds one each).
        assert!(
            size_of::<LiveLocation>() <= 192,
            "{}",
            size_of::<LiveLocation>()
        );
    }
}
