//! Beacons become engine targets: one target per beacon, identified by its index in the list,
//! the same id in every engine run of the job (the TCP fallback included).

use edgegap_api::Beacon;
use edgegap_ping::{Host, Ports, ProtocolChoice, TargetId, TargetSpec};
use edgegap_rank::LocationKey;

/// The target for beacon number `index` (its id is `index`).
pub(crate) fn target_for(index: usize, beacon: &Beacon, protocol: ProtocolChoice) -> TargetSpec {
    TargetSpec {
        id: target_id(index),
        host: Host::parse(&beacon.host),
        ports: Ports {
            udp: beacon.udp_port,
            tcp: beacon.tcp_port,
        },
        protocol,
    }
}

/// The engine id of beacon number `index`.
pub(crate) fn target_id(index: usize) -> TargetId {
    TargetId(u32::try_from(index).unwrap_or(u32::MAX))
}

/// The beacon index of an engine id.
pub(crate) fn index_of(id: TargetId) -> usize {
    id.0 as usize
}

/// The location a beacon belongs to.
pub(crate) fn location_key(beacon: &Beacon) -> LocationKey {
    LocationKey {
        city: beacon.location.city.clone(),
        country: beacon.location.country.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgegap_api::LocationData;

    #[test]
    fn a_beacon_keeps_its_ports_and_index() {
        let beacon = Beacon {
            host: "127.0.0.9".into(),
            fqdn: None,
            udp_port: Some(7),
            tcp_port: None,
            location: LocationData {
                city: "Paris".into(),
                country: "France".into(),
                ..LocationData::default()
            },
        };
        let target = target_for(3, &beacon, ProtocolChoice::Auto);
        assert_eq!(index_of(target.id), 3);
        assert_eq!(target.ports.udp, Some(7));
        assert_eq!(target.host, Host::Ip("127.0.0.9".parse().unwrap()));
        assert_eq!(location_key(&beacon).country, "France");
    }
}
