//! The command line's error: what went wrong, what to do, and which exit code it maps to.
//!
//! No variant ever holds a token: the API clients keep theirs out of their errors, and the
//! command line never formats one.

use std::path::PathBuf;

use edgegap_probe::api::{ApiError, BeaconListError, Service};
use edgegap_probe::{ProbeError, UnreachableCode};

use crate::exit;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments make no sense together (clap checks the rest).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
    /// A file (or stdin) could not be read.
    #[error("cannot read {}: {source}", show(path))]
    Read {
        /// The file; `-` for stdin.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Writing to stdout failed (a closed pipe is not an error; see `app`).
    #[error("cannot write the output: {0}")]
    Write(#[source] std::io::Error),
    /// A beacon list that is neither published shape, or has an unusable entry.
    #[error("the beacon list from {from} is unusable: {source}")]
    BeaconList {
        /// Where it came from (a file name, `stdin`, a URL).
        from: String,
        /// What is wrong with it.
        #[source]
        source: BeaconListError,
    },
    /// A beacon list with no beacon.
    #[error("the beacon list from {from} is empty: there is nothing to probe")]
    EmptyList {
        /// Where it came from.
        from: String,
    },
    /// Some other unusable input (a request body, a scenario).
    #[error("{0}")]
    BadInput(String),
    /// The probe could not run.
    #[error("the probe failed: {0}")]
    Probe(#[source] ProbeError),
    /// The probe ran and no location answered.
    #[error("no location reachable: none of the {beacons} beacon(s) answered")]
    NothingReachable {
        /// How many beacons were probed.
        beacons: usize,
        /// The distinct unreachable codes of the report (the hint is chosen from them).
        codes: Vec<UnreachableCode>,
    },
    /// Locations answered, but all above `--max-latency-ms`.
    #[error(
        "no location within the latency limit: {answered} location(s) answered, all above \
         --max-latency-ms"
    )]
    AboveLimit {
        /// How many locations answered.
        answered: usize,
    },
    /// `--deployable-for`: no beacon is in a location that can take a deployment now.
    #[error(
        "no location to rank: none of the {beacons} beacon(s) is in one of the {deployable} \
         location(s) that can take a deployment of {wanted} now"
    )]
    NothingDeployable {
        /// APP/VERSION.
        wanted: String,
        /// How many beacons there were.
        beacons: usize,
        /// How many locations the API called deployable.
        deployable: usize,
    },
    /// An Edgegap API or matchmaker call failed.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// The simulated beacons could not start.
    #[error("{0}")]
    Sim(#[from] edgegap_beacon_sim::SimError),
    /// Ctrl-C.
    #[error("interrupted{}", .0.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Interrupted(Option<String>),
    /// Anything else (a runtime that cannot start, a JSON encoding failure).
    #[error("{0}")]
    Other(String),
}

