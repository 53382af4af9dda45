//! [`BeaconSpec`]: where one simulated beacon listens and how it misbehaves, and
//! [`TcpMode`]: when it has a TCP port.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::SimError;
use crate::network::{Congestion, GilbertElliott, Spikes};

/// When a beacon opens a TCP port and lists it in the beacon lists (the `tcp` field).
///
/// A TCP handshake on loopback is completed by the kernel, so the simulator cannot delay,
/// jitter or lose it: a TCP port would report a delayed, lossy or silent beacon as answering
/// at once. Hence **a beacon has a TCP port only where its TCP timing follows its scenario**
/// ([`TcpMode::Faithful`], the default; see [`BeaconSpec::serves_tcp`]).
///
/// In a scenario file: `tcp = true` (faithful, the default), `tcp = false` (off) or
/// `tcp = "always"`; the words `"faithful"` and `"off"` are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TcpMode {
    /// A TCP port only where TCP tells the truth about the beacon: it is `down` (connect
    /// refused), `tcp_silent` (connect times out), or it answers UDP at once and intact (no
    /// delay, jitter, loss, silence, reply fault or hostile mode), so a kernel-speed handshake
    /// is what the scenario describes. Elsewhere no TCP socket is opened and no TCP port is
    /// listed.
    #[default]
    Faithful,
    /// No TCP port.
    Off,
    /// A TCP port whatever the scenario: unless the beacon is `down` or `tcp_silent`, TCP
    /// answers at kernel speed, whatever the scenario says. Such a beacon looks fast over TCP
    /// however slow, lossy or silent its UDP side is; only for tests of TCP itself.
    Always,
}

impl FromStr for TcpMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "true" | "faithful" => Ok(TcpMode::Faithful),
            "false" | "off" => Ok(TcpMode::Off),
            "always" => Ok(TcpMode::Always),
            other => Err(format!(
                "unknown tcp mode {other:?} (expected true, false or \"always\")"
            )),
        }
    }
}

impl Serialize for TcpMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            TcpMode::Faithful => serializer.serialize_bool(true),
            TcpMode::Off => serializer.serialize_bool(false),
            TcpMode::Always => serializer.serialize_str("always"),
        }
    }
}

impl<'de> Deserialize<'de> for TcpMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ModeVisitor;

        impl Visitor<'_> for ModeVisitor {
            type Value = TcpMode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or \"always\"")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<TcpMode, E> {
                Ok(if v { TcpMode::Faithful } else { TcpMode::Off })
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<TcpMode, E> {
                v.parse()
                    .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
            }
        }

        deserializer.deserialize_any(ModeVisitor)
    }
}

