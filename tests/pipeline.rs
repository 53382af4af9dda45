//! End-to-end tests of the facade against simulated beacons on loopback (real sockets).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use edgegap_beacon_sim::{BeaconSpec, Scenario, Simulation};
use edgegap_probe::{Probe, ProbeConfig, ProbeError, Report};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 3, last))
}

async fn start(scenario: &Scenario) -> Simulation {
    scenario.start().await.expect("simulated beacons start")
}

async fn probe(sim: &Simulation, config: ProbeConfig) -> Report {
    Probe::builder()
        .beacon_list_json(&sim.beacon_list_v1().to_string())
        .expect("the simulator's list parses")
        .config(config)
        .run()
        .await
        .expect("the run produces a report")
}

fn best_city(report: &Report) -> &str {
    report.best().map_or("<none>", |b| b.city.as_str())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The acceptance scenario: 12 locations from 8 to 250 ms, 2 % loss, 2 ms jitter.
/// The closest location must win every one of 50 seeded runs, and the early decision must come
/// well before a full run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closest_of_twelve_locations_wins_fifty_seeded_runs() {
    let mut decisions = Vec::new();
    let mut durations = Vec::new();
    for seed in 0..50 {
        let scenario = Scenario::twelve_locations(seed);
        let expected = scenario
            .beacons
            .iter()
            .filter(|b| !b.down && !b.silent)
            .min_by(|a, b| a.delay_ms.total_cmp(&b.delay_ms))
            .map(|b| b.city.clone())
            .expect("the scenario has live beacons");
        let sim = start(&scenario).await;
        let report = probe(&sim, ProbeConfig::default()).await;
        assert_eq!(
            best_city(&report),
            expected,
            "seed {seed}: {}",
            report.to_json_pretty()
        );
        let decision = report.decision_ms.expect("a decision is reported");
        assert!(
            decision <= report.duration_ms,
            "seed {seed}: decision after the end"
        );
        decisions.push(decision);
        durations.push(report.duration_ms);
        sim.shutdown().await;
    }
    // Full runs without early decision, for comparison.
    let mut full = Vec::new();
    for seed in 0..7 {
        let sim = start(&Scenario::twelve_locations(seed)).await;
        let config = ProbeConfig {
            early_decision: false,
            ..ProbeConfig::default()
        };
        full.push(probe(&sim, config).await.duration_ms);
        sim.shutdown().await;
    }
    let (decision, full) = (median(&mut decisions), median(&mut full));
    assert!(
        decision < 0.6 * full,
        "median decision {decision:.1} ms is not well before a median full run {full:.1} ms"
    );
}

#[tokio::test]
async fn a_dead_beacon_is_unreachable_and_never_in_the_payload() {
    let mut down = BeaconSpec::new("Atlantis", ip(1), 0.0);
    down.down = true;
    let mut silent = BeaconSpec::new("Mu", ip(2), 0.0);
    silent.silent = true;
    silent.tcp_silent = true;
    let scenario = Scenario {
        seed: 1,
        beacons: vec![
            down,
            silent,
            BeaconSpec::new("Montreal", ip(3), 15.0),
            BeaconSpec::new("Tokyo", ip(4), 60.0),
        ],
    };
    let sim = start(&scenario).await;
    let config = ProbeConfig {
        engine: edgegap_probe::EngineConfig {
            timeout: Duration::from_millis(300),
            ..edgegap_probe::EngineConfig::default()
        },
        ..ProbeConfig::default()
    };
    let report = probe(&sim, config).await;
    assert_eq!(best_city(&report), "Montreal");
    let payload = report.payload["beacons"]
        .as_object()
        .expect("payload object");
    let mut keys: Vec<&str> = payload.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["Montreal", "Tokyo"]);
    let mut dead: Vec<&str> = report.unreachable.iter().map(|u| u.city.as_str()).collect();
    dead.sort_unstable();
    assert_eq!(dead, ["Atlantis", "Mu"]);
    assert!(
        report
            .locations
            .iter()
            .all(|l| l.city != "Atlantis" && l.city != "Mu")
    );
    // UDP failed, so TCP was tried too: each reason names both.
    for dead in &report.unreachable {
        let reason = dead.reasons.join(" ");
        assert!(reason.contains("udp") && reason.contains("tcp"), "{reason}");
    }
}

