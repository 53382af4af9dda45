//! Scores that count the loss and jitter terms only as far as the data supports them.
//!
//! [`RankConfig::score`] adds a loss and a jitter penalty to the statistic. On a noisy network
//! one run can show a location more spikes than its neighbour by chance (one seeded harsh
//! run: 14.9 % lost or late against 7.0 %, jitter 7.4 against 3.6 ms, on two locations with
//! the same true loss and jitter), and the penalties would then rank the farther one first.
//! So the first place is judged on significant differences only: the locations are sorted
//! by their full score, and then the location with the best statistic, when it is not first,
//! is compared with the first with [`compare`], where a loss or jitter penalty counts only
//! when the two differ in it significantly (Fisher's exact test on the loss events, a burst
//! of consecutive losses counting once, see [`edgegap_core::Stats::loss_events`]; Mann–Whitney
//! on the consecutive differences, at [`RankConfig::confidence`]). When it is ahead on that
//! comparison it takes the first place. A location that really loses more, or really
//! jitters more, still pays for it; one that was merely unlucky is compared on its
//! statistic. The live decision picks its leader by the same rule.

use edgegap_core::{Metrics, Stats};
use serde::{Deserialize, Serialize};

use crate::RankConfig;
use crate::significance::{fisher_exact, mann_whitney};

/// Which term of the score put the first location ahead of the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DecidingTerm {
    /// The ranked statistic (the median by default) alone.
    Statistic,
    /// The loss penalty: the first location's statistic is not better, its loss is
    /// significantly lower.
    Loss,
    /// The jitter penalty: the first location's statistic is not better, its jitter is
    /// significantly lower.
    Jitter,
}

/// A location's score, split into its terms as they were counted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judged {
    /// The ranked statistic, in milliseconds.
    pub statistic_ms: f64,
    /// The loss penalty counted (the location's own or the reference's).
    pub loss_ms: f64,
    /// The jitter penalty counted (the location's own or the reference's).
    pub jitter_ms: f64,
}

impl Judged {
    /// The score: the sum of the terms.
    pub fn score_ms(&self) -> f64 {
        self.statistic_ms + self.loss_ms + self.jitter_ms
    }

    /// Which term puts `self` ahead of `other` (assumed behind it): the statistic, unless
    /// `self`'s is not better and a penalty difference made up for it (the larger one).
    pub fn ahead_by(&self, other: &Judged) -> DecidingTerm {
        if self.statistic_ms < other.statistic_ms {
            return DecidingTerm::Statistic;
        }
        let loss = other.loss_ms - self.loss_ms;
        let jitter = other.jitter_ms - self.jitter_ms;
        if loss <= 0.0 && jitter <= 0.0 {
            DecidingTerm::Statistic
        } else if loss >= jitter {
            DecidingTerm::Loss
        } else {
            DecidingTerm::Jitter
        }
    }
}

/// Two locations' scores, compared: each penalty term counts only when the two differ in
/// it significantly at [`RankConfig::confidence`] (Fisher's exact test on the losses,
/// Mann–Whitney on the consecutive differences); a term that does not differ significantly
/// counts zero on both sides. `None` when either has no sample.
pub fn compare(a: &Stats, b: &Stats, config: &RankConfig) -> Option<(Judged, Judged)> {
    let (ma, mb) = (a.metrics(), b.metrics());
    let (sa, sb) = (
        ma.statistic(config.statistic)?,
        mb.statistic(config.statistic)?,
    );
    let ((la, ja), (lb, jb)) = (penalties(config, &ma), penalties(config, &mb));
    let alpha = 1.0 - config.confidence;
    // Bursts count once: each location's trials are its samples plus its loss events.
    let (ea, eb) = (a.loss_events(), b.loss_events());
    let (ra, rb) = (ma.counts.received, mb.counts.received);
    let loss = la.total_cmp(&lb).is_ne() && fisher_exact(ea, ra + ea, eb, rb + eb) < alpha;
    let jitter = ja.total_cmp(&jb).is_ne()
        && mann_whitney(&jitter_sorted(a), &jitter_sorted(b)).is_some_and(|p| p < alpha);
    let judged = |statistic_ms, l, j| Judged {
        statistic_ms,
        loss_ms: if loss { l } else { 0.0 },
        jitter_ms: if jitter { j } else { 0.0 },
    };
    Some((judged(sa, la, ja), judged(sb, lb, jb)))
}

/// Whether `a` comes before `b` when only significant penalty differences count (ties by
/// the plain order: `a` first only when strictly better).
pub fn ahead(a: &Stats, b: &Stats, config: &RankConfig) -> bool {
    compare(a, b, config).is_some_and(|(x, y)| x.score_ms() < y.score_ms())
}

/// The loss and jitter penalties of [`RankConfig::score`], apart.
fn penalties(config: &RankConfig, metrics: &Metrics) -> (f64, f64) {
    (
        config.loss_penalty_ms * config.scored_loss(&metrics.counts).unwrap_or(0.0),
        config.jitter_weight * metrics.rtt.jitter.unwrap_or(0.0),
    )
}

fn jitter_sorted(stats: &Stats) -> Vec<f64> {
    stats
        .jitter_differences()
        .map(edgegap_core::Samples::sorted_ms)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use edgegap_core::ProbeCounts;

    use super::*;

    fn stats(rtts: &[f64], lost: u32) -> Stats {
        let rtts: Vec<Duration> = rtts
            .iter()
            .map(|&ms| Duration::from_secs_f64(ms / 1000.0))
            .collect();
        let received = u32::try_from(rtts.len()).unwrap();
        let counts = ProbeCounts {
            sent: received + lost,
            received,
            lost,
            ..ProbeCounts::default()
        };
        Stats::of(&rtts, counts)
    }

    /// 40 samples around `base`, with a spike every `every` samples.
    fn noisy(base: f64, every: usize) -> Vec<f64> {
        (0..40)
            .map(|i| {
                let wobble = f64::from(u32::try_from(i % 5).unwrap()) - 2.0;
                if i % every == 0 {
                    base + 60.0
                } else {
                    base + wobble
                }
            })
            .collect()
    }

    #[test]
    fn chance_differences_in_loss_and_jitter_do_not_decide() {
        // Frankfurt is 7 ms closer but saw more spikes and losses in this run (7 of 47
        // against 3 of 43): neither difference is significant, so the median decides.
        let config = RankConfig::default();
        let frankfurt = stats(&noisy(28.0, 6), 7);
        let amsterdam = stats(&noisy(35.0, 13), 3);
        let plain = |s: &Stats| config.score(&s.metrics()).unwrap();
        assert!(
            plain(&frankfurt) > plain(&amsterdam),
            "the plain score is fooled"
        );
        let (f, a) = compare(&frankfurt, &amsterdam, &config).unwrap();
        assert!(f.score_ms() < a.score_ms(), "{f:?} {a:?}");
        assert_eq!(f.ahead_by(&a), DecidingTerm::Statistic);
        assert!(ahead(&frankfurt, &amsterdam, &config));
    }

    #[test]
    fn a_significant_loss_difference_still_counts() {
        let config = RankConfig::default();
        let near_lossy = stats(&noisy(28.0, 40), 30);
        let far_clean = stats(&noisy(31.0, 40), 0);
        let (near, far) = compare(&near_lossy, &far_clean, &config).unwrap();
        assert!(far.score_ms() < near.score_ms(), "{near:?} {far:?}");
        assert_eq!(far.ahead_by(&near), DecidingTerm::Loss);
        assert!(!ahead(&near_lossy, &far_clean, &config));
    }
}
