//! [`MatchmakerClient`]: beacons, tickets, groups and members of one matchmaker.

use reqwest::Method;

use super::{
    Group, GroupId, GroupMember, MatchmakerBeaconList, MemberId, MemberReadiness, Monitor, Ticket,
    TicketId, TicketRequest,
};
use crate::beacon::Beacon;
use crate::error::{ApiError, Service};
use crate::token::MatchmakerToken;
use crate::transport::{ApiClient, Call, ClientBuilder, Connection, Transport};

/// Client of one matchmaker's API (its own base URL, its own token sent raw). Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), edgegap_api::ApiError> {
/// use edgegap_api::matchmaker::TicketRequest;
/// use edgegap_api::{CancellationToken, MatchmakerClient, MatchmakerToken, WaitOptions};
/// let mm = MatchmakerClient::new("https://abc.edgegap.net", MatchmakerToken::new("..."))?;
/// let ticket = mm.create_ticket(&TicketRequest::new("casual", [("Chicago", 23.0)])).await?;
/// let assignment = mm
///     .wait_for_assignment(&ticket.id, &WaitOptions::default(), &CancellationToken::new())
///     .await?;
/// println!("connect to {}", assignment.fqdn);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MatchmakerClient {
    pub(super) transport: Transport,
}

/// Builder of a [`MatchmakerClient`].
pub type MatchmakerClientBuilder = ClientBuilder<MatchmakerClient>;

impl ApiClient for MatchmakerClient {
    type Token = MatchmakerToken;
    const SERVICE: Service = Service::Matchmaker;
    const DEFAULT_BASE_URL: Option<&'static str> = None;
    fn secret(token: &MatchmakerToken) -> &str {
        token.expose_secret()
    }
    fn from_connection(connection: Connection) -> Self {
        Self {
            transport: connection.0,
        }
    }
}

use super::{group_resource as group, member_resource as member, ticket_resource as ticket};

impl MatchmakerClient {
    /// A client for the matchmaker at `base_url` with default timeouts and retries.
    pub fn new(base_url: impl Into<String>, token: MatchmakerToken) -> Result<Self, ApiError> {
        Self::builder(base_url, token).build()
    }

    /// A builder, to change timeouts, retries or the `reqwest::Client`.
    pub fn builder(base_url: impl Into<String>, token: MatchmakerToken) -> MatchmakerClientBuilder {
        MatchmakerClientBuilder::new(token, Some(base_url.into()))
    }

    /// The base URL in use.
    pub fn base_url(&self) -> String {
        self.transport.base_url()
    }

    /// `GET monitor`: the matchmaker's health.
    pub async fn monitor(&self) -> Result<Monitor, ApiError> {
        let call = Call::new(Method::GET, "monitor", &["monitor"], "monitor");
        self.transport.json(call).await
    }

    /// `GET locations/beacons`, as the matchmaker sent it.
    pub async fn beacon_list(&self) -> Result<MatchmakerBeaconList, ApiError> {
        let call = Call::new(
            Method::GET,
            "list beacons",
            &["locations", "beacons"],
            "beacons",
        );
        self.transport
            .json_shaped(call, &crate::schema::MATCHMAKER_BEACON_LIST)
            .await
    }

    /// `GET locations/beacons`, as the workspace's [`Beacon`] type.
    pub async fn beacons(&self) -> Result<Vec<Beacon>, ApiError> {
        self.beacon_list()
            .await?
            .into_beacons()
            .map_err(|source| ApiError::BeaconList {
                service: Service::Matchmaker,
                operation: "list beacons",
                source: self.transport.scrub_beacon_error(source),
            })
    }

    /// `POST tickets`: enters matchmaking. Not retried (a retry could create a second ticket).
    pub async fn create_ticket(&self, request: &TicketRequest) -> Result<Ticket, ApiError> {
        let call = Call::new(
            Method::POST,
            "create ticket",
            &["tickets"],
            format!("ticket of profile {:?}", request.profile()),
        )
        .json(request)?;
        self.transport.json(call).await
    }

