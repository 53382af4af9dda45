//! The reqwest driver of the sans-I/O [`MatchmakingFlow`]: [`MatchmakerClient::run_flow`],
//! and [`MatchmakerClient::wait_for_assignment`] on top of it.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::flow::{FlowOptions, FlowStep, MatchmakingFlow};
use super::{Assignment, GroupId, MatchmakerClient, TicketId, TicketRequest};
use crate::error::ApiError;
use crate::token::MatchmakerToken;

/// How [`MatchmakerClient::wait_for_assignment`] polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// Time between polls. Default 1 s (as Edgegap's SDK).
    pub poll_interval: Duration,
    /// Each interval is moved by a uniform draw from `-jitter..=+jitter`, so many clients do not
    /// poll in step. Default 200 ms.
    pub jitter: Duration,
    /// Give up after this many failed polls in a row (429, 5xx, timeouts, connection errors).
    /// Default 10 (as Edgegap's SDK). The delay after an error is the client's
    /// [`crate::RetryPolicy`] backoff (honouring `Retry-After`), at least `poll_interval`.
    pub max_consecutive_errors: u32,
    /// Give up (and delete the ticket) after this long; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
    /// Delete the ticket when the wait is cancelled or times out. Default true.
    pub delete_on_cancel: bool,
}

impl Default for WaitOptions {
    fn default() -> Self {
        let flow = FlowOptions::default();
        Self {
            poll_interval: flow.poll_interval,
            jitter: flow.jitter,
            max_consecutive_errors: flow.max_consecutive_errors,
            timeout: flow.timeout,
            delete_on_cancel: flow.delete_on_cancel,
        }
    }
}

impl MatchmakerClient {
    /// The flow options for `options` with this client's backoff ([`crate::RetryPolicy`]) and
    /// a fresh random seed for the jitter.
    pub fn flow_options(&self, options: &WaitOptions) -> FlowOptions {
        let retry = &self.transport.config().retry;
        FlowOptions {
            poll_interval: options.poll_interval,
            jitter: options.jitter,
            max_consecutive_errors: options.max_consecutive_errors,
            initial_backoff: retry.initial_backoff,
            max_backoff: retry.max_backoff,
            max_retry_after: retry.max_retry_after,
            timeout: options.timeout,
            delete_on_cancel: options.delete_on_cancel,
            seed: rand::random(),
        }
    }

    /// This client's token, for a flow whose requests it sends.
    fn flow_token(&self) -> MatchmakerToken {
        MatchmakerToken::new(self.transport.authorization())
    }

    /// A ticket flow (create with `request`, wait for the assignment) for [`Self::run_flow`].
    pub fn ticket_flow(&self, request: &TicketRequest, options: &WaitOptions) -> MatchmakingFlow {
        MatchmakingFlow::ticket(self.flow_token(), request, self.flow_options(options))
    }

    /// A party flow: create a group owned by this player with `request`, then wait for the
    /// group's assignment (call `set_ready` on it), for [`Self::run_flow`].
    pub fn create_group_flow(
        &self,
        request: &TicketRequest,
        options: &WaitOptions,
    ) -> MatchmakingFlow {
        MatchmakingFlow::create_group(self.flow_token(), request, self.flow_options(options))
    }

    /// A party flow: join group `group` with this member's `request`, then wait for the
    /// group's assignment (call `set_ready` on it), for [`Self::run_flow`].
    pub fn join_group_flow(
        &self,
        group: GroupId,
        request: &TicketRequest,
        options: &WaitOptions,
    ) -> MatchmakingFlow {
        MatchmakingFlow::join_group(
            self.flow_token(),
            group,
            request,
            self.flow_options(options),
        )
    }

    /// Polls `GET tickets/{id}` about every `poll_interval` (with jitter) until the ticket is
    /// `HOST_ASSIGNED`, and returns its assignment: [`MatchmakingFlow::resume_ticket`] driven
    /// by [`Self::run_flow`], so every rule of the flow applies:
    ///
    /// * `CANCELLED` by the matchmaker: [`ApiError::TicketCancelled`].
    /// * 429 / 5xx / timeouts / connection errors are retried with backoff; after
    ///   `max_consecutive_errors` in a row: [`ApiError::TooManyErrors`] holding the last one.
    /// * Any other error (401, 404 when the ticket is gone, ...) ends the wait at once.
    /// * `cancel` fired: the ticket is deleted (unless `delete_on_cancel` is off) and
    ///   [`ApiError::Cancelled`] says whether that worked ([`ApiError::AlreadyMatched`] when
    ///   the DELETE answered 409). `timeout` passed: likewise, [`ApiError::WaitTimedOut`].
    pub async fn wait_for_assignment(
        &self,
        ticket_id: &TicketId,
        options: &WaitOptions,
        cancel: &CancellationToken,
    ) -> Result<Assignment, ApiError> {
        let mut flow = MatchmakingFlow::resume_ticket(
            self.flow_token(),
            ticket_id.clone(),
            self.flow_options(options),
        );
        self.run_flow(&mut flow, cancel, |_| {}).await
    }

    /// Drives `flow` to its end with this client's HTTP: sends each request it asks for,
    /// sleeps until its next wake-up, and cancels it when `cancel` fires (a request already
    /// out is answered first, so the flow knows its ticket before it deletes it).
    /// `progress` is called after every answer (e.g. to show the ticket id once created).
    pub async fn run_flow(
        &self,
        flow: &mut MatchmakingFlow,
        cancel: &CancellationToken,
        mut progress: impl FnMut(&MatchmakingFlow),
    ) -> Result<Assignment, ApiError> {
        let origin = Instant::now();
        loop {
            if cancel.is_cancelled() {
                flow.cancel();
            }
            match flow.step(origin.elapsed()) {
                FlowStep::Send(request) => {
                    let answer = self.transport.exchange(&request).await;
                    let now = origin.elapsed();
                    match answer {
                        Ok(response) => flow.on_response(now, &response),
                        Err(reason) => flow.on_transport_error(now, &reason),
                    };
                    progress(flow);
                }
                FlowStep::WaitUntil(at) => {
                    let sleep = tokio::time::sleep_until(origin + at);
                    if cancel.is_cancelled() {
                        sleep.await;
                    } else {
                        tokio::select! {
                            () = cancel.cancelled() => {}
                            () = sleep => {}
                        }
                    }
                }
                FlowStep::AwaitingResponse | FlowStep::Finished => {
                    return flow.take_outcome().unwrap_or_else(|| {
                        Err(ApiError::InvalidArgument {
                            operation: "run matchmaking flow",
                            reason: "the flow had already ended and its outcome was taken".into(),
                        })
                    });
                }
            }
        }
    }
}
