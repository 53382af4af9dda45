//! The one error type of every client: [`ApiError`].
//!
//! It names no `reqwest` type, so it compiles without the `http` feature. Every variant that
//! comes from an HTTP answer keeps the status ([`ApiError::status`]) and the API's `message`
//! ([`ApiError::message`]). No variant ever holds a token: the clients scrub the token out of
//! anything a server sends back before it lands in an error.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::beacon::BeaconListError;
use crate::matchmaker::TicketId;
use crate::pagination::PagingLimit;

/// Which API an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// The Edgegap Integration API (`https://api.edgegap.com`, `Authorization: token <API_TOKEN>`).
    Integration,
    /// A matchmaker's own API (raw token).
    Matchmaker,
    /// The server browser (raw token).
    ServerBrowser,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Integration => "the Edgegap Integration API",
            Self::Matchmaker => "the matchmaker",
            Self::ServerBrowser => "the server browser",
        })
    }
}

impl Service {
    /// What to check when this service answers 401.
    fn auth_hint(self) -> &'static str {
        match self {
            Self::Integration => {
                "check the API token (it is sent as `Authorization: token <API_TOKEN>`) and that it was not revoked"
            }
            Self::Matchmaker | Self::ServerBrowser => {
                "send the token raw, without a `token `/`Bearer ` prefix, and check it belongs to this service"
            }
        }
    }
}

/// The `Error` schema of the Integration API: `{"message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    /// "A message depending of the request termination".
    #[serde(default)]
    pub message: String,
}

