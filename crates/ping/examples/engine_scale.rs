//! The probe engine alone on N loopback targets, for `ENGINE=1 benches/scale.sh`: the same
//! targets and settings as the bench gives the CLI (127.1.0.1 and up on one UDP port, one
//! probe per target plus one replacement, 20 µs between sends, 300 ms timeout, 20 s
//! deadline, a current-thread runtime), without the ranking and the report, so the engine's
//! own time and memory show.
//!
//! ```text
//! cargo run --release -p edgegap-ping --example engine_scale -- 16000 47000
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use edgegap_ping::{EngineConfig, Host, Ports, ProtocolChoice, TargetId, TargetSpec};

mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(n), Some(port)) = (
        args.next().and_then(|a| a.parse::<u32>().ok()),
        args.next().and_then(|a| a.parse::<u16>().ok()),
    ) else {
        eprintln!("usage: engine_scale TARGETS PORT");
        std::process::exit(2);
    };
    let targets: Vec<TargetSpec> = (0..n)
        .map(|index| {
            let i = index + 1;
            let ip = Ipv4Addr::new(127, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8);
            TargetSpec {
                id: TargetId(index),
                host: Host::Ip(IpAddr::V4(ip)),
                ports: Ports {
                    udp: Some(port),
                    tcp: None,
                },
                protocol: ProtocolChoice::Udp,
            }
        })
        .collect();
    let mut config = EngineConfig::default();
    config.count = 1;
    config.extra_probes = 1;
    config.min_gap = Duration::from_micros(20);
    config.timeout = Duration::from_millis(300);
    config.deadline = Some(Duration::from_secs(20));
    common::run_and_report(targets, config);
}
