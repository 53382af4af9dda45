//! The facade: beacons in, a ranked report out.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use edgegap_api::{Beacon, parse_beacon_list};
use edgegap_ping::{Protocol, ProtocolChoice, TargetSpec, TargetSummary, Unreachable};
use edgegap_rank::{
    CarriedLocations, CarriedOver, LocationKey, Report, degraded, rank_with_carried, unix_ms,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ProbeConfig;
use crate::error::ProbeError;
use crate::live::{BeaconTrace, LiveRun, Sampling, Thresholds};
use crate::measure::measurement;
use crate::progress::{Progress, ProgressCounters};
use crate::steering::Steering;
use crate::targets::{index_of, location_key, target_for};

/// Entry point: `Probe::builder()`.
#[derive(Debug, Clone, Copy)]
pub struct Probe;

impl Probe {
    /// Starts describing a probe run.
    pub fn builder() -> ProbeBuilder {
        ProbeBuilder::default()
    }
}

/// Describes a probe run: the beacons, the configuration and an optional previous report.
#[derive(Debug, Clone, Default)]
pub struct ProbeBuilder {
    beacons: Vec<Beacon>,
    config: ProbeConfig,
    previous: Option<Report>,
}

impl ProbeBuilder {
    /// The beacons to measure (from either beacon-list shape, see [`parse_beacon_list`]).
    #[must_use]
    pub fn beacons(mut self, beacons: impl IntoIterator<Item = Beacon>) -> Self {
        self.beacons.extend(beacons);
        self
    }

    /// Reads the beacons from a beacon-list JSON document of either published shape.
    pub fn beacon_list_json(self, json: &str) -> Result<Self, ProbeError> {
        Ok(self.beacons(parse_beacon_list(json)?))
    }

    /// The configuration (`ProbeConfig::default()` when not called).
    #[must_use]
    pub fn config(mut self, config: ProbeConfig) -> Self {
        self.config = config;
        self
    }

    /// A report of an earlier run: its best location is kept first while it stays inside the
    /// near-tie band, and when it is younger than the configured TTL only its best locations are
    /// re-probed unless they degraded. Overrides the configured cache file as the source.
    #[must_use]
    pub fn previous(mut self, report: Report) -> Self {
        self.previous = Some(report);
        self
    }

    /// Starts the run on the current tokio runtime and returns at once.
    ///
    /// # Errors
    /// [`ProbeError::NoBeacons`] for an empty list, [`ProbeError::InvalidConfig`] for a
    /// setting out of range (the whole configuration is checked here, once). Must be called
    /// inside a tokio runtime.
    pub fn start(self) -> Result<ProbeHandle, ProbeError> {
        if self.beacons.is_empty() {
            return Err(ProbeError::NoBeacons);
        }
        self.config.validate()?;
        let counters = Arc::new(ProgressCounters::default());
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let job = Job {
            beacons: self.beacons,
            config: self.config,
            previous: self.previous,
            counters: Arc::clone(&counters),
            cancel: cancel_rx,
        };
        let task = tokio::spawn(job.run());
        Ok(ProbeHandle {
            counters,
            cancel: cancel_tx,
            task,
        })
    }

    /// Runs to the end and returns the report.
    pub async fn run(self) -> Result<Report, ProbeError> {
        self.start()?.wait().await
    }

    /// Runs to the end on a private runtime, for callers without an async runtime.
    ///
    /// # Errors
    /// [`ProbeError::InsideAsyncRuntime`] when called from inside a tokio runtime.
    pub fn run_blocking(self) -> Result<Report, ProbeError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(ProbeError::InsideAsyncRuntime);
        }
        if self.beacons.is_empty() {
            return Err(ProbeError::NoBeacons);
        }
        self.config.validate()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ProbeError::Runtime)?;
        runtime.block_on(self.run())
    }
}

/// A running probe: read its progress, cancel it, wait for its report.
#[derive(Debug)]
pub struct ProbeHandle {
    counters: Arc<ProgressCounters>,
    cancel: watch::Sender<bool>,
    task: JoinHandle<Result<Report, ProbeError>>,
}

