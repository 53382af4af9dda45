//! Per-beacon statistics, mergeable per location.
//!
//! A [`Stats`] keeps an HdrHistogram of the round-trip times in microseconds (1 µs to 60 s,
//! 3 significant figures) for the percentiles, and beside it exact integer running sums in
//! nanoseconds (count, sum, sum of squares, min, max) for min, max, mean, standard deviation
//! and trimmed mean, an RFC 3550-style jitter accumulator, and the probe counters.
//! Everything is integer, so merging is exact and independent of the order of the merges.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::{BeaconMeasurement, Statistic};

/// Lowest value the histogram tells apart, in microseconds.
const HIST_LOW_US: u64 = 1;
/// Highest value the histogram tracks, in microseconds (60 s); larger samples are clamped
/// to it in the histogram (min, max, mean stay exact).
const HIST_HIGH_US: u64 = 60_000_000;
/// Significant figures kept by the histogram.
const HIST_SIGFIG: u8 = 3;
const NS_PER_MS: f64 = 1_000_000.0;
const US_PER_MS: f64 = 1_000.0;

/// The probe counters of a beacon, or their sums over a location.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Counters {
    /// Probes sent.
    pub sent: u32,
    /// Probes answered in time.
    pub received: u32,
    /// Probes given up on (no valid reply before the timeout).
    #[serde(default)]
    pub lost: u32,
    /// Replies that came after their probe's timeout.
    #[serde(default)]
    pub late: u32,
    /// Extra replies to already answered probes.
    #[serde(default)]
    pub duplicates: u32,
}

impl Counters {
    /// Adds `other` field by field (saturating).
    pub fn add(&mut self, other: Counters) {
        self.sent = self.sent.saturating_add(other.sent);
        self.received = self.received.saturating_add(other.received);
        self.lost = self.lost.saturating_add(other.lost);
        self.late = self.late.saturating_add(other.late);
        self.duplicates = self.duplicates.saturating_add(other.duplicates);
    }

    /// The loss fraction `lost / (received + lost)`: of the probes whose fate is known
    /// (answered in time or given up on), the share given up on. Probes still in flight
    /// and never-sent probes do not count; a late reply counts as lost. `None` when no probe's
    /// fate is known (in particular when nothing was sent).
    pub fn loss(&self) -> Option<f64> {
        let settled = u64::from(self.received) + u64::from(self.lost);
        (settled > 0).then(|| f64::from(self.lost) / settled as f64)
    }
}

/// Statistics of one beacon, or of several merged into one location.
#[derive(Clone, Debug)]
pub struct Stats {
    hist: Histogram<u64>,
    samples: u64,
    sum_ns: u128,
    sum_sq_ns: u128,
    min_ns: u64,
    max_ns: u64,
    /// The previous sample of this stream, for the next jitter difference.
    last_ns: Option<u64>,
    jitter_sum_ns: u128,
    jitter_count: u64,
    counters: Counters,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Stats {
    /// Two `Stats` are equal when they hold the same samples (as a multiset), jitter
    /// accumulator and counters.
    fn eq(&self, other: &Self) -> bool {
        self.hist == other.hist
            && self.samples == other.samples
            && self.sum_ns == other.sum_ns
            && self.sum_sq_ns == other.sum_sq_ns
            && self.min_ns == other.min_ns
            && self.max_ns == other.max_ns
            && self.jitter_sum_ns == other.jitter_sum_ns
            && self.jitter_count == other.jitter_count
            && self.counters == other.counters
    }
}

impl Stats {
    /// Empty statistics.
    pub fn new() -> Self {
        let hist = Histogram::new_with_bounds(HIST_LOW_US, HIST_HIGH_US, HIST_SIGFIG)
            .expect("constant histogram bounds are valid");
        Self {
            hist,
            samples: 0,
            sum_ns: 0,
            sum_sq_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            last_ns: None,
            jitter_sum_ns: 0,
            jitter_count: 0,
            counters: Counters::default(),
        }
    }

    /// The statistics of one beacon: its samples recorded in send order, its counters.
    pub fn from_measurement(m: &BeaconMeasurement) -> Self {
        let mut stats = Self::new();
        for &rtt in &m.rtts {
            stats.record(rtt);
        }
        stats.counters = m.counters();
        stats
    }

