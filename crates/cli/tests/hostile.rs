//! Hostile servers and files against the command line: nothing they send reaches the terminal
//! raw, and no token or URL password ever appears in its output or logs.

mod common;

use common::{FAST, bin, run};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "mm-token-4b1d9e77c0";

/// A matchmaker that answers every request with `status` and `body`.
async fn server_answering(status: u16, body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/locations/beacons"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

fn beacon(city: &str, udp_port: &Value) -> Value {
    json!({"public_ip": "127.0.0.1", "fqdn": null, "udp_port": udp_port, "tcp_port": null,
           "location": {"city": city, "country": "X"}})
}

/// Every kind of answer a matchmaker could echo the token in.
fn answers() -> Vec<(u16, Value)> {
    vec![
        (
            200,
            json!({"count": 1, "beacons": [beacon(TOKEN, &json!(9))]}),
        ),
        (
            200,
            json!({"count": 1, "beacons": [beacon("C", &json!(TOKEN))]}),
        ),
        (
            200,
            json!({"count": 1, "beacons": [beacon(&format!("x{TOKEN}y"), &json!(-1))]}),
        ),
        (200, json!({"data": [TOKEN]})),
        (401, json!({"message": format!("bad token {TOKEN}")})),
        (500, json!({"error": TOKEN, "detail": [TOKEN, TOKEN]})),
        (429, json!({"message": TOKEN})),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_echoed_by_the_server_never_reaches_the_output() {
    for (status, body) in answers() {
        let server = server_answering(status, body.clone()).await;
        // The URL carries a password too: it must never be printed either.
        let url = server
            .uri()
            .replace("http://", "http://user:url-password-77@");
        for command in [
            vec!["beacons", "-vv", "--matchmaker-url", &url],
            vec!["probe", "-vv", "--json", "--matchmaker-url", &url],
        ] {
            let out = run(bin()
                .args(&command)
                .args(if command[0] == "probe" {
                    &FAST[..]
                } else {
                    &[]
                })
                .env("EDGEGAP_MATCHMAKER_TOKEN", TOKEN));
            for text in [&out.stdout, &out.stderr] {
                assert!(
                    !text.contains(TOKEN) && !text.contains(&TOKEN[..12]),
                    "{status} {body}: the token leaked in {command:?}:\n{text}"
                );
                assert!(
                    !text.contains("url-password-77"),
                    "{status} {body}: the URL's password leaked in {command:?}:\n{text}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_from_a_beacon_list_are_escaped() {
    let evil = "Evil\u{1b}[2J\u{7}\u{0}City";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("beacons.json");
    // Port 9 on loopback: nothing listens, so the city lands in the unreachable table.
    let list = json!({"count": 1, "locations": [{"host": "127.0.0.1", "udp_port": 9,
        "location": {"city": evil, "country": "Nowhere\u{1b}]0;title\u{7}"}}]});
    std::fs::write(&file, list.to_string()).unwrap();
    let out = run(bin()
        .args(["probe", "--beacons-file"])
        .arg(&file)
        .args(FAST));
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{0}') && !text.contains('\u{7}'),
            "a raw control character reached the terminal:\n{text:?}"
        );
    }
    assert!(out.stdout.contains("Evil\\u{1b}[2J"), "{}", out.stdout);

    // The same in an error message (an unusable entry names its city).
    let bad = json!({"count": 1, "locations": [{"host": "", "udp_port": 9,
        "location": {"city": evil, "country": "X"}}]});
    std::fs::write(&file, bad.to_string()).unwrap();
    let out = run(bin()
        .args(["probe", "--beacons-file"])
        .arg(&file)
        .args(FAST));
    assert_ne!(out.code, 0, "{out:?}");
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{0}'),
            "raw control character in an error:\n{text:?}"
        );
    }
}

/// A 200 of the wrong shape is an API error (exit 4) naming what is missing, never an empty
/// table with success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_shaped_answer_is_an_api_error_naming_the_field() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [1, 2, 3]})))
        .mount(&server)
        .await;
    for command in [
        vec!["locations", "--api-url", &server.uri()],
        vec!["beacons", "--api-url", &server.uri()],
        vec!["storage", "--api-url", &server.uri(), "endpoint", "list"],
    ] {
        let out = run(bin().args(&command).env("EDGEGAP_API_TOKEN", TOKEN));
        assert_eq!(out.code, common::API, "{command:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{command:?}: {out:?}");
        assert!(
            out.stderr.contains("wrong shape") && out.stderr.contains("is missing"),
            "{command:?}: the error names the missing field: {}",
            out.stderr
        );
    }
}

/// A cache that cannot be written (a read-only profile folder, a missing directory) costs a
/// warning, never the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_cache_keeps_the_result() {
    let sim = common::known().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("beacons.json");
    std::fs::write(&file, sim.beacon_list_v1().to_string()).unwrap();
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "x").unwrap();
    for cache in [
        blocker.join("cache.json"),
        dir.path().join("missing/cache.json"),
    ] {
        let out = run(bin()
            .args(["probe", "--payload", "--beacons-file"])
            .arg(&file)
            .arg("--cache")
            .arg(&cache)
            .args(FAST));
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            out.stdout.contains("Near"),
            "the result is printed: {out:?}"
        );
        assert!(
            out.stderr.contains("not saved"),
            "a warning says so: {out:?}"
        );
        assert!(!cache.exists());
    }
    assert!(
        !dir.path().join("missing").exists(),
        "never created silently"
    );
}
