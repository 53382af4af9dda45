//! The engine's per-target summaries become the ranking's per-beacon measurements.

use edgegap_api::Beacon;
use edgegap_ping::{Protocol, TargetSummary, Unreachable};
use edgegap_rank::BeaconMeasurement;

use crate::targets::location_key;

/// What `beacon` measured, from its target's summary. `earlier` lists the transports tried
/// before this one without a sample (UDP before the TCP fallback), and why.
pub(crate) fn measurement(
    beacon: &Beacon,
    summary: TargetSummary,
    earlier: Vec<(Protocol, Unreachable)>,
) -> BeaconMeasurement {
    let mut m = BeaconMeasurement::new(location_key(beacon), beacon.host.clone());
    m.port = match summary.protocol {
        Some(Protocol::Udp) => beacon.udp_port,
        Some(Protocol::Tcp) => beacon.tcp_port,
        Some(Protocol::Icmp) | None => None,
    };
    m.protocol = summary.protocol;
    m.counts = summary.counts;
    m.unreachable = summary.unreachable();
    m.rtts = summary.rtts;
    m.earlier = earlier;
    m
}
