//! The token never leaks through an error or a log line, wherever a server puts it: in every
//! field of every answer the clients parse (both beacon-list shapes, locations, endpoint
//! storages, pull profiles, tickets, groups, server instances, error bodies of every status), at
//! every offset around the cuts (160-character excerpts, 300-character parser complaints,
//! 500-character messages), as a key, or spliced raw into the body. A property test draws the
//! places; a sweep visits every field at the cut offsets. Servers: wiremock on 127.0.0.1.
#![cfg(feature = "http")]
#![allow(clippy::too_many_lines)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fast_config;
use edgegap_api::integration::{LocationQuery, PageQuery};
use edgegap_api::matchmaker::{GroupId, MemberId, TicketId, TicketRequest};
use edgegap_api::server_browser::{
    ReservationUser, SeatReservationRequest, ServerInstanceId, ServerInstanceQuery,
};
use edgegap_api::{
    ApiError, ApiToken, CancellationToken, HttpConfig, IntegrationClient, MatchmakerClient,
    MatchmakerToken, RetryPolicy, ServerBrowserClient, ServerBrowserToken, WaitOptions,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use tracing_subscriber::util::SubscriberInitExt;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

/// The token every client here uses; no window of it may show anywhere.
const TOKEN: &str = "ZQXJ-7f3a9b2c-Kq8wVv-Lp4Rr0-W9yQ";

/// The part of the token `text` shows, if any: any 6 characters of it, or its first or last 4.
fn leak(text: &str) -> Option<&'static str> {
    let windows = (0..=TOKEN.len() - 6).map(|i| &TOKEN[i..i + 6]);
    windows
        .chain([&TOKEN[..4], &TOKEN[TOKEN.len() - 4..]])
        .find(|w| text.contains(w))
}

fn assert_clean(text: &str, what: &str) {
    if let Some(w) = leak(text) {
        panic!("{what} shows {w:?} of the token: {text}");
    }
}

/// Display, alternate Display, Debug and every source of the error.
fn assert_error_clean(e: &ApiError, what: &str) {
    assert_clean(&e.to_string(), what);
    assert_clean(&format!("{e:#}"), what);
    assert_clean(&format!("{e:?}"), what);
    assert_clean(&format!("{e:#?}"), what);
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        assert_clean(&s.to_string(), what);
        assert_clean(&format!("{s:?}"), what);
        source = s.source();
    }
}

fn location(city: &str) -> Value {
    json!({"city": city, "country": "Canada", "continent": "North America",
           "administrative_division": "Quebec", "timezone": "America/Toronto",
           "latitude": 45.5, "longitude": -73.6})
}

fn pagination() -> Value {
    json!({"number": 1, "next_page_number": null, "previous_page_number": null,
           "paginator": {"num_pages": 1}, "has_next": false, "has_previous": false})
}

fn assignment() -> Value {
    json!({"fqdn": "s.example", "public_ip": "203.0.113.9",
           "ports": {"game": {"internal": 7777, "external": 31000, "link": "s.example:31000", "protocol": "UDP"}},
           "location": {"city": "Paris"}})
}

/// The client call a scenario makes.
#[derive(Debug, Clone, Copy)]
enum Op {
    V1Beacons,
    V1BeaconPage,
    Locations,
    EndpointList,
    EndpointGet,
    ProfileList,
    ProfileGet,
    ProfileLink,
    MmBeacons,
    TicketGet,
    TicketCreate,
    TicketWait,
    Monitor,
    GroupGet,
    MemberGet,
    InstancesList,
    InstanceGet,
    Reserve,
}

/// An answer to tamper with: the call, the status, the body.
struct Scenario {
    op: Op,
    status: u16,
    body: Value,
}

