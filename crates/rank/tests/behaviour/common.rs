//! Builders shared by the tests.

use std::time::Duration;

use edgegap_rank::{BeaconMeasurement, LocationKey, Protocol};

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
    m.sent = n;
    m.received = n;
    m
}

/// A beacon of `city, country` that never answered.
pub fn dead(city: &str, country: &str, host: &str, reason: Option<&str>) -> BeaconMeasurement {
    let mut m = BeaconMeasurement::new(key(city, country), host);
    m.port = Some(9000);
    m.protocol = Some(Protocol::Udp);
    m.sent = 3;
    m.lost = 3;
    m.unreachable = reason.map(str::to_owned);
    m
}
