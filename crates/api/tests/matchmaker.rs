//! The matchmaker client against wiremock on 127.0.0.1: every operation, and the ticket wait.
#![cfg(feature = "http")]
#![allow(clippy::too_many_lines)]

mod common;

use std::time::Duration;

use common::{
    MM_TOKEN, answering, assert_error_clean, assert_request, body_json, matchmaker_client, mount,
    received, reply,
};
use edgegap_api::matchmaker::{
    Assignment, GroupId, MemberId, TicketId, TicketRequest, TicketStatus,
};
use edgegap_api::{ApiError, CancellationToken, WaitOptions};
use serde_json::json;
use wiremock::matchers::{body_json as body_is, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fast_wait() -> WaitOptions {
    WaitOptions {
        poll_interval: Duration::from_millis(10),
        jitter: Duration::from_millis(2),
        max_consecutive_errors: 10,
        timeout: None,
        delete_on_cancel: true,
    }
}

fn ticket(status: &str) -> serde_json::Value {
    json!({"id": "t-1", "profile": "casual", "created_at": "2026-04-24T10:00:00Z",
           "status": status, "player_ip": "198.51.100.7", "group_id": null, "team_id": null,
           "match_id": null, "assignment": null})
}

fn assigned() -> serde_json::Value {
    json!({"id": "t-1", "profile": "casual", "status": "HOST_ASSIGNED", "match_id": "m-9",
           "assignment": {"fqdn": "abc123.pr.edgegap.net", "public_ip": "203.0.113.40",
               "ports": {"gameport": {"internal": 7777, "external": 31504,
                                      "link": "abc123.pr.edgegap.net:31504", "protocol": "UDP"},
                         "web": {"internal": 8080, "external": 30020, "link": "https://abc123.pr.edgegap.net:30020", "protocol": "HTTPS"}},
               "location": {"city": "Chicago", "country": "United States of America",
                            "continent": "North America", "administrative_division": "Illinois",
                            "timezone": "America/Chicago", "latitude": 41.88, "longitude": -87.63}}})
}

/// Waits for ticket `id` on `server` with `options`, never cancelled.
async fn wait(
    server: &MockServer,
    id: &str,
    options: &WaitOptions,
) -> Result<Assignment, ApiError> {
    matchmaker_client(server)
        .wait_for_assignment(&TicketId::from(id), options, &CancellationToken::new())
        .await
}

fn request() -> TicketRequest {
    TicketRequest::new("casual", [("Chicago", 12.3), ("Tokyo", 233.2)])
        .player_ip("198.51.100.7".parse().unwrap())
}

#[tokio::test]
async fn monitor_and_beacons() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/monitor"))
        .and(header("authorization", MM_TOKEN))
        .respond_with(reply(
            200,
            json!({"status": "HEALTHY", "version": "3.2.1", "uptime": 12}),
        ))
        .mount(&server)
        .await;
    let beacons = json!({"count": 2, "beacons": [
        {"fqdn": "b1.example", "public_ip": "203.0.113.1", "tcp_port": 9000, "udp_port": 9001, "location": {"city": "Chicago"}},
        {"fqdn": "b2.example", "public_ip": "203.0.113.2", "udp_port": null, "location": {"city": "Tokyo", "extra": 1}}]});
    mount(&server, "GET", "/locations/beacons", reply(200, beacons)).await;
    let mm = matchmaker_client(&server);
    let health = mm.monitor().await.unwrap();
    assert_eq!(health.status.as_deref(), Some("HEALTHY"));
    assert_eq!(health.extra["uptime"], 12);
    let beacons = mm.beacons().await.unwrap();
    assert_eq!(beacons.len(), 2);
    assert_eq!(beacons[0].host, "203.0.113.1");
    assert_eq!(beacons[0].fqdn.as_deref(), Some("b1.example"));
    assert_eq!(
        (beacons[0].tcp_port, beacons[0].udp_port),
        (Some(9000), Some(9001))
    );
    assert_eq!(beacons[1].udp_port, None);
    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_request(&reqs[0], "GET", "/monitor", &[], MM_TOKEN);
    assert_request(&reqs[1], "GET", "/locations/beacons", &[], MM_TOKEN);
}

