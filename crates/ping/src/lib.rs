//! edgegap-ping: a concurrent UDP/TCP/ICMP round-trip probe engine.
//!
//! Targets go in (address or hostname, ports, protocol), samples and events come out.
//! The logic (schedule, pacing, in-flight table, timeouts) lives in a sans-I/O core that
//! takes `now` as a parameter; the tokio transports only move bytes.
//!
//! This crate knows nothing about Edgegap, locations or ranking.

pub mod types;

pub use types::{Host, Ports, Protocol, ProtocolChoice, TargetId, TargetSpec};
