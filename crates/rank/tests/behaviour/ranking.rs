//! Ranking and payload on hand-made inputs.

use edgegap_rank::{
    LocationReport, Protocol, RankConfig, Statistic, Unreachable, UnreachableCode, degraded, rank,
    within_band,
};
use serde_json::json;

use crate::common::{beacon, dead, key};

fn cities(locations: &[LocationReport]) -> Vec<&str> {
    locations.iter().map(|l| l.city.as_str()).collect()
}

#[test]
fn orders_by_score_and_numbers_from_one() {
    let input = [
        beacon("Tokyo", "Japan", "t", &[150.0, 151.0, 150.0]),
        beacon("Chicago", "United States", "c", &[12.0, 13.0, 12.0]),
        beacon("Paris", "France", "p", &[90.0, 90.0, 91.0]),
    ];
    let r = rank(&input, &RankConfig::default(), None);
    assert_eq!(cities(&r.locations), ["Chicago", "Paris", "Tokyo"]);
    assert_eq!(
        r.locations.iter().map(|l| l.rank).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(r.best().unwrap().city, "Chicago");
    // Chicago: median 12, jitter (1 + 1) / 2 = 1, no loss → 12.5.
    assert!((r.locations[0].score_ms - 12.5).abs() < 1e-9);
    assert!((r.locations[0].statistic_ms - 12.0).abs() < 1e-9);
    assert!(r.unreachable.is_empty() && r.excluded.is_empty());
}

#[test]
fn equal_scores_are_ordered_by_city_then_country() {
    let input = [
        beacon("Zurich", "Switzerland", "z", &[20.0]),
        beacon("Athens", "United States", "a2", &[20.0]),
        beacon("Athens", "Greece", "a1", &[20.0]),
    ];
    let r = rank(&input, &RankConfig::default(), None);
    let keys: Vec<_> = r.locations.iter().map(LocationReport::key).collect();
    assert_eq!(
        keys,
        [
            key("Athens", "Greece"),
            key("Athens", "United States"),
            key("Zurich", "Switzerland")
        ]
    );
}

#[test]
fn beacons_of_a_location_are_merged_and_one_live_beacon_makes_it_reachable() {
    let input = [
        beacon("Paris", "France", "p1", &[10.0, 20.0]),
        dead("Paris", "France", "p2", Some(Unreachable::NoReply)),
        beacon("Paris", "France", "p3", &[30.0]),
    ];
    let r = rank(&input, &RankConfig::default(), None);
    assert!(r.unreachable.is_empty());
    let paris = &r.locations[0];
    assert_eq!(paris.beacons.len(), 3);
    assert_eq!(
        (paris.counts.sent, paris.counts.received, paris.counts.lost),
        (6, 3, 3)
    );
    assert!((paris.loss.unwrap() - 0.5).abs() < 1e-12);
    assert!((paris.rtt_ms.p50.unwrap() - 20.0).abs() < 1e-9);
    assert!((paris.rtt_ms.jitter.unwrap() - 10.0).abs() < 1e-9);
    // Score: 20 + 100 * 3 / (6 + 20 prior probes) + 0.5 * 10; the statistic stays 20.
    assert!((paris.score_ms - (25.0 + 300.0 / 26.0)).abs() < 1e-9);
    let dead_beacon = paris.beacons.iter().find(|b| b.host == "p2").unwrap();
    assert_eq!(
        dead_beacon.unreachable,
        Some(Unreachable::NoReply.to_string())
    );
    assert_eq!(dead_beacon.code, Some(UnreachableCode::NoReply));
    assert_eq!(dead_beacon.rtt_ms.p50, None);
    assert_eq!(dead_beacon.rtt_ms.min, None);
}

#[test]
fn unreachable_locations_are_apart_with_reasons_and_no_number() {
    let input = [
        beacon("Chicago", "United States", "c", &[12.0]),
        dead(
            "Lima",
            "Peru",
            "l1",
            Some(Unreachable::ResolveFailed("host does not resolve".into())),
        ),
        dead("Lima", "Peru", "l2", None),
        dead(
            "Lima",
            "Peru",
            "l3",
            Some(Unreachable::ResolveFailed("host does not resolve".into())),
        ),
    ];
    let r = rank(&input, &RankConfig::default(), None);
    assert_eq!(cities(&r.locations), ["Chicago"]);
    assert_eq!(r.unreachable.len(), 1);
    let lima = &r.unreachable[0];
    assert_eq!(lima.key(), key("Lima", "Peru"));
    assert_eq!(
        lima.reasons,
        [
            Unreachable::ResolveFailed("host does not resolve".into()).to_string(),
            Unreachable::NoReply.to_string()
        ]
    );
    assert_eq!(
        lima.codes,
        [UnreachableCode::NoReply, UnreachableCode::ResolveFailed]
    );
    assert_eq!(lima.beacons.len(), 3);
    assert_eq!(r.payload("beacons"), json!({"beacons": {"Chicago": 12.0}}));
    let v = serde_json::to_value(lima).unwrap();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "beacons",
            "carried_over",
            "city",
            "codes",
            "country",
            "reasons"
        ]
    );
}