fn scenarios() -> Vec<Scenario> {
    let ok = |op, body| Scenario {
        op,
        status: 200,
        body,
    };
    let mut all = vec![
        ok(
            Op::V1Beacons,
            json!({"count": 1, "locations": [{"host": "192.0.2.4", "fqdn": "b.example",
                   "udp_port": 5000, "tcp_port": 5001, "location": location("Montreal")}]}),
        ),
        // Entries the beacon conversion refuses: the city / host is quoted in the error.
        ok(
            Op::V1Beacons,
            json!({"count": 1, "locations": [{"host": "", "location": location("Oslo")}]}),
        ),
        ok(
            Op::V1Beacons,
            json!({"count": 1, "locations": [{"host": "192.0.2.5", "location": location("")}]}),
        ),
        ok(
            Op::V1BeaconPage,
            json!({"count": 1, "locations": [{"host": "192.0.2.4", "udp_port": 5000,
                   "location": location("Montreal")}], "pagination": pagination()}),
        ),
        ok(
            Op::Locations,
            json!({"locations": [location("Paris")], "messages": ["low capacity"],
                   "total_count": 1, "pagination": pagination()}),
        ),
        ok(
            Op::EndpointList,
            json!({"endpoints": [{"name": "logs", "access_key_id": "AKIA1", "endpoint": "https://s3.example",
                   "bucket": "b", "output_format": "NDJSON", "create_time": "t", "last_updated": "t"}],
                   "total_count": 1, "pagination": pagination()}),
        ),
        ok(
            Op::EndpointGet,
            json!({"name": "logs", "access_key_id": "AKIA1", "endpoint": "https://s3.example",
                   "bucket": "b", "output_format": "TEXT"}),
        ),
        ok(
            Op::ProfileList,
            json!({"pull_profiles": [{"name": "p", "source": "maps/", "source_type": "Folder",
                   "destination": "/d"}], "total_count": 1, "pagination": pagination()}),
        ),
        ok(
            Op::ProfileGet,
            json!({"name": "p", "source": "maps/", "source_type": "File", "destination": "/d",
                   "create_time": "t", "last_updated": "t"}),
        ),
        ok(
            Op::ProfileLink,
            json!({"app": "a", "app_version": "v", "endpoint": "e", "pull_profile": "p",
                   "create_time": "t", "last_updated": "t"}),
        ),
        ok(
            Op::MmBeacons,
            json!({"count": 1, "beacons": [{"fqdn": "t.example", "public_ip": "192.0.2.8",
                   "udp_port": 5000, "tcp_port": 9001, "location": location("Tokyo")}]}),
        ),
        ok(
            Op::MmBeacons,
            json!({"count": 1, "beacons": [{"location": {"city": "Oslo"}}]}),
        ),
        ok(
            Op::TicketGet,
            json!({"id": "t-1", "profile": "casual", "created_at": "now", "status": "HOST_ASSIGNED",
                   "player_ip": "198.51.100.7", "group_id": "g", "team_id": "tm", "match_id": "m",
                   "assignment": assignment()}),
        ),
        ok(
            Op::TicketCreate,
            json!({"id": "t-1", "profile": "casual", "status": "SEARCHING"}),
        ),
        ok(Op::TicketWait, json!({"id": "t-1", "status": "CANCELLED"})),
        ok(Op::Monitor, json!({"status": "HEALTHY", "version": "1.2"})),
        ok(
            Op::GroupGet,
            json!({"id": "g", "profile": "p", "status": "SEARCHING",
                   "members": [{"id": "m", "group_id": "g", "is_ready": true, "status": "SEARCHING",
                                "player_ip": "198.51.100.7", "assignment": assignment()}]}),
        ),
        ok(
            Op::MemberGet,
            json!({"id": "m", "group_id": "g", "is_ready": false}),
        ),
        ok(
            Op::InstancesList,
            json!({"server_instances": [{"request_id": "r", "status": "READY", "fqdn": "r.example",
                   "public_ip": "203.0.113.2", "location": location("Lima"), "metadata": {"city": "Lima"}}],
                   "next_cursor": null}),
        ),
        ok(
            Op::InstanceGet,
            json!({"request_id": "r", "status": "READY", "metadata": {"map": "dust"}}),
        ),
        ok(
            Op::Reserve,
            json!({"request_id": "r", "reservations": [{"user_id": "u", "slot": "s"}]}),
        ),
    ];
    let statuses = [400, 401, 403, 404, 409, 418, 422, 429, 500, 503];
    let bodies = [
        json!({"message": "Invalid token"}),
        json!({"detail": "not here", "code": 7}),
        json!({"error": "boom", "message": 5}),
        json!("plain text error"),
    ];
    for (i, status) in statuses.into_iter().enumerate() {
        for (j, body) in bodies.iter().enumerate() {
            // Spread the error answers over the three services and over GET and POST.
            let op = [
                Op::V1BeaconPage,
                Op::TicketCreate,
                Op::InstanceGet,
                Op::EndpointGet,
            ][(i + j) % 4];
            all.push(Scenario {
                op,
                status,
                body: body.clone(),
            });
        }
    }
    all
}

