//! [`IntegrationClient`]: the 14 operations of the Integration API (and an `X-Fields` variant of
//! the endpoint-storage listing).

use futures::Stream;
use reqwest::Method;

use super::{
    EndpointStorage, EndpointStorageCreate, EndpointStorageList, EndpointStorageUpdate,
    LocationList, LocationQuery, MaskedEndpointStorageList, PageQuery, PullProfile,
    PullProfileCreate, PullProfileLink, PullProfileList, PullProfileUpdate,
};
use crate::beacon::{Beacon, BeaconList, IntegrationBeacon, LocationData};
use crate::error::{ApiError, Service};
use crate::pagination::{Page, PageWalk, page_stream};
use crate::schema;
use crate::token::ApiToken;
use crate::transport::{ApiClient, Call, ClientBuilder, Connection, Transport};

/// The Integration API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.edgegap.com";

/// Page size the streams and [`IntegrationClient::beacons`] use when none is given.
const DEFAULT_PAGE_SIZE: u32 = 100;

/// Client of the Edgegap Integration API. Cheap to clone (clones share one connection pool).
///
/// ```no_run
/// # async fn demo() -> Result<(), edgegap_api::ApiError> {
/// use edgegap_api::{ApiToken, IntegrationClient};
/// let client = IntegrationClient::new(ApiToken::new(std::env::var("EDGEGAP_TOKEN").unwrap_or_default()))?;
/// for beacon in client.beacons().await? {
///     println!("{} {}", beacon.location.city, beacon.host);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct IntegrationClient {
    transport: Transport,
}

/// Builder of an [`IntegrationClient`].
pub type IntegrationClientBuilder = ClientBuilder<IntegrationClient>;

impl ApiClient for IntegrationClient {
    type Token = ApiToken;
    const SERVICE: Service = Service::Integration;
    const DEFAULT_BASE_URL: Option<&'static str> = Some(DEFAULT_BASE_URL);
    fn secret(token: &ApiToken) -> &str {
        token.expose_secret()
    }
    fn authorization(secret: &str) -> String {
        format!("token {secret}")
    }
    fn from_connection(connection: Connection) -> Self {
        Self {
            transport: connection.0,
        }
    }
}

impl IntegrationClientBuilder {
    /// Another base URL than [`DEFAULT_BASE_URL`] (e.g. a test server).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.options.base_url = Some(url.into());
        self
    }
}

fn quoted(kind: &str, name: &str) -> String {
    format!("{kind} {name:?}")
}

impl IntegrationClient {
    /// A client for `https://api.edgegap.com` with default timeouts and retries.
    pub fn new(token: ApiToken) -> Result<Self, ApiError> {
        Self::builder(token).build()
    }

    /// A builder, to change the base URL, timeouts, retries or `reqwest::Client`.
    pub fn builder(token: ApiToken) -> IntegrationClientBuilder {
        IntegrationClientBuilder::new(token, None)
    }

    /// The base URL in use.
    pub fn base_url(&self) -> String {
        self.transport.base_url()
    }

    /// `GET /v1/locations` (`location-list`): one page of deployment locations, optionally only
    /// those with capacity for an app version.
    pub async fn list_locations(&self, query: &LocationQuery) -> Result<LocationList, ApiError> {
        let call = Call::new(
            Method::GET,
            "list locations",
            &["v1", "locations"],
            "locations",
        )
        .query("app", query.app.as_deref())
        .query("version", query.version.as_deref())
        .query("page", query.page)
        .query("limit", query.limit);
        self.transport
            .json_shaped(call, &schema::LOCATION_LIST)
            .await
    }