    /// Records one round-trip time, the next in this stream's send order. Only the sample:
    /// the counters are set with [`Stats::add_counters`].
    pub fn record(&mut self, rtt: Duration) {
        let ns = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX);
        let us = ns.saturating_add(500) / 1_000;
        self.hist
            .saturating_record(us.clamp(HIST_LOW_US, HIST_HIGH_US));
        self.samples += 1;
        self.sum_ns = self.sum_ns.saturating_add(u128::from(ns));
        self.sum_sq_ns = self
            .sum_sq_ns
            .saturating_add(u128::from(ns).saturating_mul(u128::from(ns)));
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
        if let Some(last) = self.last_ns {
            self.jitter_sum_ns = self
                .jitter_sum_ns
                .saturating_add(u128::from(last.abs_diff(ns)));
            self.jitter_count += 1;
        }
        self.last_ns = Some(ns);
    }

    /// Adds another beacon's statistics to these (a location is the merge of its beacons).
    ///
    /// Histograms, sums and counters add up; the jitter accumulators add up too, but no
    /// difference is ever taken across the two streams. A sample recorded after a merge
    /// continues this stream (its difference is taken to this stream's last sample).
    pub fn merge(&mut self, other: &Stats) {
        if self.hist.add(&other.hist).is_err() {
            // Cannot happen (same bounds everywhere), but never lose samples if it did.
            for v in other.hist.iter_recorded() {
                self.hist
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        self.samples += other.samples;
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        self.sum_sq_ns = self.sum_sq_ns.saturating_add(other.sum_sq_ns);
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
        self.jitter_sum_ns = self.jitter_sum_ns.saturating_add(other.jitter_sum_ns);
        self.jitter_count += other.jitter_count;
        self.counters.add(other.counters);
    }

    /// Adds to the probe counters.
    pub fn add_counters(&mut self, counters: Counters) {
        self.counters.add(counters);
    }

    /// The probe counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// How many samples were recorded.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Whether at least one sample was recorded (the location or beacon is reachable).
    pub fn has_samples(&self) -> bool {
        self.samples > 0
    }

    /// The figures, in milliseconds. See [`Metrics`] for the definitions.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            samples: self.samples,
            rtt: self.rtt_summary(),
            loss: self.counters.loss(),
            counters: self.counters,
        }
    }

    /// The round-trip figures, in milliseconds; all `None` without samples.
    fn rtt_summary(&self) -> RttSummary {
        if self.samples == 0 {
            return RttSummary::default();
        }
        let n = self.samples;
        let min = self.min_ns as f64 / NS_PER_MS;
        let max = self.max_ns as f64 / NS_PER_MS;
        let percentile = |q: f64| {
            let us = self.hist.lowest_equivalent(self.hist.value_at_quantile(q));
            (us as f64 / US_PER_MS).clamp(min, max)
        };
        let mean = self.sum_ns as f64 / n as f64 / NS_PER_MS;
        RttSummary {
            min: Some(min),
            p50: Some(percentile(0.50)),
            p90: Some(percentile(0.90)),
            p99: Some(percentile(0.99)),
            max: Some(max),
            mean: Some(mean),
            stddev: Some(self.variance_ns2().sqrt() / NS_PER_MS),
            jitter: (self.jitter_count > 0)
                .then(|| self.jitter_sum_ns as f64 / self.jitter_count as f64 / NS_PER_MS),
            trimmed_mean: Some(if n >= 4 {
                let trimmed = self.sum_ns - u128::from(self.min_ns) - u128::from(self.max_ns);
                trimmed as f64 / (n - 2) as f64 / NS_PER_MS
            } else {
                mean
            }),
        }
    }