/// Everything that can go wrong calling an Edgegap API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// HTTP 400 or 422: the API rejected the request as malformed (for the matchmaker, often an
    /// attribute its profile does not know).
    #[error("{service} rejected the request (HTTP {status}) on {operation}: {message}")]
    BadRequest {
        /// Which API.
        service: Service,
        /// The HTTP status (400 or 422).
        status: u16,
        /// The operation, e.g. `create ticket`.
        operation: &'static str,
        /// The API's `message`.
        message: String,
    },
    /// HTTP 401: the token was refused.
    #[error("{service} refused the token (HTTP 401) on {operation}: {message}; {hint}", hint = service.auth_hint())]
    Unauthorized {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// The API's `message`.
        message: String,
    },
    /// HTTP 403: the token is valid but may not do this.
    #[error("{service} forbade {operation} (HTTP 403): {message}")]
    Forbidden {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// The API's `message`.
        message: String,
    },
    /// HTTP 404: the resource does not exist (or no longer does).
    #[error("{service}: {resource} was not found (HTTP 404) on {operation}: {message}")]
    NotFound {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// What was looked for, e.g. `ticket "abc"`.
        resource: String,
        /// The API's `message`.
        message: String,
    },
    /// HTTP 409: the resource is in a state that forbids this (a ticket whose match was found
    /// cannot be deleted; a name already taken).
    #[error("{service}: conflict on {resource} (HTTP 409) on {operation}: {message}")]
    Conflict {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// The resource, e.g. `ticket "abc"`.
        resource: String,
        /// The API's `message`.
        message: String,
    },
    /// HTTP 429 on every attempt (or on the last one the call's time budget allowed): rate
    /// limited. `retry_after` is what the server asked for, uncapped.
    #[error("{service} rate-limited {operation} (HTTP 429) after {attempts} attempt(s) ({retries} retried): {message}", retries = attempts.saturating_sub(1))]
    RateLimited {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// Requests sent in all (1 = not retried).
        attempts: u32,
        /// The last `Retry-After`, when the server sent one (as sent, not capped).
        retry_after: Option<Duration>,
        /// The API's `message`.
        message: String,
    },
    /// HTTP 5xx on every attempt.
    #[error("{service} failed on {operation} (HTTP {status}) after {attempts} attempt(s) ({retries} retried): {message}", retries = attempts.saturating_sub(1))]
    Server {
        /// Which API.
        service: Service,
        /// The last HTTP status (500..=599).
        status: u16,
        /// The operation.
        operation: &'static str,
        /// Requests sent in all (1 = not retried).
        attempts: u32,
        /// The API's `message`.
        message: String,
    },
    /// Any other non-success status (3xx, other 4xx).
    #[error("{service} answered {operation} with unexpected HTTP {status}: {message}")]
    UnexpectedStatus {
        /// Which API.
        service: Service,
        /// The HTTP status.
        status: u16,
        /// The operation.
        operation: &'static str,
        /// The API's `message`, or a short excerpt of the body.
        message: String,
    },
    /// The answer was not the JSON the operation expects.
    #[error(
        "{service} sent malformed JSON for {operation}: {reason}; body starts with: {excerpt:?}"
    )]
    Json {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// What the JSON parser said.
        reason: String,
        /// The first characters of the body.
        excerpt: String,
    },
    /// The answer is larger than the configured limit; it was not read whole.
    #[error("{service} sent a body larger than the {limit}-byte limit for {operation} ({}); reading stopped", size_text(*declared, *received))]
    BodyTooLarge {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// The configured limit, in bytes.
        limit: u64,
        /// The `Content-Length` the server announced, if any.
        declared: Option<u64>,
        /// Bytes received before reading stopped.
        received: u64,
    },
    /// A success answer that lacks a field the API requires (or has it of the wrong kind),
    /// e.g. a beacon listing without its `locations` array: an answer of the wrong shape is
    /// never read as an empty list. See the crate docs for what each operation requires.
    #[error("{service} answered {operation} with a body of the wrong shape: `{field}` {problem}")]
    Schema {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// Where in the answer, e.g. `locations` or `locations[3].location.city` (built from
        /// the client's own field names, never from the server's text).
        field: String,
        /// What is wrong with it, e.g. `is missing`, `is null`, `is not an array`.
        problem: &'static str,
    },
    /// A paged listing did not end within the client's [`crate::PagingLimits`]: the server
    /// kept announcing further pages.
    #[error(
        "{service} did not end the {operation} listing within {limit} ({pages} page(s), {items} item(s) received); raise the client's PagingLimits if the listing really is that long"
    )]
    PagingLimitReached {
        /// Which API.
        service: Service,
        /// The listing operation.
        operation: &'static str,
        /// Which limit was reached.
        limit: PagingLimit,
        /// Pages received.
        pages: u32,
        /// Items received (and passed on) before stopping.
        items: u64,
    },
    /// No answer within the configured time: the per-request timeout, or the call's whole
    /// time budget (retries included), whichever ran out first.
    #[error("{service} did not answer {operation} at {url} within {timeout:?}")]
    Timeout {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// The URL (never holds a token or user info).
        url: String,
        /// The timeout that expired ([`crate::HttpConfig::request_timeout`] or
        /// [`crate::HttpConfig::call_timeout`]).
        timeout: Duration,
    },
    /// The request could not be sent or the answer not received (DNS, connect, TLS, reset).
    #[error("{service}: {operation} at {url} failed after {attempts} attempt(s): {reason}")]
    Transport {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// The URL (never holds a token or user info).
        url: String,
        /// Requests tried.
        attempts: u32,
        /// What went wrong, with its causes.
        reason: String,
        /// Whether it failed while connecting (safe to retry any request).
        connect: bool,
    },
    /// The client was configured wrongly (bad base URL, empty token, unbuildable HTTP client).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// An argument cannot be sent (e.g. an empty id in a path).
    #[error("invalid argument for {operation}: {reason}")]
    InvalidArgument {
        /// The operation.
        operation: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A beacon list arrived but one of its entries cannot be probed.
    #[error("{service} sent an unusable beacon list for {operation}: {source}")]
    BeaconList {
        /// Which API.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// What is wrong with the list.
        #[source]
        source: BeaconListError,
    },
    /// The matchmaker cancelled the ticket (status `CANCELLED`).
    #[error("the matchmaker cancelled ticket {ticket_id}")]
    TicketCancelled {
        /// The ticket.
        ticket_id: TicketId,
    },
    /// The caller cancelled the wait; the ticket was deleted if `ticket_deleted`.
    #[error("waiting for ticket {ticket_id} was cancelled ({})", if *ticket_deleted { "ticket deleted" } else { "the ticket could not be deleted" })]
    Cancelled {
        /// The ticket.
        ticket_id: TicketId,
        /// Whether the DELETE succeeded (or the ticket was already gone).
        ticket_deleted: bool,
    },
    /// The wait exceeded its overall timeout; the ticket was deleted if `ticket_deleted`.
    #[error("no assignment for ticket {ticket_id} within {waited:?} ({})", if *ticket_deleted { "ticket deleted" } else { "the ticket could not be deleted" })]
    WaitTimedOut {
        /// The ticket.
        ticket_id: TicketId,
        /// How long the wait lasted.
        waited: Duration,
        /// Whether the DELETE succeeded (or the ticket was already gone).
        ticket_deleted: bool,
    },
    /// The ticket could not be cancelled (DELETE answered 409): the matchmaker had already
    /// found its match. Poll it (e.g. a flow made with `MatchmakingFlow::resume_ticket`) for
    /// its server, or let the match go.
    #[error(
        "ticket {ticket_id} could not be cancelled: the matchmaker already found its match (HTTP 409)"
    )]
    AlreadyMatched {
        /// The ticket (a member's id for a group).
        ticket_id: TicketId,
    },
    /// Matchmaking was cancelled (or timed out) before the ticket or membership existed:
    /// nothing was entered, so nothing needed deleting.
    #[error("matchmaking was cancelled before {operation} succeeded: nothing to delete")]
    CancelledBeforeEntry {
        /// The creating operation, e.g. `create ticket`.
        operation: &'static str,
    },
    /// Polling a ticket failed too many times in a row.
    #[error("gave up polling ticket {ticket_id} after {errors} consecutive errors; last: {last}")]
    TooManyErrors {
        /// The ticket.
        ticket_id: TicketId,
        /// Consecutive errors.
        errors: u32,
        /// The last one.
        #[source]
        last: Box<ApiError>,
    },
}

