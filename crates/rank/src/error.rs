//! Errors of this crate: each says what failed and, for files, where.

use std::path::PathBuf;

/// What went wrong while validating, saving or loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RankError {
    /// A ranking setting is out of range.
    #[error("invalid ranking setting {field}: {reason}")]
    InvalidConfig {
        /// The setting's name.
        field: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// A report could not be turned into JSON.
    #[error("could not encode the report as JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// A JSON document is not a valid report.
    #[error("not a valid report: {0}")]
    Decode(#[source] serde_json::Error),
    /// A report file is not a valid report.
    #[error("the report file {path} is not a valid report: {source}")]
    DecodeFile {
        /// The file that was read.
        path: PathBuf,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A report file is larger than a report can be.
    #[error("the report file {path} is larger than {limit} bytes: not read")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A file operation failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done ("read", "write", "rename into", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
