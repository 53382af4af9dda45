//! When to try again: capped exponential backoff with jitter, and `Retry-After`.

use std::time::Duration;

use rand::Rng;

/// How requests are retried after HTTP 429 or 5xx (or a failed connection).
///
/// Only idempotent requests (GET, PUT, DELETE) are retried, and the ticket poll of
/// [`crate::MatchmakerClient::wait_for_assignment`], which has its own error budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry). Default 3.
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one. Default 250 ms.
    pub initial_backoff: Duration,
    /// Longest computed delay. Default 5 s.
    pub max_backoff: Duration,
    /// Longest delay a server's `Retry-After` may impose. Default 10 s. A longer `Retry-After`
    /// is waited for only this long; and when even that delay would pass the call's
    /// [`crate::HttpConfig::call_timeout`], the call ends at once with
    /// [`crate::ApiError::RateLimited`] carrying the server's `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The delay before retry number `retry` (1 = the first retry): `initial_backoff * 2^(retry-1)`
    /// capped at `max_backoff`, with "equal jitter" (a uniform draw from the upper half), so
    /// clients that failed together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(20);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let half = full / 2;
        let extra_nanos = u64::try_from(full.saturating_sub(half).as_nanos()).unwrap_or(u64::MAX);
        let jitter = if extra_nanos == 0 {
            0
        } else {
            rand::rng().random_range(0..=extra_nanos)
        };
        half + Duration::from_nanos(jitter)
    }

    /// The delay before retry number `retry`, honouring a server's `Retry-After` (capped at
    /// `max_retry_after`) when it asks for longer than the backoff.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self.backoff(retry);
        match retry_after {
            Some(after) => backoff.max(after.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_stays_in_its_band_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(2),
        };
        for _ in 0..50 {
            let d1 = p.backoff(1);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = p.backoff(3);
            assert!(
                d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400),
                "{d3:?}"
            );
            let d9 = p.backoff(40);
            assert!(
                d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1),
                "{d9:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            max_retry_after: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(3)
        );
        assert!(p.delay(1, None) <= Duration::from_millis(2));
    }
}