/// Where in the answer the token goes.
#[derive(Debug, Clone)]
enum Place {
    /// The leaf at this JSON pointer becomes `a…a TOKEN b…b` (a string, whatever it was).
    Leaf {
        pointer: String,
        before: usize,
        after: usize,
    },
    /// The key at this pointer is renamed to hold the token.
    Key { pointer: String },
    /// The token is spliced into the serialised body at this byte offset (the body is sent
    /// as it then is, JSON or not).
    Raw { offset: usize },
    /// The body is `a…a TOKEN b…b`, not JSON at all.
    Text { before: usize, after: usize },
}

/// Every leaf (and every object member) of `value`, as JSON pointers.
fn pointers(value: &Value, at: &str, leaves: &mut Vec<String>, keys: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{k}");
                keys.push(p.clone());
                pointers(v, &p, leaves, keys);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, &format!("{at}/{i}"), leaves, keys);
            }
        }
        _ => leaves.push(at.to_owned()),
    }
}

fn with_token(before: usize, after: usize) -> String {
    format!("{}{TOKEN}{}", "a".repeat(before), "b".repeat(after))
}

/// The body the server sends.
fn tampered(body: &Value, place: &Place) -> String {
    match place {
        Place::Leaf {
            pointer,
            before,
            after,
        } => {
            let mut body = body.clone();
            let value = with_token(*before, *after);
            if pointer.is_empty() {
                body = Value::String(value);
            } else {
                *body.pointer_mut(pointer).expect("pointer from the body") = Value::String(value);
            }
            body.to_string()
        }
        Place::Key { pointer } => {
            let mut body = body.clone();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let map = if parent.is_empty() {
                body.as_object_mut()
            } else {
                body.pointer_mut(parent).and_then(Value::as_object_mut)
            }
            .expect("parent is an object");
            let value = map.remove(key).unwrap();
            map.insert(format!("{key}{TOKEN}"), value);
            body.to_string()
        }
        Place::Raw { offset } => {
            let mut text = body.to_string();
            let mut at = (*offset).min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, TOKEN);
            text
        }
        Place::Text { before, after } => with_token(*before, *after),
    }
}

fn config() -> HttpConfig {
    HttpConfig {
        retry: RetryPolicy {
            max_retries: 1,
            ..fast_config().retry
        },
        ..fast_config()
    }
}

struct Clients {
    v1: IntegrationClient,
    mm: MatchmakerClient,
    sb: ServerBrowserClient,
}

impl Clients {
    fn new(server: &MockServer) -> Self {
        Self {
            v1: IntegrationClient::builder(ApiToken::new(TOKEN))
                .base_url(server.uri())
                .http_config(config())
                .build()
                .unwrap(),
            mm: MatchmakerClient::builder(server.uri(), MatchmakerToken::new(TOKEN))
                .http_config(config())
                .build()
                .unwrap(),
            sb: ServerBrowserClient::builder(server.uri(), ServerBrowserToken::new(TOKEN))
                .http_config(config())
                .build()
                .unwrap(),
        }
    }

