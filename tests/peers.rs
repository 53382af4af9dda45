//! The peer strategies of `benches/peers` (`cargo bench --bench peers`) on a small, clean
//! simulated network: each must pick the closest of three well-separated locations and send
//! exactly its peer's number of probes. (The comparison itself, on the harsh network, takes
//! minutes and is a benchmark, not a test.)

#[path = "../benches/peers/strategies.rs"]
mod strategies;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use edgegap_beacon_sim::{BeaconSpec, Scenario};
use strategies::{Peer, Target};

/// Probes per location each peer sends when every probe is answered.
fn probes_per_location(peer: Peer) -> u32 {
    match peer {
        Peer::UnityQos | Peer::Photon | Peer::FixedParallel => 5,
        Peer::EdgegapSdk => 3,
        Peer::PlayFab => 10,
    }
}

fn clean_scenario() -> Scenario {
    let at = |last| IpAddr::V4(Ipv4Addr::new(127, 0, 5, last));
    Scenario {
        seed: 1,
        beacons: vec![
            BeaconSpec::new("Lyon", at(1), 5.0),
            BeaconSpec::new("Berlin", at(2), 30.0),
            BeaconSpec::new("Athens", at(3), 60.0),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_peer_picks_the_closest_of_three_clean_locations_and_counts_its_probes() {
    let scenario = clean_scenario();
    for peer in Peer::ALL {
        let sim = scenario.start().await.expect("simulated beacons start");
        let targets: Vec<Target> = sim
            .beacons()
            .iter()
            .map(|b| Target {
                city: b.spec.city.clone(),
                addr: b.udp.expect("a UDP port"),
            })
            .collect();
        let outcome = peer.choose(&targets).await.expect("sockets open");
        sim.shutdown().await;
        let label = peer.label();
        assert_eq!(outcome.choice, Some(0), "{label}: {outcome:?}");
        assert_eq!(
            outcome.probes_sent,
            probes_per_location(peer) * 3,
            "{label}: {outcome:?}"
        );
        // Nothing is lost, so no peer waits out a timeout.
        assert!(
            outcome.elapsed < Duration::from_secs(2),
            "{label}: {outcome:?}"
        );
    }
}
