//! The one error type of the simulator.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// What went wrong while loading, checking or starting a scenario.
///
/// Every variant names the beacon (index and city), the address or the file involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A beacon address outside loopback (127.0.0.0/8 or ::1): the simulator never binds anything else.
    #[error("beacon #{index} ({city}): address {address} is not loopback (use 127.0.0.0/8 or ::1)")]
    NotLoopback {
        /// Position of the beacon in the scenario.
        index: usize,
        /// Its city.
        city: String,
        /// The refused address.
        address: IpAddr,
    },
    /// A beacon field with a value outside its range.
    #[error("beacon #{index} ({city}): invalid {field}: {reason}")]
    InvalidField {
        /// Position of the beacon in the scenario.
        index: usize,
        /// Its city (may be empty when the city itself is the problem).
        city: String,
        /// The field name as written in a scenario file.
        field: &'static str,
        /// Why the value is refused.
        reason: String,
    },
    /// A value of the scenario's `[network]` table outside its range.
    #[error("invalid [network] {field}: {reason}")]
    InvalidNetwork {
        /// The field, as written in a scenario file (`"network.congestion.per_s"`, ...).
        field: &'static str,
        /// Why the value is refused.
        reason: String,
    },
    /// A socket could not be created, bound or put in listening state.
    #[error("beacon #{index} ({city}): cannot {action} {protocol} socket on {addr}: {source}")]
    Bind {
        /// Position of the beacon in the scenario.
        index: usize,
        /// Its city.
        city: String,
        /// `"UDP"` or `"TCP"`.
        protocol: &'static str,
        /// What was attempted (`"bind"`, `"listen on"`, ...).
        action: &'static str,
        /// The local address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The reply thread of a simulation could not be started.
    #[error("cannot start the beacon reply thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The scenario text is not valid TOML for a scenario (the message has the line and column).
    #[error("invalid scenario TOML: {0}")]
    Toml(#[from] Box<toml::de::Error>),
    /// The scenario text is not valid JSON for a scenario (the message has the line and column).
    #[error("invalid scenario JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A scenario could not be written as TOML.
    #[error("cannot write scenario as TOML: {0}")]
    TomlWrite(#[from] toml::ser::Error),
    /// A scenario file could not be read.
    #[error("cannot read scenario file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A scenario file's name does not end in `.toml` or `.json`.
    #[error("scenario file {}: unknown extension (expected .toml or .json)", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A scenario file was read but its content is refused (the inner error says why).
    #[error("scenario file {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why its content is refused.
        #[source]
        source: Box<SimError>,
    },
}
