//! The `beacon-sim` binary: arguments, the list file, serving, and stopping.

use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn beacon_sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_beacon-sim"))
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("beacon-sim did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_file(child: &mut Child, path: &Path) -> serde_json::Value {
    let start = Instant::now();
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("beacon-sim exited early ({status}): {err}");
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no list file");
        std::thread::sleep(Duration::from_millis(10));
    }
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One echo through the beacon (the scenarios have a little loss, so a few tries).
fn udp_echo(target: SocketAddr) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    for _ in 0..10 {
        socket.send_to(b"hello beacon", target).unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            assert_eq!(from, target);
            return buf[..n].to_vec();
        }
    }
    panic!("no echo from {target} in 10 tries");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["--frobnicate"],
        &["--twelve", "abc"],
        &["--twelve"],
        &["--demo", "--twelve", "1"],
        &["--harsh"],
        &["--harsh", "-3"],
        &["--harsh", "1", "--demo"],
        &["--demo", "--shape", "xml"],
    ] {
        let out = beacon_sim()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("usage: beacon-sim"), "{args:?}: {err}");
    }
    let help = beacon_sim().arg("--help").output().unwrap();
    assert!(
        help.status.success()
            && String::from_utf8(help.stdout)
                .unwrap()
                .contains("--list-out")
    );
}

#[test]
fn bad_scenario_file_exits_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "[[beacons]]\ncity = \"X\"\naddress = \"8.8.8.8\"\n").unwrap();
    let out = beacon_sim()
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("broken.toml") && err.contains("not loopback"),
        "{err}"
    );
}

#[test]
fn demo_serves_until_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("beacons.json");
    let mut child = beacon_sim()
        .args(["--demo", "--list-out"])
        .arg(&list)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let json = wait_file(&mut child, &list);
    assert_eq!(json["count"], 10);
    // TCP only where it follows the scenario: the down beacon (refused), none of the delayed.
    for l in json["locations"].as_array().unwrap() {
        let down = l["location"]["city"] == "Singapore";
        assert_eq!(l.get("tcp_port").is_some(), down, "{l}");
    }
    let montreal = &json["locations"][0];
    assert_eq!(montreal["location"]["city"], "Montreal");
    let target = SocketAddr::new(
        montreal["host"].as_str().unwrap().parse().unwrap(),
        u16::try_from(montreal["udp_port"].as_u64().unwrap()).unwrap(),
    );
    assert_eq!(udp_echo(target), b"hello beacon");
    drop(child.stdin.take()); // close stdin
    assert!(wait_exit(&mut child, Duration::from_secs(5)).success());
}

#[test]
fn the_harsh_file_serves() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("beacons.json");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/harsh.toml");
    let mut child = beacon_sim()
        .arg(&file)
        .arg("--list-out")
        .arg(&list)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let json = wait_file(&mut child, &list);
    assert_eq!(json["count"], 12);
    let locations = json["locations"].as_array().unwrap();
    assert!(
        locations.iter().all(|l| l.get("tcp_port").is_none()),
        "{json}"
    );
    let frankfurt = &locations[0];
    assert_eq!(frankfurt["location"]["city"], "Frankfurt");
    let target = SocketAddr::new(
        frankfurt["host"].as_str().unwrap().parse().unwrap(),
        u16::try_from(frankfurt["udp_port"].as_u64().unwrap()).unwrap(),
    );
    assert_eq!(udp_echo(target), b"hello beacon");
    drop(child.stdin.take());
    assert!(wait_exit(&mut child, Duration::from_secs(5)).success());
}

#[test]
fn matchmaker_list_on_stdout_and_sigterm_stops() {
    let mut child = beacon_sim()
        .args(["--twelve", "3", "--shape", "matchmaker", "--ignore-stdin"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // The whole document is written then flushed; read until it parses.
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    let json: serde_json::Value = loop {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "stdout closed before a full list: {text}");
        text.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        if let Ok(json) = serde_json::from_str(&text) {
            break json;
        }
    };
    assert_eq!(json["count"], 12);
    assert!(
        json["beacons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["tcp_port"].is_null() && b["udp_port"].is_u64()),
        "delayed beacons list no TCP port: {json}"
    );
    let first = &json["beacons"][0];
    let target = SocketAddr::new(
        first["public_ip"].as_str().unwrap().parse().unwrap(),
        u16::try_from(first["udp_port"].as_u64().unwrap()).unwrap(),
    );
    assert_eq!(udp_echo(target), b"hello beacon");
    // stdin is /dev/null but --ignore-stdin keeps it serving.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        child.try_wait().unwrap().is_none(),
        "stopped despite --ignore-stdin"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(wait_exit(&mut child, Duration::from_secs(5)).success());
}
