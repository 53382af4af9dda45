//! edgegap-api: typed clients for the Edgegap Integration API, a matchmaker and the server browser.
//!
//! * [`integration`]: the organisation's Integration API (locations, beacons, endpoint storage,
//!   pull profiles), `Authorization: token <API_TOKEN>`.
//! * [`matchmaker`]: a matchmaker's own API (beacons, tickets, groups), raw token.
//! * [`server_browser`]: server instances and seat reservations, raw token.
//!
//! The data types (above all the [`Beacon`] list in both published shapes, the ticket request
//! and response, [`ApiError`]) compile without the `http` feature, so a game client can parse a
//! beacon list without linking an HTTP stack. The clients need `http` (on by default).
//!
//! Tokens are newtypes ([`ApiToken`], [`MatchmakerToken`], [`ServerBrowserToken`]) whose
//! `Debug` and `Display` print `***`; no error or log line ever holds one.
#![cfg_attr(all(doctest, feature = "http"), doc = include_str!("../README.md"))]

pub mod beacon;
pub mod error;
pub mod integration;
pub mod matchmaker;
pub mod pagination;
pub mod redact;
#[cfg(feature = "http")]
mod schema;
pub mod server_browser;
pub mod token;
#[cfg(feature = "http")]
pub mod transport;

pub use beacon::{
    Beacon, BeaconList, BeaconListError, IntegrationBeacon, LocationData, MatchmakerBeacon,
    MatchmakerBeaconList, parse_beacon_list,
};
pub use error::{ApiError, ErrorBody, Service};
pub use pagination::{Page, Pagination, Paginator, PagingLimit, PagingLimits};
pub use token::{ApiToken, MatchmakerToken, SecretString, ServerBrowserToken};

#[cfg(feature = "http")]
pub use integration::IntegrationClient;
#[cfg(feature = "http")]
pub use matchmaker::{MatchmakerClient, WaitOptions};
#[cfg(feature = "http")]
pub use server_browser::ServerBrowserClient;
#[cfg(feature = "http")]
pub use tokio_util::sync::CancellationToken;
#[cfg(feature = "http")]
pub use transport::{HttpConfig, RetryPolicy};