/// One simulated beacon: its location, its loopback address and ports, and its behaviour.
///
/// In a scenario file only `city` is required; every other field has the default shown on it.
// Each flag is an independent fault a scenario file switches on by name: bools are the format.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconSpec {
    /// City of the location (the key a matchmaker uses). Must not be empty.
    pub city: String,
    /// Country of the location. Default `""`.
    #[serde(default)]
    pub country: String,
    /// Loopback address to bind (127.0.0.0/8 or ::1). Default `127.0.0.1`.
    #[serde(default = "default_address")]
    pub address: IpAddr,
    /// UDP port; 0 (default) picks a free one.
    #[serde(default)]
    pub udp_port: u16,
    /// TCP port; 0 (default) picks a free one. Unused when the beacon has no TCP port
    /// (see [`BeaconSpec::serves_tcp`]).
    #[serde(default)]
    pub tcp_port: u16,
    /// Whether the beacon has a UDP echo port. Default `true`.
    #[serde(default = "yes")]
    pub udp: bool,
    /// When the beacon has a TCP port: default [`TcpMode::Faithful`] (`tcp = true`), only where
    /// its TCP timing follows its scenario (see [`BeaconSpec::serves_tcp`]).
    #[serde(default)]
    pub tcp: TcpMode,
    /// Delay added before each UDP reply, in milliseconds. Default 0.
    #[serde(default)]
    pub delay_ms: f64,
    /// Uniform random extra delay in `[-jitter_ms, +jitter_ms]` (total clamped at 0). Default 0.
    #[serde(default)]
    pub jitter_ms: f64,
    /// Probability in `[0, 1]` that a datagram gets no reply. Default 0.
    #[serde(default)]
    pub loss: f64,
    /// Never answer UDP (the datagram is received and counted, nothing is sent). Default `false`.
    #[serde(default)]
    pub silent: bool,
    /// Drop every TCP connection attempt (a listener whose accept queue is kept full, so the
    /// kernel ignores SYNs and a client's connect times out). Default `false`.
    #[serde(default)]
    pub tcp_silent: bool,
    /// Ports closed: UDP gets ICMP port-unreachable, TCP connect gets RST. Default `false`.
    #[serde(default)]
    pub down: bool,
    /// Extra copies of each UDP reply. Default 0.
    #[serde(default)]
    pub duplicates: u32,
    /// Send UDP replies from another socket (another port) than the one probed. Default `false`.
    #[serde(default)]
    pub wrong_source_port: bool,
    /// Flip every byte (XOR 0xFF) of the UDP reply payload. Default `false`.
    #[serde(default)]
    pub alter_bytes: bool,
    /// Answer every datagram with these bytes instead of echoing it. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_with: Option<String>,
    /// Hostile: never echo; from the first probe seen, forge replies for the sequence numbers
    /// from N before to N after the latest probe's (in the former, predictable probe layout
    /// and as the best guess of the current one) and re-send them every `spray_every_ms`,
    /// while probes keep coming. Default 0 (off). See [`crate::hostile`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub predict_and_spray: u32,
    /// How often a `predict_and_spray` beacon re-sends its forgeries, in milliseconds
    /// (0.1..=60000). Default 1.
    #[serde(
        default = "default_spray_every_ms",
        skip_serializing_if = "is_default_spray_every"
    )]
    pub spray_every_ms: f64,
    /// Hostile: never echo; on each probe, forge replies for the next N sequence numbers,
    /// timed to arrive `early_by_ms` before the next probe is expected (at once after the
    /// first probe): replies that reach the prober before their probe is sent. Default 0 (off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub early_replies: u32,
    /// How long before the expected next probe `early_replies` arrive, in milliseconds
    /// (0..=3600000). Default 0.5.
    #[serde(
        default = "default_early_by_ms",
        skip_serializing_if = "is_default_early_by"
    )]
    pub early_by_ms: f64,
    /// Hostile: never echo; on each probe, send N junk datagrams at once (random bytes, and
    /// the probe altered, cut, lengthened, renumbered or in the old layout; never an exact
    /// echo). Default 0 (off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flood: u32,
    /// Harsh network: per-packet delay spikes, `{ probability, max_ms }`: with `probability`,
    /// a reply is delayed by an extra amount uniform in `[0, max_ms]`. Default none. See
    /// [`Spikes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spikes: Option<Spikes>,
    /// Harsh network: bursty loss, a Gilbert–Elliott channel
    /// `{ enter_bad, exit_bad, loss_good, loss_bad }`, applied after the plain `loss` (a
    /// datagram is answered only if neither drops it). Default none. See [`GilbertElliott`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bursty_loss: Option<GilbertElliott>,
    /// Harsh network: the scenario's shared congestion episodes (its `[network]` table), held
    /// by each beacon so that a [`crate::Scenario`] stays `{ seed, beacons }`. **Not a
    /// per-beacon setting**: every beacon of a scenario must carry the same value (validation
    /// refuses a scenario where they differ), and they all see one timeline. Set it with
    /// [`crate::Scenario::set_network`] or in the `[network]` table of a scenario file; it is
    /// never read or written as a beacon field. Default none. See [`Congestion`].
    #[serde(skip)]
    pub congestion: Option<Congestion>,
}

// serde's skip_serializing_if passes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

const DEFAULT_SPRAY_EVERY_MS: f64 = 1.0;
const DEFAULT_EARLY_BY_MS: f64 = 0.5;

fn default_spray_every_ms() -> f64 {
    DEFAULT_SPRAY_EVERY_MS
}

