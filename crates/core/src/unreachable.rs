//! Why a beacon produced no sample: typed from the engine to the report.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Protocol;

/// Why a target has no sample. Unreachable is a state, never a number.
///
/// [`Unreachable::code`] gives a stable machine-readable code for reports, exit hints and
/// the C ABI; `Display` gives the human reason (which may change wording between releases).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unreachable {
    /// The port is closed: ICMP port unreachable (UDP) or a RST (TCP).
    Refused,
    /// Every probe timed out.
    NoReply,
    /// The name did not resolve, or has no address of the wanted family.
    ResolveFailed(String),
    /// The chosen protocol needs a port the target lacks.
    NoPort(Protocol),
    /// The operating system refused the socket (ICMP without permission); the detail is the
    /// operating system's error.
    PermissionDenied(String),
    /// Probes could not be sent.
    SendFailed(String),
    /// The run's deadline passed before any reply.
    Deadline,
    /// The run was cancelled before any reply.
    Cancelled,
    /// The beacon was stopped (its location could no longer win) before any reply.
    Stopped,
}

/// The stable, machine-readable code of an [`Unreachable`] reason (`snake_case` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnreachableCode {
    /// See [`Unreachable::Refused`].
    Refused,
    /// See [`Unreachable::NoReply`].
    NoReply,
    /// See [`Unreachable::ResolveFailed`].
    ResolveFailed,
    /// See [`Unreachable::NoPort`].
    NoPort,
    /// See [`Unreachable::PermissionDenied`].
    PermissionDenied,
    /// See [`Unreachable::SendFailed`].
    SendFailed,
    /// See [`Unreachable::Deadline`].
    Deadline,
    /// See [`Unreachable::Cancelled`].
    Cancelled,
    /// See [`Unreachable::Stopped`].
    Stopped,
}

impl UnreachableCode {
    /// Every code, in the order of the documentation.
    pub const ALL: [UnreachableCode; 9] = [
        UnreachableCode::Refused,
        UnreachableCode::NoReply,
        UnreachableCode::ResolveFailed,
        UnreachableCode::NoPort,
        UnreachableCode::PermissionDenied,
        UnreachableCode::SendFailed,
        UnreachableCode::Deadline,
        UnreachableCode::Cancelled,
        UnreachableCode::Stopped,
    ];

    /// The code as JSON writes it (`no_reply`, `permission_denied`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            UnreachableCode::Refused => "refused",
            UnreachableCode::NoReply => "no_reply",
            UnreachableCode::ResolveFailed => "resolve_failed",
            UnreachableCode::NoPort => "no_port",
            UnreachableCode::PermissionDenied => "permission_denied",
            UnreachableCode::SendFailed => "send_failed",
            UnreachableCode::Deadline => "deadline",
            UnreachableCode::Cancelled => "cancelled",
            UnreachableCode::Stopped => "stopped",
        }
    }
}

impl fmt::Display for UnreachableCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Unreachable {
    /// The stable code of this reason.
    pub fn code(&self) -> UnreachableCode {
        match self {
            Unreachable::Refused => UnreachableCode::Refused,
            Unreachable::NoReply => UnreachableCode::NoReply,
            Unreachable::ResolveFailed(_) => UnreachableCode::ResolveFailed,
            Unreachable::NoPort(_) => UnreachableCode::NoPort,
            Unreachable::PermissionDenied(_) => UnreachableCode::PermissionDenied,
            Unreachable::SendFailed(_) => UnreachableCode::SendFailed,
            Unreachable::Deadline => UnreachableCode::Deadline,
            Unreachable::Cancelled => UnreachableCode::Cancelled,
            Unreachable::Stopped => UnreachableCode::Stopped,
        }
    }
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::Refused => f.write_str(
                "connection refused: nothing listens on that port (ICMP port unreachable or TCP \
                 reset); check the beacon's port or use another protocol",
            ),
            Unreachable::NoReply => f.write_str(
                "no reply: every probe timed out; the beacon may be down or a firewall drops the \
                 probes (try another protocol, or a longer timeout)",
            ),
            Unreachable::ResolveFailed(why) => write!(f, "could not resolve the address: {why}"),
            Unreachable::NoPort(protocol) => write!(
                f,
                "the target has no {protocol} port; choose another protocol (or auto)"
            ),
            Unreachable::PermissionDenied(why) => write!(
                f,
                "ICMP is not permitted ({why}); allow unprivileged ping with \
                 `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`, or run with CAP_NET_RAW, \
                 or use the udp protocol"
            ),
            Unreachable::SendFailed(why) => write!(f, "probes could not be sent: {why}"),
            Unreachable::Deadline => {
                f.write_str("the run's deadline passed before any reply from this beacon")
            }
            Unreachable::Cancelled => f.write_str("the run was cancelled before any reply"),
            Unreachable::Stopped => f.write_str("stopped before any reply"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_snake_case() {
        for code in UnreachableCode::ALL {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
        let cases = [
            (Unreachable::Refused, "refused"),
            (Unreachable::NoReply, "no_reply"),
            (Unreachable::ResolveFailed("x".into()), "resolve_failed"),
            (Unreachable::NoPort(Protocol::Tcp), "no_port"),
            (
                Unreachable::PermissionDenied("EPERM".into()),
                "permission_denied",
            ),
            (Unreachable::SendFailed("x".into()), "send_failed"),
            (Unreachable::Deadline, "deadline"),
            (Unreachable::Cancelled, "cancelled"),
            (Unreachable::Stopped, "stopped"),
        ];
        for (why, code) in cases {
            assert_eq!(why.code().as_str(), code);
            let json = serde_json::to_value(&why).unwrap();
            assert_eq!(json["code"], code);
            let back: Unreachable = serde_json::from_value(json).unwrap();
            assert_eq!(back, why);
        }
    }

    #[test]
    fn the_icmp_reason_says_how_to_fix_it() {
        let text = Unreachable::PermissionDenied("EPERM".into()).to_string();
        assert!(text.contains("ping_group_range"));
        assert!(text.contains("CAP_NET_RAW"));
    }
}
