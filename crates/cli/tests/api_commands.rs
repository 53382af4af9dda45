//! The Integration API from the command line, end to end against wiremock on 127.0.0.1 and
//! simulated beacons on 127.0.0.0/8: the capacity filter (`locations --app --version`,
//! `probe --deployable-for`), `storage` listings (pagination, `--fields`, JSON arrays, the
//! pull-profile table) and what `ticket` does with the API token.

mod common;

use common::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_TOKEN: &str = "api-secret-4d2e9b71";
const MM_TOKEN: &str = "mm-secret-0a8c55f3";

fn location(city: &str, country: &str) -> Value {
    json!({"city": city, "country": country, "continent": "Test", "administrative_division": "T",
           "timezone": "UTC", "latitude": 1.0, "longitude": 2.0})
}

/// The API answering GET /v1/locations?app=game&version=v1 with `cities` (of Testland) and
/// `messages`, and anything else under /v1/locations with every city.
async fn capacity_api(cities: &[&str], messages: Value) -> MockServer {
    let server = MockServer::start().await;
    let listed: Vec<Value> = cities.iter().map(|c| location(c, "Testland")).collect();
    Mock::given(method("GET"))
        .and(path("/v1/locations"))
        .and(query_param("app", "game"))
        .and(query_param("version", "v1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "locations": listed, "messages": messages, "total_count": cities.len(),
            "pagination": {"number": 1, "next_page_number": null, "previous_page_number": null,
                           "paginator": {"num_pages": 1}, "has_next": false, "has_previous": false}
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    let every: Vec<Value> = ["Near", "Mid", "Far", "Dead"]
        .iter()
        .map(|c| location(c, "Testland"))
        .collect();
    Mock::given(method("GET"))
        .and(path("/v1/locations"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"locations": every, "total_count": 4})),
        )
        .with_priority(5)
        .mount(&server)
        .await;
    server
}

