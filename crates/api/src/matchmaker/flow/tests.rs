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

mod any_answers {
    //! Whatever the matchmaker answers, in whatever order, with cancels anywhere: the flow never
    //! panics, never asks for two requests at once, never goes back in time, and ends.

    use proptest::prelude::*;

    use super::*;

    /// Statuses a matchmaker (or a proxy in front of it) may send.
    fn status() -> impl Strategy<Value = u16> {
        prop_oneof![
            Just(200_u16),
            Just(201),
            Just(204),
            Just(400),
            Just(401),
            Just(404),
            Just(409),
            Just(429),
            Just(500),
            Just(503),
            100_u16..600,
        ]
    }

    /// Bodies: valid tickets and members in every status, broken JSON, bytes.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(ticket("SEARCHING").into_bytes()),
            Just(ticket("MATCH_FOUND").into_bytes()),
            Just(ticket("CANCELLED").into_bytes()),
            Just(assigned().into_bytes()),
            Just(br#"{"id": "g", "member_id": "m"}"#.to_vec()),
            Just(br#"{"id": "t", "status": "HOST_ASSIGNED"}"#.to_vec()),
            Just(b"{\"id\": ".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..64),
        ]
    }

    /// `Retry-After` values, good and bad.
    fn retry_after() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![
            Just("0".to_owned()),
            Just("3".to_owned()),
            Just("999999999999".to_owned()),
            Just("-1".to_owned()),
            Just("soon".to_owned()),
        ])
    }

    /// An answer, or a transport failure (`None`).
    type Answer = Option<(u16, Vec<u8>, Option<String>)>;

    fn flow(kind: u8) -> MatchmakingFlow {
        let token = MatchmakerToken::new(TOKEN);
        match kind {
            0 => MatchmakingFlow::ticket(token, &request(), options()),
            1 => MatchmakingFlow::create_group(token, &request(), options()),
            2 => MatchmakingFlow::join_group(token, GroupId::new("g"), &request(), options()),
            _ => MatchmakingFlow::resume_ticket(token, "t".into(), options()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn the_flow_survives_any_answers(
            kind in 0_u8..4,
            answers in proptest::collection::vec(
                proptest::option::weighted(0.9, (status(), body(), retry_after())), 1..60),
            cancel_at in proptest::option::of(0_usize..60),
            ready_at in proptest::option::of(0_usize..60),
        ) {
            let answers: Vec<Answer> = answers;
            let mut flow = flow(kind);
            let mut now = Duration::ZERO;
            let mut sent = 0_usize;
            let mut finished = false;
            while sent < answers.len() {
                if cancel_at == Some(sent) {
                    flow.cancel();
                }
                if ready_at == Some(sent) {
                    let _ = flow.set_ready(true);
                }
                match flow.step(now) {
                    FlowStep::Send(request) => {
                        prop_assert!(!request.path().is_empty());
                        prop_assert_eq!(flow.step(now), FlowStep::AwaitingResponse);
                        now += ms(7);
                        let taken = match &answers[sent] {
                            Some((status, body, after)) => {
                                let mut r = FlowResponse::new(*status, body.clone());
                                if let Some(after) = after {
                                    r = r.header("Retry-After", after);
                                }
                                flow.on_response(now, &r)
                            }
                            None => flow.on_transport_error(now, "reset"),
                        };
                        prop_assert!(taken);
                        prop_assert!(!flow.on_transport_error(now, "twice"), "one answer per request");
                        sent += 1;
                    }
                    FlowStep::WaitUntil(at) => {
                        prop_assert!(at > now, "a wait ends in the future");
                        prop_assert!(at.saturating_sub(now) <= Duration::from_secs(11), "no wait beyond the caps");
                        now = at;
                    }
                    FlowStep::AwaitingResponse => prop_assert!(false, "nothing was out"),
                    FlowStep::Finished => {
                        finished = true;
                        break;
                    }
                }
            }
            if finished {
                prop_assert!(flow.is_finished() && flow.outcome().is_some());
                if let Some(Err(e)) = flow.outcome() {
                    let text = format!("{e} {e:?}");
                    prop_assert!(!text.contains(TOKEN), "{}", text);
                }
            }
            let shown = format!("{flow:?}");
            prop_assert!(!shown.contains(TOKEN), "Debug never shows the token");
        }

        #[test]
        fn nothing_but_errors_ends_the_flow_within_its_budget(
            kind in 0_u8..4,
            errors in proptest::collection::vec(
                prop_oneof![Just(Some(500_u16)), Just(Some(503)), Just(Some(429)), Just(None)], 8),
            cancel_first in any::<bool>(),
        ) {
            let mut flow = flow(kind);
            if cancel_first {
                flow.cancel();
            }
            let mut now = Duration::ZERO;
            let mut sent = 0_usize;
            while sent < errors.len() {
                match flow.step(now) {
                    FlowStep::Send(_) => {
                        now += ms(3);
                        match errors[sent] {
                            Some(status) => flow.on_response(now, &FlowResponse::new(status, "")),
                            None => flow.on_transport_error(now, "refused"),
                        };
                        sent += 1;
                    }
                    FlowStep::WaitUntil(at) => now = at,
                    FlowStep::AwaitingResponse => prop_assert!(false, "nothing was out"),
                    FlowStep::Finished => break,
                }
            }
            prop_assert_eq!(flow.step(now), FlowStep::Finished);
            prop_assert!(sent <= 3, "at most max_consecutive_errors (3) requests, sent {}", sent);
            prop_assert!(matches!(flow.outcome(), Some(Err(_))));
        }
    }
}
