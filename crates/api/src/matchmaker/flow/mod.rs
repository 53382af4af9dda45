//! Sans-I/O matchmaking flows: which request to send when, and what the answers mean.
//!
//! The ticket flow (create, poll with jitter, back off on 429 / 5xx honouring `Retry-After`,
//! give up after N errors in a row, cancel with `DELETE`) and the party flow (create or join a
//! group with the player's own latencies, set ready, leave) live here once, without an HTTP
//! stack and without a clock: [`MatchmakingFlow::step`] takes `now` and answers with a
//! [`FlowRequest`] to send or the time to wake up; the caller's HTTP (reqwest in
//! [`crate::MatchmakerClient`], UnityWebRequest or Unreal's HTTP module through the C ABI)
//! sends it and hands the [`FlowResponse`] back. Compiles without the `http` feature.
//!
//! ```
//! use std::time::Duration;
//! use edgegap_api::matchmaker::TicketRequest;
//! use edgegap_api::matchmaker::flow::{FlowOptions, FlowResponse, FlowStep, MatchmakingFlow};
//! use edgegap_api::MatchmakerToken;
//!
//! let request = TicketRequest::new("casual", [("Chicago", 23.0)]);
//! let mut flow = MatchmakingFlow::ticket(MatchmakerToken::new("tok"), &request, FlowOptions::default());
//! let FlowStep::Send(create) = flow.step(Duration::ZERO) else { unreachable!() };
//! assert_eq!(create.path(), "tickets");
//! flow.on_response(Duration::from_millis(30), &FlowResponse::new(201, r#"{"id": "t1", "status": "SEARCHING"}"#));
//! assert!(matches!(flow.step(Duration::from_millis(30)), FlowStep::WaitUntil(_)));
//! ```

mod exchange;
mod machine;
mod pacing;

pub use exchange::{FlowRequest, FlowResponse, HttpMethod};
pub use machine::{FlowKind, FlowStep, MatchmakingFlow};
pub use pacing::FlowOptions;

#[cfg(test)]
mod tests;
