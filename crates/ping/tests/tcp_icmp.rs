//! TCP handshake timing and ICMP echo against loopback, over IPv4 and IPv6.
mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{run, sim, targets};
use edgegap_beacon_sim::BeaconSpec;
use edgegap_ping::{
    EngineConfig, Host, Ports, Protocol, ProtocolChoice, TargetId, TargetSpec, TargetStatus,
    Unreachable,
};

fn quick() -> EngineConfig {
    common::quick(Duration::from_millis(300))
}

fn spec(city: &str, ip: &str) -> BeaconSpec {
    BeaconSpec::new(city, ip.parse().unwrap(), 0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_reachable_refused_and_silent() {
    let mut down = spec("down", "127.0.0.60");
    down.down = true;
    let mut silent = spec("silent", "127.0.0.61");
    silent.tcp_silent = true;
    let sim = sim(vec![
        spec("up", "127.0.0.62"),
        down,
        silent,
        spec("up6", "::1"),
    ])
    .await;
    let mut config = quick();
    config.timeout = Duration::from_millis(400);
    let out = run(targets(&sim, ProtocolChoice::Tcp), config.clone()).await;
    let [up, down, silent, up6] = &out.summary.targets[..] else {
        panic!("four targets")
    };
    for s in [up, up6] {
        assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
        assert_eq!(s.protocol, Some(Protocol::Tcp));
        assert_eq!(s.rtts.len(), 3);
        // A loopback handshake: well under the timeout (no delay can be injected into it).
        assert!(
            s.rtts.iter().all(|r| *r < Duration::from_millis(200)),
            "{s:?}"
        );
    }
    assert!(up6.addr.unwrap().is_ipv6());
    assert_eq!(
        down.status,
        TargetStatus::Unreachable(Unreachable::Refused),
        "{down:?}"
    );
    assert_eq!(
        down.counts.sent, 1,
        "a refusal ends the target: no probe is burnt after it"
    );
    assert!(
        out.done_after(1) < config.timeout / 2,
        "refused after {:?}",
        out.done_after(1)
    );
    assert_eq!(
        silent.status,
        TargetStatus::Unreachable(Unreachable::NoReply),
        "{silent:?}"
    );
}

/// ICMP echo to 127.0.0.1 and ::1. Where the OS allows neither datagram nor raw ICMP
/// sockets, the outcome must be the how-to-fix error, never a silent pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icmp_to_loopback_or_a_clear_permission_error() {
    let icmp = |id: u32, ip: &str| TargetSpec {
        id: TargetId(id),
        host: Host::Ip(ip.parse::<IpAddr>().unwrap()),
        ports: Ports::default(),
        protocol: ProtocolChoice::Auto,
    };
    let out = run(vec![icmp(0, "127.0.0.1"), icmp(1, "::1")], quick()).await;
    for s in &out.summary.targets {
        eprintln!("ICMP to {:?}: {} {:?}", s.addr, s.status, s.rtts);
        assert_eq!(s.protocol, Some(Protocol::Icmp));
        assert_eq!(s.addr.unwrap().port(), 0);
        match &s.status {
            TargetStatus::Complete => {
                assert_eq!(s.rtts.len(), 3, "{s:?}");
                assert!(
                    s.rtts.iter().all(|r| *r < Duration::from_millis(200)),
                    "{s:?}"
                );
            }
            TargetStatus::Unreachable(why @ Unreachable::PermissionDenied(_)) => {
                assert!(why.to_string().contains("ping_group_range"), "{why}");
                assert_eq!(s.counts.sent, 0);
            }
            other => panic!("ICMP to loopback ended {other:?}: {s:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_udp_then_tcp_and_says_which() {
    let mut tcp_only = spec("tcp-only", "127.0.0.63");
    tcp_only.udp = false;
    let sim = sim(vec![spec("both", "127.0.0.64"), tcp_only]).await;
    let out = run(targets(&sim, ProtocolChoice::Auto), quick()).await;
    assert_eq!(out.summary.targets[0].protocol, Some(Protocol::Udp));
    assert_eq!(out.summary.targets[1].protocol, Some(Protocol::Tcp));
    assert!(
        out.summary
            .targets
            .iter()
            .all(|s| s.status == TargetStatus::Complete)
    );
}
