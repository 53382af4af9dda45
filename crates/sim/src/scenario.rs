//! [`Scenario`]: a seed, the shared network and a list of beacons, read from TOML or JSON.

use std::path::Path;

use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::SimError;
use crate::network::Network;
use crate::spec::BeaconSpec;

/// A set of beacons to run together, and the seed of their random decisions.
///
/// The same seed and the same sequence of datagrams to a beacon replay the same loss, jitter,
/// spike and burst decisions (each beacon has its own generators derived from the seed and its
/// index); the shared congestion episodes are a function of the seed and of the time since the
/// simulation started (see [`crate::network`]).
///
/// In a file, a scenario is `seed`, an optional `[network]` table ([`Network`]: what every
/// beacon shares, e.g. congestion episodes) and the `[[beacons]]`. In Rust the network is held
/// by every beacon ([`BeaconSpec::congestion`]), so that a scenario stays `{ seed, beacons }`;
/// [`Scenario::network`] and [`Scenario::set_network`] read and set it for all of them at
/// once, and validation refuses beacons that disagree. (A scenario without beacons therefore
/// has no network either.)
///
/// Delay, jitter, loss, the harsh network, the reply faults and the hostile modes apply to
/// UDP only, so a beacon has a TCP port only where its TCP timing follows its scenario: it is
/// `down` (refused), `tcp_silent` (connects time out), or a zero-delay beacon answering
/// intact; `tcp = "always"` overrides that (see [`BeaconSpec::serves_tcp`] and the crate
/// docs). Validation refuses a beacon left with no port at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scenario {
    /// Seed of every random decision. Default 0.
    pub seed: u64,
    /// The beacons, in order (the order of the beacon lists). Default none.
    pub beacons: Vec<BeaconSpec>,
}

/// A scenario as written in a file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    network: Network,
    #[serde(default)]
    beacons: Vec<BeaconSpec>,
}

/// A scenario as written to a file (borrowed).
#[derive(Serialize)]
struct ScenarioFileRef<'a> {
    seed: u64,
    #[serde(skip_serializing_if = "Network::is_empty")]
    network: Network,
    beacons: &'a [BeaconSpec],
}

impl<'de> Deserialize<'de> for Scenario {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = ScenarioFile::deserialize(deserializer)?;
        let mut scenario = Scenario {
            seed: file.seed,
            beacons: file.beacons,
        };
        scenario.set_network(file.network);
        Ok(scenario)
    }
}

impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(index) = self.network_mismatch() {
            return Err(S::Error::custom(format!(
                "beacon #{index} has another congestion than beacon #0: the [network] table is \
                 one for the whole scenario"
            )));
        }
        ScenarioFileRef {
            seed: self.seed,
            network: self.network(),
            beacons: &self.beacons,
        }
        .serialize(serializer)
    }
}

impl Scenario {
    /// The position of the answering beacon (not `down`, not `silent`) with the lowest
    /// configured delay: the right answer of a probe run against this scenario.
    pub fn closest(&self) -> Option<usize> {
        (0..self.beacons.len())
            .filter(|&i| !self.beacons[i].down && !self.beacons[i].silent)
            .min_by(|&a, &b| {
                self.beacons[a]
                    .delay_ms
                    .total_cmp(&self.beacons[b].delay_ms)
            })
    }

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

    /// What every beacon shares (the `[network]` table): the first beacon's
    /// [`BeaconSpec::congestion`] (all of them carry the same one in a valid scenario).
    pub fn network(&self) -> Network {
        Network {
            congestion: self.beacons.first().and_then(|b| b.congestion),
        }
    }

    /// Sets what every beacon shares on all of them. Set it again after adding beacons, as
    /// validation refuses beacons that disagree.
    pub fn set_network(&mut self, network: Network) {
        for beacon in &mut self.beacons {
            beacon.congestion = network.congestion;
        }
    }

    /// The first beacon whose congestion differs from the first one's.
    fn network_mismatch(&self) -> Option<usize> {
        let first = self.beacons.first()?.congestion;
        self.beacons.iter().position(|b| b.congestion != first)
    }

    /// Checks the `[network]` table and every beacon (see [`BeaconSpec::validate`]),
    /// including that each has a port, and that all beacons carry the same network.
    pub fn validate(&self) -> Result<(), SimError> {
        if let Some(index) = self.network_mismatch() {
            let beacon = &self.beacons[index];
            return Err(SimError::InvalidField {
                index,
                city: beacon.city.clone(),
                field: "congestion",
                reason: format!(
                    "{:?} differs from beacon #0's {:?}: the congestion episodes are one \
                     timeline for the whole scenario (set them with Scenario::set_network, or \
                     in the [network] table)",
                    beacon.congestion, self.beacons[0].congestion
                ),
            });
        }
        if let Some(congestion) = self.network().congestion {
            congestion
                .check()
                .map_err(|(field, reason)| SimError::InvalidNetwork { field, reason })?;
        }
        self.beacons
            .iter()
            .enumerate()
            .try_for_each(|(index, beacon)| beacon.validate(index))
    }
}
