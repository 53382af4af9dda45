//! Reading a response body without letting the server decide how much memory it takes.

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Announced or actual size above the limit.
    TooLarge {
        declared: Option<u64>,
        received: u64,
    },
    /// The connection failed while reading.
    Read(reqwest::Error),
}

/// Reads `response`'s body, refusing one larger than `limit` bytes: a `Content-Length` above it
/// is refused before anything is read, and a body without one is read chunk by chunk and
/// dropped (closing the connection) as soon as it passes the limit.
pub(crate) async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let limit_u64 = limit as u64;
    let declared = response.content_length();
    if let Some(len) = declared
        && len > limit_u64
    {
        return Err(BodyError::TooLarge {
            declared,
            received: 0,
        });
    }
    let initial = declared.map_or(8 * 1024, |len| len.min(64 * 1024)) as usize;
    let mut body = Vec::with_capacity(initial.min(limit));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        let received = body.len() + chunk.len();
        if received > limit {
            return Err(BodyError::TooLarge {
                declared,
                received: received as u64,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