impl ProbeHandle {
    /// A snapshot of the progress; never blocks.
    pub fn progress(&self) -> Progress {
        self.counters.snapshot()
    }

    /// Stops all sending at once; the report then holds what was measured so far.
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }

    /// A cloneable way to cancel the run from elsewhere (a signal handler, another thread).
    pub fn canceller(&self) -> impl Fn() + Send + Sync + 'static {
        let cancel = self.cancel.clone();
        move || {
            cancel.send_replace(true);
        }
    }

    /// A cloneable way to read the progress from elsewhere (e.g. while another task awaits
    /// [`ProbeHandle::wait`], which consumes the handle).
    pub fn progress_reader(&self) -> impl Fn() -> Progress + Send + Sync + 'static {
        let counters = Arc::clone(&self.counters);
        move || counters.snapshot()
    }

    /// Whether the report is ready.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the report.
    pub async fn wait(self) -> Result<Report, ProbeError> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(ProbeError::TaskFailed(join.to_string())),
        }
    }
}

/// Reads the cache file, off the async threads (and so never on the caller's thread:
/// `start()` returns at once whatever the file is). A missing file is no cache; an unreadable
/// one (not a regular file, too large, not a report) is ignored with a warning.
async fn load_cache(config: &ProbeConfig) -> Option<Report> {
    let path = config.cache_file.clone()?;
    tokio::task::spawn_blocking(move || match Report::load(&path) {
        Ok(report) => Some(report),
        Err(edgegap_rank::RankError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            None
        }
        Err(err) => {
            tracing::warn!(path = %path.display(), %err, "ignoring unreadable cache file");
            None
        }
    })
    .await
    .ok()
    .flatten()
}

/// One run, moved into its task.
struct Job {
    beacons: Vec<Beacon>,
    config: ProbeConfig,
    previous: Option<Report>,
    counters: Arc<ProgressCounters>,
    cancel: watch::Receiver<bool>,
}

/// What one beacon measured: its final summary (of the last transport tried) and the
/// transports tried before without a sample.
struct BeaconResult {
    summary: TargetSummary,
    earlier: Vec<(Protocol, Unreachable)>,
    /// Its samples with their send instants, and its loss events.
    trace: BeaconTrace,
}

/// Whether a report is the job's last (which may take the beacon list apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Yes,
    No,
}

/// What the engine runs of a job measured, by beacon index.
struct Measured {
    beacons: BTreeMap<usize, BeaconResult>,
    /// When the best location became known, from the start of the whole job.
    decided_at: Option<Duration>,
    /// Whether a cancel or the deadline ended a run early.
    ended_early: bool,
}

/// Whether UDP was tried and got nothing: no reply at all, or the port refused.
fn udp_failed(summary: &TargetSummary) -> bool {
    summary.protocol == Some(Protocol::Udp)
        && matches!(
            summary.unreachable(),
            Some(Unreachable::NoReply | Unreachable::Refused)
        )
}

impl Job {
    async fn run(mut self) -> Result<Report, ProbeError> {
        let started = Instant::now();
        if self.previous.is_none() {
            self.previous = load_cache(&self.config).await;
        }
        let result = self.probe(started).await;
        self.counters.finished.store(true, Ordering::Release);
        let report = result?;
        if let Some(path) = &self.config.cache_file
            && let Err(err) = report.save(path)
        {
            // The measurement is worth more than the cache: keep it, say why it was not saved.
            tracing::warn!(path = %path.display(), %err, "the report was not saved to the cache");
        }
        Ok(report)
    }

    async fn probe(&mut self, started: Instant) -> Result<Report, ProbeError> {
        let sticky = self
            .previous
            .as_ref()
            .and_then(Report::best)
            .map(edgegap_rank::LocationReport::key);
        if let Some(report) = self.fast_reprobe(started, sticky.as_ref()).await? {
            return Ok(report);
        }
        let all: Vec<usize> = (0..self.beacons.len()).collect();
        let measured = self.measure_all_ways(&all, started).await?;
        Ok(self.report(
            measured,
            CarriedLocations::default(),
            sticky.as_ref(),
            started,
            Last::Yes,
        ))
    }

