//! [`MatchmakerConfig`]: the simulated matchmaker's token, pace and injected faults.

use serde::{Deserialize, Serialize};

/// How the simulated matchmaker behaves. Every field has a default; JSON uses the field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchmakerConfig {
    /// The token every request must carry raw in `Authorization` (no `token `/`Bearer `
    /// prefix: a prefix gives 401, as on Edgegap). Default `"sim-token"`.
    pub token: String,
    /// Polls of a ticket (or of a ready member) answered `SEARCHING` before `MATCH_FOUND`.
    /// Default 1.
    pub searching_polls: u32,
    /// Polls answered `MATCH_FOUND` before `HOST_ASSIGNED`. Default 1.
    pub match_found_polls: u32,
    /// Faults, tried in order before the normal answer (see [`Fault`]).
    pub faults: Vec<Fault>,
    /// What `GET locations/beacons` answers (the matchmaker shape); default an empty list.
    pub beacons: Option<serde_json::Value>,
}

impl Default for MatchmakerConfig {
    fn default() -> Self {
        Self {
            token: "sim-token".to_owned(),
            searching_polls: 1,
            match_found_polls: 1,
            faults: Vec::new(),
            beacons: None,
        }
    }
}

/// An injected answer: the next `times` requests that match `method` and start with
/// `path_prefix` (after the leading `/`) get `status` (with `Retry-After: retry_after` when
/// set) instead of their normal answer. Authorization is checked first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// The method it applies to; any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// The path prefix it applies to (e.g. `tickets/`); any when absent.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// The status to answer (e.g. 429, 500, 503, 404, 409).
    pub status: u16,
    /// `Retry-After` in seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// How many matching requests get it. Default 1.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}
