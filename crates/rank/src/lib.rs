//! edgegap-rank: latency statistics, a stable location ranking and the matchmaker payload.
//!
//! Beacon measurements go in ([`BeaconMeasurement`]), a [`Ranking`] comes out, and a
//! [`Report`] wraps it for the CLI's `--json`, for other tools and for the cache of the last
//! run. [`decide`] tells a running probe which locations can no longer win.
//!
//! ```
//! use std::time::Duration;
//! use edgegap_rank::{BeaconMeasurement, LocationKey, RankConfig, rank};
//!
//! let ms = |v: &[u64]| v.iter().map(|&x| Duration::from_millis(x)).collect::<Vec<_>>();
//! let mut chicago = BeaconMeasurement::new(LocationKey::new("Chicago", "United States"), "10.0.0.1");
//! chicago.rtts = ms(&[12, 13, 12]);
//! (chicago.counts.sent, chicago.counts.received) = (3, 3);
//! let mut tokyo = BeaconMeasurement::new(LocationKey::new("Tokyo", "Japan"), "10.0.0.2");
//! tokyo.rtts = ms(&[150, 151, 150]);
//! (tokyo.counts.sent, tokyo.counts.received) = (3, 3);
//!
//! let ranking = rank(&[tokyo, chicago], &RankConfig::default(), None);
//! assert_eq!(ranking.best().unwrap().city, "Chicago");
//! assert_eq!(ranking.payload("beacons"), serde_json::json!({"beacons": {"Chicago": 12.0, "Tokyo": 150.0}}));
//! ```
//!
//! This crate knows nothing about sockets, HTTP or how the samples were taken.

mod confidence;
mod config;
mod decide;
mod error;
pub mod judge;
mod measurement;
pub mod payload;
mod ranking;
mod report;
pub mod significance;

pub use confidence::{Confidence, Verdict};
pub use config::{RankConfig, within_band};
pub use decide::{Decision, DecisionAt, LiveLocation, decide, decide_at, optimistic_ms};
pub use error::RankError;
pub use judge::{DecidingTerm, Judged, ahead, compare};
pub use measurement::{BeaconMeasurement, LocationKey};
pub use ranking::{
    BeaconReport, CarriedLocations, CarriedOver, LocationReport, Ranking, UnreachableBeacon,
    UnreachableLocation, rank, rank_with_carried,
};
pub use report::{MAX_REPORT_BYTES, REPORT_SCHEMA_VERSION, Report, degraded, unix_ms};

/// The shared vocabulary (transports, probe counts, reasons, statistics), re-exported.
pub use edgegap_core::{
    Metrics, ProbeCounts, Protocol, RttSummary, Samples, Statistic, Stats, Unreachable,
    UnreachableCode,
};