    /// Population variance in ns², exact in integers when they do not overflow.
    fn variance_ns2(&self) -> f64 {
        let n = u128::from(self.samples);
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
}

/// The round-trip figures of a beacon or location, in milliseconds, as the JSON report
/// carries them (`rtt_ms`); `null` when undefined.
///
/// - `min`, `max`: exact. `mean`: exact sum / count. `stddev`: population standard deviation
///   (divides by n), exact from the running sums; 0 for one sample.
/// - `p50`, `p90`, `p99`: nearest-rank percentiles from the histogram: the sample of rank
///   `ceil(q * n)` (at least 1) in ascending order, so the p50 of `[10, 20]` is 10. The value
///   reported is the lower edge of that sample's histogram bucket (within 0.1 % of it, exact
///   below 2.048 ms), clamped into `[min, max]`.
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

/// The figures of a beacon or location: its round-trip figures, loss and probe counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of samples.
    pub samples: u64,
    /// The round-trip figures, in milliseconds (see [`RttSummary`] for the definitions).
    pub rtt: RttSummary,
    /// Loss fraction `lost / (received + lost)`, 0..=1, see [`Counters::loss`]; `None` when no
    /// probe's fate is known.
    pub loss: Option<f64>,
    /// The probe counters.
    pub counters: Counters,
}

impl Metrics {
    /// The value of `statistic`, `None` without samples.
    pub fn statistic(&self, statistic: Statistic) -> Option<f64> {
        match statistic {
            Statistic::Median => self.rtt.p50,
            Statistic::Mean => self.rtt.mean,
            Statistic::TrimmedMean => self.rtt.trimmed_mean,
            Statistic::Min => self.rtt.min,
        }
    }