fn default_early_by_ms() -> f64 {
    DEFAULT_EARLY_BY_MS
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_spray_every(ms: &f64) -> bool {
    ms.to_bits() == DEFAULT_SPRAY_EVERY_MS.to_bits()
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_early_by(ms: &f64) -> bool {
    ms.to_bits() == DEFAULT_EARLY_BY_MS.to_bits()
}

fn default_address() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn yes() -> bool {
    true
}

impl Default for BeaconSpec {
    fn default() -> Self {
        BeaconSpec {
            city: String::new(),
            country: String::new(),
            address: default_address(),
            udp_port: 0,
            tcp_port: 0,
            udp: true,
            tcp: TcpMode::Faithful,
            delay_ms: 0.0,
            jitter_ms: 0.0,
            loss: 0.0,
            silent: false,
            tcp_silent: false,
            down: false,
            duplicates: 0,
            wrong_source_port: false,
            alter_bytes: false,
            reply_with: None,
            predict_and_spray: 0,
            spray_every_ms: DEFAULT_SPRAY_EVERY_MS,
            early_replies: 0,
            early_by_ms: DEFAULT_EARLY_BY_MS,
            flood: 0,
            spikes: None,
            bursty_loss: None,
            congestion: None,
        }
    }
}

impl BeaconSpec {
    /// A well-behaved beacon in `city` on `address` that answers UDP after `delay_ms`. It has
    /// a TCP port only when `delay_ms` is 0 (see [`BeaconSpec::serves_tcp`]).
    pub fn new(city: &str, address: IpAddr, delay_ms: f64) -> BeaconSpec {
        BeaconSpec {
            city: city.to_owned(),
            address,
            delay_ms,
            ..BeaconSpec::default()
        }
    }

    /// The first hostile mode set (`"predict_and_spray"`, `"early_replies"`, `"flood"`), or
    /// `None` for a beacon that is not hostile. A hostile beacon never echoes a probe.
    pub fn hostile_mode(&self) -> Option<&'static str> {
        [
            ("predict_and_spray", self.predict_and_spray != 0),
            ("early_replies", self.early_replies != 0),
            ("flood", self.flood != 0),
        ]
        .into_iter()
        .find_map(|(field, set)| set.then_some(field))
    }

    /// The first field whose effect a kernel-speed TCP handshake would not show (`"delay_ms"`,
    /// `"jitter_ms"`, `"loss"`, `"silent"`, `"duplicates"`, `"wrong_source_port"`,
    /// `"alter_bytes"`, `"reply_with"`, the harsh network's `"spikes"`, `"bursty_loss"` or
    /// `"congestion"` (when they can delay or drop anything), or a hostile mode:
    /// `"predict_and_spray"`, `"early_replies"`, `"flood"`), or `None` when the beacon answers
    /// at once and intact, so that a TCP handshake timed at kernel speed is what its scenario
    /// describes.
    pub fn tcp_would_ignore(&self) -> Option<&'static str> {
        [
            // Validated as non-negative: anything above 0 is injected into UDP.
            ("delay_ms", self.delay_ms > 0.0),
            ("jitter_ms", self.jitter_ms > 0.0),
            ("loss", self.loss > 0.0),
            ("silent", self.silent),
            ("duplicates", self.duplicates != 0),
            ("wrong_source_port", self.wrong_source_port),
            ("alter_bytes", self.alter_bytes),
            ("reply_with", self.reply_with.is_some()),
            ("spikes", self.spikes.is_some_and(|s| s.is_active())),
            (
                "bursty_loss",
                self.bursty_loss.is_some_and(|b| b.is_active()),
            ),
            ("congestion", self.congestion.is_some_and(|c| c.is_active())),
        ]
        .into_iter()
        .find_map(|(field, set)| set.then_some(field))
        .or_else(|| self.hostile_mode())
    }

    /// Whether the beacon opens a TCP socket and lists its TCP port in the beacon lists.
    ///
    /// The rule: **a beacon has a TCP port only where its TCP timing follows its scenario**,
    /// because the kernel completes a loopback handshake at once, whatever delay, jitter, loss
    /// or silence the scenario injects into UDP. With `tcp = true` (the default) that is when
    /// - the beacon is `down`: the TCP port is closed, connects are refused (real);
    /// - the beacon is `tcp_silent`: connects time out (real: a full accept queue);
    /// - or nothing in the scenario is lost on TCP ([`BeaconSpec::tcp_would_ignore`] is `None`):
    ///   a zero-delay beacon answering intact, whose kernel-speed handshake is the truth.
    ///
    /// Anywhere else (a delayed, jittery, lossy, silent or faulty beacon) no TCP socket is
    /// opened at all, so nothing can time TCP against it, even by guessing the port.
    /// `tcp = false` never has a TCP port, `tcp = "always"` always has one.
    pub fn serves_tcp(&self) -> bool {
        match self.tcp {
            TcpMode::Off => false,
            TcpMode::Always => true,
            TcpMode::Faithful => self.down || self.tcp_silent || self.tcp_would_ignore().is_none(),
        }
    }

    /// Checks the address is loopback, every number is in range, and the beacon has a port in
    /// the beacon lists (a beacon with neither UDP nor TCP would be probed over ICMP, which the
    /// kernel answers at once). `index` is the beacon's position in its scenario, used in the
    /// error.
    pub fn validate(&self, index: usize) -> Result<(), SimError> {
        let invalid = |field: &'static str, reason: String| SimError::InvalidField {
            index,
            city: self.city.clone(),
            field,
            reason,
        };
        if self.city.trim().is_empty() {
            return Err(invalid("city", "must not be empty".to_owned()));
        }
        if !self.address.is_loopback() {
            return Err(SimError::NotLoopback {
                index,
                city: self.city.clone(),
                address: self.address,
            });
        }
        for (field, value) in [("delay_ms", self.delay_ms), ("jitter_ms", self.jitter_ms)] {
            // One hour is far beyond any probe timeout; above it is a typo.
            if !(value.is_finite() && (0.0..=3_600_000.0).contains(&value)) {
                return Err(invalid(
                    field,
                    format!("{value} is not a number of milliseconds in 0..=3600000"),
                ));
            }
        }
        if !(self.loss.is_finite() && (0.0..=1.0).contains(&self.loss)) {
            return Err(invalid(
                "loss",
                format!("{} is not a probability in 0..=1", self.loss),
            ));
        }
        if self.duplicates > 1000 {
            return Err(invalid(
                "duplicates",
                format!("{} extra copies is more than 1000", self.duplicates),
            ));
        }
        for (field, value) in [
            ("predict_and_spray", self.predict_and_spray),
            ("early_replies", self.early_replies),
            ("flood", self.flood),
        ] {
            if value > 1000 {
                return Err(invalid(
                    field,
                    format!("{value} datagrams per probe is more than 1000"),
                ));
            }
        }
        if !(self.spray_every_ms.is_finite() && (0.1..=60_000.0).contains(&self.spray_every_ms)) {
            return Err(invalid(
                "spray_every_ms",
                format!(
                    "{} is not a number of milliseconds in 0.1..=60000",
                    self.spray_every_ms
                ),
            ));
        }
        if !(self.early_by_ms.is_finite() && (0.0..=3_600_000.0).contains(&self.early_by_ms)) {
            return Err(invalid(
                "early_by_ms",
                format!(
                    "{} is not a number of milliseconds in 0..=3600000",
                    self.early_by_ms
                ),
            ));
        }
        let harsh = [
            self.spikes.as_ref().map(Spikes::check),
            self.bursty_loss.as_ref().map(GilbertElliott::check),
        ];
        if let Some(Err((field, reason))) = harsh.into_iter().flatten().find(Result::is_err) {
            return Err(invalid(field, reason));
        }
        if !self.udp && !self.serves_tcp() {
            let tcp = match self.tcp_would_ignore() {
                Some(field) if self.tcp == TcpMode::Faithful => format!(
                    "its TCP port is withheld because a kernel-speed handshake would ignore \
                     {field}"
                ),
                _ => "tcp is false".to_owned(),
            };
            return Err(invalid(
                "udp",
                format!(
                    "false leaves the beacon no port ({tcp}), and a beacon without ports is \
                     probed over ICMP, which the kernel answers at once: keep UDP, or set \
                     tcp = \"always\""
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> BeaconSpec {
        BeaconSpec::new("X", default_address(), 0.0)
    }

    /// Every field that shapes UDP replies, set on an otherwise plain zero-delay beacon.
    fn each_udp_fault() -> Vec<(&'static str, BeaconSpec)> {
        let with = |f: fn(&mut BeaconSpec)| {
            let mut s = plain();
            f(&mut s);
            s
        };
        vec![
            ("delay_ms", with(|s| s.delay_ms = 50.0)),
            ("jitter_ms", with(|s| s.jitter_ms = 2.0)),
            ("loss", with(|s| s.loss = 0.01)),
            ("silent", with(|s| s.silent = true)),
            ("duplicates", with(|s| s.duplicates = 1)),
            ("wrong_source_port", with(|s| s.wrong_source_port = true)),
            ("alter_bytes", with(|s| s.alter_bytes = true)),
            ("reply_with", with(|s| s.reply_with = Some("pong".into()))),
            ("predict_and_spray", with(|s| s.predict_and_spray = 4)),
            ("early_replies", with(|s| s.early_replies = 4)),
            ("flood", with(|s| s.flood = 4)),
            (
                "spikes",
                with(|s| {
                    s.spikes = Some(Spikes {
                        probability: 0.1,
                        max_ms: 120.0,
                    });
                }),
            ),
            (
                "bursty_loss",
                with(|s| {
                    s.bursty_loss = Some(GilbertElliott {
                        enter_bad: 0.02,
                        exit_bad: 0.2,
                        loss_good: 0.0,
                        loss_bad: 1.0,
                    });
                }),
            ),
            (
                "congestion",
                with(|s| {
                    s.congestion = Some(Congestion {
                        per_s: 3.0,
                        length_ms: 40.0,
                        extra_min_ms: 40.0,
                        extra_max_ms: 80.0,
                    });
                }),
            ),
        ]
    }

    #[test]
    fn harsh_settings_that_change_nothing_keep_the_tcp_port() {
        let idle = BeaconSpec {
            spikes: Some(Spikes {
                probability: 0.0,
                max_ms: 120.0,
            }),
            bursty_loss: Some(GilbertElliott {
                enter_bad: 0.0,
                exit_bad: 0.5,
                loss_good: 0.0,
                loss_bad: 1.0,
            }),
            congestion: Some(Congestion {
                per_s: 0.0,
                length_ms: 40.0,
                extra_min_ms: 40.0,
                extra_max_ms: 80.0,
            }),
            ..plain()
        };
        assert_eq!(idle.tcp_would_ignore(), None);
        assert!(idle.serves_tcp());
    }

    #[test]
    fn harsh_fields_read_back_are_checked_and_congestion_is_no_beacon_field() {
        let text = "city = \"X\"\nspikes = { probability = 0.1, max_ms = 120.0 }\n\
                    bursty_loss = { enter_bad = 0.025, exit_bad = 0.225 }\n";
        let spec: BeaconSpec = toml::from_str(text).unwrap();
        assert_eq!(
            spec.spikes,
            Some(Spikes {
                probability: 0.1,
                max_ms: 120.0
            })
        );
        // loss_good defaults to 0, loss_bad to 1.
        assert_eq!(
            spec.bursty_loss,
            Some(GilbertElliott {
                enter_bad: 0.025,
                exit_bad: 0.225,
                loss_good: 0.0,
                loss_bad: 1.0
            })
        );
        spec.validate(0).unwrap();
        let back: BeaconSpec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
        let plain_text = toml::to_string(&plain()).unwrap();
        for field in ["spikes", "bursty_loss", "congestion"] {
            assert!(!plain_text.contains(field), "{field} written while off");
        }
        for bad in [
            "spikes = { probability = 0.1 }",
            "spikes = { probability = 0.1, max_ms = 1.0, often = true }",
            "bursty_loss = { enter_bad = 0.1, exit_bad = 0.2, loss_bda = 1.0 }",
            "congestion = { per_s = 3.0, length_ms = 40.0, extra_min_ms = 1.0, \
             extra_max_ms = 2.0 }",
        ] {
            assert!(
                toml::from_str::<BeaconSpec>(&format!("city = \"X\"\n{bad}\n")).is_err(),
                "{bad}"
            );
        }
        for (field, bad) in [
            (
                "spikes.max_ms",
                BeaconSpec {
                    spikes: Some(Spikes {
                        probability: 0.5,
                        max_ms: -1.0,
                    }),
                    ..plain()
                },
            ),
            (
                "bursty_loss.loss_bad",
                BeaconSpec {
                    bursty_loss: Some(GilbertElliott {
                        enter_bad: 0.1,
                        exit_bad: 0.1,
                        loss_good: 0.0,
                        loss_bad: 2.0,
                    }),
                    ..plain()
                },
            ),
        ] {
            let err = bad.validate(4);
            assert!(
                matches!(err, Err(SimError::InvalidField { index: 4, field: f, .. }) if f == field),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn a_plain_zero_delay_beacon_serves_tcp() {
        assert_eq!(plain().tcp, TcpMode::Faithful);
        assert_eq!(plain().tcp_would_ignore(), None);
        assert!(plain().serves_tcp());
    }

    #[test]
    fn anything_tcp_would_ignore_withholds_the_tcp_port() {
        for (field, spec) in each_udp_fault() {
            assert_eq!(spec.tcp_would_ignore(), Some(field));
            assert!(!spec.serves_tcp(), "{field}");
            // ... unless the beacon's TCP behaviour is a real one, or TCP is forced.
            for real in [
                BeaconSpec {
                    down: true,
                    ..spec.clone()
                },
                BeaconSpec {
                    tcp_silent: true,
                    ..spec.clone()
                },
                BeaconSpec {
                    tcp: TcpMode::Always,
                    ..spec.clone()
                },
            ] {
                assert!(real.serves_tcp(), "{real:?}");
            }
            assert!(
                !BeaconSpec {
                    tcp: TcpMode::Off,
                    down: true,
                    ..spec
                }
                .serves_tcp()
            );
        }
    }

    #[test]
    fn tcp_off_never_serves_tcp() {
        for spec in [
            plain(),
            BeaconSpec {
                down: true,
                ..plain()
            },
            BeaconSpec {
                tcp_silent: true,
                ..plain()
            },
        ] {
            assert!(
                !BeaconSpec {
                    tcp: TcpMode::Off,
                    ..spec
                }
                .serves_tcp()
            );
        }
    }

    #[test]
    fn tcp_mode_reads_bools_and_words_and_writes_them_back() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct T {
            tcp: TcpMode,
        }
        for (text, mode) in [
            ("tcp = true", TcpMode::Faithful),
            ("tcp = false", TcpMode::Off),
            ("tcp = \"always\"", TcpMode::Always),
            ("tcp = \"faithful\"", TcpMode::Faithful),
            ("tcp = \"off\"", TcpMode::Off),
        ] {
            let t: T = toml::from_str(text).unwrap();
            assert_eq!(t.tcp, mode, "{text}");
            let back: T = toml::from_str(&toml::to_string(&t).unwrap()).unwrap();
            assert_eq!(back, t);
            let json: T = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
            assert_eq!(json, t);
        }
        assert_eq!(
            toml::to_string(&T {
                tcp: TcpMode::Always
            })
            .unwrap()
            .trim(),
            "tcp = \"always\""
        );
        let err = toml::from_str::<T>("tcp = \"sometimes\"").unwrap_err();
        assert!(err.to_string().contains("\"always\""), "{err}");
        assert!(toml::from_str::<T>("tcp = 1").is_err());
    }

    #[test]
    fn hostile_fields_default_off_read_back_and_are_checked() {
        let spec: BeaconSpec = toml::from_str("city = \"X\"").unwrap();
        assert_eq!(
            spec,
            BeaconSpec {
                city: "X".into(),
                ..BeaconSpec::default()
            }
        );
        assert_eq!(spec.hostile_mode(), None);
        let text = toml::to_string(&spec).unwrap();
        for field in [
            "predict_and_spray",
            "spray_every_ms",
            "early_replies",
            "early_by_ms",
            "flood",
        ] {
            assert!(!text.contains(field), "{field} written while off: {text}");
        }
        let hostile: BeaconSpec = toml::from_str(
            "city = \"X\"\npredict_and_spray = 8\nspray_every_ms = 2.5\nearly_replies = 3\n\
             early_by_ms = 0.2\nflood = 5\n",
        )
        .unwrap();
        assert_eq!(
            (
                hostile.predict_and_spray,
                hostile.early_replies,
                hostile.flood
            ),
            (8, 3, 5)
        );
        assert_eq!(hostile.hostile_mode(), Some("predict_and_spray"));
        assert!(!hostile.serves_tcp());
        hostile.validate(0).unwrap();
        let back: BeaconSpec = toml::from_str(&toml::to_string(&hostile).unwrap()).unwrap();
        assert_eq!(back, hostile);
        for bad in [
            BeaconSpec {
                flood: 1001,
                ..plain()
            },
            BeaconSpec {
                predict_and_spray: 5000,
                ..plain()
            },
            BeaconSpec {
                spray_every_ms: 0.0,
                ..plain()
            },
            BeaconSpec {
                spray_every_ms: f64::NAN,
                ..plain()
            },
            BeaconSpec {
                early_by_ms: -1.0,
                ..plain()
            },
        ] {
            assert!(
                matches!(bad.validate(0), Err(SimError::InvalidField { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_beacon_without_any_port_is_refused() {
        let tcp_only = BeaconSpec {
            udp: false,
            ..plain()
        };
        tcp_only.validate(0).unwrap();
        let delayed = BeaconSpec {
            delay_ms: 30.0,
            ..tcp_only.clone()
        };
        let err = delayed.validate(3).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                SimError::InvalidField {
                    index: 3,
                    field: "udp",
                    ..
                }
            ) && text.contains("delay_ms")
                && text.contains("ICMP"),
            "{text}"
        );
        BeaconSpec {
            tcp: TcpMode::Always,
            ..delayed
        }
        .validate(0)
        .unwrap();
        let none = BeaconSpec {
            tcp: TcpMode::Off,
            ..tcp_only
        };
        assert!(
            none.validate(0)
                .unwrap_err()
                .to_string()
                .contains("tcp is false")
        );
    }
}
