//! A broken server cannot hold a call for long: each request (body included) is bounded by
//! `request_timeout`, the whole call with its retries by `call_timeout`, and a `Retry-After`
//! by `max_retry_after`. Servers: wiremock (delays via `set_delay`) and a small raw TCP server
//! that trickles a body, all on 127.0.0.1 and all stopping by themselves. The limits are
//! small so the tests are fast; timing is asserted with wide margins.
#![cfg(feature = "http")]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{API_TOKEN, MM_TOKEN, assert_error_clean, received, reply};
use edgegap_api::integration::PageQuery;
use edgegap_api::matchmaker::TicketId;
use edgegap_api::{
    ApiError, ApiToken, HttpConfig, IntegrationClient, MatchmakerClient, MatchmakerToken,
    RetryPolicy,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

/// Small limits: 300 ms per request, 1 s per call, many cheap retries.
fn tight() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_millis(300),
        call_timeout: Duration::from_secs(1),
        retry: RetryPolicy {
            max_retries: 50,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_retry_after: Duration::from_millis(200),
        },
        ..HttpConfig::default()
    }
}

fn client(base: &str, config: HttpConfig) -> IntegrationClient {
    IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .base_url(base)
        .http_config(config)
        .build()
        .unwrap()
}

async fn always(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

/// Well above every configured limit here, far below what the attack took (90-121 s).
const GENEROUS: Duration = Duration::from_secs(8);

#[tokio::test]
async fn a_huge_retry_after_returns_rate_limited_with_the_servers_value() {
    let server =
        always(reply(429, json!({"message": "slow down"})).insert_header("Retry-After", "999999"))
            .await;
    let started = Instant::now();
    let err = client(&server.uri(), tight())
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    let took = started.elapsed();
    match &err {
        ApiError::RateLimited {
            retry_after,
            attempts,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(999_999)), "uncapped");
            // Capped at 200 ms each, within a 1 s budget: a handful of attempts, not 51.
            assert!((1..=6).contains(attempts), "{attempts} attempts");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(err.retry_after(), Some(Duration::from_secs(999_999)));
    assert!(took < GENEROUS, "{took:?}");
    assert_error_clean(&err);
}

#[tokio::test]
async fn a_capped_retry_after_longer_than_the_budget_is_not_slept() {
    // The cap (10 s, the default) is longer than the whole call budget (1 s): no sleep at all.
    let server = always(ResponseTemplate::new(429).insert_header("Retry-After", "999999")).await;
    let config = HttpConfig {
        retry: RetryPolicy {
            max_retry_after: Duration::from_secs(10),
            ..tight().retry
        },
        ..tight()
    };
    let started = Instant::now();
    let err = client(&server.uri(), config)
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            err,
            ApiError::RateLimited {
                attempts: 1,
                retry_after: Some(d),
                ..
            } if d == Duration::from_secs(999_999)
        ),
        "{err:?}"
    );
    assert_eq!(received(&server).await.len(), 1);
    assert!(took < Duration::from_secs(5), "slept {took:?}");
}

#[tokio::test]
async fn a_server_that_answers_too_late_times_out_per_request() {
    let server = always(ResponseTemplate::new(500).set_delay(Duration::from_secs(5))).await;
    let started = Instant::now();
    let err = client(&server.uri(), tight())
        .get_endpoint_storage("logs")
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, ApiError::Timeout { timeout, .. } if timeout == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(took < GENEROUS, "{took:?}");
}

#[tokio::test]
async fn retries_of_slow_failures_stop_at_the_call_budget() {
    // Each 503 takes 150 ms; 50 retries would take 7.5 s; the call budget is 1 s.
    let server = always(ResponseTemplate::new(503).set_delay(Duration::from_millis(150))).await;
    let started = Instant::now();
    let err = client(&server.uri(), tight())
        .get_endpoint_storage("logs")
        .await
        .unwrap_err();
    let took = started.elapsed();
    match &err {
        ApiError::Server {
            status: 503,
            attempts,
            ..
        } => {
            assert!(*attempts >= 2 && *attempts < 51, "{attempts}");
        }
        ApiError::Timeout { timeout, .. } => assert_eq!(*timeout, Duration::from_secs(1)),
        other => panic!("expected the last 503 or the call timeout, got {other:?}"),
    }
    eprintln!("after {took:?}: {err}");
    let sent = received(&server).await.len();
    assert!((2..51).contains(&sent), "{sent} requests");
    assert!(took < GENEROUS, "{took:?}");
}

/// Answers every connection (at most `connections`, for at most 10 s) with `head`, then one
/// body byte every 50 ms, up to `body_len` bytes.
async fn trickling_server(
    head: String,
    body_len: usize,
    connections: usize,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let serve = async {
            let mut handlers = Vec::new();
            for _ in 0..connections {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let head = head.clone();
                handlers.push(tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    if sock.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    for _ in 0..body_len {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if sock.write_all(b" ").await.is_err() {
                            return;
                        }
                    }
                }));
            }
            for h in handlers {
                let _ = h.await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), serve).await;
    });
    (addr, task)
}

#[tokio::test]
async fn a_500_trickling_its_body_is_bounded_by_the_call_budget() {
    // 200 bytes at 20 bytes/s would take 10 s per attempt.
    let (addr, task) = trickling_server(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n"
            .to_owned(),
        200,
        60,
    )
    .await;
    let started = Instant::now();
    let err = client(&format!("http://{addr}"), tight())
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    let took = started.elapsed();
    match &err {
        ApiError::Server {
            status: 500,
            message,
            ..
        } => assert!(message.contains("not received within"), "{message}"),
        ApiError::Timeout { .. } => {}
        other => panic!("expected the 500 or a timeout, got {other:?}"),
    }
    eprintln!("after {took:?}: {err}");
    assert!(took < GENEROUS, "{took:?}");
    task.abort();
}

#[tokio::test]
async fn a_200_trickling_its_body_times_out() {
    let (addr, task) = trickling_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n"
            .to_owned(),
        200,
        1,
    )
    .await;
    let started = Instant::now();
    let err = client(&format!("http://{addr}"), tight())
        .list_beacons(PageQuery::default())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, ApiError::Timeout { timeout, .. } if timeout == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(took < GENEROUS, "{took:?}");
    task.abort();
}

#[tokio::test]
async fn the_builder_knobs_set_the_timeouts() {
    let server = always(
        reply(200, json!({"id": "t", "status": "SEARCHING"})).set_delay(Duration::from_secs(3)),
    )
    .await;
    let mm = MatchmakerClient::builder(server.uri(), MatchmakerToken::new(MM_TOKEN))
        .request_timeout(Duration::from_secs(5))
        .call_timeout(Duration::from_millis(250))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = mm.get_ticket(&TicketId::from("t")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Timeout { timeout, .. } if timeout == Duration::from_millis(250)),
        "the call budget, shorter than the request timeout, applies: {err:?}"
    );
    assert!(started.elapsed() < GENEROUS);
}
