//! The one statistics implementation: used by the engine's adaptive timeout, the live decision
//! and the final ranking, so the three can never disagree on the same samples.
//!
//! [`Samples`] keeps round-trip times exactly (sorted, in nanoseconds) up to [`EXACT_LIMIT`]
//! of them, and moves them into an HdrHistogram (microseconds, 1 µs to 60 s, 3 significant
//! figures) above that, so a beacon probed a handful of times costs a few bytes and a huge run
//! stays bounded. Min, max, mean, standard deviation and trimmed mean come from exact integer
//! totals (count, sum, sum of squares, min, max): computed from the samples while they are
//! exact, kept beside the histogram once spilled. [`Stats`] adds an RFC 3550-style
//! jitter accumulator and the [`ProbeCounts`]. Everything is integer, so merging is exact and
//! independent of the order of the merges.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::ProbeCounts;
use crate::names::{UnknownName, parse_name};

/// Up to this many samples, percentiles are exact order statistics; above it they come from
/// a histogram (within 0.1 %). The same rule applies wherever samples are summarised.
pub const EXACT_LIMIT: usize = 256;

/// Lowest value the histogram tells apart, in microseconds.
const HIST_LOW_US: u64 = 1;
/// Highest value the histogram tracks, in microseconds (60 s); larger samples are clamped
/// to it in the histogram (min, max, mean stay exact).
const HIST_HIGH_US: u64 = 60_000_000;
/// Significant figures kept by the histogram.
const HIST_SIGFIG: u8 = 3;
const NS_PER_MS: f64 = 1_000_000.0;

/// The 1-based nearest rank of quantile `q` among `n` samples: `ceil(q × n)`, at least 1.
fn nearest_rank(q: f64, n: u64) -> u64 {
    // The small epsilon keeps 0.9 × 10 at rank 9 despite binary floating point.
    let rank = (q.clamp(0.0, 1.0) * n as f64 - 1e-9).ceil();
    (rank as u64).clamp(1, n.max(1))
}

fn ns_of(rtt: Duration) -> u64 {
    u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX)
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(HIST_LOW_US, HIST_HIGH_US, HIST_SIGFIG)
        .expect("constant histogram bounds are valid")
}

fn us_of(ns: u64) -> u64 {
    (ns.saturating_add(500) / 1_000).clamp(HIST_LOW_US, HIST_HIGH_US)
}

