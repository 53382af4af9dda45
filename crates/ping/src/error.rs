//! Errors that stop a whole run from starting (or an observed run from handing its observer
//! back).

use std::io;

use crate::types::TargetId;

/// Why a run could not start. Per-target problems are never an `EngineError`:
/// they are that target's [`TargetStatus`](crate::TargetStatus).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// `start` was called outside a tokio runtime.
    #[error("the probe engine must be started from within a tokio runtime")]
    NoRuntime,
    /// The configuration cannot work.
    #[error("invalid engine configuration: {0}")]
    InvalidConfig(String),
    /// Two targets share one id.
    #[error("target id {0} is used more than once; ids must be unique within a run")]
    DuplicateTarget(TargetId),
    /// Neither an IPv4 nor an IPv6 UDP socket could be opened.
    #[error("could not open any UDP socket (IPv4: {v4}; IPv6: {v6})")]
    NoSocket {
        /// Why the IPv4 socket failed.
        v4: io::Error,
        /// Why the IPv6 socket failed.
        v6: io::Error,
    },
    /// An observed run's task was dropped before it finished (its runtime shut down), and its
    /// observer with it.
    #[error("the run was dropped before it finished: its runtime shut down")]
    Interrupted,
}
