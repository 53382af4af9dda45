//! What crosses the flow's edge: the request it wants sent and the response it is handed.

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::error::parse_retry_after;
use crate::token::MatchmakerToken;

/// The HTTP methods the matchmaker flows use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`: poll a ticket or a membership.
    Get,
    /// `POST`: create a ticket or a group, join a group.
    Post,
    /// `PATCH`: set a member's readiness.
    Patch,
    /// `DELETE`: cancel a ticket, leave a group.
    Delete,
}

impl HttpMethod {
    /// The method as it goes on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request the flow wants sent, relative to the matchmaker's base URL.
///
/// `Debug` never shows the token: the `Authorization` value prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowRequest {
    method: HttpMethod,
    segments: Vec<String>,
    token: MatchmakerToken,
    body: Option<String>,
    operation: &'static str,
}

impl FlowRequest {
    pub(super) fn new(
        method: HttpMethod,
        segments: Vec<String>,
        token: &MatchmakerToken,
        operation: &'static str,
    ) -> Self {
        Self {
            method,
            segments,
            token: token.clone(),
            body: None,
            operation,
        }
    }

    pub(super) fn with_body(mut self, body: String) -> Self {
        self.body = Some(body);
        self
    }

    /// The method.
    pub fn method(&self) -> HttpMethod {
        self.method
    }

    /// The path's segments, not encoded (ids as the matchmaker gave them).
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The path relative to the base URL, each segment percent-encoded, e.g. `tickets/abc`.
    /// Append it to the base URL with one `/` between them.
    pub fn path(&self) -> String {
        self.segments
            .iter()
            .map(|s| percent_encode(s))
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The headers to send, in order: `Authorization` (the raw matchmaker token), `Accept`,
    /// and `Content-Type` when there is a body. The token is in here, so never log this list.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        let mut headers = vec![
            ("Authorization", self.token.expose_secret()),
            ("Accept", "application/json"),
        ];
        if self.body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        headers
    }

    /// The JSON body, for `POST` and `PATCH`.
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }

    /// What the request does, e.g. `get ticket` (for logs and errors).
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

impl fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowRequest")
            .field("method", &self.method)
            .field("segments", &self.segments)
            .field("token", &self.token)
            .field("body", &self.body)
            .field("operation", &self.operation)
            .finish()
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The answer to a [`FlowRequest`], as the caller's HTTP stack received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowResponse {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl FlowResponse {
    /// An answer with this status and body (may be empty).
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            retry_after: None,
            body: body.into(),
        }
    }

    /// Passes one response header; only `Retry-After` (in seconds) is read, the others are
    /// ignored, so a caller may hand every header over.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if name.eq_ignore_ascii_case("retry-after") {
            self.retry_after = parse_retry_after(value);
        }
        self
    }

    /// Sets the server's `Retry-After` directly.
    #[must_use]
    pub fn retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `Retry-After` the server asked for, if any.
    pub fn retry_after_value(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_in_the_headers_but_never_in_debug() {
        let token = MatchmakerToken::new("s3cr3t-mm-token");
        let request = FlowRequest::new(
            HttpMethod::Post,
            vec!["tickets".into()],
            &token,
            "create ticket",
        )
        .with_body("{}".into());
        assert_eq!(request.headers()[0], ("Authorization", "s3cr3t-mm-token"));
        assert!(
            request
                .headers()
                .contains(&("Content-Type", "application/json"))
        );
        let shown = format!("{request:?} {request:#?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }

    #[test]
    fn segments_are_percent_encoded() {
        let token = MatchmakerToken::new("t");
        let request = FlowRequest::new(
            HttpMethod::Get,
            vec!["tickets".into(), "a b/c?".into()],
            &token,
            "get ticket",
        );
        assert_eq!(request.path(), "tickets/a%20b%2Fc%3F");
    }

    #[test]
    fn retry_after_is_read_from_any_case_of_the_header() {
        let r = FlowResponse::new(429, "")
            .header("content-type", "text/plain")
            .header("RETRY-AFTER", "3");
        assert_eq!(r.retry_after_value(), Some(Duration::from_secs(3)));
        let dated = FlowResponse::new(429, "").header("Retry-After", "Wed, 21 Oct 2015");
        assert_eq!(dated.retry_after_value(), None);
    }
}
