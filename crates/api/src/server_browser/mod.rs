//! The server browser: persistent server instances a player can pick from a list, and seat
//! reservations on them.
//!
//! Its own base URL and raw token (`Authorization: <TOKEN>`). Instances carry free-form
//! `metadata` (games put the location city there). The answers are documented only loosely, so
//! every type keeps the fields it does not name in `extra`. The types compile without the
//! `http` feature; [`ServerBrowserClient`] needs it.

#[cfg(feature = "http")]
mod client;

#[cfg(feature = "http")]
pub use client::{ServerBrowserClient, ServerBrowserClientBuilder};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::beacon::LocationData;
use crate::matchmaker::id_newtype;

id_newtype!(
    /// A server instance's `request_id` (its deployment's request id).
    ServerInstanceId
);

/// Query of `GET server-instances`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInstanceQuery {
    /// Filter expression (`filter`), passed as given.
    pub filter: Option<String>,
    /// Sort order (`order`), passed as given.
    pub order: Option<String>,
    /// Page size (`limit`).
    pub limit: Option<u32>,
    /// Where to continue (`cursor`), from the previous page's [`ServerInstancePage::next_cursor`].
    pub cursor: Option<String>,
}

/// A server instance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerInstance {
    /// The instance's id.
    #[serde(default)]
    pub request_id: ServerInstanceId,
    /// Status text, when given.
    #[serde(default)]
    pub status: Option<String>,
    /// DNS name, when given.
    #[serde(default)]
    pub fqdn: Option<String>,
    /// Public IP, when given.
    #[serde(default)]
    pub public_ip: Option<String>,
    /// Where the instance runs, when given.
    #[serde(default)]
    pub location: Option<LocationData>,
    /// The game's free-form metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of `GET server-instances`.
///
/// The instances are read from `server_instances` (or `instances`, `items`, `data`); the next
/// cursor from `next_cursor` or `cursor`, at the top level or inside `pagination`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerInstancePage {
    /// The instances of this page.
    #[serde(default, alias = "instances", alias = "items", alias = "data")]
    pub server_instances: Vec<ServerInstance>,
    /// Every other field (cursor, pagination, counts).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ServerInstancePage {
    /// The cursor of the next page, `None` on the last page.
    pub fn next_cursor(&self) -> Option<&str> {
        fn cursor_in(map: &Map<String, Value>) -> Option<&str> {
            ["next_cursor", "cursor"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))
                .filter(|c| !c.is_empty())
        }
        cursor_in(&self.extra).or_else(|| {
            self.extra
                .get("pagination")
                .and_then(Value::as_object)
                .and_then(cursor_in)
        })
    }
}

/// A user to seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationUser {
    /// The game's id for the user.
    pub user_id: String,
}

impl ReservationUser {
    /// A user by id.
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
        }
    }
}

/// Body of `POST server-instances/reservations` (auto-assign seats by a policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatReservationRequest {
    /// The reservation policy that picks the instance.
    pub policy_name: String,
    /// The users to seat together.
    pub users: Vec<ReservationUser>,
}

/// Body of reserving a given slot or confirming reservations: `{"users": [{"user_id"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationUsers {
    /// The users.
    pub users: Vec<ReservationUser>,
}

/// Answer of a reservation call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SeatReservation {
    /// The instance the seats are on, when given.
    #[serde(default)]
    pub request_id: Option<ServerInstanceId>,
    /// Every other field (reservation ids, slots, expiry).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_cursor_is_found_where_servers_put_it() {
        let p: ServerInstancePage = serde_json::from_str(
            r#"{"server_instances": [{"request_id": "a"}], "next_cursor": "c2"}"#,
        )
        .unwrap();
        assert_eq!(p.next_cursor(), Some("c2"));
        let p: ServerInstancePage = serde_json::from_str(
            r#"{"instances": [{"request_id": "a", "metadata": {"city": "Oslo"}}], "pagination": {"next_cursor": "c3"}}"#,
        )
        .unwrap();
        assert_eq!(p.server_instances[0].metadata["city"], "Oslo");
        assert_eq!(p.next_cursor(), Some("c3"));
        let p: ServerInstancePage =
            serde_json::from_str(r#"{"server_instances": [], "next_cursor": null}"#).unwrap();
        assert_eq!(p.next_cursor(), None);
    }
}
