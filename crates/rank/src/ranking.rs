//! Grouping beacons into locations, scoring, ordering with near-tie stickiness.

use std::cmp::Ordering;
use std::time::Duration;

use edgegap_core::{Metrics, ProbeCounts, Protocol, RttSummary, Stats, UnreachableCode};
use serde::{Deserialize, Serialize};

use crate::payload::build_payload;
use crate::significance::{Interval, median_interval};
use crate::{BeaconMeasurement, DecidingTerm, LocationKey, RankConfig, ahead, compare};

/// One beacon of a reachable location, in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BeaconReport {
    /// The beacon's host as the beacon list gave it.
    pub host: String,
    /// The port probed (`null` for ICMP).
    pub port: Option<u16>,
    /// The transport used.
    pub protocol: Option<Protocol>,
    /// What became of its probes (in the JSON: `sent`, `received`, `lost`, `late`,
    /// `cancelled`, `duplicates` beside the other fields; `sent = received + lost + late +
    /// cancelled`).
    #[serde(flatten)]
    pub counts: ProbeCounts,
    /// Loss fraction `(lost + late) / (sent − cancelled)`, 0..=1.
    pub loss: Option<f64>,
    /// Round-trip figures (all `null` when this beacon produced no sample).
    pub rtt_ms: RttSummary,
    /// Why this beacon produced no sample, when it did not (a location is reachable when any
    /// of its beacons is): the stable code ...
    #[serde(default)]
    pub code: Option<UnreachableCode>,
    /// ... and the human reason.
    #[serde(default)]
    pub unreachable: Option<String>,
}

/// Where a location's figures come from when they were not measured in this run: a cached
/// fast re-probe measures only the contenders and carries the other locations of the saved
/// report over, so the payload stays complete.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CarriedOver {
    /// When the figures were measured, in milliseconds since the Unix epoch (wall clock).
    pub measured_at_unix_ms: u64,
    /// How old they were when this report was made, in milliseconds.
    pub age_ms: f64,
}

impl CarriedOver {
    /// Figures measured at `measured_at_unix_ms`, as seen at `now_unix_ms`.
    pub fn new(measured_at_unix_ms: u64, now_unix_ms: u64) -> Self {
        Self {
            measured_at_unix_ms,
            age_ms: now_unix_ms.saturating_sub(measured_at_unix_ms) as f64,
        }
    }
}

/// A location in the ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LocationReport {
    /// City, exactly as the beacon list spells it.
    pub city: String,
    /// Country.
    pub country: String,
    /// Position, 1 = best. Excluded locations continue the numbering after the ranked ones.
    pub rank: u32,
    /// The score the order is based on: statistic plus loss and jitter penalties.
    pub score_ms: f64,
    /// The configured statistic's value: what the table shows and the payload carries.
    pub statistic_ms: f64,
    /// Whether near-tie stickiness kept this previously chosen location first.
    #[serde(default)]
    pub sticky: bool,
    /// The transport of the beacons that produced samples, when they agree; `null` when they
    /// used different ones (see `protocols`).
    pub protocol: Option<Protocol>,
    /// Every transport that produced a sample, in a fixed order.
    #[serde(default)]
    pub protocols: Vec<Protocol>,
    /// What became of the probes of all its beacons (in the JSON: `sent`, `received`, `lost`,
    /// `late`, `cancelled`, `duplicates` beside the other fields).
    #[serde(flatten)]
    pub counts: ProbeCounts,
    /// Loss fraction over all beacons, `(lost + late) / (sent − cancelled)`, 0..=1.
    pub loss: Option<f64>,
    /// Round-trip figures of the merged beacons.
    pub rtt_ms: RttSummary,
    /// Per-beacon figures.
    pub beacons: Vec<BeaconReport>,
    /// Set when these figures were carried over from a saved report instead of measured in
    /// this run; `null` when measured now.
    #[serde(default)]
    pub carried_over: Option<CarriedOver>,
    /// The distribution-free interval of the ranked statistic (order statistics, see
    /// [`crate::significance`]) at [`RankConfig::confidence`], with its coverage; `null` for
    /// statistics without one (mean, trimmed mean, min).
    #[serde(default)]
    pub interval_ms: Option<Interval>,
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
#[non_exhaustive]
pub struct UnreachableBeacon {
    /// The beacon's host.
    pub host: String,
    /// The port probed, if any.
    pub port: Option<u16>,
    /// The transport tried last, if any.
    pub protocol: Option<Protocol>,
    /// The stable code of why it produced no sample (of the last transport tried).
    #[serde(default = "no_reply_code")]
    pub code: UnreachableCode,
    /// The human reason, naming every transport tried.
    pub reason: String,
    /// What became of its probes.
    #[serde(flatten)]
    pub counts: ProbeCounts,
}

