//! edgegap-ping: a concurrent UDP/TCP/ICMP round-trip probe engine.
//!
//! Targets go in (address or hostname, ports, protocol), samples and events come out.
//! The logic (schedule, pacing, in-flight table, timeouts) lives in a sans-I/O core that
//! takes `now` as a parameter; the tokio transports only move bytes.
//!
//! This crate knows nothing about Edgegap, locations or ranking.

pub mod config;
mod driver;
pub mod error;
pub mod event;
mod machine;
pub mod payload;
pub mod types;

pub use config::{EngineConfig, IpVersion};
pub use driver::{Run, RunControl, start};
pub use error::EngineError;
pub use event::{Event, RunSummary, Seq, TargetStatus, TargetSummary, Unreachable};
pub use types::{Host, Ports, Protocol, ProtocolChoice, TargetId, TargetSpec};
