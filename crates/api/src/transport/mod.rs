//! The HTTP layer shared by the three clients: one reused `reqwest::Client`, timeouts, retries,
//! size-limited bodies, and errors that never hold a token.

mod body;
mod builder;
mod retry;

pub use builder::ClientBuilder;
pub(crate) use builder::{ApiClient, Connection};
pub use retry::RetryPolicy;

use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use crate::error::{ApiError, Service, StatusContext};
use crate::matchmaker::flow::{FlowRequest, FlowResponse};
use crate::pagination::PagingLimits;
use crate::redact::{EXCERPT_CHARS, MESSAGE_CHARS, REASON_CHARS, Redactor};
use crate::schema::Shape;
use body::{BodyError, read_limited};

/// Default largest response body: 8 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Default [`HttpConfig::connect_timeout`]: 5 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default [`HttpConfig::request_timeout`]: 10 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Default [`HttpConfig::call_timeout`]: 30 s.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Error bodies are read up to this size for their `message`; the rest is ignored.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Characters of a beacon's city or host quoted in a beacon-list error.
const BEACON_TEXT_CHARS: usize = 100;

/// Timeouts, limits and retries of a client.
///
/// Every wait is bounded: a connection by `connect_timeout`, one request (connect, headers
/// and the whole body) by `request_timeout`, one call with all its retries and their delays by
/// `call_timeout`, a server's `Retry-After` by [`RetryPolicy::max_retry_after`], and a paged
/// listing by [`PagingLimits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Time allowed to open a connection (TCP + TLS). Default [`DEFAULT_CONNECT_TIMEOUT`] (5 s).
    /// Applies only when the client builds its own `reqwest::Client` (`request_timeout`
    /// bounds the connection of a caller's client too).
    pub connect_timeout: Duration,
    /// Time allowed for one request, from connecting to the end of the body (an error body
    /// included). Default [`DEFAULT_REQUEST_TIMEOUT`] (10 s).
    pub request_timeout: Duration,
    /// Time allowed for one call, every retry and every delay between them included. A retry
    /// whose delay would end past it is not made: the last error is returned instead (for a
    /// 429, [`ApiError::RateLimited`] with the server's `Retry-After`). Default
    /// [`DEFAULT_CALL_TIMEOUT`] (30 s).
    pub call_timeout: Duration,
    /// Largest response body read, in bytes. Default [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// Retries after 429 / 5xx on idempotent requests.
    pub retry: RetryPolicy,
    /// How far paged listings are followed. Default [`PagingLimits::default`] (1,000 pages,
    /// 100,000 items, 60 s).
    pub paging: PagingLimits,
    /// `User-Agent` header. Applies only when the client builds its own `reqwest::Client`.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            retry: RetryPolicy::default(),
            paging: PagingLimits::default(),
            user_agent: concat!("edgegap-api/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl HttpConfig {
    /// Refuses limits that would make every call fail at once.
    fn validate(&self) -> Result<(), ApiError> {
        let zero = |what: &str| Err(ApiError::Config(format!("{what} must be above zero")));
        if self.max_body_bytes == 0 {
            return zero("max_body_bytes");
        }
        if self.connect_timeout.is_zero() {
            return zero("connect_timeout");
        }
        if self.request_timeout.is_zero() {
            return zero("request_timeout");
        }
        if self.call_timeout.is_zero() {
            return zero("call_timeout");
        }
        if self.paging.max_pages == 0 {
            return zero("paging.max_pages");
        }
        if self.paging.max_items == 0 {
            return zero("paging.max_items");
        }
        if self.paging.max_time.is_zero() {
            return zero("paging.max_time");
        }
        Ok(())
    }
}

/// What the three client builders share.
#[derive(Debug, Clone, Default)]
pub(crate) struct TransportOptions {
    pub base_url: Option<String>,
    pub config: HttpConfig,
    pub client: Option<reqwest::Client>,
}

