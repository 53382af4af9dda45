//! How locations are scored and ordered: the statistic, the penalties, the near-tie band.

use edgegap_core::{Metrics, ProbeCounts, Statistic};
use serde::{Deserialize, Serialize};

use crate::RankError;

/// Settings of the ranking. Every field has a default, so a partial TOML/JSON table is enough.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RankConfig {
    /// The statistic a location is judged by (default: median).
    pub statistic: Statistic,
    /// Milliseconds added per unit of loss fraction: with the default 100.0, 2 % loss costs 2 ms.
    /// The loss fraction scored is the reported one, `(lost + late) / (sent − cancelled)`,
    /// smoothed by the prior below.
    pub loss_penalty_ms: f64,
    /// How many loss-free probes the scored loss assumes on top of those measured (default 20).
    /// A loss fraction measured over a handful of probes is mostly noise (one lost probe of six
    /// is not "17 % loss"), so the score uses
    /// `(lost + late) / (sent − cancelled + loss_prior_probes)`:
    /// no loss costs nothing, one early loss costs little, a long run converges to what was
    /// measured.
    pub loss_prior_probes: f64,
    /// Weight of the jitter in the score: `score += jitter_weight * jitter_ms` (default 0.5).
    pub jitter_weight: f64,
    /// Relative width of the near-tie band: a score is a near tie of `best` when it is at most
    /// `best * tie_factor` (default 1.2, as Photon does) ...
    pub tie_factor: f64,
    /// ... and at most `tie_margin_ms` above `best` (default 10.0).
    pub tie_margin_ms: f64,
    /// Locations whose statistic exceeds this many milliseconds are excluded, like the
    /// matchmaker's `max_latency` would (default: no limit).
    pub max_latency_ms: Option<f64>,
    /// The name of the matchmaker ticket attribute (the `latencies` rule), default `beacons`.
    pub attribute: String,
    /// How sure a comparison must be (default 0.95): a loss or jitter difference counts in the
    /// ranking only when it is significant at this level (see [`crate::judge`]), a probe run
    /// keeps measuring close contenders until they are separated at this level, and the
    /// report's intervals hold the true value with at least this probability.
    pub confidence: f64,
}

impl Default for RankConfig {
    fn default() -> Self {
        Self {
            statistic: Statistic::Median,
            loss_penalty_ms: 100.0,
            loss_prior_probes: 20.0,
            jitter_weight: 0.5,
            tie_factor: 1.2,
            tie_margin_ms: 10.0,
            max_latency_ms: None,
            attribute: "beacons".to_owned(),
            confidence: 0.95,
        }
    }
}

impl RankConfig {
    /// The loss fraction used in the score:
    /// `(lost + late) / (sent − cancelled + loss_prior_probes)`, the reported loss smoothed by
    /// the prior. `None` when no probe's fate is known and there is no prior.
    pub fn scored_loss(&self, counts: &ProbeCounts) -> Option<f64> {
        let total = f64::from(counts.settled()) + self.loss_prior_probes.max(0.0);
        (total > 0.0).then(|| f64::from(counts.lost_or_late()) / total)
    }

    /// The score of a beacon or location: `statistic + loss_penalty_ms × scored loss +
    /// jitter_weight × jitter` (see [`RankConfig::scored_loss`]; a missing jitter counts 0).
    /// `None` without samples. The live decision and the final ranking both score with this.
    pub fn score(&self, metrics: &Metrics) -> Option<f64> {
        let value = metrics.statistic(self.statistic)?;
        Some(
            value
                + self.loss_penalty_ms * self.scored_loss(&metrics.counts).unwrap_or(0.0)
                + self.jitter_weight * metrics.rtt.jitter.unwrap_or(0.0),
        )
    }

    /// Whether `score_ms` is a near tie of `best_ms` under this configuration's band.
    pub fn within_band(&self, score_ms: f64, best_ms: f64) -> bool {
        within_band(score_ms, best_ms, self.tie_factor, self.tie_margin_ms)
    }

    /// How far above `best_ms` the near-tie band reaches, in milliseconds:
    /// `min(best_ms × (tie_factor − 1), tie_margin_ms)`, never negative. A difference to the
    /// best inside `±band_ms` is a near tie.
    pub fn band_ms(&self, best_ms: f64) -> f64 {
        (best_ms * (self.tie_factor - 1.0))
            .min(self.tie_margin_ms)
            .max(0.0)
    }

