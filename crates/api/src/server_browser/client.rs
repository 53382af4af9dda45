//! [`ServerBrowserClient`]: list server instances and reserve seats.

use futures::Stream;
use reqwest::Method;

use super::{
    ReservationUsers, SeatReservation, SeatReservationRequest, ServerInstance, ServerInstanceId,
    ServerInstancePage, ServerInstanceQuery,
};
use crate::error::{ApiError, Service};
use crate::pagination::{PageWalk, walk_pages};
use crate::token::ServerBrowserToken;
use crate::transport::{ApiClient, Call, ClientBuilder, Connection, Transport};

/// Client of a server browser (its own base URL, its own token sent raw). Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), edgegap_api::ApiError> {
/// use futures::TryStreamExt;
/// use edgegap_api::server_browser::ServerInstanceQuery;
/// use edgegap_api::{ServerBrowserClient, ServerBrowserToken};
/// let sb = ServerBrowserClient::new("https://browser.example", ServerBrowserToken::new("..."))?;
/// let all: Vec<_> = sb.server_instances_stream(ServerInstanceQuery::default()).try_collect().await?;
/// println!("{} servers", all.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ServerBrowserClient {
    transport: Transport,
}

/// Builder of a [`ServerBrowserClient`].
pub type ServerBrowserClientBuilder = ClientBuilder<ServerBrowserClient>;

impl ApiClient for ServerBrowserClient {
    type Token = ServerBrowserToken;
    const SERVICE: Service = Service::ServerBrowser;
    const DEFAULT_BASE_URL: Option<&'static str> = None;
    fn secret(token: &ServerBrowserToken) -> &str {
        token.expose_secret()
    }
    fn from_connection(connection: Connection) -> Self {
        Self {
            transport: connection.0,
        }
    }
}

fn instance(id: &ServerInstanceId) -> String {
    format!("server instance {:?}", id.as_str())
}

impl ServerBrowserClient {
    /// A client for the server browser at `base_url` with default timeouts and retries.
    pub fn new(base_url: impl Into<String>, token: ServerBrowserToken) -> Result<Self, ApiError> {
        Self::builder(base_url, token).build()
    }

    /// A builder, to change timeouts, retries or the `reqwest::Client`.
    pub fn builder(
        base_url: impl Into<String>,
        token: ServerBrowserToken,
    ) -> ServerBrowserClientBuilder {
        ServerBrowserClientBuilder::new(token, Some(base_url.into()))
    }

    /// The base URL in use.
    pub fn base_url(&self) -> String {
        self.transport.base_url()
    }

    /// `GET server-instances?filter=&order=&limit=&cursor=`: one page.
    pub async fn list_server_instances(
        &self,
        query: &ServerInstanceQuery,
    ) -> Result<ServerInstancePage, ApiError> {
        let call = Call::new(
            Method::GET,
            "list server instances",
            &["server-instances"],
            "server instances",
        )
        .query("filter", query.filter.as_deref())
        .query("order", query.order.as_deref())
        .query("limit", query.limit)
        .query("cursor", query.cursor.as_deref());
        self.transport
            .json_shaped(call, &crate::schema::SERVER_INSTANCE_PAGE)
            .await
    }

    /// Every server instance, following the cursor page after page. Ends on a page without a
    /// next cursor, an empty page, a page identical to the previous one, or a cursor already
    /// fetched (no loops; a repeated page's instances are not passed on twice). Fails with
    /// [`ApiError::PagingLimitReached`] past the client's [`crate::PagingLimits`].
    pub fn server_instances_stream(
        &self,
        query: ServerInstanceQuery,
    ) -> impl Stream<Item = Result<ServerInstance, ApiError>> + Send + 'static {
        let client = self.clone();
        let walk = PageWalk {
            service: Service::ServerBrowser,
            operation: "list server instances",
            limits: self.transport.config().paging,
        };
        let first = query.cursor.clone();
        walk_pages(
            first,
            walk,
            move |cursor: Option<String>| {
                let client = client.clone();
                let query = ServerInstanceQuery {
                    cursor,
                    ..query.clone()
                };
                async move { client.list_server_instances(&query).await }
            },
            |page: ServerInstancePage, _: &Option<String>| {
                let next = page.next_cursor().map(|c| Some(c.to_owned()));
                (page.server_instances, next)
            },
        )
    }

    /// `GET server-instances/{request_id}`.
    pub async fn get_server_instance(
        &self,
        id: &ServerInstanceId,
    ) -> Result<ServerInstance, ApiError> {
        let call = Call::new(
            Method::GET,
            "get server instance",
            &["server-instances", id.as_str()],
            instance(id),
        );
        self.transport.json(call).await
    }

    /// `POST server-instances/reservations`: seats the users on an instance the policy picks.
    pub async fn reserve_seats(
        &self,
        request: &SeatReservationRequest,
    ) -> Result<SeatReservation, ApiError> {
        let call = Call::new(
            Method::POST,
            "reserve seats",
            &["server-instances", "reservations"],
            format!("reservation policy {:?}", request.policy_name),
        )
        .json(request)?;
        self.transport.json(call).await
    }

    /// `POST server-instances/{request_id}/slots/{slot}/reservations`: seats the users in a
    /// given slot of a given instance.
    pub async fn reserve_slot(
        &self,
        id: &ServerInstanceId,
        slot: &str,
        users: &ReservationUsers,
    ) -> Result<SeatReservation, ApiError> {
        let call = Call::new(
            Method::POST,
            "reserve slot",
            &[
                "server-instances",
                id.as_str(),
                "slots",
                slot,
                "reservations",
            ],
            format!("slot {slot:?} of {}", instance(id)),
        )
        .json(users)?;
        self.transport.json(call).await
    }

    /// `POST server-instances/{request_id}/reservations/confirm`: the users arrived.
    pub async fn confirm_reservations(
        &self,
        id: &ServerInstanceId,
        users: &ReservationUsers,
    ) -> Result<SeatReservation, ApiError> {
        let call = Call::new(
            Method::POST,
            "confirm reservations",
            &["server-instances", id.as_str(), "reservations", "confirm"],
            format!("reservations on {}", instance(id)),
        )
        .json(users)?;
        Ok(self
            .transport
            .json_or_empty(call)
            .await?
            .unwrap_or_default())
    }
}
