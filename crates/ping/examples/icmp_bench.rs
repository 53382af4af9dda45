//! The probe engine alone on `benches/fping_compare.sh`'s workload: 256 loopback targets
//! (127.0.10.2 and up, as the bench numbers them), 10 ICMP echo probes each, 20 ms per-target
//! interval, 1 ms between sends, a current-thread runtime, every event read until the channel
//! closes. For measuring the engine's CPU per probe without the facade:
//!
//! ```text
//! cargo build --release -p edgegap-ping --example icmp_bench
//! perf stat -r 5 -e task-clock target/release/examples/icmp_bench [TARGETS] [COUNT]
//! ```
//!
//! `FORWARD_EVERY_MS=5` hands the events over every 5 ms (as the CLI does for 64 locations or
//! more); `ON_RUNTIME=1` drives the run on the runtime instead of its own thread
//! (`EngineConfig::dedicated_thread`).
//!
//! Needs an ICMP socket: root (raw), or `net.ipv4.ping_group_range` covering the user.
//! Only ever sends to 127.0.0.0/8.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use edgegap_ping::{EngineConfig, Host, Ports, ProtocolChoice, TargetId, TargetSpec};

mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let n = args
        .next()
        .and_then(|a| a.parse::<u32>().ok())
        .unwrap_or(256);
    let count = args
        .next()
        .and_then(|a| a.parse::<u32>().ok())
        .unwrap_or(10);
    let targets: Vec<TargetSpec> = (0..n)
        .map(|index| {
            let i = index + 1;
            // 127.0.(10 + i / 250).(1 + i % 250): loopback only, as the fping bench.
            let third = u8::try_from(10 + i / 250).expect("at most 61,499 targets");
            let fourth = u8::try_from(1 + i % 250).expect("below 251");
            TargetSpec {
                id: TargetId(index),
                host: Host::Ip(IpAddr::V4(Ipv4Addr::new(127, 0, third, fourth))),
                ports: Ports::default(),
                protocol: ProtocolChoice::Icmp,
            }
        })
        .collect();
    let mut config = EngineConfig::default();
    config.count = count;
    config.interval = Duration::from_millis(20);
    config.min_gap = Duration::from_millis(1);
    config.forward_every = std::env::var("FORWARD_EVERY_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis);
    config.dedicated_thread = std::env::var_os("ON_RUNTIME").is_none();
    common::run_and_report(targets, config);
}
