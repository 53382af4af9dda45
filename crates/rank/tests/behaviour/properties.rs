//! Properties of the ranking over generated inputs.

use std::collections::BTreeSet;
use std::time::Duration;

use edgegap_rank::payload::round_ms;
use edgegap_rank::{
    BeaconMeasurement, LocationKey, LocationReport, Protocol, RankConfig, Statistic, Stats,
    Unreachable, UnreachableLocation, ahead, rank, within_band,
};
use proptest::prelude::*;

const PLACES: [(&str, &str); 6] = [
    ("Paris", "France"),
    ("Paris", "United States"),
    ("Tokyo", "Japan"),
    ("Lima", "Peru"),
    ("Chicago", "United States"),
    ("Athens", "Greece"),
];

/// The merged statistics of a location's beacons in `input`.
fn location_stats(input: &[BeaconMeasurement], key: &LocationKey) -> Stats {
    let mut merged = Stats::new();
    for m in input.iter().filter(|m| &m.location == key) {
        merged.merge(&m.stats());
    }
    merged
}

fn measurement() -> impl Strategy<Value = BeaconMeasurement> {
    let rtt_us = prop_oneof![1u64..300_000, Just(20_000u64), Just(21_000u64)];
    (
        0..PLACES.len(),
        0..3usize,
        prop::collection::vec(rtt_us, 0..6),
        0u32..3,
        prop::option::of(prop_oneof![
            Just(Protocol::Udp),
            Just(Protocol::Tcp),
            Just(Protocol::Icmp)
        ]),
    )
        .prop_map(|(place, host, rtts, lost, protocol)| {
            let (city, country) = PLACES[place];
            let mut m = BeaconMeasurement::new(LocationKey::new(city, country), format!("h{host}"));
            m.protocol = protocol;
            m.port = protocol.map(|_| 9000);
            m.rtts = rtts.into_iter().map(Duration::from_micros).collect();
            m.counts.received = u32::try_from(m.rtts.len()).unwrap();
            m.counts.lost = lost;
            m.counts.sent = m.counts.received + lost;
            if m.rtts.is_empty() {
                m.unreachable = Some(Unreachable::SendFailed(format!("reason {host}")));
            }
            m
        })
}

fn config() -> impl Strategy<Value = RankConfig> {
    (
        prop_oneof![
            Just(Statistic::Median),
            Just(Statistic::Mean),
            Just(Statistic::TrimmedMean),
            Just(Statistic::Min)
        ],
        prop::option::of(prop_oneof![Just(50.0), Just(150.0)]),
        prop_oneof![Just(0.0), Just(0.5)],
    )
        .prop_map(|(statistic, max_latency_ms, jitter_weight)| {
            let mut c = RankConfig::default();
            c.statistic = statistic;
            c.max_latency_ms = max_latency_ms;
            c.jitter_weight = jitter_weight;
            c
        })
}

fn previous() -> impl Strategy<Value = Option<LocationKey>> {
    prop::option::of((0..PLACES.len()).prop_map(|i| LocationKey::new(PLACES[i].0, PLACES[i].1)))
}

/// An input and a reordering of it.
fn input_and_shuffle() -> impl Strategy<Value = (Vec<BeaconMeasurement>, Vec<BeaconMeasurement>)> {
    prop::collection::vec(measurement(), 0..14)
        .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle()))
}

/// Strictly before in the plain order (score, city, country).
fn strictly_before(a: &LocationReport, b: &LocationReport) -> bool {
    a.score_ms
        .total_cmp(&b.score_ms)
        .then_with(|| a.city.cmp(&b.city))
        .then_with(|| a.country.cmp(&b.country))
        .is_lt()
}