    /// With a fresh previous report, measures only its best locations and carries the others
    /// over (marked, with their age), so the payload stays complete; returns the report when
    /// the previous best still holds, `None` when everything must be re-probed.
    async fn fast_reprobe(
        &mut self,
        started: Instant,
        sticky: Option<&LocationKey>,
    ) -> Result<Option<Report>, ProbeError> {
        let Some(previous) = &self.previous else {
            return Ok(None);
        };
        let now = SystemTime::now();
        let now_ms = unix_ms(now);
        let ttl_ms = u64::try_from(self.config.cache_ttl.as_millis()).unwrap_or(u64::MAX);
        // Carried figures must stay young: once the oldest is past the TTL, re-probe all.
        let young = now_ms.saturating_sub(previous.oldest_measurement_unix_ms()) < ttl_ms;
        if !previous.is_fresh(self.config.cache_ttl, now) || !young {
            return Ok(None);
        }
        let Some(saved_best) = previous.best().cloned() else {
            return Ok(None);
        };
        let top: HashSet<LocationKey> = previous
            .locations
            .iter()
            .take(self.config.cache_reprobe_top.max(1))
            .map(edgegap_rank::LocationReport::key)
            .collect();
        let subset: Vec<usize> = (0..self.beacons.len())
            .filter(|&i| top.contains(&location_key(&self.beacons[i])))
            .collect();
        if subset.is_empty() {
            return Ok(None);
        }
        let carried = carry_over(previous, &top, &self.beacons, now_ms);
        let measured = self.measure_all_ways(&subset, started).await?;
        let ended_early = measured.ended_early;
        let report = self.report(measured, carried, sticky, started, Last::No);
        let holds = report.best().is_some_and(|best| {
            best.key() == saved_best.key()
                && best.carried_over.is_none()
                && !degraded(
                    &saved_best,
                    best.score_ms,
                    self.config.degrade_factor,
                    self.config.degrade_margin_ms,
                )
        });
        tracing::debug!(holds, "fast re-probe of the saved best locations");
        if holds || ended_early {
            Ok(Some(report))
        } else {
            self.counters.decided.store(false, Ordering::Relaxed);
            Ok(None)
        }
    }

    /// The report of what was measured. The job's last report takes the beacon list apart
    /// (its names move into the measurements, nothing is copied), so a run over a long list
    /// never holds the list, the measurements and the ranking at once.
    fn report(
        &mut self,
        measured: Measured,
        carried: CarriedLocations,
        sticky: Option<&LocationKey>,
        started: Instant,
        last: Last,
    ) -> Report {
        // The engine's summaries become measurements one by one (each freed as it goes, its
        // samples and trace moved, not copied).
        let decided_at = measured.decided_at;
        let mut beacons = match last {
            Last::Yes => std::mem::take(&mut self.beacons),
            Last::No => Vec::new(),
        };
        let measurements: Vec<_> = measured
            .beacons
            .into_iter()
            .map(|(b, result)| {
                let beacon = match beacons.get_mut(b) {
                    Some(beacon) => std::mem::take(beacon),
                    None => self.beacons[b].clone(),
                };
                let mut m = measurement(beacon, result.summary, result.earlier);
                m.loss_events = Some(result.trace.loss_events);
                m.trace = result.trace.samples;
                m
            })
            .collect();
        drop(beacons);
        // The ranking takes the measurements apart (their names move into the reports) and
        // pairs the best two's probes for the report's confidence.
        let ranking = rank_with_carried(measurements, carried, &self.config.rank, sticky);
        Report::new(ranking, &self.config.rank, started.elapsed(), decided_at)
    }