#[tokio::test]
async fn tickets_create_get_delete() {
    let server = MockServer::start().await;
    let expected_body = json!({"profile": "casual", "player_ip": "198.51.100.7",
        "attributes": {"beacons": {"Chicago": 12.3, "Tokyo": 233.2}}});
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .and(body_is(expected_body.clone()))
        .respond_with(reply(201, ticket("SEARCHING")))
        .expect(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "GET",
        "/tickets/t-1",
        reply(200, ticket("MATCH_FOUND")),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/tickets/t-1",
        ResponseTemplate::new(204),
    )
    .await;
    let mm = matchmaker_client(&server);
    let created = mm.create_ticket(&request()).await.unwrap();
    assert_eq!(created.id, TicketId::from("t-1"));
    assert_eq!(created.status, TicketStatus::Searching);
    assert_eq!(
        mm.get_ticket(&created.id).await.unwrap().status,
        TicketStatus::MatchFound
    );
    mm.delete_ticket(&created.id).await.unwrap();
    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 3);
    assert_request(&reqs[0], "POST", "/tickets", &[], MM_TOKEN);
    assert_eq!(body_json(&reqs[0]), expected_body);
    assert_request(&reqs[1], "GET", "/tickets/t-1", &[], MM_TOKEN);
    assert_request(&reqs[2], "DELETE", "/tickets/t-1", &[], MM_TOKEN);
}

#[tokio::test]
async fn the_latency_attribute_name_is_configurable() {
    let server = MockServer::start().await;
    mount(&server, "POST", "/tickets", reply(200, ticket("SEARCHING"))).await;
    let req = TicketRequest::new("ranked", [("Paris", 20.0)]).latency_attribute("latencies");
    matchmaker_client(&server)
        .create_ticket(&req)
        .await
        .unwrap();
    assert_eq!(
        body_json(&received(&server).await[0]),
        json!({"profile": "ranked", "attributes": {"latencies": {"Paris": 20.0}}})
    );
}

