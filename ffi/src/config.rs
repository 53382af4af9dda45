//! [`EgpConfig`]: the probe settings a game can set from C, and the JSON form of the same.
//!
//! The struct starts with its own `size`, set by `egp_config_init`, so later versions can append
//! fields: a library reads only the bytes the caller's struct has and keeps its defaults for the
//! rest; a caller struct larger than the library's is accepted when the extra bytes are zero
//! (the caller did not ask for a feature this library does not have).
//!
//! Only plain integers and doubles cross the boundary (no C enums or `bool`s), so no bit
//! pattern a caller writes can be undefined behaviour on the Rust side.
#![allow(unsafe_code)]

use std::mem::size_of;
use std::path::PathBuf;
use std::time::Duration;

use probe::{IpVersion, ProbeConfig, ProtocolChoice, Statistic};
use serde::Deserialize;

use crate::result::{EgpResult, FfiError};

/// Transport used for every beacon (`EgpConfig::protocol`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgpProtocol {
    /// UDP when the beacon has a UDP port, else TCP when it has a TCP port, else ICMP.
    Auto = 0,
    /// UDP echo only.
    Udp = 1,
    /// TCP handshake time only.
    Tcp = 2,
    /// ICMP echo only (may need privileges on some systems).
    Icmp = 3,
}

/// Address family of the probes (`EgpConfig::ip_version`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgpIpVersion {
    /// Whatever the beacon's address is.
    Any = 0,
    /// IPv4 only.
    V4 = 1,
    /// IPv6 only.
    V6 = 2,
}

/// The figure a location is ranked by (`EgpConfig::statistic`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgpStatistic {
    /// The median round-trip time.
    Median = 0,
    /// The mean.
    Mean = 1,
    /// The mean without the smallest and the largest sample.
    TrimmedMean = 2,
    /// The smallest sample.
    Min = 3,
}

/// Probe settings. Fill it with `egp_config_init` (which sets `size` and every default), then
/// change the fields you need. Times are in milliseconds, as doubles.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EgpConfig {
    /// Size of this struct in bytes as the caller compiled it; set by `egp_config_init`.
    pub size: u32,
    /// An `EgpProtocol` value.
    pub protocol: u32,
    /// An `EgpIpVersion` value.
    pub ip_version: u32,
    /// An `EgpStatistic` value.
    pub statistic: u32,
    /// Probes per beacon (at least 1).
    pub count: u32,
    /// Extra probes a beacon may get to replace lost ones.
    pub extra_probes: u32,
    /// 1: stop probing locations that can no longer win once the best is known; 0: probe all.
    pub early_decision: u32,
    /// 1: accept any reply from the beacon's address and port, even with other bytes.
    pub lenient: u32,
    /// Time between two probes to the same beacon.
    pub interval_ms: f64,
    /// How long a probe may wait for its reply.
    pub timeout_ms: f64,
    /// Hard limit for the whole run; 0 means none.
    pub deadline_ms: f64,
    /// Milliseconds added to a score per unit of loss (1.0 = 100 % loss).
    pub loss_penalty_ms: f64,
    /// Weight of the jitter in the score.
    pub jitter_weight: f64,
    /// Near-tie band, relative: a score up to `best * tie_factor` is a near tie (>= 1).
    pub tie_factor: f64,
    /// Near-tie band, absolute: and at most this many ms above the best.
    pub tie_margin_ms: f64,
    /// Locations above this are excluded, like the matchmaker's `max_latency`; 0 means none.
    pub max_latency_ms: f64,
    /// 1 (default): keep probing the locations still close to the leader, side by side with it,
    /// until each is behind it or in a near tie at `confidence`, or out of `max_probes`;
    /// 0: exactly `count` samples per beacon. (Added in the second layout: a caller compiled
    /// against the first gets the defaults of this and the next two fields.)
    pub adaptive: u32,
    /// Most probes per location while close contenders are told apart (default 30).
    pub max_probes: u32,
    /// How sure a comparison must be, 0.5 to below 1 (default 0.95).
    pub confidence: f64,
}

/// The smallest `size` this library accepts: the first published layout, up to
/// `max_latency_ms`.
pub(crate) const MIN_SIZE: usize = std::mem::offset_of!(EgpConfig, adaptive);

