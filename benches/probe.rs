//! Speed of the defaults on the 12-location scenario (8 ms to 250 ms, 2 % loss, 2 ms
//! jitter), simulated on loopback: how long until the best location is known (`decision`),
//! and until the complete report (`full_report`).
//!
//! Then, outside criterion (rightness is a count, not a time), 20 seeded runs of the defaults
//! on the clean scenario and on the harsh one (`Scenario::harsh_contest`: the two best 5-10 ms
//! apart, spikes, bursty loss, shared congestion): how often the right location wins, the
//! median `decision_ms` and `duration_ms`, and the median probes sent per location.
//!
//! `cargo bench --bench probe` (`QUALITY_RUNS=N` for another number of seeded runs)

use std::time::Duration;

use criterion::Criterion;
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

/// Seeded runs per scenario in the quality summary without `QUALITY_RUNS`.
const QUALITY_RUNS: u64 = 20;

/// The quality summary of one scenario: right rate, medians of `decision_ms`, `duration_ms`
/// and probes per location over `runs` seeds.
fn quality(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    runs: u64,
    config: &ProbeConfig,
    scenario: impl Fn(u64) -> Scenario,
) {
    let (mut right, mut decisions, mut durations, mut probes) = (0, vec![], vec![], vec![]);
    for seed in 0..runs {
        let scenario = scenario(seed);
        let truth = scenario.beacons[scenario.closest().expect("live beacons")]
            .city
            .clone();
        let sim = runtime
            .block_on(scenario.start())
            .expect("simulated beacons");
        let report = run(runtime, &sim.beacon_list_v1().to_string(), config);
        runtime.block_on(sim.shutdown());
        if report.best().is_some_and(|b| b.city == truth) {
            right += 1;
        }
        decisions.push(report.decision_ms.unwrap_or(report.duration_ms));
        durations.push(report.duration_ms);
        let sent = report.probes_sent();
        let locations = report.locations.len() + report.excluded.len() + report.unreachable.len();
        probes.push(f64::from(sent) / locations.max(1) as f64);
    }
    println!(
        "| {name} | {right}/{runs} | {:.0} ms | {:.0} ms | {:.1} |",
        median(&mut decisions),
        median(&mut durations),
        median(&mut probes)
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The groups of this file (in a private module: `criterion_group!` makes an undocumented fn).
mod groups {
    criterion::criterion_group!(benches, super::twelve_locations);
}

fn main() {
    groups::benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs benches once in test mode: no quality summary there.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let runs = std::env::var("QUALITY_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(QUALITY_RUNS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "\n{runs} seeded runs each (seeds 0..{runs}); `--fixed-count`: adaptive sampling off\n"
    );
    println!(
        "| scenario | right | median decision_ms | median duration_ms | median probes per location |"
    );
    println!("|---|---|---|---|---|");
    let defaults = ProbeConfig::default();
    let fixed = {
        let mut c = ProbeConfig::default();
        c.adaptive = false;
        c
    };
    let clean = Scenario::twelve_locations;
    let harsh = Scenario::harsh_contest;
    quality(&runtime, "clean (12 locations)", runs, &defaults, clean);
    quality(&runtime, "clean, `--fixed-count`", runs, &fixed, clean);
    quality(
        &runtime,
        "harsh (`Scenario::harsh_contest`)",
        runs,
        &defaults,
        harsh,
    );
    quality(&runtime, "harsh, `--fixed-count`", runs, &fixed, harsh);
}
