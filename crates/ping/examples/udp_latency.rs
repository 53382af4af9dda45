//! What the engine adds to a UDP round trip, for `benches/udp_latency.sh`: the median round
//! trip the engine reports for 1,000 loopback targets against the median of a plain blocking
//! UDP ping-pong (the machine's floor), both against the same blocking echo thread on
//! 127.0.0.1 and at the same pace (one datagram per `GAP_US`, 1,000 µs by default, like the
//! engine's default `min_gap`), so both see the same CPU wake-ups.
//!
//! ```text
//! cargo run --release -p edgegap-ping --example udp_latency -- [TARGETS=1000] [COUNT=3]
//! ```
//!
//! Prints one line per measurement with its p50 and p90 in microseconds, and the difference
//! of the medians. The floor is also measured back to back (no pause), the way a C ping-pong
//! program usually is. The floor is timed from the send to the return of the blocking read;
//! the engine reports what it reports to its users: from the send to the kernel's receive
//! timestamp (the time a reply waited to be read is not part of its round trip).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use edgegap_ping::{EngineConfig, Event, Host, Ports, ProtocolChoice, TargetId, TargetSpec};

/// Starts a blocking echo thread on 127.0.0.1 and returns its address.
fn echo_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the echo socket");
    let addr = socket.local_addr().expect("its address");
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..len], from);
        }
    });
    addr
}

/// Round trips of a plain blocking ping-pong: `rounds` datagrams of `size` bytes, `gap` apart.
fn floor(echo: SocketAddr, rounds: usize, size: usize, gap: Duration) -> Vec<Duration> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the client socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("a read timeout");
    let data = vec![0x5a; size];
    let mut buf = [0u8; 2048];
    let mut rtts = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let sent = Instant::now();
        socket.send_to(&data, echo).expect("send");
        if socket.recv_from(&mut buf).is_ok() {
            rtts.push(sent.elapsed());
        }
        if let Some(rest) = gap.checked_sub(sent.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    rtts
}

/// Round trips the engine reports for `targets` targets on the echo server, `count` each.
fn engine(echo: SocketAddr, targets: u32, count: u32, gap: Duration) -> Vec<Duration> {
    let specs: Vec<TargetSpec> = (0..targets)
        .map(|i| TargetSpec {
            id: TargetId(i),
            host: Host::Ip(echo.ip()),
            ports: Ports {
                udp: Some(echo.port()),
                tcp: None,
            },
            protocol: ProtocolChoice::Udp,
        })
        .collect();
    let mut config = EngineConfig::default();
    config.count = count;
    config.min_gap = gap;
    config.deadline = Some(Duration::from_secs(120));
    // The CLI's runtime: one thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let mut run = edgegap_ping::start(specs, config).expect("the run starts");
        let mut rtts = Vec::new();
        while let Some(event) = run.events.recv().await {
            if let Event::Received { rtt, .. } = event {
                rtts.push(rtt);
            }
        }
        run.finish().await;
        rtts
    })
}

/// The `q` quantile (nearest rank) of `values`, in microseconds.
fn quantile_us(values: &mut [Duration], q: f64) -> f64 {
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1].as_secs_f64() * 1e6
}

fn main() {
    let mut args = std::env::args().skip(1);
    let targets = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000u32);
    let count = args.next().and_then(|a| a.parse().ok()).unwrap_or(3u32);
    let gap = Duration::from_micros(
        std::env::var("GAP_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000),
    );
    let size = EngineConfig::default().payload_size;
    let echo = echo_server();
    let rounds = (targets * count) as usize;
    // Warm up the path (ARP-free loopback, but caches and the echo thread).
    floor(echo, 200, size, Duration::ZERO);
    let mut paced = floor(echo, rounds, size, gap);
    let mut back_to_back = floor(echo, rounds, size, Duration::ZERO);
    let mut probed = engine(echo, targets, count, gap);
    assert!(
        !paced.is_empty() && !probed.is_empty(),
        "no round trips measured"
    );
    let floor_p50 = quantile_us(&mut paced, 0.5);
    let engine_p50 = quantile_us(&mut probed, 0.5);
    println!(
        "floor, blocking ping-pong, {gap:?} apart:  p50 {floor_p50:6.1} us  p90 {:6.1} us  ({} round trips)",
        quantile_us(&mut paced, 0.9),
        paced.len()
    );
    println!(
        "floor, blocking ping-pong, back to back:  p50 {:6.1} us  p90 {:6.1} us  ({} round trips)",
        quantile_us(&mut back_to_back, 0.5),
        quantile_us(&mut back_to_back, 0.9),
        back_to_back.len()
    );
    println!(
        "engine, {targets} targets x {count}, {gap:?} gap: p50 {engine_p50:6.1} us  p90 {:6.1} us  ({} samples)",
        quantile_us(&mut probed, 0.9),
        probed.len()
    );
    println!(
        "engine added p50: {:+.1} us (target: at most +50 us)",
        engine_p50 - floor_p50
    );
}
