//! The early decision.

use std::time::Duration;

use edgegap_rank::{
    BeaconMeasurement, Decision, LiveLocation, LocationKey, RankConfig, Statistic, decide,
    optimistic_ms, rank,
};
use proptest::prelude::*;

use crate::common::{beacon, key};

/// A running location whose beacons answered every probe so far with these RTTs (in ms;
/// non-finite values are never recorded, as the engine never produces them).
fn live(city: &str, rtts_ms: &[f64]) -> LiveLocation {
    let mut l = LiveLocation::new(key(city, "X"));
    for &v in rtts_ms.iter().filter(|v| v.is_finite()) {
        l.stats.record(Duration::from_secs_f64(v / 1000.0));
        l.stats.counts_mut().sent += 1;
        l.stats.counts_mut().received += 1;
    }
    l
}

fn waiting(city: &str, outstanding_ms: Option<f64>) -> LiveLocation {
    let mut l = live(city, &[]);
    l.oldest_outstanding_ms = outstanding_ms;
    l
}

fn finished(mut l: LiveLocation) -> LiveLocation {
    l.finished = true;
    l
}

fn keys(cities: &[&str]) -> Vec<LocationKey> {
    cities.iter().map(|c| key(c, "X")).collect()
}

#[test]
fn no_leader_before_enough_samples() {
    let d = decide(
        &[live("A", &[10.0, 10.0]), live("B", &[90.0])],
        &RankConfig::default(),
        3,
    );
    assert_eq!(d, Decision::default());
    assert!(!d.decided && d.leader.is_none() && d.hopeless.is_empty());
}

#[test]
fn leader_is_the_best_current_score_with_enough_samples() {
    let config = RankConfig::default();
    let input = [
        live("A", &[20.0, 20.0, 20.0]),
        live("B", &[10.0, 10.0, 10.0]),
        // Better, but not enough samples to lead (and not hopeless).
        live("C", &[5.0]),
    ];
    let d = decide(&input, &config, 3);
    assert_eq!(d.leader, Some(key("B", "X")));
    // A: 20 > 10 * 1.2.
    assert_eq!(d.hopeless, keys(&["A"]));
    assert!(!d.decided, "C could still win");
}

#[test]
fn equal_scores_lead_by_key() {
    let d = decide(
        &[live("B", &[10.0]), live("A", &[10.0])],
        &RankConfig::default(),
        1,
    );
    assert_eq!(d.leader, Some(key("A", "X")));
    assert!(d.hopeless.is_empty());
    assert!(!d.decided, "B is still running and in the band");
}

#[test]
fn hopeless_uses_the_smallest_sample_and_the_band() {
    let config = RankConfig::default();
    // Leader score: median 10 + 0.5 * jitter 0 = 10; band up to 12.
    let leader = live("L", &[10.0, 10.0, 10.0]);
    let near = live("N", &[30.0, 12.0, 40.0]); // min 12: inside the band
    let far = live("F", &[12.5, 13.0]); // min 12.5: outside
    let d = decide(&[leader, near, far], &config, 3);
    assert_eq!(d.hopeless, keys(&["F"]));
    assert!(!d.decided);
}

#[test]
fn the_absolute_margin_also_makes_hopeless() {
    // Leader 100: the factor allows 120, the margin only 110.
    let d = decide(
        &[
            live("L", &[100.0]),
            live("A", &[109.0]),
            live("B", &[111.0]),
        ],
        &RankConfig::default(),
        1,
    );
    assert_eq!(d.hopeless, keys(&["B"]));
}

#[test]
fn a_location_without_samples_is_bounded_by_its_oldest_outstanding_probe() {
    let config = RankConfig::default();
    let input = [
        live("L", &[10.0, 10.0, 10.0]),
        waiting("Slow", Some(50.0)),
        waiting("Young", Some(5.0)),
        waiting("Unsent", None),
    ];
    let d = decide(&input, &config, 3);
    assert_eq!(d.hopeless, keys(&["Slow"]));
    assert!(!d.decided);
    assert!((optimistic_ms(&input[1]) - 50.0).abs() < 1e-12);
    assert!(optimistic_ms(&input[3]).abs() < 1e-12);
    // Samples win over the outstanding bound.
    let mut both = live("B", &[7.0]);
    both.oldest_outstanding_ms = Some(500.0);
    assert!((optimistic_ms(&both) - 7.0).abs() < 1e-12);
}

#[test]
fn decided_when_every_other_location_is_settled() {
    let config = RankConfig::default();
    let mut dead = live("Dead", &[]);
    dead.unreachable = true;
    let input = [
        live("L", &[10.0, 10.0, 10.0]),
        live("Far", &[50.0]),
        waiting("Slow", Some(80.0)),
        dead,
        finished(live("Done", &[11.0, 11.0, 11.0])),
        finished(live("Silent", &[])),
    ];
    let d = decide(&input, &config, 3);
    assert_eq!(d.leader, Some(key("L", "X")));
    assert_eq!(d.hopeless, keys(&["Far", "Slow"]));
    assert!(d.decided);
}

