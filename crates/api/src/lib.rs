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
//!
//! # Bounded waits (defaults)
//!
//! Every wait of the clients has a limit, set with [`HttpConfig`] (`http_config`) or the
//! builders' `request_timeout`, `call_timeout` and `paging_limits`:
//!
//! | what | default | when it runs out |
//! | --- | --- | --- |
//! | connecting (TCP + TLS), [`HttpConfig::connect_timeout`] | 5 s | [`ApiError::Timeout`] or [`ApiError::Transport`] |
//! | one request, headers **and** body, [`HttpConfig::request_timeout`] | 10 s | [`ApiError::Timeout`] (an error body that does not arrive in time only loses its message) |
//! | one call with all its retries and delays, [`HttpConfig::call_timeout`] | 30 s | the last error ([`ApiError::RateLimited`] keeps the server's `Retry-After`), or [`ApiError::Timeout`] naming the budget |
//! | retries of 429 / 5xx / failed connections (GET, PUT, DELETE), [`RetryPolicy::max_retries`] | 3, backoff 250 ms doubling to 5 s, with jitter | the last error |
//! | a server's `Retry-After`, [`RetryPolicy::max_retry_after`] | 10 s | waited for 10 s at most; a delay that would pass the call budget is not slept: the call ends with [`ApiError::RateLimited`] |
//! | a response body, [`HttpConfig::max_body_bytes`] | 8 MiB | [`ApiError::BodyTooLarge`] |
//! | one paged listing (every `*_stream`, `IntegrationClient::beacons`), [`PagingLimits`] | 1,000 pages, 100,000 items, 60 s spent waiting for pages | [`ApiError::PagingLimitReached`] naming the [`PagingLimit`] |
//!
//! A listing also ends (with a warning in the log, not an error) when the server sends the same
//! page twice or points back to a page or cursor already fetched; the repeated page's items
//! are not passed on twice.
//!
//! # What a success answer must hold
//!
//! An answer of the wrong shape is [`ApiError::Schema`] naming the field (built from the
//! client's own field names), never an empty list. The clients require (the data types
//! themselves stay lenient, for files and other callers):
//!
//! * every field the spec (`spec/edgegap-integration.openapi.json`) marks required in a success
//!   answer: `count` and each beacon's `host` and `location` (beacon list); all seven
//!   `LocationData` fields (locations, beacon locations); `name`, `access_key_id`, `endpoint`,
//!   `bucket` (endpoint storage get / create and list entries); `name`, `source`,
//!   `source_type`, `destination` (pull profile get / create and list entries); `app`,
//!   `app_version`, `endpoint`, `pull_profile` (link);
//! * the listed array of every listing (`locations`, `endpoints`, `pull_profiles`, a
//!   matchmaker's `beacons`, one of the server browser's instance arrays), which the spec leaves
//!   optional: it may be absent only when the answer's count (`count`, `total_count`) is 0;
//! * not enforced: `total_count` and `pagination`, which the spec requires of the location and
//!   pull-profile listings but the clients page without (a page shorter than the limit ends the
//!   listing, and so does a `pagination` object that holds neither `has_next` nor
//!   `next_page_number`, such as the `{}` the endpoint-storage listing may send); the update
//!   answers, for which the spec requires nothing.
//! * with an `X-Fields` mask (`IntegrationClient::list_endpoint_storages_masked`), only the
//!   `endpoints` array: its entries hold the masked fields alone.
//!
//! Unknown extra fields are always accepted. A value of the wrong type is [`ApiError::Json`].
//!
//! # Redaction
//!
//! Everything a server sent back (API messages, JSON parser complaints, body excerpts, beacon
//! cities and hosts, ids it put in paths) is scrubbed of the client's token, and of the
//! password of a base URL holding user info, **after** it is formatted and **before** it is cut
//! to length, so no prefix of a token survives a cut. URLs are printed without user info
//! everywhere (errors, logs, `Debug`, `base_url()`). A token of fewer than
//! [`redact::MIN_SUBSTRING_REDACTION_CHARS`] (8) characters is accepted but redacted only
//! where it stands as a whole word: redacting a two-letter token inside every word would
//! mangle hosts and messages (`mm.e***ample`) while hiding nothing of value. See [`redact`].
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
    Beacon, BeaconList, BeaconListError, IntegrationBeacon, LocationData, MAX_BEACONS,
    MatchmakerBeacon, MatchmakerBeaconList, parse_beacon_list, parse_beacon_list_limited,
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
