//! Early decision: which locations can no longer win while a run is still going.
//!
//! A pure function of what has been seen so far, called by the facade on engine events.
//! It costs O(total samples) (a small sort per location for the median), allocation aside.

use std::cmp::Ordering;

use crate::{LocationKey, RankConfig, Statistic, within_band};

/// What a run has seen so far of one location.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveLocation {
    /// The location.
    pub key: LocationKey,
    /// Its samples so far, in milliseconds, in arrival order (non-finite values are ignored).
    pub rtts_ms: Vec<f64>,
    /// A lower bound, in milliseconds, on any sample still to come from its beacons that have
    /// no sample yet: the age of their oldest unanswered probe, or `Some(0.0)` when such a
    /// beacon has no probe in flight (no bound). `None` when every beacon that can still
    /// answer already has a sample (a single-beacon location with samples, for example).
    pub oldest_outstanding_ms: Option<f64>,
    /// Whether all of its probes are settled (it will get no more samples).
    pub finished: bool,
    /// Whether it is known to be unreachable (it cannot win).
    pub unreachable: bool,
}

/// The outcome of [`decide`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
/// - A location's *current score* is the configured statistic of its samples (exact
///   nearest-rank for the median) plus `jitter_weight` × the mean absolute difference of
///   consecutive samples; loss is unknown during a run and counts 0.
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
    let leader_samples = leader_samples.max(1);
    let mut scratch = Vec::new();
    let scores: Vec<Option<f64>> = live
        .iter()
        .map(|l| {
            if l.unreachable {
                None
            } else {
                live_score_with(&l.rtts_ms, config, &mut scratch)
            }
        })
        .collect();

    let mut leader: Option<(usize, f64)> = None;
    for (i, l) in live.iter().enumerate() {
        let Some(score) = scores[i] else { continue };
        if finite_count(&l.rtts_ms) < leader_samples || !score.is_finite() {
            continue;
        }
        let better = leader.is_none_or(|(j, best)| worse(best, &live[j].key, score, &l.key));
        if better {
            leader = Some((i, score));
        }
    }
    let Some((leader_index, leader_score)) = leader else {
        return Decision::default();
    };
    let leader_key = &live[leader_index].key;
    let may_prune = config.loss_penalty_ms >= 0.0 && config.jitter_weight >= 0.0;

    let mut hopeless = Vec::new();
    let mut settled_all = true;
    for (i, l) in live.iter().enumerate() {
        if i == leader_index || l.unreachable {
            continue;
        }
        if l.finished {
            let settled = scores[i].is_none_or(|s| worse(s, &l.key, leader_score, leader_key));
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
            hopeless.push(l.key.clone());
        } else {
            settled_all = false;
        }
    }
    Decision {
        leader: Some(leader_key.clone()),
        hopeless,
        decided: settled_all,
    }
}

/// The current score of a location from its samples so far (see [`decide`]); `None` without
/// a finite sample.
pub fn live_score(rtts_ms: &[f64], config: &RankConfig) -> Option<f64> {
    live_score_with(rtts_ms, config, &mut Vec::new())
}

/// The most optimistic score of a location (see [`decide`]).
pub fn optimistic_ms(l: &LiveLocation) -> f64 {
    let min = l
        .rtts_ms
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .reduce(f64::min);
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

fn finite_count(rtts_ms: &[f64]) -> usize {
    rtts_ms.iter().filter(|v| v.is_finite()).count()
}

fn live_score_with(rtts_ms: &[f64], config: &RankConfig, scratch: &mut Vec<f64>) -> Option<f64> {
    scratch.clear();
    scratch.extend(rtts_ms.iter().copied().filter(|v| v.is_finite()));
    let n = scratch.len();
    if n == 0 {
        return None;
    }
    let (mut jitter_sum, mut previous) = (0.0, None);
    for &v in scratch.iter() {
        if let Some(p) = previous {
            jitter_sum += f64::abs(v - p);
        }
        previous = Some(v);
    }
    let jitter = if n >= 2 {
        jitter_sum / (n - 1) as f64
    } else {
        0.0
    };
    let sum: f64 = scratch.iter().sum();
    let min = scratch.iter().copied().fold(f64::INFINITY, f64::min);
    let max = scratch.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let value = match config.statistic {
        Statistic::Min => min,
        Statistic::TrimmedMean if n >= 4 => (sum - min - max) / (n - 2) as f64,
        Statistic::Mean | Statistic::TrimmedMean => sum / n as f64,
        Statistic::Median => {
            let rank = n.div_ceil(2); // nearest rank of q = 0.5, 1-based
            let (_, v, _) = scratch.select_nth_unstable_by(rank - 1, f64::total_cmp);
            *v
        }
    };
    Some(value + config.jitter_weight * jitter)
}