#[test]
fn a_location_with_nothing_sent_is_unreachable() {
    let mut m = dead("Lima", "Peru", "l", Some(Unreachable::Stopped));
    m.counts.sent = 0;
    m.counts.lost = 0;
    let r = rank(&[m], &RankConfig::default(), None);
    assert!(r.locations.is_empty() && r.best().is_none());
    assert_eq!(r.unreachable[0].reasons, [Unreachable::Stopped.to_string()]);
    assert_eq!(r.unreachable[0].codes, [UnreachableCode::Stopped]);
    assert_eq!(r.payload("beacons"), json!({"beacons": {}}));
}

#[test]
fn payload_carries_the_statistic_rounded_not_the_score() {
    let mut lossy = beacon("Chicago", "United States", "c", &[12.344, 12.344, 12.346]);
    lossy.counts.sent = 12;
    lossy.counts.lost = 9;
    let input = [lossy, beacon("Dallas", "United States", "d", &[30.126; 10])];
    let raw_loss = {
        let mut c = RankConfig::default();
        c.loss_prior_probes = 0.0;
        c
    };
    let r = rank(&input, &raw_loss, None);
    // Chicago's score is 12.344 + 75 + 0.5 * 0.001 > Dallas's 30.126, and its loss (9 of 12
    // against none of 10) is significant, so it counts.
    assert_eq!(cities(&r.locations), ["Dallas", "Chicago"]);
    assert_eq!(r.decided_by, Some(edgegap_rank::DecidingTerm::Loss));
    assert_eq!(
        r.payload("latencies"),
        json!({"latencies": {"Chicago": 12.34, "Dallas": 30.13}})
    );
}

#[test]
fn a_loss_difference_that_may_be_chance_does_not_decide() {
    // One lost probe of four is not significantly worse than none of one: the median decides.
    let mut unlucky = beacon("Chicago", "United States", "c", &[12.344, 12.344, 12.346]);
    unlucky.counts.sent = 4;
    unlucky.counts.lost = 1;
    let input = [unlucky, beacon("Dallas", "United States", "d", &[12.9])];
    let r = rank(&input, &RankConfig::default(), None);
    assert!(
        r.locations[0].score_ms > r.locations[1].score_ms,
        "the plain score would flip it"
    );
    assert_eq!(cities(&r.locations), ["Chicago", "Dallas"]);
    assert_eq!(r.decided_by, Some(edgegap_rank::DecidingTerm::Statistic));
}

#[test]
fn same_city_in_two_countries_keeps_the_better_ranked_in_the_payload() {
    let input = [
        beacon("Paris", "United States", "pt", &[80.0]),
        beacon("Paris", "France", "pf", &[20.0]),
    ];
    let r = rank(&input, &RankConfig::default(), None);
    assert_eq!(r.locations.len(), 2);
    assert_eq!(r.payload("beacons"), json!({"beacons": {"Paris": 20.0}}));
    let swapped = [
        beacon("Paris", "United States", "pt", &[10.0]),
        beacon("Paris", "France", "pf", &[20.0]),
    ];
    let r = rank(&swapped, &RankConfig::default(), None);
    assert_eq!(r.payload("beacons"), json!({"beacons": {"Paris": 10.0}}));
}

