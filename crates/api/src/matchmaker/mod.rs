//! A matchmaker's own API: beacons, tickets, groups and their members.
//!
//! Each matchmaker has its own base URL and token, sent raw (`Authorization: <TOKEN>`).
//! The types here compile without the `http` feature; [`MatchmakerClient`] needs it.
//!
//! The ticket shapes follow Edgegap's documentation. The group and member answers are not
//! documented beyond their paths, so their types keep every field they do not name in `extra`.

#[cfg(feature = "http")]
mod client;
pub mod flow;
#[cfg(feature = "http")]
mod wait;

#[cfg(feature = "http")]
pub use client::{MatchmakerClient, MatchmakerClientBuilder};
#[cfg(feature = "http")]
pub use wait::WaitOptions;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::beacon::LocationData;

pub use crate::beacon::{MatchmakerBeacon, MatchmakerBeaconList};

/// The conventional name of the matchmaker rule of type `latencies`, and so of the ticket
/// attribute that carries the measured latencies.
pub const DEFAULT_LATENCY_ATTRIBUTE: &str = "beacons";

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id as the API gave it.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

pub(crate) use id_newtype;

id_newtype!(
    /// A matchmaking ticket's id.
    TicketId
);
id_newtype!(
    /// A group's (party's) id.
    GroupId
);
id_newtype!(
    /// A group member's id.
    MemberId
);

/// A ticket as errors name it: `ticket "abc"`.
pub(crate) fn ticket_resource(id: &TicketId) -> String {
    format!("ticket {:?}", id.as_str())
}

/// A group as errors name it: `group "g"`.
pub(crate) fn group_resource(id: &GroupId) -> String {
    format!("group {:?}", id.as_str())
}

/// A membership as errors name it: `member "m" of group "g"`.
pub(crate) fn member_resource(gid: &GroupId, mid: &MemberId) -> String {
    format!("member {:?} of group {:?}", mid.as_str(), gid.as_str())
}

/// Body of `POST tickets` (and of creating or joining a group):
/// `{"profile": ..., "attributes": {"beacons": {"Chicago": 12.3, ...}, ...}, "player_ip": ...}`.
///
/// The latencies go under one attribute, [`DEFAULT_LATENCY_ATTRIBUTE`] unless renamed with
/// [`TicketRequest::latency_attribute`]; keys are city names as the beacon list gives them and
/// values milliseconds. Non-finite or negative values are dropped: an unreachable location is
/// left out, never sent as a number.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRequest {
    profile: String,
    latency_attribute: String,
    latencies: BTreeMap<String, f64>,
    player_ip: Option<IpAddr>,
    attributes: Map<String, Value>,
}

impl TicketRequest {
    /// A request for `profile` with these latencies (city → milliseconds).
    pub fn new<K: Into<String>>(
        profile: impl Into<String>,
        latencies: impl IntoIterator<Item = (K, f64)>,
    ) -> Self {
        Self {
            profile: profile.into(),
            latency_attribute: DEFAULT_LATENCY_ATTRIBUTE.to_owned(),
            latencies: latencies
                .into_iter()
                .filter(|(_, ms)| ms.is_finite() && *ms >= 0.0)
                .map(|(city, ms)| (city.into(), ms))
                .collect(),
            player_ip: None,
            attributes: Map::new(),
        }
    }

    /// Sends the latencies under `name` (the name of the profile's `latencies` rule).
    #[must_use]
    pub fn latency_attribute(mut self, name: impl Into<String>) -> Self {
        self.latency_attribute = name.into();
        self
    }

    /// Sends the player's public IP (a backend creating tickets for players should).
    #[must_use]
    pub fn player_ip(mut self, ip: IpAddr) -> Self {
        self.player_ip = Some(ip);
        self
    }

    /// Adds another attribute the profile's rules expect (the matchmaker rejects unknown ones
    /// with HTTP 400). An attribute named like the latency attribute is overwritten by it.
    #[must_use]
    pub fn attribute(mut self, name: impl Into<String>, value: Value) -> Self {
        self.attributes.insert(name.into(), value);
        self
    }

