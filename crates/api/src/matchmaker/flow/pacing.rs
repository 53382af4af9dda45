//! When the flow sends: the poll interval with jitter, and the backoff after errors.

use std::time::Duration;

/// How a flow polls, retries and gives up. The defaults follow Edgegap's SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowOptions {
    /// Time between polls. Default 1 s.
    pub poll_interval: Duration,
    /// Each interval is moved by a uniform draw from `-jitter..=+jitter`, so many clients do
    /// not poll in step. Default 200 ms.
    pub jitter: Duration,
    /// Give up after this many failed requests in a row (429, 5xx, transport failures).
    /// Default 10. 0 counts as 1.
    pub max_consecutive_errors: u32,
    /// First backoff after an error (then doubled per error in a row, "equal jitter"), at
    /// least `poll_interval`. Default 250 ms.
    pub initial_backoff: Duration,
    /// Largest backoff. Default 5 s.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one is cut to this. Default 10 s.
    pub max_retry_after: Duration,
    /// Give up waiting for an assignment after this long from the first step (`None`: never).
    pub timeout: Option<Duration>,
    /// Delete the ticket (leave the group) when the wait is cancelled or times out.
    /// Default true.
    pub delete_on_cancel: bool,
    /// Seed of the jitter's random draws (the same seed gives the same schedule: tests).
    pub seed: u64,
}

impl Default for FlowOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            jitter: Duration::from_millis(200),
            max_consecutive_errors: 10,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(10),
            timeout: None,
            delete_on_cancel: true,
            seed: 0x5EED_ED6E_6A90_0001,
        }
    }
}

/// Draws the jitter and the backoff (splitmix64: small, seeded, good enough for spreading
/// clients out).
#[derive(Debug, Clone)]
pub(super) struct Pacer {
    options: FlowOptions,
    state: u64,
}

impl Pacer {
    pub(super) fn new(options: FlowOptions) -> Self {
        let state = options.seed;
        Self { options, state }
    }

    pub(super) fn options(&self) -> &FlowOptions {
        &self.options
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw from `0..=max`.
    fn draw(&mut self, max: Duration) -> Duration {
        let max = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        if max == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next_u64() % max.saturating_add(1))
    }

    /// The delay before the next poll: `poll_interval ± jitter`.
    pub(super) fn interval(&mut self) -> Duration {
        let jitter = self.options.jitter.min(self.options.poll_interval);
        let offset = self.draw(jitter.saturating_mul(2));
        (self.options.poll_interval + offset).saturating_sub(jitter)
    }

    /// The delay after `errors` failures in a row: the backoff (at least `poll_interval`),
    /// or the server's `Retry-After` (capped) when it asks for longer.
    pub(super) fn after_error(&mut self, errors: u32, retry_after: Option<Duration>) -> Duration {
        let exp = errors.saturating_sub(1).min(20);
        let full = self
            .options
            .initial_backoff
            .saturating_mul(1 << exp)
            .min(self.options.max_backoff);
        let half = full / 2;
        let backoff = (half + self.draw(full.saturating_sub(half))).max(self.options.poll_interval);
        match retry_after {
            Some(after) => backoff.max(after.min(self.options.max_retry_after)),
            None => backoff,
        }
    }

    /// Errors in a row that end the flow.
    pub(super) fn max_errors(&self) -> u32 {
        self.options.max_consecutive_errors.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stay_within_the_jitter_band_and_vary() {
        let mut pacer = Pacer::new(FlowOptions::default());
        let draws: Vec<Duration> = (0..200).map(|_| pacer.interval()).collect();
        assert!(
            draws
                .iter()
                .all(|d| *d >= Duration::from_millis(800) && *d <= Duration::from_millis(1200))
        );
        assert!(draws.iter().any(|d| *d != draws[0]), "jitter must vary");
        let mut still = Pacer::new(FlowOptions {
            jitter: Duration::ZERO,
            ..FlowOptions::default()
        });
        assert_eq!(still.interval(), Duration::from_secs(1));
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let mut pacer = Pacer::new(FlowOptions {
            poll_interval: Duration::from_millis(100),
            initial_backoff: Duration::from_millis(400),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
            ..FlowOptions::default()
        });
        let first = pacer.after_error(1, None);
        assert!(first >= Duration::from_millis(200) && first <= Duration::from_millis(400));
        let late = pacer.after_error(12, None);
        assert!(late >= Duration::from_secs(1) && late <= Duration::from_secs(2));
        assert_eq!(
            pacer.after_error(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            pacer.after_error(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(5)
        );
    }
}
