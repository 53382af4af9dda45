//! edgegap-core: the one vocabulary of edgegap-probe, from beacon to payload.
//!
//! Every crate of the pipeline (`beacon list → probe engine → statistics → ranking → payload`)
//! speaks these types, so an idea has one name and one shape end to end:
//!
//! - [`Protocol`]: the transport that produced a figure (UDP echo, TCP handshake, ICMP echo),
//!   and [`ProtocolChoice`], the transport a caller asks for (`auto` or one of them).
//! - [`ProbeCounts`]: what became of every probe sent. Each probe is exactly one of
//!   `received`, `lost`, `late` or `cancelled`, so `sent = received + lost + late + cancelled`,
//!   and `loss = (lost + late) / (sent − cancelled)` is the loss shown and the loss scored.
//! - [`Unreachable`] and its stable [`UnreachableCode`]: why a beacon produced no sample, typed
//!   from the engine to the report, the command line's hints and the C ABI.
//! - [`Samples`], [`Stats`], [`RttSummary`], [`Metrics`] and [`Statistic`]: the one statistics
//!   implementation, used by the engine's adaptive timeout, the live decision and the final
//!   ranking alike (exact order statistics up to [`EXACT_LIMIT`] samples, a histogram above).
//!
//! This crate does no I/O and pulls in no network stack.

mod counts;
mod names;
mod protocol;
mod stats;
mod unreachable;

pub use counts::ProbeCounts;
pub use names::UnknownName;
pub use protocol::{Protocol, ProtocolChoice};
pub use stats::{EXACT_LIMIT, Metrics, RttSummary, Samples, Statistic, Stats};
pub use unreachable::{Unreachable, UnreachableCode};
