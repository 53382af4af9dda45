//! The C ABI of edgegap-probe (`libedgegap_probe`), for games in Unity (C# P/Invoke) and
//! Unreal (C++).
//!
//! A game fetches the beacon list itself, hands it to `egp_probe_create`, starts the probe
//! (`egp_probe_start`, non-blocking), polls it from its frame loop (`egp_probe_poll`) and reads
//! the ranked report and the matchmaker payload as JSON into its own buffers. See
//! `include/edgegap_probe.h` and `README.md` for the contract; this crate only adapts the
//! `edgegap-probe` facade to it.
//!
//! Safety design: handles are ids in a registry (stale and freed ids are detected), every entry
//! point runs inside `catch_unwind`, pointers are checked for NULL and strings for UTF-8, the
//! library never keeps a caller's pointer, and one small shared runtime runs every probe.

mod api;
mod boundary;
mod buffer;
mod callback;
mod config;
mod flow;
mod flow_api;
mod last_error;
mod registry;
mod result;
mod runtime;
mod session;

pub use api::*;
pub use callback::{EgpCompletionCallback, EgpProbe};
pub use config::{EgpConfig, EgpIpVersion, EgpProtocol, EgpStatistic};
pub use flow::{EgpFlow, EgpFlowAction, EgpFlowKind, EgpFlowStep, EgpFlowText, EgpHttpMethod};
pub use flow_api::*;
pub use result::EgpResult;
pub use session::{EgpProgress, EgpState};