/// Exact integer totals of a multiset of samples: count, sum, sum of squares, min, max.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Totals {
    count: u64,
    sum_ns: u128,
    sum_sq_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl Totals {
    const EMPTY: Totals = Totals {
        count: 0,
        sum_ns: 0,
        sum_sq_ns: 0,
        min_ns: u64::MAX,
        max_ns: 0,
    };

    /// The totals of `samples`.
    fn of(samples: &[u64]) -> Totals {
        let mut totals = Totals::EMPTY;
        for &ns in samples {
            totals.add(ns);
        }
        totals
    }

    fn add(&mut self, ns: u64) {
        self.count += 1;
        self.sum_ns = self.sum_ns.saturating_add(u128::from(ns));
        self.sum_sq_ns = self
            .sum_sq_ns
            .saturating_add(u128::from(ns).saturating_mul(u128::from(ns)));
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    fn merge(&mut self, other: &Totals) {
        self.count += other.count;
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        self.sum_sq_ns = self.sum_sq_ns.saturating_add(other.sum_sq_ns);
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    fn mean_ms(&self) -> f64 {
        self.sum_ns as f64 / self.count as f64 / NS_PER_MS
    }

    /// Population variance in ns², exact in integers when they do not overflow.
    fn variance_ns2(&self) -> f64 {
        let n = u128::from(self.count);
        let exact = n
            .checked_mul(self.sum_sq_ns)
            .zip(self.sum_ns.checked_mul(self.sum_ns))
            .and_then(|(a, b)| a.checked_sub(b));
        if let Some(numerator) = exact {
            numerator as f64 / (n as f64 * n as f64)
        } else {
            let mean = self.sum_ns as f64 / n as f64;
            (self.sum_sq_ns as f64 / n as f64 - mean * mean).max(0.0)
        }
    }

    fn trimmed_mean_ms(&self) -> f64 {
        if self.count >= 4 {
            let trimmed = self.sum_ns - u128::from(self.min_ns) - u128::from(self.max_ns);
            trimmed as f64 / (self.count - 2) as f64 / NS_PER_MS
        } else {
            self.mean_ms()
        }
    }
}

/// Samples past [`EXACT_LIMIT`]: the histogram and the exact totals beside it.
#[derive(Clone, Debug, PartialEq)]
struct Spilled {
    hist: Histogram<u64>,
    totals: Totals,
}

/// A multiset of round-trip times: exact up to [`EXACT_LIMIT`], a histogram above.
///
/// 32 bytes while exact (the sorted samples, from which the totals are computed when asked):
/// a run keeps one per beacon and per location, tens of thousands of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples {
    /// The samples in nanoseconds, sorted ascending, while exact.
    exact: Vec<u64>,
    /// The histogram and totals, once there were more than [`EXACT_LIMIT`] samples.
    spilled: Option<Box<Spilled>>,
}

impl Samples {
    /// No sample.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one round-trip time.
    pub fn record(&mut self, rtt: Duration) {
        self.record_ns(ns_of(rtt));
    }

    /// Makes room for `additional` more samples while they are kept exactly (no more than
    /// [`EXACT_LIMIT`] in all), so a caller that knows how many will come does not grow the
    /// buffer one doubling at a time.
    pub fn reserve(&mut self, additional: usize) {
        if self.spilled.is_none() {
            let room = EXACT_LIMIT.saturating_sub(self.exact.len());
            self.exact.reserve_exact(additional.min(room));
        }
    }

    fn record_ns(&mut self, ns: u64) {
        if let Some(spilled) = &mut self.spilled {
            spilled.totals.add(ns);
            spilled.hist.saturating_record(us_of(ns));
        } else {
            let at = self.exact.partition_point(|&s| s <= ns);
            self.exact.insert(at, ns);
            if self.exact.len() > EXACT_LIMIT {
                self.spill_to_histogram();
            }
        }
    }

    /// The exact totals: kept once spilled, computed from the samples while exact.
    fn totals(&self) -> Totals {
        match &self.spilled {
            Some(spilled) => spilled.totals,
            None => Totals::of(&self.exact),
        }
    }

    /// Moves the exact samples into a histogram (with their totals).
    fn spill_to_histogram(&mut self) {
        let totals = Totals::of(&self.exact);
        let spilled = self.spilled.get_or_insert_with(|| {
            Box::new(Spilled {
                hist: new_histogram(),
                totals: Totals::EMPTY,
            })
        });
        spilled.totals.merge(&totals);
        for &ns in &self.exact {
            spilled.hist.saturating_record(us_of(ns));
        }
        self.exact = Vec::new();
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Samples) {
        if other.is_empty() {
            return;
        }
        let exact_fits = self.spilled.is_none()
            && other.spilled.is_none()
            && self.exact.len() + other.exact.len() <= EXACT_LIMIT;
        if exact_fits {
            let mut merged = Vec::with_capacity(self.exact.len() + other.exact.len());
            let (mut a, mut b) = (self.exact.iter().peekable(), other.exact.iter().peekable());
            while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
                if x <= y {
                    merged.push(x);
                    a.next();
                } else {
                    merged.push(y);
                    b.next();
                }
            }
            merged.extend(a);
            merged.extend(b);
            self.exact = merged;
            return;
        }
        self.spill_to_histogram();
        let Some(spilled) = self.spilled.as_deref_mut() else {
            return;
        };
        spilled.totals.merge(&other.totals());
        let hist = &mut spilled.hist;
        if let Some(theirs) = &other.spilled
            && hist.add(&theirs.hist).is_err()
        {
            // Cannot happen (same bounds everywhere), but never lose samples if it did.
            for v in theirs.hist.iter_recorded() {
                hist.saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        for &ns in &other.exact {
            hist.saturating_record(us_of(ns));
        }
    }

    /// How many samples.
    pub fn len(&self) -> u64 {
        match &self.spilled {
            Some(spilled) => spilled.totals.count,
            None => self.exact.len() as u64,
        }
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the percentiles are exact order statistics (at most [`EXACT_LIMIT`] samples).
    pub fn is_exact(&self) -> bool {
        self.spilled.is_none()
    }

    /// The smallest sample.
    pub fn min(&self) -> Option<Duration> {
        let ns = match &self.spilled {
            Some(spilled) => spilled.totals.min_ns,
            None => *self.exact.first()?,
        };
        Some(Duration::from_nanos(ns))
    }

    /// The largest sample.
    pub fn max(&self) -> Option<Duration> {
        let ns = match &self.spilled {
            Some(spilled) => spilled.totals.max_ns,
            None => *self.exact.last()?,
        };
        Some(Duration::from_nanos(ns))
    }

    /// The nearest-rank quantile `q` (0..=1): the sample of rank `ceil(q × n)` (at least 1) in
    /// ascending order, so the median of `[10, 20]` is 10. Exact up to [`EXACT_LIMIT`]
    /// samples; above, the lower edge of that sample's histogram bucket (within 0.1 %),
    /// clamped into `[min, max]`.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.is_empty() {
            return None;
        }
        let ns = match &self.spilled {
            None => {
                let rank = nearest_rank(q, self.exact.len() as u64);
                self.exact[usize::try_from(rank - 1).unwrap_or(0)]
            }
            Some(spilled) => {
                let hist = &spilled.hist;
                let us = hist.lowest_equivalent(hist.value_at_quantile(q.clamp(0.0, 1.0)));
                us.saturating_mul(1_000)
                    .clamp(spilled.totals.min_ns, spilled.totals.max_ns)
            }
        };
        Some(Duration::from_nanos(ns))
    }

    /// Every sample in milliseconds, ascending: exact while the samples are, the histogram's
    /// bucket values (within 0.1 %) above.
    pub fn sorted_ms(&self) -> Vec<f64> {
        match &self.spilled {
            None => self.exact.iter().map(|&ns| ns as f64 / NS_PER_MS).collect(),
            Some(spilled) => {
                let hist = &spilled.hist;
                let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
                for v in hist.iter_recorded() {
                    let ms = hist.lowest_equivalent(v.value_iterated_to()) as f64 / 1000.0;
                    for _ in 0..v.count_at_value() {
                        out.push(ms);
                    }
                }
                out
            }
        }
    }

    /// The `k`-th smallest sample (1-based): exact while the samples are, the nearest-rank
    /// quantile `k / n` of the histogram above.
    pub fn kth(&self, k: usize) -> Option<Duration> {
        let n = self.len();
        if k == 0 || k as u64 > n {
            return None;
        }
        self.order_statistic(k)
            .or_else(|| self.quantile(k as f64 / n as f64))
    }

    /// The exact `k`-th smallest sample (1-based), while the samples are exact.
    pub fn order_statistic(&self, k: usize) -> Option<Duration> {
        if self.spilled.is_some() || k == 0 {
            return None;
        }
        self.exact.get(k - 1).map(|&ns| Duration::from_nanos(ns))
    }

    /// The mean.
    pub fn mean(&self) -> Option<Duration> {
        let totals = self.totals();
        (totals.count > 0).then(|| {
            Duration::from_nanos(
                u64::try_from(totals.sum_ns / u128::from(totals.count)).unwrap_or(u64::MAX),
            )
        })
    }

    fn mean_ms(&self) -> f64 {
        self.totals().mean_ms()
    }
}

/// The figure a location is judged by (before penalties).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statistic {
    /// The nearest-rank median (p50).
    #[default]
    Median,
    /// The arithmetic mean.
    Mean,
    /// The mean without one minimum and one maximum sample (once there are 4 or more samples).
    TrimmedMean,
    /// The smallest sample.
    Min,
}

