//! edgegap-ping: a concurrent UDP/TCP/ICMP round-trip probe engine.
//!
//! Targets go in (address or hostname, ports, protocol), samples and events come out.
//! The logic (schedule, pacing, in-flight table, timeouts) lives in a sans-I/O core that
//! takes `now` as a parameter; the tokio transports only move bytes.
//!
//! This crate knows nothing about Edgegap, locations or ranking.
//!
//! ```no_run
//! # async fn demo() -> Result<(), edgegap_ping::EngineError> {
//! use edgegap_ping::{EngineConfig, Event, Host, Ports, ProtocolChoice, TargetId, TargetSpec};
//! let targets = vec![TargetSpec {
//!     id: TargetId(0),
//!     host: Host::parse("127.0.0.1"),
//!     ports: Ports { udp: Some(9000), tcp: None },
//!     protocol: ProtocolChoice::Auto,
//! }];
//! let mut run = edgegap_ping::start(targets, EngineConfig::default())?;
//! while let Some(event) = run.events.recv().await {
//!     if let Event::Done { summary } = event {
//!         println!("{}: {} {:?}", summary.id, summary.status, summary.rtts);
//!     }
//! }
//! let summary = run.finish().await;
//! # let _ = summary;
//! # Ok(()) }
//! ```

pub mod config;
mod driver;
pub mod error;
pub mod event;
mod machine;
pub mod observe;
pub mod payload;
pub mod types;

pub use config::{EngineConfig, IpVersion};
pub use driver::{Finished, ObservedRun, Run, RunControl, start, start_observed};
pub use edgegap_core::{ProbeCounts, Unreachable, UnreachableCode};
pub use error::EngineError;
pub use event::{Event, LossCause, RunStop, RunSummary, Seq, TargetStatus, TargetSummary};
pub use observe::{Observer, Steer};
pub use types::{Host, Ports, Protocol, ProtocolChoice, TargetId, TargetSpec};
