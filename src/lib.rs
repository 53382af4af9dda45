//! edgegap-probe: find the Edgegap location closest to a player, fast and honestly, and hand it
//! to the matchmaker.
//!
//! The pipeline is `beacon list → probe engine → statistics → ranking → payload`:
//!
//! ```no_run
//! # async fn example() -> Result<(), edgegap_probe::ProbeError> {
//! use edgegap_probe::{Probe, ProbeConfig};
//!
//! let json = r#"{"count": 1, "locations": [{"host": "127.0.0.1", "udp_port": 9000,
//!                "location": {"city": "Montreal", "country": "Canada"}}]}"#;
//! let report = Probe::builder()
//!     .beacon_list_json(json)?
//!     .config(ProbeConfig::default())
//!     .run()
//!     .await?;
//! if let Some(best) = report.best() {
//!     println!("closest: {} ({} ms)", best.city, best.score_ms);
//! }
//! println!("ticket attribute: {}", report.payload);
//! # Ok(()) }
//! ```
//!
//! The crates below are re-exported for callers who need their details.

mod adaptive;
mod config;
mod error;
mod live;
mod measure;
mod pipeline;
mod progress;
mod steering;
mod targets;

pub use config::{ConfigError, ProbeConfig};
pub use error::ProbeError;
pub use pipeline::{Probe, ProbeBuilder, ProbeHandle};
pub use progress::Progress;

pub use edgegap_api as api;
pub use edgegap_api::{Beacon, LocationData, parse_beacon_list};
pub use edgegap_ping as ping;
pub use edgegap_ping::{EngineConfig, IpVersion};
pub use edgegap_rank as rank;
pub use edgegap_rank::{Confidence, DecidingTerm, LocationReport, RankConfig, Report, Verdict};

/// The shared vocabulary: one type per idea from beacon to payload.
pub use edgegap_core as core;
pub use edgegap_core::{
    ProbeCounts, Protocol, ProtocolChoice, Statistic, Unreachable, UnreachableCode,
};
