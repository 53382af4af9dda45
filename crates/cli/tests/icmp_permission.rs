//! ICMP without permission: the probe says so and how to fix it, and gives no number.
//!
//! When the tests run as root (CI does), the binary runs as `nobody` through `setpriv`, so the
//! unprivileged path is exercised for real; otherwise as the current user. Whether ICMP is
//! then permitted follows from the machine's settings (`net.ipv4.ping_group_range`, the
//! `CAP_NET_RAW` capability), and the test expects exactly that outcome.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use common::{NO_LOCATION_REACHABLE, OK, bin, run};

/// The numbers of a `/proc/self/status` line such as `Uid:` or `Gid:`.
fn status_numbers(field: &str) -> Vec<u64> {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn has_cap_net_raw() -> bool {
    const CAP_NET_RAW: u32 = 13;
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_NET_RAW) != 0)
}

/// Whether unprivileged ICMP sockets are allowed for group `gid`.
fn ping_group_allows(gid: u64) -> bool {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap_or_default();
    let bounds: Vec<u64> = range
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    matches!(bounds[..], [low, high] if low <= gid && gid <= high)
}

/// The command to run and whether ICMP will be permitted for it.
fn unprivileged(dir: &Path) -> (Command, bool) {
    let root = status_numbers("Uid:").get(1) == Some(&0);
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if let (true, Some(setpriv)) = (root, setpriv) {
        // A copy `nobody` can execute, whatever the permissions of the checkout's folders.
        let exe = dir.join("edgegap-probe");
        std::fs::copy(env!("CARGO_BIN_EXE_edgegap-probe"), &exe).expect("copy the binary");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = Command::new(setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe)
            .env_remove("RUST_LOG");
        (cmd, ping_group_allows(65534))
    } else {
        let gid = status_numbers("Gid:").get(1).copied().unwrap_or(u64::MAX);
        (bin(), has_cap_net_raw() || ping_group_allows(gid))
    }
}

#[test]
fn icmp_without_permission_names_the_fix_and_gives_no_number() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cmd, permitted) = unprivileged(dir.path());
    let out = run(cmd.args([
        "probe",
        "--beacon",
        "Here=127.0.0.1/icmp",
        "--count",
        "2",
        "--timeout-ms",
        "500",
        "--json",
    ]));
    let report = out.json();
    if permitted {
        assert_eq!(out.code, OK, "{out:?}");
        assert_eq!(report["locations"][0]["city"], "Here", "{out:?}");
        assert_eq!(report["locations"][0]["protocol"], "icmp");
    } else {
        assert_eq!(out.code, NO_LOCATION_REACHABLE, "{out:?}");
        assert!(
            report["locations"].as_array().is_some_and(Vec::is_empty),
            "{out:?}"
        );
        assert_eq!(
            report["payload"]["beacons"],
            serde_json::json!({}),
            "no number for Here"
        );
        let reason = report["unreachable"][0]["reasons"][0]
            .as_str()
            .unwrap_or_default();
        assert!(reason.contains("ICMP is not permitted"), "{reason}");
        assert_eq!(
            report["unreachable"][0]["codes"],
            serde_json::json!(["permission_denied"])
        );
        assert!(out.stderr.contains("--protocol udp"), "{}", out.stderr);
        assert!(out.stderr.contains("ping_group_range"), "{}", out.stderr);
    }
}
