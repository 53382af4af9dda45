//! The server browser client against wiremock on 127.0.0.1.
#![cfg(feature = "http")]

mod common;

use common::{
    SB_TOKEN, answering, assert_request, body_json, mount, received, reply, server_browser_client,
};
use edgegap_api::ApiError;
use edgegap_api::server_browser::{
    ReservationUser, ReservationUsers, SeatReservationRequest, ServerInstanceId,
    ServerInstanceQuery,
};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use wiremock::matchers::{method, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn instance(id: &str, city: &str) -> serde_json::Value {
    json!({"request_id": id, "status": "READY", "fqdn": format!("{id}.example"),
           "metadata": {"city": city, "map": "dust"}, "seats": {"free": 3}})
}

#[tokio::test]
async fn list_sends_filter_order_limit_and_cursor() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/server-instances",
        reply(
            200,
            json!({
            "server_instances": [instance("a1", "Paris")], "next_cursor": "c2"}),
        ),
    )
    .await;
    let sb = server_browser_client(&server);
    let query = ServerInstanceQuery {
        filter: Some("metadata.city eq 'Paris'".into()),
        order: Some("-created_at".into()),
        limit: Some(20),
        cursor: Some("c1".into()),
    };
    let page = sb.list_server_instances(&query).await.unwrap();
    assert_eq!(
        page.server_instances[0].request_id,
        ServerInstanceId::from("a1")
    );
    assert_eq!(page.server_instances[0].metadata["city"], "Paris");
    assert_eq!(page.server_instances[0].extra["seats"]["free"], 3);
    assert_eq!(page.next_cursor(), Some("c2"));
    assert_request(
        &received(&server).await[0],
        "GET",
        "/server-instances",
        &[
            ("filter", "metadata.city eq 'Paris'"),
            ("order", "-created_at"),
            ("limit", "20"),
            ("cursor", "c1"),
        ],
        SB_TOKEN,
    );
}

#[tokio::test]
async fn the_stream_follows_the_cursor_to_the_end() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param_is_missing("cursor"))
        .respond_with(reply(200, json!({
            "server_instances": [instance("a", "Paris"), instance("b", "Oslo")], "next_cursor": "p2"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("cursor", "p2"))
        .respond_with(reply(
            200,
            json!({
            "server_instances": [instance("c", "Tokyo")], "pagination": {"next_cursor": "p3"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("cursor", "p3"))
        .respond_with(reply(
            200,
            json!({
            "server_instances": [instance("d", "Lima")], "next_cursor": null}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let ids: Vec<String> = server_browser_client(&server)
        .server_instances_stream(ServerInstanceQuery {
            filter: Some("x".into()),
            limit: Some(2),
            ..Default::default()
        })
        .map_ok(|i| i.request_id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 3);
    assert_request(
        &reqs[1],
        "GET",
        "/server-instances",
        &[("filter", "x"), ("limit", "2"), ("cursor", "p2")],
        SB_TOKEN,
    );
}

#[tokio::test]
async fn a_server_repeating_its_cursor_cannot_loop_the_stream() {
    let server = answering(
        "GET",
        reply(
            200,
            json!({
            "server_instances": [instance("a", "Paris")], "next_cursor": "same"}),
        ),
    )
    .await;
    let items: Vec<_> = server_browser_client(&server)
        .server_instances_stream(ServerInstanceQuery::default())
        .collect()
        .await;
    assert_eq!(
        items.len(),
        1,
        "first page, then the page of cursor `same` (the same page: not passed on again), then stop"
    );
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn get_reserve_and_confirm() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/server-instances/a1",
        reply(200, instance("a1", "Paris")),
    )
    .await;
    mount(
        &server,
        "POST",
        "/server-instances/reservations",
        reply(
            201,
            json!({"request_id": "a1", "reservations": [{"user_id": "u1", "slot": "red"}]}),
        ),
    )
    .await;
    mount(
        &server,
        "POST",
        "/server-instances/a1/slots/red/reservations",
        reply(201, json!({"request_id": "a1"})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/server-instances/a1/reservations/confirm",
        ResponseTemplate::new(204),
    )
    .await;
    let sb = server_browser_client(&server);
    let one = sb
        .get_server_instance(&ServerInstanceId::from("a1"))
        .await
        .unwrap();
    assert_eq!(one.fqdn.as_deref(), Some("a1.example"));
    let reservation = sb
        .reserve_seats(&SeatReservationRequest {
            policy_name: "casual".into(),
            users: vec![ReservationUser::new("u1"), ReservationUser::new("u2")],
        })
        .await
        .unwrap();
    assert_eq!(reservation.request_id, Some(ServerInstanceId::from("a1")));
    assert_eq!(reservation.extra["reservations"][0]["slot"], "red");
    let users = ReservationUsers {
        users: vec![ReservationUser::new("u3")],
    };
    sb.reserve_slot(&ServerInstanceId::from("a1"), "red", &users)
        .await
        .unwrap();
    let confirmed = sb
        .confirm_reservations(&ServerInstanceId::from("a1"), &users)
        .await
        .unwrap();
    assert!(
        confirmed.extra.is_empty(),
        "an empty answer is an empty confirmation"
    );

    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 4);
    assert_request(&reqs[0], "GET", "/server-instances/a1", &[], SB_TOKEN);
    assert_request(
        &reqs[1],
        "POST",
        "/server-instances/reservations",
        &[],
        SB_TOKEN,
    );
    assert_eq!(
        body_json(&reqs[1]),
        json!({"policy_name": "casual", "users": [{"user_id": "u1"}, {"user_id": "u2"}]})
    );
    assert_request(
        &reqs[2],
        "POST",
        "/server-instances/a1/slots/red/reservations",
        &[],
        SB_TOKEN,
    );
    assert_eq!(body_json(&reqs[2]), json!({"users": [{"user_id": "u3"}]}));
    assert_request(
        &reqs[3],
        "POST",
        "/server-instances/a1/reservations/confirm",
        &[],
        SB_TOKEN,
    );
    assert_eq!(body_json(&reqs[3]), json!({"users": [{"user_id": "u3"}]}));
}

#[tokio::test]
async fn a_refused_server_browser_token_gets_the_raw_token_hint() {
    let server = answering("GET", reply(401, json!({"message": "no"}))).await;
    let err = server_browser_client(&server)
        .get_server_instance(&ServerInstanceId::from("a1"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("send the token raw"), "{err}");
    common::assert_error_clean(&err);
}
