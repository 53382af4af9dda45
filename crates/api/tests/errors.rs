//! Error mapping, retries, body limits, timeouts and token redaction. Every server here is on
//! 127.0.0.1: wiremock, or a tiny raw TCP server for what wiremock cannot do (stream 50 MB,
//! never answer).
#![cfg(feature = "http")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{
    API_TOKEN, MM_TOKEN, answering, assert_error_clean, assert_no_token, fast_config,
    integration_client, matchmaker_client, mount, received, reply,
};
use edgegap_api::integration::{EndpointStorageCreate, PageQuery};
use edgegap_api::matchmaker::{TicketId, TicketRequest};
use edgegap_api::{ApiError, ApiToken, HttpConfig, IntegrationClient, RetryPolicy, Service};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answer_get(status: u16, body: serde_json::Value) -> MockServer {
    answering("GET", ResponseTemplate::new(status).set_body_json(body)).await
}

#[tokio::test]
async fn http_400_is_bad_request_with_the_api_message() {
    let server = answer_get(400, json!({"message": "limit must be >= 1"})).await;
    let err = integration_client(&server)
        .list_beacons(PageQuery::new(1, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ApiError::BadRequest {
                status: 400,
                service: Service::Integration,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.message(), Some("limit must be >= 1"));
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("list beacons"), "{err}");
    assert_eq!(received(&server).await.len(), 1, "4xx is not retried");
    assert_error_clean(&err);
}

#[tokio::test]
async fn http_401_says_the_token_was_refused() {
    let server = answer_get(401, json!({"message": "Invalid token"})).await;
    let err = integration_client(&server)
        .get_endpoint_storage("x")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Unauthorized {
                service: Service::Integration,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("refused the token (HTTP 401)") && text.contains("Invalid token"),
        "{text}"
    );
    assert_error_clean(&err);

    let server = answer_get(401, json!({"message": "Unauthorized"})).await;
    let err = matchmaker_client(&server)
        .get_ticket(&TicketId::from("t"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("the matchmaker refused the token"), "{text}");
    assert!(
        text.contains("without a `token `/`Bearer ` prefix"),
        "{text}"
    );
    assert_error_clean(&err);
}

#[tokio::test]
async fn http_404_names_the_resource() {
    let server = answer_get(404, json!({"message": "Not found"})).await;
    let err = integration_client(&server)
        .get_pull_profile("game-logs", "maps")
        .await
        .unwrap_err();
    match &err {
        ApiError::NotFound {
            resource, message, ..
        } => {
            assert!(
                resource.contains("\"maps\"") && resource.contains("\"game-logs\""),
                "{resource}"
            );
            assert_eq!(message, "Not found");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(err.to_string().contains("pull profile \"maps\""), "{err}");
    assert_error_clean(&err);
}

#[tokio::test]
async fn http_409_is_a_conflict() {
    let server = answering(
        "DELETE",
        reply(409, json!({"message": "Match already found"})),
    )
    .await;
    let err = matchmaker_client(&server)
        .delete_ticket(&TicketId::from("t-9"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Conflict { resource, .. } if resource.contains("t-9")),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(409));
    assert_eq!(received(&server).await.len(), 1, "409 is not retried");
    assert_error_clean(&err);
}

#[tokio::test]
async fn http_429_is_retried_then_reported_with_the_count() {
    let server = answer_get(429, json!({"message": "Too many requests"})).await;
    let err = integration_client(&server)
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::RateLimited { attempts: 4, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("after 4 attempt(s) (3 retried)"),
        "{err}"
    );
    assert_eq!(
        received(&server).await.len(),
        4,
        "1 attempt + max_retries 3"
    );
    assert_error_clean(&err);
}

#[tokio::test]
async fn http_500_is_retried_then_reported_with_the_count() {
    let server = answer_get(500, json!({"message": "Internal error"})).await;
    let err = integration_client(&server)
        .get_endpoint_storage("x")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("(HTTP 500) after 4 attempt(s) (3 retried)"),
        "{err}"
    );
    assert_eq!(received(&server).await.len(), 4);
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_post_is_not_retried() {
    let server = answering("POST", ResponseTemplate::new(503)).await;
    let err = matchmaker_client(&server)
        .create_ticket(&TicketRequest::new("p", [("Oslo", 3.0)]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 503,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        received(&server).await.len(),
        1,
        "a retried POST could create two tickets"
    );
}

#[tokio::test]
async fn a_retry_that_succeeds_returns_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(reply(200, json!({"count": 0, "locations": []})))
        .with_priority(2)
        .mount(&server)
        .await;
    let list = integration_client(&server)
        .list_beacons(PageQuery::default())
        .await
        .unwrap();
    assert_eq!(list.count, 0);
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_its_cap() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(reply(200, json!({"count": 0, "locations": []})))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut config = fast_config();
    config.retry.max_retry_after = Duration::from_millis(150);
    let client = IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .base_url(server.uri())
        .http_config(config)
        .build()
        .unwrap();
    let started = Instant::now();
    client.list_beacons(PageQuery::default()).await.unwrap();
    let waited = started.elapsed();
    // The backoff alone is at most 4 ms; waiting at least the capped Retry-After proves it was
    // read. (Only a lower bound: a loaded machine can only make this slower.)
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
}

#[tokio::test]
async fn malformed_json_names_the_operation_and_quotes_the_body() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/tickets/t-1",
        ResponseTemplate::new(200).set_body_string(format!("<html>oops {MM_TOKEN}</html>")),
    )
    .await;
    let err = matchmaker_client(&server)
        .get_ticket(&TicketId::from("t-1"))
        .await
        .unwrap_err();
    match &err {
        ApiError::Json {
            operation, excerpt, ..
        } => {
            assert_eq!(*operation, "get ticket");
            assert!(excerpt.starts_with("<html>oops"), "{excerpt}");
        }
        other => panic!("expected Json, got {other:?}"),
    }
    assert!(
        err.to_string().contains("malformed JSON for get ticket"),
        "{err}"
    );
    assert_error_clean(&err);

    // Valid JSON of the wrong shape is an error for the operation too: a missing or
    // mistyped array is named ...
    let server = answer_get(200, json!({"count": "many", "locations": 3})).await;
    let err = integration_client(&server)
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ApiError::Schema {
                operation: "list beacons",
                field,
                problem: "is not an array",
                ..
            } if field == "locations"
        ),
        "{err:?}"
    );
    // ... and a value of the wrong type is the JSON parser's complaint.
    let server = answer_get(
        200,
        json!({"count": 1, "locations": [{"host": "h", "udp_port": "x",
        "location": {"city": "A", "country": "B", "continent": "C", "administrative_division": "D",
                     "timezone": "E", "latitude": 1.0, "longitude": 2.0}}]}),
    )
    .await;
    let err = integration_client(&server)
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Json {
                operation: "list beacons",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_token_echoed_by_the_server_is_scrubbed() {
    let server = answer_get(
        401,
        json!({"message": format!("token {API_TOKEN} is not valid")}),
    )
    .await;
    let err = integration_client(&server)
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("token *** is not valid"), "{err}");
    assert_error_clean(&err);
}

/// A one-connection HTTP server on 127.0.0.1 that answers `head` and then streams up to
/// `total` bytes of body in 64 KiB writes, counting what the client accepted.
struct RawServer {
    addr: SocketAddr,
    written: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

async fn read_request_head(sock: &mut tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

async fn streaming_server(head: &'static str, total: u64) -> RawServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    let task = tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        if !read_request_head(&mut sock).await || sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b' '; 64 * 1024];
        while counter.load(Ordering::SeqCst) < total {
            if sock.write_all(&chunk).await.is_err() {
                break;
            }
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
    });
    RawServer {
        addr,
        written,
        task,
    }
}

const FIFTY_MB: u64 = 50 * 1024 * 1024;

async fn assert_refused_early(server: RawServer, declared: Option<u64>) {
    let client = IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .base_url(format!("http://{}", server.addr))
        .http_config(HttpConfig {
            retry: RetryPolicy::none(),
            ..HttpConfig::default()
        })
        .build()
        .unwrap();
    let err = client.list_beacons(PageQuery::default()).await.unwrap_err();
    let limit = edgegap_api::transport::DEFAULT_MAX_BODY_BYTES as u64;
    match &err {
        ApiError::BodyTooLarge {
            limit: l,
            declared: d,
            received,
            ..
        } => {
            assert_eq!(*l, limit);
            assert_eq!(*d, declared);
            if declared.is_some() {
                assert_eq!(*received, 0, "refused on Content-Length before reading");
            } else {
                assert!(
                    *received > limit && *received <= limit + 4 * 1024 * 1024,
                    "{received}"
                );
            }
        }
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
    assert_error_clean(&err);
    // The client dropped the connection: the server's writes fail and it stops, long before
    // 50 MB (kernel socket buffers hold a few MB; the bound leaves room for them).
    tokio::time::timeout(Duration::from_secs(20), server.task)
        .await
        .expect("the server stopped: the client closed the connection")
        .unwrap();
    let written = server.written.load(Ordering::SeqCst);
    eprintln!("server wrote {written} body bytes before the client hung up");
    assert!(
        written < FIFTY_MB / 2,
        "the server could write {written} bytes"
    );
}

#[tokio::test]
async fn a_50_mb_body_without_length_is_refused_without_being_read_whole() {
    let server = streaming_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
        FIFTY_MB,
    )
    .await;
    assert_refused_early(server, None).await;
}

#[tokio::test]
async fn a_50_mb_content_length_is_refused_before_reading() {
    let server = streaming_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 52428800\r\n\r\n",
        FIFTY_MB,
    )
    .await;
    assert_refused_early(server, Some(FIFTY_MB)).await;
}

#[tokio::test]
async fn a_silent_server_times_out_naming_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        read_request_head(&mut sock).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let client = IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .base_url(format!("http://{addr}"))
        .http_config(HttpConfig {
            request_timeout: Duration::from_millis(300),
            ..fast_config()
        })
        .build()
        .unwrap();
    let err = client.get_endpoint_storage("logs").await.unwrap_err();
    match &err {
        ApiError::Timeout {
            url,
            timeout,
            operation,
            ..
        } => {
            assert_eq!(url, &format!("http://{addr}/v1/storage/endpoint/logs"));
            assert_eq!(*timeout, Duration::from_millis(300));
            assert_eq!(*operation, "get endpoint storage");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_error_clean(&err);
    silent.abort();
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_names_the_url() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let client = IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .base_url(format!("http://{addr}"))
        .http_config(fast_config())
        .build()
        .unwrap();
    let err = client.list_beacons(PageQuery::new(1, 5)).await.unwrap_err();
    match &err {
        ApiError::Transport {
            url,
            attempts,
            connect,
            ..
        } => {
            assert_eq!(
                url,
                &format!("http://{addr}/v1/locations/beacons?page=1&limit=5")
            );
            assert_eq!(*attempts, 4);
            assert!(*connect);
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    assert_error_clean(&err);
}

#[tokio::test]
async fn clients_and_bodies_never_print_a_token_or_secret() {
    let server = MockServer::start().await;
    let v1 = integration_client(&server);
    let mm = matchmaker_client(&server);
    let sb = common::server_browser_client(&server);
    for text in [
        format!("{v1:?}"),
        format!("{mm:?}"),
        format!("{sb:?}"),
        format!("{v1:#?}"),
    ] {
        assert_no_token(&text);
        assert!(text.contains("***"), "{text}");
    }
    let body = EndpointStorageCreate {
        name: "n".into(),
        access_key_id: "a".into(),
        endpoint: "e".into(),
        bucket: "b".into(),
        output_format: None,
        secret_access_key: edgegap_api::SecretString::new(API_TOKEN),
    };
    assert_no_token(&format!("{body:?}"));
}

#[tokio::test]
async fn bad_configuration_is_refused_up_front() {
    let err = IntegrationClient::new(ApiToken::new("  ")).unwrap_err();
    assert!(matches!(err, ApiError::Config(_)), "{err}");
    let err = IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .base_url("ftp://127.0.0.1/")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("http:// or https://"), "{err}");
    let err = edgegap_api::MatchmakerClient::new(
        "not a url",
        edgegap_api::MatchmakerToken::new(MM_TOKEN),
    )
    .unwrap_err();
    assert!(matches!(err, ApiError::Config(_)), "{err}");
    assert_error_clean(&err);
}

#[tokio::test]
async fn a_callers_reqwest_client_is_used() {
    let server = answer_get(200, json!({"count": 0, "locations": []})).await;
    let http = reqwest::Client::builder()
        .user_agent("my-game-backend/1.0")
        .build()
        .unwrap();
    let client = IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .base_url(server.uri())
        .reqwest_client(http)
        .build()
        .unwrap();
    client.list_beacons(PageQuery::default()).await.unwrap();
    client.list_beacons(PageQuery::default()).await.unwrap();
    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 2);
    for r in reqs {
        assert_eq!(
            r.headers.get("user-agent").unwrap().to_str().unwrap(),
            "my-game-backend/1.0"
        );
    }
}
