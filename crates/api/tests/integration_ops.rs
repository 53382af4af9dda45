//! Every Integration API operation against a wiremock server on 127.0.0.1: method, path, query,
//! `Authorization: token <API_TOKEN>`, and the JSON body (validated against the copied spec).
#![cfg(feature = "http")]
#![allow(clippy::too_many_lines)]

mod common;

use common::{
    API_TOKEN, answering, assert_request, body_json, integration_client, mount, received, reply,
    spec, validate_request_body,
};
use edgegap_api::SecretString;
use edgegap_api::integration::{
    EndpointStorageCreate, EndpointStorageUpdate, LocationQuery, OutputFormat, PageQuery,
    PullProfileCreate, PullProfileUpdate, SourceType,
};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn auth() -> String {
    format!("token {API_TOKEN}")
}

fn location(city: &str) -> serde_json::Value {
    json!({"city": city, "country": "Canada", "continent": "North America",
           "administrative_division": "Quebec", "timezone": "America/Toronto",
           "latitude": 45.5, "longitude": -73.6})
}

fn storage(name: &str) -> serde_json::Value {
    json!({"name": name, "access_key_id": "AKIA1", "endpoint": "https://s3.example",
           "bucket": "logs", "output_format": "NDJSON", "create_time": "2026-01-01 00:00:00",
           "last_updated": "2026-01-02 00:00:00", "future_field": true})
}

fn profile(name: &str) -> serde_json::Value {
    json!({"name": name, "source": "maps/", "source_type": "Folder", "destination": "/data/maps",
           "create_time": "2026-01-01", "last_updated": "2026-01-01"})
}

#[tokio::test]
async fn list_locations_sends_filters_and_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/locations"))
        .and(query_param("app", "my-game"))
        .and(header("authorization", auth().as_str()))
        .respond_with(reply(200, json!({
            "locations": [location("Montreal"), location("Paris")],
            "messages": ["capacity is low in Paris"],
            "total_count": 2,
            "pagination": {"number": 1, "next_page_number": null, "previous_page_number": null,
                           "paginator": {"num_pages": 1}, "has_next": false, "has_previous": false}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = integration_client(&server);
    let list = client
        .list_locations(&LocationQuery {
            app: Some("my-game".into()),
            version: Some("v 1.2".into()),
            page: Some(1),
            limit: Some(50),
        })
        .await
        .unwrap();
    assert_eq!(list.locations.len(), 2);
    assert_eq!(list.locations[1].city, "Paris");
    assert_eq!(list.messages, ["capacity is low in Paris"]);
    assert_eq!(list.total_count, Some(2));
    assert_eq!(list.pagination.unwrap().has_next, Some(false));
    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 1);
    assert_request(
        &reqs[0],
        "GET",
        "/v1/locations",
        &[
            ("app", "my-game"),
            ("version", "v 1.2"),
            ("page", "1"),
            ("limit", "50"),
        ],
        &auth(),
    );
    assert!(reqs[0].body.is_empty(), "a GET has no body");
}

#[tokio::test]
async fn list_locations_without_filters_sends_no_query() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/v1/locations",
        reply(
            200,
            json!({"total_count": 0,
            "pagination": {"number": 1, "has_next": false}}),
        ),
    )
    .await;
    let list = integration_client(&server)
        .list_locations(&LocationQuery::default())
        .await
        .unwrap();
    assert!(list.locations.is_empty());
    assert_request(
        &received(&server).await[0],
        "GET",
        "/v1/locations",
        &[],
        &auth(),
    );
}

#[tokio::test]
async fn list_beacons_reads_the_v1_shape() {
    let server = MockServer::start().await;
    mount(&server, "GET", "/v1/locations/beacons", reply(200, json!({
            "count": 2,
            "locations": [
                {"host": "203.0.113.5", "fqdn": "b1.example", "udp_port": 5000, "tcp_port": 5001, "location": location("Montreal")},
                {"host": "203.0.113.6", "location": location("Toronto"), "new": "ignored"}
            ]
        }))).await;
    let client = integration_client(&server);
    let page = client.list_beacons(PageQuery::new(2, 25)).await.unwrap();
    assert_eq!(page.count, 2);
    assert_eq!(page.locations[0].udp_port, Some(5000));
    assert_eq!(page.locations[1].tcp_port, None);
    let beacons = page.into_beacons().unwrap();
    assert_eq!(beacons[1].location.city, "Toronto");
    assert_request(
        &received(&server).await[0],
        "GET",
        "/v1/locations/beacons",
        &[("page", "2"), ("limit", "25")],
        &auth(),
    );
}

