//! A 200 of the wrong shape is an error naming the missing field, never an empty list; what the
//! spec requires is checked against the clients themselves (wiremock on 127.0.0.1).
#![cfg(feature = "http")]
#![allow(clippy::too_many_lines)]

mod common;

use common::{
    assert_error_clean, integration_client, matchmaker_client, reply, server_browser_client, spec,
};
use edgegap_api::integration::{
    EndpointStorageCreate, EndpointStorageUpdate, LocationQuery, PageQuery, PullProfileCreate,
    PullProfileUpdate, SourceType,
};
use edgegap_api::server_browser::ServerInstanceQuery;
use edgegap_api::{ApiError, SecretString, Service};
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, matchers};

async fn answering_200(body: &Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::any())
        .respond_with(reply(200, body.clone()))
        .mount(&server)
        .await;
    server
}

/// Calls the listing `op` against a server answering `body`; `Ok(n)` is the number of items.
async fn list(op: &str, body: &Value) -> Result<usize, ApiError> {
    let server = answering_200(body).await;
    let v1 = integration_client(&server);
    match op {
        "locations" => v1
            .list_locations(&LocationQuery::default())
            .await
            .map(|l| l.locations.len()),
        "beacons" => v1.beacons().await.map(|b| b.len()),
        "list beacons" => v1
            .list_beacons(PageQuery::default())
            .await
            .map(|l| l.locations.len()),
        "endpoint storages" => v1
            .list_endpoint_storages(PageQuery::default())
            .await
            .map(|l| l.endpoints.len()),
        "pull profiles" => v1
            .list_pull_profiles("logs", PageQuery::default())
            .await
            .map(|l| l.pull_profiles.len()),
        "matchmaker beacons" => matchmaker_client(&server).beacons().await.map(|b| b.len()),
        "server instances" => server_browser_client(&server)
            .list_server_instances(&ServerInstanceQuery::default())
            .await
            .map(|p| p.server_instances.len()),
        other => panic!("unknown listing {other}"),
    }
}