impl Statistic {
    /// Every statistic, in the order of the documentation (and of the C ABI's numbers).
    pub const ALL: [Statistic; 4] = [
        Statistic::Median,
        Statistic::Mean,
        Statistic::TrimmedMean,
        Statistic::Min,
    ];

    /// The name used in JSON, TOML and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Statistic::Median => "median",
            Statistic::Mean => "mean",
            Statistic::TrimmedMean => "trimmed-mean",
            Statistic::Min => "min",
        }
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Statistic {
    type Err = UnknownName;

    /// Parses `median`, `mean`, `trimmed-mean` (also `trimmed_mean`) or `min`, ignoring case
    /// and surrounding space.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_name(
            text,
            &Statistic::ALL,
            Statistic::as_str,
            "statistic",
            "median, mean, trimmed-mean, min",
        )
    }
}

/// Statistics of one beacon, or of several merged into one location: the samples, a jitter
/// accumulator and the probe counts.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    samples: Samples,
    /// The previous sample of this stream, for the next jitter difference.
    last_ns: Option<u64>,
    /// The absolute differences of consecutive samples of each stream: their mean is the
    /// jitter, and their distribution lets a test tell whether two jitters really differ.
    /// On the heap from the first difference on (most beacons of a large run have one sample).
    jitter: Option<Box<Samples>>,
    counts: ProbeCounts,
    /// Runs of consecutive lost or late probes, when known (see [`Stats::loss_events`]).
    loss_events: Option<u32>,
}