    /// `GET tickets/{id}`: the ticket's status and, once `HOST_ASSIGNED`, its assignment.
    pub async fn get_ticket(&self, id: &TicketId) -> Result<Ticket, ApiError> {
        let call = Call::new(
            Method::GET,
            "get ticket",
            &["tickets", id.as_str()],
            ticket(id),
        );
        self.transport.json(call).await
    }

    /// `DELETE tickets/{id}`: leaves matchmaking. 409 ([`ApiError::Conflict`]) once a match was
    /// found, 404 ([`ApiError::NotFound`]) when the ticket is gone.
    pub async fn delete_ticket(&self, id: &TicketId) -> Result<(), ApiError> {
        let call = Call::new(
            Method::DELETE,
            "delete ticket",
            &["tickets", id.as_str()],
            ticket(id),
        );
        self.transport.empty(call).await
    }

    /// `POST groups`: creates a group (party); the body is the owner's ticket request.
    pub async fn create_group(&self, request: &TicketRequest) -> Result<Group, ApiError> {
        let call = Call::new(
            Method::POST,
            "create group",
            &["groups"],
            format!("group of profile {:?}", request.profile()),
        )
        .json(request)?;
        self.transport.json(call).await
    }

    /// `GET groups/{gid}`.
    pub async fn get_group(&self, id: &GroupId) -> Result<Group, ApiError> {
        let call = Call::new(
            Method::GET,
            "get group",
            &["groups", id.as_str()],
            group(id),
        );
        self.transport.json(call).await
    }

    /// `DELETE groups/{gid}`.
    pub async fn delete_group(&self, id: &GroupId) -> Result<(), ApiError> {
        let call = Call::new(
            Method::DELETE,
            "delete group",
            &["groups", id.as_str()],
            group(id),
        );
        self.transport.empty(call).await
    }

    /// `POST groups/{gid}/members`: joins a group; the body is the member's ticket request.
    pub async fn join_group(
        &self,
        id: &GroupId,
        request: &TicketRequest,
    ) -> Result<GroupMember, ApiError> {
        let call = Call::new(
            Method::POST,
            "join group",
            &["groups", id.as_str(), "members"],
            group(id),
        )
        .json(request)?;
        self.transport.json(call).await
    }

    /// `GET groups/{gid}/members/{mid}`.
    pub async fn get_member(
        &self,
        group_id: &GroupId,
        member_id: &MemberId,
    ) -> Result<GroupMember, ApiError> {
        let call = Call::new(
            Method::GET,
            "get group member",
            &["groups", group_id.as_str(), "members", member_id.as_str()],
            member(group_id, member_id),
        );
        self.transport.json(call).await
    }

    /// `PATCH groups/{gid}/members/{mid}` with `{"is_ready": bool}`. When the matchmaker
    /// answers with an empty body, the member is returned as set.
    pub async fn set_member_ready(
        &self,
        group_id: &GroupId,
        member_id: &MemberId,
        is_ready: bool,
    ) -> Result<GroupMember, ApiError> {
        let call = Call::new(
            Method::PATCH,
            "set group member readiness",
            &["groups", group_id.as_str(), "members", member_id.as_str()],
            member(group_id, member_id),
        )
        .json(&MemberReadiness { is_ready })?;
        let fallback = GroupMember {
            id: member_id.clone(),
            group_id: Some(group_id.clone()),
            is_ready: Some(is_ready),
            ..GroupMember::default()
        };
        Ok(self
            .transport
            .json_or_empty(call)
            .await?
            .unwrap_or(fallback))
    }

    /// `DELETE groups/{gid}/members/{mid}`: leaves the group.
    pub async fn leave_group(
        &self,
        group_id: &GroupId,
        member_id: &MemberId,
    ) -> Result<(), ApiError> {
        let call = Call::new(
            Method::DELETE,
            "leave group",
            &["groups", group_id.as_str(), "members", member_id.as_str()],
            member(group_id, member_id),
        );
        self.transport.empty(call).await
    }
}