/// One API's connection: base URL, auth header, config, and the reused `reqwest::Client`.
#[derive(Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    /// The token (and a base URL's password), to scrub out of anything a server echoes back.
    redactor: Redactor,
    config: HttpConfig,
    service: Service,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("service", &self.service)
            .field("base_url", &display_url(&self.base))
            .field("authorization", &"***")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// One API call: what to send and how to name it in errors.
pub(crate) struct Call {
    pub method: Method,
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    /// Extra request headers (e.g. `X-Fields`), besides `Authorization`.
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    pub operation: &'static str,
    /// What a 404/409 is about, e.g. `ticket "abc"`.
    pub resource: String,
}

impl Call {
    /// A call without query or body.
    pub fn new(
        method: Method,
        operation: &'static str,
        path: &[&str],
        resource: impl Into<String>,
    ) -> Self {
        Self {
            method,
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            operation,
            resource: resource.into(),
        }
    }

    /// Adds a query parameter when `value` is `Some`.
    #[must_use]
    pub fn query(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.query.push((name, v.to_string()));
        }
        self
    }

    /// Adds a request header when `value` is `Some`.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.headers.push((name, v.to_string()));
        }
        self
    }

    /// Sets the JSON body.
    pub fn json<T: serde::Serialize>(mut self, body: &T) -> Result<Self, ApiError> {
        let value = serde_json::to_value(body).map_err(|e| ApiError::InvalidArgument {
            operation: self.operation,
            reason: format!("the request body cannot be encoded as JSON: {e}"),
        })?;
        self.body = Some(value);
        Ok(self)
    }
}

/// What one attempt ended with.
enum Attempt {
    Done(Vec<u8>),
    /// 429 / 5xx / connect failure: may be retried.
    Transient(ApiError),
    Fatal(ApiError),
}