/// What a probe is created with: the C struct's settings and the JSON-only extras.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The C-visible settings.
    pub config: EgpConfig,
    /// Name of the matchmaker attribute of the payload (JSON `attribute`).
    pub attribute: Option<String>,
    /// Where to keep the report between runs (JSON `cache_file`).
    pub cache_file: Option<PathBuf>,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl Default for EgpConfig {
    fn default() -> Self {
        let defaults = ProbeConfig::default();
        let engine = &defaults.engine;
        let rank = &defaults.rank;
        Self {
            size: size_of::<EgpConfig>() as u32,
            protocol: protocol_code(defaults.protocol),
            ip_version: ip_code(engine.ip_version) as u32,
            statistic: statistic_code(rank.statistic),
            count: engine.count,
            extra_probes: engine.extra_probes,
            early_decision: u32::from(defaults.early_decision),
            lenient: u32::from(engine.lenient),
            interval_ms: ms(engine.interval),
            timeout_ms: ms(engine.timeout),
            deadline_ms: engine.deadline.map_or(0.0, ms),
            loss_penalty_ms: rank.loss_penalty_ms,
            jitter_weight: rank.jitter_weight,
            tie_factor: rank.tie_factor,
            tie_margin_ms: rank.tie_margin_ms,
            max_latency_ms: rank.max_latency_ms.unwrap_or(0.0),
            adaptive: u32::from(defaults.adaptive),
            max_probes: defaults.max_probes,
            confidence: rank.confidence,
        }
    }
}

/// The C number of a transport choice: its position in [`ProtocolChoice::ALL`] (the one
/// place the C enum and the Rust one meet; a test checks the numbers match `EgpProtocol`).
fn protocol_code(choice: ProtocolChoice) -> u32 {
    ProtocolChoice::ALL
        .iter()
        .position(|&c| c == choice)
        .map_or(0, |i| i as u32)
}

fn ip_code(version: IpVersion) -> EgpIpVersion {
    match version {
        IpVersion::Any => EgpIpVersion::Any,
        IpVersion::V4 => EgpIpVersion::V4,
        IpVersion::V6 => EgpIpVersion::V6,
    }
}

/// The C number of a statistic: its position in [`Statistic::ALL`] (a test checks the
/// numbers match `EgpStatistic`).
fn statistic_code(statistic: Statistic) -> u32 {
    Statistic::ALL
        .iter()
        .position(|&s| s == statistic)
        .map_or(0, |i| i as u32)
}

fn invalid(field: &str, reason: impl std::fmt::Display) -> FfiError {
    FfiError::new(
        EgpResult::InvalidConfig,
        format!("config field `{field}` {reason}"),
    )
}

fn flag(field: &str, value: u32) -> Result<bool, FfiError> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(invalid(field, format_args!("must be 0 or 1, got {other}"))),
    }
}

fn duration(field: &str, value: f64, zero_ok: bool) -> Result<Duration, FfiError> {
    let ok = value.is_finite() && (value > 0.0 || (zero_ok && value == 0.0));
    if !ok || value > 86_400_000.0 {
        let range = if zero_ok { ">= 0" } else { "> 0" };
        return Err(invalid(
            field,
            format_args!(
                "must be a finite number of milliseconds {range} and at most a day, got {value}"
            ),
        ));
    }
    Ok(Duration::from_secs_f64(value / 1000.0))
}

