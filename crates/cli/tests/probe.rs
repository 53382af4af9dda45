//! `probe` end to end: the built binary against simulated beacons on loopback.

mod common;

use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_ranks_a_known_scenario() {
    let sim = known().await;
    let list = file_with(&sim.beacon_list_v1());
    let out = run(bin()
        .args(["probe", "--json", "--beacons-file"])
        .arg(list.path())
        .args(FAST));
    assert_eq!(out.code, OK, "{out:?}");
    let report = out.json();

    let locations = report["locations"].as_array().unwrap();
    let order: Vec<&str> = locations
        .iter()
        .map(|l| l["city"].as_str().unwrap())
        .collect();
    assert_eq!(order, RANKED, "{}", out.stdout);
    for (i, l) in locations.iter().enumerate() {
        assert_eq!(l["rank"], i + 1);
        assert_eq!(l["country"], "Testland");
        assert_eq!(l["protocol"], "udp");
        for field in [
            "score_ms",
            "statistic_ms",
            "sent",
            "received",
            "loss",
            "beacons",
        ] {
            assert!(!l[field].is_null(), "{field} missing in {l}");
        }
        for field in [
            "min", "p50", "p90", "p99", "max", "mean", "stddev", "jitter",
        ] {
            assert!(
                l["rtt_ms"].get(field).is_some(),
                "rtt_ms.{field} missing in {l}"
            );
        }
    }
    // The injected delay is a floor of the round trip.
    let near_p50 = locations[0]["rtt_ms"]["p50"].as_f64().unwrap();
    assert!(
        near_p50 >= 4.5,
        "Near p50 {near_p50} ms is below its 5 ms delay"
    );

    let unreachable = report["unreachable"].as_array().unwrap();
    assert_eq!(unreachable.len(), 1, "{}", out.stdout);
    assert_eq!(unreachable[0]["city"], "Dead");
    assert!(!unreachable[0]["reasons"].as_array().unwrap().is_empty());
    assert!(
        unreachable[0].get("score_ms").is_none(),
        "unreachable has no number"
    );

    assert_eq!(cities(&report["payload"]["beacons"]), reachable());
    assert!(report["duration_ms"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_prints_exactly_the_reachable_cities() {
    let sim = known().await;
    let list = file_with(&sim.beacon_list_v1());
    let out = run(bin()
        .args(["probe", "--payload", "--beacons-file"])
        .arg(list.path())
        .args(FAST));
    assert_eq!(out.code, OK, "{out:?}");
    let payload = out.json();
    assert_eq!(payload.as_object().unwrap().len(), 1, "{payload}");
    assert_eq!(cities(&payload["beacons"]), reachable());
    for ms in payload["beacons"].as_object().unwrap().values() {
        assert!(ms.as_f64().unwrap() > 0.0, "{payload}");
    }

    let out = run(bin()
        .args([
            "probe",
            "--payload",
            "--attribute",
            "ping",
            "--beacons-file",
        ])
        .arg(list.path())
        .args(FAST));
    assert_eq!(out.code, OK, "{out:?}");
    assert_eq!(cities(&out.json()["ping"]), reachable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacons_file_from_stdin_in_both_shapes() {
    let sim = known().await;
    for list in [sim.beacon_list_v1(), sim.beacon_list_matchmaker()] {
        let out = run(bin()
            .args(["probe", "--payload", "--beacons-file", "-"])
            .args(FAST)
            .write_stdin(list.to_string()));
        assert_eq!(out.code, OK, "{list}: {out:?}");
        assert_eq!(cities(&out.json()["beacons"]), reachable(), "{list}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacon_flags_name_udp_tcp_and_icmp_beacons() {
    let sim = known().await;
    let b = sim.beacons();
    let udp = |i: usize| b[i].udp.unwrap();
    let out = run(bin()
        .arg("probe")
        .arg("--json")
        .args(["--beacon", &format!("Near={}", udp(0))])
        .args(["--beacon", &format!("Mid={}/udp", udp(1))])
        // TCP is not delayed by the simulator: only check it is measured over TCP.
        .args(["--beacon", &format!("Handshake={}/tcp", b[2].tcp.unwrap())])
        .args(["--beacon", &format!("Dead={}/tcp", b[3].tcp.unwrap())])
        .args(FAST));
    assert_eq!(out.code, OK, "{out:?}");
    let report = out.json();
    let locations = report["locations"].as_array().unwrap();
    let by_city = |city: &str| locations.iter().find(|l| l["city"] == city).cloned();
    assert_eq!(by_city("Near").unwrap()["protocol"], "udp");
    assert_eq!(by_city("Mid").unwrap()["protocol"], "udp");
    assert_eq!(by_city("Handshake").unwrap()["protocol"], "tcp");
    let near = locations.iter().position(|l| l["city"] == "Near").unwrap();
    let mid = locations.iter().position(|l| l["city"] == "Mid").unwrap();
    assert!(near < mid, "{}", out.stdout);
    assert_eq!(report["unreachable"][0]["city"], "Dead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_lists_unreachable_locations_apart() {
    let sim = known().await;
    let list = file_with(&sim.beacon_list_matchmaker());
    let out = run(bin()
        .args(["probe", "--beacons-file"])
        .arg(list.path())
        .args(FAST));
    assert_eq!(out.code, OK, "{out:?}");
    let (ranked, unreachable) = out
        .stdout
        .split_once("Unreachable")
        .unwrap_or_else(|| panic!("no unreachable section:\n{}", out.stdout));
    // The first figure is the statistic that ranks (and that the payload carries).
    for header in [
        "rank", "city", "country", "median", "p90", "jitter", "loss", "samples", "protocol",
    ] {
        assert!(ranked.contains(header), "{header} missing:\n{}", out.stdout);
    }
    let by_min = run(bin()
        .args(["probe", "--statistic", "min", "--beacons-file"])
        .arg(list.path())
        .args(FAST));
    let header = by_min.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        header.contains(" min ") && !header.contains("median"),
        "{}",
        by_min.stdout
    );
    let near = ranked.find("Near").unwrap();
    let mid = ranked.find("Mid").unwrap();
    let far = ranked.find("Far").unwrap();
    assert!(near < mid && mid < far, "{}", out.stdout);
    assert!(!ranked.contains("Dead"));
    assert!(
        unreachable.contains("Dead") && unreachable.contains("refused"),
        "{}",
        out.stdout
    );
    // Nothing decorative without a terminal: no progress bar on stderr.
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_beacons_down_is_no_location_reachable() {
    let mut scenario = known_scenario();
    for b in &mut scenario.beacons {
        b.down = true;
    }
    let sim = scenario.start().await.unwrap();
    let list = file_with(&sim.beacon_list_v1());
    let out = run(bin()
        .args(["probe", "--json", "--beacons-file"])
        .arg(list.path())
        .args(FAST));
    assert_eq!(out.code, NO_LOCATION_REACHABLE, "{out:?}");
    assert!(
        out.stderr.contains("no location reachable"),
        "{}",
        out.stderr
    );
    let report = out.json();
    assert_eq!(report["locations"], Value::Array(vec![]));
    assert_eq!(report["unreachable"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_latency_leaves_slow_locations_out_of_the_payload() {
    let sim = known().await;
    let list = file_with(&sim.beacon_list_v1());
    let out = run(bin()
        .args([
            "probe",
            "--json",
            "--max-latency-ms",
            "60",
            "--no-early-decision",
        ])
        .arg("--beacons-file")
        .arg(list.path())
        .args(FAST));
    assert_eq!(out.code, OK, "{out:?}");
    let report = out.json();
    assert_eq!(report["excluded"][0]["city"], "Far", "{}", out.stdout);
    let kept = cities(&report["payload"]["beacons"]);
    assert_eq!(
        kept,
        ["Mid", "Near"].iter().map(|c| (*c).to_owned()).collect()
    );

    let out = run(bin()
        .args(["probe", "--payload", "--max-latency-ms", "1"])
        .arg("--beacons-file")
        .arg(list.path())
        .args(FAST));
    assert_eq!(out.code, NO_LOCATION_REACHABLE, "{out:?}");
    assert!(out.stderr.contains("latency limit"), "{}", out.stderr);
}

#[test]
fn bad_inputs_give_the_documented_code_and_say_what_to_do() {
    let empty = run(bin()
        .args(["probe", "--beacons-file", "-"])
        .write_stdin(r#"{"count": 0, "locations": []}"#));
    assert_eq!(empty.code, BAD_INPUT, "{empty:?}");
    assert!(empty.stderr.contains("empty"), "{}", empty.stderr);

    let shape = run(bin()
        .args(["probe", "--beacons-file", "-"])
        .write_stdin(r#"{"servers": [{"ip": "127.0.0.1"}]}"#));
    assert_eq!(shape.code, BAD_INPUT, "{shape:?}");
    assert!(
        shape.stderr.contains(r#"{"locations": [...]}"#),
        "{}",
        shape.stderr
    );
    assert!(
        shape.stderr.contains(r#"{"beacons": [...]}"#),
        "{}",
        shape.stderr
    );

    let not_json = run(bin()
        .args(["probe", "--beacons-file", "-"])
        .write_stdin("Montreal 127.0.0.1"));
    assert_eq!(not_json.code, BAD_INPUT, "{not_json:?}");

    let missing = run(bin().args(["probe", "--beacons-file", "/nonexistent/beacons.json"]));
    assert_eq!(missing.code, FAILURE, "{missing:?}");
    assert!(
        missing.stderr.contains("/nonexistent/beacons.json"),
        "{}",
        missing.stderr
    );

    for bad in [
        "Montreal",
        "Montreal=127.0.0.1",
        "Montreal=::1:9000",
        "Oslo=127.0.0.1:9/sctp",
    ] {
        let out = run(bin().args(["probe", "--beacon", bad]));
        assert_eq!(out.code, USAGE, "{bad}: {out:?}");
        assert!(
            out.stderr.contains("CITY=HOST:PORT"),
            "{bad}: {}",
            out.stderr
        );
    }

    let nothing = run(bin().arg("probe"));
    assert_eq!(nothing.code, USAGE, "{nothing:?}");
    assert!(
        nothing.stderr.contains("--beacons-file"),
        "{}",
        nothing.stderr
    );

    let statistic = run(bin().args([
        "probe",
        "--beacon",
        "A=127.0.0.1:9",
        "--statistic",
        "average",
    ]));
    assert_eq!(statistic.code, USAGE, "{statistic:?}");

    for out in [&empty, &shape, &missing, &nothing] {
        assert!(!out.stderr.contains("panicked") && !out.stderr.contains("RUST_BACKTRACE"));
    }
}
