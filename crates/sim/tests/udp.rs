//! UDP behaviour of the beacons, driven by plain tokio sockets on loopback.

mod common;

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use common::{answered, client, collect, median_ms, ping, spec, start_one, udp_of};
use edgegap_beacon_sim::{BeaconSpec, Scenario};

const WAIT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_payloads_exactly() {
    let sim = start_one(spec(51, 0.0), 1).await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    for len in [1usize, 13, 200, 1400, 9000] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        let (bytes, from, _) = ping(&socket, target, &payload, WAIT).await.expect("echo");
        assert_eq!(bytes, payload, "{len} bytes");
        assert_eq!(
            from, target,
            "reply must come from the probed address and port"
        );
    }
    let stats = &sim.stats()[0];
    assert_eq!(
        (stats.udp_received, stats.udp_replied, stats.udp_dropped),
        (5, 5, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_is_applied_from_the_receive_instant() {
    for delay in [15.0, 40.0] {
        let sim = start_one(spec(52, delay), 1).await;
        let target = udp_of(&sim);
        let socket = client(target).await;
        let mut rtts = Vec::new();
        for i in 0u32..15 {
            let (_, _, rtt) = ping(&socket, target, &i.to_be_bytes(), WAIT)
                .await
                .expect("echo");
            assert!(
                rtt.as_secs_f64() * 1000.0 >= delay,
                "reply before its delay: {rtt:?}"
            );
            rtts.push(rtt);
        }
        let median = median_ms(rtts);
        // Exact from below (checked per reply above); from above, room for a loaded machine's
        // scheduling, which only ever adds delay.
        assert!(
            median < delay + 25.0,
            "delay {delay} ms, median rtt {median:.2} ms"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_replies_are_not_serialised() {
    // 20 datagrams at once to a 60 ms beacon: serialised replies would take 1.2 s.
    let sim = start_one(spec(53, 60.0), 1).await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    let start = Instant::now();
    for i in 0u32..20 {
        socket.send_to(&i.to_be_bytes(), target).await.unwrap();
    }
    let got = collect(&socket, Duration::from_millis(600)).await;
    assert_eq!(got.len(), 20);
    let last = got.iter().map(|(_, _, at)| *at - start).max().unwrap();
    assert!(last >= Duration::from_millis(60), "{last:?}");
    assert!(
        last < Duration::from_millis(300),
        "replies were serialised: last after {last:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_spreads_rtts_within_the_band() {
    let beacon = BeaconSpec {
        jitter_ms: 5.0,
        ..spec(54, 20.0)
    };
    let sim = start_one(beacon, 3).await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    let mut rtts = Vec::new();
    for i in 0u32..30 {
        rtts.push(
            ping(&socket, target, &i.to_be_bytes(), WAIT)
                .await
                .expect("echo")
                .2,
        );
    }
    let min = rtts.iter().min().unwrap().as_secs_f64() * 1000.0;
    let max = rtts.iter().max().unwrap().as_secs_f64() * 1000.0;
    assert!(min >= 15.0, "earlier than delay - jitter: {min}");
    assert!(max - min > 3.0, "no visible jitter: {min}..{max}");
    let median = median_ms(rtts);
    // Jitter is ±5 ms around 20 ms; scheduling on a loaded machine can only add delay, so the
    // lower bound is exact and the upper one leaves room for a busy CI.
    assert!((15.0..60.0).contains(&median), "{median}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_fraction_is_near_the_configured_one() {
    let beacon = BeaconSpec {
        loss: 0.25,
        ..spec(55, 0.0)
    };
    let sim = start_one(beacon, 11).await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    let got = answered(&socket, target, 400, Duration::from_millis(400)).await;
    assert!(
        (240..=360).contains(&got.len()),
        "{} of 400 answered at 25 % loss",
        got.len()
    );
    let stats = &sim.stats()[0];
    assert_eq!(stats.udp_received, 400);
    assert_eq!(stats.udp_replied + stats.udp_dropped, 400);
    assert_eq!(stats.udp_replied, got.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_replays_the_same_drops() {
    async fn pattern(seed: u64) -> Vec<u64> {
        let beacon = BeaconSpec {
            loss: 0.3,
            ..spec(56, 0.0)
        };
        let sim = start_one(beacon, seed).await;
        let target = udp_of(&sim);
        let socket = client(target).await;
        let got = answered(&socket, target, 120, Duration::from_millis(300)).await;
        sim.shutdown().await;
        got
    }
    let first = pattern(99).await;
    assert!(
        first.len() < 120 && !first.is_empty(),
        "{} answered",
        first.len()
    );
    assert_eq!(
        first,
        pattern(99).await,
        "same seed, same datagrams: same drops"
    );
    assert_ne!(first, pattern(100).await, "another seed: other drops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_never_answers_but_counts() {
    let sim = start_one(
        BeaconSpec {
            silent: true,
            ..spec(57, 0.0)
        },
        1,
    )
    .await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    for i in 0u32..5 {
        socket.send_to(&i.to_be_bytes(), target).await.unwrap();
    }
    assert!(
        collect(&socket, Duration::from_millis(300))
            .await
            .is_empty()
    );
    let stats = &sim.stats()[0];
    assert_eq!(
        (stats.udp_received, stats.udp_replied, stats.udp_dropped),
        (5, 0, 5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_arrive_n_plus_one_times() {
    let sim = start_one(
        BeaconSpec {
            duplicates: 3,
            ..spec(58, 5.0)
        },
        1,
    )
    .await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    socket.send_to(b"dup", target).await.unwrap();
    let got = collect(&socket, Duration::from_millis(400)).await;
    assert_eq!(got.len(), 4);
    assert!(
        got.iter()
            .all(|(bytes, from, _)| bytes == b"dup" && *from == target)
    );
    assert_eq!(sim.stats()[0].udp_replied, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_source_port_replies_from_another_port() {
    let sim = start_one(
        BeaconSpec {
            wrong_source_port: true,
            ..spec(59, 0.0)
        },
        1,
    )
    .await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    let (bytes, from, _) = ping(&socket, target, b"who", WAIT).await.expect("a reply");
    assert_eq!(bytes, b"who");
    assert_eq!(from.ip(), target.ip());
    assert_ne!(from.port(), target.port());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_bytes_changes_the_payload() {
    let sim = start_one(
        BeaconSpec {
            alter_bytes: true,
            ..spec(60, 0.0)
        },
        1,
    )
    .await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    let payload = b"nonce-1234";
    let (bytes, from, _) = ping(&socket, target, payload, WAIT).await.expect("a reply");
    assert_eq!(from, target);
    assert_eq!(bytes.len(), payload.len());
    assert!(
        bytes.iter().zip(payload).all(|(a, b)| a != b),
        "every byte flipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_with_sends_fixed_bytes() {
    let beacon = BeaconSpec {
        reply_with: Some("PONG".into()),
        ..spec(61, 0.0)
    };
    let sim = start_one(beacon, 1).await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    for payload in [&b"x"[..], b"a much longer probe payload"] {
        let (bytes, from, _) = ping(&socket, target, payload, WAIT).await.expect("a reply");
        assert_eq!((bytes.as_slice(), from), (&b"PONG"[..], target));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_beacon_on_localhost_works() {
    let beacon = BeaconSpec::new("Sixville", IpAddr::V6(Ipv6Addr::LOCALHOST), 10.0);
    // TCP only for the zero-delay one: a handshake would not show the 10 ms.
    let immediate = BeaconSpec::new("Sixtown", IpAddr::V6(Ipv6Addr::LOCALHOST), 0.0);
    let sim = Scenario {
        seed: 1,
        beacons: vec![beacon, immediate],
    }
    .start()
    .await
    .unwrap();
    let target = udp_of(&sim);
    assert!(target.is_ipv6());
    let socket = client(target).await;
    let mut rtts = Vec::new();
    for i in 0u32..7 {
        let (bytes, from, rtt) = ping(&socket, target, &i.to_be_bytes(), WAIT)
            .await
            .expect("echo");
        assert_eq!((bytes.as_slice(), from), (&i.to_be_bytes()[..], target));
        rtts.push(rtt);
    }
    let median = median_ms(rtts);
    // Never early; a loaded machine may only add delay.
    assert!((10.0..50.0).contains(&median), "{median}");
    assert!(sim.beacons()[0].tcp.is_none());
    let tcp = sim.beacons()[1].tcp.unwrap();
    assert!(tcp.is_ipv6());
    tokio::net::TcpStream::connect(tcp)
        .await
        .expect("TCP on ::1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_false_has_no_udp_port() {
    let sim = start_one(
        BeaconSpec {
            udp: false,
            ..spec(62, 0.0)
        },
        1,
    )
    .await;
    assert!(sim.beacons()[0].udp.is_none());
    assert!(sim.beacons()[0].tcp.is_some());
}

#[tokio::test] // the default single-threaded runtime most tests of other crates use
async fn works_on_a_current_thread_runtime() {
    let sim = start_one(
        BeaconSpec {
            tcp_silent: true,
            ..spec(63, 10.0)
        },
        1,
    )
    .await;
    let target = udp_of(&sim);
    let socket = client(target).await;
    let mut rtts = Vec::new();
    for i in 0u32..7 {
        let (bytes, _, rtt) = ping(&socket, target, &i.to_be_bytes(), WAIT)
            .await
            .expect("echo");
        assert_eq!(bytes, i.to_be_bytes());
        rtts.push(rtt);
    }
    let median = median_ms(rtts);
    // Never early; a loaded machine may only add delay.
    assert!((10.0..50.0).contains(&median), "{median}");
    sim.shutdown().await;
}