impl Settings {
    /// The facade's configuration for these settings, after checking every value.
    pub(crate) fn to_probe_config(&self) -> Result<ProbeConfig, FfiError> {
        let c = &self.config;
        let mut out = ProbeConfig::default();
        out.protocol = *ProtocolChoice::ALL
            .get(c.protocol as usize)
            .ok_or_else(|| {
                invalid(
                    "protocol",
                    format_args!("is not an EgpProtocol: {}", c.protocol),
                )
            })?;
        out.engine.ip_version = match c.ip_version {
            0 => IpVersion::Any,
            1 => IpVersion::V4,
            2 => IpVersion::V6,
            other => {
                return Err(invalid(
                    "ip_version",
                    format_args!("is not an EgpIpVersion: {other}"),
                ));
            }
        };
        out.rank.statistic = *Statistic::ALL.get(c.statistic as usize).ok_or_else(|| {
            invalid(
                "statistic",
                format_args!("is not an EgpStatistic: {}", c.statistic),
            )
        })?;
        out.engine.count = c.count;
        out.engine.extra_probes = c.extra_probes;
        out.early_decision = flag("early_decision", c.early_decision)?;
        out.engine.lenient = flag("lenient", c.lenient)?;
        out.engine.interval = duration("interval_ms", c.interval_ms, true)?;
        out.engine.timeout = duration("timeout_ms", c.timeout_ms, false)?;
        out.engine.deadline = match duration("deadline_ms", c.deadline_ms, true)? {
            Duration::ZERO => None,
            limit => Some(limit),
        };
        out.rank.loss_penalty_ms = c.loss_penalty_ms;
        out.rank.jitter_weight = c.jitter_weight;
        out.rank.tie_factor = c.tie_factor;
        out.rank.tie_margin_ms = c.tie_margin_ms;
        out.rank.max_latency_ms = if c.max_latency_ms == 0.0 {
            None
        } else {
            Some(c.max_latency_ms)
        };
        if let Some(attribute) = &self.attribute {
            out.rank.attribute.clone_from(attribute);
        }
        out.adaptive = flag("adaptive", c.adaptive)?;
        out.max_probes = c.max_probes;
        out.rank.confidence = c.confidence;
        out.cache_file.clone_from(&self.cache_file);
        // The facade's one check of the whole configuration, mapped to the C result code.
        out.validate()
            .map_err(|e| FfiError::new(EgpResult::InvalidConfig, e.to_string()))?;
        Ok(out)
    }
}