#[tokio::test]
async fn groups_and_members() {
    let server = MockServer::start().await;
    let created =
        json!({"id": "g-1", "profile": "casual", "status": "SEARCHING", "owner": {"id": "m-0"}});
    mount(&server, "POST", "/groups", reply(201, created)).await;
    let got = json!({"id": "g-1", "members": [{"id": "m-0", "is_ready": true}, {"id": "m-1", "is_ready": false}]});
    mount(&server, "GET", "/groups/g-1", reply(200, got)).await;
    mount(
        &server,
        "POST",
        "/groups/g-1/members",
        reply(
            201,
            json!({"id": "m-1", "group_id": "g-1", "is_ready": false}),
        ),
    )
    .await;
    mount(
        &server,
        "GET",
        "/groups/g-1/members/m-1",
        reply(
            200,
            json!({"id": "m-1", "group_id": "g-1", "is_ready": false, "status": "SEARCHING"}),
        ),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/groups/g-1/members/m-1"))
        .and(body_is(json!({"is_ready": true})))
        .respond_with(reply(
            200,
            json!({"id": "m-1", "group_id": "g-1", "is_ready": true}),
        ))
        .mount(&server)
        .await;
    mount(
        &server,
        "DELETE",
        "/groups/g-1/members/m-1",
        ResponseTemplate::new(204),
    )
    .await;
    mount(&server, "DELETE", "/groups/g-1", ResponseTemplate::new(204)).await;
    let mm = matchmaker_client(&server);
    let group = mm.create_group(&request()).await.unwrap();
    assert_eq!(group.id, GroupId::from("g-1"));
    assert_eq!(group.extra["owner"]["id"], "m-0");
    let g = mm.get_group(&group.id).await.unwrap();
    assert_eq!(g.members.len(), 2);
    assert_eq!(g.members[1].is_ready, Some(false));
    let joined = mm
        .join_group(&group.id, &TicketRequest::new("casual", [("Tokyo", 40.0)]))
        .await
        .unwrap();
    assert_eq!(joined.id, MemberId::from("m-1"));
    let m = mm.get_member(&group.id, &joined.id).await.unwrap();
    assert_eq!(m.status, Some(TicketStatus::Searching));
    let ready = mm
        .set_member_ready(&group.id, &joined.id, true)
        .await
        .unwrap();
    assert_eq!(ready.is_ready, Some(true));
    mm.leave_group(&group.id, &joined.id).await.unwrap();
    mm.delete_group(&group.id).await.unwrap();

    let reqs = received(&server).await;
    assert_eq!(reqs.len(), 7);
    assert_request(&reqs[0], "POST", "/groups", &[], MM_TOKEN);
    assert_eq!(body_json(&reqs[0]), request().to_json());
    assert_request(&reqs[1], "GET", "/groups/g-1", &[], MM_TOKEN);
    assert_request(&reqs[2], "POST", "/groups/g-1/members", &[], MM_TOKEN);
    assert_eq!(
        body_json(&reqs[2]),
        json!({"profile": "casual", "attributes": {"beacons": {"Tokyo": 40.0}}})
    );
    assert_request(&reqs[3], "GET", "/groups/g-1/members/m-1", &[], MM_TOKEN);
    assert_request(&reqs[4], "PATCH", "/groups/g-1/members/m-1", &[], MM_TOKEN);
    assert_eq!(body_json(&reqs[4]), json!({"is_ready": true}));
    assert_request(&reqs[5], "DELETE", "/groups/g-1/members/m-1", &[], MM_TOKEN);
    assert_request(&reqs[6], "DELETE", "/groups/g-1", &[], MM_TOKEN);
}

#[tokio::test]
async fn an_empty_readiness_answer_gives_the_member_as_set() {
    let server = answering("PATCH", ResponseTemplate::new(204)).await;
    let m = matchmaker_client(&server)
        .set_member_ready(&GroupId::from("g"), &MemberId::from("m"), false)
        .await
        .unwrap();
    assert_eq!((m.id.as_str(), m.is_ready), ("m", Some(false)));
}

/// The flow of the issue: create, SEARCHING twice, a 503, then HOST_ASSIGNED.
#[tokio::test]
async fn the_ticket_flow_returns_the_assignment_with_exactly_the_expected_requests() {
    let server = MockServer::start().await;
    mount(&server, "POST", "/tickets", reply(201, ticket("SEARCHING"))).await;
    Mock::given(method("GET"))
        .and(path("/tickets/t-1"))
        .respond_with(reply(200, ticket("SEARCHING")))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tickets/t-1"))
        .respond_with(reply(503, json!({"message": "try again"})))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tickets/t-1"))
        .respond_with(reply(200, assigned()))
        .with_priority(3)
        .mount(&server)
        .await;
    let mm = matchmaker_client(&server);
    let ticket = mm.create_ticket(&request()).await.unwrap();
    let assignment = mm
        .wait_for_assignment(&ticket.id, &fast_wait(), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(assignment.fqdn, "abc123.pr.edgegap.net");
    assert_eq!(assignment.public_ip, "203.0.113.40");
    let game = &assignment.ports["gameport"];
    assert_eq!((game.internal, game.external), (7777, 31504));
    assert_eq!(game.protocol, "UDP");
    assert_eq!(game.link, "abc123.pr.edgegap.net:31504");
    assert_eq!(assignment.ports.len(), 2);
    let location = assignment.location.unwrap();
    assert_eq!(location.city, "Chicago");
    assert_eq!(location.administrative_division, "Illinois");

    let reqs = received(&server).await;
    let seen: Vec<(String, String)> = reqs
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect();
    let want: Vec<(String, String)> = [("POST", "/tickets")]
        .into_iter()
        .chain([("GET", "/tickets/t-1"); 4])
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(
        seen, want,
        "create + SEARCHING + SEARCHING + 503 + HOST_ASSIGNED, nothing else"
    );
    for r in &reqs {
        assert_eq!(
            r.headers.get("authorization").unwrap().to_str().unwrap(),
            MM_TOKEN,
            "raw token, no prefix"
        );
    }
}

#[tokio::test]
async fn a_ticket_cancelled_by_the_matchmaker_ends_the_wait() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/tickets/t-1",
        reply(200, ticket("CANCELLED")),
    )
    .await;
    let err = wait(&server, "t-1", &fast_wait()).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::TicketCancelled { ticket_id } if ticket_id.as_str() == "t-1"),
        "{err}"
    );
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn cancelling_the_wait_deletes_the_ticket() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/tickets/t-1",
        reply(200, ticket("SEARCHING")),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/tickets/t-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mm = matchmaker_client(&server);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(60)).await;
        trigger.cancel();
    });
    let err = mm
        .wait_for_assignment(&TicketId::from("t-1"), &fast_wait(), &cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Cancelled {
                ticket_deleted: true,
                ..
            }
        ),
        "{err}"
    );
    let reqs = received(&server).await;
    assert!(reqs.len() >= 2, "polled at least once before the cancel");
    let last = reqs.last().unwrap();
    assert_request(last, "DELETE", "/tickets/t-1", &[], MM_TOKEN);
    assert_eq!(
        reqs.iter()
            .filter(|r| r.method.as_str() == "DELETE")
            .count(),
        1
    );
}

