//! Errors of a probe run as a whole (a single dead beacon is a result, not an error).

use std::path::PathBuf;

/// Why a probe run could not produce a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// A setting is out of range (see [`crate::ProbeConfig::validate`]).
    #[error(transparent)]
    InvalidConfig(#[from] crate::ConfigError),
    /// The beacon list was empty: there is nothing to measure.
    #[error(
        "the beacon list is empty: nothing to probe (check the matchmaker or API returned beacons)"
    )]
    NoBeacons,
    /// The beacon list could not be read.
    #[error(transparent)]
    BeaconList(#[from] edgegap_api::BeaconListError),
    /// The probe engine could not start at all (for example no socket could be opened).
    #[error("the probe engine could not start: {0}")]
    Engine(#[from] edgegap_ping::EngineError),
    /// The cache file could not be written.
    #[error("could not save the report to {path}: {source}")]
    CacheWrite {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        source: edgegap_rank::RankError,
    },
    /// A blocking call was made from inside an async runtime, where it would deadlock.
    #[error("run_blocking() was called from inside an async runtime; use .run().await there")]
    InsideAsyncRuntime,
    /// The runtime for a blocking run could not be created.
    #[error("could not start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The run's task ended abnormally (a bug: please report it).
    #[error("the probe task ended abnormally: {0}")]
    TaskFailed(String),
}
