//! The engine's per-target summaries become the ranking's per-beacon measurements.

use edgegap_api::Beacon;
use edgegap_ping::{Protocol, TargetStatus, TargetSummary};
use edgegap_rank::BeaconMeasurement;

use crate::targets::location_key;

/// What beacon `beacon` measured, from its target's summary (and, when UDP failed and TCP was
/// tried too without success, that TCP summary, so the reason names both).
pub(crate) fn measurement(
    beacon: &Beacon,
    summary: &TargetSummary,
    tcp_fallback: Option<&TargetSummary>,
) -> BeaconMeasurement {
    let port = match summary.protocol {
        Some(Protocol::Udp) => beacon.udp_port,
        Some(Protocol::Tcp) => beacon.tcp_port,
        Some(Protocol::Icmp) | None => None,
    };
    let unreachable = summary.rtts.is_empty().then(|| match tcp_fallback {
        Some(tcp) => {
            let (udp, tcp) = (
                no_sample_reason(&summary.status),
                no_sample_reason(&tcp.status),
            );
            if udp == tcp {
                format!("{udp} (tried udp, then tcp)")
            } else {
                format!("udp: {udp}; tcp: {tcp}")
            }
        }
        None => no_sample_reason(&summary.status),
    });
    BeaconMeasurement {
        location: location_key(beacon),
        host: beacon.host.clone(),
        port,
        protocol: summary.protocol,
        rtts: summary.rtts.clone(),
        sent: summary.sent,
        received: summary.answered,
        lost: summary.timed_out,
        late: summary.late,
        duplicates: summary.duplicates,
        unreachable,
    }
}

fn no_sample_reason(status: &TargetStatus) -> String {
    match status {
        TargetStatus::Unreachable(why) => why.to_string(),
        TargetStatus::Cancelled => "the run was cancelled before any reply".to_owned(),
        TargetStatus::Stopped => "stopped before any reply".to_owned(),
        TargetStatus::Complete => "no reply".to_owned(),
    }
}
