//! How sure the choice is: the best location against the runner-up, stated in the report.

use serde::{Deserialize, Serialize};

use crate::significance::{Interval, median_with_interval, rank_sum_p};
use crate::{DecidingTerm, LocationReport, RankConfig};

/// How the choice of the best location stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The runner-up is behind at the stated level: its difference's interval excludes zero.
    Separated,
    /// The two are within the near-tie band of each other at the stated level: either is a
    /// good choice, and the sticky rule keeps the previous one.
    NearTie,
    /// Sampling ended (the probe budget or the deadline) before the two could be told apart.
    BudgetExhausted,
    /// Only one location is reachable: there is nothing to compare.
    Single,
}

impl Verdict {
    /// The name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Separated => "separated",
            Verdict::NearTie => "near_tie",
            Verdict::BudgetExhausted => "budget_exhausted",
            Verdict::Single => "single",
        }
    }
}

/// The report's statement of how sure the choice of the best location is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Confidence {
    /// How the choice stands.
    pub verdict: Verdict,
    /// The level the comparison was made at ([`RankConfig::confidence`]).
    pub level: f64,
    /// The second location's city (`null` when there is none).
    pub runner_up: Option<String>,
    /// How far behind the runner-up is, in milliseconds: the median of the paired
    /// differences, or the difference of the statistics when the two were not measured
    /// side by side (negative when a significant loss or jitter difference put the first
    /// location ahead despite a worse statistic).
    pub margin_ms: Option<f64>,
    /// The distribution-free interval of that difference, with its coverage.
    pub interval_ms: Option<Interval>,
    /// How many paired probes the comparison used (0: the two locations were compared apart,
    /// by the rank-sum test and their own intervals).
    pub pairs: u32,
    /// Which term of the score decided between the two.
    pub decided_by: Option<DecidingTerm>,
}

impl Confidence {
    /// Assesses the choice of `best` over `runner_up`.
    ///
    /// - With enough `differences` (the paired differences `runner_up − best` in
    ///   milliseconds, of probes sent side by side) for an interval at the level, the interval
    ///   of their median decides: above zero, separated; inside the near-tie band, a near tie.
    /// - Otherwise, with both locations' `samples` (round-trip times in milliseconds), the
    ///   exact rank-sum test decides whether the runner-up is behind ([`rank_sum_p`]), and the
    ///   two locations' own intervals whether they are a near tie.
    /// - Otherwise (figures carried over from a saved report) the two intervals alone.
    ///
    /// A loss or jitter difference that put the best first was significant at the level
    /// (see [`crate::judge`]): separated.
    pub fn assess(
        best: &LocationReport,
        runner_up: Option<&LocationReport>,
        differences: &[f64],
        samples: Option<(&[f64], &[f64])>,
        decided_by: Option<DecidingTerm>,
        config: &RankConfig,
    ) -> Confidence {
        let level = config.confidence;
        let Some(second) = runner_up else {
            return Confidence {
                verdict: Verdict::Single,
                level,
                runner_up: None,
                margin_ms: None,
                interval_ms: None,
                pairs: 0,
                decided_by: None,
            };
        };
        let band = config.band_ms(best.score_ms);
        let significant_penalty =
            matches!(decided_by, Some(DecidingTerm::Loss | DecidingTerm::Jitter));
        let paired = median_with_interval(differences, level);
        let (verdict, margin_ms, interval_ms, pairs) = if let Some((median, interval)) = paired {
            let verdict = if significant_penalty || interval.above_zero() {
                Verdict::Separated
            } else if interval.within(band) {
                Verdict::NearTie
            } else {
                Verdict::BudgetExhausted
            };
            let pairs = u32::try_from(differences.len()).unwrap_or(u32::MAX);
            (verdict, Some(median), Some(interval), pairs)
        } else {
            let margin = second.statistic_ms - best.statistic_ms;
            // Both intervals hold with their coverage, independently.
            let difference = match (second.interval_ms, best.interval_ms) {
                (Some(s), Some(b)) => Some(Interval {
                    low_ms: s.low_ms - b.high_ms,
                    high_ms: s.high_ms - b.low_ms,
                    coverage: s.coverage * b.coverage,
                }),
                _ => None,
            };
            let behind = match samples {
                Some((b, s)) => margin > 0.0 && rank_sum_p(b, s).is_some_and(|p| p < 1.0 - level),
                None => difference.is_some_and(|d| d.above_zero() && d.coverage >= level),
            };
            let tie = difference.is_some_and(|d| d.within(band) && d.coverage >= level);
            let verdict = if significant_penalty || behind {
                Verdict::Separated
            } else if tie {
                Verdict::NearTie
            } else {
                Verdict::BudgetExhausted
            };
            (verdict, Some(margin), difference, 0)
        };
        Confidence {
            verdict,
            level,
            runner_up: Some(second.city.clone()),
            margin_ms,
            interval_ms,
            pairs,
            decided_by,
        }
    }

    /// One line for people: "Frankfurt, ahead of Amsterdam by 7.8 ms, 95 % confident, after
    /// 410 ms".
    pub fn describe(&self, best: &str, decision_ms: Option<f64>) -> String {
        let percent = self.level * 100.0;
        let second = self.runner_up.as_deref().unwrap_or("");
        let margin = self.margin_ms.unwrap_or(0.0);
        let how = match (self.verdict, self.decided_by) {
            (Verdict::Single, _) => "the only reachable location".to_owned(),
            (Verdict::Separated, Some(DecidingTerm::Loss)) => {
                format!("ahead of {second} on loss, {percent:.0} % confident")
            }
            (Verdict::Separated, Some(DecidingTerm::Jitter)) => {
                format!("ahead of {second} on jitter, {percent:.0} % confident")
            }
            (Verdict::Separated, _) => {
                format!("ahead of {second} by {margin:.1} ms, {percent:.0} % confident")
            }
            (Verdict::NearTie, _) => {
                format!("a near tie with {second} ({margin:+.1} ms), {percent:.0} % confident")
            }
            (Verdict::BudgetExhausted, _) => format!(
                "ahead of {second} by {margin:.1} ms, not {percent:.0} % confident (probe budget reached)"
            ),
        };
        match decision_ms {
            Some(ms) => format!("{best}, {how}, after {ms:.0} ms"),
            None => format!("{best}, {how}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confidence(verdict: Verdict, decided_by: Option<DecidingTerm>) -> Confidence {
        Confidence {
            verdict,
            level: 0.95,
            runner_up: Some("Amsterdam".to_owned()),
            margin_ms: Some(7.84),
            interval_ms: None,
            pairs: 12,
            decided_by,
        }
    }

    #[test]
    fn each_verdict_reads_as_one_line() {
        let line = |v, d, ms| confidence(v, d).describe("Frankfurt", ms);
        assert_eq!(
            line(
                Verdict::Separated,
                Some(DecidingTerm::Statistic),
                Some(410.2)
            ),
            "Frankfurt, ahead of Amsterdam by 7.8 ms, 95 % confident, after 410 ms"
        );
        assert_eq!(
            line(Verdict::Separated, Some(DecidingTerm::Loss), None),
            "Frankfurt, ahead of Amsterdam on loss, 95 % confident"
        );
        assert_eq!(
            line(Verdict::NearTie, None, None),
            "Frankfurt, a near tie with Amsterdam (+7.8 ms), 95 % confident"
        );
        assert!(line(Verdict::BudgetExhausted, None, None).contains("not 95 % confident"));
        assert_eq!(
            line(Verdict::Single, None, None),
            "Frankfurt, the only reachable location"
        );
    }
}