fn no_reply_code() -> UnreachableCode {
    UnreachableCode::NoReply
}

/// A location none of whose beacons produced a sample. Never given a latency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnreachableLocation {
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
    /// The distinct codes of its beacons, in a fixed order.
    #[serde(default)]
    pub codes: Vec<UnreachableCode>,
    /// The distinct reasons of its beacons.
    pub reasons: Vec<String>,
    /// Per-beacon reasons.
    pub beacons: Vec<UnreachableBeacon>,
    /// Set when this was carried over from a saved report instead of probed in this run.
    #[serde(default)]
    pub carried_over: Option<CarriedOver>,
}

impl UnreachableLocation {
    /// The location's key.
    pub fn key(&self) -> LocationKey {
        LocationKey::new(self.city.clone(), self.country.clone())
    }
}

/// The outcome of [`rank`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ranking {
    /// Reachable locations within `max_latency_ms`, best first, ranked 1, 2, ...
    pub locations: Vec<LocationReport>,
    /// Locations without any sample, ordered by (city, country).
    pub unreachable: Vec<UnreachableLocation>,
    /// Reachable locations whose statistic exceeds `max_latency_ms`, best first.
    pub excluded: Vec<LocationReport>,
    /// Which term of the score put the first location ahead of the second (`None` with
    /// fewer than two): see [`crate::judge`].
    pub decided_by: Option<DecidingTerm>,
    /// What the run saw of the best two locations' probes (`None` with fewer than two), for
    /// the report's confidence; not part of the ranking's JSON.
    #[serde(skip)]
    pub best_two: Option<BestTwo>,
}

/// The samples of the best two locations with the instants their probes were sent, as (µs
/// from the start of the run, rtt ms), by send time: empty for a location carried over or
/// measured without them.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct BestTwo {
    /// The first location's.
    pub best: Vec<(u64, f64)>,
    /// The second location's.
    pub runner_up: Vec<(u64, f64)>,
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

/// What a run did not measure but still reports: the locations of a saved report that a
/// cached fast re-probe carried over (each with its [`CarriedOver`] set by the caller).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CarriedLocations {
    /// Reachable locations (ranked or excluded in the saved report).
    pub reachable: Vec<LocationReport>,
    /// Unreachable ones.
    pub unreachable: Vec<UnreachableLocation>,
}

/// Groups the measurements into locations, scores and orders them.
///
/// - Beacons are grouped by (city, country) and their [`Stats`] merged. A location is
///   reachable when any beacon has a sample; the others go to `unreachable`, with reasons only.
/// - Score = [`RankConfig::score`]: statistic + `loss_penalty_ms` × scored loss +
///   `jitter_weight` × jitter.
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
    rank_with_carried(
        measurements.to_vec(),
        CarriedLocations::default(),
        config,
        previous,
    )
}