    async fn call(&self, op: Op) -> Result<(), ApiError> {
        let request = TicketRequest::new("casual", [("Paris", 12.0)]);
        match op {
            Op::V1Beacons => self.v1.beacons().await.map(drop),
            Op::V1BeaconPage => self.v1.list_beacons(PageQuery::new(1, 10)).await.map(drop),
            Op::Locations => self
                .v1
                .list_locations(&LocationQuery::default())
                .await
                .map(drop),
            Op::EndpointList => self
                .v1
                .list_endpoint_storages(PageQuery::default())
                .await
                .map(drop),
            Op::EndpointGet => self.v1.get_endpoint_storage("logs").await.map(drop),
            Op::ProfileList => self
                .v1
                .list_pull_profiles("logs", PageQuery::default())
                .await
                .map(drop),
            Op::ProfileGet => self.v1.get_pull_profile("logs", "p").await.map(drop),
            Op::ProfileLink => self
                .v1
                .link_pull_profile("logs", "p", "a", "v")
                .await
                .map(drop),
            Op::MmBeacons => self.mm.beacons().await.map(drop),
            Op::TicketGet => self.mm.get_ticket(&TicketId::from("t-1")).await.map(drop),
            Op::TicketCreate => self.mm.create_ticket(&request).await.map(drop),
            Op::TicketWait => {
                let options = WaitOptions {
                    poll_interval: Duration::from_millis(1),
                    jitter: Duration::ZERO,
                    max_consecutive_errors: 2,
                    timeout: Some(Duration::from_millis(50)),
                    delete_on_cancel: false,
                };
                self.mm
                    .wait_for_assignment(
                        &TicketId::from("t-1"),
                        &options,
                        &CancellationToken::new(),
                    )
                    .await
                    .map(drop)
            }
            Op::Monitor => self.mm.monitor().await.map(drop),
            Op::GroupGet => self.mm.get_group(&GroupId::from("g")).await.map(drop),
            Op::MemberGet => self
                .mm
                .get_member(&GroupId::from("g"), &MemberId::from("m"))
                .await
                .map(drop),
            Op::InstancesList => self
                .sb
                .list_server_instances(&ServerInstanceQuery::default())
                .await
                .map(drop),
            Op::InstanceGet => self
                .sb
                .get_server_instance(&ServerInstanceId::from("r"))
                .await
                .map(drop),
            Op::Reserve => self
                .sb
                .reserve_seats(&SeatReservationRequest {
                    policy_name: "casual".into(),
                    users: vec![ReservationUser::new("u")],
                })
                .await
                .map(drop),
        }
    }
}

/// Log lines written while a check runs (every target, every level).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

