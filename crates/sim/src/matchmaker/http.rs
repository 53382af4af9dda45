//! Just enough HTTP/1.1 for the simulated matchmaker: one request per connection
//! (`Connection: close`), bodies sized by `Content-Length`.

use std::fmt::Write as _;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest head (request line and headers) read.
const MAX_HEAD: usize = 16 * 1024;
/// Largest body read.
const MAX_BODY: usize = 1024 * 1024;

/// A request as the simulator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query, e.g. `/tickets/t-1`.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status.
    pub status: u16,
    /// `Retry-After` in seconds, when set.
    pub retry_after: Option<u64>,
    /// The JSON body (empty for none).
    pub body: String,
}

impl HttpResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            retry_after: None,
            body: body.to_string(),
        }
    }

    /// An answer without a body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            body: String::new(),
        }
    }

    /// An error answer `{"message": ...}`.
    pub fn message(status: u16, message: &str) -> Self {
        Self::json(status, &serde_json::json!({ "message": message }))
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Reads one request; `Err` holds the answer to give a request that cannot be read.
pub async fn read_request(stream: &mut TcpStream) -> Result<HttpRequest, HttpResponse> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpResponse::message(413, "request head too large"));
        }
        let mut chunk = [0_u8; 2048];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| HttpResponse::message(400, "connection failed while reading"))?;
        if n == 0 {
            return Err(HttpResponse::message(
                400,
                "connection closed before the head ended",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| HttpResponse::message(400, "request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(HttpResponse::message(400, "malformed request line"));
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(Ok(0), |(_, v)| v.parse())
        .map_err(|_| HttpResponse::message(400, "bad Content-Length"))?;
    if length > MAX_BODY {
        return Err(HttpResponse::message(413, "request body too large"));
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0_u8; length - body.len()];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| HttpResponse::message(400, "connection failed while reading the body"))?;
        if n == 0 {
            return Err(HttpResponse::message(
                400,
                "connection closed before the body ended",
            ));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let path = target.split('?').next().unwrap_or_default().to_owned();
    Ok(HttpRequest {
        method: method.to_owned(),
        path,
        headers,
        body,
    })
}

/// Writes `response` and closes the write side.
pub async fn write_response(
    stream: &mut TcpStream,
    response: &HttpResponse,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    if !response.body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(after) = response.retry_after {
        let _ = write!(head, "Retry-After: {after}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(response.body.as_bytes()).await?;
    stream.shutdown().await
}
