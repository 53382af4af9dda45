//! 1,000 UDP targets in one run: all answered, through one socket per family, without
//! the process's descriptor count growing with the number of targets.
mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{sim, targets};
use edgegap_beacon_sim::BeaconSpec;
use edgegap_ping::{EngineConfig, ProtocolChoice, TargetStatus};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_udp_targets_share_two_sockets() {
    let specs = (0..1000u32)
        .map(|i| {
            let ip = IpAddr::from([127, 1, (i / 250) as u8, (i % 250 + 1) as u8]);
            let mut b = BeaconSpec::new(&format!("b{i}"), ip, 0.0);
            b.tcp = edgegap_beacon_sim::TcpMode::Off;
            b
        })
        .collect();
    let sim = sim(specs).await;
    let before = open_fds();
    let config = {
        let mut c = EngineConfig::default();
        c.count = 2;
        c.extra_probes = 4;
        c.interval = Duration::from_millis(5);
        c.min_gap = Duration::from_micros(100);
        c.timeout = Duration::from_millis(500);
        c
    };
    let mut run = edgegap_ping::start(targets(&sim, ProtocolChoice::Udp), config).unwrap();
    let mut peak = open_fds();
    let mut seen = 0u32;
    while let Some(_event) = run.events.recv().await {
        seen += 1;
        if seen.is_multiple_of(100) {
            peak = peak.max(open_fds());
        }
    }
    let summary = run.finish().await;
    assert_eq!(summary.targets.len(), 1000);
    let complete = summary
        .targets
        .iter()
        .filter(|s| s.status == TargetStatus::Complete && s.counts.received == 2)
        .count();
    assert_eq!(
        complete,
        1000,
        "{:?}",
        summary.targets.iter().find(|s| s.counts.received < 2)
    );
    eprintln!(
        "fds before {before}, peak {peak}, elapsed {:?}, foreign {}",
        summary.elapsed, summary.foreign
    );
    // Two UDP sockets and a few runtime descriptors, not one per target.
    assert!(
        peak <= before + 16,
        "descriptors: {before} before, {peak} during the run"
    );
    assert!(
        summary.elapsed < Duration::from_secs(5),
        "{:?}",
        summary.elapsed
    );
}

/// `forward_every`: the reader gets the events in batches, each held back up to the period
/// (so a large run's controller is woken once per period, not once per probe), and every
/// event still arrives, in a run that keeps all its invariants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_held_back_for_a_period_all_arrive() {
    let sim = sim((1..=10u8)
        .map(|i| common::beacon(&format!("b{i}"), 110 + i, 2.0))
        .collect())
    .await;
    let mut config = common::quick(Duration::from_millis(500));
    config.count = 5;
    config.extra_probes = 5;
    config.forward_every = Some(Duration::from_millis(60));
    let outcome = common::run(targets(&sim, ProtocolChoice::Udp), config.clone()).await;
    outcome.assert_invariants(&config);
    for s in &outcome.summary.targets {
        assert_eq!(s.counts.received, 5, "{s:?}");
    }
    let sent: Vec<Duration> = outcome
        .events
        .iter()
        .filter_map(|(read, e)| match e {
            edgegap_ping::Event::Sent { at, .. } => Some(read.saturating_duration_since(*at)),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 50, "every probe sent is reported");
    // The first probes are sent right after the run starts and held for the whole period.
    let held = sent
        .iter()
        .filter(|d| **d >= Duration::from_millis(20))
        .count();
    assert!(held > 0, "no event was held back: {sent:?}");
}
