//! Paged listings that never end: every stream stops at the configured pages, items or time
//! with `ApiError::PagingLimitReached`, and a server repeating a page or cursor cannot loop a
//! client. Every server here is wiremock on 127.0.0.1; every loop is bounded by the limits
//! under test (a few pages).
#![cfg(feature = "http")]

mod common;

use std::time::{Duration, Instant};

use common::{API_TOKEN, SB_TOKEN, fast_config, received, reply};
use edgegap_api::integration::LocationQuery;
use edgegap_api::server_browser::ServerInstanceQuery;
use edgegap_api::{
    ApiError, ApiToken, HttpConfig, IntegrationClient, PagingLimit, PagingLimits, RetryPolicy,
    ServerBrowserClient, ServerBrowserToken, Service,
};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

fn location(city: &str) -> Value {
    json!({"city": city, "country": "X", "continent": "Y", "administrative_division": "Z",
           "timezone": "UTC", "latitude": 1.0, "longitude": 2.0})
}

fn beacon(i: u64) -> Value {
    json!({"host": format!("198.51.100.{}", i % 250), "udp_port": 5000,
           "location": location(&format!("City{i}"))})
}

fn query(req: &Request, name: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn page_number(req: &Request) -> u64 {
    query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1)
}

/// A beacon listing whose every page is full (`limit` beacons, different on every page).
struct EndlessBeacons;

impl Respond for EndlessBeacons {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let page = page_number(req);
        let limit: u64 = query(req, "limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(100);
        let beacons: Vec<Value> = (0..limit).map(|i| beacon(page * 1000 + i)).collect();
        reply(200, json!({"count": limit, "locations": beacons}))
    }
}

/// A location listing whose `has_next` stays true, with the right page numbers.
struct EndlessLocations {
    per_page: u64,
}

impl Respond for EndlessLocations {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let page = page_number(req);
        let locations: Vec<Value> = (0..self.per_page)
            .map(|i| location(&format!("C{page}-{i}")))
            .collect();
        reply(
            200,
            json!({"locations": locations, "total_count": 1_000_000,
                   "pagination": {"number": page, "next_page_number": page + 1,
                                  "previous_page_number": null, "paginator": {"num_pages": 1_000_000},
                                  "has_next": true, "has_previous": page > 1}}),
        )
    }
}

/// A server browser that hands out a fresh cursor with every page.
struct EndlessCursors;

impl Respond for EndlessCursors {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let n: u64 = query(req, "cursor")
            .and_then(|c| c.trim_start_matches('c').parse().ok())
            .unwrap_or(0);
        reply(
            200,
            json!({"server_instances": [{"request_id": format!("r{n}")}], "next_cursor": format!("c{}", n + 1)}),
        )
    }
}