#[test]
fn a_finished_better_location_with_few_samples_blocks_the_decision() {
    let input = [
        live("L", &[10.0, 10.0, 10.0]),
        finished(live("Lossy", &[8.0])),
    ];
    let d = decide(&input, &RankConfig::default(), 3);
    assert_eq!(d.leader, Some(key("L", "X")));
    assert!(
        d.hopeless.is_empty(),
        "finished locations are never listed as hopeless"
    );
    assert!(!d.decided);
}

#[test]
fn a_running_location_inside_the_band_blocks_the_decision() {
    let d = decide(
        &[
            live("L", &[10.0, 10.0, 10.0]),
            live("Close", &[11.0, 11.0, 11.0]),
        ],
        &RankConfig::default(),
        3,
    );
    assert!(d.hopeless.is_empty());
    assert!(!d.decided);
}

#[test]
fn the_only_location_decides_alone() {
    let d = decide(&[live("L", &[10.0, 11.0])], &RankConfig::default(), 2);
    assert_eq!(d.leader, Some(key("L", "X")));
    assert!(d.decided);
}

#[test]
fn negative_penalties_or_nan_prune_nothing() {
    let input = [live("L", &[10.0, 10.0, 10.0]), live("Far", &[500.0])];
    let negative = {
        let mut c = RankConfig::default();
        c.jitter_weight = -1.0;
        c
    };
    assert!(decide(&input, &negative, 3).hopeless.is_empty());
    let nan = {
        let mut c = RankConfig::default();
        c.jitter_weight = f64::NAN;
        c
    };
    let d = decide(&input, &nan, 3);
    assert!(d.hopeless.is_empty() && !d.decided);
    // Non-finite samples are ignored.
    let odd = [
        live("L", &[f64::NAN, 10.0, f64::INFINITY]),
        live("Far", &[500.0, f64::NAN]),
    ];
    let d = decide(&odd, &RankConfig::default(), 1);
    assert_eq!(d.leader, Some(key("L", "X")));
    assert_eq!(d.hopeless, keys(&["Far"]));
}

#[test]
fn the_live_score_is_the_ranking_score() {
    let samples = [10.0, 12.0, 11.0, 30.0, 13.0];
    let score = |statistic, jitter_weight| {
        let mut c = RankConfig::default();
        c.statistic = statistic;
        c.jitter_weight = jitter_weight;
        c.score(&live("A", &samples).stats.metrics()).unwrap()
    };
    assert!((score(Statistic::Median, 0.0) - 12.0).abs() < 1e-9);
    assert!((score(Statistic::Mean, 0.0) - 15.2).abs() < 1e-9);
    assert!((score(Statistic::TrimmedMean, 0.0) - 12.0).abs() < 1e-9);
    assert!((score(Statistic::Min, 0.0) - 10.0).abs() < 1e-9);
    assert!((score(Statistic::Median, 0.5) - (12.0 + 0.5 * 9.75)).abs() < 1e-9);
    assert_eq!(
        RankConfig::default().score(&live("E", &[]).stats.metrics()),
        None
    );
    // The same figure the ranking gives the same samples.
    let r = rank(
        &[beacon("A", "X", "a", &samples)],
        &RankConfig::default(),
        None,
    );
    assert!((r.best().unwrap().score_ms - score(Statistic::Median, 0.5)).abs() < 1e-9);
}

#[test]
fn loss_counts_live_as_it_counts_in_the_ranking() {
    // B lost 25 probes and was late 5 times for its 10 samples: significant, so the live
    // leader is A, as in the final ranking (the engine's counts reach both alike).
    let mut a = live("A", &[20.0; 10]);
    let mut b = live("B", &[19.0; 10]);
    b.stats.counts_mut().sent += 30;
    b.stats.counts_mut().lost += 25;
    b.stats.counts_mut().late += 5;
    a.finished = true;
    b.finished = true;
    let config = RankConfig::default();
    let d = decide(&[a.clone(), b.clone()], &config, 3);
    let mut mb = beacon("B", "X", "b", &[19.0; 10]);
    mb.counts = b.stats.counts();
    let r = rank(&[beacon("A", "X", "a", &[20.0; 10]), mb], &config, None);
    assert_eq!(d.leader, Some(r.best().unwrap().key()));
    assert_eq!(d.leader, Some(key("A", "X")));
}

/// One generated location: samples so far, samples still to come, the age of its oldest
/// outstanding probe, whether it has finished.
#[derive(Clone, Debug)]
struct Scenario {
    prefix_us: Vec<u64>,
    future_us: Vec<u64>,
    outstanding_us: Option<u64>,
    finished: bool,
}

