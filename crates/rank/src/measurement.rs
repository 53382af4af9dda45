//! What goes into the ranking: per-beacon measurements, grouped by location.

use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use edgegap_core::{ProbeCounts, Protocol, Stats, Unreachable};
use serde::{Deserialize, Serialize};

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
#[non_exhaustive]
pub struct BeaconMeasurement {
    /// The location the beacon belongs to.
    pub location: LocationKey,
    /// The beacon's host (address or name) as the beacon list gave it.
    pub host: String,
    /// The port probed (`None` for ICMP or when not probed).
    pub port: Option<u16>,
    /// The transport that produced the samples (`None` when not probed).
    pub protocol: Option<Protocol>,
    /// Round-trip times of the received probes, in send order (the order matters for jitter).
    pub rtts: Vec<Duration>,
    /// What became of its probes over `protocol` (`sent = received + lost + late + cancelled`).
    pub counts: ProbeCounts,
    /// Why the beacon produced no sample over `protocol`, when it did not.
    pub unreachable: Option<Unreachable>,
    /// Transports tried before `protocol` that produced no sample, and why (the TCP fallback
    /// after UDP, for example), in the order tried.
    pub earlier: Vec<(Protocol, Unreachable)>,
    /// Runs of consecutive lost or late probes over `protocol`, in send order, when known
    /// (see [`edgegap_core::Stats::loss_events`]); `None`: each lost or late probe counts as
    /// its own event.
    pub loss_events: Option<u32>,
    /// Its samples with the instants their probes were sent, as (µs from the start of the
    /// run, round-trip time), when known (empty otherwise): the ranking pairs the best two
    /// locations' probes that were sent side by side (see [`crate::Report::assess_measured`]).
    pub trace: Vec<(u64, Duration)>,
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
            counts: ProbeCounts::default(),
            unreachable: None,
            earlier: Vec::new(),
            loss_events: None,
            trace: Vec::new(),
        }
    }

    /// The beacon's statistics: its samples in send order, its counts and, when known, its
    /// loss events.
    pub fn stats(&self) -> Stats {
        Self::stats_of(&self.rtts, self.counts, self.loss_events)
    }

    /// The statistics of a beacon's samples (in send order), counts and loss events.
    pub(crate) fn stats_of(
        rtts: &[Duration],
        counts: ProbeCounts,
        loss_events: Option<u32>,
    ) -> Stats {
        let mut stats = Stats::of(rtts, counts);
        if let Some(events) = loss_events {
            stats.set_loss_events(events);
        }
        stats
    }

    /// Whether the beacon produced at least one sample.
    pub fn is_reachable(&self) -> bool {
        !self.rtts.is_empty()
    }

    /// Why the beacon has no sample, typed (`None` when it has one): its last transport's
    /// reason, or `NoReply` when none was given.
    pub fn reason(&self) -> Option<Unreachable> {
        (!self.is_reachable()).then(|| self.unreachable.clone().unwrap_or(Unreachable::NoReply))
    }

    /// The human reason, naming every transport tried when there were several.
    pub fn reason_text(&self) -> Option<String> {
        let last = self.reason()?;
        let Some(protocol) = self.protocol.filter(|_| !self.earlier.is_empty()) else {
            return Some(last.to_string());
        };
        if self
            .earlier
            .iter()
            .all(|(_, why)| why.code() == last.code())
        {
            let tried: Vec<&str> = self
                .earlier
                .iter()
                .map(|(p, _)| p.as_str())
                .chain([protocol.as_str()])
                .collect();
            return Some(format!("{last} (tried {})", tried.join(", then ")));
        }
        let mut parts: Vec<String> = self
            .earlier
            .iter()
            .map(|(p, why)| format!("{p}: {why}"))
            .collect();
        parts.push(format!("{protocol}: {last}"));
        Some(parts.join("; "))
    }

    /// A total order over every field, used to list beacons independently of input order.
    pub(crate) fn canonical_cmp(&self, other: &Self) -> Ordering {
        fn key(m: &BeaconMeasurement) -> impl Ord + '_ {
            let c = m.counts;
            (
                &m.location,
                &m.host,
                m.port,
                m.protocol,
                &m.rtts,
                (
                    c.sent,
                    c.received,
                    c.lost,
                    c.late,
                    c.cancelled,
                    c.duplicates,
                ),
                m.unreachable.as_ref().map(ToString::to_string),
            )
        }
        key(self).cmp(&key(other))
    }
}
