//! The report: the JSON document the CLI prints with `--json` (and the C ABI returns), saved as
//! the cache of the last run so that the next run can re-probe the previous best first.
//!
//! # The JSON report, field by field (`schema_version` 3)
//!
//! Top level:
//!
//! | field | meaning |
//! |---|---|
//! | `schema_version` | `3`. Version 2 lacked `confidence`, `interval_ms` and `config.confidence`; version 1 (no such field) also lacked `cancelled`, `code`, `codes`, `protocols` and `carried_over`; both still load. |
//! | `locations` | reachable locations within `max_latency_ms`, best first (`rank` 1, 2, ...) |
//! | `unreachable` | locations none of whose beacons produced a sample: codes and reasons, never a number |
//! | `excluded` | reachable locations whose statistic exceeds `max_latency_ms` |
//! | `payload` | the matchmaker ticket attribute `{"<attribute>": {"<City>": ms}}`: every location of `locations`, measured or carried over, with its `statistic_ms` rounded to 2 decimals |
//! | `duration_ms` | how long the run took |
//! | `decision_ms` | when the best location became known, from the start; `null` when it never did early |
//! | `confidence` | how sure the choice is, best against runner-up: `verdict` (`separated`: the runner-up is behind at `level`; `near_tie`: the two are inside the near-tie band of each other at `level`; `budget_exhausted`: sampling ended before they could be told apart; `single`: one reachable location), `level`, `runner_up` (city), `margin_ms` (median of the paired differences runner-up − best, or the difference of the statistics when not paired), `interval_ms` `{low_ms, high_ms, coverage}` of that difference, `pairs` (probes paired within 5 ms; 0 = compared by the two locations' own intervals), `decided_by` (`statistic`, `loss` or `jitter`: the term that put the best first; a loss or jitter difference decides only when significant at `level`) |
//! | `generated_at_unix_ms` | wall-clock time the report was made (only for the cache's time to live) |
//! | `config` | the ranking settings used: `statistic` (the figure that ranks, shown and sent), `loss_penalty_ms`, `loss_prior_probes`, `jitter_weight`, `tie_factor`, `tie_margin_ms`, `max_latency_ms`, `attribute`, `confidence` (the level of every interval and test) |
//!
//! A location (in `locations` and `excluded`):
//!
//! | field | meaning |
//! |---|---|
//! | `city`, `country` | as the beacon list spells them; `city` is the payload key |
//! | `rank` | 1 = best; excluded locations continue the numbering |
//! | `score_ms` | what orders the locations: `statistic_ms` + `loss_penalty_ms` × scored loss + `jitter_weight` × jitter; the location with the best statistic goes first when it is ahead of the best score with only significant loss and jitter differences counted (see [`crate::judge`]) |
//! | `interval_ms` | `{low_ms, high_ms, coverage}`: the distribution-free interval of the median (order statistics) at `config.confidence`, with its exact coverage (lower than the level with fewer than 6 samples); `null` for other statistics |
//! | `statistic_ms` | the configured statistic (`config.statistic`): what the table shows and the payload carries |
//! | `sticky` | the previous run's best, kept first inside the near-tie band |
//! | `protocol` | the transport of the samples when the beacons agree, else `null`; `protocols` lists each |
//! | `sent`, `received`, `lost`, `late`, `cancelled` | what became of every probe: `sent = received + lost + late + cancelled` |
//! | `duplicates` | extra answers to answered probes (not probes) |
//! | `loss` | `(lost + late) / (sent − cancelled)`, 0..=1 (cancelled probes are never loss) |
//! | `rtt_ms` | `min`, `p50`, `p90`, `p99`, `max`, `mean`, `stddev`, `jitter`, `trimmed_mean` in ms (see [`crate::RttSummary`]) |
//! | `beacons` | the same per beacon (`host`, `port`, `protocol`, the counts, `loss`, `rtt_ms`), plus `code` and `unreachable` (the reason) for a beacon of the location that produced no sample |
//! | `carried_over` | `null` when measured in this run; else `{measured_at_unix_ms, age_ms}`: a cached fast re-probe carried these figures over from the saved report |
//!
//! An unreachable location: `city`, `country`, `codes` (distinct stable codes), `reasons`
//! (distinct human reasons), `carried_over`, and `beacons` with `host`, `port`, `protocol`,
//! `code`, `reason` and the counts. The codes are those of [`crate::UnreachableCode`]:
//! `refused`, `no_reply`, `resolve_failed`, `no_port`, `permission_denied`, `send_failed`,
//! `deadline` (the run's deadline ended it before any reply), `cancelled`, `stopped`.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::significance::{PAIR_WINDOW_US, pair_differences};
use crate::{
    Confidence, LocationReport, RankConfig, RankError, Ranking, UnreachableLocation, within_band,
};

