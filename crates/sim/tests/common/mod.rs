//! Helpers shared by the integration tests: a plain tokio UDP client, nothing from the engine.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use edgegap_beacon_sim::{BeaconSpec, Scenario, Simulation};
use tokio::net::UdpSocket;

/// Starts a one-beacon scenario.
pub async fn start_one(spec: BeaconSpec, seed: u64) -> Simulation {
    Scenario {
        seed,
        beacons: vec![spec],
    }
    .start()
    .await
    .unwrap()
}

/// A beacon on `127.0.0.<last>`.
pub fn spec(last: u8, delay_ms: f64) -> BeaconSpec {
    BeaconSpec::new(
        "Testville",
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)),
        delay_ms,
    )
}

/// The UDP address of the only beacon.
pub fn udp_of(sim: &Simulation) -> SocketAddr {
    sim.beacons()[0].udp.unwrap()
}

/// A client socket on the same family as `target`.
pub async fn client(target: SocketAddr) -> UdpSocket {
    let local: SocketAddr = if target.is_ipv6() {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    }
    .parse()
    .unwrap();
    UdpSocket::bind(local).await.unwrap()
}

/// Everything that arrives on `socket` within `window`: (bytes, source, arrival instant).
pub async fn collect(socket: &UdpSocket, window: Duration) -> Vec<(Vec<u8>, SocketAddr, Instant)> {
    let deadline = tokio::time::Instant::now() + window;
    let mut buf = vec![0u8; 65_536];
    let mut got = Vec::new();
    while let Ok(Ok((n, from))) =
        tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await
    {
        got.push((buf[..n].to_vec(), from, Instant::now()));
    }
    got
}

/// Sends `payload` and waits up to `wait` for one datagram back: (bytes, source, rtt).
pub async fn ping(
    socket: &UdpSocket,
    target: SocketAddr,
    payload: &[u8],
    wait: Duration,
) -> Option<(Vec<u8>, SocketAddr, Duration)> {
    let sent = Instant::now();
    socket.send_to(payload, target).await.unwrap();
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
        Ok(Ok((n, from))) => Some((buf[..n].to_vec(), from, sent.elapsed())),
        _ => None,
    }
}

/// Sends `count` datagrams whose payload is their index (8 bytes, big endian), a little paced,
/// while reading the replies (so no socket buffer overflows), and returns the sorted indices
/// answered, stopping once sending is done and nothing arrived for `quiet`.
pub async fn answered(
    socket: &UdpSocket,
    target: SocketAddr,
    count: u64,
    quiet: Duration,
) -> Vec<u64> {
    let done = std::cell::Cell::new(false);
    let send = async {
        for i in 0..count {
            socket.send_to(&i.to_be_bytes(), target).await.unwrap();
            if i % 16 == 15 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        done.set(true);
    };
    let receive = async {
        let mut seen = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match tokio::time::timeout(quiet, socket.recv_from(&mut buf)).await {
                Ok(Ok((8, _))) => seen.push(u64::from_be_bytes(buf[..8].try_into().unwrap())),
                Ok(other) => panic!("unexpected reply {other:?}"),
                Err(_) if done.get() => break,
                Err(_) => {}
            }
        }
        seen
    };
    let ((), mut seen) = tokio::join!(send, receive);
    seen.sort_unstable();
    seen
}

/// Median of durations, in milliseconds.
pub fn median_ms(mut samples: Vec<Duration>) -> f64 {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

/// The TCP ports in LISTEN state on `ip`, from `/proc/net/tcp`; `None` where that file cannot
/// be read (not Linux).
pub fn listening_tcp_ports(ip: Ipv4Addr) -> Option<Vec<u16>> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let mut ports: Vec<u16> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            let (addr, port) = local.split_once(':')?;
            // The address is the raw 32-bit word, printed in host byte order.
            let addr = Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?.to_ne_bytes());
            (state == "0A" && addr == ip).then(|| u16::from_str_radix(port, 16).ok())?
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    Some(ports)
}
