//! Plain data types that cross the engine's boundary.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use edgegap_core::{Protocol, ProtocolChoice};

/// Identifies one target within a run. Chosen by the caller; unique per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TargetId(pub u32);

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a target lives: an IP address, or a name still to resolve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Host {
    /// A literal address.
    Ip(IpAddr),
    /// A DNS name, resolved concurrently at the start of a run.
    Name(String),
}

impl Host {
    /// Parses a literal IP address, else keeps the text as a name.
    pub fn parse(text: &str) -> Host {
        let trimmed = text.trim().trim_start_matches('[').trim_end_matches(']');
        trimmed
            .parse::<IpAddr>()
            .map_or_else(|_| Host::Name(trimmed.to_owned()), Host::Ip)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// The ports a beacon offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Ports {
    /// UDP echo port, when the beacon has one.
    pub udp: Option<u16>,
    /// TCP port for handshake timing, when the beacon has one.
    pub tcp: Option<u16>,
}

impl Ports {
    /// The transport `choice` picks for a target with these ports, or `None` when the choice
    /// needs a port the target does not have.
    pub fn resolve(self, choice: ProtocolChoice) -> Option<Protocol> {
        choice.resolve(self.udp.is_some(), self.tcp.is_some())
    }
}

/// One thing to probe.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetSpec {
    /// Caller-chosen identifier, unique within a run.
    pub id: TargetId,
    /// Address or hostname.
    pub host: Host,
    /// The ports the beacon offers.
    pub ports: Ports,
    /// The transport to use.
    pub protocol: ProtocolChoice,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_resolves_against_the_ports_a_target_has() {
        let tcp_only = Ports {
            udp: None,
            tcp: Some(2),
        };
        assert_eq!(tcp_only.resolve(ProtocolChoice::Auto), Some(Protocol::Tcp));
        assert_eq!(tcp_only.resolve(ProtocolChoice::Udp), None);
        assert_eq!(
            Ports::default().resolve(ProtocolChoice::Auto),
            Some(Protocol::Icmp)
        );
    }

    #[test]
    fn host_parses_ip_literals_and_keeps_names() {
        assert_eq!(
            Host::parse("127.0.0.1"),
            Host::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(Host::parse("[::1]"), Host::Ip("::1".parse().unwrap()));
        assert_eq!(
            Host::parse("beacon.example"),
            Host::Name("beacon.example".into())
        );
    }
}
