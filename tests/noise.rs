//! Right under noise: the harsh-network acceptance test (real sockets on loopback).
//!
//! Our own harsh scenario, built on the simulator's `harsh` preset: the two best locations
//! 5 to 10 ms apart near 30 ms (the gap varies with the seed), 6 ms jitter, 15 % of replies
//! delayed by up to 120 ms, bursty loss (Gilbert–Elliott, about 5 %), and shared congestion
//! episodes of +40–80 ms for 40 ms about every 300 ms on every beacon at once.
//!
//! The test counts, it does not time: the right location must win at least 95 % of 40 seeded
//! runs, and every report must state its confidence. (Time to the answer is a benchmark:
//! `cargo bench --bench probe`.)

use edgegap_beacon_sim::{Scenario, Simulation};
use edgegap_probe::{Probe, ProbeConfig, Report, Verdict};

const RUNS: u64 = 40;

/// The harsh preset with the runner-up 5–10 ms behind the best and heavier spikes.
fn scenario(seed: u64) -> Scenario {
    Scenario::harsh_contest(seed)
}

fn truth(scenario: &Scenario) -> String {
    let best = scenario.closest().expect("live beacons");
    scenario.beacons[best].city.clone()
}

async fn probe(sim: &Simulation) -> Report {
    Probe::builder()
        .beacon_list_json(&sim.beacon_list_v1().to_string())
        .expect("the simulator's list parses")
        .config(ProbeConfig::default())
        .run()
        .await
        .expect("a report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closest_location_wins_under_harsh_noise() {
    let mut right = 0;
    let mut wrong = Vec::new();
    let mut paired = 0;
    for seed in 0..RUNS {
        let scenario = scenario(seed);
        let expected = truth(&scenario);
        let sim = scenario.start().await.expect("simulated beacons");
        let report = probe(&sim).await;
        sim.shutdown().await;
        let best = report.best().map(|b| b.city.clone()).unwrap_or_default();
        let confidence = report.confidence.clone().expect("a confidence is stated");
        assert_ne!(confidence.verdict, Verdict::Single, "seed {seed}");
        assert!((confidence.level - 0.95).abs() < 1e-12);
        assert!(
            report.locations.iter().all(|l| l.counts.adds_up()),
            "seed {seed}"
        );
        // The best two are probed side by side: the confidence pairs their probes.
        paired += u64::from(confidence.pairs > 0);
        if best == expected {
            right += 1;
        } else {
            wrong.push((seed, best, confidence.verdict, report.duration_ms));
        }
    }
    // 95 % of 40 is 38.
    assert!(
        right * 100 >= RUNS * 95,
        "right in {right} of {RUNS} runs; wrong: {wrong:?}"
    );
    // Runs that compare the best two side by side state paired figures (28 and 29 of 40 in
    // two runs; the others were decided before any extension).
    assert!(
        paired * 2 >= RUNS,
        "only {paired} of {RUNS} reports pair the best two's probes"
    );
}
