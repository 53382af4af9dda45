//! The running beacons as Edgegap beacon lists, in both shapes. A TCP port is listed only for
//! a beacon that opened one, that is only where its TCP timing follows its scenario
//! ([`BeaconSpec::serves_tcp`](crate::BeaconSpec::serves_tcp)).

use std::str::FromStr;

use serde_json::{Value, json};

use crate::simulation::RunningBeacon;

/// Which beacon-list shape to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListShape {
    /// Edgegap v1 API: `{"count", "locations": [{"host", "udp_port"?, "tcp_port"?, "location"}]}`.
    #[default]
    V1,
    /// Matchmaker API: `{"count", "beacons": [{"public_ip", "fqdn", "udp_port", "tcp_port", "location"}]}`.
    Matchmaker,
}

impl FromStr for ListShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1" => Ok(ListShape::V1),
            "matchmaker" => Ok(ListShape::Matchmaker),
            other => Err(format!(
                "unknown beacon list shape {other:?} (expected v1 or matchmaker)"
            )),
        }
    }
}

/// The beacon's TCP port, if it has one. The simulation opens a TCP socket only where the rule
/// allows; this checks it again, so no list can advertise a port the rule withholds.
fn tcp_port(beacon: &RunningBeacon) -> Option<u16> {
    debug_assert_eq!(beacon.tcp.is_some(), beacon.spec.serves_tcp(), "{beacon:?}");
    beacon
        .tcp
        .filter(|_| beacon.spec.serves_tcp())
        .map(|a| a.port())
}

fn location(beacon: &RunningBeacon) -> Value {
    json!({
        "city": beacon.spec.city,
        "country": beacon.spec.country,
        "continent": "",
        "administrative_division": "",
        "timezone": "",
        "latitude": 0.0,
        "longitude": 0.0,
    })
}

/// The v1 shape: ports without a socket are left out.
pub fn v1(beacons: &[RunningBeacon]) -> Value {
    let locations: Vec<Value> = beacons
        .iter()
        .map(|b| {
            let mut entry = json!({ "host": b.spec.address.to_string(), "location": location(b) });
            if let Some(udp) = b.udp {
                entry["udp_port"] = json!(udp.port());
            }
            if let Some(tcp) = tcp_port(b) {
                entry["tcp_port"] = json!(tcp);
            }
            entry
        })
        .collect();
    json!({ "count": locations.len(), "locations": locations })
}

/// The matchmaker shape: `fqdn` is null, ports without a socket are null.
pub fn matchmaker(beacons: &[RunningBeacon]) -> Value {
    let list: Vec<Value> = beacons
        .iter()
        .map(|b| {
            json!({
                "public_ip": b.spec.address.to_string(),
                "fqdn": null,
                "udp_port": b.udp.map(|a| a.port()),
                "tcp_port": tcp_port(b),
                "location": location(b),
            })
        })
        .collect();
    json!({ "count": list.len(), "beacons": list })
}