    /// The score: `statistic + loss_penalty_ms * scored loss + jitter_weight * jitter`, where
    /// the scored loss is the measured one smoothed by the configured prior
    /// ([`crate::RankConfig::scored_loss`]) and a missing jitter counts 0. `None` without samples.
    pub fn score(&self, config: &crate::RankConfig) -> Option<f64> {
        let value = self.statistic(config.statistic)?;
        Some(
            value
                + config.loss_penalty_ms
                    * config
                        .scored_loss(self.counters.received, self.counters.lost)
                        .unwrap_or(0.0)
                + config.jitter_weight * self.rtt.jitter.unwrap_or(0.0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocationKey, RankConfig};

    fn ms(v: f64) -> Duration {
        Duration::from_secs_f64(v / 1000.0)
    }

    fn stats_of(samples: &[f64]) -> Stats {
        let mut s = Stats::new();
        for &v in samples {
            s.record(ms(v));
        }
        s
    }

    fn close(actual: Option<f64>, expected: f64) {
        let a = actual.unwrap_or_else(|| panic!("expected {expected}, got None"));
        assert!((a - expected).abs() < 1e-9, "expected {expected}, got {a}");
    }

    #[test]
    fn no_sample_means_no_figure() {
        let m = Stats::new().metrics();
        assert_eq!(m.samples, 0);
        for v in [
            m.rtt.min,
            m.rtt.p50,
            m.rtt.p90,
            m.rtt.p99,
            m.rtt.max,
            m.rtt.mean,
            m.rtt.stddev,
            m.rtt.jitter,
            m.rtt.trimmed_mean,
        ] {
            assert_eq!(v, None);
        }
        assert_eq!(m.loss, None, "nothing sent: loss undefined");
        assert_eq!(m.score(&RankConfig::default()), None);
    }

    #[test]
    fn no_sample_with_every_probe_lost_is_full_loss_but_no_latency() {
        let mut s = Stats::new();
        s.add_counters(Counters {
            sent: 3,
            lost: 3,
            ..Counters::default()
        });
        let m = s.metrics();
        assert_eq!(m.loss, Some(1.0));
        assert_eq!(m.rtt.p50, None);
        assert_eq!(m.score(&RankConfig::default()), None);
    }

    #[test]
    fn one_sample() {
        let m = stats_of(&[10.0]).metrics();
        assert_eq!(m.samples, 1);
        for v in [
            m.rtt.min,
            m.rtt.p50,
            m.rtt.p90,
            m.rtt.p99,
            m.rtt.max,
            m.rtt.mean,
            m.rtt.trimmed_mean,
        ] {
            close(v, 10.0);
        }
        close(m.rtt.stddev, 0.0);
        assert_eq!(m.rtt.jitter, None, "jitter needs two samples");
    }

    #[test]
    fn two_samples() {
        let m = stats_of(&[10.0, 20.0]).metrics();
        close(m.rtt.min, 10.0);
        close(m.rtt.max, 20.0);
        // Nearest rank: p50 is the ceil(0.5 * 2) = 1st sample, p90/p99 the 2nd.
        close(m.rtt.p50, 10.0);
        close(m.rtt.p90, 20.0);
        close(m.rtt.p99, 20.0);
        close(m.rtt.mean, 15.0);
        close(m.rtt.stddev, 5.0); // population: sqrt(((10-15)^2 + (20-15)^2) / 2)
        close(m.rtt.jitter, 10.0);
        close(m.rtt.trimmed_mean, 15.0); // fewer than 4 samples: the plain mean
    }

    #[test]
    fn five_samples_by_hand() {
        // Send order matters for jitter: |12-10| + |11-12| + |30-11| + |13-30| = 39 over 4.
        let m = stats_of(&[10.0, 12.0, 11.0, 30.0, 13.0]).metrics();
        close(m.rtt.min, 10.0);
        close(m.rtt.max, 30.0);
        close(m.rtt.p50, 12.0); // sorted 10 11 12 13 30, rank ceil(2.5) = 3
        close(m.rtt.p90, 30.0); // rank ceil(4.5) = 5
        close(m.rtt.p99, 30.0);
        close(m.rtt.mean, 15.2);
        // deviations -5.2 -4.2 -3.2 -2.2 14.8 → squares sum 278.8, / 5 = 55.76
        close(m.rtt.stddev, 55.76_f64.sqrt());
        close(m.rtt.jitter, 9.75);
        close(m.rtt.trimmed_mean, 12.0); // (11 + 12 + 13) / 3
    }

    #[test]
    fn trimmed_mean_drops_exactly_one_min_and_one_max() {
        // Four samples: the smallest count that trims.
        close(
            stats_of(&[5.0, 5.0, 7.0, 100.0]).metrics().rtt.trimmed_mean,
            6.0,
        );
        // Three samples: no trimming.
        close(
            stats_of(&[5.0, 7.0, 100.0]).metrics().rtt.trimmed_mean,
            112.0 / 3.0,
        );
    }

    #[test]
    fn percentiles_are_nearest_rank_within_histogram_precision() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let m = stats_of(&samples).metrics();
        for (got, exact) in [(m.rtt.p50, 50.0), (m.rtt.p90, 90.0), (m.rtt.p99, 99.0)] {
            let got = got.unwrap();
            assert!(got <= exact, "{got} above the sample {exact}");
            assert!(
                (exact - got) / exact < 1e-3,
                "{got} not within 0.1 % of {exact}"
            );
        }
        assert!(m.rtt.p50 <= m.rtt.p90 && m.rtt.p90 <= m.rtt.p99);
        close(m.rtt.mean, 50.5);
    }

    #[test]
    fn small_values_are_exact_and_extremes_are_clamped_to_min_max() {
        // Below 2.048 ms the histogram is exact to the microsecond.
        close(stats_of(&[1.234, 1.5, 2.0]).metrics().rtt.p50, 1.5);
        // A sub-microsecond sample and one above the histogram's 60 s range stay exact.
        close(stats_of(&[0.0004]).metrics().rtt.p50, 0.0004);
        let huge = stats_of(&[61_000.0]).metrics();
        close(huge.rtt.p99, 61_000.0);
        close(huge.rtt.max, 61_000.0);
    }

    #[test]
    fn loss_is_lost_over_settled_probes() {
        let c = Counters {
            sent: 10,
            received: 8,
            lost: 1,
            late: 1,
            duplicates: 2,
        };
        // One probe still in flight: it does not count.
        close(c.loss(), 1.0 / 9.0);
        assert_eq!(Counters::default().loss(), None);
    }

    #[test]
    fn merging_adds_samples_counters_and_jitter_without_crossing_beacons() {
        let mut a = stats_of(&[10.0, 20.0]);
        a.add_counters(Counters {
            sent: 3,
            received: 2,
            lost: 1,
            ..Counters::default()
        });
        let mut b = stats_of(&[40.0, 44.0]);
        b.add_counters(Counters {
            sent: 2,
            received: 2,
            late: 1,
            ..Counters::default()
        });
        let mut ab = a.clone();
        ab.merge(&b);
        let m = ab.metrics();
        assert_eq!(m.samples, 4);
        close(m.rtt.min, 10.0);
        close(m.rtt.max, 44.0);
        close(m.rtt.mean, 28.5);
        close(m.rtt.p50, 20.0); // sorted 10 20 40 44, rank 2
        close(m.rtt.trimmed_mean, 30.0); // (20 + 40) / 2
        // (|20-10| + |44-40|) / 2 = 7; |40-20| across beacons is never taken.
        close(m.rtt.jitter, 7.0);
        assert_eq!(
            (
                m.counters.sent,
                m.counters.received,
                m.counters.lost,
                m.counters.late
            ),
            (5, 4, 1, 1)
        );
        close(m.loss, 1.0 / 5.0);

        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba, "merging is commutative");
        assert_eq!(ab.metrics(), ba.metrics());
    }