fn scenario(max_us: u64) -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(1..max_us, 0..5),
        prop::collection::vec(1..max_us, 0..4),
        prop::option::of(1..max_us),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(prefix_us, future_us, outstanding_us, finished)| Scenario {
                prefix_us,
                future_us,
                outstanding_us,
                finished,
            },
        )
}

fn statistic() -> impl Strategy<Value = Statistic> {
    prop_oneof![
        Just(Statistic::Median),
        Just(Statistic::Mean),
        Just(Statistic::TrimmedMean),
        Just(Statistic::Min)
    ]
}

fn city(i: usize) -> String {
    format!("L{i}")
}

fn to_live(i: usize, s: &Scenario) -> LiveLocation {
    let mut l = LiveLocation::new(key(&city(i), "X"));
    for &us in &s.prefix_us {
        l.stats.record(Duration::from_micros(us));
        l.stats.counts_mut().sent += 1;
        l.stats.counts_mut().received += 1;
    }
    l.oldest_outstanding_ms = if s.prefix_us.is_empty() {
        s.outstanding_us.map(|us| us as f64 / 1000.0)
    } else {
        None
    };
    l.finished = s.finished;
    l
}

fn measurement(i: usize, samples_us: &[u64]) -> BeaconMeasurement {
    let mut m = BeaconMeasurement::new(key(&city(i), "X"), format!("h{i}"));
    m.rtts = samples_us
        .iter()
        .map(|&us| Duration::from_micros(us))
        .collect();
    m.counts.sent = u32::try_from(m.rtts.len()).unwrap();
    m.counts.received = m.counts.sent;
    m
}

proptest! {
    /// A hopeless location cannot end up first, not even as the sticky previous choice, however
    /// its remaining samples turn out (as long as they are not below its optimistic bound),
    /// when the leader's figures stay as they are and the others do anything.
    #[test]
    fn never_hopeless_if_it_could_still_win(
        scenarios in prop::collection::vec(scenario(200_000), 2..7),
        statistic in statistic(),
        jitter_weight in prop_oneof![Just(0.0), Just(0.5), Just(2.0)],
        leader_samples in 1usize..4,
    ) {
        let config = { let mut c = RankConfig::default(); c.statistic = statistic; c.jitter_weight = jitter_weight; c };
        let live: Vec<LiveLocation> = scenarios.iter().enumerate().map(|(i, s)| to_live(i, s)).collect();
        let d = decide(&live, &config, leader_samples);
        let Some(leader) = d.leader.clone() else {
            prop_assert!(d.hopeless.is_empty() && !d.decided);
            return Ok(());
        };
        prop_assert!(!d.hopeless.contains(&leader));
        for x in &d.hopeless {
            let xi = live.iter().position(|l| &l.key == x).unwrap();
            prop_assert!(!live[xi].finished);
            let bound_us = scenarios[xi].prefix_us.iter().copied().min()
                .or(scenarios[xi].outstanding_us)
                .expect("a location with neither samples nor outstanding probes is never hopeless");
            let finals: Vec<BeaconMeasurement> = scenarios.iter().enumerate().map(|(i, s)| {
                let mut samples = s.prefix_us.clone();
                if live[i].key == leader {
                    // The leader's figures as they are now.
                } else if i == xi {
                    samples.extend(s.future_us.iter().map(|&us| us.max(bound_us)));
                    if samples.is_empty() {
                        samples.push(bound_us);
                    }
                } else {
                    samples.extend(&s.future_us);
                }
                measurement(i, &samples)
            }).collect();
            let ranking = rank(&finals, &config, Some(x));
            let best = ranking.best().unwrap().key();
            prop_assert_ne!(&best, x, "declared hopeless but won: {:?}", ranking.locations);
        }
    }

    /// When the decision is made and nothing changes any more, the final ranking agrees.
    /// (Samples below 2.048 ms, where the histogram is exact; jitter weight 0, so both sides
    /// compute the very same numbers.)
    #[test]
    fn decided_means_the_final_ranking_agrees(
        scenarios in prop::collection::vec(scenario(2_000), 1..7),
        statistic in prop_oneof![Just(Statistic::Median), Just(Statistic::Min)],
        leader_samples in 1usize..4,
    ) {
        let config = { let mut c = RankConfig::default(); c.statistic = statistic; c.jitter_weight = 0.0; c };
        let live: Vec<LiveLocation> = scenarios.iter().enumerate().map(|(i, s)| to_live(i, s)).collect();
        let d = decide(&live, &config, leader_samples);
        if d.decided {
            let finals: Vec<BeaconMeasurement> = scenarios.iter().enumerate()
                .map(|(i, s)| measurement(i, &s.prefix_us)).collect();
            let ranking = rank(&finals, &config, None);
            prop_assert_eq!(ranking.best().map(edgegap_rank::LocationReport::key), d.leader);
        }
    }
}