fn no_secret(out: &Out) {
    for secret in [API_TOKEN, MM_TOKEN] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "token printed: {out:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_with_app_and_version_is_the_capacity_filter_and_prints_the_messages() {
    let server = capacity_api(
        &["Near", "Far"],
        json!(["Mid is at capacity", format!("echo {API_TOKEN}")]),
    )
    .await;
    let out = run(bin()
        .args(["locations", "--json", "--app", "game", "--version", "v1"])
        .args(["--api-url", &server.uri()])
        .env("EDGEGAP_API_TOKEN", API_TOKEN));
    assert_eq!(out.code, OK, "{out:?}");
    no_secret(&out);
    let listed = out.json();
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["city"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["Near", "Far"]);
    assert!(
        out.stderr.contains("Mid is at capacity"),
        "the API's messages go to stderr: {}",
        out.stderr
    );
    assert!(!out.stdout.contains("capacity"), "stdout stays JSON");
    let requests = server.received_requests().await.unwrap();
    let query: Vec<(String, String)> = requests[0].url.query_pairs().into_owned().collect();
    assert!(query.contains(&("app".into(), "game".into())), "{query:?}");
    assert!(
        query.contains(&("version".into(), "v1".into())),
        "{query:?}"
    );
    assert_eq!(
        requests[0].headers.get("authorization").unwrap(),
        format!("token {API_TOKEN}").as_str()
    );

    // The table says the same; a missing token or half of the pair is a usage error.
    let table = run(bin()
        .args(["locations", "--app", "game", "--version", "v1"])
        .args(["--api-url", &server.uri()])
        .env("EDGEGAP_API_TOKEN", API_TOKEN));
    assert_eq!(table.code, OK, "{table:?}");
    assert!(table.stdout.contains("2 location(s)"), "{}", table.stdout);
    let no_token = run(bin().args(["locations", "--app", "game", "--version", "v1"]));
    assert_eq!(no_token.code, USAGE, "{no_token:?}");
    assert!(
        no_token.stderr.contains("EDGEGAP_API_TOKEN"),
        "{}",
        no_token.stderr
    );
    let half = run(bin()
        .args(["locations", "--app", "game"])
        .env("EDGEGAP_API_TOKEN", API_TOKEN));
    assert_eq!(half.code, USAGE, "{half:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_deployable_for_ranks_only_locations_that_can_take_a_deployment_now() {
    let sim = known().await;
    let file = file_with(&sim.beacon_list_v1());
    let server = capacity_api(&["near", "Far"], json!(["Mid is at capacity"])).await;
    let probe = |format: &[&str]| {
        let mut cmd = bin();
        cmd.args(["probe", "--deployable-for", "game/v1", "--beacons-file"])
            .arg(file.path())
            .args(["--api-url", &server.uri()])
            .args(format)
            .args(FAST)
            .env("EDGEGAP_API_TOKEN", API_TOKEN);
        run(&mut cmd)
    };

    let out = probe(&["--json"]);
    assert_eq!(out.code, OK, "{out:?}");
    no_secret(&out);
    let report = out.json();
    let ranked: Vec<&str> = report["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["city"].as_str().unwrap())
        .collect();
    assert_eq!(ranked, ["Near", "Far"], "joined by city, whatever its case");
    assert_eq!(
        cities(&report["payload"]["beacons"]),
        ["Near", "Far"].iter().map(|c| (*c).to_owned()).collect()
    );
    assert!(
        report["unreachable"].as_array().unwrap().is_empty(),
        "Dead was never probed"
    );
    let filter = &report["deployable_for"];
    assert_eq!(filter["app"], "game");
    assert_eq!(filter["version"], "v1");
    let left_out: Vec<&str> = filter["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["city"].as_str().unwrap())
        .collect();
    assert_eq!(left_out, ["Mid", "Dead"]);
    assert!(out.stderr.contains("Mid is at capacity"), "{}", out.stderr);

    let table = probe(&[]);
    assert_eq!(table.code, OK, "{table:?}");
    assert!(
        table.stdout.contains("Deployable for game/v1"),
        "{}",
        table.stdout
    );
    assert!(
        table
            .stdout
            .contains("Left out, no capacity now: Mid (Testland), Dead (Nowhere)"),
        "{}",
        table.stdout
    );

    let csv = probe(&["--csv"]);
    assert_eq!(csv.code, OK, "{csv:?}");
    assert!(
        csv.stdout
            .lines()
            .any(|l| l.starts_with("not_deployable,,Mid,Testland,")),
        "{}",
        csv.stdout
    );

    let payload = probe(&["--payload"]);
    assert_eq!(payload.code, OK, "{payload:?}");
    assert_eq!(payload.json()["beacons"].as_object().unwrap().len(), 2);
    assert!(payload.stderr.contains("Left out"), "{}", payload.stderr);

    // Without the token: a usage error before anything is probed.
    let no_token = run(bin()
        .args(["probe", "--deployable-for", "game/v1", "--beacons-file"])
        .arg(file.path()));
    assert_eq!(no_token.code, USAGE, "{no_token:?}");
    assert!(
        no_token.stderr.contains("--deployable-for"),
        "{}",
        no_token.stderr
    );
    let malformed = run(bin().args(["probe", "--deployable-for", "game"]));
    assert_eq!(malformed.code, USAGE, "{malformed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_deployable_exits_3_with_a_hint() {
    let sim = known().await;
    let file = file_with(&sim.beacon_list_v1());
    let server = capacity_api(&[], json!([])).await;
    let out = run(bin()
        .args(["probe", "--deployable-for", "game/v1", "--beacons-file"])
        .arg(file.path())
        .args(["--api-url", &server.uri()])
        .env("EDGEGAP_API_TOKEN", API_TOKEN));
    assert_eq!(out.code, NO_LOCATION_REACHABLE, "{out:?}");
    assert!(
        out.stderr.contains("can take a deployment"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

fn endpoint(name: &str) -> Value {
    json!({"name": name, "access_key_id": "AKIA1", "endpoint": "https://s3.example",
           "bucket": format!("{name}-bucket"), "output_format": "NDJSON"})
}

async fn storage_api() -> MockServer {
    let server = MockServer::start().await;
    // 100 + 1 endpoint storages; `pagination` is `{}` on both pages (the spec leaves it open).
    let first: Vec<Value> = (0..100).map(|i| endpoint(&format!("ep{i:03}"))).collect();
    Mock::given(method("GET"))
        .and(path("/v1/storage/endpoints"))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"endpoints": first, "pagination": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/storage/endpoints"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"endpoints": [endpoint("last")], "pagination": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/storage/endpoint/logs/pull-profiles"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pull_profiles": [{"name": "maps", "source": "maps/", "source_type": "Folder",
                               "destination": "/srv/maps"}],
            "total_count": 1, "pagination": {"number": 1, "has_next": false}
        })))
        .mount(&server)
        .await;
    server
}

fn storage(server: &MockServer, args: &[&str]) -> Out {
    run(bin()
        .args(["storage", "--api-url", &server.uri()])
        .args(args)
        .env("EDGEGAP_API_TOKEN", API_TOKEN))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_pagination_object_does_not_stop_the_listing_after_page_one() {
    let server = storage_api().await;
    let out = storage(&server, &["endpoint", "list", "--json"]);
    assert_eq!(out.code, OK, "{out:?}");
    let all = out.json();
    let all = all.as_array().expect("a JSON array");
    assert_eq!(all.len(), 101, "both pages");
    assert_eq!(all[100]["name"], "last");
    let table = storage(&server, &["endpoint", "list"]);
    assert_eq!(table.code, OK, "{table:?}");
    assert!(table.stdout.contains("last-bucket"), "{}", table.stdout);
    assert!(table.stdout.contains("101 item(s)"), "{}", table.stdout);
    assert!(table.stdout.contains("NDJSON"), "{}", table.stdout);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_of_one_is_still_a_json_array_and_the_table_says_folder() {
    let server = storage_api().await;
    let out = storage(&server, &["pull-profile", "list", "logs", "--json"]);
    assert_eq!(out.code, OK, "{out:?}");
    let list = out.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["source_type"], "Folder");
    let table = storage(&server, &["pull-profile", "list", "logs"]);
    assert_eq!(table.code, OK, "{table:?}");
    assert!(table.stdout.contains("Folder"), "{}", table.stdout);
    assert!(!table.stdout.contains("Some("), "{}", table.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_sends_the_x_fields_mask_and_shows_only_those_columns() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/storage/endpoints"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "endpoints": [{"name": "logs", "bucket": "game-logs"}], "pagination": {}
        })))
        .mount(&server)
        .await;
    let out = storage(&server, &["endpoint", "list", "--fields", "name,bucket"]);
    assert_eq!(out.code, OK, "{out:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].headers.get("x-fields").unwrap(), "name,bucket");
    let header = out.stdout.lines().nth(1).unwrap_or_default().to_owned();
    assert!(
        header.contains("name") && header.contains("bucket"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("access key id"), "{}", out.stdout);
    assert!(out.stdout.contains("game-logs"), "{}", out.stdout);
    let json = storage(
        &server,
        &["endpoint", "list", "--fields", "{name}", "--json"],
    );
    assert_eq!(json.code, OK, "{json:?}");
    assert_eq!(
        json.json(),
        json!([{"name": "logs", "bucket": "game-logs"}])
    );
    let empty = storage(&server, &["endpoint", "list", "--fields", " "]);
    assert_eq!(empty.code, USAGE, "{empty:?}");
}

/// A matchmaker that lists `list` and accepts tickets (assigned at once).
async fn matchmaker(list: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/locations/beacons"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "t-1", "profile": "casual", "status": "SEARCHING"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tickets/t-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "t-1", "profile": "casual", "status": "HOST_ASSIGNED",
            "assignment": {"fqdn": "s.example", "public_ip": "203.0.113.9", "ports": {}}
        })))
        .mount(&server)
        .await;
    server
}

