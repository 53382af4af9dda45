//! The acceptance criterion: 20 UDP beacons with injected delays from 5 ms to
//! 200 ms, one concurrent run, every median within 3 ms of its delay.
mod common;

use std::time::Duration;

use common::{beacon, median, ms, run, sim, targets};
use edgegap_ping::{EngineConfig, ProtocolChoice, TargetStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_beacons_medians_within_3ms_of_their_delay() {
    let delays: Vec<f64> = (0..20).map(|i| 5.0 + f64::from(i) * 195.0 / 19.0).collect();
    let specs = delays
        .iter()
        .enumerate()
        .map(|(i, d)| beacon(&format!("city{i}"), 10 + i as u8, *d))
        .collect();
    let sim = sim(specs).await;
    let config = EngineConfig {
        count: 7,
        ..EngineConfig::default()
    };
    let out = run(targets(&sim, ProtocolChoice::Udp), config).await;
    for (s, delay) in out.summary.targets.iter().zip(&delays) {
        assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
        assert!(s.rtts.len() >= 4, "{s:?}");
        let m = median(&s.rtts);
        let injected = Duration::from_secs_f64(delay / 1000.0);
        eprintln!(
            "target {} delay {delay:.1} ms median {:.3} ms, {} samples",
            s.id,
            ms(m),
            s.rtts.len()
        );
        // The sim delays from the instant it received the probe, so the true RTT is the
        // delay plus loopback time: never below it (within timer noise), at most 3 ms above.
        assert!(
            m + Duration::from_micros(200) >= injected && m <= injected + Duration::from_millis(3),
            "target {} delay {delay:.1} ms median {:.2} ms (rtts {:?})",
            s.id,
            ms(m),
            s.rtts
        );
    }
    assert_eq!(out.summary.foreign, 0);
    // All 20 concurrently: the run takes about the slowest beacon's time, not the sum.
    assert!(
        out.summary.elapsed < Duration::from_secs(3),
        "{:?}",
        out.summary.elapsed
    );
}