/// The version of the JSON report this library writes (see the module documentation).
pub const REPORT_SCHEMA_VERSION: u32 = 3;

fn version_one() -> u32 {
    1
}

/// The outcome of a run, as printed with `--json` and saved as the cache.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The report's schema version ([`REPORT_SCHEMA_VERSION`]; 1 when absent).
    #[serde(default = "version_one")]
    pub schema_version: u32,
    /// Reachable locations within `max_latency_ms`, best first (`rank` 1, 2, ...).
    pub locations: Vec<LocationReport>,
    /// Locations without any sample: reasons, never a number.
    pub unreachable: Vec<UnreachableLocation>,
    /// Reachable locations whose statistic exceeds `max_latency_ms`.
    #[serde(default)]
    pub excluded: Vec<LocationReport>,
    /// The matchmaker ticket attribute, `{"<attribute>": {"<City>": ms}}`.
    pub payload: Value,
    /// How long the whole run took, in milliseconds.
    pub duration_ms: f64,
    /// When the best location became known (early decision), in milliseconds from the start;
    /// `null` when no early decision was made. The facade evaluates its decision on a clock in
    /// a run of 64 locations or more: this is the first evaluation that found it known (a
    /// few milliseconds late at most, up to four times that with early decision off, when the
    /// decision only dates the report).
    pub decision_ms: Option<f64>,
    /// Wall-clock time the report was made, in milliseconds since the Unix epoch. Used only
    /// for the cache's time to live, never for a latency.
    #[serde(default)]
    pub generated_at_unix_ms: u64,
    /// The ranking settings the report was made with.
    #[serde(default)]
    pub config: Option<RankConfig>,
    /// How sure the choice of the best location is (`null` without a reachable location,
    /// and in reports older than schema 3).
    #[serde(default)]
    pub confidence: Option<Confidence>,
}

/// The pretty-printed JSON of a report without its locations, and of one location (with one
/// beacon), about: the room [`Report::to_json_pretty`] makes ahead.
const JSON_BASE_BYTES: usize = 4096;
const JSON_BYTES_PER_LOCATION: usize = 1700;

impl Report {
    /// A report of `ranking`, made now. Its confidence pairs the best two locations' probes
    /// sent side by side, from [`Ranking::best_two`] (the beacons' traces), and falls back on
    /// the two locations' own intervals without them.
    pub fn new(
        ranking: Ranking,
        config: &RankConfig,
        duration: Duration,
        decision: Option<Duration>,
    ) -> Report {
        Self::new_at(ranking, config, duration, decision, SystemTime::now())
    }

