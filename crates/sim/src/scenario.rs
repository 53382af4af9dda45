//! [`Scenario`]: a seed and a list of beacons, read from TOML or JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::spec::BeaconSpec;

/// A set of beacons to run together, and the seed of their random decisions.
///
/// The same seed and the same sequence of datagrams to a beacon replay the same loss and
/// jitter decisions (each beacon has its own generator derived from the seed and its index).
///
/// Delay, jitter, loss, the reply faults and the hostile modes apply to UDP only, so a beacon
/// has a TCP port only where its TCP timing follows its scenario: it is `down` (refused),
/// `tcp_silent` (connects time out), or a zero-delay beacon answering intact; `tcp = "always"`
/// overrides that (see [`BeaconSpec::serves_tcp`] and the crate docs). Validation refuses a beacon left
/// with no port at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seed of every random decision. Default 0.
    #[serde(default)]
    pub seed: u64,
    /// The beacons, in order (the order of the beacon lists). Default none.
    #[serde(default)]
    pub beacons: Vec<BeaconSpec>,
}

impl Scenario {
    /// Parses and validates a scenario written in TOML.
    pub fn from_toml(text: &str) -> Result<Scenario, SimError> {
        let scenario: Scenario = toml::from_str(text).map_err(Box::new)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Parses and validates a scenario written in JSON.
    pub fn from_json(text: &str) -> Result<Scenario, SimError> {
        let scenario: Scenario = serde_json::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads a scenario file, `.toml` or `.json` by its extension (case-insensitive).
    pub fn load(path: &Path) -> Result<Scenario, SimError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let parse: fn(&str) -> Result<Scenario, SimError> = match extension.as_deref() {
            Some("toml") => Scenario::from_toml,
            Some("json") => Scenario::from_json,
            _ => {
                return Err(SimError::UnknownFormat {
                    path: path.to_owned(),
                });
            }
        };
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_owned(),
            source,
        })?;
        parse(&text).map_err(|e| SimError::File {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// The scenario as TOML text (the format of `scenarios/*.toml`).
    pub fn to_toml(&self) -> Result<String, SimError> {
        Ok(toml::to_string(self)?)
    }

    /// Checks every beacon (see [`BeaconSpec::validate`]), including that each has a port.
    pub fn validate(&self) -> Result<(), SimError> {
        self.beacons
            .iter()
            .enumerate()
            .try_for_each(|(index, beacon)| beacon.validate(index))
    }
}
