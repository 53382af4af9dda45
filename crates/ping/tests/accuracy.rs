//! The acceptance criterion: 20 UDP beacons with injected delays from 5 ms to
//! 200 ms, one concurrent run, every median within 3 ms of its delay.
mod common;

use std::time::Duration;

use common::{beacon, median, ms, run, sim, targets};
use edgegap_ping::{EngineConfig, ProtocolChoice, TargetStatus};

/// How far above the injected delay one run's medians are (the worst target), after
/// checking what must hold in every run whatever the load.
async fn one_run(sim: &edgegap_beacon_sim::Simulation, delays: &[f64]) -> Duration {
    let config = {
        let mut c = EngineConfig::default();
        c.count = 9;
        c
    };
    let out = run(targets(sim, ProtocolChoice::Udp), config).await;
    assert_eq!(out.summary.foreign, 0);
    // All 20 concurrently: the run takes about the slowest beacon's time, not the sum.
    assert!(
        out.summary.elapsed < Duration::from_secs(3),
        "{:?}",
        out.summary.elapsed
    );
    let mut worst = Duration::ZERO;
    for (s, delay) in out.summary.targets.iter().zip(delays) {
        assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
        assert!(s.rtts.len() >= 5, "{s:?}");
        let m = median(&s.rtts);
        let injected = Duration::from_secs_f64(delay / 1000.0);
        // The sim delays from the instant it received the probe, so the true RTT is the
        // delay plus loopback and scheduling time: never below the delay (timer noise aside).
        assert!(
            m + Duration::from_micros(200) >= injected,
            "target {} delay {delay:.1} ms median {:.3} ms",
            s.id,
            ms(m)
        );
        let excess = m.saturating_sub(injected);
        eprintln!(
            "target {} delay {delay:.1} ms median {:.3} ms (+{:.3})",
            s.id,
            ms(m),
            ms(excess)
        );
        worst = worst.max(excess);
    }
    worst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_beacons_medians_within_3ms_of_their_delay() {
    let delays: Vec<f64> = (0..20).map(|i| 5.0 + f64::from(i) * 195.0 / 19.0).collect();
    let specs = delays
        .iter()
        .enumerate()
        .map(|(i, d)| beacon(&format!("city{i}"), 10 + i as u8, *d))
        .collect();
    let sim = sim(specs).await;
    // The engine adds well under a millisecond; a burst of load from other processes can
    // delay the sim's and the engine's threads by several. So: up to three runs, and the
    // criterion must hold for every target of one of them. An engine that is really off
    // (a wrong timestamp, a reply taken for another probe) fails all three.
    let mut worsts = Vec::new();
    for _ in 0..3 {
        let worst = one_run(&sim, &delays).await;
        worsts.push(worst);
        if worst <= Duration::from_millis(3) {
            return;
        }
    }
    panic!("no run had every median within 3 ms of its delay; worst excess per run: {worsts:?}");
}