/// Cancels a wait at once against a matchmaker whose DELETE answers `delete`.
async fn cancelled_wait(delete: ResponseTemplate) -> ApiError {
    let server = answering("DELETE", delete).await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    matchmaker_client(&server)
        .wait_for_assignment(&TicketId::from("t-1"), &fast_wait(), &cancel)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_wait_that_cannot_delete_its_ticket_says_so() {
    let err = cancelled_wait(reply(403, json!({"message": "not yours"}))).await;
    assert!(
        matches!(
            err,
            ApiError::Cancelled {
                ticket_deleted: false,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("could not be deleted"), "{err}");
}

#[tokio::test]
async fn a_cancel_answered_409_says_the_match_was_already_found() {
    let err = cancelled_wait(reply(409, json!({"message": "match already found"}))).await;
    assert!(
        matches!(&err, ApiError::AlreadyMatched { ticket_id } if ticket_id.as_str() == "t-1"),
        "{err}"
    );
    assert!(err.to_string().contains("already found its match"), "{err}");
}

#[tokio::test]
async fn the_wait_times_out_and_deletes_the_ticket() {
    let server = answering("GET", reply(200, ticket("SEARCHING"))).await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let options = WaitOptions {
        timeout: Some(Duration::from_millis(80)),
        ..fast_wait()
    };
    let err = wait(&server, "t-1", &options).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::WaitTimedOut {
                ticket_deleted: true,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_wait_gives_up_after_the_configured_consecutive_errors() {
    let server = answering("GET", reply(500, json!({"message": "boom"}))).await;
    let options = WaitOptions {
        max_consecutive_errors: 4,
        ..fast_wait()
    };
    let err = wait(&server, "t-1", &options).await.unwrap_err();
    match &err {
        ApiError::TooManyErrors { errors, last, .. } => {
            assert_eq!(*errors, 4);
            assert!(
                matches!(
                    **last,
                    ApiError::Server {
                        status: 500,
                        attempts: 1,
                        ..
                    }
                ),
                "{last}"
            );
        }
        other => panic!("expected TooManyErrors, got {other}"),
    }
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.message(), Some("boom"));
    assert_eq!(
        received(&server).await.len(),
        4,
        "one GET per counted error, no hidden retries"
    );
    assert_error_clean(&err);
}

#[tokio::test]
async fn rate_limits_during_the_wait_are_retried_and_reset_the_error_count() {
    let server = MockServer::start().await;
    // 429, 429, SEARCHING, 429, 429, HOST_ASSIGNED: never 3 errors in a row.
    let steps = [
        (
            2,
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        ),
        (1, reply(200, ticket("SEARCHING"))),
        (2, ResponseTemplate::new(429)),
        (1, reply(200, assigned())),
    ];
    for (priority, (times, template)) in (1u8..).zip(steps) {
        Mock::given(method("GET"))
            .respond_with(template)
            .up_to_n_times(times)
            .with_priority(priority)
            .mount(&server)
            .await;
    }
    let options = WaitOptions {
        max_consecutive_errors: 3,
        ..fast_wait()
    };
    let started = std::time::Instant::now();
    let assignment = wait(&server, "t-1", &options).await.unwrap();
    assert_eq!(assignment.fqdn, "abc123.pr.edgegap.net");
    assert_eq!(received(&server).await.len(), 6);
    // Retry-After: 1 s is capped by the policy (20 ms in these tests).
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_vanished_ticket_ends_the_wait_at_once() {
    let server = answering("GET", reply(404, json!({"message": "ticket not found"}))).await;
    let err = wait(&server, "gone", &fast_wait()).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::NotFound { resource, .. } if resource.contains("gone")),
        "{err}"
    );
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn a_prefixed_token_is_sent_raw() {
    let server = answering("GET", reply(200, json!({}))).await;
    let mm = edgegap_api::MatchmakerClient::new(
        server.uri(),
        edgegap_api::MatchmakerToken::new(format!("Bearer {MM_TOKEN}")),
    )
    .unwrap();
    mm.monitor().await.unwrap();
    assert_request(
        &received(&server).await[0],
        "GET",
        "/monitor",
        &[],
        MM_TOKEN,
    );
}