    /// A report of `ranking`, stamped as made at `now`.
    pub fn new_at(
        ranking: Ranking,
        config: &RankConfig,
        duration: Duration,
        decision: Option<Duration>,
        now: SystemTime,
    ) -> Report {
        let payload = ranking.payload(&config.attribute);
        // The best two's probes sent side by side (within `PAIR_WINDOW_US`) are paired; both
        // locations' samples back the unpaired test.
        let best_two = ranking.best_two.unwrap_or_default();
        let differences = pair_differences(&best_two.best, &best_two.runner_up, PAIR_WINDOW_US);
        let rtts = |t: &[(u64, f64)]| t.iter().map(|&(_, rtt)| rtt).collect::<Vec<f64>>();
        let (a, b) = (rtts(&best_two.best), rtts(&best_two.runner_up));
        let both = (!a.is_empty() && !b.is_empty()).then_some((a.as_slice(), b.as_slice()));
        let confidence = ranking.locations.first().map(|best| {
            Confidence::assess(
                best,
                ranking.locations.get(1),
                &differences,
                both,
                ranking.decided_by,
                config,
            )
        });
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            locations: ranking.locations,
            unreachable: ranking.unreachable,
            excluded: ranking.excluded,
            payload,
            duration_ms: duration.as_secs_f64() * 1000.0,
            decision_ms: decision.map(|d| d.as_secs_f64() * 1000.0),
            generated_at_unix_ms: unix_ms(now),
            config: Some(config.clone()),
            confidence,
        }
    }

    /// States the confidence again from what the run saw of the best location and the
    /// runner-up: the paired differences `runner-up − best` (in milliseconds) of probes sent
    /// side by side, which cancel the noise the two share, and both locations' round-trip
    /// times (see [`Confidence::assess`]).
    pub fn assess_measured(&mut self, differences: &[f64], samples: Option<(&[f64], &[f64])>) {
        let config = self.config.clone().unwrap_or_default();
        let decided_by = self.confidence.as_ref().and_then(|c| c.decided_by);
        if let Some(best) = self.locations.first() {
            self.confidence = Some(Confidence::assess(
                best,
                self.locations.get(1),
                differences,
                samples,
                decided_by,
                &config,
            ));
        }
    }

    /// Every probe the report accounts for: those of the ranked, excluded and unreachable
    /// locations.
    pub fn probes_sent(&self) -> u32 {
        let reachable = self.locations.iter().chain(&self.excluded);
        let unreachable = self.unreachable.iter().flat_map(|u| &u.beacons);
        reachable.map(|l| l.counts.sent).sum::<u32>()
            + unreachable.map(|b| b.counts.sent).sum::<u32>()
    }

    /// The best location, if any.
    pub fn best(&self) -> Option<&LocationReport> {
        self.locations.first()
    }

    /// The report as pretty-printed JSON.
    pub fn to_json_pretty(&self) -> String {
        // A location takes about 1.6 KB pretty-printed: the text is written into room made
        // once rather than grown by doublings (a copy each) over hundreds of kilobytes.
        let entries = self.locations.len() + self.excluded.len() + self.unreachable.len();
        let mut out = Vec::with_capacity(JSON_BASE_BYTES + JSON_BYTES_PER_LOCATION * entries);
        // Cannot fail: every map in a report has string keys, non-finite numbers are written
        // as null by serde_json, and a Vec takes every write.
        serde_json::to_writer_pretty(&mut out, self).expect("a report always serializes to JSON");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Reads a report from JSON (unknown extra fields are ignored).
    pub fn from_json(json: &str) -> Result<Report, RankError> {
        serde_json::from_str(json).map_err(RankError::Decode)
    }

    /// Writes the report to `path` atomically: into a new temporary file with a random name in
    /// the same directory, created exclusively (`O_CREAT|O_EXCL`, so a planted file or symbolic
    /// link of that name is never followed or truncated) and readable by its owner only (mode
    /// 0600 on Unix), flushed to disk, then renamed over `path`. A reader sees the old or the new
    /// report, never half of one. The directory must exist: it is never created.
    pub fn save(&self, path: &Path) -> Result<(), RankError> {
        let json = serde_json::to_string_pretty(self).map_err(RankError::Encode)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(RankError::Io {
                action: "save into",
                path: dir,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the directory does not exist (it is never created)",
                ),
            });
        }
        let (temp, file) = create_temp(&dir, path)?;
        let written = write_synced(file, &temp, json.as_bytes()).and_then(|()| {
            fs::rename(&temp, path).map_err(|source| RankError::Io {
                action: "rename the temporary file into",
                path: path.to_path_buf(),
                source,
            })
        });
        if written.is_err() {
            // Best effort: the error above is the one worth reporting.
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// Reads a report saved with [`Report::save`]. Only a regular file (or a link to one) of
    /// at most [`MAX_REPORT_BYTES`] is read: a FIFO, a device or a directory is refused without
    /// being opened, and a larger file is refused without being read whole.
    pub fn load(path: &Path) -> Result<Report, RankError> {
        let io = |action: &'static str| {
            move |source| RankError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        let meta = fs::metadata(path).map_err(io("read"))?;
        if !meta.is_file() {
            return Err(io("read")(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        if meta.len() > MAX_REPORT_BYTES {
            return Err(RankError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_REPORT_BYTES,
            });
        }
        let file = fs::File::open(path).map_err(io("read"))?;
        if !file.metadata().map_err(io("read"))?.is_file() {
            // Swapped for something else between the two checks.
            return Err(io("read")(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let mut json = String::new();
        file.take(MAX_REPORT_BYTES + 1)
            .read_to_string(&mut json)
            .map_err(io("read"))?;
        if json.len() as u64 > MAX_REPORT_BYTES {
            return Err(RankError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_REPORT_BYTES,
            });
        }
        serde_json::from_str(&json).map_err(|source| RankError::DecodeFile {
            path: path.to_path_buf(),
            source,
        })
    }

    /// When the report was made.
    pub fn generated_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.generated_at_unix_ms)
    }

    /// How old the report is at `now` (zero when it is stamped in the future).
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.generated_at())
            .unwrap_or(Duration::ZERO)
    }

    /// When the oldest reachable figures in the report were measured (carried-over figures
    /// keep the time they were measured at), in milliseconds since the Unix epoch.
    pub fn oldest_measurement_unix_ms(&self) -> u64 {
        self.locations
            .iter()
            .chain(&self.excluded)
            .map(|l| {
                l.carried_over
                    .map_or(self.generated_at_unix_ms, |c| c.measured_at_unix_ms)
            })
            .min()
            .unwrap_or(self.generated_at_unix_ms)
    }

    /// Whether the report is younger than `ttl` at `now`. A report stamped in the future (the
    /// clock was set back) is fresh only while it is less than `ttl` ahead.
    pub fn is_fresh(&self, ttl: Duration, now: SystemTime) -> bool {
        match now.duration_since(self.generated_at()) {
            Ok(age) => age < ttl,
            Err(ahead) => ahead.duration() < ttl,
        }
    }
}

