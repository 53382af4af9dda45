//! Early decision: which locations can no longer win while a run is still going.
//!
//! A pure function of what has been seen so far, called by the facade on engine events. It
//! scores with [`RankConfig::score`] on the same [`Stats`] the final ranking builds, so the
//! live leader and the final first place cannot disagree on the same samples and counts.

use std::cmp::Ordering;

use edgegap_core::Stats;

use crate::{LocationKey, RankConfig, within_band};

/// What a run has seen so far of one location.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LiveLocation {
    /// The location.
    pub key: LocationKey,
    /// Its beacons' samples and probe counts so far, merged (as the final ranking merges them).
    pub stats: Stats,
    /// A lower bound, in milliseconds, on any sample still to come from its beacons that have
    /// no sample yet: the age of their oldest unanswered probe, or `Some(0.0)` when such a
    /// beacon has no probe in flight (no bound). `None` when every beacon that can still
    /// answer already has a sample (a single-beacon location with samples, for example).
    pub oldest_outstanding_ms: Option<f64>,
    /// Whether all of its probes are settled (it will get no more samples).
    pub finished: bool,
    /// Whether it is known to be unreachable (it cannot win).
    pub unreachable: bool,
    /// The score of `stats` (`None` without samples), once computed by
    /// [`LiveLocation::refresh`] (a run of thousands of locations re-scores only those whose
    /// stats changed); `scored` says whether it was.
    score: Option<f64>,
    /// The statistic of `stats`, cached with the score.
    statistic: Option<f64>,
    /// The number of samples and the smallest one (ms) of `stats`, cached with the score: a
    /// decision over thousands of locations reads these from the location itself, not from
    /// its samples' own allocation.
    samples: u64,
    min_ms: Option<f64>,
    scored: bool,
}

impl LiveLocation {
    /// A location with nothing seen yet.
    pub fn new(key: LocationKey) -> Self {
        Self {
            key,
            stats: Stats::new(),
            oldest_outstanding_ms: None,
            finished: false,
            unreachable: false,
            score: None,
            statistic: None,
            samples: 0,
            min_ms: None,
            scored: false,
        }
    }

    /// Scores `stats` now and keeps the score for [`decide`]; call it again after `stats`
    /// change (without it, `decide` scores every location on every call).
    pub fn refresh(&mut self, config: &RankConfig) {
        // Only what the score and the statistic need (the live decision refreshes often).
        let metrics = self.stats.scoring_metrics(config.statistic);
        self.score = config.score(&metrics);
        self.statistic = metrics.statistic(config.statistic);
        self.samples = self.stats.samples().len();
        self.min_ms = self.stats.samples().min().map(|d| d.as_secs_f64() * 1000.0);
        self.scored = true;
    }

    /// The score kept by the last [`LiveLocation::refresh`] (`None` before it, or without
    /// samples).
    pub fn score(&self) -> Option<f64> {
        self.score.filter(|_| self.scored)
    }

    fn current_score(&self, config: &RankConfig) -> Option<f64> {
        if self.scored {
            self.score
        } else {
            config.score(&self.stats.metrics())
        }
    }

    fn current_statistic(&self, config: &RankConfig) -> Option<f64> {
        if self.scored {
            self.statistic
        } else {
            self.stats.metrics().statistic(config.statistic)
        }
    }

    fn sample_count(&self) -> u64 {
        if self.scored {
            self.samples
        } else {
            self.stats.samples().len()
        }
    }

    fn min_sample_ms(&self) -> Option<f64> {
        if self.scored {
            self.min_ms
        } else {
            self.stats.samples().min().map(|d| d.as_secs_f64() * 1000.0)
        }
    }
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