impl Transport {
    /// Builds the transport; `auth` is the whole `Authorization` value.
    pub fn new(
        service: Service,
        default_base: Option<&str>,
        options: TransportOptions,
        auth: &str,
        secret: &str,
    ) -> Result<Self, ApiError> {
        if secret.is_empty() {
            return Err(ApiError::Config(format!(
                "the token for {service} is empty"
            )));
        }
        let raw_base = options
            .base_url
            .as_deref()
            .or(default_base)
            .ok_or_else(|| ApiError::Config(format!("no base URL given for {service}")))?;
        let base = parse_base(raw_base)?;
        let mut secrets = vec![secret.to_owned()];
        if let Some(password) = base.password() {
            secrets.push(password.to_owned());
            secrets.push(percent_decode(password));
        }
        if secret.chars().count() < crate::redact::MIN_SUBSTRING_REDACTION_CHARS {
            tracing::warn!(
                %service,
                "the token is very short: it is redacted from server text only where it stands as a whole word"
            );
        }
        let redactor = Redactor::new(secrets);
        let mut auth = HeaderValue::from_str(auth).map_err(|_| {
            ApiError::Config(
                "the token holds characters that cannot be sent in an HTTP header".into(),
            )
        })?;
        auth.set_sensitive(true);
        let config = options.config;
        config.validate()?;
        let http = match options.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .timeout(config.request_timeout)
                .user_agent(config.user_agent.clone())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| {
                    ApiError::Config(format!("cannot build the HTTP client: {}", causes(&e)))
                })?,
        };
        Ok(Self {
            http,
            base,
            auth,
            redactor,
            config,
            service,
        })
    }

    /// The base URL (never holds credentials).
    pub fn base_url(&self) -> String {
        display_url(&self.base)
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Sends `call` and parses the JSON answer as `T` (no field required beyond what `T`
    /// itself requires).
    pub async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, ApiError> {
        self.json_shaped(call, &Shape::ANY).await
    }

    /// Sends `call`, checks the JSON answer holds what `shape` requires, and parses it as `T`.
    pub async fn json_shaped<T: DeserializeOwned>(
        &self,
        call: Call,
        shape: &Shape,
    ) -> Result<T, ApiError> {
        let operation = call.operation;
        let body = self.send(call).await?;
        self.parse(operation, &body, shape)
    }

    /// Sends `call` and parses the JSON answer as `T`, or gives `None` for an empty body.
    pub async fn json_or_empty<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<Option<T>, ApiError> {
        let operation = call.operation;
        let body = self.send(call).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        self.parse(operation, &body, &Shape::ANY).map(Some)
    }

    /// Parses `body`: JSON, then the shape, then `T`. Every error is scrubbed.
    fn parse<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        body: &[u8],
        shape: &Shape,
    ) -> Result<T, ApiError> {
        let json_error = |e: &serde_json::Error| ApiError::Json {
            service: self.service,
            operation,
            reason: self.redactor.clip(&e.to_string(), REASON_CHARS),
            excerpt: self.redactor.excerpt(body, EXCERPT_CHARS),
        };
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
        if let Err(v) = shape.check(&value) {
            return Err(ApiError::Schema {
                service: self.service,
                operation,
                field: v.field,
                problem: v.problem,
            });
        }
        serde_json::from_value(value).map_err(|e| json_error(&e))
    }

    /// Sends `call` and ignores the (size-limited) answer body.
    pub async fn empty(&self, call: Call) -> Result<(), ApiError> {
        self.send(call).await.map(drop)
    }

    /// `text` from a server with the token (and any URL password) redacted.
    pub fn scrub(&self, text: &str) -> String {
        self.redactor.scrub(text)
    }

    /// A beacon-list error with its server-sent text redacted and cut short.
    pub fn scrub_beacon_error(
        &self,
        error: crate::beacon::BeaconListError,
    ) -> crate::beacon::BeaconListError {
        error.scrubbed(|text| self.redactor.clip(text, BEACON_TEXT_CHARS))
    }

    /// A URL as errors and logs show it: no user info, no token (ids in the path may come
    /// from a server).
    fn shown_url(&self, url: &Url) -> String {
        self.redactor.scrub(&display_url(url))
    }

    /// Sends `call`, retrying 429 / 5xx / connect failures of idempotent methods, all within
    /// the call's time budget.
    pub async fn send(&self, call: Call) -> Result<Vec<u8>, ApiError> {
        let url = self.url(&call)?;
        let headers = headers(&call)?;
        let idempotent = matches!(call.method, Method::GET | Method::PUT | Method::DELETE);
        let max_retries = if idempotent {
            self.config.retry.max_retries
        } else {
            0
        };
        let call_deadline = Instant::now() + self.config.call_timeout;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let request_deadline = Instant::now() + self.config.request_timeout;
            let limit = if request_deadline <= call_deadline {
                Limit {
                    deadline: request_deadline,
                    timeout: self.config.request_timeout,
                }
            } else {
                Limit {
                    deadline: call_deadline,
                    timeout: self.config.call_timeout,
                }
            };
            match self.attempt(&call, &url, &headers, attempts, limit).await {
                Attempt::Done(body) => return Ok(body),
                Attempt::Fatal(e) => return Err(e),
                Attempt::Transient(e) => {
                    if attempts > max_retries {
                        return Err(e);
                    }
                    let delay = self.config.retry.delay(attempts, e.retry_after());
                    if Instant::now() + delay >= call_deadline {
                        tracing::warn!(
                            service = %self.service,
                            operation = call.operation,
                            url = %self.shown_url(&url),
                            attempt = attempts,
                            status = ?e.status(),
                            delay_ms = delay.as_millis() as u64,
                            call_timeout_ms = self.config.call_timeout.as_millis() as u64,
                            "not retrying: the delay would pass the call's time budget"
                        );
                        return Err(e);
                    }
                    tracing::warn!(
                        service = %self.service,
                        operation = call.operation,
                        url = %self.shown_url(&url),
                        attempt = attempts,
                        status = ?e.status(),
                        delay_ms = delay.as_millis() as u64,
                        "retrying after a transient error"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// The whole `Authorization` value (for the matchmaker, the raw token): only to hand to
    /// a sans-I/O flow that builds the same requests.
    pub(crate) fn authorization(&self) -> &str {
        self.auth.to_str().unwrap_or_default()
    }

    /// Sends one request of a sans-I/O flow, once (the flow decides about retries), and
    /// returns the answer whatever its status. `Err` holds why no answer came (connection,
    /// timeout, a body over the size limit), scrubbed, for the flow's `on_transport_error`.
    pub(crate) async fn exchange(&self, request: &FlowRequest) -> Result<FlowResponse, String> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| "the base URL cannot take a path".to_owned())?
            .pop_if_empty()
            .extend(request.segments());
        let method =
            Method::from_bytes(request.method().as_str().as_bytes()).map_err(|e| e.to_string())?;
        tracing::debug!(service = %self.service, operation = request.operation(), %method, url = %self.shown_url(&url), "sending flow request");
        let mut builder = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone())
            .timeout(self.config.request_timeout);
        for (name, value) in request.headers() {
            if !name.eq_ignore_ascii_case("authorization") {
                builder = builder.header(name, value);
            }
        }
        if let Some(body) = request.body() {
            builder = builder.body(body.to_owned());
        }
        let limit = self.config.request_timeout;
        let exchange = async {
            let mut response = builder.send().await.map_err(|e| causes(&e))?;
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::error::parse_retry_after);
            let status = response.status().as_u16();
            let body = read_limited(&mut response, self.config.max_body_bytes)
                .await
                .map_err(|e| match e {
                    BodyError::TooLarge { .. } => format!(
                        "the answer is larger than the {}-byte limit",
                        self.config.max_body_bytes
                    ),
                    BodyError::Read(e) => causes(&e),
                })?;
            Ok(FlowResponse::new(status, body).retry_after(retry_after))
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => {
                result.map_err(|reason: String| self.redactor.clip(&reason, MESSAGE_CHARS))
            }
            Err(_) => Err(format!("no answer within {limit:?}")),
        }
    }

    fn url(&self, call: &Call) -> Result<Url, ApiError> {
        if let Some(empty) = call.path.iter().position(String::is_empty) {
            return Err(ApiError::InvalidArgument {
                operation: call.operation,
                reason: format!("path segment #{empty} (an id or name) is empty"),
            });
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ApiError::Config("the base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(&call.path);
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &call.query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    async fn attempt(
        &self,
        call: &Call,
        url: &Url,
        headers: &reqwest::header::HeaderMap,
        attempts: u32,
        limit: Limit,
    ) -> Attempt {
        tracing::debug!(
            service = %self.service,
            operation = call.operation,
            method = %call.method,
            url = %self.shown_url(url),
            attempt = attempts,
            "sending request"
        );
        let mut request = self
            .http
            .request(call.method.clone(), url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .headers(headers.clone())
            .timeout(self.config.request_timeout);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let mut response = match tokio::time::timeout_at(limit.deadline, request.send()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return self.transport_error(call, url, attempts, &e, limit.timeout),
            Err(_) => return Attempt::Fatal(self.timeout_error(call, url, limit.timeout)),
        };
        let status = response.status();
        tracing::debug!(service = %self.service, operation = call.operation, status = status.as_u16(), "answer");
        if status.is_success() {
            let read = read_limited(&mut response, self.config.max_body_bytes);
            return match tokio::time::timeout_at(limit.deadline, read).await {
                Ok(Ok(body)) => Attempt::Done(body),
                Ok(Err(BodyError::TooLarge { declared, received })) => {
                    Attempt::Fatal(ApiError::BodyTooLarge {
                        service: self.service,
                        operation: call.operation,
                        limit: self.config.max_body_bytes as u64,
                        declared,
                        received,
                    })
                }
                Ok(Err(BodyError::Read(e))) => {
                    self.transport_error(call, url, attempts, &e, limit.timeout)
                }
                Err(_) => Attempt::Fatal(self.timeout_error(call, url, limit.timeout)),
            };
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::error::parse_retry_after);
        let max = self.config.max_body_bytes.min(MAX_ERROR_BODY_BYTES);
        let read = read_limited(&mut response, max);
        let message = match tokio::time::timeout_at(limit.deadline, read).await {
            Ok(Ok(body)) => self.error_message(&body),
            Ok(Err(_)) => String::from("(error body unreadable or too large)"),
            Err(_) => format!("(error body not received within {:?})", limit.timeout),
        };
        self.status_error(call, status, message, attempts, retry_after)
    }

    fn timeout_error(&self, call: &Call, url: &Url, timeout: Duration) -> ApiError {
        ApiError::Timeout {
            service: self.service,
            operation: call.operation,
            url: self.shown_url(url),
            timeout,
        }
    }

    fn status_error(
        &self,
        call: &Call,
        status: StatusCode,
        message: String,
        attempts: u32,
        retry_after: Option<Duration>,
    ) -> Attempt {
        let error = ApiError::from_status(
            StatusContext {
                service: self.service,
                operation: call.operation,
                resource: &self.scrub(&call.resource),
                attempts,
            },
            status.as_u16(),
            message,
            retry_after,
        );
        if error.is_transient() {
            Attempt::Transient(error)
        } else {
            Attempt::Fatal(error)
        }
    }

    fn transport_error(
        &self,
        call: &Call,
        url: &Url,
        attempts: u32,
        e: &reqwest::Error,
        timeout: Duration,
    ) -> Attempt {
        if e.is_timeout() {
            return Attempt::Fatal(self.timeout_error(call, url, timeout));
        }
        let connect = e.is_connect();
        let mut reason = causes(e);
        if let Some(raw) = e.url() {
            reason = reason.replace(raw.as_str(), &display_url(raw));
        }
        let error = ApiError::Transport {
            service: self.service,
            operation: call.operation,
            url: self.shown_url(url),
            attempts,
            reason: self.redactor.clip(&reason, MESSAGE_CHARS),
            connect,
        };
        if connect {
            Attempt::Transient(error)
        } else {
            Attempt::Fatal(error)
        }
    }

    /// The API's `message` from an error body, else a short excerpt of it; token scrubbed
    /// before anything is cut.
    fn error_message(&self, body: &[u8]) -> String {
        self.redactor.answer_message(body)
    }
}

/// The call's extra headers, or an error naming the one that cannot be sent in HTTP.
fn headers(call: &Call) -> Result<reqwest::header::HeaderMap, ApiError> {
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in &call.headers {
        let value = HeaderValue::from_str(value).map_err(|_| ApiError::InvalidArgument {
            operation: call.operation,
            reason: format!("the {name} header holds characters that cannot be sent in HTTP"),
        })?;
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ApiError::InvalidArgument {
                operation: call.operation,
                reason: format!("{name:?} is not an HTTP header name"),
            }
        })?;
        map.insert(name, value);
    }
    Ok(map)
}

/// When an attempt must end, and which configured timeout that deadline comes from.
#[derive(Clone, Copy)]
struct Limit {
    deadline: Instant,
    timeout: Duration,
}

/// Decodes `%XX` escapes (as a URL's password is stored), leaving anything else as is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The error and its causes, joined: reqwest's top-level text alone says little.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn parse_base(raw: &str) -> Result<Url, ApiError> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        let shown = crate::redact::url_without_userinfo(raw.trim());
        ApiError::Config(format!("base URL {shown:?} is not a URL: {e}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ApiError::Config(format!(
            "base URL {} must be an http:// or https:// URL with a host",
            display_url(&url)
        )));
    }
    if url.cannot_be_a_base() {
        return Err(ApiError::Config("the base URL cannot take a path".into()));
    }
    Ok(url)
}

/// A URL as errors and logs show it: without user name or password.
pub(crate) fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}
