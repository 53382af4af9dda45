//! Adaptive sampling: probe close contenders until the data says the choice is safe.
//!
//! A fixed number of probes cannot separate two locations 8 ms apart when one reply in ten is
//! delayed by up to 120 ms, and a larger fixed number wastes time on a clean network. So,
//! once the leader is known (see `edgegap_rank::decide`):
//!
//! - locations that can no longer win are stopped, as before;
//! - every other location is a *contender*: it and the leader keep probing, their probes
//!   aligned so that each contender's probe leaves within a few milliseconds of the leader's
//!   (the engine's `extend_target` with a common `not_before`);
//! - a contender is compared with the leader on **paired differences** (probes sent within
//!   [`PAIR_WINDOW_US`] of each other: a shared congestion episode or Wi-Fi stall delays
//!   both alike and cancels), with the distribution-free interval of their median at the
//!   configured confidence ([`edgegap_rank::significance`]);
//! - it stops when it is **behind** (the interval is above zero), in a **near tie** (the
//!   interval is inside the near-tie band: the sticky rule decides), or when its location has
//!   sent `max_probes` probes (the budget); the leader stops when no contender is left.
//!
//! Why these choices: the sign-test interval needs no assumption on the noise (spikes are
//! one-sided and heavy-tailed) and is exact for any number of pairs; pairing within 5 ms
//! keeps both probes inside the same 40 ms congestion episode while a handful of aligned
//! contenders (1 ms apart at the default gap) still pair. A contender that looks *ahead* of
//! the leader on the pairs is not settled: the leader is chosen by the ranking's statistic,
//! so sampling goes on until the statistic agrees (the leader changes) or the budget ends.
//! On a clean network the contenders are rare (a location must be within the near-tie band
//! of the leader to be one), so the default run is not slowed.

use edgegap_rank::significance::{PAIR_WINDOW_US, median_with_interval, pair_differences};

/// How a contender stands against the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Not yet told apart: keep probing both.
    Open,
    /// Behind the leader at the configured confidence.
    Behind,
    /// Within the near-tie band of the leader at the configured confidence.
    Tie,
}

/// Compares a contender with the leader on their paired probes (`(send µs, rtt ms)`,
/// each sorted by send time): behind when the interval of the median paired difference is
/// above zero, a tie when it lies within `±band_ms`, open otherwise (too few pairs for the
/// level, or the contender looks ahead).
pub(crate) fn standing(
    leader: &[(u64, f64)],
    contender: &[(u64, f64)],
    band_ms: f64,
    level: f64,
) -> Standing {
    let differences = pair_differences(leader, contender, PAIR_WINDOW_US);
    match median_with_interval(&differences, level) {
        Some((_, interval)) if interval.above_zero() => Standing::Behind,
        Some((_, interval)) if interval.within(band_ms) => Standing::Tie,
        _ => Standing::Open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(rtts: &[f64], offset_us: u64) -> Vec<(u64, f64)> {
        rtts.iter()
            .enumerate()
            .map(|(i, &r)| (i as u64 * 20_000 + offset_us, r))
            .collect()
    }

    #[test]
    fn shared_spikes_cancel_in_the_pairs() {
        // Both see the same congestion on probes 2, 5 and 8: +60 ms. Apart, the medians are
        // 8 ms apart with wide ranges; paired, every difference is 8 ± 1.
        let noise = [0.0, 0.5, 60.0, -0.5, 1.0, 60.0, 0.0, -1.0, 60.0, 0.5];
        let leader: Vec<f64> = noise.iter().map(|n| 28.0 + n).collect();
        let contender: Vec<f64> = noise
            .iter()
            .enumerate()
            .map(|(i, n)| 36.0 + n + if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let s = standing(&trace(&leader, 0), &trace(&contender, 1_000), 5.6, 0.95);
        assert_eq!(s, Standing::Behind);
    }

    #[test]
    fn too_few_pairs_or_far_apart_probes_stay_open() {
        let five = trace(&[28.0, 28.0, 28.0, 28.0, 28.0], 0);
        let later = trace(&[36.0, 36.0, 36.0, 36.0, 36.0], 0);
        assert_eq!(
            standing(&five, &later, 5.6, 0.95),
            Standing::Open,
            "5 pairs < 6"
        );
        let ten = trace(&[28.0; 10], 0);
        let unaligned = trace(&[36.0; 10], 9_000);
        assert_eq!(
            standing(&ten, &unaligned, 5.6, 0.95),
            Standing::Open,
            "9 ms apart"
        );
    }

    #[test]
    fn a_close_contender_is_a_tie_and_one_ahead_stays_open() {
        let leader = trace(&[30.0; 12], 0);
        let close: Vec<f64> = (0..12).map(|i| 31.0 + f64::from(i % 3) - 1.0).collect();
        assert_eq!(
            standing(&leader, &trace(&close, 1_000), 6.0, 0.95),
            Standing::Tie
        );
        let ahead = trace(&[20.0; 12], 1_000);
        assert_eq!(standing(&leader, &ahead, 6.0, 0.95), Standing::Open);
    }
}