    /// Every location over all pages (from `query.page`, default 1, pages of `query.limit`,
    /// default 100), fetched as the stream is read.
    pub fn locations_stream(
        &self,
        query: LocationQuery,
    ) -> impl Stream<Item = Result<LocationData, ApiError>> + Send + 'static {
        let client = self.clone();
        let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        let walk = self.walk("list locations");
        page_stream::<LocationList, _, _>(query.page.unwrap_or(1), limit, walk, move |page| {
            let client = client.clone();
            let query = LocationQuery {
                page: Some(page),
                limit: Some(limit),
                ..query.clone()
            };
            async move { client.list_locations(&query).await }
        })
    }

    /// Every location over all pages, like [`Self::locations_stream`], with the answers'
    /// `messages` ("additional information regarding locations") gathered from every page,
    /// each once, in order, scrubbed of the token. The list's `total_count` is the first
    /// page's; it has no `pagination`.
    ///
    /// With `query.app` and `query.version` this is the capacity filter: only the locations
    /// that can take a deployment of that app version at this time.
    pub async fn all_locations(&self, query: LocationQuery) -> Result<LocationList, ApiError> {
        use futures::TryStreamExt;
        use std::sync::{Arc, Mutex};
        let client = self.clone();
        let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        let seen: Arc<Mutex<(Vec<String>, Option<u64>)>> = Arc::default();
        let record = Arc::clone(&seen);
        let walk = self.walk("list locations");
        let stream =
            page_stream::<LocationList, _, _>(query.page.unwrap_or(1), limit, walk, move |page| {
                let client = client.clone();
                let record = Arc::clone(&record);
                let query = LocationQuery {
                    page: Some(page),
                    limit: Some(limit),
                    ..query.clone()
                };
                async move {
                    let list = client.list_locations(&query).await?;
                    let mut seen = record
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    for message in &list.messages {
                        let message = client.transport.scrub(message);
                        if !seen.0.contains(&message) {
                            seen.0.push(message);
                        }
                    }
                    seen.1 = seen.1.or(list.total_count);
                    Ok(list)
                }
            });
        let locations: Vec<LocationData> = stream.try_collect().await?;
        let (messages, total_count) = std::mem::take(
            &mut *seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Ok(LocationList {
            locations,
            messages,
            total_count,
            pagination: None,
        })
    }

    /// `GET /v1/locations/beacons` (`beacon-list`): one page of ping beacons.
    pub async fn list_beacons(&self, page: PageQuery) -> Result<BeaconList, ApiError> {
        let call = Call::new(
            Method::GET,
            "list beacons",
            &["v1", "locations", "beacons"],
            "beacons",
        )
        .query("page", page.page)
        .query("limit", page.limit);
        self.transport.json_shaped(call, &schema::BEACON_LIST).await
    }

    /// Every beacon over all pages of `limit` entries. The listing has no pagination object:
    /// a page shorter than `limit` (or empty) is the last (a `pagination` object is followed if
    /// the server sends one).
    pub fn beacons_stream(
        &self,
        limit: u32,
    ) -> impl Stream<Item = Result<IntegrationBeacon, ApiError>> + Send + 'static {
        self.all_pages("list beacons", limit, |client: Self, page| async move {
            client.list_beacons(page).await
        })
    }

    /// Every beacon, as the workspace's [`Beacon`] type (pages of 100).
    pub async fn beacons(&self) -> Result<Vec<Beacon>, ApiError> {
        use futures::TryStreamExt;
        let entries: Vec<IntegrationBeacon> =
            self.beacons_stream(DEFAULT_PAGE_SIZE).try_collect().await?;
        crate::beacon::beacons_from_integration(entries).map_err(|source| ApiError::BeaconList {
            service: Service::Integration,
            operation: "list beacons",
            source: self.transport.scrub_beacon_error(source),
        })
    }

    /// `POST /v1/storage/endpoint` (`endpoint-create`).
    pub async fn create_endpoint_storage(
        &self,
        body: &EndpointStorageCreate,
    ) -> Result<EndpointStorage, ApiError> {
        let call = Call::new(
            Method::POST,
            "create endpoint storage",
            &["v1", "storage", "endpoint"],
            quoted("endpoint storage", &body.name),
        )
        .json(body)?;
        self.transport
            .json_shaped(call, &schema::ENDPOINT_STORAGE)
            .await
    }

    /// `GET /v1/storage/endpoint/{endpoint_name}` (`endpoint-get`).
    pub async fn get_endpoint_storage(&self, name: &str) -> Result<EndpointStorage, ApiError> {
        let call = Call::new(
            Method::GET,
            "get endpoint storage",
            &["v1", "storage", "endpoint", name],
            quoted("endpoint storage", name),
        );
        self.transport
            .json_shaped(call, &schema::ENDPOINT_STORAGE)
            .await
    }

    /// `GET /v1/storage/endpoints` (`endpoints-list`): one page.
    pub async fn list_endpoint_storages(
        &self,
        page: PageQuery,
    ) -> Result<EndpointStorageList, ApiError> {
        let call = Call::new(
            Method::GET,
            "list endpoint storages",
            &["v1", "storage", "endpoints"],
            "endpoint storages",
        )
        .query("page", page.page)
        .query("limit", page.limit);
        self.transport
            .json_shaped(call, &schema::ENDPOINT_STORAGE_LIST)
            .await
    }

    /// Every endpoint storage over all pages of `limit`.
    pub fn endpoint_storages_stream(
        &self,
        limit: u32,
    ) -> impl Stream<Item = Result<EndpointStorage, ApiError>> + Send + 'static {
        self.all_pages(
            "list endpoint storages",
            limit,
            |client: Self, page| async move { client.list_endpoint_storages(page).await },
        )
    }

    /// `GET /v1/storage/endpoints` (`endpoints-list`) with the `X-Fields` mask `fields` (the
    /// spec's "optional fields mask", e.g. `name,bucket` or `{name,bucket}`, sent as given):
    /// one page whose entries hold only the masked fields.
    pub async fn list_endpoint_storages_masked(
        &self,
        page: PageQuery,
        fields: &str,
    ) -> Result<MaskedEndpointStorageList, ApiError> {
        let call = Call::new(
            Method::GET,
            "list endpoint storages",
            &["v1", "storage", "endpoints"],
            "endpoint storages",
        )
        .query("page", page.page)
        .query("limit", page.limit)
        .header("X-Fields", Some(fields));
        self.transport
            .json_shaped(call, &schema::MASKED_ENDPOINT_STORAGE_LIST)
            .await
    }

    /// Every endpoint storage over all pages of `limit`, with the `X-Fields` mask `fields`.
    pub fn endpoint_storages_masked_stream(
        &self,
        limit: u32,
        fields: &str,
    ) -> impl Stream<Item = Result<serde_json::Map<String, serde_json::Value>, ApiError>> + Send + 'static
    {
        let fields = fields.to_owned();
        self.all_pages(
            "list endpoint storages",
            limit,
            move |client: Self, page| {
                let fields = fields.clone();
                async move { client.list_endpoint_storages_masked(page, &fields).await }
            },
        )
    }

    /// How the listing `operation` is walked: this client's paging limits.
    fn walk(&self, operation: &'static str) -> PageWalk {
        PageWalk {
            service: Service::Integration,
            operation,
            limits: self.transport.config().paging,
        }
    }

    /// Every item of a `page`/`limit` listing, from page 1 in pages of `limit` (at least 1):
    /// `fetch` gets a clone of this client and the page to ask for.
    fn all_pages<P, F, Fut>(
        &self,
        operation: &'static str,
        limit: u32,
        fetch: F,
    ) -> impl Stream<Item = Result<P::Item, ApiError>> + Send + 'static
    where
        P: Page + Send + 'static,
        P::Item: serde::Serialize + Send + 'static,
        F: Fn(Self, PageQuery) -> Fut + Send + 'static,
        Fut: Future<Output = Result<P, ApiError>> + Send + 'static,
    {
        let client = self.clone();
        let limit = limit.max(1);
        page_stream::<P, _, _>(1, limit, self.walk(operation), move |page| {
            fetch(client.clone(), PageQuery::new(page, limit))
        })
    }

    /// `PATCH /v1/storage/endpoint/{endpoint_name}` (`endpoint-update`).
    pub async fn update_endpoint_storage(
        &self,
        name: &str,
        body: &EndpointStorageUpdate,
    ) -> Result<EndpointStorage, ApiError> {
        let call = Call::new(
            Method::PATCH,
            "update endpoint storage",
            &["v1", "storage", "endpoint", name],
            quoted("endpoint storage", name),
        )
        .json(body)?;
        self.transport.json(call).await
    }

    /// `DELETE /v1/storage/endpoint/{endpoint_name}` (`endpoint-delete`).
    pub async fn delete_endpoint_storage(&self, name: &str) -> Result<(), ApiError> {
        let call = Call::new(
            Method::DELETE,
            "delete endpoint storage",
            &["v1", "storage", "endpoint", name],
            quoted("endpoint storage", name),
        );
        self.transport.empty(call).await
    }

    /// `POST /v1/storage/endpoint/{endpoint_name}/pull-profile` (`pull-profile-create`).
    pub async fn create_pull_profile(
        &self,
        endpoint: &str,
        body: &PullProfileCreate,
    ) -> Result<PullProfile, ApiError> {
        let call = Call::new(
            Method::POST,
            "create pull profile",
            &["v1", "storage", "endpoint", endpoint, "pull-profile"],
            quoted("endpoint storage", endpoint),
        )
        .json(body)?;
        self.transport
            .json_shaped(call, &schema::PULL_PROFILE)
            .await
    }

    /// `GET /v1/storage/endpoint/{endpoint_name}/pull-profile/{pull_profile_name}` (`pull-profile-get`).
    pub async fn get_pull_profile(
        &self,
        endpoint: &str,
        name: &str,
    ) -> Result<PullProfile, ApiError> {
        let call = Call::new(
            Method::GET,
            "get pull profile",
            &["v1", "storage", "endpoint", endpoint, "pull-profile", name],
            format!("pull profile {name:?} of endpoint storage {endpoint:?}"),
        );
        self.transport
            .json_shaped(call, &schema::PULL_PROFILE)
            .await
    }

    /// `GET /v1/storage/endpoint/{endpoint_name}/pull-profiles` (`pull-profile-list`): one page.
    pub async fn list_pull_profiles(
        &self,
        endpoint: &str,
        page: PageQuery,
    ) -> Result<PullProfileList, ApiError> {
        let call = Call::new(
            Method::GET,
            "list pull profiles",
            &["v1", "storage", "endpoint", endpoint, "pull-profiles"],
            quoted("endpoint storage", endpoint),
        )
        .query("page", page.page)
        .query("limit", page.limit);
        self.transport
            .json_shaped(call, &schema::PULL_PROFILE_LIST)
            .await
    }

    /// Every pull profile of `endpoint` over all pages of `limit`.
    pub fn pull_profiles_stream(
        &self,
        endpoint: &str,
        limit: u32,
    ) -> impl Stream<Item = Result<PullProfile, ApiError>> + Send + 'static {
        let endpoint = endpoint.to_owned();
        self.all_pages("list pull profiles", limit, move |client: Self, page| {
            let endpoint = endpoint.clone();
            async move { client.list_pull_profiles(&endpoint, page).await }
        })
    }

    /// `PATCH /v1/storage/endpoint/{endpoint_name}/pull-profile/{pull_profile_name}` (`pull-profile-update`).
    pub async fn update_pull_profile(
        &self,
        endpoint: &str,
        name: &str,
        body: &PullProfileUpdate,
    ) -> Result<PullProfile, ApiError> {
        let call = Call::new(
            Method::PATCH,
            "update pull profile",
            &["v1", "storage", "endpoint", endpoint, "pull-profile", name],
            format!("pull profile {name:?} of endpoint storage {endpoint:?}"),
        )
        .json(body)?;
        self.transport.json(call).await
    }

    /// `DELETE /v1/storage/endpoint/{endpoint_name}/pull-profile/{pull_profile_name}` (`pull-profile-delete`).
    pub async fn delete_pull_profile(&self, endpoint: &str, name: &str) -> Result<(), ApiError> {
        let call = Call::new(
            Method::DELETE,
            "delete pull profile",
            &["v1", "storage", "endpoint", endpoint, "pull-profile", name],
            format!("pull profile {name:?} of endpoint storage {endpoint:?}"),
        );
        self.transport.empty(call).await
    }

    /// `PUT .../pull-profile/{pull_profile_name}/app/{app_name}/version/{version_name}`
    /// (`pull-profile-link-app-version`): without a link a pull profile does nothing.
    pub async fn link_pull_profile(
        &self,
        endpoint: &str,
        pull_profile: &str,
        app: &str,
        version: &str,
    ) -> Result<PullProfileLink, ApiError> {
        let call = Call::new(
            Method::PUT,
            "link pull profile to app version",
            &link_path(endpoint, pull_profile, app, version),
            link_resource(endpoint, pull_profile, app, version),
        );
        self.transport
            .json_shaped(call, &schema::PULL_PROFILE_LINK)
            .await
    }

    /// `DELETE .../pull-profile/{pull_profile_name}/app/{app_name}/version/{version_name}`
    /// (`pull-profile-unlink-app-version`); the pull profile itself stays.
    pub async fn unlink_pull_profile(
        &self,
        endpoint: &str,
        pull_profile: &str,
        app: &str,
        version: &str,
    ) -> Result<(), ApiError> {
        let call = Call::new(
            Method::DELETE,
            "unlink pull profile from app version",
            &link_path(endpoint, pull_profile, app, version),
            link_resource(endpoint, pull_profile, app, version),
        );
        self.transport.empty(call).await
    }
}

fn link_path<'a>(
    endpoint: &'a str,
    profile: &'a str,
    app: &'a str,
    version: &'a str,
) -> [&'a str; 10] {
    [
        "v1",
        "storage",
        "endpoint",
        endpoint,
        "pull-profile",
        profile,
        "app",
        app,
        "version",
        version,
    ]
}

fn link_resource(endpoint: &str, profile: &str, app: &str, version: &str) -> String {
    format!(
        "link of pull profile {profile:?} (endpoint storage {endpoint:?}) to app {app:?} version {version:?}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_base_url_is_edgegaps_and_debug_hides_the_token() {
        let client = IntegrationClient::new(ApiToken::new("unit-secret")).unwrap();
        assert_eq!(client.base_url(), "https://api.edgegap.com/");
        let debug = format!("{client:?}");
        assert!(
            !debug.contains("unit-secret") && debug.contains("***"),
            "{debug}"
        );
    }
}