fn show(path: &std::path::Path) -> String {
    if path.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

const ICMP_HINT: &str = "ICMP echo needs permission: probe with `--protocol udp` (or tcp), or allow \
                         unprivileged ICMP sockets with \
                         `sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`";

const SHAPE_HINT: &str = "a beacons file must be {\"locations\": [...]} (Edgegap v1 API, GET \
                          /v1/locations/beacons) or {\"beacons\": [...]} (matchmaker, GET \
                          /locations/beacons); `edgegap-probe beacon` prints one";

impl CliError {
    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// The process exit code for this error (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage { .. } => exit::USAGE,
            Self::Read { .. } | Self::Write(_) | Self::Sim(_) | Self::Other(_) => exit::FAILURE,
            Self::BeaconList { .. } | Self::EmptyList { .. } | Self::BadInput(_) => exit::BAD_INPUT,
            Self::Probe(err) => match err {
                ProbeError::NoBeacons | ProbeError::BeaconList(_) => exit::BAD_INPUT,
                ProbeError::InvalidConfig(_) => exit::USAGE,
                _ => exit::FAILURE,
            },
            Self::NothingReachable { .. }
            | Self::AboveLimit { .. }
            | Self::NothingDeployable { .. } => exit::NO_LOCATION_REACHABLE,
            Self::Api(err) => match err {
                ApiError::BeaconList { .. } => exit::BAD_INPUT,
                ApiError::Cancelled { .. } => exit::INTERRUPTED,
                _ => exit::API,
            },
            Self::Interrupted(_) => exit::INTERRUPTED,
        }
    }

    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Usage { hint, .. } => hint.clone(),
            Self::Read { source, .. } if source.kind() == std::io::ErrorKind::InvalidData => Some(
                "the file is not UTF-8 text: a beacon list is JSON (save it as UTF-8)".to_owned(),
            ),
            Self::Read { path, .. } if path.as_os_str() != "-" => Some(format!(
                "check that {} exists and is readable",
                path.display()
            )),
            Self::BeaconList { .. } | Self::Probe(ProbeError::BeaconList(_)) => {
                Some(SHAPE_HINT.to_owned())
            }
            Self::EmptyList { .. } | Self::Probe(ProbeError::NoBeacons) => Some(
                "give beacons with --beacons-file, --beacon CITY=HOST:PORT, --matchmaker-url or \
                 --api-token; a matchmaker or API answering an empty list has no beacon deployed"
                    .to_owned(),
            ),
            Self::NothingReachable { codes, .. } => Some(unreachable_hint(codes)),
            Self::Probe(ProbeError::InvalidConfig(_)) => {
                Some("see `edgegap-probe probe --help` for each option's range".to_owned())
            }
            Self::AboveLimit { .. } => {
                Some("raise --max-latency-ms, or leave it out to rank every location".to_owned())
            }
            Self::NothingDeployable { deployable: 0, .. } => Some(
                "the Edgegap API lists no location with capacity for that app version now: \
                 check the app and version names (`edgegap-probe locations --app APP \
                 --version VERSION` shows the list and the API's messages), or drop \
                 --deployable-for to rank every location"
                    .to_owned(),
            ),
            Self::NothingDeployable { .. } => Some(
                "beacons are matched to deployable locations by city and country: compare \
                 `edgegap-probe locations --app APP --version VERSION` with the beacon list, \
                 or drop --deployable-for to rank every location"
                    .to_owned(),
            ),
            Self::Api(err) => api_hint(err),
            Self::Sim(_) => Some(
                "simulated beacons bind loopback addresses (127.0.0.0/8); on macOS only 127.0.0.1 \
                 exists unless aliases are added, and a fixed port may already be in use"
                    .to_owned(),
            ),
            Self::Probe(ProbeError::Engine(_)) => {
                Some(format!("if ICMP was asked for: {ICMP_HINT}"))
            }
            _ => None,
        }
    }
}

/// The hint for a run where nothing answered, chosen from the unreachable codes (never from
/// the reasons' wording).
fn unreachable_hint(codes: &[UnreachableCode]) -> String {
    if codes.contains(&UnreachableCode::PermissionDenied) {
        ICMP_HINT.to_owned()
    } else if codes.contains(&UnreachableCode::Deadline) {
        "the run's deadline passed before the beacons answered: raise --deadline-ms (each \
         beacon's reason is listed above, or in --json)"
            .to_owned()
    } else if codes.contains(&UnreachableCode::ResolveFailed) {
        "a beacon's host name did not resolve: check the name and the DNS (reasons above, or in \
         --json)"
            .to_owned()
    } else {
        "each beacon's reason is listed above (or in --json); check the addresses and the \
         network (a firewall dropping UDP? try `--protocol tcp`) or raise --timeout-ms"
            .to_owned()
    }
}

fn api_hint(err: &ApiError) -> Option<String> {
    match err {
        ApiError::Unauthorized {
            service: Service::Matchmaker,
            ..
        } => Some(
            "pass the matchmaker's own token with --matchmaker-token or EDGEGAP_MATCHMAKER_TOKEN \
             (not the Edgegap API token)"
                .to_owned(),
        ),
        ApiError::Unauthorized { .. } => Some(
            "pass the organisation's API token with --api-token or EDGEGAP_API_TOKEN".to_owned(),
        ),
        ApiError::Transport { .. } | ApiError::Timeout { .. } => {
            Some("check the URL and the network; the server did not answer".to_owned())
        }
        ApiError::RateLimited { .. } => Some(
            "the listing endpoints are rate limited; cache the beacon list (save it once and use \
             --beacons-file)"
                .to_owned(),
        ),
        ApiError::BeaconList { .. } => Some(SHAPE_HINT.to_owned()),
        _ => None,
    }
}
