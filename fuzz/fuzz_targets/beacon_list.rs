//! `edgegap_api::parse_beacon_list`: any text, either published shape (`{"locations": [...]}`,
//! `{"beacons": [...]}`) or a bare array. Besides "never panics", checks what the parser
//! promises about a list it accepts, and that such a list written back in the v1 shape (as
//! `edgegap-probe beacons --json` writes it) reads back to the same beacons. The typed list
//! structs the HTTP clients decode into get the same text.
#![no_main]

use edgegap_api::{Beacon, BeaconList, MatchmakerBeaconList, parse_beacon_list};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(list) = serde_json::from_str::<BeaconList>(text) {
        let _ = list.into_beacons();
    }
    if let Ok(list) = serde_json::from_str::<MatchmakerBeaconList>(text) {
        let _ = list.into_beacons();
    }

    let Ok(beacons) = parse_beacon_list(text) else {
        return;
    };
    for beacon in &beacons {
        assert!(
            !beacon.host.is_empty(),
            "accepted a beacon without a host: {beacon:?}"
        );
        assert_eq!(
            beacon.host,
            beacon.host.trim(),
            "host not trimmed: {beacon:?}"
        );
        assert!(
            !beacon.location.city.trim().is_empty(),
            "accepted an empty city: {beacon:?}"
        );
        assert_ne!(beacon.udp_port, Some(0), "port 0 means none: {beacon:?}");
        assert_ne!(beacon.tcp_port, Some(0), "port 0 means none: {beacon:?}");
    }

    let written = serde_json::json!({ "count": beacons.len(), "locations": beacons }).to_string();
    let again = parse_beacon_list(&written).unwrap_or_else(|e| {
        panic!("a list the parser accepted, written back, fails: {e}\n{written}")
    });
    assert_eq!(again.len(), beacons.len());
    for (a, b) in beacons.iter().zip(&again) {
        assert!(
            same_beacon(a, b),
            "round trip changed a beacon:\n{a:?}\n{b:?}"
        );
    }
});

/// Equal, with coordinates compared to within float parsing precision (`serde_json`'s default
/// float parser is not always correctly rounded, so the last bit may differ).
fn same_beacon(a: &Beacon, b: &Beacon) -> bool {
    let close = |x: f64, y: f64| x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs());
    let mut b2 = b.clone();
    b2.location.latitude = a.location.latitude;
    b2.location.longitude = a.location.longitude;
    *a == b2
        && close(a.location.latitude, b.location.latitude)
        && close(a.location.longitude, b.location.longitude)
}
