//! Hostile beacons (`predict_and_spray`, `early_replies`, `flood`), driven by a plain tokio
//! socket sending datagrams in the probe layout: they never echo, and send what they claim.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{client, collect, spec, start_one, udp_of};
use edgegap_beacon_sim::BeaconSpec;
use edgegap_beacon_sim::hostile::{next_guess, old_layout, seq_of};

/// A datagram in the probe layout (`"EGpb" | nonce | seq | secret | padding`); the padding
/// does not matter to the beacon.
fn probe(seq: u32, secret: u64) -> Vec<u8> {
    let mut out = b"EGpb".to_vec();
    out.extend_from_slice(&0x1122_3344_5566_7788u64.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&secret.to_be_bytes());
    out.extend_from_slice(&[0x5A; 8]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_and_spray_forges_the_next_sequence_numbers_again_and_again() {
    let beacon = BeaconSpec {
        predict_and_spray: 4,
        spray_every_ms: 2.0,
        ..spec(61, 0.0)
    };
    let sim = start_one(beacon, 1).await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    let seen = probe(100, 0xABCD);
    socket.send_to(&seen, target).await.unwrap();
    let got = collect(&socket, Duration::from_millis(60)).await;
    assert!(
        got.iter()
            .all(|(bytes, from, _)| *bytes != seen && *from == target)
    );
    let seqs: HashSet<u32> = got.iter().filter_map(|(b, _, _)| seq_of(b)).collect();
    assert_eq!(
        seqs,
        (101..=104).collect(),
        "the next four sequence numbers"
    );
    // Both forgeries for each, and the window re-sent many times.
    for seq in 101..=104 {
        for forged in [
            old_layout(&seen, seq).unwrap(),
            next_guess(&seen, seq).unwrap(),
        ] {
            let copies = got.iter().filter(|(b, _, _)| *b == forged).count();
            assert!(copies >= 5, "seq {seq}: {copies} copies in 60 ms");
        }
    }
    let stats = &sim.stats()[0];
    assert_eq!((stats.udp_received, stats.udp_replied), (1, 0));
    assert_eq!(stats.udp_dropped, 1, "the probe itself is never echoed");
    assert!(stats.udp_forged >= got.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_replies_are_sent_before_the_next_probe_is_due() {
    let beacon = BeaconSpec {
        early_replies: 2,
        early_by_ms: 5.0,
        ..spec(62, 0.0)
    };
    let sim = start_one(beacon, 1).await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    // The first probe: guesses for the next two numbers at once.
    socket.send_to(&probe(10, 1), target).await.unwrap();
    let first = collect(&socket, Duration::from_millis(30)).await;
    let seqs: Vec<u32> = first.iter().filter_map(|(b, _, _)| seq_of(b)).collect();
    assert_eq!(seqs, vec![11, 11, 12, 12]);
    // A second probe 40 ms after the first: the beacon expects the next one 40 ms later and
    // times its guesses 5 ms before that.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let sent = Instant::now();
    socket.send_to(&probe(13, 2), target).await.unwrap();
    let second = collect(&socket, Duration::from_millis(100)).await;
    let seqs: Vec<u32> = second.iter().filter_map(|(b, _, _)| seq_of(b)).collect();
    assert_eq!(seqs, vec![14, 14, 15, 15]);
    for (_, _, at) in &second {
        assert!(
            *at - sent >= Duration::from_millis(30),
            "sent at once instead of before the next probe: {:?}",
            *at - sent
        );
    }
    let stats = &sim.stats()[0];
    assert_eq!(
        (stats.udp_received, stats.udp_replied, stats.udp_forged),
        (2, 0, 8)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_sends_n_junk_datagrams_per_probe_and_never_an_echo() {
    let beacon = BeaconSpec {
        flood: 20,
        ..spec(63, 0.0)
    };
    let sim = start_one(beacon, 1).await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    let probes: Vec<Vec<u8>> = (0..3).map(|i| probe(i, u64::from(i) * 7 + 1)).collect();
    for p in &probes {
        socket.send_to(p, target).await.unwrap();
    }
    let got = collect(&socket, Duration::from_millis(100)).await;
    assert_eq!(got.len(), 60);
    assert!(got.iter().all(|(b, _, _)| !probes.contains(b)));
    let stats = &sim.stats()[0];
    assert_eq!(
        (stats.udp_received, stats.udp_replied, stats.udp_forged),
        (3, 0, 60)
    );
}
