//! [`Simulation`]: the running beacons of a scenario, stopped when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::behaviour::{Behaviour, Payload};
use crate::error::SimError;
use crate::hostile::Hostile;
use crate::lists::{self, ListShape};
use crate::scenario::Scenario;
use crate::scheduler::Scheduler;
use crate::sockets::{self, SockError};
use crate::spec::BeaconSpec;
use crate::stats::{BeaconStats, Counters};
use crate::tcp::{self, Blackhole};
use crate::udp::Responder;

/// One started beacon and the addresses it can be probed on.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningBeacon {
    /// What it was started from.
    pub spec: BeaconSpec,
    /// UDP address to probe; `None` when the spec has `udp = false`. For a `down` beacon this
    /// is a closed port (probes are refused).
    pub udp: Option<SocketAddr>,
    /// TCP address to probe; `None` when the beacon has no TCP port: `tcp = false`, or its TCP
    /// timing would not follow its scenario ([`BeaconSpec::serves_tcp`]), in which case no TCP
    /// socket was opened either. For a `down` beacon this is a closed port (connects are
    /// refused); for a `tcp_silent` one, connects time out.
    pub tcp: Option<SocketAddr>,
}

/// The beacons of a started [`Scenario`]. Dropping it stops every beacon: the reply thread
/// stops at once, the receive tasks are aborted and their sockets close as the runtime drops
/// them (wait for that with [`Simulation::shutdown`]).
#[derive(Debug)]
pub struct Simulation {
    beacons: Vec<RunningBeacon>,
    counters: Vec<Arc<Counters>>,
    tasks: Vec<JoinHandle<()>>,
    holes: Vec<Blackhole>,
    scheduler: Scheduler,
    epoch: Instant,
}

impl Simulation {
    pub(crate) async fn start(scenario: &Scenario) -> Result<Simulation, SimError> {
        scenario.validate()?;
        // Built up in place, so a failure half-way drops (stops) what was started.
        let mut sim = Simulation {
            beacons: Vec::with_capacity(scenario.beacons.len()),
            counters: Vec::with_capacity(scenario.beacons.len()),
            tasks: Vec::new(),
            holes: Vec::new(),
            scheduler: Scheduler::start().map_err(SimError::Thread)?,
            epoch: Instant::now(),
        };
        for (index, spec) in scenario.beacons.iter().enumerate() {
            sim.start_beacon(index, spec, scenario.seed).await?;
        }
        tracing::debug!(beacons = sim.beacons.len(), "simulation started");
        Ok(sim)
    }

    async fn start_beacon(
        &mut self,
        index: usize,
        spec: &BeaconSpec,
        seed: u64,
    ) -> Result<(), SimError> {
        let counters = Arc::new(Counters::default());
        let fail = |protocol: &'static str, addr: SocketAddr| {
            let city = spec.city.clone();
            move |(action, source): SockError| SimError::Bind {
                index,
                city,
                protocol,
                action,
                addr,
                source,
            }
        };

        let udp = if spec.udp {
            let asked = SocketAddr::new(spec.address, spec.udp_port);
            Some(if spec.down {
                closed(asked, false).map_err(fail("UDP", asked))?
            } else {
                self.start_udp(index, spec, seed, asked, &counters)
                    .map_err(fail("UDP", asked))?
            })
        } else {
            None
        };

        // The rule: no TCP socket where a kernel-speed handshake would belie the scenario.
        let tcp = if spec.serves_tcp() {
            let asked = SocketAddr::new(spec.address, spec.tcp_port);
            Some(if spec.down {
                closed(asked, true).map_err(fail("TCP", asked))?
            } else if spec.tcp_silent {
                let (hole, local) = Blackhole::bind(asked).await.map_err(fail("TCP", asked))?;
                self.holes.push(hole);
                local
            } else {
                let (task, local) = tcp::start_acceptor(asked, Arc::clone(&counters))
                    .map_err(fail("TCP", asked))?;
                self.tasks.push(task);
                local
            })
        } else {
            if let Some(field) = spec.tcp_would_ignore() {
                tracing::debug!(index, city = %spec.city, field, "no TCP port: a handshake would ignore it");
            }
            None
        };