/// [`rank`], with locations carried over from a saved report: they are ordered by their saved
/// score among the measured ones. A location measured in this run always replaces its carried
/// figures. Takes the measurements: their names move into the reports (a list of tens of
/// thousands of beacons is not held twice).
pub fn rank_with_carried(
    measurements: Vec<BeaconMeasurement>,
    carried: CarriedLocations,
    config: &RankConfig,
    previous: Option<&LocationKey>,
) -> Ranking {
    // The beacons in canonical order, which starts with the location: each location's beacons
    // are one run of this list (a chunk), in the order its report lists them. Sorted in place
    // (no scratch buffer, no map of per-location vectors); beacons equal in canonical order
    // are equal in everything the report shows, so the unstable sort gives the same reports.
    let mut sorted = measurements;
    sorted.sort_unstable_by(BeaconMeasurement::canonical_cmp);
    let (carried_reachable, carried_unreachable) = not_measured(carried, &sorted);
    let chunks = location_chunks(&sorted);
    // Sized once (a location with a sample is ranked, or excluded, which is rare): growing
    // by doubling would hold the old and the new buffer of the report's largest vectors at
    // once, and leave the old one as a hole in the heap.
    let with_samples = chunks
        .iter()
        .filter(|&&(a, b)| sorted[a..b].iter().any(BeaconMeasurement::is_reachable))
        .count();
    // Each ranked location with the chunk it was measured from (`None`: carried over).
    let mut ranked: Vec<(LocationReport, Option<usize>)> =
        Vec::with_capacity(with_samples + carried_reachable.len());
    let mut excluded = Vec::new();
    let mut unreachable =
        Vec::with_capacity(chunks.len() - with_samples + carried_unreachable.len());
    let over = |report: &LocationReport| {
        config
            .max_latency_ms
            .is_some_and(|max| report.statistic_ms > max)
    };
    // The locations are taken off the end of the list one by one, the list shrinking as it
    // goes: what the first-place judge and the confidence need later is kept per beacon
    // (`samples`, by position), the rest is freed as its report is built.
    let mut samples: Vec<Kept> = Vec::with_capacity(sorted.len());
    samples.resize_with(sorted.len(), Kept::default);
    for (chunk, &(a, _)) in chunks.iter().enumerate().rev() {
        let mut beacons = sorted.split_off(a);
        match location_report(&mut beacons, config) {
            Some(report) if over(&report) => excluded.push(report),
            Some(report) => ranked.push((report, Some(chunk))),
            None => unreachable.push(unreachable_location(&mut beacons)),
        }
        for (slot, m) in samples[a..].iter_mut().zip(&mut beacons) {
            *slot = Kept::take(m);
        }
        if sorted.capacity() - sorted.len() >= SHRINK_STEP {
            sorted.shrink_to_fit();
        }
    }
    for report in carried_reachable {
        if over(&report) {
            excluded.push(report);
        } else {
            ranked.push((report, None));
        }
    }
    unreachable.extend(carried_unreachable);
    // Locations are unique in a ranking (a carried one only joins when it was not measured), so
    // these orders are total and sorting in place (no scratch buffer the size of half the list)
    // gives the order a stable sort would.
    unreachable.sort_unstable_by(|a, b| (&a.city, &a.country).cmp(&(&b.city, &b.country)));
    ranked.sort_unstable_by(|(a, _), (b, _)| order(a, b));
    excluded.sort_unstable_by(order);
    // The statistics of a measured location, merged again from its beacons (only the few
    // locations the first place is judged on need them: no copy per location is kept).
    let stats = |chunk: Option<usize>| -> Option<Stats> {
        let (a, b) = chunks[chunk?];
        let mut beacons = samples[a..b].iter().map(Kept::stats);
        let mut merged = beacons.next()?;
        for b in beacons {
            merged.merge(&b);
        }
        Some(merged)
    };
    // The previous choice inside the near-tie band stays first; otherwise the best
    // statistic goes first when it is ahead on significant differences.
    let kept = previous
        .and_then(|prev| ranked.iter().position(|(l, _)| l.is(prev)))
        .filter(|&i| config.within_band(ranked[i].0.score_ms, ranked[0].0.score_ms));
    if let Some(i) = kept {
        if i > 0 {
            let mut chosen = ranked.remove(i);
            chosen.0.sticky = true;
            ranked.insert(0, chosen);
        }
    } else {
        judge_first_place(&mut ranked, &stats, config);
    }
    let mut next = 1u32;
    for l in ranked.iter_mut().map(|(l, _)| l).chain(excluded.iter_mut()) {
        l.rank = next;
        next = next.saturating_add(1);
    }
    let decided_by = deciding_term(&ranked, &stats, config);
    // What the run saw of the best two's probes, for the report's confidence.
    let trace = |chunk: Option<usize>| chunk.map_or_else(Vec::new, |c| trace(&samples, chunks[c]));
    let best_two = match ranked.as_slice() {
        [(_, a), (_, b), ..] => Some(BestTwo {
            best: trace(*a),
            runner_up: trace(*b),
        }),
        _ => None,
    };
    Ranking {
        locations: ranked.into_iter().map(|(l, _)| l).collect(),
        unreachable,
        excluded,
        decided_by,
        best_two,
    }
}

