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
//! # Harsh network
//!
//! For ranking under noise ([`network`]; [`Scenario::harsh`] is the preset,
//! `scenarios/harsh.toml` its file):
//! - [`BeaconSpec::spikes`]: per-packet delay spikes, with a probability and a largest extra
//!   delay;
//! - [`BeaconSpec::bursty_loss`]: Gilbert–Elliott bursty loss, good and bad states with their
//!   own loss rates and per-packet transition probabilities, applied after the plain `loss`
//!   (a datagram is answered only if neither drops it);
//! - the scenario's [`network::Network`] (`[network]` in a file): congestion episodes of the
//!   last hop every beacon shares, a Poisson process of episodes, each with a length and one
//!   extra delay, on **one timeline per simulation**: a pure function of the seed and of the
//!   time since the simulation started ([`Simulation::epoch`]), so beacons probed within a few
//!   milliseconds of each other see the same episode.
//!
//! All of it is seeded: the same seed and the same datagrams in the same order replay the same
//! drops, spikes and bursts, and the same seed gives the same episodes at the same times.
//! [`Behaviour`] is a beacon's model without the sockets, for deterministic tests.
//!
//! Delay, jitter and loss are injected on UDP only: a TCP handshake is completed by the
//! kernel, and without netem (root) nothing in user space can slow it down or drop it.
//!
//! # The TCP rule
//!
//! **A simulated beacon has a TCP port (a TCP socket, and a `tcp_port` in both beacon-list
//! shapes) only where its TCP timing follows its scenario**, so that a probe falling back to
//! TCP (as `auto` does when UDP gets no answer) can never rank a slow, lossy or silent beacon
//! as fast. With the default `tcp = true` ([`TcpMode::Faithful`]) that is a beacon which is
//! - `down`: the TCP port is closed and connects are refused, as its UDP is;
//! - `tcp_silent`: connects time out (a listener whose accept queue is kept full);
//! - or a plain zero-delay echo: no `delay_ms`, `jitter_ms`, `loss`, `silent`, `duplicates`,
//!   `wrong_source_port`, `alter_bytes`, `reply_with`, harsh network or hostile mode
//!   ([`BeaconSpec::tcp_would_ignore`]), whose kernel-speed handshake is the truth.
//!
//! Any other beacon opens no TCP socket at all (a silent beacon must not answer TCP to
//! someone who guesses the port either) and lists no TCP port. `tcp = false` ([`TcpMode::Off`])
//! never has one; `tcp = "always"` ([`TcpMode::Always`]) always has one, and then TCP answers
//! at kernel speed, whatever the scenario, for tests of TCP itself. A beacon left with no
//! port at all (`udp = false` and no TCP port) is refused by validation: a probe would fall
//! back to ICMP, which the kernel also answers at once. See [`BeaconSpec::serves_tcp`].
//!
//! # Hostile beacons
//!
//! `predict_and_spray`, `early_replies` and `flood` make a beacon hostile: it never echoes,
//! and instead forges replies to probes it has not seen, or floods junk, to test that the
//! engine never takes such a datagram for an answer. See [`hostile`].

mod behaviour;
mod error;
pub mod hostile;
mod lists;
pub mod matchmaker;
pub mod network;
mod presets;
mod scenario;
mod scheduler;
mod simulation;
mod sockets;
mod spec;
mod stats;
mod tcp;
mod udp;

pub use behaviour::{Behaviour, Decision};
pub use error::SimError;
pub use lists::ListShape;
pub use matchmaker::{Fault, MatchmakerConfig, MatchmakerSim};
pub use presets::DEMO_SEED;
pub use scenario::Scenario;
pub use simulation::{RunningBeacon, Simulation};
pub use spec::{BeaconSpec, TcpMode};
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