#[tokio::test]
async fn endpoint_storage_create_get_list_update_delete() {
    let spec = spec();
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        "/v1/storage/endpoint",
        reply(200, storage("game-logs")),
    )
    .await;
    mount(
        &server,
        "GET",
        "/v1/storage/endpoint/game%20logs",
        reply(200, storage("game logs")),
    )
    .await;
    mount(
        &server,
        "GET",
        "/v1/storage/endpoints",
        reply(
            200,
            json!({
            "endpoints": [storage("a"), storage("b")], "pagination": {}}),
        ),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/v1/storage/endpoint/game-logs",
        reply(200, json!({"name": "game-logs", "bucket": "new-bucket"})),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/v1/storage/endpoint/game-logs",
        ResponseTemplate::new(204),
    )
    .await;
    let client = integration_client(&server);

    let created = client
        .create_endpoint_storage(&EndpointStorageCreate {
            name: "game-logs".into(),
            access_key_id: "AKIA1".into(),
            endpoint: "https://s3.example".into(),
            bucket: "logs".into(),
            output_format: Some(OutputFormat::Ndjson),
            secret_access_key: SecretString::new("s3-secret-key"),
        })
        .await
        .unwrap();
    assert_eq!(created.output_format, Some(OutputFormat::Ndjson));
    assert_eq!(created.create_time.as_deref(), Some("2026-01-01 00:00:00"));

    let got = client.get_endpoint_storage("game logs").await.unwrap();
    assert_eq!(got.name, "game logs");

    let list = client
        .list_endpoint_storages(PageQuery::new(1, 10))
        .await
        .unwrap();
    assert_eq!(
        list.endpoints
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );

    let updated = client
        .update_endpoint_storage(
            "game-logs",
            &EndpointStorageUpdate {
                bucket: Some("new-bucket".into()),
                secret_access_key: Some(SecretString::new("rotated")),
                ..EndpointStorageUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.bucket, "new-bucket");

    client.delete_endpoint_storage("game-logs").await.unwrap();

    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 5);
    assert_request(&reqs[0], "POST", "/v1/storage/endpoint", &[], &auth());
    let create_body = body_json(&reqs[0]);
    assert_eq!(
        create_body,
        json!({"name": "game-logs", "access_key_id": "AKIA1", "endpoint": "https://s3.example",
               "bucket": "logs", "output_format": "NDJSON", "secret_access_key": "s3-secret-key"})
    );
    validate_request_body(&spec, "endpoint-create", &create_body);
    assert_eq!(
        reqs[0]
            .headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap(),
        "application/json"
    );

    assert_request(
        &reqs[1],
        "GET",
        "/v1/storage/endpoint/game%20logs",
        &[],
        &auth(),
    );
    assert_request(
        &reqs[2],
        "GET",
        "/v1/storage/endpoints",
        &[("page", "1"), ("limit", "10")],
        &auth(),
    );

    assert_request(
        &reqs[3],
        "PATCH",
        "/v1/storage/endpoint/game-logs",
        &[],
        &auth(),
    );
    let update_body = body_json(&reqs[3]);
    assert_eq!(
        update_body,
        json!({"bucket": "new-bucket", "secret_access_key": "rotated"})
    );
    validate_request_body(&spec, "endpoint-update", &update_body);

    assert_request(
        &reqs[4],
        "DELETE",
        "/v1/storage/endpoint/game-logs",
        &[],
        &auth(),
    );
}

