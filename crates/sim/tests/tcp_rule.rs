//! The TCP rule: a beacon has a TCP port (a socket, and a `tcp_port` in both beacon lists) only
//! where its TCP timing follows its scenario, since the kernel answers a loopback handshake at
//! once whatever delay, jitter, loss or silence the scenario injects into UDP.

mod common;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{client, listening_tcp_ports, ping};
use edgegap_beacon_sim::{BeaconSpec, ListShape, Scenario, Simulation, TcpMode};
use serde_json::Value;
use tokio::net::TcpStream;

/// What a TCP connect to the beacon's listed port must do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tcp {
    /// No TCP port listed, no TCP socket open.
    Absent,
    /// The handshake completes.
    Accepts,
    /// Connect gets RST.
    Refused,
    /// Connect hangs.
    TimesOut,
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 9, last)
}

fn beacon(city: &str, last: u8, delay_ms: f64) -> BeaconSpec {
    BeaconSpec::new(city, IpAddr::V4(ip(last)), delay_ms)
}

/// One beacon per behaviour, each on its own address, and what its TCP side must be.
fn behaviours() -> Vec<(BeaconSpec, Tcp)> {
    let with = |city: &str, last: u8, delay: f64, f: fn(&mut BeaconSpec)| {
        let mut spec = beacon(city, last, delay);
        f(&mut spec);
        spec
    };
    vec![
        (beacon("plain", 1, 0.0), Tcp::Accepts),
        (beacon("delayed", 2, 50.0), Tcp::Absent),
        (with("jittery", 3, 0.0, |s| s.jitter_ms = 5.0), Tcp::Absent),
        (with("lossy", 4, 0.0, |s| s.loss = 0.2), Tcp::Absent),
        (with("silent", 5, 20.0, |s| s.silent = true), Tcp::Absent),
        (with("silent-now", 6, 0.0, |s| s.silent = true), Tcp::Absent),
        (with("dup", 7, 0.0, |s| s.duplicates = 1), Tcp::Absent),
        (
            with("forged", 8, 0.0, |s| s.wrong_source_port = true),
            Tcp::Absent,
        ),
        (
            with("altered", 9, 0.0, |s| s.alter_bytes = true),
            Tcp::Absent,
        ),
        (
            with("pong", 10, 0.0, |s| s.reply_with = Some("pong".into())),
            Tcp::Absent,
        ),
        (with("down", 11, 50.0, |s| s.down = true), Tcp::Refused),
        (
            with("tcp-silent", 12, 50.0, |s| s.tcp_silent = true),
            Tcp::TimesOut,
        ),
        (
            with("all-silent", 13, 0.0, |s| {
                s.silent = true;
                s.tcp_silent = true;
            }),
            Tcp::TimesOut,
        ),
        (
            with("always", 14, 50.0, |s| s.tcp = TcpMode::Always),
            Tcp::Accepts,
        ),
        (with("off", 15, 0.0, |s| s.tcp = TcpMode::Off), Tcp::Absent),
        (with("tcp-only", 16, 0.0, |s| s.udp = false), Tcp::Accepts),
    ]
}

/// The `tcp_port` of every beacon in `list`, in order: from the v1 shape (key left out) or the
/// matchmaker shape (null).
fn listed_tcp_ports(list: &Value, shape: ListShape) -> Vec<Option<u16>> {
    let (key, absent_is_null) = match shape {
        ListShape::V1 => ("locations", false),
        ListShape::Matchmaker => ("beacons", true),
    };
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| match entry.get("tcp_port") {
            None => {
                assert!(
                    !absent_is_null,
                    "the matchmaker shape has every key: {entry}"
                );
                None
            }
            Some(Value::Null) => {
                assert!(
                    absent_is_null,
                    "the v1 shape leaves absent ports out: {entry}"
                );
                None
            }
            Some(port) => Some(u16::try_from(port.as_u64().unwrap()).unwrap()),
        })
        .collect()
}

/// Checks both lists against the running beacons and returns the listed TCP ports.
fn check_lists(sim: &Simulation) -> Vec<Option<u16>> {
    let running: Vec<Option<u16>> = sim
        .beacons()
        .iter()
        .map(|b| b.tcp.map(|a| a.port()))
        .collect();
    for shape in [ListShape::V1, ListShape::Matchmaker] {
        assert_eq!(
            listed_tcp_ports(&sim.beacon_list(shape), shape),
            running,
            "{shape:?}"
        );
    }
    running
}

