//! The facade's configuration: engine, ranking and pipeline options in one place.

use std::path::PathBuf;
use std::time::Duration;

use edgegap_ping::{EngineConfig, ProtocolChoice};
use edgegap_rank::RankConfig;

/// Everything a probe run can be tuned with. `Default` is what a game should use.
#[derive(Debug, Clone)]
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
    /// A saved report to read before the run (sticky choice, fast re-probe) and write after it.
    pub cache_file: Option<PathBuf>,
    /// How long a saved report may be reused for the fast re-probe (default 10 minutes).
    pub cache_ttl: Duration,
    /// How many of the saved report's best locations the fast re-probe measures (default 3).
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
            cache_file: None,
            cache_ttl: Duration::from_secs(600),
            cache_reprobe_top: 3,
            degrade_factor: 1.2,
            degrade_margin_ms: 30.0,
        }
    }
}