impl PartialEq for Stats {
    /// Equal when they hold the same samples (as a multiset), jitter accumulator and counts
    /// (which stream was recorded last does not matter).
    fn eq(&self, other: &Self) -> bool {
        self.samples == other.samples
            && self.jitter_differences() == other.jitter_differences()
            && self.counts == other.counts
            && self.loss_events == other.loss_events
    }
}

impl Stats {
    /// Empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// The statistics of one beacon: its samples recorded in send order, its counts.
    pub fn of(rtts: &[Duration], counts: ProbeCounts) -> Self {
        let mut stats = Self::new();
        stats.reserve(rtts.len());
        for &rtt in rtts {
            stats.record(rtt);
        }
        stats.counts = counts;
        stats
    }

    /// Records one round-trip time, the next in this stream's send order. Only the sample:
    /// the counts are kept with [`Stats::counts_mut`].
    pub fn record(&mut self, rtt: Duration) {
        let ns = ns_of(rtt);
        self.samples.record_ns(ns);
        if let Some(last) = self.last_ns {
            self.jitter
                .get_or_insert_with(Box::default)
                .record_ns(last.abs_diff(ns));
        }
        self.last_ns = Some(ns);
    }

    /// Makes room for `additional` more samples (and the differences between them), see
    /// [`Samples::reserve`].
    pub fn reserve(&mut self, additional: usize) {
        self.samples.reserve(additional);
        // Differences come from the second sample on: none to make room for below that.
        if additional > 1 || self.jitter.is_some() {
            self.jitter
                .get_or_insert_with(Box::default)
                .reserve(additional.saturating_sub(1));
        }
    }

    /// Adds another beacon's statistics to these (a location is the merge of its beacons).
    ///
    /// Samples, sums and counts add up; the jitter accumulators add up too, but no
    /// difference is ever taken across the two streams. A sample recorded after a merge
    /// continues this stream (its difference is taken to this stream's last sample).
    pub fn merge(&mut self, other: &Stats) {
        if self.loss_events.is_some() || other.loss_events.is_some() {
            self.loss_events = Some(self.loss_events().saturating_add(other.loss_events()));
        }
        self.samples.merge(&other.samples);
        if let Some(theirs) = &other.jitter {
            match &mut self.jitter {
                Some(ours) => ours.merge(theirs),
                None => self.jitter = Some(theirs.clone()),
            }
        }
        self.counts.add(other.counts);
    }

    /// Loss *events*: runs of consecutive (in send order) lost or late probes of one beacon,
    /// summed over beacons. Losses come in bursts (a Wi-Fi fade, a queue overflow): a burst
    /// is one event, not many independent ones, and a test of whether two losses differ
    /// counts events. Without a count set by [`Stats::set_loss_events`], every lost or late
    /// probe is taken as its own event.
    pub fn loss_events(&self) -> u32 {
        self.loss_events
            .unwrap_or_else(|| self.counts.lost_or_late())
    }

    /// Sets the number of loss events (see [`Stats::loss_events`]).
    pub fn set_loss_events(&mut self, events: u32) {
        self.loss_events = Some(events);
    }

    /// The probe counts.
    pub fn counts(&self) -> ProbeCounts {
        self.counts
    }

    /// The probe counts, to update as probes end.
    pub fn counts_mut(&mut self) -> &mut ProbeCounts {
        &mut self.counts
    }

    /// The samples.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// The absolute differences of consecutive samples of each stream, whose mean is the
    /// jitter (`None` before the first difference).
    pub fn jitter_differences(&self) -> Option<&Samples> {
        self.jitter.as_deref().filter(|j| !j.is_empty())
    }

    /// Whether at least one sample was recorded (the location or beacon is reachable).
    pub fn has_samples(&self) -> bool {
        !self.samples.is_empty()
    }