/// UDP filtered on the player's network, TCP open: under `auto` the beacon is measured over
/// TCP and labelled so; with UDP asked for explicitly, it stays unreachable.
#[tokio::test]
async fn a_beacon_whose_udp_is_blocked_is_measured_over_tcp_under_auto() {
    let mut filtered = BeaconSpec::new("Filtered", ip(40), 0.0);
    filtered.silent = true;
    let scenario = Scenario {
        seed: 5,
        beacons: vec![filtered, BeaconSpec::new("Open", ip(41), 20.0)],
    };
    let sim = start(&scenario).await;
    let quick = edgegap_probe::EngineConfig {
        timeout: Duration::from_millis(200),
        ..edgegap_probe::EngineConfig::default()
    };
    let auto = ProbeConfig {
        engine: quick.clone(),
        ..ProbeConfig::default()
    };
    let handle = Probe::builder()
        .beacon_list_json(&sim.beacon_list_v1().to_string())
        .unwrap()
        .config(auto)
        .start()
        .unwrap();
    while !handle.is_finished() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Progress counts beacons, not transports: the TCP retry does not change the total.
    let progress = handle.progress();
    assert_eq!(
        (progress.targets_done, progress.targets_total),
        (2, 2),
        "{progress:?}"
    );
    assert!(progress.finished);
    let report = handle.wait().await.unwrap();
    let filtered = report
        .locations
        .iter()
        .find(|l| l.city == "Filtered")
        .unwrap_or_else(|| panic!("Filtered measured over TCP: {}", report.to_json_pretty()));
    assert_eq!(
        filtered.protocol,
        Some(edgegap_probe::rank::ProtocolLabel::Tcp)
    );
    let open = report.locations.iter().find(|l| l.city == "Open").unwrap();
    assert_eq!(open.protocol, Some(edgegap_probe::rank::ProtocolLabel::Udp));
    assert!(report.payload["beacons"].get("Filtered").is_some());

    let udp_only = ProbeConfig {
        engine: quick,
        protocol: edgegap_probe::ProtocolChoice::Udp,
        ..ProbeConfig::default()
    };
    let report = probe(&sim, udp_only).await;
    assert!(report.unreachable.iter().any(|u| u.city == "Filtered"));
    assert!(report.payload["beacons"].get("Filtered").is_none());
}

#[tokio::test]
async fn cancel_returns_what_was_measured_promptly() {
    let scenario = Scenario {
        seed: 2,
        beacons: vec![
            BeaconSpec::new("Near", ip(10), 5.0),
            BeaconSpec::new("Far", ip(11), 400.0),
        ],
    };
    let sim = start(&scenario).await;
    let config = ProbeConfig {
        early_decision: false,
        ..ProbeConfig::default()
    };
    let handle = Probe::builder()
        .beacon_list_json(&sim.beacon_list_v1().to_string())
        .unwrap()
        .config(config)
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let before = std::time::Instant::now();
    handle.cancel();
    let report = tokio::time::timeout(Duration::from_secs(5), handle.wait())
        .await
        .expect("a cancelled run ends promptly")
        .expect("a cancelled run still reports");
    assert!(before.elapsed() < Duration::from_secs(1));
    assert_eq!(best_city(&report), "Near", "{}", report.to_json_pretty());
    assert!(
        report.unreachable.iter().any(|u| u.city == "Far"),
        "Far had no reply yet"
    );
}

#[tokio::test]
async fn an_empty_or_malformed_list_is_a_clear_error() {
    assert!(matches!(
        Probe::builder().run().await,
        Err(ProbeError::NoBeacons)
    ));
    let err = Probe::builder()
        .beacon_list_json("{\"nope\": 1}")
        .unwrap_err();
    assert!(err.to_string().contains("locations"), "{err}");
}

#[test]
fn run_blocking_works_without_a_runtime_and_refuses_inside_one() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let scenario = Scenario {
        seed: 3,
        beacons: vec![BeaconSpec::new("Paris", ip(20), 5.0)],
    };
    let sim = runtime.block_on(scenario.start()).unwrap();
    let json = sim.beacon_list_v1().to_string();
    let report = Probe::builder()
        .beacon_list_json(&json)
        .unwrap()
        .run_blocking()
        .unwrap();
    assert_eq!(best_city(&report), "Paris");
    let inside = runtime.block_on(async {
        Probe::builder()
            .beacon_list_json(&json)
            .unwrap()
            .run_blocking()
    });
    assert!(matches!(inside, Err(ProbeError::InsideAsyncRuntime)));
}

#[tokio::test]
async fn a_fresh_cache_reprobes_only_the_previous_best_unless_it_degraded() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("probe-cache.json");
    let config = ProbeConfig {
        cache_file: Some(cache.clone()),
        cache_reprobe_top: 1,
        ..ProbeConfig::default()
    };
    let beacons = |montreal_ms: f64| Scenario {
        seed: 4,
        beacons: vec![
            BeaconSpec::new("Montreal", ip(30), montreal_ms),
            BeaconSpec::new("Chicago", ip(31), 40.0),
            BeaconSpec::new("Dallas", ip(32), 60.0),
        ],
    };
    // First run: everything is measured and saved.
    let sim = start(&beacons(10.0)).await;
    let first = probe(&sim, config.clone()).await;
    assert_eq!(first.locations.len(), 3);
    assert_eq!(best_city(&first), "Montreal");
    assert!(cache.exists());
    // Second run, Montreal unchanged: only Montreal is re-probed.
    let second = probe(&sim, config.clone()).await;
    assert_eq!(best_city(&second), "Montreal");
    assert_eq!(second.locations.len(), 1, "{}", second.to_json_pretty());
    sim.shutdown().await;
    // Third run, Montreal degraded to 120 ms: everything is re-probed and Chicago wins.
    let sim = start(&beacons(120.0)).await;
    let third = probe(&sim, config).await;
    assert_eq!(third.locations.len(), 3, "{}", third.to_json_pretty());
    assert_eq!(best_city(&third), "Chicago");
}
