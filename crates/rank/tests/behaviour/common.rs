//! Builders shared by the tests.

use std::time::Duration;

use edgegap_rank::{BeaconMeasurement, LocationKey, Protocol, Unreachable};

pub fn key(city: &str, country: &str) -> LocationKey {
    LocationKey::new(city, country)
}

/// A beacon of `city, country` that answered every probe with these RTTs (in ms), over UDP.
pub fn beacon(city: &str, country: &str, host: &str, rtts_ms: &[f64]) -> BeaconMeasurement {
    let mut m = BeaconMeasurement::new(key(city, country), host);
    m.port = Some(9000);
    m.protocol = Some(Protocol::Udp);
    m.rtts = rtts_ms
        .iter()
        .map(|&v| Duration::from_secs_f64(v / 1000.0))
        .collect();
    let n = u32::try_from(m.rtts.len()).unwrap();
    m.counts.sent = n;
    m.counts.received = n;
    m
}

/// A beacon of `city, country` that never answered.
pub fn dead(
    city: &str,
    country: &str,
    host: &str,
    reason: Option<Unreachable>,
) -> BeaconMeasurement {
    let mut m = BeaconMeasurement::new(key(city, country), host);
    m.port = Some(9000);
    m.protocol = Some(Protocol::Udp);
    m.counts.sent = 3;
    m.counts.lost = 3;
    m.unreachable = reason;
    m
}