/// Runs checks on one thread with every log line captured.
struct Harness {
    rt: tokio::runtime::Runtime,
    server: MockServer,
    clients: Clients,
    logs: Logs,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Harness {
    fn new() -> Self {
        let logs = Logs::default();
        let writer = logs.clone();
        let guard = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .set_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(MockServer::start());
        let clients = Clients::new(&server);
        Self {
            rt,
            server,
            clients,
            logs,
            _guard: guard,
        }
    }

    /// Serves `body` with `status` for every request, makes the call, checks error and logs.
    fn check(&self, scenario: &Scenario, place: &Place) {
        let body = tampered(&scenario.body, place);
        let what = format!("{:?} {} {place:?}", scenario.op, scenario.status);
        self.rt.block_on(async {
            self.server.reset().await;
            Mock::given(matchers::any())
                .respond_with(
                    ResponseTemplate::new(scenario.status)
                        .set_body_raw(body.clone().into_bytes(), "application/json"),
                )
                .mount(&self.server)
                .await;
            let result = self.clients.call(scenario.op).await;
            if let Err(e) = &result {
                assert_error_clean(e, &what);
            }
        });
        let logs = self.logs.take();
        assert_clean(&logs, &format!("the logs of {what}"));
    }
}

/// The places a sweep visits for one scenario: every leaf with the token at the start, across
/// each cut, and alone; every key; the raw body at every 5th byte.
fn sweep_places(body: &Value) -> Vec<Place> {
    let (mut leaves, mut keys) = (Vec::new(), Vec::new());
    pointers(body, "", &mut leaves, &mut keys);
    let mut places = Vec::new();
    for pointer in &leaves {
        for before in [0, 150, 155, 159, 160, 295, 299, 490, 499, 640] {
            places.push(Place::Leaf {
                pointer: pointer.clone(),
                before,
                after: if before == 0 { 0 } else { 40 },
            });
        }
    }
    for pointer in keys {
        places.push(Place::Key { pointer });
    }
    let len = body.to_string().len();
    for offset in (0..=len).step_by(5) {
        places.push(Place::Raw { offset });
    }
    places
}

#[test]
fn the_token_never_leaks_from_any_field_at_the_cut_offsets() {
    let harness = Harness::new();
    let mut checked = 0;
    for scenario in scenarios() {
        for place in sweep_places(&scenario.body) {
            harness.check(&scenario, &place);
            checked += 1;
        }
    }
    eprintln!("{checked} tampered answers checked");
    assert!(checked > 1_000);
}

#[test]
fn the_token_never_leaks_wherever_it_is_put() {
    let harness = Harness::new();
    let all = scenarios();
    let strategy = (
        0..all.len(),
        0..3u8,
        any::<prop::sample::Index>(),
        0..800usize,
        0..80usize,
    );
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(s, kind, index, before, after)| {
            let scenario = &all[s];
            let (mut leaves, mut keys) = (Vec::new(), Vec::new());
            pointers(&scenario.body, "", &mut leaves, &mut keys);
            let place = match kind {
                0 => Place::Leaf {
                    pointer: index.get(&leaves).clone(),
                    before,
                    after,
                },
                1 if !keys.is_empty() => Place::Key {
                    pointer: index.get(&keys).clone(),
                },
                _ => Place::Raw {
                    offset: index.index(scenario.body.to_string().len() + 1),
                },
            };
            harness.check(scenario, &place);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_token_straddling_every_cut_leaves_no_prefix() {
    let harness = Harness::new();
    let text = |op, status| Scenario {
        op,
        status,
        body: Value::Null,
    };
    let message = Scenario {
        op: Op::EndpointGet,
        status: 500,
        body: json!({"message": ""}),
    };
    let port = Scenario {
        op: Op::V1BeaconPage,
        status: 200,
        body: json!({"count": 1, "locations": [{"host": "h", "udp_port": 1, "location": location("A")}]}),
    };
    // Every offset that puts the token across a cut (160 and 640 bytes for excerpts, 300 for
    // parser complaints, 500 for messages), and some clear of them.
    let offsets = (0..12)
        .chain(120..170)
        .chain(255..305)
        .chain(455..505)
        .chain(600..645);
    for before in offsets {
        for after in [0, 200] {
            // Text bodies: a 500's excerpt and a 200's JSON complaint, cut at 160 characters.
            for scenario in [text(Op::EndpointGet, 500), text(Op::EndpointGet, 200)] {
                harness.check(&scenario, &Place::Text { before, after });
            }
            // A message (cut at 500) and a parser complaint quoting a value (cut at 300).
            let leaf = |pointer: &str| Place::Leaf {
                pointer: pointer.into(),
                before,
                after,
            };
            harness.check(&message, &leaf("/message"));
            harness.check(&port, &leaf("/locations/0/udp_port"));
        }
    }
}

/// Captures every log line on this thread until dropped.
fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let guard = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();
    (logs, guard)
}

#[tokio::test]
async fn user_info_in_a_base_url_is_never_printed() {
    const PASSWORD: &str = "pa55w0rd-Xy9Q";
    let (logs, _guard) = capture_logs();
    let server = MockServer::start().await;
    Mock::given(matchers::path("/v1/storage/endpoint/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    Mock::given(matchers::any())
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": format!("user admin:{PASSWORD} is not allowed")})),
        )
        .mount(&server)
        .await;
    let with_user = |host: String| {
        IntegrationClient::builder(ApiToken::new(TOKEN))
            .base_url(format!("http://admin:{PASSWORD}@{host}/"))
            .http_config(HttpConfig {
                request_timeout: Duration::from_millis(300),
                ..config()
            })
            .build()
            .unwrap()
    };
    let client = with_user(server.address().to_string());
    let mut texts = vec![client.base_url(), format!("{client:?}")];
    assert_eq!(client.base_url(), format!("http://{}/", server.address()));

    let err = client.get_endpoint_storage("logs").await.unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains("admin:*** is not allowed"),
        "{err}"
    );
    texts.push(format!("{err} {err:?}"));

    let err = client.get_endpoint_storage("slow").await.unwrap_err();
    assert!(matches!(err, ApiError::Timeout { .. }), "{err:?}");
    texts.push(format!("{err} {err:?}"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = with_user(closed.to_string())
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    texts.push(format!("{err} {err:?}"));

    // Unparsable (port out of range): the error quotes the URL without its user info.
    let err = IntegrationClient::builder(ApiToken::new(TOKEN))
        .base_url(format!("https://admin:{PASSWORD}@api.example:99999/"))
        .build()
        .unwrap_err();
    assert!(matches!(err, ApiError::Config(_)), "{err:?}");
    texts.push(format!("{err} {err:?}"));

    texts.push(logs.take());
    for text in texts {
        assert!(
            !text.contains(PASSWORD) && !text.contains("pa55w0rd") && !text.contains("admin:pa"),
            "user info printed: {text}"
        );
        assert_clean(&text, "user-info test");
    }
}

#[tokio::test]
async fn a_percent_encoded_password_is_redacted_as_sent() {
    let server = MockServer::start().await;
    Mock::given(matchers::any())
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"message": "bad p@ss/w0rd-Xy9Q here"})),
        )
        .mount(&server)
        .await;
    let client = MatchmakerClient::builder(
        format!("http://u:p%40ss%2Fw0rd-Xy9Q@{}", server.address()),
        MatchmakerToken::new(TOKEN),
    )
    .http_config(config())
    .build()
    .unwrap();
    let err = client.monitor().await.unwrap_err();
    assert_eq!(err.message(), Some("bad *** here"), "{err}");
}

