//! The matchmaker's rules, without sockets.

use serde_json::{Value, json};

use super::state::MatchmakerState;
use super::{Fault, HttpRequest, MatchmakerConfig};

const TOKEN: &str = "sim-token";

fn request(method: &str, path: &str, body: &Value) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        path: path.into(),
        headers: vec![("authorization".into(), TOKEN.into())],
        body: if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        },
    }
}

fn call(state: &mut MatchmakerState, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = state.handle(&request(method, path, body));
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

fn ticket_body() -> Value {
    json!({"profile": "casual", "attributes": {"beacons": {"Chicago": 12.0}}})
}

#[test]
fn a_ticket_goes_searching_match_found_host_assigned() {
    let mut s = MatchmakerState::new(MatchmakerConfig::default());
    let (status, t) = call(&mut s, "POST", "/tickets", &ticket_body());
    assert_eq!((status, t["status"].as_str()), (201, Some("SEARCHING")));
    let path = format!("/tickets/{}", t["id"].as_str().unwrap());
    let statuses: Vec<String> = (0..3)
        .map(|_| {
            call(&mut s, "GET", &path, &Value::Null).1["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(statuses, ["SEARCHING", "MATCH_FOUND", "HOST_ASSIGNED"]);
    let (_, t) = call(&mut s, "GET", &path, &Value::Null);
    assert_eq!(t["assignment"]["fqdn"], "sim-server.local");
    assert_eq!(
        call(&mut s, "DELETE", &path, &Value::Null).0,
        409,
        "matched: no delete"
    );
}

#[test]
fn delete_while_searching_then_404() {
    let mut s = MatchmakerState::new(MatchmakerConfig::default());
    let (_, t) = call(&mut s, "POST", "/tickets", &ticket_body());
    let path = format!("/tickets/{}", t["id"].as_str().unwrap());
    assert_eq!(call(&mut s, "DELETE", &path, &Value::Null).0, 204);
    assert_eq!(call(&mut s, "GET", &path, &Value::Null).0, 404);
    assert_eq!(call(&mut s, "DELETE", &path, &Value::Null).0, 404);
}

#[test]
fn the_token_is_checked_raw() {
    let mut s = MatchmakerState::new(MatchmakerConfig::default());
    let mut r = request("GET", "/monitor", &Value::Null);
    assert_eq!(s.handle(&r).status, 200);
    r.headers = vec![("authorization".into(), format!("Bearer {TOKEN}"))];
    assert_eq!(s.handle(&r).status, 401);
    r.headers.clear();
    assert_eq!(s.handle(&r).status, 401);
}

#[test]
fn faults_are_injected_in_order_and_run_out() {
    let mut s = MatchmakerState::new(MatchmakerConfig {
        faults: vec![
            Fault {
                method: Some("GET".into()),
                path_prefix: Some("tickets/".into()),
                status: 429,
                retry_after: Some(2),
                times: 1,
            },
            Fault {
                method: None,
                path_prefix: Some("tickets/".into()),
                status: 503,
                retry_after: None,
                times: 2,
            },
        ],
        ..MatchmakerConfig::default()
    });
    let (_, t) = call(&mut s, "POST", "/tickets", &ticket_body());
    let path = format!("/tickets/{}", t["id"].as_str().unwrap());
    let first = s.handle(&request("GET", &path, &Value::Null));
    assert_eq!((first.status, first.retry_after), (429, Some(2)));
    let next: Vec<u16> = (0..3)
        .map(|_| call(&mut s, "GET", &path, &Value::Null).0)
        .collect();
    assert_eq!(next, [503, 503, 200]);
}

#[test]
fn bad_ticket_bodies_are_400() {
    let mut s = MatchmakerState::new(MatchmakerConfig::default());
    assert_eq!(
        call(&mut s, "POST", "/tickets", &json!({"profile": "p"})).0,
        400
    );
    let mut r = request("POST", "/tickets", &Value::Null);
    r.body = b"{not json".to_vec();
    assert_eq!(s.handle(&r).status, 400);
}

#[test]
fn a_group_matches_once_every_member_is_ready() {
    let mut s = MatchmakerState::new(MatchmakerConfig::default());
    let (status, g) = call(&mut s, "POST", "/groups", &ticket_body());
    assert_eq!(status, 201);
    let gid = g["id"].as_str().unwrap().to_owned();
    let owner = g["member_id"].as_str().unwrap().to_owned();
    let (status, m) = call(
        &mut s,
        "POST",
        &format!("/groups/{gid}/members"),
        &ticket_body(),
    );
    assert_eq!(status, 201);
    let member = m["id"].as_str().unwrap().to_owned();
    let owner_path = format!("/groups/{gid}/members/{owner}");
    let member_path = format!("/groups/{gid}/members/{member}");
    for _ in 0..4 {
        assert_eq!(
            call(&mut s, "GET", &owner_path, &Value::Null).1["status"],
            "SEARCHING"
        );
    }
    assert_eq!(
        call(&mut s, "PATCH", &owner_path, &json!({"is_ready": true})).0,
        200
    );
    assert_eq!(
        call(&mut s, "PATCH", &member_path, &json!({"is_ready": true})).0,
        200
    );
    let statuses: Vec<Value> = (0..3)
        .map(|_| call(&mut s, "GET", &member_path, &Value::Null).1["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [
            json!("SEARCHING"),
            json!("MATCH_FOUND"),
            json!("HOST_ASSIGNED")
        ]
    );
    assert_eq!(
        call(&mut s, "GET", &format!("/groups/{gid}"), &Value::Null).1["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        call(&mut s, "DELETE", &owner_path, &Value::Null).0,
        204,
        "the owner still searches"
    );
    assert_eq!(
        call(&mut s, "DELETE", &format!("/groups/{gid}"), &Value::Null).0,
        204
    );
    assert_eq!(call(&mut s, "GET", &member_path, &Value::Null).0, 404);
}