    #[test]
    fn merging_single_samples_has_no_jitter() {
        let mut a = stats_of(&[10.0]);
        a.merge(&stats_of(&[30.0]));
        let m = a.metrics();
        assert_eq!(m.rtt.jitter, None);
        close(m.rtt.mean, 20.0);
        close(m.rtt.stddev, 10.0);
    }

    #[test]
    fn merging_empty_changes_nothing() {
        let a = stats_of(&[10.0, 11.0]);
        let mut b = a.clone();
        b.merge(&Stats::new());
        assert_eq!(a.metrics(), b.metrics());
        let mut e = Stats::new();
        e.merge(&a);
        assert_eq!(e.metrics(), a.metrics());
    }

    #[test]
    fn from_measurement_keeps_order_and_counters() {
        let mut m = BeaconMeasurement::new(LocationKey::new("Paris", "France"), "h");
        m.rtts = vec![ms(10.0), ms(30.0), ms(20.0)];
        (m.sent, m.received, m.lost, m.late, m.duplicates) = (4, 3, 1, 0, 2);
        let metrics = Stats::from_measurement(&m).metrics();
        close(metrics.rtt.jitter, 15.0); // (20 + 10) / 2
        assert_eq!(
            (
                metrics.counters.sent,
                metrics.counters.received,
                metrics.counters.lost,
                metrics.counters.duplicates
            ),
            (4, 3, 1, 2)
        );
        close(metrics.loss, 0.25);
    }

    #[test]
    fn statistic_and_score() {
        let mut s = stats_of(&[10.0, 12.0, 11.0, 30.0, 13.0]);
        s.add_counters(Counters {
            sent: 50,
            received: 49,
            lost: 1,
            ..Counters::default()
        });
        let m = s.metrics();
        close(m.statistic(Statistic::Median), 12.0);
        close(m.statistic(Statistic::Mean), 15.2);
        close(m.statistic(Statistic::TrimmedMean), 12.0);
        close(m.statistic(Statistic::Min), 10.0);
        // 12 + 100 * 1 / (50 + 20) + 0.5 * 9.75: loss shrunk by 20 loss-free prior probes.
        close(m.score(&RankConfig::default()), 12.0 + 100.0 / 70.0 + 4.875);
        let raw_loss = RankConfig {
            loss_prior_probes: 0.0,
            ..RankConfig::default()
        };
        // Without a prior: 12 + 100 * 0.02 + 0.5 * 9.75.
        close(m.score(&raw_loss), 12.0 + 2.0 + 4.875);
        let plain = RankConfig {
            loss_penalty_ms: 0.0,
            jitter_weight: 0.0,
            statistic: Statistic::Min,
            ..RankConfig::default()
        };
        close(m.score(&plain), 10.0);
    }

    #[test]
    fn one_lost_probe_of_six_costs_little() {
        let mut s = stats_of(&[8.0, 8.0, 8.0, 8.0, 8.0]);
        s.add_counters(Counters {
            sent: 6,
            received: 5,
            lost: 1,
            ..Counters::default()
        });
        let config = RankConfig {
            jitter_weight: 0.0,
            ..RankConfig::default()
        };
        // 8 + 100 * 1 / (6 + 20) = 8 + 3.85; the raw 1/6 would have cost 16.7 ms.
        close(s.metrics().score(&config), 8.0 + 100.0 / 26.0);
        close(s.metrics().loss, 1.0 / 6.0);
    }
}