#[tokio::test]
async fn pull_profile_create_get_list_update_delete() {
    let spec = spec();
    let server = MockServer::start().await;
    let base = "/v1/storage/endpoint/game-logs";
    mount(
        &server,
        "POST",
        format!("{base}/pull-profile"),
        reply(200, profile("maps")),
    )
    .await;
    mount(
        &server,
        "GET",
        format!("{base}/pull-profile/maps"),
        reply(200, profile("maps")),
    )
    .await;
    let list = json!({
        "pull_profiles": [profile("maps")], "total_count": 1,
        "pagination": {"number": 1, "next_page_number": null, "previous_page_number": null,
                       "paginator": {"num_pages": 1}, "has_next": false, "has_previous": false}});
    mount(
        &server,
        "GET",
        format!("{base}/pull-profiles"),
        reply(200, list),
    )
    .await;
    mount(
        &server,
        "PATCH",
        format!("{base}/pull-profile/maps"),
        reply(200, json!({"name": "maps", "destination": "/srv/maps"})),
    )
    .await;
    mount(
        &server,
        "DELETE",
        format!("{base}/pull-profile/maps"),
        ResponseTemplate::new(204),
    )
    .await;
    let client = integration_client(&server);

    let created = client
        .create_pull_profile(
            "game-logs",
            &PullProfileCreate {
                name: "maps".into(),
                source: "maps/".into(),
                source_type: SourceType::Folder,
                destination: "/data/maps".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.source_type, Some(SourceType::Folder));
    assert_eq!(
        client
            .get_pull_profile("game-logs", "maps")
            .await
            .unwrap()
            .destination,
        "/data/maps"
    );
    let list = client
        .list_pull_profiles("game-logs", PageQuery::default())
        .await
        .unwrap();
    assert_eq!(list.pull_profiles.len(), 1);
    assert_eq!(list.total_count, Some(1));
    let updated = client
        .update_pull_profile(
            "game-logs",
            "maps",
            &PullProfileUpdate {
                destination: Some("/srv/maps".into()),
                source_type: Some(SourceType::File),
                ..PullProfileUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.destination, "/srv/maps");
    client
        .delete_pull_profile("game-logs", "maps")
        .await
        .unwrap();

    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 5);
    assert_request(
        &reqs[0],
        "POST",
        &format!("{base}/pull-profile"),
        &[],
        &auth(),
    );
    let create_body = body_json(&reqs[0]);
    assert_eq!(
        create_body,
        json!({"name": "maps", "source": "maps/", "source_type": "Folder", "destination": "/data/maps"})
    );
    validate_request_body(&spec, "pull-profile-create", &create_body);
    assert_request(
        &reqs[1],
        "GET",
        &format!("{base}/pull-profile/maps"),
        &[],
        &auth(),
    );
    assert_request(
        &reqs[2],
        "GET",
        &format!("{base}/pull-profiles"),
        &[],
        &auth(),
    );
    assert_request(
        &reqs[3],
        "PATCH",
        &format!("{base}/pull-profile/maps"),
        &[],
        &auth(),
    );
    let update_body = body_json(&reqs[3]);
    assert_eq!(
        update_body,
        json!({"destination": "/srv/maps", "source_type": "File"})
    );
    // The spec's update schema is `{}` (anything): also check it against the PullProfile
    // properties, which is what the API means.
    validate_request_body(&spec, "pull-profile-update", &update_body);
    let strict = json!({"type": "object", "additionalProperties": false,
                        "properties": spec["components"]["schemas"]["PullProfile"]["properties"]});
    common::compile(&spec, &strict)
        .validate(&update_body)
        .unwrap();
    assert_request(
        &reqs[4],
        "DELETE",
        &format!("{base}/pull-profile/maps"),
        &[],
        &auth(),
    );
}

#[tokio::test]
async fn link_and_unlink_a_pull_profile() {
    let server = MockServer::start().await;
    let link = "/v1/storage/endpoint/game-logs/pull-profile/maps/app/my-game/version/2026.1";
    mount(
        &server,
        "PUT",
        link,
        reply(
            200,
            json!({
            "app": "my-game", "app_version": "2026.1", "endpoint": "game-logs",
            "pull_profile": "maps", "create_time": "t0", "last_updated": "t1"}),
        ),
    )
    .await;
    mount(&server, "DELETE", link, ResponseTemplate::new(204)).await;
    let client = integration_client(&server);
    let linked = client
        .link_pull_profile("game-logs", "maps", "my-game", "2026.1")
        .await
        .unwrap();
    assert_eq!(linked.app_version, "2026.1");
    assert_eq!(linked.pull_profile, "maps");
    client
        .unlink_pull_profile("game-logs", "maps", "my-game", "2026.1")
        .await
        .unwrap();
    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_request(&reqs[0], "PUT", link, &[], &auth());
    assert!(reqs[0].body.is_empty(), "link sends no body");
    assert_request(&reqs[1], "DELETE", link, &[], &auth());
}

#[tokio::test]
async fn names_are_path_encoded_and_empty_names_refused() {
    let server = answering("GET", reply(200, storage("x"))).await;
    let client = integration_client(&server);
    client.get_endpoint_storage("a/b?c").await.unwrap();
    let reqs = received(&server).await;
    assert_eq!(reqs[0].url.path(), "/v1/storage/endpoint/a%2Fb%3Fc");
    assert_eq!(reqs[0].url.query(), None);
    let err = client.get_endpoint_storage("").await.unwrap_err();
    assert!(
        matches!(err, edgegap_api::ApiError::InvalidArgument { .. }),
        "{err}"
    );
    assert_eq!(
        received(&server).await.len(),
        1,
        "nothing sent for an empty name"
    );
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/proxy/v1/locations/beacons"))
        .respond_with(reply(200, json!({"count": 0, "locations": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = edgegap_api::IntegrationClient::builder(edgegap_api::ApiToken::new(API_TOKEN))
        .base_url(format!("{}/proxy/", server.uri()))
        .build()
        .unwrap();
    assert!(
        client
            .list_beacons(PageQuery::default())
            .await
            .unwrap()
            .locations
            .is_empty()
    );
}
