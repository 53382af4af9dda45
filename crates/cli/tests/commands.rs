//! `demo`, `beacon`, `--help` and `--version` end to end.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;
use serde_json::Value;

#[test]
fn demo_runs_and_names_its_cities() {
    let out = run(bin().arg("demo"));
    assert_eq!(out.code, OK, "{out:?}");
    assert!(out.stdout.contains("simulated beacons"), "{}", out.stdout);
    for city in ["Montreal", "Chicago", "Tokyo", "Sydney", "Singapore"] {
        assert!(out.stdout.contains(city), "{city} missing:\n{}", out.stdout);
    }
    let (_, unreachable) = out
        .stdout
        .split_once("Unreachable")
        .expect("an unreachable section");
    assert!(unreachable.contains("Singapore"));
    assert!(out.stdout.contains("\"beacons\""), "the payload is printed");

    let payload = run(bin().args(["demo", "--payload"]));
    assert_eq!(payload.code, OK, "{payload:?}");
    let cities = cities(&payload.json()["beacons"]);
    assert!(
        cities.contains("Montreal") && !cities.contains("Singapore"),
        "{cities:?}"
    );
}

#[test]
fn every_command_has_help_with_examples() {
    for command in [
        "demo",
        "probe",
        "beacons",
        "locations",
        "ticket",
        "group",
        "servers",
        "beacon",
        "storage",
    ] {
        let out = run(bin().args([command, "--help"]));
        assert_eq!(out.code, OK, "{command}: {out:?}");
        assert!(
            out.stdout.contains("Examples:"),
            "{command} --help has no examples:\n{}",
            out.stdout
        );
    }
    let root = run(bin().arg("--help"));
    assert_eq!(root.code, OK);
    for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "130 "] {
        assert!(
            root.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(code)),
            "exit code {code} is not documented:\n{}",
            root.stdout
        );
    }
    let version = run(bin().arg("--version"));
    assert_eq!(version.code, OK);
    assert!(
        version.stdout.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        version.stdout
    );

    let unknown = run(bin().arg("--no-such-flag"));
    assert_eq!(unknown.code, USAGE, "{unknown:?}");
}

#[test]
fn beacon_refuses_non_loopback_addresses() {
    let out = run(bin().args(["beacon", "--listen", "192.0.2.1:9000"]));
    assert_eq!(out.code, USAGE, "{out:?}");
    assert!(out.stderr.contains("loopback"), "{}", out.stderr);
    let out = run(bin()
        .args([
            "beacon",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.2:0",
        ])
        .args(["--delay-ms", "1", "--delay-ms", "2", "--delay-ms", "3"]));
    assert_eq!(out.code, USAGE, "{out:?}");
}

#[test]
fn beacon_serves_the_list_it_prints_until_interrupted() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_edgegap-probe"))
        .args(["beacon", "--shape", "matchmaker"])
        .args(["--listen", "Close=127.0.0.61:0", "--delay-ms", "5"])
        .args(["--listen", "Away=127.0.0.62:0", "--delay-ms", "60"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The pretty JSON document ends with a `}` line.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut text = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line == "}" {
            break;
        }
    }
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["count"], 2, "{text}");
    assert_eq!(list["beacons"][0]["location"]["city"], "Close");

    let probed = run(bin()
        .args(["probe", "--json", "--beacons-file", "-"])
        .args(FAST)
        .write_stdin(text));
    assert_eq!(probed.code, OK, "{probed:?}");
    let order: Vec<String> = probed.json()["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["city"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order, ["Close", "Away"]);

    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(child.wait().unwrap().code(), Some(OK));
}