/// Reads the caller's config, honouring its `size`: NULL gives the defaults.
///
/// # Safety
/// `config` must be NULL or point to at least `config->size` readable bytes, starting with
/// the `u32` size field.
pub(crate) unsafe fn read(config: *const EgpConfig) -> Result<EgpConfig, FfiError> {
    let mut out = EgpConfig::default();
    if config.is_null() {
        return Ok(out);
    }
    // SAFETY: a non-NULL config starts with its u32 size field (caller's contract); the read
    // is unaligned-safe in case a binding packed the struct.
    let size = unsafe { config.cast::<u32>().read_unaligned() } as usize;
    check_size(size)?;
    let ours = size_of::<EgpConfig>();
    let base = config.cast::<u8>();
    if size > ours {
        // SAFETY: the caller's struct is `size` bytes long, so bytes ours..size are readable.
        let extra = unsafe { std::slice::from_raw_parts(base.add(ours), size - ours) };
        if extra.iter().any(|&b| b != 0) {
            return Err(FfiError::new(
                EgpResult::InvalidConfig,
                format!(
                    "the config is {size} bytes and sets fields this library ({ours} bytes, \
                     version {}) does not know: use a newer library",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
    }
    // SAFETY: `min(size, ours)` bytes are readable at `config` (caller's contract) and writable
    // in `out`; EgpConfig has only integer and float fields, so any bytes are a valid value.
    unsafe {
        std::ptr::copy_nonoverlapping(base, (&raw mut out).cast::<u8>(), size.min(ours));
    }
    out.size = ours as u32;
    Ok(out)
}

/// Fills the caller's struct of `size` bytes with the defaults: the bytes this library knows
/// get their default values, any further bytes (a newer header) are zeroed, `size` is stored.
///
/// # Safety
/// `config` must be non-NULL and valid for writes of `size` bytes.
pub(crate) unsafe fn init(config: *mut EgpConfig, size: usize) -> Result<(), FfiError> {
    check_size(size)?;
    let ours = size_of::<EgpConfig>();
    let defaults = EgpConfig {
        size: size as u32,
        ..EgpConfig::default()
    };
    let base = config.cast::<u8>();
    // SAFETY: `config` is valid for `size` bytes (caller's contract): the defaults fill what
    // both layouts have (an older caller's struct is shorter), zeros the rest of a newer
    // one; the source is a local value, so the regions cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping((&raw const defaults).cast::<u8>(), base, size.min(ours));
        if size > ours {
            std::ptr::write_bytes(base.add(ours), 0, size - ours);
        }
    }
    Ok(())
}

/// Checks a caller's struct size.
pub(crate) fn check_size(size: usize) -> Result<(), FfiError> {
    if !(MIN_SIZE..=64 * 1024).contains(&size) {
        return Err(FfiError::new(
            EgpResult::InvalidConfig,
            format!(
                "config size {size} is not supported: call egp_config_init(&config, sizeof config) \
                 first (this library's EgpConfig is {MIN_SIZE} bytes)"
            ),
        ));
    }
    Ok(())
}

/// The JSON form of the settings: every key optional, unknown keys rejected (typos would
/// otherwise be silently ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSettings {
    protocol: Option<String>,
    ip_version: Option<String>,
    statistic: Option<String>,
    count: Option<u32>,
    extra_probes: Option<u32>,
    early_decision: Option<bool>,
    lenient: Option<bool>,
    interval_ms: Option<f64>,
    timeout_ms: Option<f64>,
    deadline_ms: Option<f64>,
    loss_penalty_ms: Option<f64>,
    jitter_weight: Option<f64>,
    tie_factor: Option<f64>,
    tie_margin_ms: Option<f64>,
    max_latency_ms: Option<f64>,
    adaptive: Option<bool>,
    max_probes: Option<u32>,
    confidence: Option<f64>,
    attribute: Option<String>,
    cache_file: Option<String>,
}

fn named(field: &str, value: &str, names: &[&str]) -> Result<u32, FfiError> {
    let wanted = value.trim().to_ascii_lowercase().replace('_', "-");
    names
        .iter()
        .position(|n| *n == wanted)
        .map(|i| i as u32)
        .ok_or_else(|| {
            invalid(
                field,
                format_args!("must be one of {names:?}, got {value:?}"),
            )
        })
}

/// A name parsed by the shared vocabulary's `FromStr`, as its C number.
fn parsed<T: std::str::FromStr>(
    field: &str,
    value: &str,
    code: impl Fn(T) -> u32,
) -> Result<u32, FfiError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse::<T>()
        .map(code)
        .map_err(|e| invalid(field, format_args!("is invalid: {e}")))
}

/// Settings from a JSON object such as `{"count": 5, "protocol": "udp", "attribute": "beacons"}`.
pub(crate) fn from_json(text: &str) -> Result<Settings, FfiError> {
    let json: JsonSettings = serde_json::from_str(text).map_err(|e| {
        FfiError::new(
            EgpResult::InvalidJson,
            format!("config JSON could not be read: {e}"),
        )
    })?;
    let mut c = EgpConfig::default();
    if let Some(v) = &json.protocol {
        c.protocol = parsed("protocol", v, protocol_code)?;
    }
    if let Some(v) = &json.ip_version {
        c.ip_version = named("ip_version", v, &["any", "v4", "v6"])?;
    }
    if let Some(v) = &json.statistic {
        c.statistic = parsed("statistic", v, statistic_code)?;
    }
    let set = |target: &mut f64, value: Option<f64>| {
        if let Some(v) = value {
            *target = v;
        }
    };
    set(&mut c.interval_ms, json.interval_ms);
    set(&mut c.timeout_ms, json.timeout_ms);
    set(&mut c.deadline_ms, json.deadline_ms);
    set(&mut c.loss_penalty_ms, json.loss_penalty_ms);
    set(&mut c.jitter_weight, json.jitter_weight);
    set(&mut c.tie_factor, json.tie_factor);
    set(&mut c.tie_margin_ms, json.tie_margin_ms);
    set(&mut c.max_latency_ms, json.max_latency_ms);
    c.count = json.count.unwrap_or(c.count);
    c.extra_probes = json.extra_probes.unwrap_or(c.extra_probes);
    c.early_decision = json.early_decision.map_or(c.early_decision, u32::from);
    c.adaptive = json.adaptive.map_or(c.adaptive, u32::from);
    c.max_probes = json.max_probes.unwrap_or(c.max_probes);
    set(&mut c.confidence, json.confidence);
    c.lenient = json.lenient.map_or(c.lenient, u32::from);
    let settings = Settings {
        config: c,
        attribute: json.attribute,
        cache_file: json.cache_file.map(PathBuf::from),
    };
    settings.to_probe_config()?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(config: EgpConfig) -> Settings {
        Settings {
            config,
            attribute: None,
            cache_file: None,
        }
    }

    #[test]
    fn defaults_round_trip_to_the_facade_defaults() {
        let probe = settings(EgpConfig::default()).to_probe_config().unwrap();
        let facade = ProbeConfig::default();
        assert_eq!(probe.engine.count, facade.engine.count);
        assert_eq!(probe.engine.timeout, facade.engine.timeout);
        assert_eq!(probe.engine.deadline, facade.engine.deadline);
        assert_eq!(probe.rank, facade.rank);
        assert_eq!(probe.protocol, facade.protocol);
        assert_eq!(probe.early_decision, facade.early_decision);
    }

    #[test]
    fn the_c_numbers_are_the_positions_in_the_shared_lists() {
        for (choice, c) in ProtocolChoice::ALL.into_iter().zip([
            EgpProtocol::Auto,
            EgpProtocol::Udp,
            EgpProtocol::Tcp,
            EgpProtocol::Icmp,
        ]) {
            assert_eq!(protocol_code(choice), c as u32);
        }
        for (statistic, c) in Statistic::ALL.into_iter().zip([
            EgpStatistic::Median,
            EgpStatistic::Mean,
            EgpStatistic::TrimmedMean,
            EgpStatistic::Min,
        ]) {
            assert_eq!(statistic_code(statistic), c as u32);
        }
    }

    #[test]
    fn the_layout_has_no_padding_and_a_leading_size() {
        assert_eq!(MIN_SIZE, 8 * 4 + 8 * 8);
        assert_eq!(size_of::<EgpConfig>(), MIN_SIZE + 2 * 4 + 8);
        assert_eq!(std::mem::offset_of!(EgpConfig, size), 0);
        assert_eq!(std::mem::offset_of!(EgpConfig, interval_ms), 32);
        assert_eq!(std::mem::offset_of!(EgpConfig, confidence), MIN_SIZE + 8);
    }

    #[test]
    fn a_caller_of_the_first_layout_gets_the_later_fields_defaults() {
        // The first layout: everything up to `max_latency_ms`.
        let mut first = [0u8; MIN_SIZE];
        // SAFETY: `first` is writable for MIN_SIZE bytes, the size given.
        unsafe { init(first.as_mut_ptr().cast(), MIN_SIZE) }.unwrap();
        // SAFETY: `first` is readable for MIN_SIZE bytes, what its size field says.
        let read_back = unsafe { read(first.as_ptr().cast()) }.unwrap();
        let defaults = EgpConfig::default();
        assert_eq!(read_back.count, defaults.count);
        assert_eq!((read_back.adaptive, read_back.max_probes), (1, 30));
        assert!((read_back.confidence - 0.95).abs() < f64::EPSILON);
        let settings = Settings {
            config: read_back,
            attribute: None,
            cache_file: None,
        };
        let config = settings.to_probe_config().unwrap();
        assert!(config.adaptive);
    }

    #[test]
    fn null_gives_the_defaults() {
        // SAFETY: NULL is allowed.
        assert_eq!(
            unsafe { read(std::ptr::null()) }.unwrap(),
            EgpConfig::default()
        );
    }

    #[test]
    fn sizes_below_the_first_layout_are_rejected() {
        let mut config = EgpConfig::default();
        for size in [0, 4, MIN_SIZE as u32 - 1] {
            config.size = size;
            // SAFETY: `config` is a full struct, readable for its whole size.
            let err = unsafe { read(&raw const config) }.unwrap_err();
            assert_eq!(err.code, EgpResult::InvalidConfig);
            assert!(err.message.contains("egp_config_init"), "{}", err.message);
        }
    }

    #[test]
    fn a_larger_struct_is_accepted_only_when_its_extra_bytes_are_zero() {
        #[repr(C)]
        struct Newer {
            base: EgpConfig,
            extra: u64,
        }
        let mut newer = Newer {
            base: EgpConfig {
                count: 9,
                ..EgpConfig::default()
            },
            extra: 0,
        };
        newer.base.size = size_of::<Newer>() as u32;
        // SAFETY: `newer` is readable for its whole size, which is what `size` says.
        let read_back = unsafe { read((&raw const newer).cast()) }.unwrap();
        assert_eq!(read_back.count, 9);
        assert_eq!(read_back.size as usize, size_of::<EgpConfig>());
        newer.extra = 1;
        // SAFETY: as above.
        let err = unsafe { read((&raw const newer).cast()) }.unwrap_err();
        assert_eq!(err.code, EgpResult::InvalidConfig);
    }

    #[test]
    fn out_of_range_values_are_rejected_with_the_field_name() {
        let cases: [(&str, EgpConfig); 10] = [
            (
                "adaptive",
                EgpConfig {
                    adaptive: 2,
                    ..EgpConfig::default()
                },
            ),
            (
                "max_probes",
                EgpConfig {
                    max_probes: 0,
                    ..EgpConfig::default()
                },
            ),
            (
                "confidence",
                EgpConfig {
                    confidence: 1.0,
                    ..EgpConfig::default()
                },
            ),
            (
                "protocol",
                EgpConfig {
                    protocol: 9,
                    ..EgpConfig::default()
                },
            ),
            (
                "statistic",
                EgpConfig {
                    statistic: 4,
                    ..EgpConfig::default()
                },
            ),
            (
                "count",
                EgpConfig {
                    count: 0,
                    ..EgpConfig::default()
                },
            ),
            (
                "early_decision",
                EgpConfig {
                    early_decision: 2,
                    ..EgpConfig::default()
                },
            ),
            (
                "timeout_ms",
                EgpConfig {
                    timeout_ms: 0.0,
                    ..EgpConfig::default()
                },
            ),
            (
                "interval_ms",
                EgpConfig {
                    interval_ms: f64::NAN,
                    ..EgpConfig::default()
                },
            ),
            (
                "tie_factor",
                EgpConfig {
                    tie_factor: 0.5,
                    ..EgpConfig::default()
                },
            ),
        ];
        for (field, config) in cases {
            let err = settings(config).to_probe_config().unwrap_err();
            assert_eq!(err.code, EgpResult::InvalidConfig, "{field}");
            assert!(err.message.contains(field), "{field}: {}", err.message);
        }
    }

    #[test]
    fn zero_means_no_deadline_and_no_latency_cut() {
        let config = EgpConfig {
            deadline_ms: 1500.0,
            max_latency_ms: 120.0,
            ..EgpConfig::default()
        };
        let probe = settings(config).to_probe_config().unwrap();
        assert_eq!(probe.engine.deadline, Some(Duration::from_millis(1500)));
        assert_eq!(probe.rank.max_latency_ms, Some(120.0));
        let none = EgpConfig {
            deadline_ms: 0.0,
            max_latency_ms: 0.0,
            ..EgpConfig::default()
        };
        let probe = settings(none).to_probe_config().unwrap();
        assert_eq!(probe.engine.deadline, None);
        assert_eq!(probe.rank.max_latency_ms, None);
    }

    #[test]
    fn json_sets_fields_and_extras_and_rejects_typos() {
        let s = from_json(
            r#"{"count": 3, "protocol": "tcp", "statistic": "trimmed_mean", "early_decision": false,
                "attribute": "latency", "cache_file": "/tmp/x.json"}"#,
        )
        .unwrap();
        assert_eq!(s.config.count, 3);
        assert_eq!(s.config.protocol, EgpProtocol::Tcp as u32);
        assert_eq!(s.config.statistic, EgpStatistic::TrimmedMean as u32);
        assert_eq!(s.config.early_decision, 0);
        let probe = s.to_probe_config().unwrap();
        assert_eq!(probe.rank.attribute, "latency");
        assert_eq!(
            probe.cache_file.as_deref(),
            Some(std::path::Path::new("/tmp/x.json"))
        );

        assert_eq!(
            from_json(r#"{"cuont": 3}"#).unwrap_err().code,
            EgpResult::InvalidJson
        );
        assert_eq!(from_json("{").unwrap_err().code, EgpResult::InvalidJson);
        assert_eq!(
            from_json(r#"{"protocol": "carrier-pigeon"}"#)
                .unwrap_err()
                .code,
            EgpResult::InvalidConfig
        );
        assert_eq!(
            from_json(r#"{"attribute": ""}"#).unwrap_err().code,
            EgpResult::InvalidConfig
        );
        assert!(from_json("{}").is_ok());
    }
}
