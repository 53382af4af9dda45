//! Plain data types that cross the engine's boundary.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Identifies one target within a run. Chosen by the caller; unique per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TargetId(pub u32);

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The transport that produced a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// A UDP datagram echoed by the beacon.
    Udp,
    /// The time of a TCP handshake (connect).
    Tcp,
    /// An ICMP echo request and reply.
    Icmp,
}

impl Protocol {
    /// The lower-case name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            Protocol::Icmp => "icmp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transport a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolChoice {
    /// UDP when the target has a UDP port, else TCP when it has a TCP port, else ICMP.
    #[default]
    Auto,
    /// Always UDP (the target needs a UDP port).
    Udp,
    /// Always TCP (the target needs a TCP port).
    Tcp,
    /// Always ICMP echo.
    Icmp,
}

impl ProtocolChoice {
    /// Picks the transport for a target with these ports, or `None` when the choice
    /// needs a port the target does not have.
    pub fn resolve(self, ports: Ports) -> Option<Protocol> {
        match self {
            ProtocolChoice::Auto => Some(if ports.udp.is_some() {
                Protocol::Udp
            } else if ports.tcp.is_some() {
                Protocol::Tcp
            } else {
                Protocol::Icmp
            }),
            ProtocolChoice::Udp => ports.udp.map(|_| Protocol::Udp),
            ProtocolChoice::Tcp => ports.tcp.map(|_| Protocol::Tcp),
            ProtocolChoice::Icmp => Some(Protocol::Icmp),
        }
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
    fn auto_prefers_udp_then_tcp_then_icmp() {
        let both = Ports {
            udp: Some(1),
            tcp: Some(2),
        };
        let tcp_only = Ports {
            udp: None,
            tcp: Some(2),
        };
        assert_eq!(ProtocolChoice::Auto.resolve(both), Some(Protocol::Udp));
        assert_eq!(ProtocolChoice::Auto.resolve(tcp_only), Some(Protocol::Tcp));
        assert_eq!(
            ProtocolChoice::Auto.resolve(Ports::default()),
            Some(Protocol::Icmp)
        );
        assert_eq!(ProtocolChoice::Udp.resolve(tcp_only), None);
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
