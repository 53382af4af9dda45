//! The flows driven with canned answers and a made-up clock: every path, deterministically.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::error::ApiError;
use crate::matchmaker::{GroupId, TicketRequest, TicketStatus};
use crate::token::MatchmakerToken;

const TOKEN: &str = "mm-secret-token-123";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn options() -> FlowOptions {
    FlowOptions {
        poll_interval: ms(1000),
        jitter: ms(200),
        max_consecutive_errors: 3,
        ..FlowOptions::default()
    }
}

fn request() -> TicketRequest {
    TicketRequest::new("casual", [("Chicago", 12.5)])
}

fn ticket_flow() -> MatchmakingFlow {
    MatchmakingFlow::ticket(MatchmakerToken::new(TOKEN), &request(), options())
}

fn ticket(status: &str) -> String {
    json!({"id": "t-1", "profile": "casual", "status": status}).to_string()
}

fn assigned() -> String {
    json!({"id": "t-1", "status": "HOST_ASSIGNED", "assignment": {"fqdn": "s.example",
        "public_ip": "203.0.113.9", "ports": {"game": {"internal": 7777, "external": 31000,
        "link": "s.example:31000", "protocol": "UDP"}}, "location": {"city": "Chicago"}}})
    .to_string()
}

/// The request due at `now`, as (method, path); panics when the flow wants something else.
fn send(flow: &mut MatchmakingFlow, now: Duration) -> (HttpMethod, String) {
    match flow.step(now) {
        FlowStep::Send(r) => (r.method(), r.path()),
        other => panic!("expected a request at {now:?}, got {other:?}"),
    }
}

fn wake(flow: &mut MatchmakingFlow, now: Duration) -> Duration {
    match flow.step(now) {
        FlowStep::WaitUntil(at) => at,
        other => panic!("expected a wait at {now:?}, got {other:?}"),
    }
}

fn answer(flow: &mut MatchmakingFlow, now: Duration, status: u16, body: &str) {
    assert!(flow.on_response(now, &FlowResponse::new(status, body)));
}

