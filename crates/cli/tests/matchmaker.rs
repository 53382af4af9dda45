//! `beacons`, `locations`, `ticket` and `storage` end to end against a fake matchmaker / API
//! (wiremock on loopback) and simulated beacons.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::*;
use edgegap_beacon_sim::Simulation;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MM_TOKEN: &str = "mm-secret-7f3a";
const API_TOKEN: &str = "api-secret-91bc";

async fn matchmaker_with(list: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/locations/beacons"))
        .and(header("Authorization", MM_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .with_priority(1)
        .mount(&server)
        .await;
    // Anything else (a wrong or prefixed token) is refused.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// The [`known`] beacons, and a matchmaker that lists them (keep the simulation alive).
async fn known_matchmaker() -> (Simulation, MockServer) {
    let sim = known().await;
    let server = matchmaker_with(sim.beacon_list_matchmaker()).await;
    (sim, server)
}

/// `ticket` for the `casual` profile of `server`, with [`FAST`] probe settings.
fn ticket_args(server: &MockServer) -> Vec<String> {
    [
        "ticket",
        "--matchmaker-url",
        &server.uri(),
        "--profile",
        "casual",
    ]
    .into_iter()
    .chain(FAST)
    .map(str::to_owned)
    .collect()
}

/// `storage` against the API at `server`, with the API token.
fn storage(server: &MockServer, args: &[&str]) -> Command {
    let mut cmd = bin();
    cmd.args(["storage", "--api-url", &server.uri()])
        .args(args)
        .env("EDGEGAP_API_TOKEN", API_TOKEN);
    cmd
}

/// Answers GET /tickets/t-1 with `ticket`.
fn poll_answer(ticket: Value) -> Mock {
    Mock::given(method("GET"))
        .and(path("/tickets/t-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ticket))
}

/// Answers `verb route` with `body` when the API token comes in its `token ...` scheme.
async fn mount_api(server: &MockServer, verb: &str, route: &str, body: Value) {
    Mock::given(method(verb))
        .and(path(route))
        .and(header(
            "Authorization",
            format!("token {API_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

fn assignment() -> Value {
    json!({
        "fqdn": "a1b2c3.pr.edgegap.net",
        "public_ip": "203.0.113.9",
        "ports": {"game": {"internal": 7777, "external": 31000, "link": "a1b2c3.pr.edgegap.net:31000", "protocol": "UDP"}},
        "location": {"city": "Near", "country": "Testland"}
    })
}

async fn mount_ticket(server: &MockServer, assigned_after: Option<u64>) {
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .and(header("Authorization", MM_TOKEN))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id": "t-1", "profile": "casual", "status": "SEARCHING", "created_at": "2025-01-01T00:00:00Z"}),
        ))
        .mount(server)
        .await;
    let searching = json!({"id": "t-1", "profile": "casual", "status": "SEARCHING"});
    match assigned_after {
        Some(polls) => {
            if polls > 0 {
                poll_answer(searching)
                    .up_to_n_times(polls)
                    .with_priority(1)
                    .mount(server)
                    .await;
            }
            poll_answer(json!({
                "id": "t-1", "profile": "casual", "status": "HOST_ASSIGNED",
                "match_id": "m-9", "assignment": assignment()
            }))
            .with_priority(2)
            .mount(server)
            .await;
        }
        None => {
            poll_answer(searching).with_priority(1).mount(server).await;
        }
    }
    Mock::given(method("DELETE"))
        .and(path("/tickets/t-1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
}

fn no_secret(out: &Out) {
    for secret in [MM_TOKEN, API_TOKEN] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "token printed: {out:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacons_json_uses_the_raw_matchmaker_token() {
    let (_sim, server) = known_matchmaker().await;
    let out = run(bin()
        .args(["beacons", "--json", "--matchmaker-url", &server.uri()])
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN));
    assert_eq!(out.code, OK, "{out:?}");
    no_secret(&out);
    let list = out.json();
    assert_eq!(list["count"], 4);
    let listed: Vec<&str> = list["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["location"]["city"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["Near", "Mid", "Far", "Dead"]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].headers.get("authorization").unwrap(), MM_TOKEN);

    // The printed list is a beacons file `probe` reads back.
    let again = run(bin()
        .args(["probe", "--payload", "--beacons-file", "-"])
        .args(FAST)
        .write_stdin(out.stdout.clone()));
    assert_eq!(again.code, OK, "{again:?}");
    assert_eq!(cities(&again.json()["beacons"]), reachable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_an_api_error_that_says_what_to_do() {
    let server = matchmaker_with(json!({"count": 0, "beacons": []})).await;
    for command in ["beacons", "probe"] {
        let out = run(bin().args([
            command,
            "--matchmaker-url",
            &server.uri(),
            "--matchmaker-token",
            API_TOKEN,
        ]));
        assert_eq!(out.code, API, "{command}: {out:?}");
        assert!(out.stderr.contains("refused the token"), "{}", out.stderr);
        assert!(
            out.stderr.contains("EDGEGAP_MATCHMAKER_TOKEN"),
            "{}",
            out.stderr
        );
        no_secret(&out);
    }
    let missing = run(bin().args(["beacons", "--matchmaker-url", &server.uri()]));
    assert_eq!(missing.code, USAGE, "{missing:?}");
    assert!(
        missing.stderr.contains("EDGEGAP_MATCHMAKER_TOKEN"),
        "{}",
        missing.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_list_from_the_matchmaker_is_unusable_input() {
    let server = matchmaker_with(json!({"count": 0, "beacons": []})).await;
    let out = run(bin()
        .args(["probe", "--matchmaker-url", &server.uri()])
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN));
    assert_eq!(out.code, BAD_INPUT, "{out:?}");
    assert!(out.stderr.contains("empty"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_goes_from_create_to_assignment() {
    let (_sim, server) = known_matchmaker().await;
    mount_ticket(&server, Some(2)).await;
    let out = run(bin()
        .args(ticket_args(&server))
        .args(["--player-ip", "198.51.100.7", "--poll-interval-ms", "20"])
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN));
    assert_eq!(out.code, OK, "{out:?}");
    no_secret(&out);
    assert!(
        out.stdout.contains("a1b2c3.pr.edgegap.net"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("31000"), "{}", out.stdout);
    assert!(out.stdout.contains("t-1"), "{}", out.stdout);

    let requests = server.received_requests().await.unwrap();
    let create = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a ticket was created");
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body["profile"], "casual");
    assert_eq!(body["player_ip"], "198.51.100.7");
    assert_eq!(
        cities(&body["attributes"]["beacons"]),
        reachable(),
        "{body}"
    );
    let polls = requests
        .iter()
        .filter(|r| r.method.as_str() == "GET" && r.url.path() == "/tickets/t-1");
    assert_eq!(polls.count(), 3, "two SEARCHING, then HOST_ASSIGNED");
    assert!(!requests.iter().any(|r| r.method.as_str() == "DELETE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_json_prints_the_assigned_ticket() {
    let (_sim, server) = known_matchmaker().await;
    mount_ticket(&server, Some(0)).await;
    let out = run(bin()
        .args(ticket_args(&server))
        .args([
            "--json",
            "--attribute",
            "beacons",
            "--poll-interval-ms",
            "20",
        ])
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN));
    assert_eq!(out.code, OK, "{out:?}");
    let ticket = out.json();
    assert_eq!(ticket["id"], "t-1");
    assert_eq!(ticket["status"], "HOST_ASSIGNED");
    assert_eq!(ticket["assignment"]["ports"]["game"]["external"], 31000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_deletes_the_ticket() {
    let (_sim, server) = known_matchmaker().await;
    mount_ticket(&server, None).await;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_edgegap-probe"))
        .args(ticket_args(&server))
        .args(["--poll-interval-ms", "20"])
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the ticket is being polled.
    let started = Instant::now();
    loop {
        let requests = server.received_requests().await.unwrap();
        if requests
            .iter()
            .any(|r| r.method.as_str() == "GET" && r.url.path() == "/tickets/t-1")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the ticket was never polled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(INTERRUPTED), "{stderr}");
    assert!(stderr.contains("ticket deleted"), "{stderr}");
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .any(|r| r.method.as_str() == "DELETE" && r.url.path() == "/tickets/t-1"),
        "the ticket was not deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_and_storage_use_the_api_token_scheme() {
    let server = MockServer::start().await;
    mount_api(
        &server,
        "GET",
        "/v1/locations",
        json!({
            "locations": [
                {"city": "Montreal", "country": "Canada", "continent": "North America",
                 "administrative_division": "Quebec", "timezone": "America/Toronto",
                 "latitude": 45.5, "longitude": -73.6},
                {"city": "Tokyo", "country": "Japan", "continent": "Asia",
                 "administrative_division": "Tokyo", "timezone": "Asia/Tokyo",
                 "latitude": 35.7, "longitude": 139.7}
            ]
        }),
    )
    .await;
    mount_api(
        &server,
        "GET",
        "/v1/storage/endpoints",
        json!({
            "endpoints": [{"name": "logs", "access_key_id": "AKIA1", "endpoint": "https://s3.example",
                           "bucket": "game-logs"}]
        }),
    )
    .await;
    mount_api(
        &server,
        "POST",
        "/v1/storage/endpoint/logs/pull-profile",
        json!({
            "name": "maps", "source": "maps/", "source_type": "Folder", "destination": "/srv/maps"
        }),
    )
    .await;

    let out = run(bin()
        .args(["locations", "--json", "--api-url", &server.uri()])
        .env("EDGEGAP_API_TOKEN", API_TOKEN));
    assert_eq!(out.code, OK, "{out:?}");
    let locations = out.json();
    let cities: Vec<&str> = locations
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["city"].as_str().unwrap())
        .collect();
    assert_eq!(cities, ["Montreal", "Tokyo"]);

    let out = run(&mut storage(&server, &["endpoint", "list"]));
    assert_eq!(out.code, OK, "{out:?}");
    assert!(out.stdout.contains("game-logs"), "{}", out.stdout);

    let out = run(&mut storage(
        &server,
        &[
            "pull-profile",
            "create",
            "logs",
            "--json",
            "--name",
            "maps",
            "--source",
            "maps/",
            "--source-type",
            "Folder",
            "--destination",
            "/srv/maps",
        ],
    ));
    assert_eq!(out.code, OK, "{out:?}");
    assert_eq!(out.json()["name"], "maps");
    let requests = server.received_requests().await.unwrap();
    let create = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(
        body,
        json!({"name": "maps", "source": "maps/", "source_type": "Folder", "destination": "/srv/maps"})
    );

    let missing = run(&mut storage(
        &server,
        &["pull-profile", "create", "logs", "--name", "x"],
    ));
    assert_eq!(missing.code, USAGE, "{missing:?}");
    assert!(missing.stderr.contains("source"), "{}", missing.stderr);
}

/// `ticket` with nothing reachable says why, location by location, before giving up (and
/// creates no ticket).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_lists_why_nothing_was_reachable() {
    let sim = known().await;
    let dead = &sim.beacon_list_matchmaker()["beacons"][3];
    assert_eq!(dead["location"]["city"], "Dead");
    let server = matchmaker_with(json!({"count": 1, "beacons": [dead]})).await;
    let out = run(bin()
        .args(ticket_args(&server))
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN));
    assert_eq!(out.code, NO_LOCATION_REACHABLE, "{out:?}");
    assert!(out.stderr.contains("Unreachable"), "{}", out.stderr);
    assert!(out.stderr.contains("Dead"), "{}", out.stderr);
    assert!(out.stderr.contains("connection refused"), "{}", out.stderr);
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.iter().all(|r| r.method.as_str() == "GET"),
        "no ticket created"
    );
}
