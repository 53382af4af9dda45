//! The facade's configuration: engine, ranking and pipeline options in one place, checked once.

use std::path::PathBuf;
use std::time::Duration;

use edgegap_ping::{EngineConfig, ProtocolChoice};
use edgegap_rank::RankConfig;

/// Everything a probe run can be tuned with. `Default` is what a game should use; change the
/// fields you need on it (the struct may gain fields, so it cannot be built literally).
/// [`crate::ProbeBuilder::start`] checks the whole of it with [`ProbeConfig::validate`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProbeConfig {
    /// The probe engine's settings (probes per target, pacing, timeouts, IP version).
    pub engine: EngineConfig,
    /// Scoring, near-tie band, `max_latency` cut and payload attribute name.
    pub rank: RankConfig,
    /// Transport for every beacon (`Auto`: UDP when the beacon has a UDP port, else TCP, else
    /// ICMP; and under `Auto` a beacon whose UDP got no reply or was refused is measured again
    /// over TCP when it has a TCP port, since UDP is often filtered where TCP passes). Every
    /// figure in the report says which transport produced it.
    pub protocol: ProtocolChoice,
    /// Stop probing locations that can no longer win once the leader is known (default on).
    pub early_decision: bool,
    /// With `early_decision`, a beacon is stopped only once it has this many samples
    /// (default 3), so every reachable location still gets a median that one outlier cannot
    /// move, and a jitter figure.
    pub early_decision_min_samples: u32,
    /// With `early_decision`, keep probing the locations still close to the leader, side by
    /// side with it, until each is behind it or in a near tie at `rank.confidence`, or out of
    /// budget (default on; see the crate's `adaptive` module docs). Off: every location gets
    /// `engine.count` samples, as before.
    pub adaptive: bool,
    /// With `adaptive`, the most probes a location may send (default 30): the budget that
    /// bounds the time a close call may take (about `max_probes × engine.interval`).
    pub max_probes: u32,
    /// A saved report to read before the run (sticky choice, fast re-probe) and write after it.
    pub cache_file: Option<PathBuf>,
    /// How long saved figures may be reused: a fast re-probe happens only while every
    /// reachable location of the saved report was measured less than this long ago
    /// (default 10 minutes).
    pub cache_ttl: Duration,
    /// How many of the saved report's best locations the fast re-probe measures (default 3);
    /// the others are carried over, marked with their age.
    pub cache_reprobe_top: usize,
    /// The saved best "still holds" unless its new score is worse than the saved one by this
    /// factor (default 1.2) ...
    pub degrade_factor: f64,
    /// ... or by this many milliseconds (default 30).
    pub degrade_margin_ms: f64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default(),
            rank: RankConfig::default(),
            protocol: ProtocolChoice::Auto,
            early_decision: true,
            early_decision_min_samples: 3,
            adaptive: true,
            max_probes: 30,
            cache_file: None,
            cache_ttl: Duration::from_secs(600),
            cache_reprobe_top: 3,
            degrade_factor: 1.2,
            degrade_margin_ms: 30.0,
        }
    }
}

/// A setting a run cannot work with: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {field}: {reason}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting, as `engine`, `rank`, or a field of [`ProbeConfig`].
    pub field: &'static str,
    /// Why the value is rejected.
    pub reason: String,
}

impl ProbeConfig {
    /// Checks every setting: the engine's ([`EngineConfig::validate`]), the ranking's
    /// ([`RankConfig::validate`]) and the pipeline's own. The one place settings are checked:
    /// the command line and the C ABI map this error instead of checking again.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.engine.validate().map_err(|e| ConfigError {
            field: "engine",
            reason: e.to_string(),
        })?;
        self.rank.validate().map_err(|e| ConfigError {
            field: "rank",
            reason: e.to_string(),
        })?;
        if self.adaptive && !(1..=edgegap_ping::config::MAX_PROBES).contains(&self.max_probes) {
            return Err(ConfigError {
                field: "max_probes",
                reason: format!(
                    "must be 1..={}, got {}",
                    edgegap_ping::config::MAX_PROBES,
                    self.max_probes
                ),
            });
        }
        if !(self.degrade_factor.is_finite() && self.degrade_factor >= 1.0) {
            return Err(ConfigError {
                field: "degrade_factor",
                reason: format!("must be a finite number >= 1, got {}", self.degrade_factor),
            });
        }
        if !(self.degrade_margin_ms.is_finite() && self.degrade_margin_ms >= 0.0) {
            return Err(ConfigError {
                field: "degrade_margin_ms",
                reason: format!(
                    "must be a finite number >= 0, got {}",
                    self.degrade_margin_ms
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ProbeConfig::default().validate().unwrap();
    }

    #[test]
    fn each_part_is_checked_and_named() {
        let mut c = ProbeConfig::default();
        c.engine.count = 0;
        assert_eq!(c.validate().unwrap_err().field, "engine");
        let mut c = ProbeConfig::default();
        c.rank.tie_factor = 0.5;
        assert_eq!(c.validate().unwrap_err().field, "rank");
        let c = ProbeConfig {
            degrade_factor: f64::NAN,
            ..ProbeConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "degrade_factor");
        let c = ProbeConfig {
            degrade_margin_ms: -1.0,
            ..ProbeConfig::default()
        };
        let err = c.validate().unwrap_err();
        assert_eq!(err.field, "degrade_margin_ms");
        assert!(err.to_string().contains(">= 0"), "{err}");
    }
}
