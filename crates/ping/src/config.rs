//! The run's configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::payload;

/// The longest duration a configuration may hold (keeps instant arithmetic far from overflow).
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// The most probes `count` (and, apart, `extra_probes`) may ask per target.
pub const MAX_PROBES: u32 = 1000;

/// Which IP family to probe over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpVersion {
    /// Either family; a name that resolves to both is probed over IPv4.
    #[default]
    Any,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

/// How a run probes. `EngineConfig::default()` gives the documented defaults; change the
/// fields you need on it (the struct may gain fields, so it cannot be built literally).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Answered samples wanted per target (default 5).
    pub count: u32,
    /// Time between two probes to one target (default 20 ms).
    pub interval: Duration,
    /// Time between any two sends of the whole run (default 1 ms); never violated.
    pub min_gap: Duration,
    /// Hard per-probe timeout (default 1 s); also the timeout before a target has any sample.
    pub timeout: Duration,
    /// Lower bound of the adaptive timeout (default 50 ms).
    pub timeout_floor: Duration,
    /// Limit for the whole run (default 10 s); when hit, the run ends like `cancel()`.
    pub deadline: Option<Duration>,
    /// Replacement budget per target for lost or failed probes (default 5, the default `count`).
    pub extra_probes: u32,
    /// UDP (and ICMP) payload bytes (default 32), at least the 24-byte probe header
    /// ([`payload::HEADER_LEN`]: magic, run nonce, sequence number and the probe's 64-bit
    /// secret); the rest is padding derived from them.
    pub payload_size: usize,
    /// Address family to use (default `Any`, preferring IPv4).
    pub ip_version: IpVersion,
    /// Accept any datagram from the probed address and port as the reply to that
    /// target's oldest probe in flight (for beacons that do not echo verbatim).
    ///
    /// This gives up the protection against forged replies: the per-probe secret is not
    /// checked (the datagram need not carry it), so a beacon that sends datagrams before it
    /// has seen the probe (a "predict and spray" beacon) gets samples shorter than its real
    /// round trip. Only a reply arriving before the probe was sent is still refused.
    pub lenient: bool,
    /// Most TCP connects in progress at once (default 64).
    pub max_concurrent_connects: usize,
    /// Hold a target that has its samples instead of ending it (default off): it waits, idle,
    /// until the run's controller extends it ([`crate::RunControl::extend_target`]), releases
    /// it ([`crate::RunControl::release_target`]) or stops it, or the run ends. A controller
    /// that samples adaptively sets this, so that asking for more samples can never race
    /// with the target's end. A target without any sample still ends at once.
    #[serde(default)]
    pub hold_complete: bool,
    /// Hand events to the reader at most once per this period (default `None`: as they
    /// happen). A reader that looks at them on a clock of its own (a large run's controller,
    /// which evaluates every few milliseconds) is then woken once per period instead of once
    /// per probe. The engine hands them over on its first wake-up after the period (a busy
    /// run wakes every `min_gap` anyway), adding one of its own only when none comes within
    /// another period: an event waits at most two periods. The run's last events are handed
    /// over at once.
    #[serde(default)]
    pub forward_every: Option<Duration>,
    /// Linux and Android: drive a run whose targets are all addresses probed over UDP or ICMP
    /// from a thread of its own that polls the sockets directly (default on), rather than as a
    /// task on the caller's tokio runtime: any length for an observed run
    /// ([`crate::start_observed`]), up to 4,096 targets for one whose events are read from
    /// its channel (longer bursts of events would wait in it). Each probe then costs three or
    /// four system calls and the core's own work, where the runtime adds a task's wake-up for
    /// every send and every reply: while its next send is near (2 ms), the thread does not
    /// wake for replies but reads them in batches every 2 ms (every half `forward_every`, up
    /// to 50 ms, when that is longer: the events wait for it anyway), each timed by the
    /// kernel's stamp of its arrival (so its round trip is the same), and before any probe
    /// would time out; without `forward_every`, an event reaches the caller at most 4 ms
    /// after its reply came. The thread lives as long as the run (it is one of
    /// tokio's blocking pool's). Runs with names to resolve or TCP probes, and runs on other
    /// platforms, are always driven on the runtime.
    #[serde(default = "dedicated_thread_default")]
    pub dedicated_thread: bool,
}

/// [`EngineConfig::dedicated_thread`]'s default, for configurations that do not say.
fn dedicated_thread_default() -> bool {
    true
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            count: 5,
            interval: Duration::from_millis(20),
            min_gap: Duration::from_millis(1),
            timeout: Duration::from_secs(1),
            timeout_floor: Duration::from_millis(50),
            deadline: Some(Duration::from_secs(10)),
            extra_probes: 5,
            payload_size: 32,
            ip_version: IpVersion::Any,
            lenient: false,
            max_concurrent_connects: 64,
            hold_complete: false,
            forward_every: None,
            dedicated_thread: true,
        }
    }
}

impl EngineConfig {
    /// Checks the values a run cannot work with.
    pub fn validate(&self) -> Result<(), EngineError> {
        let problem = if self.count == 0 || self.count > MAX_PROBES {
            Some(format!(
                "count must be 1..={MAX_PROBES}, got {}",
                self.count
            ))
        } else if self.extra_probes > MAX_PROBES {
            Some(format!(
                "extra_probes must be at most {MAX_PROBES}, got {}",
                self.extra_probes
            ))
        } else if self.timeout.is_zero() {
            Some("timeout must be greater than zero".to_owned())
        } else if self.payload_size < payload::HEADER_LEN || self.payload_size > payload::MAX_LEN {
            Some(format!(
                "payload_size {} is outside {}..={} bytes",
                self.payload_size,
                payload::HEADER_LEN,
                payload::MAX_LEN
            ))
        } else if [
            self.interval,
            self.min_gap,
            self.timeout,
            self.timeout_floor,
        ]
        .into_iter()
        .chain(self.deadline)
        .any(|d| d > MAX_DURATION)
        {
            Some("interval, min_gap, timeout, timeout_floor and deadline must each be at most 24 hours".to_owned())
        } else if self.max_concurrent_connects == 0 {
            Some("max_concurrent_connects must be at least 1".to_owned())
        } else {
            None
        };
        problem.map_or(Ok(()), |p| Err(EngineError::InvalidConfig(p)))
    }

    /// Most probes one target may send: `count + extra_probes`.
    pub(crate) fn budget(&self) -> u32 {
        self.count.saturating_add(self.extra_probes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented() {
        let c = EngineConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.count, 5);
        assert_eq!(c.extra_probes, c.count);
        assert_eq!(c.budget(), 10);
        assert!(c.payload_size >= payload::HEADER_LEN);
        assert!(
            EngineConfig {
                payload_size: payload::HEADER_LEN,
                ..EngineConfig::default()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn rejects_unusable_values() {
        for bad in [
            EngineConfig {
                count: 0,
                ..EngineConfig::default()
            },
            EngineConfig {
                payload_size: 8,
                ..EngineConfig::default()
            },
            EngineConfig {
                payload_size: payload::HEADER_LEN - 1,
                ..EngineConfig::default()
            },
            EngineConfig {
                timeout: Duration::ZERO,
                ..EngineConfig::default()
            },
            EngineConfig {
                max_concurrent_connects: 0,
                ..EngineConfig::default()
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(EngineError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
    }
}
