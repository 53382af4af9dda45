//! End-to-end tests of the facade against simulated beacons on loopback (real sockets).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use edgegap_beacon_sim::{BeaconSpec, Scenario, Simulation, TcpMode};
use edgegap_probe::{
    EngineConfig, Probe, ProbeConfig, ProbeError, Protocol, Report, UnreachableCode,
};

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

/// The issue's acceptance scenario: 12 locations from 8 to 250 ms, 2 % loss, 2 ms jitter.
/// The closest location must win every one of 50 seeded runs, and the early decision must come
/// well before a full run.
///
/// The simulated beacons answer from a timer thread: on a machine so loaded that the thread is
/// starved for tens of milliseconds, every reply is late alike and one run can rank wrongly.
/// A seed is therefore tried up to three times; a systematic error fails all three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closest_of_twelve_locations_wins_fifty_seeded_runs() {
    let mut decisions = Vec::new();
    let mut durations = Vec::new();
    for seed in 0..50 {
        let scenario = Scenario::twelve_locations(seed);
        let expected = scenario.beacons[scenario.closest().expect("the scenario has live beacons")]
            .city
            .clone();
        let sim = start(&scenario).await;
        let mut report = probe(&sim, ProbeConfig::default()).await;
        for _retry in 0..2 {
            if best_city(&report) == expected {
                break;
            }
            report = probe(&sim, ProbeConfig::default()).await;
        }
        assert_eq!(
            best_city(&report),
            expected,
            "seed {seed}, three tries: {}",
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
        let config = {
            let mut c = ProbeConfig::default();
            c.early_decision = false;
            c
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
    let config = {
        let mut c = ProbeConfig::default();
        c.engine = {
            let mut c = EngineConfig::default();
            c.timeout = Duration::from_millis(300);
            c
        };
        c
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
    // UDP dropped, TCP answered by the kernel at once: a real "UDP blocked, TCP open" beacon.
    filtered.tcp = TcpMode::Always;
    let scenario = Scenario {
        seed: 5,
        beacons: vec![filtered, BeaconSpec::new("Open", ip(41), 20.0)],
    };
    let sim = start(&scenario).await;
    let quick = {
        let mut c = EngineConfig::default();
        c.timeout = Duration::from_millis(200);
        c
    };
    let auto = {
        let mut c = ProbeConfig::default();
        c.engine = quick.clone();
        c
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
    assert_eq!(filtered.protocol, Some(Protocol::Tcp));
    let open = report.locations.iter().find(|l| l.city == "Open").unwrap();
    assert_eq!(open.protocol, Some(Protocol::Udp));
    assert!(report.payload["beacons"].get("Filtered").is_some());

    let udp_only = {
        let mut c = ProbeConfig::default();
        c.engine = quick;
        c.protocol = edgegap_probe::ProtocolChoice::Udp;
        c
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
    let config = {
        let mut c = ProbeConfig::default();
        c.early_decision = false;
        c
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
    let config = {
        let mut c = ProbeConfig::default();
        c.cache_file = Some(cache.clone());
        c.cache_reprobe_top = 1;
        // Montreal is 10 ms away: with the default × 1.2 a loaded machine's 13 ms would count
        // as degraded. × 3 keeps the test about the cache, and 120 ms is still degraded.
        c.degrade_factor = 3.0;
        c
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
    // Second run, Montreal unchanged: only Montreal is re-probed, the others are carried
    // over with their age, so the report and the payload stay complete.
    let second = probe(&sim, config.clone()).await;
    assert_eq!(best_city(&second), "Montreal");
    assert_eq!(second.locations.len(), 3, "{}", second.to_json_pretty());
    for l in &second.locations {
        assert_eq!(
            l.carried_over.is_some(),
            l.city != "Montreal",
            "{}",
            second.to_json_pretty()
        );
    }
    let measured: u32 = second
        .locations
        .iter()
        .filter(|l| l.carried_over.is_none())
        .map(|l| l.counts.sent)
        .sum();
    assert!(measured > 0);
    sim.shutdown().await;
    // Third run, Montreal degraded to 120 ms: everything is re-probed and Chicago wins.
    let sim = start(&beacons(120.0)).await;
    let third = probe(&sim, config).await;
    assert_eq!(third.locations.len(), 3, "{}", third.to_json_pretty());
    assert!(third.locations.iter().all(|l| l.carried_over.is_none()));
    assert_eq!(best_city(&third), "Chicago");
}

/// Four cached runs in a row: the payload has every location each time, and the saved report
/// never loses one (a short payload would change who the matchmaker can match).
#[tokio::test]
async fn four_cached_runs_in_a_row_keep_the_payload_complete() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.json");
    let mut config = ProbeConfig::default();
    config.cache_file = Some(cache.clone());
    // What is checked is the payload and the carried locations, not degradation: the best is
    // 5 ms away, and on a loaded machine a re-probe at 6 ms is already "degraded" (× 1.2),
    // which re-probes everything (carrying nothing) and made this test fail under load.
    config.degrade_factor = 10.0;
    let cities = ["A", "B", "C", "D", "E", "F"];
    let scenario = Scenario {
        seed: 9,
        beacons: cities
            .iter()
            .enumerate()
            .map(|(i, c)| BeaconSpec::new(c, ip(90 + i as u8), 5.0 + 8.0 * i as f64))
            .collect(),
    };
    let sim = start(&scenario).await;
    for run in 0..4 {
        let report = probe(&sim, config.clone()).await;
        let payload = report.payload["beacons"].as_object().unwrap();
        assert_eq!(
            payload.len(),
            cities.len(),
            "run {run}: {}",
            report.to_json_pretty()
        );
        let carried = report
            .locations
            .iter()
            .filter(|l| l.carried_over.is_some())
            .count();
        if run > 0 {
            assert_eq!(
                carried,
                cities.len() - 3,
                "run {run}: top 3 re-probed, 3 carried"
            );
        }
        let saved = Report::load(&cache).unwrap();
        assert_eq!(
            saved.locations.len(),
            cities.len(),
            "run {run}: the cache lost locations"
        );
        assert_eq!(best_city(&report), "A");
    }
}

/// Every probe is accounted for, per beacon and per location: sent = received + lost + late +
/// cancelled, and the loss shown is (lost + late) / (sent − cancelled).
#[tokio::test]
async fn every_probe_is_accounted_for_in_the_report() {
    let mut lossy = BeaconSpec::new("Lossy", ip(60), 15.0);
    lossy.loss = 0.3;
    let scenario = Scenario {
        seed: 11,
        beacons: vec![
            BeaconSpec::new("Near", ip(61), 5.0),
            lossy,
            BeaconSpec::new("Far", ip(62), 80.0),
        ],
    };
    let sim = start(&scenario).await;
    let report = probe(&sim, ProbeConfig::default()).await;
    assert_eq!(report.locations.len(), 3, "{}", report.to_json_pretty());
    for l in &report.locations {
        assert!(l.counts.adds_up(), "{}: {:?}", l.city, l.counts);
        let settled = l.counts.sent - l.counts.cancelled;
        let loss = f64::from(l.counts.lost + l.counts.late) / f64::from(settled);
        assert!((l.loss.unwrap() - loss).abs() < 1e-12);
        for b in &l.beacons {
            assert!(b.counts.adds_up(), "{}: {:?}", l.city, b.counts);
        }
    }
    let v: serde_json::Value = serde_json::from_str(&report.to_json_pretty()).unwrap();
    assert_eq!(v["schema_version"], 3);
    for field in ["sent", "received", "lost", "late", "cancelled"] {
        assert!(v["locations"][0][field].is_u64(), "{field} missing");
    }
}

/// A deadline that ends the run says so: the unanswered beacons are `deadline`, not
/// `cancelled`.
#[tokio::test]
async fn a_deadline_is_reported_as_deadline() {
    let mut slow = BeaconSpec::new("Slow", ip(70), 5.0);
    slow.silent = true;
    let scenario = Scenario {
        seed: 12,
        beacons: vec![BeaconSpec::new("Near", ip(71), 5.0), slow],
    };
    let sim = start(&scenario).await;
    let mut config = ProbeConfig::default();
    config.engine.deadline = Some(Duration::from_millis(300));
    config.engine.count = 1000;
    config.early_decision = false;
    let report = probe(&sim, config).await;
    let slow = report
        .unreachable
        .iter()
        .find(|u| u.city == "Slow")
        .unwrap();
    assert_eq!(
        slow.codes,
        [UnreachableCode::Deadline],
        "{}",
        report.to_json_pretty()
    );
    assert!(report.locations.iter().all(|l| l.counts.adds_up()));
}

#[tokio::test]
async fn the_whole_configuration_is_checked_once_at_start() {
    let mut config = ProbeConfig::default();
    config.rank.tie_factor = 0.5;
    let err = Probe::builder()
        .beacon_list_json(
            r#"{"locations": [{"host": "127.0.0.1", "udp_port": 9,
            "location": {"city": "X", "country": "Y"}}]}"#,
        )
        .unwrap()
        .config(config)
        .start()
        .unwrap_err();
    assert!(
        matches!(err, ProbeError::InvalidConfig(ref e) if e.field == "rank"),
        "{err}"
    );
}

/// A hostile or broken cache never costs the result: a FIFO (which would block a reader) is
/// refused without blocking `start()`, and a directory that cannot be written (a read-only
/// profile folder) or does not exist only loses the cache, never the report.
#[cfg(unix)]
#[tokio::test]
async fn a_cache_that_cannot_be_read_or_written_never_costs_the_result() {
    let scenario = Scenario {
        seed: 13,
        beacons: vec![BeaconSpec::new("Near", ip(80), 5.0)],
    };
    let sim = start(&scenario).await;
    let dir = tempfile::tempdir().unwrap();

    let fifo = dir.path().join("fifo.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut config = ProbeConfig::default();
    config.cache_file = Some(fifo.clone());
    let before = std::time::Instant::now();
    let handle = Probe::builder()
        .beacon_list_json(&sim.beacon_list_v1().to_string())
        .unwrap()
        .config(config)
        .start()
        .unwrap();
    assert!(
        before.elapsed() < Duration::from_millis(500),
        "start() returns at once"
    );
    let report = tokio::time::timeout(Duration::from_secs(10), handle.wait())
        .await
        .expect("a FIFO cache never hangs the run")
        .unwrap();
    assert_eq!(best_city(&report), "Near");

    let missing = dir.path().join("no-such-dir").join("cache.json");
    let mut config = ProbeConfig::default();
    config.cache_file = Some(missing.clone());
    let report = probe(&sim, config).await;
    assert_eq!(best_city(&report), "Near");
    assert!(
        !missing.parent().unwrap().exists(),
        "never created silently"
    );

    // A read-only directory (root ignores permissions, so a file stands where the directory
    // should be: just as unwritable).
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "x").unwrap();
    let mut config = ProbeConfig::default();
    config.cache_file = Some(blocker.join("cache.json"));
    let report = probe(&sim, config).await;
    assert_eq!(best_city(&report), "Near");
}