/// Reads a `Retry-After` header given in seconds. (The HTTP-date form is not read; the
/// backoff applies then.)
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Where an error answer came from, for [`ApiError::from_status`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatusContext<'a> {
    /// Which API.
    pub service: Service,
    /// The operation, e.g. `get ticket`.
    pub operation: &'static str,
    /// What was asked for, e.g. `ticket "abc"`, already scrubbed of secrets.
    pub resource: &'a str,
    /// Requests sent for this call so far.
    pub attempts: u32,
}

fn size_text(declared: Option<u64>, received: u64) -> String {
    match declared {
        Some(len) => format!("Content-Length {len}, {received} bytes read"),
        None => format!("{received} bytes received before stopping"),
    }
}

impl ApiError {
    /// The error for a non-success HTTP `status` (the one classification of every client and
    /// of the sans-I/O flows): 400/422, 401, 403, 404, 409, 429 (keeping `retry_after`), 5xx,
    /// else [`ApiError::UnexpectedStatus`]. `message` must already be scrubbed of secrets.
    pub(crate) fn from_status(
        context: StatusContext<'_>,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    ) -> Self {
        let StatusContext {
            service,
            operation,
            resource,
            attempts,
        } = context;
        match status {
            400 | 422 => Self::BadRequest {
                service,
                status,
                operation,
                message,
            },
            401 => Self::Unauthorized {
                service,
                operation,
                message,
            },
            403 => Self::Forbidden {
                service,
                operation,
                message,
            },
            404 => Self::NotFound {
                service,
                operation,
                resource: resource.to_owned(),
                message,
            },
            409 => Self::Conflict {
                service,
                operation,
                resource: resource.to_owned(),
                message,
            },
            429 => Self::RateLimited {
                service,
                operation,
                attempts,
                retry_after,
                message,
            },
            500..=599 => Self::Server {
                service,
                status,
                operation,
                attempts,
                message,
            },
            _ => Self::UnexpectedStatus {
                service,
                status,
                operation,
                message,
            },
        }
    }

    /// The HTTP status this error came from, if it came from an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::BadRequest { status, .. }
            | Self::Server { status, .. }
            | Self::UnexpectedStatus { status, .. } => Some(*status),
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Conflict { .. } | Self::AlreadyMatched { .. } => Some(409),
            Self::RateLimited { .. } => Some(429),
            Self::TooManyErrors { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The API's `message`, if the error came from an answer.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::BadRequest { message, .. }
            | Self::Unauthorized { message, .. }
            | Self::Forbidden { message, .. }
            | Self::NotFound { message, .. }
            | Self::Conflict { message, .. }
            | Self::RateLimited { message, .. }
            | Self::Server { message, .. }
            | Self::UnexpectedStatus { message, .. } => Some(message),
            Self::TooManyErrors { last, .. } => last.message(),
            _ => None,
        }
    }

    /// Whether trying again later may succeed (429, 5xx, timeouts, connection failures).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Transport { .. }
        )
    }

    /// The server's `Retry-After`, for a 429 that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_401_text_tells_matchmaker_users_to_drop_the_prefix() {
        let mm = ApiError::Unauthorized {
            service: Service::Matchmaker,
            operation: "get ticket",
            message: "Unauthorized".into(),
        };
        let text = mm.to_string();
        assert!(text.contains("refused the token"), "{text}");
        assert!(
            text.contains("without a `token `/`Bearer ` prefix"),
            "{text}"
        );
        let v1 = ApiError::Unauthorized {
            service: Service::Integration,
            operation: "list beacons",
            message: "bad token".into(),
        };
        assert!(v1.to_string().contains("Authorization: token"), "{v1}");
        assert_eq!(v1.status(), Some(401));
        assert_eq!(v1.message(), Some("bad token"));
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn retried_errors_say_how_often() {
        let e = ApiError::Server {
            service: Service::Integration,
            status: 503,
            operation: "list beacons",
            attempts: 4,
            message: "down".into(),
        };
        assert!(
            e.to_string().contains("after 4 attempt(s) (3 retried)"),
            "{e}"
        );
        assert!(e.is_transient());
    }
}