fn error(flow: &MatchmakingFlow) -> &ApiError {
    match flow.outcome() {
        Some(Err(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Creates the ticket at 0 and answers it at 10 ms; returns when the first poll is due.
fn created(flow: &mut MatchmakingFlow) -> Duration {
    assert_eq!(send(flow, ms(0)), (HttpMethod::Post, "tickets".into()));
    answer(flow, ms(10), 201, &ticket("SEARCHING"));
    wake(flow, ms(10))
}

#[test]
fn searching_then_match_found_then_host_assigned_gives_the_assignment() {
    let mut flow = ticket_flow();
    let FlowStep::Send(create) = flow.step(ms(0)) else {
        panic!("create first")
    };
    let body: serde_json::Value = serde_json::from_str(create.body().unwrap()).unwrap();
    assert_eq!(body, request().to_json());
    assert_eq!(flow.step(ms(5)), FlowStep::AwaitingResponse);
    answer(&mut flow, ms(10), 201, &ticket("SEARCHING"));
    assert_eq!(flow.ticket_id().unwrap().as_str(), "t-1");
    let mut now = ms(10);
    for status in ["SEARCHING", "MATCH_FOUND"] {
        let at = wake(&mut flow, now);
        assert!(at >= now + ms(800) && at <= now + ms(1200), "{at:?}");
        assert_eq!(flow.next_wakeup(), Some(at));
        assert_eq!(send(&mut flow, at), (HttpMethod::Get, "tickets/t-1".into()));
        answer(&mut flow, at + ms(5), 200, &ticket(status));
        now = at + ms(5);
    }
    assert_eq!(flow.status(), Some(TicketStatus::MatchFound));
    let at = wake(&mut flow, now);
    send(&mut flow, at);
    answer(&mut flow, at, 200, &assigned());
    let Some(Ok(a)) = flow.outcome() else {
        panic!("{:?}", flow.outcome())
    };
    assert_eq!(a.fqdn, "s.example");
    assert_eq!(a.ports["game"].external, 31000);
    assert_eq!(flow.step(at), FlowStep::Finished);
    assert!(
        !flow.on_response(at, &FlowResponse::new(200, "")),
        "nothing was out"
    );
}

#[test]
fn a_429_waits_for_its_retry_after_and_a_success_resets_the_count() {
    let mut flow = ticket_flow();
    let first = created(&mut flow);
    send(&mut flow, first);
    let limited = FlowResponse::new(429, r#"{"message": "slow down"}"#).header("Retry-After", "7");
    assert!(flow.on_response(first, &limited));
    assert_eq!(wake(&mut flow, first), first + ms(7000));
    send(&mut flow, first + ms(7000));
    answer(&mut flow, first + ms(7000), 200, &ticket("SEARCHING"));
    // Two more errors would end a flow that had not reset its count (max 3).
    let mut now = wake(&mut flow, first + ms(7000));
    for _ in 0..2 {
        send(&mut flow, now);
        answer(&mut flow, now, 503, "down");
        now = wake(&mut flow, now);
    }
    assert!(!flow.is_finished());
}

#[test]
fn a_retry_after_longer_than_the_cap_is_cut() {
    let mut flow = ticket_flow();
    let first = created(&mut flow);
    send(&mut flow, first);
    flow.on_response(
        first,
        &FlowResponse::new(429, "").header("retry-after", "3600"),
    );
    assert_eq!(wake(&mut flow, first), first + ms(10_000));
}

#[test]
fn a_streak_of_server_errors_gives_up_after_the_configured_count() {
    let mut flow = ticket_flow();
    let mut now = created(&mut flow);
    for n in 1..=3 {
        send(&mut flow, now);
        answer(&mut flow, now, 500 + n, r#"{"message": "boom"}"#);
        if n < 3 {
            let at = wake(&mut flow, now);
            assert!(at >= now + ms(1000), "at least the poll interval");
            now = at;
        }
    }
    match error(&flow) {
        ApiError::TooManyErrors {
            errors,
            last,
            ticket_id,
        } => {
            assert_eq!(*errors, 3);
            assert_eq!(ticket_id.as_str(), "t-1");
            assert_eq!(last.status(), Some(503));
            assert_eq!(last.message(), Some("boom"));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn transport_failures_count_as_errors_and_never_leak_the_token() {
    let mut flow = ticket_flow();
    let mut now = created(&mut flow);
    for _ in 0..3 {
        send(&mut flow, now);
        assert!(flow.on_transport_error(now, &format!("connection refused ({TOKEN})")));
        if !flow.is_finished() {
            now = wake(&mut flow, now);
        }
    }
    let e = error(&flow);
    assert!(matches!(e, ApiError::TooManyErrors { .. }), "{e}");
    let text = format!("{e} {e:?} {flow:?}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[test]
fn a_vanished_ticket_ends_the_flow_at_once() {
    let mut flow = ticket_flow();
    let at = created(&mut flow);
    send(&mut flow, at);
    answer(&mut flow, at, 404, r#"{"message": "ticket not found"}"#);
    assert!(
        matches!(error(&flow), ApiError::NotFound { resource, .. } if resource.contains("t-1")),
        "{}",
        error(&flow)
    );
}

#[test]
fn cancel_mid_poll_sends_delete_after_the_answer() {
    let mut flow = ticket_flow();
    let at = created(&mut flow);
    send(&mut flow, at);
    flow.cancel();
    assert_eq!(flow.step(at), FlowStep::AwaitingResponse);
    answer(&mut flow, at + ms(3), 200, &ticket("SEARCHING"));
    assert_eq!(
        send(&mut flow, at + ms(3)),
        (HttpMethod::Delete, "tickets/t-1".into())
    );
    answer(&mut flow, at + ms(6), 204, "");
    assert!(matches!(
        error(&flow),
        ApiError::Cancelled { ticket_deleted: true, ticket_id } if ticket_id.as_str() == "t-1"
    ));
}

#[test]
fn cancel_while_waiting_deletes_at_once_and_404_counts_as_deleted() {
    let mut flow = ticket_flow();
    created(&mut flow);
    flow.cancel();
    assert_eq!(send(&mut flow, ms(11)).0, HttpMethod::Delete);
    answer(&mut flow, ms(12), 404, "");
    assert!(matches!(
        error(&flow),
        ApiError::Cancelled {
            ticket_deleted: true,
            ..
        }
    ));
}

#[test]
fn a_409_on_delete_means_already_matched() {
    let mut flow = ticket_flow();
    created(&mut flow);
    flow.cancel();
    send(&mut flow, ms(11));
    answer(&mut flow, ms(12), 409, r#"{"message": "match found"}"#);
    let e = error(&flow);
    assert!(matches!(e, ApiError::AlreadyMatched { .. }), "{e}");
    assert_eq!(e.status(), Some(409));
}

#[test]
fn cancel_before_the_create_answer_deletes_the_new_ticket() {
    let mut flow = ticket_flow();
    send(&mut flow, ms(0));
    flow.cancel();
    answer(&mut flow, ms(10), 201, &ticket("SEARCHING"));
    assert_eq!(
        send(&mut flow, ms(10)),
        (HttpMethod::Delete, "tickets/t-1".into())
    );
}

#[test]
fn cancel_before_anything_was_sent_sends_nothing() {
    let mut flow = ticket_flow();
    flow.cancel();
    assert_eq!(flow.step(ms(0)), FlowStep::Finished);
    assert!(matches!(
        error(&flow),
        ApiError::CancelledBeforeEntry { .. }
    ));
}

#[test]
fn the_timeout_deletes_the_ticket() {
    let mut flow = MatchmakingFlow::ticket(
        MatchmakerToken::new(TOKEN),
        &request(),
        FlowOptions {
            timeout: Some(ms(1500)),
            ..options()
        },
    );
    let at = created(&mut flow);
    send(&mut flow, at);
    answer(&mut flow, at, 200, &ticket("SEARCHING"));
    assert_eq!(wake(&mut flow, at), ms(1500), "the deadline comes first");
    assert_eq!(send(&mut flow, ms(1500)).0, HttpMethod::Delete);
    answer(&mut flow, ms(1501), 204, "");
    assert!(matches!(
        error(&flow),
        ApiError::WaitTimedOut {
            ticket_deleted: true,
            ..
        }
    ));
}

#[test]
fn malformed_bodies_are_clear_errors() {
    for body in ["not json", r#"{"status": "SEARCHING"}"#, "", r#"{"id": 5}"#] {
        let mut flow = ticket_flow();
        send(&mut flow, ms(0));
        answer(&mut flow, ms(1), 201, body);
        let e = error(&flow);
        assert!(matches!(e, ApiError::Json { .. }), "{body:?}: {e}");
        assert!(e.to_string().contains("create ticket"), "{e}");
    }
    let mut flow = ticket_flow();
    let at = created(&mut flow);
    send(&mut flow, at);
    answer(&mut flow, at, 200, "[1, 2");
    assert!(matches!(error(&flow), ApiError::Json { .. }));
}

#[test]
fn a_create_is_retried_on_429_only() {
    let mut flow = ticket_flow();
    send(&mut flow, ms(0));
    flow.on_response(
        ms(1),
        &FlowResponse::new(429, "").header("Retry-After", "2"),
    );
    assert_eq!(wake(&mut flow, ms(1)), ms(2001));
    assert_eq!(send(&mut flow, ms(2001)).0, HttpMethod::Post);
    answer(&mut flow, ms(2002), 503, "");
    assert!(matches!(error(&flow), ApiError::Server { status: 503, .. }));
}

#[test]
fn the_matchmaker_cancelling_ends_the_flow() {
    let mut flow = ticket_flow();
    let at = created(&mut flow);
    send(&mut flow, at);
    answer(&mut flow, at, 200, &ticket("CANCELLED"));
    assert!(matches!(error(&flow), ApiError::TicketCancelled { .. }));
}

#[test]
fn a_group_owner_creates_gets_ready_polls_and_leaves() {
    let token = MatchmakerToken::new(TOKEN);
    let mut flow = MatchmakingFlow::create_group(token, &request(), options());
    assert_eq!(send(&mut flow, ms(0)), (HttpMethod::Post, "groups".into()));
    answer(
        &mut flow,
        ms(1),
        201,
        r#"{"id": "g-1", "member_id": "m-1"}"#,
    );
    assert_eq!(flow.group_id().unwrap().as_str(), "g-1");
    assert_eq!(flow.member_id().unwrap().as_str(), "m-1");
    flow.set_ready(true).unwrap();
    let FlowStep::Send(ready) = flow.step(ms(2)) else {
        panic!("ready is sent at once")
    };
    assert_eq!(ready.method(), HttpMethod::Patch);
    assert_eq!(ready.path(), "groups/g-1/members/m-1");
    assert_eq!(ready.body(), Some(r#"{"is_ready":true}"#));
    answer(&mut flow, ms(3), 200, "");
    let at = wake(&mut flow, ms(3));
    assert_eq!(
        send(&mut flow, at),
        (HttpMethod::Get, "groups/g-1/members/m-1".into())
    );
    answer(
        &mut flow,
        at,
        200,
        r#"{"id": "m-1", "status": "SEARCHING", "is_ready": true}"#,
    );
    flow.cancel();
    assert_eq!(
        send(&mut flow, at),
        (HttpMethod::Delete, "groups/g-1/members/m-1".into())
    );
    answer(&mut flow, at, 204, "");
    assert!(matches!(
        error(&flow),
        ApiError::Cancelled {
            ticket_deleted: true,
            ..
        }
    ));
}

#[test]
fn a_member_joins_with_its_own_latencies_and_gets_the_assignment() {
    let mut flow = MatchmakingFlow::join_group(
        MatchmakerToken::new(TOKEN),
        GroupId::new("g 1"),
        &TicketRequest::new("casual", [("Tokyo", 40.0)]),
        options(),
    );
    let FlowStep::Send(join) = flow.step(ms(0)) else {
        panic!("join first")
    };
    assert_eq!(join.path(), "groups/g%201/members");
    assert!(join.body().unwrap().contains("Tokyo"));
    answer(
        &mut flow,
        ms(1),
        201,
        r#"{"id": "m-2", "status": "SEARCHING"}"#,
    );
    let at = wake(&mut flow, ms(1));
    send(&mut flow, at);
    let member = assigned().replace("\"t-1\"", "\"m-2\"");
    answer(&mut flow, at, 200, &member);
    assert!(matches!(flow.outcome(), Some(Ok(a)) if a.fqdn == "s.example"));
}

#[test]
fn a_group_answer_without_the_owners_membership_is_a_clear_error() {
    let mut flow =
        MatchmakingFlow::create_group(MatchmakerToken::new(TOKEN), &request(), options());
    send(&mut flow, ms(0));
    answer(&mut flow, ms(1), 201, r#"{"id": "g-1"}"#);
    assert!(matches!(error(&flow), ApiError::Schema { .. }));
}

#[test]
fn readiness_is_refused_for_a_ticket() {
    assert!(ticket_flow().set_ready(true).is_err());
}

#[test]
fn resuming_a_ticket_polls_it_first() {
    let mut flow =
        MatchmakingFlow::resume_ticket(MatchmakerToken::new(TOKEN), "t-9".into(), options());
    assert_eq!(
        send(&mut flow, ms(0)),
        (HttpMethod::Get, "tickets/t-9".into())
    );
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    let schedule = || {
        let mut flow = ticket_flow();
        let mut now = created(&mut flow);
        let mut times = vec![now];
        for _ in 0..5 {
            send(&mut flow, now);
            answer(&mut flow, now, 200, &ticket("SEARCHING"));
            now = wake(&mut flow, now);
            times.push(now);
        }
        times
    };
    assert_eq!(schedule(), schedule());
}
