//! Process exit codes. Their numbers are part of the interface: scripts test them, so they
//! never change. Documented at the end of the root `--help` and in the README.

/// Success.
pub const OK: u8 = 0;
/// Any other failure: a file that cannot be read or written, a socket that cannot be opened,
/// an internal error.
pub const FAILURE: u8 = 1;
/// Usage error: an unknown flag, a missing or malformed argument (clap's own code for this).
pub const USAGE: u8 = 2;
/// The probe ran, but no location answered (every beacon down, blocked or filtered), or every
/// location that did is above `--max-latency-ms`.
pub const NO_LOCATION_REACHABLE: u8 = 3;
/// An Edgegap API or matchmaker call failed (refused token, HTTP error, unreachable server,
/// malformed answer, ticket cancelled).
pub const API: u8 = 4;
/// The input data is unusable: an empty beacon list, a file that is neither beacon-list shape,
/// an invalid scenario or request body.
pub const BAD_INPUT: u8 = 5;
/// Interrupted by Ctrl-C (a pending ticket is cancelled first). 128 + SIGINT, as shells do.
pub const INTERRUPTED: u8 = 130;