    /// The profile.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// The latencies that will be sent (city → milliseconds).
    pub fn latencies(&self) -> &BTreeMap<String, f64> {
        &self.latencies
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let mut attributes = self.attributes.clone();
        let latencies: Map<String, Value> = self
            .latencies
            .iter()
            .filter_map(|(city, ms)| {
                serde_json::Number::from_f64(*ms).map(|n| (city.clone(), Value::Number(n)))
            })
            .collect();
        attributes.insert(self.latency_attribute.clone(), Value::Object(latencies));
        let mut body = Map::new();
        body.insert("profile".into(), Value::String(self.profile.clone()));
        body.insert("attributes".into(), Value::Object(attributes));
        if let Some(ip) = self.player_ip {
            body.insert("player_ip".into(), Value::String(ip.to_string()));
        }
        Value::Object(body)
    }
}

impl Serialize for TicketRequest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Where a ticket is in matchmaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    /// Looking for other players.
    Searching,
    /// Deprecated intermediate state.
    TeamFound,
    /// A match was found; a server is being assigned. The ticket can no longer be deleted.
    MatchFound,
    /// A server is assigned: see [`Ticket::assignment`].
    HostAssigned,
    /// The matchmaker cancelled the ticket.
    Cancelled,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// One port of an assigned server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PortMapping {
    /// Port inside the container.
    #[serde(default)]
    pub internal: u16,
    /// Port to connect to from outside.
    #[serde(default)]
    pub external: u16,
    /// `host:port` or URL to connect to.
    #[serde(default)]
    pub link: String,
    /// `UDP`, `TCP`, `HTTP`, ...
    #[serde(default)]
    pub protocol: String,
}

/// The server a ticket was assigned to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Assignment {
    /// The server's DNS name.
    #[serde(default)]
    pub fqdn: String,
    /// The server's public IP.
    #[serde(default)]
    pub public_ip: String,
    /// Ports by name.
    #[serde(default)]
    pub ports: BTreeMap<String, PortMapping>,
    /// Where the server is.
    #[serde(default)]
    pub location: Option<LocationData>,
}

/// A matchmaking ticket, as `POST tickets` and `GET tickets/{id}` return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The ticket's id.
    pub id: TicketId,
    /// The profile it matches in.
    #[serde(default)]
    pub profile: String,
    /// Creation time as the matchmaker formats it.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Where it is in matchmaking.
    pub status: TicketStatus,
    /// The player's IP, as the matchmaker saw or was told it.
    #[serde(default)]
    pub player_ip: Option<String>,
    /// The group, for a group member's ticket.
    #[serde(default)]
    pub group_id: Option<GroupId>,
    /// The team, once matched.
    #[serde(default)]
    pub team_id: Option<String>,
    /// The match, once found.
    #[serde(default)]
    pub match_id: Option<String>,
    /// The server, once `HOST_ASSIGNED`.
    #[serde(default)]
    pub assignment: Option<Assignment>,
}

/// Answer of `GET monitor`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Monitor {
    /// Health status text, when given.
    #[serde(default)]
    pub status: Option<String>,
    /// Matchmaker version, when given.
    #[serde(default)]
    pub version: Option<String>,
    /// Everything else the matchmaker said.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A group member (its membership ticket).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupMember {
    /// The member's id.
    #[serde(default)]
    pub id: MemberId,
    /// The group.
    #[serde(default)]
    pub group_id: Option<GroupId>,
    /// Whether the member said it is ready.
    #[serde(default)]
    pub is_ready: Option<bool>,
    /// Matchmaking status of the member's ticket, when given.
    #[serde(default)]
    pub status: Option<TicketStatus>,
    /// The member's IP, when given.
    #[serde(default)]
    pub player_ip: Option<String>,
    /// The server, once assigned.
    #[serde(default)]
    pub assignment: Option<Assignment>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A group (party).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Group {
    /// The group's id.
    #[serde(default)]
    pub id: GroupId,
    /// The profile, when given.
    #[serde(default)]
    pub profile: Option<String>,
    /// Matchmaking status, when given.
    #[serde(default)]
    pub status: Option<TicketStatus>,
    /// Members, when given.
    #[serde(default)]
    pub members: Vec<GroupMember>,
    /// Every other field (e.g. the owner's membership).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Group {
    /// The membership of the player who created the group, when the answer names it (the
    /// group answers are undocumented, so this looks where matchmakers put it): a
    /// `member_id`, `owner_id` or `owner_member_id` string, or the `id` of a `member` or
    /// `owner` object; else the only member listed.
    pub fn owner_member_id(&self) -> Option<MemberId> {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(MemberId::new);
        ["member_id", "owner_id", "owner_member_id"]
            .iter()
            .find_map(|k| self.extra.get(*k).and_then(text))
            .or_else(|| {
                ["member", "owner"]
                    .iter()
                    .find_map(|k| self.extra.get(*k).and_then(|o| o.get("id")).and_then(text))
            })
            .or_else(|| match self.members.as_slice() {
                [only] if !only.id.as_str().is_empty() => Some(only.id.clone()),
                _ => None,
            })
    }
}