/// Whether a remembered best location `previous` has degraded: its score now, `now_score_ms`,
/// is outside the near-tie band of the score it had (`now > previous * factor` or
/// `now - previous > margin_ms`). A degraded best means everything must be re-probed.
/// A NaN score counts as degraded.
pub fn degraded(previous: &LocationReport, now_score_ms: f64, factor: f64, margin_ms: f64) -> bool {
    !within_band(now_score_ms, previous.score_ms, factor, margin_ms)
}

/// Milliseconds since the Unix epoch of `t` (0 before the epoch).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The largest report file [`Report::load`] reads (16 MiB; a report of 10,000 locations is
/// about 10 MiB).
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;

/// Creates a new temporary file beside `path` with a name nobody can predict, exclusively
/// (never through an existing file or link) and, on Unix, with mode 0600.
fn create_temp(dir: &Path, path: &Path) -> Result<(PathBuf, fs::File), RankError> {
    let base = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let mut last = None;
    for _ in 0..16 {
        let temp = dir.join(format!(".{base}.{:016x}.tmp", random_u64()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(source) => {
                return Err(RankError::Io {
                    action: "create a temporary file in",
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
    Err(RankError::Io {
        action: "create a temporary file in",
        path: dir.to_path_buf(),
        source: last.unwrap_or_else(|| std::io::Error::other("no free temporary name")),
    })
}

/// 64 bits nobody can predict: std's hasher keys come from the operating system's randomness.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.finish()
}

fn write_synced(mut file: fs::File, path: &Path, bytes: &[u8]) -> Result<(), RankError> {
    let io = |action: &'static str| {
        move |source| RankError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    file.write_all(bytes).map_err(io("write"))?;
    file.sync_all().map_err(io("flush"))?;
    Ok(())
}
