//! Speed of the defaults on the 12-location scenario (8 ms to 250 ms, 2 % loss, 2 ms
//! jitter), simulated on loopback: how long until the best location is known (`decision`),
//! and until the complete report (`full_report`). Targets: 250 ms and 500 ms median.
//!
//! `cargo bench --bench probe`

use std::time::Duration;

use criterion::{Criterion, criterion_main};
use edgegap_beacon_sim::Scenario;
use edgegap_probe::{Probe, ProbeConfig, Report};

fn run(runtime: &tokio::runtime::Runtime, json: &str, config: &ProbeConfig) -> Report {
    runtime.block_on(async {
        Probe::builder()
            .beacon_list_json(json)
            .expect("beacon list")
            .config(config.clone())
            .run()
            .await
            .expect("report")
    })
}

fn twelve_locations(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sim = runtime
        .block_on(Scenario::twelve_locations(42).start())
        .expect("simulated beacons");
    let json = sim.beacon_list_v1().to_string();
    let defaults = ProbeConfig::default();
    let full = {
        let mut c = ProbeConfig::default();
        c.early_decision = false;
        c
    };

    let mut group = c.benchmark_group("twelve_locations");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(12));
    group.bench_function("full_report", |b| {
        b.iter(|| run(&runtime, &json, &defaults));
    });
    group.bench_function("decision", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| {
                    let report = run(&runtime, &json, &defaults);
                    Duration::from_secs_f64(
                        report.decision_ms.unwrap_or(report.duration_ms) / 1000.0,
                    )
                })
                .sum()
        });
    });
    group.bench_function("full_report_without_early_decision", |b| {
        b.iter(|| run(&runtime, &json, &full));
    });
    group.finish();
    runtime.block_on(sim.shutdown());
}

/// The groups of this file (in a private module: `criterion_group!` makes an undocumented fn).
mod groups {
    criterion::criterion_group!(benches, super::twelve_locations);
}
criterion_main!(groups::benches);
