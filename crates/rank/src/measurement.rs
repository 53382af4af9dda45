//! What goes into the ranking: per-beacon measurements, grouped by location.

use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use edgegap_ping::Protocol;
use serde::{Deserialize, Serialize};

use crate::Counters;

/// Identifies a location: its city as the beacon list spells it, and its country (to tell
/// same-named cities apart). Orders by city, then country.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LocationKey {
    /// The city, exactly as the beacon list spells it (the payload key).
    pub city: String,
    /// The country.
    pub country: String,
}

impl LocationKey {
    /// A key from a city and a country.
    pub fn new(city: impl Into<String>, country: impl Into<String>) -> Self {
        Self {
            city: city.into(),
            country: country.into(),
        }
    }
}

impl fmt::Display for LocationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.city, self.country)
    }
}

/// What one beacon measured (the facade fills this from the engine's per-target summary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeaconMeasurement {
    /// The location the beacon belongs to.
    pub location: LocationKey,
    /// The beacon's host (address or name) as the beacon list gave it.
    pub host: String,
    /// The port probed (`None` for ICMP or when not probed).
    pub port: Option<u16>,
    /// The transport that produced the samples (`None` when not probed).
    pub protocol: Option<Protocol>,
    /// Round-trip times of the answered probes, in send order (the order matters for jitter).
    pub rtts: Vec<Duration>,
    /// Probes sent.
    pub sent: u32,
    /// Probes answered in time (normally `rtts.len()`).
    pub received: u32,
    /// Probes given up on: no valid reply before their timeout (a late reply still counts here).
    pub lost: u32,
    /// Replies that arrived after their probe's timeout (not samples; informational).
    pub late: u32,
    /// Extra replies to an already answered probe (ignored; informational).
    pub duplicates: u32,
    /// Why the beacon produced no sample, when it did not.
    pub unreachable: Option<String>,
}

impl BeaconMeasurement {
    /// A measurement of `host` in `location` with no probe sent yet and no samples.
    pub fn new(location: LocationKey, host: impl Into<String>) -> Self {
        Self {
            location,
            host: host.into(),
            port: None,
            protocol: None,
            rtts: Vec::new(),
            sent: 0,
            received: 0,
            lost: 0,
            late: 0,
            duplicates: 0,
            unreachable: None,
        }
    }

    /// Whether the beacon produced at least one sample.
    pub fn is_reachable(&self) -> bool {
        !self.rtts.is_empty()
    }

    /// The probe counters.
    pub fn counters(&self) -> Counters {
        Counters {
            sent: self.sent,
            received: self.received,
            lost: self.lost,
            late: self.late,
            duplicates: self.duplicates,
        }
    }

    /// A total order over every field, used to list beacons independently of input order.
    pub(crate) fn canonical_cmp(&self, other: &Self) -> Ordering {
        fn key(m: &BeaconMeasurement) -> impl Ord + '_ {
            (
                &m.location,
                &m.host,
                m.port,
                m.protocol,
                &m.rtts,
                (m.sent, m.received, m.lost, m.late, m.duplicates),
                &m.unreachable,
            )
        }
        key(self).cmp(&key(other))
    }
}