async fn serve(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

fn limits(max_pages: u32, max_items: u64, max_time: Duration) -> PagingLimits {
    PagingLimits {
        max_pages,
        max_items,
        max_time,
    }
}

fn integration(server: &MockServer, paging: PagingLimits) -> IntegrationClient {
    IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .base_url(server.uri())
        .http_config(fast_config())
        .paging_limits(paging)
        .build()
        .unwrap()
}

#[test]
fn the_defaults_are_documented_and_bounded() {
    let paging = PagingLimits::default();
    assert_eq!(paging.max_pages, 1_000);
    assert_eq!(paging.max_items, 100_000);
    assert_eq!(paging.max_time, Duration::from_secs(60));
    let config = HttpConfig::default();
    assert_eq!(config.paging, paging);
    assert_eq!(config.request_timeout, Duration::from_secs(10));
    assert_eq!(config.call_timeout, Duration::from_secs(30));
    assert_eq!(config.retry.max_retry_after, Duration::from_secs(10));
}

#[tokio::test]
async fn full_beacon_pages_forever_stop_at_the_page_limit() {
    let server = serve(EndlessBeacons).await;
    let client = integration(&server, limits(5, 1_000_000, Duration::from_secs(60)));
    let items: Vec<Result<_, ApiError>> = client.beacons_stream(4).collect().await;
    assert_eq!(items.len(), 5 * 4 + 1, "5 full pages, then the error");
    assert!(items[..20].iter().all(Result::is_ok));
    let err = items.last().unwrap().as_ref().unwrap_err();
    match err {
        ApiError::PagingLimitReached {
            service: Service::Integration,
            operation: "list beacons",
            limit: PagingLimit::Pages(5),
            pages: 5,
            items: 20,
        } => {}
        other => panic!("expected the page limit, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("the limit of 5 pages"), "{text}");
    assert!(text.contains("list beacons"), "{text}");
    assert_eq!(
        received(&server).await.len(),
        5,
        "no request past the limit"
    );
    assert!(!err.is_transient());

    // `beacons()` (pages of 100) fails the same way instead of growing without end.
    let err = client.beacons().await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::PagingLimitReached {
                limit: PagingLimit::Pages(5),
                items: 500,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn has_next_stuck_at_true_stops_at_the_item_limit() {
    let server = serve(EndlessLocations { per_page: 3 }).await;
    let client = integration(&server, limits(1_000, 7, Duration::from_secs(60)));
    let query = LocationQuery {
        limit: Some(3),
        ..LocationQuery::default()
    };
    let items: Vec<Result<_, ApiError>> = client.locations_stream(query).collect().await;
    // Pages 1 and 2 (6 items) pass; page 3 would make 9 > 7.
    assert_eq!(items.len(), 7, "{items:?}");
    assert!(items[..6].iter().all(Result::is_ok));
    assert!(
        matches!(
            items[6],
            Err(ApiError::PagingLimitReached {
                limit: PagingLimit::Items(7),
                pages: 3,
                items: 6,
                ..
            })
        ),
        "{:?}",
        items[6]
    );
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test]
async fn slow_pages_forever_stop_at_the_time_limit() {
    // Full pages of 2 without a pagination object, each different and each 100 ms late:
    // only a limit ends this listing.
    struct Slow;
    impl Respond for Slow {
        fn respond(&self, req: &Request) -> ResponseTemplate {
            let page = page_number(req);
            let locations: Vec<Value> = (0..2).map(|i| location(&format!("C{page}-{i}"))).collect();
            reply(200, json!({"locations": locations, "total_count": 99}))
                .set_delay(Duration::from_millis(100))
        }
    }
    let server = serve(Slow).await;
    let client = integration(
        &server,
        limits(1_000, 1_000_000, Duration::from_millis(450)),
    );
    let started = Instant::now();
    let err = client
        .locations_stream(LocationQuery {
            limit: Some(2),
            ..LocationQuery::default()
        })
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            err,
            ApiError::PagingLimitReached {
                limit: PagingLimit::Time(t),
                ..
            } if t == Duration::from_millis(450)
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("time limit"), "{err}");
    // About 450 ms; a loaded machine is slower, never this slow.
    assert!(took < Duration::from_secs(10), "{took:?}");
    let pages = received(&server).await.len();
    assert!((2..=20).contains(&pages), "{pages} pages fetched");
}

#[tokio::test]
async fn endless_cursors_stop_at_the_page_limit() {
    let server = serve(EndlessCursors).await;
    let client = ServerBrowserClient::builder(server.uri(), ServerBrowserToken::new(SB_TOKEN))
        .http_config(HttpConfig {
            paging: limits(4, 1_000_000, Duration::from_secs(60)),
            ..fast_config()
        })
        .build()
        .unwrap();
    let items: Vec<Result<_, ApiError>> = client
        .server_instances_stream(ServerInstanceQuery::default())
        .collect()
        .await;
    assert_eq!(items.len(), 5, "{items:?}");
    assert!(
        matches!(
            items[4],
            Err(ApiError::PagingLimitReached {
                service: Service::ServerBrowser,
                limit: PagingLimit::Pages(4),
                ..
            })
        ),
        "{:?}",
        items[4]
    );
    assert_eq!(received(&server).await.len(), 4);
}

#[tokio::test]
async fn endpoint_storages_and_pull_profiles_are_bounded_too() {
    struct EndlessNamed(&'static str, fn(u64) -> Value);
    impl Respond for EndlessNamed {
        fn respond(&self, req: &Request) -> ResponseTemplate {
            let page = page_number(req);
            reply(
                200,
                json!({self.0: [(self.1)(page)], "total_count": 1_000_000,
                       "pagination": {"number": page, "next_page_number": page + 1, "has_next": true}}),
            )
        }
    }
    let server = serve(EndlessNamed(
        "endpoints",
        |n| json!({"name": format!("e{n}"), "access_key_id": "k", "endpoint": "e", "bucket": "b"}),
    ))
    .await;
    let client = integration(&server, limits(3, 1_000_000, Duration::from_secs(60)));
    let err = client
        .endpoint_storages_stream(1)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::PagingLimitReached {
                operation: "list endpoint storages",
                limit: PagingLimit::Pages(3),
                ..
            }
        ),
        "{err:?}"
    );

    let server = serve(EndlessNamed("pull_profiles", |n| {
        json!({"name": format!("p{n}"), "source": "s", "source_type": "File", "destination": "/d"})
    }))
    .await;
    let client = integration(&server, limits(1_000, 2, Duration::from_secs(60)));
    let err = client
        .pull_profiles_stream("logs", 1)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::PagingLimitReached {
                operation: "list pull profiles",
                limit: PagingLimit::Items(2),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_ignoring_the_page_number_cannot_loop_the_client() {
    // Every request gets the same full page, with no pagination object.
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .respond_with(reply(
            200,
            json!({"count": 2, "locations": [beacon(1), beacon(2)]}),
        ))
        .mount(&server)
        .await;
    let client = integration(&server, PagingLimits::default());
    let hosts: Vec<String> = client
        .beacons_stream(2)
        .map_ok(|b| b.location.city)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        hosts,
        ["City1", "City2"],
        "the repeated page is not passed on"
    );
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn a_page_repeating_the_previous_page_number_ends_the_listing() {
    // Page 2 claims to be page 1 and points to page 2 again, with new items.
    let server = MockServer::start().await;
    let page = |n: u64, city: &str| {
        json!({"locations": [location(city)], "total_count": 9,
               "pagination": {"number": n, "next_page_number": 2, "has_next": true}})
    };
    Mock::given(matchers::method("GET"))
        .and(matchers::query_param("page", "1"))
        .respond_with(reply(200, page(1, "A")))
        .mount(&server)
        .await;
    Mock::given(matchers::method("GET"))
        .and(matchers::query_param("page", "2"))
        .respond_with(reply(200, page(1, "B")))
        .mount(&server)
        .await;
    let cities: Vec<String> = integration(&server, PagingLimits::default())
        .locations_stream(LocationQuery {
            limit: Some(1),
            ..LocationQuery::default()
        })
        .map_ok(|l| l.city)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(cities, ["A", "B"]);
    assert_eq!(
        received(&server).await.len(),
        2,
        "page 2 is not asked for twice"
    );
}

#[tokio::test]
async fn zero_limits_are_refused_when_building() {
    for paging in [
        limits(0, 1, Duration::from_secs(1)),
        limits(1, 0, Duration::from_secs(1)),
        limits(1, 1, Duration::ZERO),
    ] {
        let err = IntegrationClient::builder(ApiToken::new(API_TOKEN))
            .paging_limits(paging)
            .build()
            .unwrap_err();
        assert!(matches!(err, ApiError::Config(_)), "{err}");
        assert!(err.to_string().contains("paging."), "{err}");
    }
    let err = IntegrationClient::builder(ApiToken::new(API_TOKEN))
        .http_config(HttpConfig {
            retry: RetryPolicy::none(),
            call_timeout: Duration::ZERO,
            ..HttpConfig::default()
        })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("call_timeout"), "{err}");
}