    /// Measures the beacons at `indices` with the configured protocol; under `auto`, beacons
    /// whose UDP got no reply or was refused are measured again over TCP when they have a TCP
    /// port (UDP may be filtered on the player's network while TCP passes), within what is
    /// left of the deadline. ICMP is not a fallback: the host's kernel answers it even when
    /// the beacon service is dead.
    async fn measure_all_ways(
        &mut self,
        indices: &[usize],
        started: Instant,
    ) -> Result<Measured, ProbeError> {
        // Progress counts the beacons of this set, whatever transports they take.
        let total = u32::try_from(indices.len()).unwrap_or(u32::MAX);
        self.counters.targets_total.store(total, Ordering::Relaxed);
        self.counters.targets_done.store(0, Ordering::Relaxed);
        let left =
            |deadline: Option<Duration>| deadline.map(|d| d.saturating_sub(started.elapsed()));
        let mut measured = self
            .measure(
                indices,
                self.config.protocol,
                started,
                left(self.config.engine.deadline),
            )
            .await?;
        if self.config.protocol != ProtocolChoice::Auto || measured.ended_early {
            return Ok(measured);
        }
        let retry: Vec<usize> = measured
            .beacons
            .iter()
            .filter(|(b, r)| udp_failed(&r.summary) && self.beacons[**b].tcp_port.is_some())
            .map(|(b, _)| *b)
            .collect();
        let left = left(self.config.engine.deadline);
        if retry.is_empty() || left.is_some_and(|d| d.is_zero()) {
            return Ok(measured);
        }
        tracing::info!(
            beacons = retry.len(),
            "no UDP answer from some beacons; trying TCP"
        );
        // The retried beacons are not done any more; TCP's Done events count them again.
        let retried = u32::try_from(retry.len()).unwrap_or(u32::MAX);
        self.counters
            .targets_done
            .fetch_sub(retried, Ordering::Relaxed);
        let second = self
            .measure(&retry, ProtocolChoice::Tcp, started, left)
            .await?;
        let mut answered = false;
        for (b, tcp) in second.beacons {
            let Some(slot) = measured.beacons.get_mut(&b) else {
                continue;
            };
            answered |= !tcp.summary.rtts.is_empty();
            let udp_why = slot.summary.unreachable().unwrap_or(Unreachable::NoReply);
            slot.earlier.push((Protocol::Udp, udp_why));
            slot.summary = tcp.summary;
            slot.trace = tcp.trace;
        }
        if answered {
            // A beacon measured only now could be the best: the decision is this late.
            measured.decided_at = Some(started.elapsed());
        }
        measured.ended_early |= second.ended_early;
        Ok(measured)
    }

    /// Runs the engine over the beacons at `indices` (each target's id is its beacon's index),
    /// ending by `deadline` from now at the latest.
    async fn measure(
        &mut self,
        indices: &[usize],
        protocol: ProtocolChoice,
        started: Instant,
        deadline: Option<Duration>,
    ) -> Result<Measured, ProbeError> {
        let targets: Vec<TargetSpec> = indices
            .iter()
            .map(|&b| target_for(b, &self.beacons[b], protocol))
            .collect();
        let members: Vec<(usize, LocationKey)> = indices
            .iter()
            .map(|&b| (b, location_key(&self.beacons[b])))
            .collect();
        let mut engine = self.config.engine.clone();
        engine.deadline = deadline.map(|d| d.saturating_sub(wrap_up_reserve(d, indices.len())));
        let sampling = (self.config.adaptive && self.config.early_decision).then_some(Sampling {
            count: engine.count,
            extra_probes: engine.extra_probes,
            max_probes: self.config.max_probes,
            interval: engine.interval,
        });
        // The controller decides when a target that has its samples ends.
        engine.hold_complete = sampling.is_some();

        let run_start = Instant::now();
        let live = LiveRun::new(self.beacons.len(), &members, run_start, sampling)
            .expecting(engine.count)
            .paced(engine.min_gap)
            .report_only(!self.config.early_decision);
        // The live state keeps one key per location: these copies go before the run grows.
        drop(members);
        // A large run is evaluated on a clock: its events are handed over on the same one.
        engine.forward_every = live.evaluation_period();
        let thresholds = Thresholds {
            leader_samples: self.config.engine.count as usize,
            min_samples: self.config.early_decision_min_samples as usize,
        };
        // The live decision runs where the engine runs, on each batch of events it hands over.
        let steering = Steering::new(
            live,
            Arc::clone(&self.counters),
            self.config.rank.clone(),
            thresholds,
            self.config.early_decision,
            sampling.is_some(),
        );
        let run = edgegap_ping::start_observed(targets, engine, steering)?;
        let control = run.control();
        let mut cancelled = *self.cancel.borrow();
        if cancelled {
            control.cancel();
        }
        let finish = run.finish();
        tokio::pin!(finish);
        let (steering, finished) = loop {
            tokio::select! {
                ended = &mut finish => break ended?,
                changed = self.cancel.changed(), if !cancelled => {
                    if changed.is_err() || *self.cancel.borrow() {
                        cancelled = true;
                        control.cancel();
                    }
                }
            }
        };
        let mut live = steering.live;
        // A last look, so a decision that came between two throttled evaluations counts.
        live.evaluate(Instant::now(), &self.config.rank, thresholds, true);
        let decided_at = live
            .decided_at()
            .map(|d| d + run_start.duration_since(started));
        let offset_us =
            u64::try_from(run_start.duration_since(started).as_micros()).unwrap_or(u64::MAX);
        // The live state goes before the engine's summaries are built: a long list never
        // holds both.
        let mut traces = live.into_traces(offset_us);
        let summary = finished.summary();
        let ended_early = summary.ended_early();
        let beacons = summary
            .targets
            .into_iter()
            .map(|s| {
                let index = index_of(s.id);
                (
                    index,
                    BeaconResult {
                        summary: s,
                        earlier: Vec::new(),
                        trace: traces
                            .get_mut(index)
                            .map(std::mem::take)
                            .unwrap_or_default(),
                    },
                )
            })
            .collect();
        Ok(Measured {
            beacons,
            decided_at,
            ended_early,
        })
    }
}

