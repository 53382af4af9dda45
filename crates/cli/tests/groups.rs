//! `group create|join|ready|leave|status|delete` end to end against a fake matchmaker
//! (wiremock on 127.0.0.1) and simulated beacons on 127.0.0.0/8: each member is probed on its
//! own and sends its own latencies.

mod common;

use common::*;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MM_TOKEN: &str = "mm-secret-group-6e1f";

async fn groups_matchmaker(list: Value) -> MockServer {
    let server = MockServer::start().await;
    let answer = |verb: &str, route: &str, status: u16, body: Value| {
        Mock::given(method(verb))
            .and(path(route.to_owned()))
            .and(header("Authorization", MM_TOKEN))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
    };
    answer("GET", "/locations/beacons", 200, list)
        .mount(&server)
        .await;
    answer(
        "POST",
        "/groups",
        201,
        json!({"id": "g-1", "profile": "casual", "member_id": "m-1", "status": "SEARCHING"}),
    )
    .mount(&server)
    .await;
    answer(
        "POST",
        "/groups/g-1/members",
        201,
        json!({"id": "m-2", "group_id": "g-1", "is_ready": false}),
    )
    .mount(&server)
    .await;
    answer(
        "PATCH",
        "/groups/g-1/members/m-2",
        200,
        json!({"id": "m-2", "group_id": "g-1", "is_ready": true}),
    )
    .mount(&server)
    .await;
    answer(
        "GET",
        "/groups/g-1",
        200,
        json!({"id": "g-1", "profile": "casual", "status": "SEARCHING", "members": [
            {"id": "m-1", "is_ready": true, "status": "SEARCHING", "player_ip": "198.51.100.1"},
            {"id": "m-2", "is_ready": false, "status": "SEARCHING"}
        ]}),
    )
    .mount(&server)
    .await;
    Mock::given(method("DELETE"))
        .and(path("/groups/g-1/members/m-2"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/groups/g-1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

fn group(server: &MockServer, args: &[&str]) -> Out {
    run(bin()
        .arg("group")
        .args(args)
        .args(["--matchmaker-url", &server.uri()])
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN))
}

fn body_of(requests: &[Request], verb: &str, route: &str) -> Value {
    let request = requests
        .iter()
        .find(|r| r.method.as_str() == verb && r.url.path() == route)
        .unwrap_or_else(|| panic!("no {verb} {route}"));
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_forms_each_member_with_its_own_latencies() {
    let sim = known().await;
    let server = groups_matchmaker(sim.beacon_list_matchmaker()).await;

    // The owner probes the matchmaker's list.
    let create: Vec<&str> = [
        "create",
        "--profile",
        "casual",
        "--player-ip",
        "198.51.100.1",
    ]
    .into_iter()
    .chain(FAST)
    .collect();
    let out = group(&server, &create);
    assert_eq!(out.code, OK, "{out:?}");
    assert!(out.stdout.contains("Group g-1 created"), "{}", out.stdout);
    assert!(out.stdout.contains("Your member id: m-1"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("edgegap-probe group join g-1 --profile casual"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(MM_TOKEN) && !out.stderr.contains(MM_TOKEN));
    let requests = server.received_requests().await.unwrap();
    let owner = body_of(&requests, "POST", "/groups");
    assert_eq!(owner["profile"], "casual");
    assert_eq!(owner["player_ip"], "198.51.100.1");
    assert_eq!(cities(&owner["attributes"]["beacons"]), reachable());

    // A friend elsewhere: only Mid and Far are in its list (its own beacons, its own probe).
    let list = sim.beacon_list_v1();
    let friend_list =
        json!({"count": 2, "locations": [list["locations"][1], list["locations"][2]]});
    let file = file_with(&friend_list);
    let join: Vec<&str> = ["join", "g-1", "--profile", "casual", "--beacons-file"]
        .into_iter()
        .chain([file.path().to_str().unwrap()])
        .chain(FAST)
        .collect();
    let out = group(&server, &join);
    assert_eq!(out.code, OK, "{out:?}");
    assert!(out.stdout.contains("as member m-2"), "{}", out.stdout);
    assert!(
        out.stdout.contains("edgegap-probe group ready g-1 m-2"),
        "{}",
        out.stdout
    );
    let requests = server.received_requests().await.unwrap();
    let member = body_of(&requests, "POST", "/groups/g-1/members");
    assert_eq!(
        cities(&member["attributes"]["beacons"]),
        ["Mid".to_owned(), "Far".to_owned()].into(),
        "the member's own latencies: {member}"
    );

    let out = group(&server, &["ready", "g-1", "m-2"]);
    assert_eq!(out.code, OK, "{out:?}");
    assert!(
        out.stdout.contains("Member m-2 of group g-1 is ready"),
        "{}",
        out.stdout
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        body_of(&requests, "PATCH", "/groups/g-1/members/m-2"),
        json!({"is_ready": true})
    );

    let out = group(&server, &["status", "g-1"]);
    assert_eq!(out.code, OK, "{out:?}");
    for text in [
        "Group g-1",
        "SEARCHING",
        "m-1",
        "m-2",
        "1 of 2 member(s) ready",
    ] {
        assert!(out.stdout.contains(text), "{text}:\n{}", out.stdout);
    }
    let out = group(&server, &["status", "g-1", "--json"]);
    assert_eq!(out.code, OK, "{out:?}");
    assert_eq!(out.json()["members"].as_array().unwrap().len(), 2);

    let out = group(&server, &["leave", "g-1", "m-2"]);
    assert_eq!(out.code, OK, "{out:?}");
    assert!(
        out.stdout.contains("Member m-2 left group g-1"),
        "{}",
        out.stdout
    );
    let out = group(&server, &["delete", "g-1"]);
    assert_eq!(out.code, OK, "{out:?}");
    let requests = server.received_requests().await.unwrap();
    for route in ["/groups/g-1/members/m-2", "/groups/g-1"] {
        assert!(
            requests
                .iter()
                .any(|r| r.method.as_str() == "DELETE" && r.url.path() == route),
            "DELETE {route}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_with_nothing_reachable_sends_nothing_and_a_typed_api_token_is_refused() {
    let sim = known().await;
    let dead = &sim.beacon_list_matchmaker()["beacons"][3];
    let server = groups_matchmaker(json!({"count": 1, "beacons": [dead]})).await;
    let join: Vec<&str> = ["join", "g-1", "--profile", "casual"]
        .into_iter()
        .chain(FAST)
        .collect();
    let out = group(&server, &join);
    assert_eq!(out.code, NO_LOCATION_REACHABLE, "{out:?}");
    assert!(out.stderr.contains("Dead"), "{}", out.stderr);
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));

    let out = group(
        &server,
        &[
            "create",
            "--profile",
            "casual",
            "--api-token",
            "tok-12345678",
        ],
    );
    assert_eq!(out.code, USAGE, "{out:?}");
    assert!(out.stderr.contains("group create"), "{}", out.stderr);
    let missing = run(bin().args(["group", "status", "g-1"]));
    assert_eq!(missing.code, USAGE, "{missing:?}");
}