fn schema_field(err: &ApiError) -> &str {
    match err {
        ApiError::Schema { field, .. } => field,
        other => panic!("expected a Schema error, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_shaped_listings_are_errors_naming_the_field() {
    // (listing, field named for `{}`, field named for `{"count": 3, "data": [1, 2, 3]}`; `None`:
    // `data` is one of the listing's own names, so the numbers in it are what is wrong).
    let any_list = "server_instances` or `instances` or `items` or `data";
    let cases: [(&str, &str, Option<&str>); 7] = [
        ("locations", "locations", Some("locations")),
        ("beacons", "count", Some("locations")),
        ("list beacons", "count", Some("locations")),
        ("endpoint storages", "endpoints", Some("endpoints")),
        ("pull profiles", "pull_profiles", Some("pull_profiles")),
        ("matchmaker beacons", "beacons", Some("beacons")),
        ("server instances", any_list, None),
    ];
    for (op, field_for_empty, field_for_data) in cases {
        let err = list(op, &json!({})).await.unwrap_err();
        assert_eq!(schema_field(&err), field_for_empty, "{op} with {{}}: {err}");
        assert!(err.to_string().contains("wrong shape"), "{err}");
        assert!(!err.is_transient());
        assert_error_clean(&err);

        // A `count` keeps the beacon listing from failing on `count` first.
        let err = list(op, &json!({"count": 3, "data": [1, 2, 3]}))
            .await
            .unwrap_err();
        match field_for_data {
            Some(field) => assert_eq!(schema_field(&err), field, "{op} with data: {err}"),
            None => assert!(
                matches!(err, ApiError::Json { .. }),
                "{op} with data: {err:?}"
            ),
        }

        let err = list(op, &json!([1, 2, 3])).await.unwrap_err();
        assert_eq!(
            schema_field(&err),
            "(the answer)",
            "{op} with an array: {err}"
        );
    }
}

#[tokio::test]
async fn the_error_names_the_service_and_operation() {
    let err = list("locations", &json!({"data": [1, 2, 3]}))
        .await
        .unwrap_err();
    match &err {
        ApiError::Schema {
            service: Service::Integration,
            operation: "list locations",
            field,
            problem: "is missing",
        } => assert_eq!(field, "locations"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the Edgegap Integration API answered list locations with a body of the wrong shape: `locations` is missing"
    );
}

#[tokio::test]
async fn entries_missing_required_fields_are_named_with_their_index() {
    let loc = json!({"city": "A", "country": "B", "continent": "C", "administrative_division": "D",
                     "timezone": "E", "latitude": 1.0, "longitude": 2.0});
    let mut partial = loc.clone();
    partial.as_object_mut().unwrap().remove("longitude");
    let err = list(
        "beacons",
        &json!({"count": 2, "locations": [
            {"host": "192.0.2.1", "location": loc},
            {"host": "192.0.2.2", "location": partial}]}),
    )
    .await
    .unwrap_err();
    assert_eq!(schema_field(&err), "locations[1].location.longitude");

    let err = list(
        "endpoint storages",
        &json!({"endpoints": [{"name": "e", "access_key_id": "k", "endpoint": "x"}]}),
    )
    .await
    .unwrap_err();
    assert_eq!(schema_field(&err), "endpoints[0].bucket");

    let err = list(
        "matchmaker beacons",
        &json!({"beacons": [{"public_ip": "192.0.2.9", "location": {"country": "X"}}]}),
    )
    .await
    .unwrap_err();
    assert_eq!(schema_field(&err), "beacons[0].location.city");
}

#[tokio::test]
async fn right_shapes_with_unknown_fields_and_explicitly_empty_listings_pass() {
    let loc = json!({"city": "A", "country": "B", "continent": "C", "administrative_division": "D",
                     "timezone": "E", "latitude": 1.0, "longitude": 2.0, "new_field": [1]});
    let ok = [
        (
            "locations",
            json!({"locations": [loc], "surprise": {"x": 1}}),
        ),
        (
            "locations",
            json!({"total_count": 0, "pagination": {"number": 1, "has_next": false}}),
        ),
        ("list beacons", json!({"count": 0})),
        (
            "list beacons",
            json!({"count": 1, "locations": [{"host": "h", "location": loc, "x": 1}]}),
        ),
        (
            "endpoint storages",
            json!({"endpoints": [], "pagination": null}),
        ),
        ("endpoint storages", json!({"total_count": 0})),
        (
            "pull profiles",
            json!({"pull_profiles": [], "total_count": 0}),
        ),
        ("matchmaker beacons", json!({"count": 0, "beacons": []})),
        (
            "server instances",
            json!({"items": [], "next_cursor": null}),
        ),
    ];
    for (op, body) in ok {
        list(op, &body)
            .await
            .unwrap_or_else(|e| panic!("{op} {body}: {e}"));
    }
    // A listing that says it has items but sends no array is not empty.
    let err = list("locations", &json!({"total_count": 4}))
        .await
        .unwrap_err();
    assert_eq!(schema_field(&err), "locations");
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &spec["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

/// A full instance of `schema` (every property), with its spec-required fields listed as
/// paths (array elements as `[0]`).
fn instance(spec: &Value, schema: &Value, path: &str, required: &mut Vec<String>) -> Value {
    let schema = resolve(spec, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values[0].clone();
    }
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let req: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = Map::new();
            for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                if req.contains(&name.as_str()) {
                    required.push(join(name));
                }
                out.insert(name.clone(), instance(spec, prop, &join(name), required));
            }
            Value::Object(out)
        }
        Some("array") => json!([instance(
            spec,
            &schema["items"],
            &format!("{path}[0]"),
            required
        )]),
        Some("string") => json!("x"),
        Some("integer") => json!(1),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        _ => json!({}),
    }
}

fn remove(value: &mut Value, path: &str) {
    let (parent, last) = path.rsplit_once('.').unwrap_or(("", path));
    let mut target = value;
    for part in parent.split('.').filter(|p| !p.is_empty()) {
        target = match part.strip_suffix("[0]") {
            Some(name) => &mut target[name][0],
            None => &mut target[part],
        };
    }
    target.as_object_mut().unwrap().remove(last);
}

/// Calls the client operation for `operation_id` against a server answering `body`.
async fn call(operation_id: &str, body: &Value) -> Result<(), ApiError> {
    let server = answering_200(body).await;
    let v1 = integration_client(&server);
    let storage = EndpointStorageCreate {
        name: "e".into(),
        access_key_id: "k".into(),
        endpoint: "https://s3.example".into(),
        bucket: "b".into(),
        output_format: None,
        secret_access_key: SecretString::new("s"),
    };
    let profile = PullProfileCreate {
        name: "p".into(),
        source: "s".into(),
        source_type: SourceType::File,
        destination: "/d".into(),
    };
    match operation_id {
        "location-list" => v1.list_locations(&LocationQuery::default()).await.map(drop),
        "beacon-list" => v1.list_beacons(PageQuery::default()).await.map(drop),
        "endpoint-create" => v1.create_endpoint_storage(&storage).await.map(drop),
        "endpoint-get" => v1.get_endpoint_storage("e").await.map(drop),
        "endpoint-update" => v1
            .update_endpoint_storage("e", &EndpointStorageUpdate::default())
            .await
            .map(drop),
        "endpoints-list" => v1
            .list_endpoint_storages(PageQuery::default())
            .await
            .map(drop),
        "pull-profile-create" => v1.create_pull_profile("e", &profile).await.map(drop),
        "pull-profile-get" => v1.get_pull_profile("e", "p").await.map(drop),
        "pull-profile-update" => v1
            .update_pull_profile("e", "p", &PullProfileUpdate::default())
            .await
            .map(drop),
        "pull-profile-list" => v1
            .list_pull_profiles("e", PageQuery::default())
            .await
            .map(drop),
        "pull-profile-link-app-version" => v1.link_pull_profile("e", "p", "a", "v").await.map(drop),
        other => panic!("no client call for {other}"),
    }
}

/// Spec-required fields the client deliberately does not enforce: listing metadata it pages
/// without (see the crate docs).
fn lenient(operation_id: &str, path: &str) -> bool {
    matches!(operation_id, "location-list" | "pull-profile-list")
        && (path == "total_count" || path == "pagination" || path.starts_with("pagination."))
}

#[tokio::test]
async fn every_field_the_spec_requires_is_required_by_the_client() {
    let spec = spec();
    let mut checked = 0;
    for ops in spec["paths"].as_object().unwrap().values() {
        for op in ops.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            let Some(schema) = op["responses"]
                .get("200")
                .and_then(|r| r.pointer("/content/application~1json/schema"))
            else {
                continue;
            };
            let mut required = Vec::new();
            let full = instance(&spec, schema, "", &mut required);
            call(id, &full)
                .await
                .unwrap_or_else(|e| panic!("{id}: the full instance {full} is refused: {e}"));
            for path in required {
                let mut body = full.clone();
                remove(&mut body, &path);
                let result = call(id, &body).await;
                if lenient(id, &path) {
                    result.unwrap_or_else(|e| panic!("{id} without {path}: {e}"));
                    continue;
                }
                let err = result.expect_err(&format!("{id} without {path} was accepted"));
                assert!(
                    matches!(&err, ApiError::Schema { field, .. } if *field == path),
                    "{id} without {path}: {err:?}"
                );
                checked += 1;
            }
        }
    }
    eprintln!("{checked} required fields checked");
    assert!(checked >= 30, "only {checked} required fields checked");
}
