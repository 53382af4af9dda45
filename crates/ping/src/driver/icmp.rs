//! ICMP echo through surge-ping: one client per family, datagram sockets where the OS
//! allows them, raw sockets otherwise. Sequence numbers come from the core's table,
//! so two probes never share one while either may be answered.
//!
//! Not on Windows: it has no unprivileged ICMP socket (only raw sockets, for
//! administrators, or the IcmpSendEcho API, which is not implemented here), so every ICMP
//! target ends at once, unreachable with a message that says so. The `auto` protocol never
//! picks ICMP for a beacon that has a UDP or TCP port.

#[cfg(not(windows))]
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use surge_ping::{Client, PingIdentifier, PingSequence, SurgeError};
#[cfg(not(windows))]
use surge_ping::{Config, ICMP};
use tokio::sync::mpsc;
use tracing::debug;

use super::Inbound;
use crate::machine::{Family, ProbeKey};
use edgegap_core::Unreachable;

/// What an ICMP target on Windows ends with.
#[cfg(windows)]
pub(crate) const WINDOWS_UNSUPPORTED: &str = "ICMP echo is not implemented on Windows by this \
     library; use the udp or tcp protocol (auto picks them whenever the beacon has their port)";

/// Opens the family's ICMP client: unprivileged datagram socket first, raw second.
#[cfg(windows)]
pub(crate) fn client(family: Family) -> Result<Client, Unreachable> {
    debug!(?family, "no ICMP on Windows");
    Err(Unreachable::SendFailed(WINDOWS_UNSUPPORTED.to_owned()))
}

/// Opens the family's ICMP client: unprivileged datagram socket first, raw second.
#[cfg(not(windows))]
pub(crate) fn client(family: Family) -> Result<Client, Unreachable> {
    let kind = match family {
        Family::V4 => ICMP::V4,
        Family::V6 => ICMP::V6,
    };
    let config = Config::builder()
        .kind(kind)
        .sock_type_hint(socket2::Type::DGRAM)
        .build();
    Client::new(&config).map_err(|e| {
        debug!(error = %e, ?family, "no ICMP socket");
        classify(&e)
    })
}

/// What a failure to open an ICMP socket means for the targets that need it.
#[cfg(not(windows))]
fn classify(e: &io::Error) -> Unreachable {
    if e.kind() == io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(libc::EPERM) {
        // The detail is the operating system's own error, from its number (surge-ping wraps
        // it in a message of its own, which we never parse).
        let detail = e.raw_os_error().map_or_else(
            || "permission denied".to_owned(),
            |code| io::Error::from_raw_os_error(code).to_string(),
        );
        Unreachable::PermissionDenied(detail)
    } else {
        Unreachable::SendFailed(format!("cannot open an ICMP socket: {e}"))
    }
}

/// Sends one echo request and reports the reply's round-trip time (measured by
/// surge-ping from the send to the receive), or the send error. Reports nothing
/// when `limit` passes first: the core times the probe out itself.
pub(crate) async fn probe(
    client: Client,
    key: ProbeKey,
    dest: IpAddr,
    ident: u16,
    payload: Vec<u8>,
    limit: Duration,
    inbound: mpsc::UnboundedSender<Inbound>,
) {
    let mut pinger = client.pinger(dest, PingIdentifier(ident)).await;
    pinger.timeout(limit);
    let outcome = match pinger.ping(PingSequence(key.seq.0 as u16), &payload).await {
        Ok((_packet, rtt)) => Inbound::Reply { key, rtt },
        Err(SurgeError::Timeout { .. }) => return,
        Err(e) => Inbound::Failed {
            key,
            error: format!("ICMP echo to {dest}: {e}"),
        },
    };
    let _ = inbound.send(outcome);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(windows)]
    #[test]
    fn windows_refuses_icmp_with_a_message_saying_so() {
        for family in [Family::V4, Family::V6] {
            match client(family) {
                Err(Unreachable::SendFailed(why)) => assert!(why.contains("Windows")),
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("an ICMP client on Windows"),
            }
        }
    }

    #[cfg(not(windows))]
    #[test]
    fn permission_errors_say_how_to_enable_icmp() {
        let denied = io::Error::new(
            io::ErrorKind::PermissionDenied,
            "Permission denied creating ICMP socket. On Linux, you may need to:\n1. ...\nOriginal error: Operation not permitted (os error 1)",
        );
        let why = classify(&denied);
        assert_eq!(
            why,
            Unreachable::PermissionDenied("permission denied".into()),
            "the wrapper's wording is never parsed"
        );
        assert_eq!(
            classify(&io::Error::from_raw_os_error(libc::EPERM)).code(),
            edgegap_core::UnreachableCode::PermissionDenied
        );
        assert!(why.to_string().contains("ping_group_range"));
        assert!(matches!(
            classify(&io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
            Unreachable::SendFailed(_)
        ));
    }
}
