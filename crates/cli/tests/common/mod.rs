//! Helpers shared by the end-to-end tests: the built binary, a known scenario of simulated
//! beacons on loopback, and output capture.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use assert_cmd::Command;
use edgegap_beacon_sim::{BeaconSpec, Scenario, Simulation};
use serde_json::Value;

/// Exit codes as documented (`edgegap-probe --help`).
pub const OK: i32 = 0;
pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const NO_LOCATION_REACHABLE: i32 = 3;
pub const API: i32 = 4;
pub const BAD_INPUT: i32 = 5;
pub const INTERRUPTED: i32 = 130;

/// The built `edgegap-probe`, with a clean environment for tokens and logs.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgegap-probe"));
    cmd.env_remove("EDGEGAP_API_TOKEN")
        .env_remove("EDGEGAP_MATCHMAKER_TOKEN")
        .env_remove("EDGEGAP_SERVER_BROWSER_TOKEN")
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(60));
    cmd
}

/// Probe settings that keep a test short.
pub const FAST: [&str; 6] = ["--count", "3", "--timeout-ms", "500", "--interval-ms", "10"];

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `cmd` to its end.
pub fn run(cmd: &mut Command) -> Out {
    let output = cmd.output().expect("the binary runs");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn at(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The reachable cities of [`known`], best first.
pub const RANKED: [&str; 3] = ["Near", "Mid", "Far"];

/// Near (5 ms), Mid (40 ms), Far (90 ms) and Dead (ports closed), on 127.0.0.51..54.
pub fn known_scenario() -> Scenario {
    let mut dead = BeaconSpec::new("Dead", at(54), 0.0);
    dead.down = true;
    dead.country = "Nowhere".into();
    let mut beacons = vec![
        BeaconSpec::new("Near", at(51), 5.0),
        BeaconSpec::new("Mid", at(52), 40.0),
        BeaconSpec::new("Far", at(53), 90.0),
    ];
    for b in &mut beacons {
        b.country = "Testland".into();
    }
    // Far also takes TCP handshakes, answered by the kernel at once (an explicit opt-in: its
    // TCP timing does not follow its 90 ms; the tests use it only to see a TCP measurement).
    beacons[2].tcp = edgegap_beacon_sim::TcpMode::Always;
    beacons.push(dead);
    Scenario { seed: 1, beacons }
}

/// Starts [`known_scenario`].
pub async fn known() -> Simulation {
    known_scenario()
        .start()
        .await
        .expect("simulated beacons start")
}

/// A temporary file holding `json`.
pub fn file_with(json: &Value) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(json.to_string().as_bytes()).unwrap();
    file
}

/// The cities (keys) of a payload attribute.
pub fn cities(attribute: &Value) -> BTreeSet<String> {
    attribute
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {attribute}"))
        .keys()
        .cloned()
        .collect()
}

/// `RANKED` as a set.
pub fn reachable() -> BTreeSet<String> {
    RANKED.iter().map(|c| (*c).to_owned()).collect()
}