/// The carried locations that were not measured again (looked up in `sorted`, in canonical
/// order, while its names are there), reachable ones no longer sticky.
fn not_measured(
    carried: CarriedLocations,
    sorted: &[BeaconMeasurement],
) -> (Vec<LocationReport>, Vec<UnreachableLocation>) {
    let measured = |key: &LocationKey| sorted.binary_search_by(|m| m.location.cmp(key)).is_ok();
    let reachable = carried
        .reachable
        .into_iter()
        .filter(|l| !measured(&l.key()))
        .map(|mut l| {
            l.sticky = false;
            l
        })
        .collect();
    let unreachable = carried
        .unreachable
        .into_iter()
        .filter(|u| !measured(&u.key()))
        .collect();
    (reachable, unreachable)
}

/// Where each location's beacons are in `sorted` (in canonical order): `(start, end)`.
fn location_chunks(sorted: &[BeaconMeasurement]) -> Vec<(usize, usize)> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in 1..=sorted.len() {
        if end == sorted.len() || sorted[end].location != sorted[start].location {
            chunks.push((start, end));
            start = end;
        }
    }
    chunks
}

/// How many beacons may be freed from the end of the sorted list before its buffer is
/// shrunk to them.
const SHRINK_STEP: usize = 4096;

/// What the first-place judge and the confidence need of a beacon once its report is built:
/// its samples, counts, loss events and trace (80 bytes, where a measurement is 216).
#[derive(Debug, Default)]
struct Kept {
    rtts: Vec<Duration>,
    counts: ProbeCounts,
    loss_events: Option<u32>,
    trace: Vec<(u64, Duration)>,
}

impl Kept {
    /// Takes them out of the measurement.
    fn take(m: &mut BeaconMeasurement) -> Kept {
        Kept {
            rtts: std::mem::take(&mut m.rtts),
            counts: m.counts,
            loss_events: m.loss_events,
            trace: std::mem::take(&mut m.trace),
        }
    }

    /// The beacon's statistics, as [`BeaconMeasurement::stats`] gives them.
    fn stats(&self) -> Stats {
        BeaconMeasurement::stats_of(&self.rtts, self.counts, self.loss_events)
    }
}

/// The samples of the beacons `kept[start..end]` with their send instants, as (µs, rtt ms),
/// by send time.
fn trace(kept: &[Kept], (start, end): (usize, usize)) -> Vec<(u64, f64)> {
    let mut out: Vec<(u64, f64)> = kept[start..end]
        .iter()
        .flat_map(|m| m.trace.iter())
        .map(|&(sent, rtt)| (sent, rtt.as_secs_f64() * 1000.0))
        .collect();
    out.sort_by_key(|&(sent, _)| sent);
    out
}

/// Moves the location with the best statistic first when it is ahead of the first on
/// significant differences only (see [`crate::judge`]); both must have been measured in this
/// run.
fn judge_first_place(
    ranked: &mut [(LocationReport, Option<usize>)],
    stats: &impl Fn(Option<usize>) -> Option<Stats>,
    config: &RankConfig,
) {
    let Some(best) = ranked
        .iter()
        .enumerate()
        .min_by(|(_, (a, _)), (_, (b, _))| {
            a.statistic_ms
                .total_cmp(&b.statistic_ms)
                .then_with(|| (&a.city, &a.country).cmp(&(&b.city, &b.country)))
        })
        .map(|(i, _)| i)
    else {
        return;
    };
    if best == 0 {
        return;
    }
    if let (Some(b), Some(first)) = (stats(ranked[best].1), stats(ranked[0].1))
        && ahead(&b, &first, config)
    {
        ranked[..=best].rotate_right(1);
    }
}

/// Which term puts the first location ahead of the second (`None` with fewer than two).
fn deciding_term(
    ranked: &[(LocationReport, Option<usize>)],
    stats: &impl Fn(Option<usize>) -> Option<Stats>,
    config: &RankConfig,
) -> Option<DecidingTerm> {
    let [(_, first), (_, second), ..] = ranked else {
        return None;
    };
    Some(match (stats(*first), stats(*second)) {
        (Some(a), Some(b)) => {
            compare(&a, &b, config).map_or(DecidingTerm::Statistic, |(x, y)| x.ahead_by(&y))
        }
        _ => DecidingTerm::Statistic,
    })
}