#[tokio::test]
async fn a_short_token_is_redacted_only_as_a_whole_word() {
    let server = MockServer::start().await;
    Mock::given(matchers::any())
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"message": "see https://mm.example/docs: token ex is wrong (ex)"}),
        ))
        .mount(&server)
        .await;
    let client = MatchmakerClient::builder(server.uri(), MatchmakerToken::new("ex"))
        .http_config(config())
        .build()
        .unwrap();
    let err = client.monitor().await.unwrap_err();
    assert_eq!(
        err.message(),
        Some("see https://mm.example/docs: token *** is wrong (***)"),
        "the host and words holding `ex` are not mangled: {err}"
    );
    assert_eq!(
        edgegap_api::redact::MIN_SUBSTRING_REDACTION_CHARS,
        8,
        "documented in the crate docs"
    );
}

#[tokio::test]
async fn ids_echoed_into_errors_and_paths_are_scrubbed() {
    let (logs, _guard) = capture_logs();
    let server = MockServer::start().await;
    Mock::given(matchers::any())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "x", "status": "CANCELLED"})),
        )
        .mount(&server)
        .await;
    let mm = MatchmakerClient::builder(server.uri(), MatchmakerToken::new(TOKEN))
        .http_config(config())
        .build()
        .unwrap();
    // A ticket id that holds the token (a server put it there): the wait's error shows `***`.
    let id = TicketId::new(format!("t-{TOKEN}"));
    let err = mm
        .wait_for_assignment(&id, &WaitOptions::default(), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::TicketCancelled { .. }), "{err:?}");
    assert_error_clean(&err, "ticket id");
    server.reset().await;
    Mock::given(matchers::any())
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let err = mm.get_ticket(&id).await.unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert_error_clean(&err, "ticket resource");
    assert_clean(&logs.take(), "ticket logs");
}
