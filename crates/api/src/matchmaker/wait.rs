//! [`MatchmakerClient::wait_for_assignment`]: poll a ticket until a server is assigned.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Assignment, MatchmakerClient, TicketId, TicketStatus};
use crate::error::ApiError;

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
        Self {
            poll_interval: Duration::from_secs(1),
            jitter: Duration::from_millis(200),
            max_consecutive_errors: 10,
            timeout: None,
            delete_on_cancel: true,
        }
    }
}

impl WaitOptions {
    /// The next interval: `poll_interval ± jitter`.
    fn next_interval(&self) -> Duration {
        let jitter = u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX);
        if jitter == 0 {
            return self.poll_interval;
        }
        let draw = rand::rng().random_range(0..=jitter.saturating_mul(2));
        (self.poll_interval + Duration::from_nanos(draw)).saturating_sub(self.jitter)
    }
}

/// Why the wait is abandoned.
enum Abandon {
    Cancelled,
    TimedOut(Duration),
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Runs `work` to its end unless `cancel` fires or `deadline` passes first (checked in that
/// order); then says why the wait is abandoned (`started`: when the wait began).
async fn race<T>(
    cancel: &CancellationToken,
    started: Instant,
    deadline: Option<Instant>,
    work: impl Future<Output = T>,
) -> Result<T, Abandon> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Abandon::Cancelled),
        () = until(deadline) => Err(Abandon::TimedOut(started.elapsed())),
        done = work => Ok(done),
    }
}

impl MatchmakerClient {
    /// Polls `GET tickets/{id}` about every `poll_interval` (with jitter) until the ticket is
    /// `HOST_ASSIGNED`, and returns its assignment.
    ///
    /// * `CANCELLED` by the matchmaker: [`ApiError::TicketCancelled`].
    /// * 429 / 5xx / timeouts / connection errors are retried with backoff; after
    ///   `max_consecutive_errors` in a row: [`ApiError::TooManyErrors`] holding the last one.
    /// * Any other error (401, 404 when the ticket is gone, ...) ends the wait at once.
    /// * `cancel` fired: the ticket is deleted (unless `delete_on_cancel` is off) and
    ///   [`ApiError::Cancelled`] says whether that worked. `timeout` passed: likewise,
    ///   [`ApiError::WaitTimedOut`].
    pub async fn wait_for_assignment(
        &self,
        ticket_id: &TicketId,
        options: &WaitOptions,
        cancel: &CancellationToken,
    ) -> Result<Assignment, ApiError> {
        // The id as errors and logs show it (it came from the server: no token in it).
        let shown = TicketId::new(self.transport.scrub(ticket_id.as_str()));
        let started = Instant::now();
        let deadline = options.timeout.map(|t| started + t);
        let max_errors = options.max_consecutive_errors.max(1);
        let mut errors = 0u32;
        loop {
            let polled =
                match race(cancel, started, deadline, self.get_ticket_once(ticket_id)).await {
                    Ok(polled) => polled,
                    Err(why) => return Err(self.abandon(ticket_id, &shown, options, why).await),
                };
            let delay = match polled {
                Ok(ticket) => {
                    errors = 0;
                    match (ticket.status, ticket.assignment) {
                        (TicketStatus::HostAssigned, Some(assignment)) => return Ok(assignment),
                        (TicketStatus::Cancelled, _) => {
                            return Err(ApiError::TicketCancelled {
                                ticket_id: shown.clone(),
                            });
                        }
                        (status, _) => {
                            tracing::debug!(ticket = %shown, ?status, "ticket not assigned yet");
                        }
                    }
                    options.next_interval()
                }
                Err(e) if e.is_transient() => {
                    errors += 1;
                    if errors >= max_errors {
                        return Err(ApiError::TooManyErrors {
                            ticket_id: shown.clone(),
                            errors,
                            last: Box::new(e),
                        });
                    }
                    let backoff = self.transport.config().retry.delay(errors, e.retry_after());
                    let delay = backoff.max(options.poll_interval);
                    tracing::warn!(ticket = %shown, errors, delay_ms = delay.as_millis() as u64, error = %e, "ticket poll failed; retrying");
                    delay
                }
                Err(e) => return Err(e),
            };
            if let Err(why) = race(cancel, started, deadline, tokio::time::sleep(delay)).await {
                return Err(self.abandon(ticket_id, &shown, options, why).await);
            }
        }
    }

    /// Deletes the ticket (if asked) and builds the error that ends the wait (naming the
    /// ticket as `shown`).
    async fn abandon(
        &self,
        ticket_id: &TicketId,
        shown: &TicketId,
        options: &WaitOptions,
        why: Abandon,
    ) -> ApiError {
        let ticket_deleted = if options.delete_on_cancel {
            match self.delete_ticket(ticket_id).await {
                Ok(()) | Err(ApiError::NotFound { .. }) => true,
                Err(e) => {
                    tracing::warn!(ticket = %shown, error = %e, "could not delete the abandoned ticket");
                    false
                }
            }
        } else {
            false
        };
        match why {
            Abandon::Cancelled => ApiError::Cancelled {
                ticket_id: shown.clone(),
                ticket_deleted,
            },
            Abandon::TimedOut(waited) => ApiError::WaitTimedOut {
                ticket_id: shown.clone(),
                waited,
                ticket_deleted,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stay_within_the_jitter_band() {
        let o = WaitOptions {
            poll_interval: Duration::from_secs(1),
            jitter: Duration::from_millis(200),
            ..WaitOptions::default()
        };
        let draws: Vec<Duration> = (0..200).map(|_| o.next_interval()).collect();
        assert!(
            draws
                .iter()
                .all(|d| *d >= Duration::from_millis(800) && *d <= Duration::from_millis(1200))
        );
        assert!(
            draws.iter().any(|d| *d != draws[0]),
            "jitter must vary the interval"
        );
        let none = WaitOptions {
            jitter: Duration::ZERO,
            ..o
        };
        assert_eq!(none.next_interval(), Duration::from_secs(1));
    }
}
