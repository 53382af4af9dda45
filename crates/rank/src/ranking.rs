//! Grouping beacons into locations, scoring, ordering with near-tie stickiness.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use edgegap_ping::Protocol;
use serde::{Deserialize, Serialize};

use crate::payload::build_payload;
use crate::{BeaconMeasurement, Counters, LocationKey, Metrics, RankConfig, RttSummary, Stats};

/// The transport behind a location's figures: its beacons' protocol when they agree, else
/// `mixed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolLabel {
    /// UDP echo.
    Udp,
    /// TCP handshake.
    Tcp,
    /// ICMP echo.
    Icmp,
    /// The beacons that produced samples used different transports.
    Mixed,
}

impl ProtocolLabel {
    /// The lower-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolLabel::Udp => "udp",
            ProtocolLabel::Tcp => "tcp",
            ProtocolLabel::Icmp => "icmp",
            ProtocolLabel::Mixed => "mixed",
        }
    }
}

impl From<Protocol> for ProtocolLabel {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Udp => ProtocolLabel::Udp,
            Protocol::Tcp => ProtocolLabel::Tcp,
            Protocol::Icmp => ProtocolLabel::Icmp,
        }
    }
}

/// One beacon of a reachable location, in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeaconReport {
    /// The beacon's host as the beacon list gave it.
    pub host: String,
    /// The port probed (`null` for ICMP).
    pub port: Option<u16>,
    /// The transport used.
    pub protocol: Option<Protocol>,
    /// Probes sent, answered, lost, late and duplicated (in the JSON: `sent`, `received`,
    /// `lost`, `late`, `duplicates` beside the other fields).
    #[serde(flatten)]
    pub counters: Counters,
    /// Loss fraction `lost / (received + lost)`, 0..=1.
    pub loss: Option<f64>,
    /// Round-trip figures (all `null` when this beacon produced no sample).
    pub rtt_ms: RttSummary,
    /// Why this beacon produced no sample, when it did not.
    #[serde(default)]
    pub unreachable: Option<String>,
}

/// A location in the ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocationReport {
    /// City, exactly as the beacon list spells it.
    pub city: String,
    /// Country.
    pub country: String,
    /// Position, 1 = best. Excluded locations continue the numbering after the ranked ones.
    pub rank: u32,
    /// The score the order is based on: statistic plus loss and jitter penalties.
    pub score_ms: f64,
    /// The configured statistic's value (what the payload carries).
    pub statistic_ms: f64,
    /// Whether near-tie stickiness kept this previously chosen location first.
    #[serde(default)]
    pub sticky: bool,
    /// The beacons' transport when they agree, else `mixed`.
    pub protocol: Option<ProtocolLabel>,
    /// Probes sent, answered, lost, late and duplicated over all beacons (in the JSON: `sent`,
    /// `received`, `lost`, `late`, `duplicates` beside the other fields).
    #[serde(flatten)]
    pub counters: Counters,
    /// Loss fraction over all beacons, 0..=1.
    pub loss: Option<f64>,
    /// Round-trip figures of the merged beacons.
    pub rtt_ms: RttSummary,
    /// Per-beacon figures.
    pub beacons: Vec<BeaconReport>,
}

impl LocationReport {
    /// The location's key.
    pub fn key(&self) -> LocationKey {
        LocationKey::new(self.city.clone(), self.country.clone())
    }

    /// Whether this is the location `key`.
    pub fn is(&self, key: &LocationKey) -> bool {
        self.city == key.city && self.country == key.country
    }
}

/// A beacon of an unreachable location: no number, only why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreachableBeacon {
    /// The beacon's host.
    pub host: String,
    /// The port probed, if any.
    pub port: Option<u16>,
    /// The transport tried, if any.
    pub protocol: Option<Protocol>,
    /// Why it produced no sample.
    pub reason: String,
}

/// A location none of whose beacons produced a sample. Never given a latency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreachableLocation {
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
    /// The distinct reasons of its beacons.
    pub reasons: Vec<String>,
    /// Per-beacon reasons.
    pub beacons: Vec<UnreachableBeacon>,
}

impl UnreachableLocation {
    /// The location's key.
    pub fn key(&self) -> LocationKey {
        LocationKey::new(self.city.clone(), self.country.clone())
    }
}

/// The outcome of [`rank`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// Reachable locations within `max_latency_ms`, best first, ranked 1, 2, ...
    pub locations: Vec<LocationReport>,
    /// Locations without any sample, ordered by (city, country).
    pub unreachable: Vec<UnreachableLocation>,
    /// Reachable locations whose statistic exceeds `max_latency_ms`, best first.
    pub excluded: Vec<LocationReport>,
}

impl Ranking {
    /// The matchmaker ticket attribute `{"<attribute>": {"<City>": ms}}` (see [`crate::payload`]).
    pub fn payload(&self, attribute: &str) -> serde_json::Value {
        build_payload(&self.locations, attribute)
    }

    /// The best location, if any is reachable (and within `max_latency_ms`).
    pub fn best(&self) -> Option<&LocationReport> {
        self.locations.first()
    }
}

/// A reason given when a beacon without samples did not say why.
const NO_REPLY: &str = "no reply";