proptest! {
    #[test]
    fn ranking_is_a_total_order(
        input in prop::collection::vec(measurement(), 0..14),
        config in config(),
        previous in previous(),
    ) {
        let r = rank(&input, &config, previous.as_ref());
        let all: Vec<&LocationReport> = r.locations.iter().chain(&r.excluded).collect();
        for (i, l) in all.iter().enumerate() {
            prop_assert_eq!(l.rank as usize, i + 1);
        }
        let rest = r.locations.get(1..).unwrap_or_default();
        for w in rest.windows(2) {
            prop_assert!(strictly_before(&w[0], &w[1]), "{:?} then {:?}", w[0].key(), w[1].key());
        }
        for w in r.excluded.windows(2) {
            prop_assert!(strictly_before(&w[0], &w[1]));
        }
        if let (Some(first), Some(second)) = (r.locations.first(), r.locations.get(1)) {
            if strictly_before(first, second) {
                prop_assert!(!first.sticky);
            } else if first.sticky {
                // Stickiness may put a worse location first, only inside the band.
                prop_assert_eq!(Some(first.key()), previous.clone());
                prop_assert!(within_band(first.score_ms, second.score_ms, config.tie_factor, config.tie_margin_ms));
            } else {
                // Or the best statistic, ahead of the best score once only significant
                // penalties count (its own full score may still be higher: an insignificant
                // jitter difference, say).
                prop_assert!(r.locations.iter().all(|l| l.statistic_ms >= first.statistic_ms));
                let (a, b) = (location_stats(&input, &first.key()), location_stats(&input, &second.key()));
                prop_assert!(ahead(&a, &b, &config), "{:?} first over {:?}", first.key(), second.key());
                prop_assert!(r.decided_by.is_some());
            }
        }
        prop_assert!(r.locations.iter().skip(1).all(|l| !l.sticky));
        if previous.is_none() {
            prop_assert!(r.locations.iter().all(|l| !l.sticky));
        }
        if let Some(max) = config.max_latency_ms {
            prop_assert!(r.locations.iter().all(|l| l.statistic_ms <= max));
            prop_assert!(r.excluded.iter().all(|l| l.statistic_ms > max));
        } else {
            prop_assert!(r.excluded.is_empty());
        }
    }

    #[test]
    fn ranking_does_not_depend_on_input_order(
        (input, shuffled) in input_and_shuffle(),
        config in config(),
        previous in previous(),
    ) {
        let a = rank(&input, &config, previous.as_ref());
        let b = rank(&shuffled, &config, previous.as_ref());
        prop_assert_eq!(a.payload("beacons"), b.payload("beacons"));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn unreachable_locations_get_no_number_anywhere(
        input in prop::collection::vec(measurement(), 0..14),
        config in config(),
        previous in previous(),
    ) {
        let r = rank(&input, &config, previous.as_ref());
        let every: BTreeSet<LocationKey> = input.iter().map(|m| m.location.clone()).collect();
        let reachable: BTreeSet<LocationKey> =
            input.iter().filter(|m| !m.rtts.is_empty()).map(|m| m.location.clone()).collect();
        let listed: BTreeSet<LocationKey> =
            r.locations.iter().chain(&r.excluded).map(LocationReport::key).collect();
        let unreachable: BTreeSet<LocationKey> = r.unreachable.iter().map(UnreachableLocation::key).collect();
        prop_assert_eq!(&listed, &reachable);
        prop_assert_eq!(unreachable, every.difference(&reachable).cloned().collect::<BTreeSet<_>>());
        prop_assert_eq!(listed.len(), r.locations.len() + r.excluded.len(), "each location once");

        let payload = r.payload("beacons");
        let entries = payload["beacons"].as_object().unwrap();
        let ranked_cities: BTreeSet<&str> = r.locations.iter().map(|l| l.city.as_str()).collect();
        let reachable_cities: BTreeSet<&str> = reachable.iter().map(|k| k.city.as_str()).collect();
        prop_assert_eq!(entries.len(), ranked_cities.len());
        for (city, value) in entries {
            prop_assert!(ranked_cities.contains(city.as_str()));
            prop_assert!(reachable_cities.contains(city.as_str()));
            // The better-ranked location of that name, its statistic rounded to 2 decimals.
            let first = r.locations.iter().find(|l| &l.city == city).unwrap();
            prop_assert_eq!(value.as_f64(), Some(round_ms(first.statistic_ms)));
        }
        for u in &r.unreachable {
            prop_assert!(!u.reasons.is_empty());
            prop_assert_eq!(u.beacons.len(), input.iter().filter(|m| m.location == u.key()).count());
        }
    }
}
