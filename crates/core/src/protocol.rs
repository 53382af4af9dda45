//! Transports: the one a figure came from, and the one a caller asks for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::names::{UnknownName, parse_name};

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
    /// Every transport, in the order of the documentation.
    pub const ALL: [Protocol; 3] = [Protocol::Udp, Protocol::Tcp, Protocol::Icmp];

    /// The lower-case name used in reports, on the command line and in JSON.
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

impl FromStr for Protocol {
    type Err = UnknownName;

    /// Parses `udp`, `tcp` or `icmp`, ignoring case and surrounding space.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_name(
            text,
            &Protocol::ALL,
            Protocol::as_str,
            "protocol",
            "udp, tcp, icmp",
        )
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
    /// Every choice, in the order of the documentation (and of the C ABI's numbers).
    pub const ALL: [ProtocolChoice; 4] = [
        ProtocolChoice::Auto,
        ProtocolChoice::Udp,
        ProtocolChoice::Tcp,
        ProtocolChoice::Icmp,
    ];

    /// The lower-case name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolChoice::Auto => "auto",
            ProtocolChoice::Udp => "udp",
            ProtocolChoice::Tcp => "tcp",
            ProtocolChoice::Icmp => "icmp",
        }
    }

    /// Picks the transport for a target that has a UDP port (`udp`) and/or a TCP port (`tcp`),
    /// or `None` when the choice needs a port the target does not have.
    pub fn resolve(self, udp: bool, tcp: bool) -> Option<Protocol> {
        match self {
            ProtocolChoice::Auto => Some(if udp {
                Protocol::Udp
            } else if tcp {
                Protocol::Tcp
            } else {
                Protocol::Icmp
            }),
            ProtocolChoice::Udp => udp.then_some(Protocol::Udp),
            ProtocolChoice::Tcp => tcp.then_some(Protocol::Tcp),
            ProtocolChoice::Icmp => Some(Protocol::Icmp),
        }
    }

    /// The transport this choice insists on (`None` for `Auto`).
    pub fn only(self) -> Option<Protocol> {
        match self {
            ProtocolChoice::Auto => None,
            ProtocolChoice::Udp => Some(Protocol::Udp),
            ProtocolChoice::Tcp => Some(Protocol::Tcp),
            ProtocolChoice::Icmp => Some(Protocol::Icmp),
        }
    }
}

impl From<Protocol> for ProtocolChoice {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Udp => ProtocolChoice::Udp,
            Protocol::Tcp => ProtocolChoice::Tcp,
            Protocol::Icmp => ProtocolChoice::Icmp,
        }
    }
}

impl fmt::Display for ProtocolChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProtocolChoice {
    type Err = UnknownName;

    /// Parses `auto`, `udp`, `tcp` or `icmp`, ignoring case and surrounding space.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_name(
            text,
            &ProtocolChoice::ALL,
            ProtocolChoice::as_str,
            "protocol",
            "auto, udp, tcp, icmp",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefers_udp_then_tcp_then_icmp() {
        assert_eq!(
            ProtocolChoice::Auto.resolve(true, true),
            Some(Protocol::Udp)
        );
        assert_eq!(
            ProtocolChoice::Auto.resolve(false, true),
            Some(Protocol::Tcp)
        );
        assert_eq!(
            ProtocolChoice::Auto.resolve(false, false),
            Some(Protocol::Icmp)
        );
        assert_eq!(ProtocolChoice::Udp.resolve(false, true), None);
        assert_eq!(
            ProtocolChoice::Tcp.resolve(false, true),
            Some(Protocol::Tcp)
        );
    }

    #[test]
    fn names_round_trip_in_text_and_json() {
        for p in ProtocolChoice::ALL {
            assert_eq!(p.as_str().parse::<ProtocolChoice>(), Ok(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
            if let Some(only) = p.only() {
                assert_eq!(ProtocolChoice::from(only), p);
                assert_eq!(only.as_str().parse::<Protocol>(), Ok(only));
            }
        }
        assert_eq!(" UDP ".parse::<Protocol>(), Ok(Protocol::Udp));
        let err = "pigeon".parse::<ProtocolChoice>().unwrap_err();
        assert!(err.to_string().contains("pigeon"), "{err}");
        assert!(
            "auto".parse::<Protocol>().is_err(),
            "auto is a choice, not a transport"
        );
    }
}
