//! `ticket` end to end against the simulated matchmaker (a real HTTP peer on 127.0.0.1) and
//! simulated beacons: the CLI's reqwest driver runs the same sans-I/O flow as the engines.

mod common;

use common::*;
use edgegap_beacon_sim::{Fault, MatchmakerConfig, MatchmakerSim};

const MM_TOKEN: &str = "mm-sim-secret-5c1d";

async fn matchmaker(faults: Vec<Fault>) -> (edgegap_beacon_sim::Simulation, MatchmakerSim) {
    let beacons = known().await;
    let sim = MatchmakerSim::start(MatchmakerConfig {
        token: MM_TOKEN.to_owned(),
        faults,
        beacons: Some(beacons.beacon_list_matchmaker()),
        ..MatchmakerConfig::default()
    })
    .await
    .expect("the simulated matchmaker starts");
    (beacons, sim)
}

fn ticket(sim: &MatchmakerSim) -> Out {
    run(bin()
        .args([
            "ticket",
            "--matchmaker-url",
            &sim.base_url(),
            "--profile",
            "casual",
        ])
        .args(FAST)
        .args(["--poll-interval-ms", "20"])
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN))
}

fn fault(status: u16, retry_after: Option<u64>) -> Fault {
    Fault {
        method: Some("GET".into()),
        path_prefix: Some("tickets/".into()),
        status,
        retry_after,
        times: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_rides_out_429_and_503_to_the_assignment() {
    let (_beacons, sim) = matchmaker(vec![fault(429, Some(1)), fault(503, None)]).await;
    let out = ticket(&sim);
    assert_eq!(out.code, OK, "{out:?}");
    assert!(out.stdout.contains("sim-server.local"), "{}", out.stdout);
    assert!(!format!("{out:?}").contains(MM_TOKEN));
    let served: Vec<(String, u16)> = sim
        .served()
        .into_iter()
        .filter(|s| s.path.starts_with("/tickets"))
        .map(|s| (s.method, s.status))
        .collect();
    let expected: Vec<(String, u16)> = [
        ("POST", 201),
        ("GET", 429),
        ("GET", 503),
        ("GET", 200),
        ("GET", 200),
        ("GET", 200),
    ]
    .into_iter()
    .map(|(m, s)| (m.to_owned(), s))
    .collect();
    assert_eq!(
        served, expected,
        "SEARCHING, MATCH_FOUND, HOST_ASSIGNED after the faults"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_ticket_is_an_api_error() {
    let (_beacons, sim) = matchmaker(vec![fault(404, None)]).await;
    let out = ticket(&sim);
    assert_eq!(out.code, API, "{out:?}");
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
    sim.shutdown().await;
}
