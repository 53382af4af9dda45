//! [`ClientBuilder`]: the one builder behind the three clients' builders.

use std::fmt;
use std::time::Duration;

use super::{HttpConfig, Transport, TransportOptions};
use crate::error::{ApiError, Service};
use crate::pagination::PagingLimits;

pub(crate) mod sealed {
    use super::{Service, Transport, fmt};

    /// A built connection, opaque outside this crate.
    pub struct Connection(pub(crate) Transport);

    /// A client [`super::ClientBuilder`] can build. Sealed: only this crate's three clients.
    pub trait ApiClient: Sized {
        /// The token newtype the client takes.
        type Token: fmt::Debug + Clone;
        /// Which API it talks to (named in errors).
        const SERVICE: Service;
        /// The base URL when none is given (`None`: the caller must give one).
        const DEFAULT_BASE_URL: Option<&'static str>;
        /// The raw token.
        fn secret(token: &Self::Token) -> &str;
        /// The whole `Authorization` value for `secret` (the raw token unless overridden).
        fn authorization(secret: &str) -> String {
            secret.to_owned()
        }
        /// Wraps the built connection.
        fn from_connection(connection: Connection) -> Self;
    }
}

pub(crate) use sealed::{ApiClient, Connection};

/// Builder of a client: [`IntegrationClientBuilder`](crate::integration::IntegrationClientBuilder),
/// [`MatchmakerClientBuilder`](crate::matchmaker::MatchmakerClientBuilder) and
/// [`ServerBrowserClientBuilder`](crate::server_browser::ServerBrowserClientBuilder) are this
/// type for their client.
pub struct ClientBuilder<C: ApiClient> {
    pub(crate) token: C::Token,
    pub(crate) options: TransportOptions,
}

impl<C: ApiClient> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token", &self.token)
            .field("options", &self.options)
            .finish()
    }
}

impl<C: ApiClient> Clone for ClientBuilder<C> {
    fn clone(&self) -> Self {
        Self {
            token: self.token.clone(),
            options: self.options.clone(),
        }
    }
}

impl<C: ApiClient> ClientBuilder<C> {
    /// A builder with default options and, when given, this base URL.
    pub(crate) fn new(token: C::Token, base_url: Option<String>) -> Self {
        Self {
            token,
            options: TransportOptions {
                base_url,
                ..TransportOptions::default()
            },
        }
    }

    /// Timeouts, body limit, retries and paging limits, all at once (replacing what
    /// [`Self::request_timeout`], [`Self::call_timeout`] and [`Self::paging_limits`] set
    /// before).
    #[must_use]
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.options.config = config;
        self
    }

    /// Time allowed for one request, body included ([`HttpConfig::request_timeout`],
    /// default 10 s).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.options.config.request_timeout = timeout;
        self
    }

    /// Time allowed for one call, retries and their delays included
    /// ([`HttpConfig::call_timeout`], default 30 s).
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.options.config.call_timeout = timeout;
        self
    }

    /// How far paged listings are followed ([`HttpConfig::paging`], default 1,000 pages,
    /// 100,000 items, 60 s).
    #[must_use]
    pub fn paging_limits(mut self, limits: PagingLimits) -> Self {
        self.options.config.paging = limits;
        self
    }

    /// Uses this `reqwest::Client` (its connect timeout and user agent apply; the request and
    /// call timeouts of the [`HttpConfig`] still bound every request and call).
    #[must_use]
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.options.client = Some(client);
        self
    }

    /// Builds the client. Fails on an empty token, a base URL that is not http(s), or a zero
    /// timeout or paging limit.
    ///
    /// A token shorter than [`crate::redact::MIN_SUBSTRING_REDACTION_CHARS`] characters is
    /// accepted, but redacted from server text only where it stands as a whole word (see
    /// [`crate::redact`]).
    pub fn build(self) -> Result<C, ApiError> {
        let secret = C::secret(&self.token);
        let transport = Transport::new(
            C::SERVICE,
            C::DEFAULT_BASE_URL,
            self.options,
            &C::authorization(secret),
            secret,
        )?;
        Ok(C::from_connection(Connection(transport)))
    }
}