/// The part of a run's deadline kept for what follows the engine's end: a `Done` event per
/// target still open, the summary, the ranking and the report, all linear in the number of
/// beacons (6 to 11 µs per beacon with `--json` on a busy 2-core machine; 16 µs are kept, plus
/// 2 ms), and never more than a quarter of the deadline. So `--deadline-ms` bounds the whole run, not just the
/// probing (`benches/scale.sh`, mode `deadline`).
fn wrap_up_reserve(deadline: Duration, beacons: usize) -> Duration {
    let per_beacon =
        Duration::from_micros(16).saturating_mul(u32::try_from(beacons).unwrap_or(u32::MAX));
    (Duration::from_millis(2) + per_beacon).min(deadline / 4)
}

/// The locations of `previous` that a fast re-probe does not measure (`top` are measured) and
/// that are still in the beacon list, marked as carried over with their age.
fn carry_over(
    previous: &Report,
    top: &HashSet<LocationKey>,
    beacons: &[Beacon],
    now_ms: u64,
) -> CarriedLocations {
    let listed: HashSet<LocationKey> = beacons.iter().map(location_key).collect();
    let keep = |key: &LocationKey| !top.contains(key) && listed.contains(key);
    let mark = |at: Option<CarriedOver>| {
        Some(CarriedOver::new(
            at.map_or(previous.generated_at_unix_ms, |c| c.measured_at_unix_ms),
            now_ms,
        ))
    };
    let reachable = previous
        .locations
        .iter()
        .chain(&previous.excluded)
        .filter(|l| keep(&l.key()))
        .map(|l| {
            let mut l = l.clone();
            l.carried_over = mark(l.carried_over);
            l
        })
        .collect();
    let unreachable = previous
        .unreachable
        .iter()
        .filter(|u| keep(&u.key()))
        .map(|u| {
            let mut u = u.clone();
            u.carried_over = mark(u.carried_over);
            u
        })
        .collect();
    CarriedLocations {
        reachable,
        unreachable,
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    #[test]
    fn the_wrap_up_reserve_grows_with_the_list_and_never_takes_more_than_a_quarter() {
        let deadline = Duration::from_secs(5);
        let small = wrap_up_reserve(deadline, 12);
        let large = wrap_up_reserve(deadline, 64_000);
        assert!(small < Duration::from_millis(3), "{small:?}");
        assert!(large > Duration::from_millis(800), "{large:?}");
        assert_eq!(wrap_up_reserve(deadline, 10_000_000), deadline / 4);
        assert_eq!(wrap_up_reserve(Duration::ZERO, 64_000), Duration::ZERO);
    }
}
