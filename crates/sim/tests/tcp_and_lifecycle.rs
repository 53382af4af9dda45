//! TCP listeners, down beacons, TCP silence, and the release of every port on shutdown / drop.

mod common;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{client, ping, spec, start_one, udp_of};
use edgegap_beacon_sim::{BeaconSpec, Scenario, SimError, TcpMode};
use tokio::net::{TcpStream, UdpSocket};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_listener_accepts_and_counts() {
    // Zero delay: the only timing a kernel-completed handshake can follow.
    let sim = start_one(spec(71, 0.0), 1).await;
    let tcp = sim.beacons()[0].tcp.unwrap();
    assert_eq!(tcp.ip(), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 71)));
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(tcp))
            .await
            .expect("handshake in time")
            .expect("handshake succeeds");
    }
    // The accept loop counts asynchronously.
    for _ in 0..100 {
        if sim.stats()[0].tcp_accepted == 3 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("tcp_accepted = {}", sim.stats()[0].tcp_accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_beacon_refuses_udp_and_tcp() {
    let sim = start_one(
        BeaconSpec {
            down: true,
            ..spec(72, 20.0)
        },
        1,
    )
    .await;
    let beacon = &sim.beacons()[0];
    let (udp, tcp) = (
        beacon.udp.expect("listed UDP port"),
        beacon.tcp.expect("listed TCP port"),
    );
    assert_ne!(udp.port(), 0);
    assert_ne!(tcp.port(), 0);

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(udp).await.unwrap();
    socket.send(b"anyone?").await.unwrap();
    let mut buf = [0u8; 64];
    let got = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
        .await
        .expect("the ICMP error arrives at once");
    assert_eq!(got.unwrap_err().kind(), ErrorKind::ConnectionRefused);

    let err = TcpStream::connect(tcp).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_silent_connects_time_out_while_udp_still_answers() {
    let sim = start_one(
        BeaconSpec {
            tcp_silent: true,
            ..spec(73, 0.0)
        },
        1,
    )
    .await;
    let tcp = sim.beacons()[0].tcp.unwrap();
    for _ in 0..2 {
        let attempt =
            tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(tcp)).await;
        assert!(attempt.is_err(), "connect must hang, got {attempt:?}");
    }
    let target = udp_of(&sim);
    let socket = client(target).await;
    assert!(
        ping(&socket, target, b"udp ok", Duration::from_secs(2))
            .await
            .is_some()
    );
}

/// The explicit opt-in: a TCP listener whatever the scenario, answering at kernel speed even
/// for a beacon whose UDP is slow and silent. That is why it is not the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_always_answers_at_kernel_speed_whatever_the_scenario() {
    let sim = start_one(
        BeaconSpec {
            silent: true,
            tcp: TcpMode::Always,
            ..spec(79, 200.0)
        },
        1,
    )
    .await;
    let tcp = sim.beacons()[0]
        .tcp
        .expect("tcp = \"always\" opens a TCP port");
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(tcp))
        .await
        .expect("handshake in time")
        .expect("handshake succeeds");
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "the kernel answers at once, not after the 200 ms of the scenario: {:?}",
        started.elapsed()
    );
    let list = sim.beacon_list_v1();
    assert_eq!(list["locations"][0]["tcp_port"], tcp.port());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_false_has_no_tcp_port() {
    let sim = start_one(
        BeaconSpec {
            tcp: TcpMode::Off,
            ..spec(74, 0.0)
        },
        1,
    )
    .await;
    assert!(sim.beacons()[0].tcp.is_none());
    assert!(sim.beacons()[0].udp.is_some());
}

fn ports_free(udp: SocketAddr, tcp: SocketAddr) -> bool {
    std::net::UdpSocket::bind(udp).is_ok() && std::net::TcpListener::bind(tcp).is_ok()
}

fn addrs(sim: &edgegap_beacon_sim::Simulation) -> (SocketAddr, SocketAddr) {
    (sim.beacons()[0].udp.unwrap(), sim.beacons()[0].tcp.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_the_ports() {
    let sim = start_one(
        BeaconSpec {
            wrong_source_port: true,
            tcp: TcpMode::Always, // so that a TCP listener is there to release too
            ..spec(75, 30.0)
        },
        1,
    )
    .await;
    let (udp, tcp) = addrs(&sim);
    assert!(!ports_free(udp, tcp), "ports are held while running");
    sim.shutdown().await;
    assert!(ports_free(udp, tcp), "ports released by shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_releases_the_ports() {
    let sim = start_one(spec(76, 0.0), 1).await;
    let (udp, tcp) = addrs(&sim);
    let silent = start_one(
        BeaconSpec {
            tcp_silent: true,
            ..spec(76, 0.0)
        },
        1,
    )
    .await;
    let (_, hole) = addrs(&silent);
    drop(sim);
    drop(silent);
    // Dropping aborts the tasks; the runtime drops them (and their sockets) right after.
    for _ in 0..200 {
        if ports_free(udp, tcp) && std::net::TcpListener::bind(hole).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("ports still bound 2 s after drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_ports_are_used_and_conflicts_name_the_beacon() {
    let free = std::net::UdpSocket::bind("127.0.0.77:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let beacon = BeaconSpec {
        udp_port: free,
        tcp: TcpMode::Off,
        ..spec(77, 0.0)
    };
    let sim = start_one(beacon.clone(), 1).await;
    assert_eq!(sim.beacons()[0].udp.unwrap().port(), free);
    let clash = Scenario {
        seed: 1,
        beacons: vec![BeaconSpec {
            city: "Clash".into(),
            ..beacon
        }],
    };
    let err = clash.start().await.unwrap_err();
    assert!(matches!(err, SimError::Bind { index: 0, .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("Clash") && text.contains(&format!("127.0.0.77:{free}")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_loopback_address_is_refused_before_binding() {
    let scenario = Scenario {
        seed: 1,
        beacons: vec![
            spec(78, 0.0),
            BeaconSpec::new("Elsewhere", IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 0.0),
        ],
    };
    let err = scenario.start().await.unwrap_err();
    assert!(
        matches!(err, SimError::NotLoopback { index: 1, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("192.0.2.1") && text.contains("Elsewhere") && text.contains("not loopback"),
        "{text}"
    );
    let v6 = BeaconSpec::new("V6", "2001:db8::1".parse().unwrap(), 0.0);
    assert!(matches!(v6.validate(0), Err(SimError::NotLoopback { .. })));
}

#[test]
fn simulation_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<edgegap_beacon_sim::Simulation>();
    send_sync::<SimError>();
}