/// Body of `PATCH groups/{gid}/members/{mid}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberReadiness {
    /// Ready or not.
    pub is_ready: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_body_carries_latencies_under_the_named_attribute() {
        let req = TicketRequest::new(
            "casual",
            [
                ("Chicago", 12.5),
                ("Tokyo", 233.0),
                ("Nowhere", f64::NAN),
                ("Neg", -1.0),
            ],
        )
        .player_ip("198.51.100.7".parse().unwrap());
        assert_eq!(
            req.to_json(),
            serde_json::json!({"profile": "casual", "player_ip": "198.51.100.7",
                "attributes": {"beacons": {"Chicago": 12.5, "Tokyo": 233.0}}})
        );
        let renamed = TicketRequest::new("p", [("Paris", 1.0)])
            .latency_attribute("ping")
            .attribute("mode", Value::String("ranked".into()));
        assert_eq!(
            serde_json::to_value(&renamed).unwrap(),
            serde_json::json!({"profile": "p", "attributes": {"ping": {"Paris": 1.0}, "mode": "ranked"}})
        );
    }

    #[test]
    fn the_owners_membership_is_found_where_matchmakers_put_it() {
        let owner = |json: &str| {
            serde_json::from_str::<Group>(json)
                .unwrap()
                .owner_member_id()
                .map(|m| m.as_str().to_owned())
        };
        assert_eq!(
            owner(r#"{"id": "g", "member_id": "m1"}"#).as_deref(),
            Some("m1")
        );
        assert_eq!(
            owner(r#"{"id": "g", "owner": {"id": "m2"}}"#).as_deref(),
            Some("m2")
        );
        assert_eq!(
            owner(r#"{"id": "g", "members": [{"id": "m3"}]}"#).as_deref(),
            Some("m3")
        );
        assert_eq!(
            owner(r#"{"id": "g", "members": [{"id": "a"}, {"id": "b"}]}"#),
            None
        );
    }

    #[test]
    fn tickets_parse_with_and_without_assignment() {
        let t: Ticket = serde_json::from_str(
            r#"{"id": "t1", "profile": "p", "status": "SEARCHING", "created_at": "now", "x": 1}"#,
        )
        .unwrap();
        assert_eq!(t.status, TicketStatus::Searching);
        assert!(t.assignment.is_none());
        let t: Ticket = serde_json::from_str(
            r#"{"id": "t1", "status": "HOST_ASSIGNED", "assignment": {"fqdn": "s.example",
              "public_ip": "203.0.113.9", "ports": {"game": {"internal": 7777, "external": 31000,
              "link": "s.example:31000", "protocol": "UDP"}}, "location": {"city": "Paris"}}}"#,
        )
        .unwrap();
        let a = t.assignment.unwrap();
        assert_eq!(a.ports["game"].external, 31000);
        assert_eq!(a.location.unwrap().city, "Paris");
        let t: Ticket = serde_json::from_str(r#"{"id": "t", "status": "WHATEVER"}"#).unwrap();
        assert_eq!(t.status, TicketStatus::Unknown);
    }
}