/// The interval of the ranked statistic, for the median.
fn statistic_interval(stats: &Stats, config: &RankConfig) -> Option<Interval> {
    if config.statistic != edgegap_core::Statistic::Median {
        return None;
    }
    let samples = stats.samples();
    let n = usize::try_from(samples.len()).ok()?;
    median_interval(n, config.confidence, |k| {
        samples.kth(k).map(|d| d.as_secs_f64() * 1000.0)
    })
}

/// The plain order: score, then (city, country).
fn order(a: &LocationReport, b: &LocationReport) -> Ordering {
    a.score_ms
        .total_cmp(&b.score_ms)
        .then_with(|| a.city.cmp(&b.city))
        .then_with(|| a.country.cmp(&b.country))
}

/// The report of a location (its beacons' names move into it), `None` when it has no sample.
fn location_report(
    beacons: &mut [BeaconMeasurement],
    config: &RankConfig,
) -> Option<LocationReport> {
    // With a single beacon (the usual case) its statistics are the location's: no second
    // merge, no second pass over it.
    let mut merged: Option<Stats> = None;
    let mut single: Option<Metrics> = None;
    let mut reports = Vec::with_capacity(beacons.len());
    let mut protocols: Vec<Protocol> = Vec::new();
    for b in beacons.iter() {
        let stats = b.stats();
        if stats.has_samples()
            && let Some(p) = b.protocol
            && !protocols.contains(&p)
        {
            protocols.push(p);
        }
        let metrics = stats.metrics();
        reports.push(BeaconReport {
            // Moved in below, once the location is known to be reachable.
            host: String::new(),
            port: b.port,
            protocol: b.protocol,
            counts: metrics.counts,
            loss: metrics.loss,
            rtt_ms: metrics.rtt,
            code: b.reason().map(|why| why.code()),
            unreachable: b.reason_text(),
        });
        if let Some(m) = &mut merged {
            m.merge(&stats);
        } else {
            merged = Some(stats);
            single = Some(metrics);
        }
    }
    let merged = merged?;
    let metrics = match (beacons.len(), single) {
        (1, Some(metrics)) => metrics,
        _ => merged.metrics(),
    };
    let statistic_ms = metrics.statistic(config.statistic)?;
    let score_ms = config.score(&metrics)?;
    protocols.sort();
    for (report, b) in reports.iter_mut().zip(beacons.iter_mut()) {
        report.host = std::mem::take(&mut b.host);
    }
    let key = &mut beacons[0].location;
    Some(LocationReport {
        city: std::mem::take(&mut key.city),
        country: std::mem::take(&mut key.country),
        rank: 0,
        score_ms,
        statistic_ms,
        sticky: false,
        protocol: match protocols.as_slice() {
            [one] => Some(*one),
            _ => None,
        },
        protocols,
        counts: metrics.counts,
        loss: metrics.loss,
        rtt_ms: metrics.rtt,
        beacons: reports,
        carried_over: None,
        interval_ms: statistic_interval(&merged, config),
    })
}

/// The entry of a location without any sample (its beacons' names move into it).
fn unreachable_location(beacons: &mut [BeaconMeasurement]) -> UnreachableLocation {
    let mut reasons: Vec<String> = Vec::new();
    let mut codes: Vec<UnreachableCode> = Vec::new();
    let key = &mut beacons[0].location;
    let (city, country) = (
        std::mem::take(&mut key.city),
        std::mem::take(&mut key.country),
    );
    let beacons = beacons
        .iter_mut()
        .map(|b| {
            let why = b.reason().unwrap_or(edgegap_core::Unreachable::NoReply);
            let reason = b.reason_text().unwrap_or_else(|| why.to_string());
            if !reasons.contains(&reason) {
                reasons.push(reason.clone());
            }
            if !codes.contains(&why.code()) {
                codes.push(why.code());
            }
            UnreachableBeacon {
                host: std::mem::take(&mut b.host),
                port: b.port,
                protocol: b.protocol,
                code: why.code(),
                reason,
                counts: b.counts,
            }
        })
        .collect();
    codes.sort();
    UnreachableLocation {
        city,
        country,
        codes,
        reasons,
        beacons,
        carried_over: None,
    }
}