#[test]
fn payload_keys_are_spelled_as_the_beacon_list_spells_them() {
    let input = [
        beacon("São Paulo", "Brazil", "s", &[40.0]),
        beacon("new york", "US", "n", &[5.0]),
    ];
    let r = rank(&input, &RankConfig::default(), None);
    assert_eq!(
        r.payload("beacons"),
        json!({"beacons": {"São Paulo": 40.0, "new york": 5.0}})
    );
}

#[test]
fn max_latency_excludes_by_statistic_and_keeps_them_out_of_the_payload() {
    let config = {
        let mut c = RankConfig::default();
        c.max_latency_ms = Some(100.0);
        c
    };
    let input = [
        beacon("Tokyo", "Japan", "t", &[150.0]),
        beacon("Chicago", "United States", "c", &[12.0]),
        beacon("Sydney", "Australia", "s", &[220.0]),
        // Exactly at the limit stays in.
        beacon("Lima", "Peru", "l", &[100.0]),
    ];
    let r = rank(&input, &config, None);
    assert_eq!(cities(&r.locations), ["Chicago", "Lima"]);
    assert_eq!(cities(&r.excluded), ["Tokyo", "Sydney"]);
    assert_eq!(
        r.excluded.iter().map(|l| l.rank).collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(
        r.payload("beacons"),
        json!({"beacons": {"Chicago": 12.0, "Lima": 100.0}})
    );
}

#[test]
fn stickiness_keeps_the_previous_choice_first_inside_the_band_only() {
    let config = RankConfig::default();
    let input = [
        beacon("Chicago", "United States", "c", &[20.0]),
        beacon("Dallas", "United States", "d", &[21.0]),
        beacon("Denver", "United States", "v", &[30.0]),
    ];
    // Without a previous choice: plain order.
    let plain = rank(&input, &config, None);
    assert_eq!(cities(&plain.locations), ["Chicago", "Dallas", "Denver"]);
    assert!(!plain.locations[0].sticky);
    // Dallas (21 <= 20 * 1.2 and 21 - 20 <= 10) stays first.
    let sticky = rank(&input, &config, Some(&key("Dallas", "United States")));
    assert_eq!(cities(&sticky.locations), ["Dallas", "Chicago", "Denver"]);
    assert_eq!(
        sticky.locations.iter().map(|l| l.rank).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(sticky.locations[0].sticky);
    assert_eq!(sticky.best().unwrap().city, "Dallas");
    // Denver (30 > 24) is outside the band: the plain order stands.
    let out = rank(&input, &config, Some(&key("Denver", "United States")));
    assert_eq!(cities(&out.locations), ["Chicago", "Dallas", "Denver"]);
    // A previous choice that is already first is simply first.
    let first = rank(&input, &config, Some(&key("Chicago", "United States")));
    assert_eq!(cities(&first.locations), ["Chicago", "Dallas", "Denver"]);
    assert!(!first.locations[0].sticky);
}

#[test]
fn stickiness_needs_both_band_bounds() {
    let config = RankConfig::default();
    // 215 <= 200 * 1.2 but 215 - 200 > 10.
    let input = [
        beacon("Tokyo", "Japan", "t", &[200.0]),
        beacon("Seoul", "South Korea", "s", &[215.0]),
    ];
    let r = rank(&input, &config, Some(&key("Seoul", "South Korea")));
    assert_eq!(cities(&r.locations), ["Tokyo", "Seoul"]);
    assert!(!within_band(
        215.0,
        200.0,
        config.tie_factor,
        config.tie_margin_ms
    ));
}

#[test]
fn an_unreachable_or_excluded_previous_choice_is_not_sticky() {
    let config = {
        let mut c = RankConfig::default();
        c.max_latency_ms = Some(20.5);
        c
    };
    let input = [
        beacon("Chicago", "United States", "c", &[20.0]),
        beacon("Dallas", "United States", "d", &[21.0]),
        dead("Denver", "United States", "v", None),
    ];
    for previous in [
        key("Dallas", "United States"),
        key("Denver", "United States"),
    ] {
        let r = rank(&input, &config, Some(&previous));
        assert_eq!(cities(&r.locations), ["Chicago"]);
        assert!(!r.locations[0].sticky);
    }
}

#[test]
fn the_location_protocol_is_the_beacons_protocol_or_mixed() {
    let mut tcp = beacon("Paris", "France", "p2", &[11.0]);
    tcp.protocol = Some(Protocol::Tcp);
    let mut dead_icmp = dead("Rome", "Italy", "r2", None);
    dead_icmp.protocol = Some(Protocol::Icmp);
    let input = [
        beacon("Paris", "France", "p1", &[10.0]),
        tcp,
        beacon("Rome", "Italy", "r1", &[30.0]),
        dead_icmp,
    ];
    let r = rank(&input, &RankConfig::default(), None);
    let paris = r.locations.iter().find(|l| l.city == "Paris").unwrap();
    let rome = r.locations.iter().find(|l| l.city == "Rome").unwrap();
    assert_eq!(paris.protocol, None, "mixed transports: no single one");
    assert_eq!(paris.protocols, [Protocol::Udp, Protocol::Tcp]);
    // A beacon without samples does not make the figures mixed.
    assert_eq!(rome.protocol, Some(Protocol::Udp));
    assert_eq!(rome.protocols, [Protocol::Udp]);
    let v = serde_json::to_value(paris).unwrap();
    assert_eq!(v["protocol"], serde_json::Value::Null);
    assert_eq!(v["protocols"], json!(["udp", "tcp"]));
    assert_eq!(v["beacons"][0]["protocol"], "udp");
}

#[test]
fn the_statistic_is_configurable() {
    let input = [
        beacon(
            "Chicago",
            "United States",
            "c",
            &[10.0, 10.0, 10.0, 200.0, 200.0],
        ),
        beacon(
            "Dallas",
            "United States",
            "d",
            &[15.0, 15.0, 15.0, 15.0, 15.0],
        ),
    ];
    let plain = |statistic| {
        let mut c = RankConfig::default();
        c.statistic = statistic;
        c.jitter_weight = 0.0;
        c
    };
    let best = |s| rank(&input, &plain(s), None).best().unwrap().city.clone();
    assert_eq!(best(Statistic::Median), "Chicago");
    assert_eq!(best(Statistic::Min), "Chicago");
    assert_eq!(best(Statistic::Mean), "Dallas");
    // Trimmed: (10 + 10 + 200) / 3 = 73.3
    assert_eq!(best(Statistic::TrimmedMean), "Dallas");
}

#[test]
fn degraded_is_outside_the_band_of_the_saved_score() {
    let r = rank(
        &[beacon("Chicago", "United States", "c", &[20.0])],
        &RankConfig::default(),
        None,
    );
    let saved = r.best().unwrap();
    assert!(!degraded(saved, 20.0, 1.2, 90.0));
    assert!(!degraded(saved, 15.0, 1.2, 90.0), "better is not degraded");
    assert!(!degraded(saved, 24.0, 1.2, 90.0));
    assert!(degraded(saved, 24.1, 1.2, 90.0));
    assert!(
        degraded(saved, 25.0, 2.0, 4.0),
        "the absolute margin alone trips it"
    );
    assert!(degraded(saved, f64::NAN, 1.2, 90.0));
}

#[test]
fn a_single_beacon_location_has_the_figures_of_a_merged_one() {
    let samples = [10.0, 12.0, 11.0, 30.0, 13.0, 12.5];
    let alone = rank(
        &[beacon("Rome", "Italy", "r", &samples)],
        &RankConfig::default(),
        None,
    );
    let mut silent = dead("Rome", "Italy", "r2", None);
    (silent.counts.sent, silent.counts.lost) = (0, 0);
    let merged = rank(
        &[beacon("Rome", "Italy", "r", &samples), silent],
        &RankConfig::default(),
        None,
    );
    let (a, m) = (alone.best().unwrap(), merged.best().unwrap());
    assert_eq!(a.rtt_ms, m.rtt_ms);
    assert_eq!(a.score_ms.to_bits(), m.score_ms.to_bits());
    assert_eq!(a.rtt_ms, a.beacons[0].rtt_ms);
}