async fn connect(addr: SocketAddr) -> Tcp {
    match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Tcp::Accepts,
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => Tcp::Refused,
        Ok(Err(e)) => panic!("connect to {addr}: {e}"),
        Err(_) => Tcp::TimesOut,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_behaviour_lists_tcp_only_where_the_rule_allows() {
    let cases = behaviours();
    let sim = Scenario {
        seed: 3,
        beacons: cases.iter().map(|(spec, _)| spec.clone()).collect(),
    }
    .start()
    .await
    .unwrap();
    let listed = check_lists(&sim);
    for ((spec, expected), (running, port)) in cases.iter().zip(sim.beacons().iter().zip(listed)) {
        let city = &spec.city;
        assert_eq!(spec.serves_tcp(), *expected != Tcp::Absent, "{city}");
        assert_eq!(port.is_some(), *expected != Tcp::Absent, "{city}: {port:?}");
        // Where TCP is withheld, no TCP socket listens on the beacon's address at all, so a
        // silent or slow beacon does not answer TCP even to someone guessing the port.
        // (A down beacon's port is closed; a tcp_silent one's listener never answers.)
        let IpAddr::V4(v4) = spec.address else {
            unreachable!("IPv4 beacons")
        };
        if let Some(listening) = listening_tcp_ports(v4) {
            let expect_listener = matches!(expected, Tcp::Accepts | Tcp::TimesOut);
            assert_eq!(
                listening,
                if expect_listener {
                    vec![port.unwrap()]
                } else {
                    vec![]
                },
                "{city}: TCP listeners on its address"
            );
        }
        if let Some(addr) = running.tcp {
            assert_eq!(connect(addr).await, *expected, "{city}");
        }
    }
    sim.shutdown().await;
}

/// A beacon injecting 50 ms has no TCP port in either list shape, and no socket on the TCP
/// port it asked for (a fixed one), so nothing times a kernel-speed handshake against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_beacon_has_no_tcp_port_in_either_shape() {
    let asked = std::net::TcpListener::bind((ip(20), 0))
        .unwrap()
        .local_addr()
        .unwrap();
    let spec = BeaconSpec {
        tcp_port: asked.port(),
        ..beacon("Tokyo", 20, 50.0)
    };
    assert_eq!(spec.tcp_would_ignore(), Some("delay_ms"));
    let sim = Scenario {
        seed: 1,
        beacons: vec![spec],
    }
    .start()
    .await
    .unwrap();
    assert!(sim.beacons()[0].tcp.is_none());
    let v1 = sim.beacon_list_v1();
    let entry = &v1["locations"][0];
    assert!(entry.get("tcp_port").is_none(), "{v1}");
    assert!(entry["udp_port"].is_u64(), "{v1}");
    let mm = sim.beacon_list_matchmaker();
    assert!(mm["beacons"][0]["tcp_port"].is_null(), "{mm}");
    assert!(mm["beacons"][0]["udp_port"].is_u64(), "{mm}");
    assert_eq!(
        connect(asked).await,
        Tcp::Refused,
        "nothing listens on the asked TCP port"
    );
    // UDP still answers, after the delay.
    let target = sim.beacons()[0].udp.unwrap();
    let socket = client(target).await;
    let (_, _, rtt) = ping(&socket, target, b"slow", Duration::from_secs(2))
        .await
        .expect("UDP echo");
    assert!(rtt >= Duration::from_millis(50), "{rtt:?}");
    sim.shutdown().await;
}

/// The presets the `demo` command, the benches and the FFI tests use: UDP serves as before;
/// only the down beacon lists a TCP port, and it refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presets_keep_working_and_list_tcp_only_where_the_rule_allows() {
    let demo = Scenario::demo().start().await.unwrap();
    let listed = check_lists(&demo);
    for (b, port) in demo.beacons().iter().zip(&listed) {
        let city = &b.spec.city;
        assert_eq!(port.is_some(), b.spec.down, "{city}: {port:?}");
        if let IpAddr::V4(v4) = b.spec.address
            && let Some(listening) = listening_tcp_ports(v4)
        {
            assert!(listening.is_empty(), "{city}: TCP listeners {listening:?}");
        }
        let udp = b.udp.expect("every demo beacon has UDP");
        let socket = client(udp).await;
        if b.spec.down {
            assert_eq!(connect(b.tcp.unwrap()).await, Tcp::Refused, "{city}");
            socket.connect(udp).await.unwrap();
            socket.send(b"anyone?").await.unwrap();
            let mut buf = [0u8; 16];
            let got = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
                .await
                .expect("the ICMP error arrives at once");
            assert_eq!(got.unwrap_err().kind(), ErrorKind::ConnectionRefused);
        } else {
            // Up to 3 % loss: a few tries.
            let mut echoed = false;
            for _ in 0..5 {
                if ping(&socket, udp, b"demo", Duration::from_millis(600))
                    .await
                    .is_some()
                {
                    echoed = true;
                    break;
                }
            }
            assert!(echoed, "{city}: no UDP echo");
        }
    }
    assert_eq!(listed.iter().flatten().count(), 1);
    demo.shutdown().await;

    let twelve = Scenario::twelve_locations(42).start().await.unwrap();
    assert!(check_lists(&twelve).iter().all(Option::is_none));
    let first = twelve.beacons()[0].udp.unwrap();
    let socket = client(first).await;
    let mut echoed = false;
    for _ in 0..5 {
        if ping(&socket, first, b"bench", Duration::from_millis(500))
            .await
            .is_some()
        {
            echoed = true;
            break;
        }
    }
    assert!(echoed, "no UDP echo from the benchmark's first beacon");
    twelve.shutdown().await;
}
