//! Simulated Edgegap ping beacons on loopback: real UDP echo responders and TCP listeners with
//! injected delay, jitter, loss and faults, for tests, benches, the CLI `demo` and the FFI tests.
//!
//! A beacon is a peer of the probe engine, never a mock of it: the engine talks to it through
//! real sockets on 127.0.0.0/8 or ::1, exactly as it would to an Edgegap beacon.
//!
//! ```no_run
//! # async fn run() -> Result<(), edgegap_beacon_sim::SimError> {
//! use edgegap_beacon_sim::Scenario;
//! let sim = Scenario::demo().start().await?;
//! let list = sim.beacon_list_v1(); // hand this to the code under test
//! # let _ = list;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Delay is injected on UDP only: a TCP handshake is completed by the kernel, and without
//! netem (root) nothing in user space can slow it down. TCP beacons are for correctness:
//! reachable (`tcp`), refused (`down`) and timing out (`tcp_silent`).

mod behaviour;
mod error;
mod lists;
mod presets;
mod scenario;
mod scheduler;
mod simulation;
mod sockets;
mod spec;
mod stats;
mod tcp;
mod udp;

pub use error::SimError;
pub use lists::ListShape;
pub use presets::DEMO_SEED;
pub use scenario::Scenario;
pub use simulation::{RunningBeacon, Simulation};
pub use spec::BeaconSpec;
pub use stats::BeaconStats;

impl Scenario {
    /// Binds every beacon's sockets and starts serving; returns once all are bound (the kernel
    /// queues what arrives from then on). Must be called inside a tokio runtime with the time
    /// and I/O drivers enabled. Fails if a beacon is invalid or a socket cannot be bound;
    /// beacons already started are then stopped.
    pub async fn start(&self) -> Result<Simulation, SimError> {
        Simulation::start(self).await
    }
}