/// Groups the measurements into locations, scores and orders them.
///
/// - Beacons are grouped by (city, country) and their [`Stats`] merged. A location is
///   reachable when any beacon has a sample; the others go to `unreachable`, with reasons only.
/// - Score = statistic + `loss_penalty_ms` × loss + `jitter_weight` × jitter (missing loss or
///   jitter counts 0).
/// - Locations whose statistic exceeds `max_latency_ms` go to `excluded`.
/// - The rest are sorted by score, ties broken by (city, country): a total order that does
///   not depend on the input order.
/// - Stickiness: when `previous` is among them and its score is within the near-tie band of
///   the best score (`score <= best * tie_factor && score - best <= tie_margin_ms`), it is moved
///   first (and marked `sticky`); otherwise the plain order stands.
pub fn rank(
    measurements: &[BeaconMeasurement],
    config: &RankConfig,
    previous: Option<&LocationKey>,
) -> Ranking {
    let mut groups: BTreeMap<&LocationKey, Vec<&BeaconMeasurement>> = BTreeMap::new();
    for m in measurements {
        groups.entry(&m.location).or_default().push(m);
    }

    let mut ranked = Vec::new();
    let mut excluded = Vec::new();
    let mut unreachable = Vec::new();
    for (key, mut beacons) in groups {
        beacons.sort_by(|a, b| a.canonical_cmp(b));
        match location_report(key, &beacons, config) {
            Some(report) => {
                let over = config
                    .max_latency_ms
                    .is_some_and(|max| report.statistic_ms > max);
                if over {
                    excluded.push(report);
                } else {
                    ranked.push(report);
                }
            }
            None => unreachable.push(unreachable_location(key, &beacons)),
        }
    }

    ranked.sort_by(order);
    excluded.sort_by(order);
    if let Some(prev) = previous
        && let Some(i) = ranked.iter().position(|l| l.is(prev))
        && i > 0
        && config.within_band(ranked[i].score_ms, ranked[0].score_ms)
    {
        let mut chosen = ranked.remove(i);
        chosen.sticky = true;
        ranked.insert(0, chosen);
    }
    let mut next = 1u32;
    for l in ranked.iter_mut().chain(excluded.iter_mut()) {
        l.rank = next;
        next = next.saturating_add(1);
    }
    Ranking {
        locations: ranked,
        unreachable,
        excluded,
    }
}

/// The plain order: score, then (city, country).
fn order(a: &LocationReport, b: &LocationReport) -> Ordering {
    a.score_ms
        .total_cmp(&b.score_ms)
        .then_with(|| a.city.cmp(&b.city))
        .then_with(|| a.country.cmp(&b.country))
}

/// The report of a location, `None` when it has no sample.
fn location_report(
    key: &LocationKey,
    beacons: &[&BeaconMeasurement],
    config: &RankConfig,
) -> Option<LocationReport> {
    // With a single beacon (the usual case) its statistics are the location's: no second
    // histogram, no second pass over it.
    let mut merged: Option<Stats> = None;
    let mut single: Option<Metrics> = None;
    let mut reports = Vec::with_capacity(beacons.len());
    let mut protocol: Option<ProtocolLabel> = None;
    for b in beacons {
        let stats = Stats::from_measurement(b);
        if stats.has_samples()
            && let Some(p) = b.protocol
        {
            let p = ProtocolLabel::from(p);
            protocol = Some(match protocol {
                Some(q) if q != p => ProtocolLabel::Mixed,
                _ => p,
            });
        }
        let metrics = stats.metrics();
        reports.push(BeaconReport {
            host: b.host.clone(),
            port: b.port,
            protocol: b.protocol,
            counters: metrics.counters,
            loss: metrics.loss,
            rtt_ms: metrics.rtt,
            unreachable: (!stats.has_samples()).then(|| reason_of(b)),
        });
        if let Some(m) = &mut merged {
            m.merge(&stats);
        } else {
            merged = Some(stats);
            single = Some(metrics);
        }
    }
    let metrics = match (beacons.len(), single, merged) {
        (1, Some(metrics), _) => metrics,
        (_, _, Some(merged)) => merged.metrics(),
        _ => return None,
    };
    let statistic_ms = metrics.statistic(config.statistic)?;
    let score_ms = metrics.score(config)?;
    Some(LocationReport {
        city: key.city.clone(),
        country: key.country.clone(),
        rank: 0,
        score_ms,
        statistic_ms,
        sticky: false,
        protocol,
        counters: metrics.counters,
        loss: metrics.loss,
        rtt_ms: metrics.rtt,
        beacons: reports,
    })
}

fn reason_of(b: &BeaconMeasurement) -> String {
    match &b.unreachable {
        Some(reason) if !reason.trim().is_empty() => reason.clone(),
        _ => NO_REPLY.to_owned(),
    }
}

fn unreachable_location(key: &LocationKey, beacons: &[&BeaconMeasurement]) -> UnreachableLocation {
    let mut reasons: Vec<String> = Vec::new();
    let beacons = beacons
        .iter()
        .map(|b| {
            let reason = reason_of(b);
            if !reasons.contains(&reason) {
                reasons.push(reason.clone());
            }
            UnreachableBeacon {
                host: b.host.clone(),
                port: b.port,
                protocol: b.protocol,
                reason,
            }
        })
        .collect();
    UnreachableLocation {
        city: key.city.clone(),
        country: key.country.clone(),
        reasons,
        beacons,
    }
}
