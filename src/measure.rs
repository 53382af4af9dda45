//! The engine's per-target summaries become the ranking's per-beacon measurements.

use edgegap_api::Beacon;
use edgegap_ping::{Protocol, TargetSummary, Unreachable};
use edgegap_rank::{BeaconMeasurement, LocationKey};

/// What `beacon` measured, from its target's summary (the beacon's names and the summary's
/// samples move into it). `earlier` lists the transports tried before this one without a
/// sample (UDP before the TCP fallback), and why.
pub(crate) fn measurement(
    beacon: Beacon,
    summary: TargetSummary,
    earlier: Vec<(Protocol, Unreachable)>,
) -> BeaconMeasurement {
    let location = LocationKey::new(beacon.location.city, beacon.location.country);
    let mut m = BeaconMeasurement::new(location, beacon.host);
    m.port = match summary.protocol {
        Some(Protocol::Udp) => beacon.udp_port,
        Some(Protocol::Tcp) => beacon.tcp_port,
        Some(Protocol::Icmp) | None => None,
    };
    m.protocol = summary.protocol;
    m.counts = summary.counts;
    m.unreachable = summary.unreachable();
    m.rtts = summary.rtts;
    // Kept until the ranking is built: no slack beyond the samples.
    m.rtts.shrink_to_fit();
    m.earlier = earlier;
    m
}