    /// Checks that every setting is in range: penalties and margin finite and `>= 0`,
    /// `tie_factor` finite and `>= 1`, `max_latency_ms` finite and `> 0`, a non-empty attribute.
    pub fn validate(&self) -> Result<(), RankError> {
        let non_negative = [
            ("loss_penalty_ms", self.loss_penalty_ms),
            ("loss_prior_probes", self.loss_prior_probes),
            ("jitter_weight", self.jitter_weight),
            ("tie_margin_ms", self.tie_margin_ms),
        ];
        for (field, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(RankError::InvalidConfig {
                    field,
                    reason: format!("must be a finite number >= 0, got {value}"),
                });
            }
        }
        if !(self.tie_factor.is_finite() && self.tie_factor >= 1.0) {
            return Err(RankError::InvalidConfig {
                field: "tie_factor",
                reason: format!("must be a finite number >= 1, got {}", self.tie_factor),
            });
        }
        if !(self.confidence.is_finite() && self.confidence >= 0.5 && self.confidence < 1.0) {
            return Err(RankError::InvalidConfig {
                field: "confidence",
                reason: format!("must be at least 0.5 and below 1, got {}", self.confidence),
            });
        }
        if let Some(max) = self.max_latency_ms
            && !(max.is_finite() && max > 0.0)
        {
            return Err(RankError::InvalidConfig {
                field: "max_latency_ms",
                reason: format!("must be a finite number > 0, got {max}"),
            });
        }
        if self.attribute.trim().is_empty() {
            return Err(RankError::InvalidConfig {
                field: "attribute",
                reason: "must not be empty".to_owned(),
            });
        }
        Ok(())
    }
}

/// The near-tie band: `score_ms` is a near tie of `best_ms` when
/// `score_ms <= best_ms * factor` **and** `score_ms - best_ms <= margin_ms`.
///
/// Both bounds must hold, so the band is relative for small latencies (8 ms → 9.6 ms with the
/// defaults) and absolute for large ones (200 ms → 210 ms). A NaN anywhere is never in the band.
pub fn within_band(score_ms: f64, best_ms: f64, factor: f64, margin_ms: f64) -> bool {
    score_ms <= best_ms * factor && score_ms - best_ms <= margin_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let c = RankConfig::default();
        assert_eq!(c.statistic, Statistic::Median);
        assert!((c.loss_penalty_ms - 100.0).abs() < f64::EPSILON);
        assert!((c.jitter_weight - 0.5).abs() < f64::EPSILON);
        assert!((c.tie_factor - 1.2).abs() < f64::EPSILON);
        assert!((c.tie_margin_ms - 10.0).abs() < f64::EPSILON);
        assert_eq!(c.max_latency_ms, None);
        assert_eq!(c.attribute, "beacons");
        c.validate().unwrap();
    }

    #[test]
    fn partial_config_deserializes_with_defaults() {
        let c: RankConfig = serde_json::from_str(r#"{"statistic": "trimmed-mean"}"#).unwrap();
        assert_eq!(c.statistic, Statistic::TrimmedMean);
        assert_eq!(c.attribute, "beacons");
    }

    #[test]
    fn validate_rejects_out_of_range_settings() {
        let bad = [
            RankConfig {
                tie_factor: 0.9,
                ..RankConfig::default()
            },
            RankConfig {
                loss_penalty_ms: -1.0,
                ..RankConfig::default()
            },
            RankConfig {
                jitter_weight: f64::NAN,
                ..RankConfig::default()
            },
            RankConfig {
                max_latency_ms: Some(0.0),
                ..RankConfig::default()
            },
            RankConfig {
                attribute: " ".into(),
                ..RankConfig::default()
            },
            RankConfig {
                confidence: 1.0,
                ..RankConfig::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }

    #[test]
    fn the_band_width_is_relative_then_absolute() {
        let c = RankConfig::default();
        assert!((c.band_ms(28.0) - 5.6).abs() < 1e-9);
        assert!((c.band_ms(200.0) - 10.0).abs() < 1e-9);
        assert!(c.band_ms(-5.0).abs() < f64::EPSILON, "never negative");
    }

    #[test]
    fn band_needs_both_the_factor_and_the_margin() {
        // Relative bound binds at small latencies: 8 * 1.2 = 9.6.
        assert!(within_band(9.6, 8.0, 1.2, 10.0));
        assert!(!within_band(9.7, 8.0, 1.2, 10.0));
        // Absolute bound binds at large ones: 200 + 10 = 210 < 240.
        assert!(within_band(210.0, 200.0, 1.2, 10.0));
        assert!(!within_band(210.5, 200.0, 1.2, 10.0));
        // The best itself and anything better are always in the band.
        assert!(within_band(8.0, 8.0, 1.2, 10.0));
        assert!(within_band(7.0, 8.0, 1.2, 10.0));
        assert!(!within_band(f64::NAN, 8.0, 1.2, 10.0));
    }
}
