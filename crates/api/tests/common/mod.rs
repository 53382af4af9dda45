//! Helpers shared by the integration tests: the copied OpenAPI spec, schema validation, fast
//! retry settings, and request inspection. Every server here listens on 127.0.0.1.
#![allow(dead_code, clippy::missing_panics_doc)]

use std::time::Duration;

use edgegap_api::{HttpConfig, RetryPolicy};
use serde_json::{Map, Value, json};
use wiremock::matchers;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Tokens used by the tests; no output may ever contain them.
pub const API_TOKEN: &str = "api-tok-5f3c9a1e-secret";
pub const MM_TOKEN: &str = "mm-tok-77b2d0c4-secret";
pub const SB_TOKEN: &str = "sb-tok-0c4e11aa-secret";

/// The spec copied into the crate (tests never read ../shared).
pub fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/spec/edgegap-integration.openapi.json"
    ))
    .expect("spec copied into crates/api/spec");
    serde_json::from_str(&text).expect("spec is JSON")
}

/// Tiny delays so retry tests run in milliseconds.
pub fn fast_config() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
            max_retry_after: Duration::from_millis(20),
        },
        ..HttpConfig::default()
    }
}

pub fn integration_client(server: &MockServer) -> edgegap_api::IntegrationClient {
    edgegap_api::IntegrationClient::builder(edgegap_api::ApiToken::new(API_TOKEN))
        .base_url(server.uri())
        .http_config(fast_config())
        .build()
        .unwrap()
}

pub fn matchmaker_client(server: &MockServer) -> edgegap_api::MatchmakerClient {
    edgegap_api::MatchmakerClient::builder(
        server.uri(),
        edgegap_api::MatchmakerToken::new(MM_TOKEN),
    )
    .http_config(fast_config())
    .build()
    .unwrap()
}

pub fn server_browser_client(server: &MockServer) -> edgegap_api::ServerBrowserClient {
    edgegap_api::ServerBrowserClient::builder(
        server.uri(),
        edgegap_api::ServerBrowserToken::new(SB_TOKEN),
    )
    .http_config(fast_config())
    .build()
    .unwrap()
}

/// An answer with this status and `body` as JSON.
pub fn reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// Mounts a mock that answers every `method` request to `path` with `template`.
pub async fn mount(
    server: &MockServer,
    method: &str,
    path: impl Into<String>,
    template: ResponseTemplate,
) {
    Mock::given(matchers::method(method))
        .and(matchers::path(path))
        .respond_with(template)
        .mount(server)
        .await;
}

/// Starts a server that answers every `method` request, whatever its path, with `template`.
pub async fn answering(method: &str, template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::method(method))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

/// Every request the mock server received, in order.
pub async fn received(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

/// Asserts one request's method, path, exact query (as sorted pairs) and auth header.
pub fn assert_request(req: &Request, method: &str, path: &str, query: &[(&str, &str)], auth: &str) {
    assert_eq!(req.method.as_str(), method, "method of {}", req.url);
    assert_eq!(req.url.path(), path, "path of {}", req.url);
    let mut got: Vec<(String, String)> = req
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    assert_eq!(got, want, "query of {}", req.url);
    let sent_auth = req
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        sent_auth.as_deref(),
        Some(auth),
        "Authorization of {}",
        req.url
    );
}

/// The JSON body of a request (panics when it has none).
pub fn body_json(req: &Request) -> Value {
    serde_json::from_slice(&req.body)
        .unwrap_or_else(|e| panic!("body of {} is not JSON: {e}", req.url))
}

/// OpenAPI 3.0 `nullable: true` becomes a JSON-Schema type union with `null`.
pub fn openapi_to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            let nullable = map.get("nullable") == Some(&Value::Bool(true));
            for (k, v) in map {
                if k == "nullable" {
                    continue;
                }
                if k == "type"
                    && nullable
                    && let Value::String(t) = v
                {
                    out.insert(k.clone(), json!([t, "null"]));
                    continue;
                }
                out.insert(k.clone(), openapi_to_json_schema(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(openapi_to_json_schema).collect()),
        other => other.clone(),
    }
}

/// The operation object for `operationId`, with its path and method.
pub fn operation(spec: &Value, operation_id: &str) -> (String, String, Value) {
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op["operationId"] == operation_id {
                return (path.clone(), method.clone(), op.clone());
            }
        }
    }
    panic!("operation {operation_id} is not in the spec")
}

/// Compiles `schema` with the spec's `components` embedded, so `#/components/schemas/...`
/// references resolve inside the compiled document.
pub fn compile(spec: &Value, schema: &Value) -> jsonschema::Validator {
    let mut doc = openapi_to_json_schema(schema);
    if !doc.is_object() {
        doc = json!({});
    }
    doc.as_object_mut().unwrap().insert(
        "components".into(),
        openapi_to_json_schema(&spec["components"]),
    );
    jsonschema::validator_for(&doc).unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

/// Validates `body` against the request-body schema of `operation_id`, and again with
/// `additionalProperties: false` over the spec's properties (so a misspelt field fails too).
pub fn validate_request_body(spec: &Value, operation_id: &str, body: &Value) {
    let (_, _, op) = operation(spec, operation_id);
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "{operation_id} has no request body schema"
    );
    let validator = compile(spec, schema);
    if let Err(e) = validator.validate(body) {
        panic!("{operation_id} body {body} does not match the spec: {e}");
    }
    if let Some(props) = schema.get("properties") {
        let strict = json!({"type": "object", "properties": props, "additionalProperties": false});
        if let Err(e) = compile(spec, &strict).validate(body) {
            panic!("{operation_id} body {body} has a field the spec does not name: {e}");
        }
    }
}

/// Asserts that no text contains any test token.
pub fn assert_no_token(text: &str) {
    for token in [API_TOKEN, MM_TOKEN, SB_TOKEN] {
        assert!(!text.contains(token), "a token leaked into: {text}");
    }
}

/// Asserts an error's Display, alternate Display and Debug hold no token.
pub fn assert_error_clean(e: &edgegap_api::ApiError) {
    assert_no_token(&e.to_string());
    assert_no_token(&format!("{e:#}"));
    assert_no_token(&format!("{e:?}"));
}
