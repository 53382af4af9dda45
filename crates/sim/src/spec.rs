//! [`BeaconSpec`]: where one simulated beacon listens and how it misbehaves.

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// One simulated beacon: its location, its loopback address and ports, and its behaviour.
///
/// In a scenario file only `city` is required; every other field has the default shown on it.
// Each flag is an independent fault a scenario file switches on by name: bools are the format.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconSpec {
    /// City of the location (the key a matchmaker uses). Must not be empty.
    pub city: String,
    /// Country of the location. Default `""`.
    #[serde(default)]
    pub country: String,
    /// Loopback address to bind (127.0.0.0/8 or ::1). Default `127.0.0.1`.
    #[serde(default = "default_address")]
    pub address: IpAddr,
    /// UDP port; 0 (default) picks a free one.
    #[serde(default)]
    pub udp_port: u16,
    /// TCP port; 0 (default) picks a free one.
    #[serde(default)]
    pub tcp_port: u16,
    /// Whether the beacon has a UDP echo port. Default `true`.
    #[serde(default = "yes")]
    pub udp: bool,
    /// Whether the beacon has a TCP port. Default `true`.
    #[serde(default = "yes")]
    pub tcp: bool,
    /// Delay added before each UDP reply, in milliseconds. Default 0.
    #[serde(default)]
    pub delay_ms: f64,
    /// Uniform random extra delay in `[-jitter_ms, +jitter_ms]` (total clamped at 0). Default 0.
    #[serde(default)]
    pub jitter_ms: f64,
    /// Probability in `[0, 1]` that a datagram gets no reply. Default 0.
    #[serde(default)]
    pub loss: f64,
    /// Never answer UDP (the datagram is received and counted, nothing is sent). Default `false`.
    #[serde(default)]
    pub silent: bool,
    /// Drop every TCP connection attempt (a listener whose accept queue is kept full, so the
    /// kernel ignores SYNs and a client's connect times out). Default `false`.
    #[serde(default)]
    pub tcp_silent: bool,
    /// Ports closed: UDP gets ICMP port-unreachable, TCP connect gets RST. Default `false`.
    #[serde(default)]
    pub down: bool,
    /// Extra copies of each UDP reply. Default 0.
    #[serde(default)]
    pub duplicates: u32,
    /// Send UDP replies from another socket (another port) than the one probed. Default `false`.
    #[serde(default)]
    pub wrong_source_port: bool,
    /// Flip every byte (XOR 0xFF) of the UDP reply payload. Default `false`.
    #[serde(default)]
    pub alter_bytes: bool,
    /// Answer every datagram with these bytes instead of echoing it. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_with: Option<String>,
}

fn default_address() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn yes() -> bool {
    true
}

impl Default for BeaconSpec {
    fn default() -> Self {
        BeaconSpec {
            city: String::new(),
            country: String::new(),
            address: default_address(),
            udp_port: 0,
            tcp_port: 0,
            udp: true,
            tcp: true,
            delay_ms: 0.0,
            jitter_ms: 0.0,
            loss: 0.0,
            silent: false,
            tcp_silent: false,
            down: false,
            duplicates: 0,
            wrong_source_port: false,
            alter_bytes: false,
            reply_with: None,
        }
    }
}

impl BeaconSpec {
    /// A well-behaved beacon in `city` on `address` that answers UDP after `delay_ms`.
    pub fn new(city: &str, address: IpAddr, delay_ms: f64) -> BeaconSpec {
        BeaconSpec {
            city: city.to_owned(),
            address,
            delay_ms,
            ..BeaconSpec::default()
        }
    }

    /// Checks the address is loopback and every number is in range. `index` is the beacon's
    /// position in its scenario, used in the error.
    pub fn validate(&self, index: usize) -> Result<(), SimError> {
        let invalid = |field: &'static str, reason: String| SimError::InvalidField {
            index,
            city: self.city.clone(),
            field,
            reason,
        };
        if self.city.trim().is_empty() {
            return Err(invalid("city", "must not be empty".to_owned()));
        }
        if !self.address.is_loopback() {
            return Err(SimError::NotLoopback {
                index,
                city: self.city.clone(),
                address: self.address,
            });
        }
        for (field, value) in [("delay_ms", self.delay_ms), ("jitter_ms", self.jitter_ms)] {
            // One hour is far beyond any probe timeout; above it is a typo.
            if !(value.is_finite() && (0.0..=3_600_000.0).contains(&value)) {
                return Err(invalid(
                    field,
                    format!("{value} is not a number of milliseconds in 0..=3600000"),
                ));
            }
        }
        if !(self.loss.is_finite() && (0.0..=1.0).contains(&self.loss)) {
            return Err(invalid(
                "loss",
                format!("{} is not a probability in 0..=1", self.loss),
            ));
        }
        if self.duplicates > 1000 {
            return Err(invalid(
                "duplicates",
                format!("{} extra copies is more than 1000", self.duplicates),
            ));
        }
        Ok(())
    }
}
