//! `servers list|get|reserve|confirm` end to end against a fake server browser (wiremock on
//! 127.0.0.1), and `servers list --probe` sorting the instances by the latency of their
//! location, measured on simulated beacons on 127.0.0.0/8.

mod common;

use common::*;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SB_TOKEN: &str = "sb-secret-3c7d1a90";
const MM_TOKEN: &str = "mm-secret-9b0e44d2";

/// Six instances over two cursor pages: in Far (metadata), Near (location object), Dead, no
/// location, Atlantis (no beacon there) and Mid (metadata, lower-case city).
async fn browser() -> MockServer {
    let server = MockServer::start().await;
    let first = json!({"server_instances": [
        {"request_id": "far-1", "status": "READY", "fqdn": "far-1.example",
         "metadata": {"city": "Far", "country": "Testland", "map": "dust"}},
        {"request_id": "near-1", "status": "READY", "public_ip": "203.0.113.5",
         "location": {"city": "Near", "country": "Testland"}, "metadata": {}},
        {"request_id": "dead-1", "status": "READY", "metadata": {"city": "Dead"}}
    ], "next_cursor": "c2"});
    let second = json!({"server_instances": [
        {"request_id": "nowhere-1", "status": "READY", "metadata": {"map": "dust"}},
        {"request_id": "atlantis-1", "status": "READY", "metadata": {"city": "Atlantis"}},
        {"request_id": "mid-1", "status": "READY",
         "metadata": {"city": "mid", "country": "Testland"}}
    ], "next_cursor": null});
    Mock::given(method("GET"))
        .and(path("/server-instances"))
        .and(query_param("cursor", "c2"))
        .and(header("Authorization", SB_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/server-instances"))
        .and(header("Authorization", SB_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/server-instances/near-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(
            {"request_id": "near-1", "status": "READY", "public_ip": "203.0.113.5",
             "location": {"city": "Near", "country": "Testland"},
             "metadata": {"mode": "ranked"}, "slots": 2}
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/server-instances/reservations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"request_id": "near-1", "reservation_id": "r-1", "expires_in": 30}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/server-instances/near-1/slots/team-a/reservations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"reservation_id": "r-2"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/server-instances/near-1/reservations/confirm"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

fn servers(server: &MockServer, args: &[&str]) -> Out {
    run(bin()
        .arg("servers")
        .args(args)
        .args(["--server-browser-url", &server.uri()])
        .env("EDGEGAP_SERVER_BROWSER_TOKEN", SB_TOKEN))
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["instance"]["request_id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_probe_sorts_the_instances_by_the_latency_of_their_location() {
    let sim = known().await;
    let server = browser().await;
    let file = file_with(&sim.beacon_list_v1());
    let file = file.path().to_str().unwrap().to_owned();
    let probe: Vec<&str> = ["list", "--probe", "--json", "--beacons-file", &file]
        .into_iter()
        .chain(FAST)
        .collect();
    let out = servers(&server, &probe);
    assert_eq!(out.code, OK, "{out:?}");
    assert!(!out.stdout.contains(SB_TOKEN) && !out.stderr.contains(SB_TOKEN));
    let listed = out.json();
    assert_eq!(
        ids(&listed["servers"]),
        [
            "near-1",
            "mid-1",
            "far-1",
            "dead-1",
            "atlantis-1",
            "nowhere-1"
        ]
    );
    let status: Vec<&str> = listed["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        [
            "measured",
            "measured",
            "measured",
            "unreachable",
            "no_beacon",
            "no_location"
        ]
    );
    let near = listed["servers"][0]["latency_ms"].as_f64().unwrap();
    let far = listed["servers"][2]["latency_ms"].as_f64().unwrap();
    assert!(near < 40.0 && far > 60.0, "{near} / {far}");
    assert!(listed["servers"][4]["latency_ms"].is_null());
    assert_eq!(listed["statistic"], "median");
    assert_eq!(listed["report"]["locations"].as_array().unwrap().len(), 3);

    // The table, best first, with the reasons.
    let table: Vec<&str> = ["list", "--probe", "--beacons-file", &file]
        .into_iter()
        .chain(FAST)
        .collect();
    let out = servers(&server, &table);
    assert_eq!(out.code, OK, "{out:?}");
    let near_at = out.stdout.find("near-1").unwrap();
    let far_at = out.stdout.find("far-1").unwrap();
    let dead_at = out.stdout.find("dead-1").unwrap();
    assert!(near_at < far_at && far_at < dead_at, "{}", out.stdout);
    for text in [
        "no beacon for this location",
        "location unknown",
        "unreachable (below)",
        "connection refused",
        "6 server instance(s), 3 measured",
    ] {
        assert!(out.stdout.contains(text), "{text}:\n{}", out.stdout);
    }
    // Both pages were read; the server browser got its raw token.
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .any(|r| r.url.query().is_some_and(|q| q.contains("cursor=c2")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_probe_takes_the_beacons_from_the_matchmaker() {
    let sim = known().await;
    let server = browser().await;
    let mm = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/locations/beacons"))
        .and(header("Authorization", MM_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(sim.beacon_list_matchmaker()))
        .mount(&mm)
        .await;
    let mm_url = mm.uri();
    let args: Vec<&str> = ["list", "--probe", "--json", "--matchmaker-url", &mm_url]
        .into_iter()
        .chain(FAST)
        .collect();
    let out = run(bin()
        .arg("servers")
        .args(&args)
        .args(["--server-browser-url", &server.uri()])
        .env("EDGEGAP_SERVER_BROWSER_TOKEN", SB_TOKEN)
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN));
    assert_eq!(out.code, OK, "{out:?}");
    assert_eq!(
        ids(&out.json()["servers"])[..3],
        ["near-1", "mid-1", "far-1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_get_reserve_and_confirm() {
    let server = browser().await;
    let out = servers(&server, &["list", "--json"]);
    assert_eq!(out.code, OK, "{out:?}");
    assert_eq!(out.json().as_array().unwrap().len(), 6, "both pages");
    let out = servers(&server, &["list", "--filter", "map=dust"]);
    assert_eq!(out.code, OK, "{out:?}");
    assert!(
        out.stdout.contains("6 server instance(s)"),
        "{}",
        out.stdout
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.iter().any(|r| r
            .url
            .query()
            .is_some_and(|q| q.contains("filter=map%3Ddust"))),
        "the filter is passed on"
    );

    let out = servers(&server, &["get", "near-1"]);
    assert_eq!(out.code, OK, "{out:?}");
    for text in [
        "near-1",
        "203.0.113.5",
        "Near",
        "metadata.mode",
        "ranked",
        "slots",
    ] {
        assert!(out.stdout.contains(text), "{text}:\n{}", out.stdout);
    }

    let out = servers(
        &server,
        &[
            "reserve", "--policy", "default", "--user", "alice", "--user", "bob",
        ],
    );
    assert_eq!(out.code, OK, "{out:?}");
    assert!(
        out.stdout
            .contains("Reserved seats for alice, bob on server instance near-1"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("reservation_id: r-1"), "{}", out.stdout);
    let requests = server.received_requests().await.unwrap();
    let reserve = requests
        .iter()
        .find(|r| r.url.path() == "/server-instances/reservations")
        .unwrap();
    let body: Value = serde_json::from_slice(&reserve.body).unwrap();
    assert_eq!(
        body,
        json!({"policy_name": "default", "users": [{"user_id": "alice"}, {"user_id": "bob"}]})
    );

    let out = servers(
        &server,
        &[
            "reserve", "near-1", "--slot", "team-a", "--user", "carol", "--json",
        ],
    );
    assert_eq!(out.code, OK, "{out:?}");
    assert_eq!(out.json()["reservation_id"], "r-2");
    let out = servers(&server, &["confirm", "near-1", "--user", "carol"]);
    assert_eq!(out.code, OK, "{out:?}");
    assert!(out.stdout.contains("Confirmed carol"), "{}", out.stdout);

    let nothing = servers(&server, &["reserve", "--user", "dave"]);
    assert_eq!(nothing.code, USAGE, "{nothing:?}");
    let no_url = run(bin().args(["servers", "list"]));
    assert_eq!(no_url.code, USAGE, "{no_url:?}");
    assert!(
        no_url.stderr.contains("--server-browser-url"),
        "{}",
        no_url.stderr
    );
    let no_token = run(bin().args(["servers", "list", "--server-browser-url", &server.uri()]));
    assert_eq!(no_token.code, USAGE, "{no_token:?}");
    assert!(
        no_token.stderr.contains("EDGEGAP_SERVER_BROWSER_TOKEN"),
        "{}",
        no_token.stderr
    );
}

/// `servers list --probe` on an 80-column terminal: columns are dropped by priority (the
/// instance, city, latency and its status stay), every line fits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probed_list_fits_an_80_column_terminal() {
    let sim = known().await;
    let server = browser().await;
    let file = file_with(&sim.beacon_list_v1());
    let bin = env!("CARGO_BIN_EXE_edgegap-probe");
    let command = format!(
        "stty cols 80; {bin} servers list --probe --beacons-file {} --count 3 --timeout-ms 500 \
         --server-browser-url {}",
        file.path().display(),
        server.uri()
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("EDGEGAP_SERVER_BROWSER_TOKEN", SB_TOKEN)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .output()
            .expect("`script` (util-linux) runs")
    })
    .await
    .unwrap();
    let raw = String::from_utf8_lossy(&out.stdout);
    // What stays on screen: after a progress bar's last line clear, without carriage returns.
    let lines: Vec<String> = raw
        .split('\n')
        .map(|l| {
            l.rsplit("\u{1b}[2K")
                .next()
                .unwrap_or_default()
                .replace('\r', "")
        })
        .collect();
    let screen = lines.join("\n");
    for kept in ["instance", "near-1", "Near", "median", "measured"] {
        assert!(screen.contains(kept), "{kept}:\n{screen}");
    }
    for line in &lines {
        assert!(line.chars().count() <= 80, "{line}\n\n{screen}");
    }
}
