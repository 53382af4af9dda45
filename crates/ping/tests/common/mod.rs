//! Helpers shared by the integration tests: targets from simulated beacons, a run that
//! records every event with the instant it was read, medians.
#![allow(dead_code)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use edgegap_beacon_sim::{BeaconSpec, RunningBeacon, Scenario, Simulation};
use edgegap_ping::{
    EngineConfig, Event, Host, Ports, ProtocolChoice, RunSummary, TargetId, TargetSpec,
};

/// A short run: 3 samples, at most 3 extra probes, this timeout.
pub fn quick(timeout: Duration) -> EngineConfig {
    let mut c = EngineConfig::default();
    c.count = 3;
    c.extra_probes = 3;
    c.timeout = timeout;
    c
}

/// Starts beacons (seeded, so a scenario replays the same).
pub async fn sim(beacons: Vec<BeaconSpec>) -> Simulation {
    Scenario { seed: 7, beacons }
        .start()
        .await
        .expect("simulation starts")
}

/// A beacon on 127.0.0.`last` answering UDP after `delay_ms`.
pub fn beacon(city: &str, last: u8, delay_ms: f64) -> BeaconSpec {
    BeaconSpec::new(city, IpAddr::from([127, 0, 0, last]), delay_ms)
}

/// One target per beacon, ids 0.., with the beacon's ports.
pub fn targets(sim: &Simulation, protocol: ProtocolChoice) -> Vec<TargetSpec> {
    sim.beacons()
        .iter()
        .enumerate()
        .map(|(i, b)| target(i, b, protocol))
        .collect()
}

/// The target for one beacon.
pub fn target(i: usize, b: &RunningBeacon, protocol: ProtocolChoice) -> TargetSpec {
    let ip = b.udp.or(b.tcp).map_or(b.spec.address, |a| a.ip());
    TargetSpec {
        id: TargetId(i as u32),
        host: Host::Ip(ip),
        ports: Ports {
            udp: b.udp.map(|a| a.port()),
            tcp: b.tcp.map(|a| a.port()),
        },
        protocol,
    }
}

/// What a run produced: every event with the instant the test read it.
pub struct Outcome {
    pub started: Instant,
    pub events: Vec<(Instant, Event)>,
    pub summary: RunSummary,
}

impl Outcome {
    /// When target `id`'s `Done` was read, after the start.
    pub fn done_after(&self, id: u32) -> Duration {
        self.events
            .iter()
            .find(|(_, e)| matches!(e, Event::Done { summary } if summary.id == TargetId(id)))
            .map(|(at, _)| *at - self.started)
            .expect("every target has a Done event")
    }

    /// Checks the invariants every run must keep.
    pub fn assert_invariants(&self, config: &EngineConfig) {
        let sends: Vec<Instant> = self
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Sent { at, .. } => Some(*at),
                _ => None,
            })
            .collect();
        for pair in sends.windows(2) {
            assert!(
                pair[1] - pair[0] >= config.min_gap,
                "two sends {:?} apart",
                pair[1] - pair[0]
            );
        }
        assert_eq!(
            self.summary.targets.len(),
            self.events
                .iter()
                .filter(|(_, e)| matches!(e, Event::Done { .. }))
                .count()
        );
        for s in &self.summary.targets {
            assert!(s.counts.adds_up(), "{s:?}");
            assert_eq!(s.rtts.len() as u32, s.counts.received, "{s:?}");
            let done = self
                .events
                .iter()
                .filter(|(_, e)| matches!(e, Event::Done { summary } if summary.id == s.id))
                .count();
            assert_eq!(done, 1, "exactly one Done for {}", s.id);
        }
    }
}

/// Runs the engine to the end, reading every event.
pub async fn run(targets: Vec<TargetSpec>, config: EngineConfig) -> Outcome {
    let started = Instant::now();
    let mut run = edgegap_ping::start(targets, config.clone()).expect("run starts");
    let mut events = Vec::new();
    while let Some(e) = run.events.recv().await {
        events.push((Instant::now(), e));
    }
    let summary = run.finish().await;
    let outcome = Outcome {
        started,
        events,
        summary,
    };
    outcome.assert_invariants(&config);
    outcome
}

/// The median of some durations (the lower middle one for an even count).
pub fn median(rtts: &[Duration]) -> Duration {
    let mut sorted = rtts.to_vec();
    sorted.sort();
    sorted[(sorted.len() - 1) / 2]
}

/// Milliseconds as a float, for messages.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