        tracing::debug!(index, city = %spec.city, ?udp, ?tcp, down = spec.down, "beacon started");
        self.beacons.push(RunningBeacon {
            spec: spec.clone(),
            udp,
            tcp,
        });
        self.counters.push(counters);
        Ok(())
    }

    fn start_udp(
        &mut self,
        index: usize,
        spec: &BeaconSpec,
        seed: u64,
        asked: SocketAddr,
        counters: &Arc<Counters>,
    ) -> Result<SocketAddr, SockError> {
        let (socket, same) = sockets::udp(asked)?;
        let local = socket.local_addr().map_err(|e| ("inspect", e))?;
        let out = if spec.wrong_source_port {
            sockets::udp_send_only(SocketAddr::new(spec.address, 0))?
        } else {
            same
        };
        let responder = Responder {
            socket,
            out: Arc::new(out),
            behaviour: Behaviour::new(spec, seed, index),
            payload: Payload::new(spec),
            duplicates: spec.duplicates,
            counters: Arc::clone(counters),
            queue: self.scheduler.queue(),
            hostile: Hostile::new(spec, seed, index),
            epoch: self.epoch,
        };
        self.tasks.push(responder.spawn());
        Ok(local)
    }

    /// When the simulation started: time zero of its shared congestion timeline (a probe
    /// received at instant `t` sees [`CongestionTimeline::extra_at`]`(t - epoch)`; see
    /// [`Scenario::network`]).
    ///
    /// [`CongestionTimeline::extra_at`]: crate::network::CongestionTimeline::extra_at
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// The running beacons, in scenario order.
    pub fn beacons(&self) -> &[RunningBeacon] {
        &self.beacons
    }

    /// The beacons as an Edgegap v1 beacon list:
    /// `{"count", "locations": [{"host", "udp_port"?, "tcp_port"?, "location": {...}}]}`.
    /// `tcp_port` is there only for beacons with a TCP port ([`BeaconSpec::serves_tcp`]).
    pub fn beacon_list_v1(&self) -> Value {
        lists::v1(&self.beacons)
    }

    /// The beacons as a matchmaker beacon list:
    /// `{"count", "beacons": [{"public_ip", "fqdn": null, "udp_port", "tcp_port", "location": {...}}]}`.
    /// `tcp_port` is null for beacons without a TCP port ([`BeaconSpec::serves_tcp`]).
    pub fn beacon_list_matchmaker(&self) -> Value {
        lists::matchmaker(&self.beacons)
    }

    /// The beacon list in the given shape.
    pub fn beacon_list(&self, shape: ListShape) -> Value {
        match shape {
            ListShape::V1 => self.beacon_list_v1(),
            ListShape::Matchmaker => self.beacon_list_matchmaker(),
        }
    }

    /// A snapshot of every beacon's counters, in scenario order.
    pub fn stats(&self) -> Vec<BeaconStats> {
        self.beacons
            .iter()
            .zip(&self.counters)
            .map(|(b, c)| c.snapshot(&b.spec.city))
            .collect()
    }

    /// Stops every beacon and waits until all their sockets are closed.
    pub async fn shutdown(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // An aborted task's future (and its sockets) is dropped before its handle resolves.
            let _ = task.await;
        }
        self.holes.clear();
        self.scheduler.stop();
    }
}

fn closed(asked: SocketAddr, tcp: bool) -> Result<SocketAddr, SockError> {
    if asked.port() != 0 {
        return Ok(asked);
    }
    Ok(SocketAddr::new(
        asked.ip(),
        sockets::closed_port(asked, tcp)?,
    ))
}

impl Drop for Simulation {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
