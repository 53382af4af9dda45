//! Paginated listings, page by page and as streams, against wiremock on 127.0.0.1.
#![cfg(feature = "http")]

mod common;

use common::{API_TOKEN, assert_request, integration_client, received, reply};
use edgegap_api::ApiError;
use edgegap_api::integration::LocationQuery;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};

fn beacon(i: usize) -> Value {
    json!({"host": format!("198.51.100.{i}"), "udp_port": 5000, "location": {
        "city": format!("City{i}"), "country": "X", "continent": "Y", "administrative_division": "Z",
        "timezone": "UTC", "latitude": 1.0, "longitude": 2.0}})
}

fn pagination(number: u32, has_next: bool) -> Value {
    json!({"number": number, "next_page_number": if has_next { json!(number + 1) } else { Value::Null },
           "previous_page_number": if number > 1 { json!(number - 1) } else { Value::Null },
           "paginator": {"num_pages": 3}, "has_next": has_next, "has_previous": number > 1})
}

async fn mount_page(server: &MockServer, route: &str, page: u32, body: Value) {
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("page", page.to_string()))
        .respond_with(reply(200, body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_three_page_beacon_listing_yields_every_beacon_once_and_stops_on_the_short_page() {
    let server = MockServer::start().await;
    let route = "/v1/locations/beacons";
    // 4 + 4 + 2 beacons with limit 4: the short third page is the last one (the beacon listing
    // has no pagination object in the spec).
    mount_page(
        &server,
        route,
        1,
        json!({"count": 4, "locations": (0..4).map(beacon).collect::<Vec<_>>()}),
    )
    .await;
    mount_page(
        &server,
        route,
        2,
        json!({"count": 4, "locations": (4..8).map(beacon).collect::<Vec<_>>()}),
    )
    .await;
    mount_page(
        &server,
        route,
        3,
        json!({"count": 2, "locations": (8..10).map(beacon).collect::<Vec<_>>()}),
    )
    .await;
    let client = integration_client(&server);
    let hosts: Vec<String> = client
        .beacons_stream(4)
        .map_ok(|b| b.host)
        .try_collect()
        .await
        .unwrap();
    let want: Vec<String> = (0..10).map(|i| format!("198.51.100.{i}")).collect();
    assert_eq!(hosts, want, "every beacon exactly once, in order");
    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 3, "no request after the short page");
    for (i, req) in reqs.iter().enumerate() {
        let page = (i + 1).to_string();
        assert_request(
            req,
            "GET",
            route,
            &[("page", &page), ("limit", "4")],
            &format!("token {API_TOKEN}"),
        );
    }
}

#[tokio::test]
async fn a_beacon_listing_that_ends_on_a_full_page_stops_on_the_empty_one() {
    let server = MockServer::start().await;
    let route = "/v1/locations/beacons";
    mount_page(
        &server,
        route,
        1,
        json!({"count": 2, "locations": [beacon(1), beacon(2)]}),
    )
    .await;
    mount_page(&server, route, 2, json!({"count": 0, "locations": []})).await;
    let got: Vec<_> = integration_client(&server)
        .beacons_stream(2)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn beacons_collects_every_page_into_the_shared_type() {
    let server = MockServer::start().await;
    let route = "/v1/locations/beacons";
    mount_page(
        &server,
        route,
        1,
        json!({"count": 3, "locations": (0..3).map(beacon).collect::<Vec<_>>()}),
    )
    .await;
    let beacons = integration_client(&server).beacons().await.unwrap();
    assert_eq!(beacons.len(), 3);
    assert_eq!(beacons[2].location.city, "City2");
    assert_eq!(beacons[2].udp_port, Some(5000));
}

#[tokio::test]
async fn a_three_page_pull_profile_listing_follows_has_next() {
    let server = MockServer::start().await;
    let route = "/v1/storage/endpoint/logs/pull-profiles";
    let profile = |n: u32| json!({"name": format!("p{n}"), "source": "s", "source_type": "File", "destination": "/d"});
    // Full pages of 2 everywhere: only `has_next = false` can end this listing.
    mount_page(&server, route, 1, json!({"pull_profiles": [profile(1), profile(2)], "total_count": 6, "pagination": pagination(1, true)})).await;
    mount_page(&server, route, 2, json!({"pull_profiles": [profile(3), profile(4)], "total_count": 6, "pagination": pagination(2, true)})).await;
    mount_page(&server, route, 3, json!({"pull_profiles": [profile(5), profile(6)], "total_count": 6, "pagination": pagination(3, false)})).await;
    let names: Vec<String> = integration_client(&server)
        .pull_profiles_stream("logs", 2)
        .map_ok(|p| p.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["p1", "p2", "p3", "p4", "p5", "p6"]);
    assert_eq!(
        received(&server).await.len(),
        3,
        "stopped on has_next = false"
    );
}

#[tokio::test]
async fn the_locations_stream_keeps_its_filters_on_every_page() {
    let server = MockServer::start().await;
    let route = "/v1/locations";
    let loc = |c: &str| {
        json!({"city": c, "country": "X", "continent": "Y", "administrative_division": "Z",
                               "timezone": "UTC", "latitude": 1.0, "longitude": 2.0})
    };
    mount_page(
        &server,
        route,
        1,
        json!({"locations": [loc("A")], "total_count": 2, "pagination": pagination(1, true)}),
    )
    .await;
    mount_page(
        &server,
        route,
        2,
        json!({"locations": [loc("B")], "total_count": 2, "pagination": pagination(2, false)}),
    )
    .await;
    let query = LocationQuery {
        app: Some("game".into()),
        version: Some("v2".into()),
        limit: Some(1),
        ..LocationQuery::default()
    };
    let cities: Vec<String> = integration_client(&server)
        .locations_stream(query)
        .map_ok(|l| l.city)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(cities, ["A", "B"]);
    let reqs = received(&server).await;
    let auth = format!("token {API_TOKEN}");
    assert_request(
        &reqs[0],
        "GET",
        route,
        &[
            ("app", "game"),
            ("version", "v2"),
            ("page", "1"),
            ("limit", "1"),
        ],
        &auth,
    );
    assert_request(
        &reqs[1],
        "GET",
        route,
        &[
            ("app", "game"),
            ("version", "v2"),
            ("page", "2"),
            ("limit", "1"),
        ],
        &auth,
    );
}

#[tokio::test]
async fn a_failing_page_ends_the_stream_with_its_error() {
    let server = MockServer::start().await;
    let route = "/v1/storage/endpoints";
    let ep = |n: &str| json!({"name": n, "access_key_id": "k", "endpoint": "e", "bucket": "b"});
    mount_page(
        &server,
        route,
        1,
        json!({"endpoints": [ep("a")], "pagination": pagination(1, true)}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("page", "2"))
        .respond_with(reply(401, json!({"message": "token expired"})))
        .mount(&server)
        .await;
    let items: Vec<Result<_, ApiError>> = integration_client(&server)
        .endpoint_storages_stream(1)
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().name, "a");
    assert!(
        matches!(items[1], Err(ApiError::Unauthorized { .. })),
        "{:?}",
        items[1]
    );
}

/// The endpoint-storage listing leaves its `pagination` open: `{}` says nothing about a next
/// page, so a full page is followed by the next and a short page ends the listing.
#[tokio::test]
async fn an_empty_pagination_object_does_not_stop_a_listing_after_its_first_page() {
    let server = MockServer::start().await;
    let route = "/v1/storage/endpoints";
    let ep = |n: &str| json!({"name": n, "access_key_id": "k", "endpoint": "e", "bucket": "b"});
    mount_page(
        &server,
        route,
        1,
        json!({"endpoints": [ep("a"), ep("b")], "pagination": {}}),
    )
    .await;
    mount_page(
        &server,
        route,
        2,
        json!({"endpoints": [ep("c")], "pagination": {}}),
    )
    .await;
    let names: Vec<String> = integration_client(&server)
        .endpoint_storages_stream(2)
        .map_ok(|e| e.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(received(&server).await.len(), 2, "the short page ends it");
}

#[tokio::test]
async fn an_x_fields_mask_is_sent_and_entries_keep_only_their_fields() {
    let server = MockServer::start().await;
    let route = "/v1/storage/endpoints";
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(reply(
            200,
            json!({"endpoints": [{"name": "a", "bucket": "b1"}, {"name": "z"}], "pagination": {}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let entries: Vec<serde_json::Map<String, Value>> = integration_client(&server)
        .endpoint_storages_masked_stream(10, "{name,bucket}")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["bucket"], "b1");
    assert!(!entries[1].contains_key("bucket"), "absent, not empty");
    let sent = &received(&server).await[0];
    assert_eq!(sent.headers.get("x-fields").unwrap(), "{name,bucket}");
    let err = integration_client(&server)
        .list_endpoint_storages_masked(edgegap_api::integration::PageQuery::new(1, 1), "a\nb")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::InvalidArgument { .. }),
        "a mask that cannot be a header value: {err:?}"
    );
}

#[tokio::test]
async fn all_locations_gathers_every_page_and_its_messages_once() {
    let server = MockServer::start().await;
    let route = "/v1/locations";
    let loc = |c: &str| {
        json!({"city": c, "country": "X", "continent": "Y", "administrative_division": "Z",
               "timezone": "UTC", "latitude": 1.0, "longitude": 2.0})
    };
    mount_page(
        &server,
        route,
        1,
        json!({"locations": [loc("A")], "total_count": 2, "pagination": pagination(1, true),
               "messages": ["Tokyo is at capacity", format!("echo {API_TOKEN}")]}),
    )
    .await;
    mount_page(
        &server,
        route,
        2,
        json!({"locations": [loc("B")], "total_count": 2, "pagination": pagination(2, false),
               "messages": ["Tokyo is at capacity"]}),
    )
    .await;
    let list = integration_client(&server)
        .all_locations(LocationQuery {
            app: Some("game".into()),
            version: Some("v2".into()),
            limit: Some(1),
            ..LocationQuery::default()
        })
        .await
        .unwrap();
    let cities: Vec<&str> = list.locations.iter().map(|l| l.city.as_str()).collect();
    assert_eq!(cities, ["A", "B"]);
    assert_eq!(list.total_count, Some(2));
    assert_eq!(list.messages.len(), 2, "{:?}", list.messages);
    assert_eq!(list.messages[0], "Tokyo is at capacity");
    assert!(!list.messages[1].contains(API_TOKEN), "{:?}", list.messages);
    for req in received(&server).await {
        let query: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        assert!(query.contains(&("app".into(), "game".into())), "{query:?}");
        assert!(
            query.contains(&("version".into(), "v2".into())),
            "{query:?}"
        );
    }
}
