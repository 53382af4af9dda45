//! [`EgpResult`]: the numbered result codes of every entry point, and the internal error type
//! that carries a code and a message to the caller's thread.
//!
//! The numbers are part of the ABI: a code keeps its number forever; new codes get new numbers.

use std::ffi::CStr;
use std::fmt;

use probe::ProbeError;

/// The result of every `egp_*` function that can fail.
///
/// The numbers never change (they are compiled into games); new codes are only ever appended.
/// On anything but `EGP_RESULT_OK`, `egp_last_error_message` describes what went wrong.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EgpResult {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// A JSON argument (configuration or previous report) could not be read.
    InvalidJson = 3,
    /// The beacon list is not JSON of either published shape, or an entry is unusable.
    BadBeaconList = 4,
    /// The beacon list holds no beacons: there is nothing to probe.
    NoBeacons = 5,
    /// A configuration value is out of range, or the configuration's `size` is not supported.
    InvalidConfig = 6,
    /// The probe handle is 0, was never created, or was already freed.
    InvalidHandle = 7,
    /// The caller's buffer is too small; the needed size (with the NUL) was reported.
    BufferTooSmall = 8,
    /// The probe has not been started yet.
    NotStarted = 9,
    /// The probe is still running: its result is not ready.
    NotFinished = 10,
    /// The probe was already started (a probe runs once), or a setting came too late.
    AlreadyStarted = 11,
    /// The probe was cancelled before it started, so there is no result.
    Cancelled = 12,
    /// The probe ran but could not produce a report (for example no socket could be opened).
    ProbeFailed = 13,
    /// The internal runtime could not be started, or a blocking call was made from one of its
    /// threads (for example from inside the completion callback).
    Runtime = 14,
    /// An internal error (a bug): the call was stopped before it could unwind into the caller.
    Panic = 15,
    /// A matchmaking flow ended without an assignment (an HTTP error, too many errors in a
    /// row, a malformed answer, the matchmaker cancelled the ticket): see its error message.
    MatchmakingFailed = 16,
    /// A matchmaking flow was cancelled or timed out (its ticket deleted when it existed).
    MatchmakingCancelled = 17,
    /// A matchmaking flow could not be cancelled: the matchmaker had already found its match
    /// (the DELETE answered 409).
    AlreadyMatched = 18,
    /// An answer was handed to a flow that had no request out.
    NoRequestPending = 19,
}

impl EgpResult {
    /// The code's name, as in the C header.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("EGP_RESULT_UNKNOWN")
    }

    /// The code's name as a NUL-terminated string with static lifetime.
    pub fn c_name(self) -> &'static CStr {
        match self {
            EgpResult::Ok => c"EGP_RESULT_OK",
            EgpResult::NullArgument => c"EGP_RESULT_NULL_ARGUMENT",
            EgpResult::InvalidUtf8 => c"EGP_RESULT_INVALID_UTF8",
            EgpResult::InvalidJson => c"EGP_RESULT_INVALID_JSON",
            EgpResult::BadBeaconList => c"EGP_RESULT_BAD_BEACON_LIST",
            EgpResult::NoBeacons => c"EGP_RESULT_NO_BEACONS",
            EgpResult::InvalidConfig => c"EGP_RESULT_INVALID_CONFIG",
            EgpResult::InvalidHandle => c"EGP_RESULT_INVALID_HANDLE",
            EgpResult::BufferTooSmall => c"EGP_RESULT_BUFFER_TOO_SMALL",
            EgpResult::NotStarted => c"EGP_RESULT_NOT_STARTED",
            EgpResult::NotFinished => c"EGP_RESULT_NOT_FINISHED",
            EgpResult::AlreadyStarted => c"EGP_RESULT_ALREADY_STARTED",
            EgpResult::Cancelled => c"EGP_RESULT_CANCELLED",
            EgpResult::ProbeFailed => c"EGP_RESULT_PROBE_FAILED",
            EgpResult::Runtime => c"EGP_RESULT_RUNTIME",
            EgpResult::Panic => c"EGP_RESULT_PANIC",
            EgpResult::MatchmakingFailed => c"EGP_RESULT_MATCHMAKING_FAILED",
            EgpResult::MatchmakingCancelled => c"EGP_RESULT_MATCHMAKING_CANCELLED",
            EgpResult::AlreadyMatched => c"EGP_RESULT_ALREADY_MATCHED",
            EgpResult::NoRequestPending => c"EGP_RESULT_NO_REQUEST_PENDING",
        }
    }

    /// The code with this number, if there is one.
    pub fn from_u32(value: u32) -> Option<EgpResult> {
        ALL.into_iter().find(|code| *code as u32 == value)
    }
}

