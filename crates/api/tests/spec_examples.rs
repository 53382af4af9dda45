//! Every response the spec describes parses into this crate's type for that operation.
//!
//! The spec's `example`/`examples` are parsed when present. The extracted spec currently holds
//! none, so for every response schema two instances are also generated (all properties, and
//! only the required ones), checked against the schema itself, parsed into the operation's
//! type, and compared field by field with what the type serialises back.
#![cfg(feature = "http")]

mod common;

use common::{compile, openapi_to_json_schema, spec};
use edgegap_api::integration::{
    EndpointStorage, EndpointStorageList, LocationList, PullProfile, PullProfileLink,
    PullProfileList,
};
use edgegap_api::{BeaconList, ErrorBody};
use serde_json::{Map, Value, json};

/// Parses `value` as the success answer of `operation_id`, returning it re-serialised.
fn parse_success(operation_id: &str, value: &Value) -> Result<Value, String> {
    fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(
        v: &Value,
    ) -> Result<Value, String> {
        let parsed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        Ok(serde_json::to_value(parsed).unwrap())
    }
    match operation_id {
        "location-list" => roundtrip::<LocationList>(value),
        "beacon-list" => {
            let list: BeaconList =
                serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
            list.clone().into_beacons().map_err(|e| e.to_string())?;
            Ok(serde_json::to_value(list).unwrap())
        }
        "endpoint-create" | "endpoint-get" | "endpoint-update" => {
            roundtrip::<EndpointStorage>(value)
        }
        "endpoints-list" => roundtrip::<EndpointStorageList>(value),
        "pull-profile-create" | "pull-profile-get" | "pull-profile-update" => {
            roundtrip::<PullProfile>(value)
        }
        "pull-profile-list" => roundtrip::<PullProfileList>(value),
        "pull-profile-link-app-version" => roundtrip::<PullProfileLink>(value),
        other => Err(format!("no response type known for operation {other}")),
    }
}

/// The operations whose success answer has no body.
const NO_BODY: [&str; 3] = [
    "endpoint-delete",
    "pull-profile-delete",
    "pull-profile-unlink-app-version",
];

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// An instance of `schema`: every property (`full`) or only the required ones.
fn sample(spec: &Value, schema: &Value, name: &str, full: bool) -> Value {
    let schema = resolve(spec, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values[0].clone();
    }
    let nullable = schema.get("nullable") == Some(&Value::Bool(true));
    if nullable && !full {
        return Value::Null;
    }
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or(
        if schema.get("properties").is_some() {
            "object"
        } else {
            ""
        },
    );
    match ty {
        "object" => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, prop) in props {
                    if full || required.contains(&key.as_str()) {
                        out.insert(key.clone(), sample(spec, prop, key, full));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => json!([sample(spec, &schema["items"], name, full)]),
        "string" => Value::String(format!("x-{name}")),
        "integer" => {
            let min = schema
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MIN);
            let max = schema
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX);
            json!(7_i64.clamp(min, max))
        }
        "number" => json!(12.5),
        "boolean" => json!(true),
        _ => json!({}),
    }
}

/// Every value of `want` appears, equal, in `got` (numbers compared as f64).
fn assert_subset(want: &Value, got: &Value, at: &str) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, v) in w {
                let Some(gv) = g.get(k) else {
                    panic!("{at}.{k} was dropped by the parsed type (got {got})")
                };
                assert_subset(v, gv, &format!("{at}.{k}"));
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "{at}: array length");
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                assert_subset(wv, gv, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(w), Value::Number(g)) => assert_eq!(w.as_f64(), g.as_f64(), "{at}"),
        _ => assert_eq!(want, got, "{at}"),
    }
}

#[test]
fn every_response_of_the_spec_parses() {
    let spec = spec();
    let mut operations = 0;
    let mut examples = 0;
    let mut generated = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            operations += 1;
            let id = op["operationId"].as_str().unwrap();
            for (status, response) in op["responses"].as_object().unwrap() {
                let success = status.starts_with('2');
                let Some(content) = response.get("content").and_then(Value::as_object) else {
                    assert!(
                        !success || NO_BODY.contains(&id),
                        "{method} {path} {status} has no body"
                    );
                    continue;
                };
                for (media, body) in content {
                    let mut instances: Vec<(String, Value)> = Vec::new();
                    if let Some(example) = body.get("example") {
                        instances.push((format!("{id} {status} {media} example"), example.clone()));
                        examples += 1;
                    }
                    if let Some(named) = body.get("examples").and_then(Value::as_object) {
                        for (name, ex) in named {
                            instances.push((
                                format!("{id} {status} {media} example {name}"),
                                ex["value"].clone(),
                            ));
                            examples += 1;
                        }
                    }
                    let schema = &body["schema"];
                    let validator = compile(&spec, schema);
                    for full in [true, false] {
                        let s = sample(&spec, schema, "root", full);
                        if let Err(e) = validator.validate(&s) {
                            panic!(
                                "generated {id} {status} instance {s} is not valid for its own schema: {e}"
                            );
                        }
                        instances.push((format!("{id} {status} generated (full: {full})"), s));
                        generated += 1;
                    }
                    for (what, instance) in instances {
                        if success {
                            let back = parse_success(id, &instance)
                                .unwrap_or_else(|e| panic!("{what}: {e}"));
                            assert_subset(&instance, &back, &what);
                        } else {
                            let err: ErrorBody = serde_json::from_value(instance.clone())
                                .unwrap_or_else(|e| panic!("{what}: {e}"));
                            if let Some(m) = instance.get("message") {
                                assert_eq!(m, &Value::String(err.message), "{what}");
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(operations, 14, "the spec has 14 operations");
    assert!(generated >= 2 * 14, "generated {generated} instances");
    eprintln!("parsed {examples} spec examples and {generated} generated instances");
}

#[test]
fn the_nullable_conversion_lets_null_page_numbers_through() {
    let spec = spec();
    let schema =
        openapi_to_json_schema(&json!({"type": "integer", "nullable": true, "minimum": 1}));
    let v = compile(&spec, &schema);
    assert!(v.is_valid(&Value::Null));
    assert!(v.is_valid(&json!(3)));
    assert!(!v.is_valid(&json!(0)));
    assert!(!v.is_valid(&json!("3")));
}