    /// The figures, in milliseconds. See [`Metrics`] for the definitions.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            samples: self.samples.len(),
            rtt: self.rtt_summary(),
            loss: self.counts.loss(),
            counts: self.counts,
        }
    }

    /// The figures a score needs, as [`Stats::metrics`] computes them: `statistic`, the jitter,
    /// the loss and the counts; the other round-trip figures are left `None`. For a live
    /// decision that re-scores locations many times a second.
    pub fn scoring_metrics(&self, statistic: Statistic) -> Metrics {
        let mut rtt = RttSummary::default();
        let s = &self.samples;
        if !s.is_empty() {
            let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
            match statistic {
                Statistic::Median => rtt.p50 = ms(s.quantile(0.50)),
                Statistic::Min => rtt.min = ms(s.min()),
                Statistic::Mean => rtt.mean = Some(s.totals().mean_ms()),
                Statistic::TrimmedMean => rtt.trimmed_mean = Some(s.totals().trimmed_mean_ms()),
            }
            rtt.jitter = self.jitter_ms();
        }
        Metrics {
            samples: s.len(),
            rtt,
            loss: self.counts.loss(),
            counts: self.counts,
        }
    }

    /// The mean of the jitter differences, `None` before the first.
    fn jitter_ms(&self) -> Option<f64> {
        self.jitter_differences().map(Samples::mean_ms)
    }

    /// The round-trip figures, in milliseconds; all `None` without samples.
    fn rtt_summary(&self) -> RttSummary {
        let s = &self.samples;
        if s.is_empty() {
            return RttSummary::default();
        }
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        let totals = s.totals();
        RttSummary {
            min: ms(s.min()),
            p50: ms(s.quantile(0.50)),
            p90: ms(s.quantile(0.90)),
            p99: ms(s.quantile(0.99)),
            max: ms(s.max()),
            mean: Some(totals.mean_ms()),
            stddev: Some(totals.variance_ns2().sqrt() / NS_PER_MS),
            jitter: self.jitter_ms(),
            trimmed_mean: Some(totals.trimmed_mean_ms()),
        }
    }
}

/// The round-trip figures of a beacon or location, in milliseconds, as the JSON report
/// carries them (`rtt_ms`); `null` when undefined.
///
/// - `min`, `max`: exact. `mean`: exact sum / count. `stddev`: population standard deviation
///   (divides by n), exact from the running sums; 0 for one sample.
/// - `p50`, `p90`, `p99`: nearest-rank percentiles, see [`Samples::quantile`]: the sample of
///   rank `ceil(q * n)` (at least 1) in ascending order, so the p50 of `[10, 20]` is 10; exact
///   up to [`EXACT_LIMIT`] samples, within 0.1 % above.
/// - `trimmed_mean`: the mean without one minimum and one maximum sample once there are 4 or
///   more samples; the plain mean below that.
/// - `jitter`: the mean absolute difference of consecutive RTTs of one beacon
///   (`mean |RTT(i) - RTT(i-1)|`, the D of RFC 3550 §6.4.1, averaged plainly instead of the
///   RFC's 1/16 smoothing); a location's jitter averages the differences of all its beacons,
///   never a difference across two beacons. `None` with fewer than 2 samples in every beacon.
///
/// Every figure is `None` when there is no sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RttSummary {
    /// Smallest sample.
    pub min: Option<f64>,
    /// Nearest-rank median.
    pub p50: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub p90: Option<f64>,
    /// Nearest-rank 99th percentile.
    pub p99: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
    /// Population standard deviation.
    pub stddev: Option<f64>,
    /// Mean absolute difference of consecutive samples.
    pub jitter: Option<f64>,
    /// Mean without one min and one max (4 or more samples), else the mean.
    #[serde(default)]
    pub trimmed_mean: Option<f64>,
}

impl RttSummary {
    /// The value of `statistic`, `None` without samples.
    pub fn statistic(&self, statistic: Statistic) -> Option<f64> {
        match statistic {
            Statistic::Median => self.p50,
            Statistic::Mean => self.mean,
            Statistic::TrimmedMean => self.trimmed_mean,
            Statistic::Min => self.min,
        }
    }
}

/// The figures of a beacon or location: its round-trip figures, loss and probe counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of samples.
    pub samples: u64,
    /// The round-trip figures, in milliseconds (see [`RttSummary`] for the definitions).
    pub rtt: RttSummary,
    /// Loss fraction `(lost + late) / (sent − cancelled)`, 0..=1, see [`ProbeCounts::loss`];
    /// `None` when no probe's fate is known.
    pub loss: Option<f64>,
    /// The probe counts.
    pub counts: ProbeCounts,
}

impl Metrics {
    /// The value of `statistic`, `None` without samples.
    pub fn statistic(&self, statistic: Statistic) -> Option<f64> {
        self.rtt.statistic(statistic)
    }
}

#[cfg(test)]
mod tests;
