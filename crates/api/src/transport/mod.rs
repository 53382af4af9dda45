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
use url::Url;

use crate::error::{ApiError, Service};
use body::{BodyError, read_limited};

/// Default largest response body: 8 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Error bodies are read up to this size for their `message`; the rest is ignored.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Characters of a body quoted in an error.
const EXCERPT_CHARS: usize = 160;

/// Timeouts, limits and retries of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Time allowed to open a connection (TCP + TLS). Default 5 s. Applies only when the client
    /// builds its own `reqwest::Client`.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, from connecting to the end of the body. Default 30 s.
    pub request_timeout: Duration,
    /// Largest response body read, in bytes. Default [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// Retries after 429 / 5xx on idempotent requests.
    pub retry: RetryPolicy,
    /// `User-Agent` header. Applies only when the client builds its own `reqwest::Client`.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            retry: RetryPolicy::default(),
            user_agent: concat!("edgegap-api/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
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
    /// The raw token, kept only to scrub it out of anything a server echoes back.
    secret: String,
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
    pub body: Option<serde_json::Value>,
    pub operation: &'static str,
    /// What a 404/409 is about, e.g. `ticket "abc"`.
    pub resource: String,
    /// Overrides the config's `max_retries` (the ticket poll retries by itself).
    pub max_retries: Option<u32>,
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
            body: None,
            operation,
            resource: resource.into(),
            max_retries: None,
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

    /// Sets the JSON body.
    pub fn json<T: serde::Serialize>(mut self, body: &T) -> Result<Self, ApiError> {
        let value = serde_json::to_value(body).map_err(|e| ApiError::InvalidArgument {
            operation: self.operation,
            reason: format!("the request body cannot be encoded as JSON: {e}"),
        })?;
        self.body = Some(value);
        Ok(self)
    }

    /// Sends it once, whatever the status.
    #[must_use]
    pub fn no_retry(mut self) -> Self {
        self.max_retries = Some(0);
        self
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
        let mut auth = HeaderValue::from_str(auth).map_err(|_| {
            ApiError::Config(
                "the token holds characters that cannot be sent in an HTTP header".into(),
            )
        })?;
        auth.set_sensitive(true);
        let config = options.config;
        if config.max_body_bytes == 0 {
            return Err(ApiError::Config("max_body_bytes must be at least 1".into()));
        }
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
            secret: secret.to_owned(),
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

    /// Sends `call` and parses the JSON answer as `T`.
    pub async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, ApiError> {
        let operation = call.operation;
        let body = self.send(call).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Json {
            service: self.service,
            operation,
            reason: e.to_string(),
            excerpt: self.excerpt(&body),
        })
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
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| ApiError::Json {
                service: self.service,
                operation,
                reason: e.to_string(),
                excerpt: self.excerpt(&body),
            })
    }

    /// Sends `call` and ignores the (size-limited) answer body.
    pub async fn empty(&self, call: Call) -> Result<(), ApiError> {
        self.send(call).await.map(drop)
    }

    /// Sends `call`, retrying 429 / 5xx / connect failures of idempotent methods.
    pub async fn send(&self, call: Call) -> Result<Vec<u8>, ApiError> {
        let url = self.url(&call)?;
        let idempotent = matches!(call.method, Method::GET | Method::PUT | Method::DELETE);
        let max_retries = call.max_retries.unwrap_or(if idempotent {
            self.config.retry.max_retries
        } else {
            0
        });
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match self.attempt(&call, &url, attempts).await {
                Attempt::Done(body) => return Ok(body),
                Attempt::Fatal(e) => return Err(e),
                Attempt::Transient(e) => {
                    if attempts > max_retries {
                        return Err(e);
                    }
                    let delay = self.config.retry.delay(attempts, e.retry_after());
                    tracing::warn!(
                        service = %self.service,
                        operation = call.operation,
                        url = %display_url(&url),
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

    async fn attempt(&self, call: &Call, url: &Url, attempts: u32) -> Attempt {
        tracing::debug!(
            service = %self.service,
            operation = call.operation,
            method = %call.method,
            url = %display_url(url),
            attempt = attempts,
            "sending request"
        );
        let mut request = self
            .http
            .request(call.method.clone(), url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .timeout(self.config.request_timeout);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return self.transport_error(call, url, attempts, &e),
        };
        let status = response.status();
        tracing::debug!(service = %self.service, operation = call.operation, status = status.as_u16(), "answer");
        if status.is_success() {
            return match read_limited(&mut response, self.config.max_body_bytes).await {
                Ok(body) => Attempt::Done(body),
                Err(BodyError::TooLarge { declared, received }) => {
                    Attempt::Fatal(ApiError::BodyTooLarge {
                        service: self.service,
                        operation: call.operation,
                        limit: self.config.max_body_bytes as u64,
                        declared,
                        received,
                    })
                }
                Err(BodyError::Read(e)) => self.transport_error(call, url, attempts, &e),
            };
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        let limit = self.config.max_body_bytes.min(MAX_ERROR_BODY_BYTES);
        let message = match read_limited(&mut response, limit).await {
            Ok(body) => self.error_message(&body),
            Err(_) => String::from("(error body unreadable or too large)"),
        };
        self.status_error(call, status, message, attempts, retry_after)
    }

    fn status_error(
        &self,
        call: &Call,
        status: StatusCode,
        message: String,
        attempts: u32,
        retry_after: Option<Duration>,
    ) -> Attempt {
        let service = self.service;
        let operation = call.operation;
        let code = status.as_u16();
        match code {
            400 | 422 => Attempt::Fatal(ApiError::BadRequest {
                service,
                status: code,
                operation,
                message,
            }),
            401 => Attempt::Fatal(ApiError::Unauthorized {
                service,
                operation,
                message,
            }),
            403 => Attempt::Fatal(ApiError::Forbidden {
                service,
                operation,
                message,
            }),
            404 => Attempt::Fatal(ApiError::NotFound {
                service,
                operation,
                resource: call.resource.clone(),
                message,
            }),
            409 => Attempt::Fatal(ApiError::Conflict {
                service,
                operation,
                resource: call.resource.clone(),
                message,
            }),
            429 => Attempt::Transient(ApiError::RateLimited {
                service,
                operation,
                attempts,
                retry_after,
                message,
            }),
            500..=599 => Attempt::Transient(ApiError::Server {
                service,
                status: code,
                operation,
                attempts,
                message,
            }),
            _ => Attempt::Fatal(ApiError::UnexpectedStatus {
                service,
                status: code,
                operation,
                message,
            }),
        }
    }

    fn transport_error(
        &self,
        call: &Call,
        url: &Url,
        attempts: u32,
        e: &reqwest::Error,
    ) -> Attempt {
        let url = display_url(url);
        if e.is_timeout() {
            return Attempt::Fatal(ApiError::Timeout {
                service: self.service,
                operation: call.operation,
                url,
                timeout: self.config.request_timeout,
            });
        }
        let connect = e.is_connect();
        let error = ApiError::Transport {
            service: self.service,
            operation: call.operation,
            url,
            attempts,
            reason: self.scrub(&causes(e)),
            connect,
        };
        if connect {
            Attempt::Transient(error)
        } else {
            Attempt::Fatal(error)
        }
    }

    /// The API's `message` from an error body, else a short excerpt of it; token scrubbed.
    fn error_message(&self, body: &[u8]) -> String {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
            for key in ["message", "detail", "error"] {
                if let Some(serde_json::Value::String(m)) = map.get(key) {
                    return self.scrub(&truncate(m, 500));
                }
            }
        }
        let excerpt = self.excerpt(body);
        if excerpt.is_empty() {
            "(no message)".to_owned()
        } else {
            excerpt
        }
    }

    fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_CHARS * 4)]);
        self.scrub(&truncate(text.trim(), EXCERPT_CHARS))
    }

    /// Replaces the token wherever a server echoed it.
    fn scrub(&self, text: &str) -> String {
        if self.secret.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.secret, "***")
        }
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
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
    let url = Url::parse(raw.trim())
        .map_err(|e| ApiError::Config(format!("base URL {raw:?} is not a URL: {e}")))?;
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
