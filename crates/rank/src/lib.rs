//! edgegap-rank: latency statistics, a stable location ranking and the matchmaker payload.
//!
//! Beacon measurements go in ([`BeaconMeasurement`]), a [`Ranking`] comes out, and a
//! [`Report`] wraps it for the CLI's `--json`, for other tools and for the cache of the last
//! run. [`decide`] tells a running probe which locations can no longer win, and
//! [`significance`] how sure a comparison of two locations is.
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
//!
//! # Deciding under noise
//!
//! A player's Wi-Fi or cellular link delays a few replies by tens of milliseconds (radio
//! retransmissions), loses packets in bursts, and now and then congests its last hop for
//! everybody at once. The choices, and why a statistician and a network engineer can both
//! sign them:
//!
//! - **Intervals from order statistics** ([`significance::median_interval`]): the number of
//!   samples below the true median is Binomial(n, ½) whatever the distribution, so
//!   `[x₍ₖ₎, x₍ₙ₊₁₋ₖ₎]` has an exact coverage; no normal approximation, which heavy one-sided
//!   tails would break. It needs 6 samples at 95 %; with fewer the report says the lower
//!   coverage it has. Every reachable location carries its median's `interval_ms`.
//! - **Paired differences** ([`significance::pair_differences`]): two probes sent at most
//!   [`significance::PAIR_WINDOW_US`] (5 ms) apart cross the player's last hop together, so a
//!   shared congestion episode (tens of milliseconds long) adds the same delay to both and
//!   cancels in their difference. 5 ms keeps both inside one episode and is wider than the
//!   spread of the aligned probes of the few contenders (1 ms apart at the default gap). The
//!   median difference gets the same order-statistics interval (the sign test's).
//! - **Penalties only when significant** ([`judge`]): a loss or jitter difference decides the
//!   first place only when Fisher's exact test (on loss *events*: a burst of consecutive
//!   losses counts once, as it is one event of a bursty channel) or the Mann–Whitney test
//!   (on the consecutive differences) says it is not chance at [`RankConfig::confidence`];
//!   the report's `confidence.decided_by` names the term that decided.
//! - **A stated confidence** ([`Confidence`]): best against runner-up, `separated` (the
//!   difference's interval is above zero, or, unpaired, the exact rank-sum test rejects
//!   equality), `near_tie` (the interval is inside the near-tie band), `budget_exhausted`,
//!   or `single`, with the margin, the interval and the number of pairs.
//! - **The budget** (in the facade, `ProbeConfig::max_probes`, default 30 probes per
//!   location): at the default 20 ms interval a close call takes at most about 0.6 s beyond
//!   the first replies, and on the benchmark's harsh scenario the median answer comes after
//!   about 0.4 s; a clean network rarely has a contender at all (a location must be inside the
//!   near-tie band of the leader to be one), so it is not slowed.

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
    BeaconReport, BestTwo, CarriedLocations, CarriedOver, LocationReport, Ranking,
    UnreachableBeacon, UnreachableLocation, rank, rank_with_carried,
};
pub use report::{MAX_REPORT_BYTES, REPORT_SCHEMA_VERSION, Report, degraded, unix_ms};

/// The shared vocabulary (transports, probe counts, reasons, statistics), re-exported.
pub use edgegap_core::{
    Metrics, ProbeCounts, Protocol, RttSummary, Samples, Statistic, Stats, Unreachable,
    UnreachableCode,
};