/// Every code, in numeric order.
pub(crate) const ALL: [EgpResult; 20] = [
    EgpResult::Ok,
    EgpResult::NullArgument,
    EgpResult::InvalidUtf8,
    EgpResult::InvalidJson,
    EgpResult::BadBeaconList,
    EgpResult::NoBeacons,
    EgpResult::InvalidConfig,
    EgpResult::InvalidHandle,
    EgpResult::BufferTooSmall,
    EgpResult::NotStarted,
    EgpResult::NotFinished,
    EgpResult::AlreadyStarted,
    EgpResult::Cancelled,
    EgpResult::ProbeFailed,
    EgpResult::Runtime,
    EgpResult::Panic,
    EgpResult::MatchmakingFailed,
    EgpResult::MatchmakingCancelled,
    EgpResult::AlreadyMatched,
    EgpResult::NoRequestPending,
];

impl fmt::Display for EgpResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed call: the code returned to C and the message kept for `egp_last_error_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FfiError {
    /// The code returned to the caller.
    pub code: EgpResult,
    /// What went wrong, for a human.
    pub message: String,
}

impl FfiError {
    /// An error with this code and message.
    pub(crate) fn new(code: EgpResult, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A required pointer argument was NULL.
    pub(crate) fn null(argument: &str) -> Self {
        Self::new(
            EgpResult::NullArgument,
            format!("argument `{argument}` is NULL"),
        )
    }

    /// The handle is unknown (never created, or freed).
    pub(crate) fn handle(id: u64) -> Self {
        Self::new(
            EgpResult::InvalidHandle,
            format!("probe handle {id} is not valid: it was never created or was already freed"),
        )
    }
}

impl fmt::Display for FfiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<ProbeError> for FfiError {
    fn from(err: ProbeError) -> Self {
        let code = match &err {
            ProbeError::NoBeacons => EgpResult::NoBeacons,
            ProbeError::BeaconList(_) => EgpResult::BadBeaconList,
            ProbeError::InsideAsyncRuntime | ProbeError::Runtime(_) => EgpResult::Runtime,
            _ => EgpResult::ProbeFailed,
        };
        FfiError::new(code, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_fixed_forever() {
        // These numbers are compiled into games: this test fails when one changes.
        let expected = [
            (EgpResult::Ok, 0),
            (EgpResult::NullArgument, 1),
            (EgpResult::InvalidUtf8, 2),
            (EgpResult::InvalidJson, 3),
            (EgpResult::BadBeaconList, 4),
            (EgpResult::NoBeacons, 5),
            (EgpResult::InvalidConfig, 6),
            (EgpResult::InvalidHandle, 7),
            (EgpResult::BufferTooSmall, 8),
            (EgpResult::NotStarted, 9),
            (EgpResult::NotFinished, 10),
            (EgpResult::AlreadyStarted, 11),
            (EgpResult::Cancelled, 12),
            (EgpResult::ProbeFailed, 13),
            (EgpResult::Runtime, 14),
            (EgpResult::Panic, 15),
            (EgpResult::MatchmakingFailed, 16),
            (EgpResult::MatchmakingCancelled, 17),
            (EgpResult::AlreadyMatched, 18),
            (EgpResult::NoRequestPending, 19),
        ];
        for (code, number) in expected {
            assert_eq!(code as u32, number, "{code}");
            assert_eq!(EgpResult::from_u32(number), Some(code));
        }
        assert_eq!(EgpResult::from_u32(20), None);
    }

    #[test]
    fn names_match_the_header_spelling() {
        for code in ALL {
            let name = code.name();
            assert!(name.starts_with("EGP_RESULT_"), "{name}");
            let tail = name.trim_start_matches("EGP_RESULT_").replace('_', "");
            assert_eq!(tail, format!("{code:?}").to_ascii_uppercase(), "{name}");
        }
    }
}