fn ticket_body(server_requests: &[wiremock::Request]) -> Value {
    let create = server_requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a ticket was created");
    serde_json::from_slice(&create.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_uses_the_api_token_only_when_asked_and_refuses_it_typed_for_nothing() {
    let sim = known().await;
    // The matchmaker lists only Near; the API lists all four.
    let near = sim.beacon_list_matchmaker()["beacons"][0].clone();
    let mm = matchmaker(json!({"count": 1, "beacons": [near]})).await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/locations/beacons"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sim.beacon_list_v1()))
        .mount(&api)
        .await;
    let ticket = |extra: &[&str]| {
        let mut cmd = bin();
        cmd.args(["ticket", "--profile", "casual", "--poll-interval-ms", "20"])
            .args(["--matchmaker-url", &mm.uri()])
            .args(extra)
            .args(FAST)
            .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN);
        cmd
    };

    // Typed on the command line without a use: refused before anything is sent.
    let refused = run(&mut ticket(&[
        "--api-token",
        API_TOKEN,
        "--api-url",
        &api.uri(),
    ]));
    assert_eq!(refused.code, USAGE, "{refused:?}");
    assert!(
        refused.stderr.contains("--beacons-from api"),
        "{}",
        refused.stderr
    );
    no_secret(&refused);
    assert!(mm.received_requests().await.unwrap().is_empty());

    // In the environment only: not used, not refused (the matchmaker's list is probed).
    let from_env = run(ticket(&[]).env("EDGEGAP_API_TOKEN", API_TOKEN));
    assert_eq!(from_env.code, OK, "{from_env:?}");
    let body = ticket_body(&mm.received_requests().await.unwrap());
    assert_eq!(
        cities(&body["attributes"]["beacons"]),
        ["Near".to_owned()].into()
    );
    assert!(api.received_requests().await.unwrap().is_empty());

    // --beacons-from api: the API's list is probed, and the ticket carries all of it.
    let mm2 =
        matchmaker(json!({"count": 1, "beacons": [sim.beacon_list_matchmaker()["beacons"][0]]}))
            .await;
    let out = run(bin()
        .args(["ticket", "--profile", "casual", "--poll-interval-ms", "20"])
        .args(["--matchmaker-url", &mm2.uri(), "--beacons-from", "api"])
        .args(["--api-token", API_TOKEN, "--api-url", &api.uri()])
        .args(FAST)
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN));
    assert_eq!(out.code, OK, "{out:?}");
    no_secret(&out);
    let requests = mm2.received_requests().await.unwrap();
    assert!(
        !requests
            .iter()
            .any(|r| r.url.path() == "/locations/beacons"),
        "the matchmaker's list was not asked for"
    );
    assert_eq!(
        cities(&ticket_body(&requests)["attributes"]["beacons"]),
        reachable()
    );
    let api_requests = api.received_requests().await.unwrap();
    assert_eq!(
        api_requests[0].headers.get("authorization").unwrap(),
        format!("token {API_TOKEN}").as_str()
    );

    // --beacons-from api without a token: a usage error naming it.
    let missing = run(&mut ticket(&["--beacons-from", "api"]));
    assert_eq!(missing.code, USAGE, "{missing:?}");
    assert!(
        missing.stderr.contains("EDGEGAP_API_TOKEN"),
        "{}",
        missing.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_deployable_for_sends_only_deployable_locations() {
    let sim = known().await;
    let mm = matchmaker(sim.beacon_list_matchmaker()).await;
    let api = capacity_api(&["Mid", "Far"], json!([])).await;
    let out = run(bin()
        .args(["ticket", "--profile", "casual", "--poll-interval-ms", "20"])
        .args(["--matchmaker-url", &mm.uri(), "--deployable-for", "game/v1"])
        .args(["--api-url", &api.uri(), "--api-token", API_TOKEN])
        .args(FAST)
        .env("EDGEGAP_MATCHMAKER_TOKEN", MM_TOKEN));
    assert_eq!(out.code, OK, "{out:?}");
    let body = ticket_body(&mm.received_requests().await.unwrap());
    assert_eq!(
        cities(&body["attributes"]["beacons"]),
        ["Mid".to_owned(), "Far".to_owned()].into()
    );
    assert!(out.stderr.contains("Left out"), "{}", out.stderr);
}
