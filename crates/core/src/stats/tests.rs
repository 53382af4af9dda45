use super::*;

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
    assert_eq!(m.rtt, RttSummary::default());
    assert_eq!(m.loss, None, "nothing sent: loss undefined");
}

#[test]
fn no_sample_with_every_probe_lost_is_full_loss_but_no_latency() {
    let s = Stats::of(
        &[],
        ProbeCounts {
            sent: 3,
            lost: 3,
            ..ProbeCounts::default()
        },
    );
    let m = s.metrics();
    assert_eq!(m.loss, Some(1.0));
    assert_eq!(m.rtt.p50, None);
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
    close(m.rtt.stddev, 5.0);
    close(m.rtt.jitter, 10.0);
    close(m.rtt.trimmed_mean, 15.0);
}

#[test]
fn five_samples_by_hand() {
    // Send order matters for jitter: |12-10| + |11-12| + |30-11| + |13-30| = 39 over 4.
    let m = stats_of(&[10.0, 12.0, 11.0, 30.0, 13.0]).metrics();
    close(m.rtt.min, 10.0);
    close(m.rtt.max, 30.0);
    close(m.rtt.p50, 12.0);
    close(m.rtt.p90, 30.0);
    close(m.rtt.p99, 30.0);
    close(m.rtt.mean, 15.2);
    close(m.rtt.stddev, 55.76_f64.sqrt());
    close(m.rtt.jitter, 9.75);
    close(m.rtt.trimmed_mean, 12.0);
    for (statistic, value) in [
        (Statistic::Median, 12.0),
        (Statistic::Mean, 15.2),
        (Statistic::TrimmedMean, 12.0),
        (Statistic::Min, 10.0),
    ] {
        close(m.statistic(statistic), value);
    }
}

#[test]
fn nearest_rank_p90_of_ten_is_the_ninth() {
    let mut s = Samples::new();
    for v in 1..=10u64 {
        s.record(Duration::from_millis(v));
    }
    assert_eq!(s.quantile(0.9), Some(Duration::from_millis(9)));
    assert_eq!(s.quantile(0.5), Some(Duration::from_millis(5)));
    assert_eq!(s.quantile(0.0), Some(Duration::from_millis(1)));
    assert_eq!(s.quantile(1.0), Some(Duration::from_millis(10)));
    assert_eq!(s.order_statistic(3), Some(Duration::from_millis(3)));
}

#[test]
fn exact_up_to_the_limit_then_within_a_tenth_of_a_percent() {
    let mut s = Samples::new();
    for v in 1..=EXACT_LIMIT as u64 {
        s.record(Duration::from_micros(v * 997));
    }
    assert!(s.is_exact());
    let exact_p50 = s.quantile(0.5).unwrap();
    assert_eq!(exact_p50, Duration::from_micros(128 * 997));
    for v in 1..=EXACT_LIMIT as u64 {
        s.record(Duration::from_micros(v * 997));
    }
    assert!(!s.is_exact(), "above the limit: a histogram");
    let approx = s.quantile(0.5).unwrap().as_secs_f64();
    let exact = exact_p50.as_secs_f64();
    assert!(
        approx <= exact && (exact - approx) / exact < 1e-3,
        "{approx} vs {exact}"
    );
    assert_eq!(s.len(), 2 * EXACT_LIMIT as u64);
    assert_eq!(
        s.order_statistic(1),
        None,
        "no exact order statistics any more"
    );
}

#[test]
fn trimmed_mean_drops_exactly_one_min_and_one_max() {
    close(
        stats_of(&[5.0, 5.0, 7.0, 100.0]).metrics().rtt.trimmed_mean,
        6.0,
    );
    close(
        stats_of(&[5.0, 7.0, 100.0]).metrics().rtt.trimmed_mean,
        112.0 / 3.0,
    );
}

#[test]
fn extremes_stay_exact() {
    close(stats_of(&[1.234, 1.5, 2.0]).metrics().rtt.p50, 1.5);
    close(stats_of(&[0.0004]).metrics().rtt.p50, 0.0004);
    let huge = stats_of(&[61_000.0]).metrics();
    close(huge.rtt.p99, 61_000.0);
    close(huge.rtt.max, 61_000.0);
}

#[test]
fn merging_adds_samples_counts_and_jitter_without_crossing_beacons() {
    let mut a = stats_of(&[10.0, 20.0]);
    *a.counts_mut() = ProbeCounts {
        sent: 3,
        received: 2,
        lost: 1,
        ..ProbeCounts::default()
    };
    let mut b = stats_of(&[40.0, 44.0]);
    *b.counts_mut() = ProbeCounts {
        sent: 3,
        received: 2,
        late: 1,
        ..ProbeCounts::default()
    };
    let mut ab = a.clone();
    ab.merge(&b);
    let m = ab.metrics();
    assert_eq!(m.samples, 4);
    close(m.rtt.min, 10.0);
    close(m.rtt.max, 44.0);
    close(m.rtt.mean, 28.5);
    close(m.rtt.p50, 20.0);
    close(m.rtt.trimmed_mean, 30.0);
    close(m.rtt.jitter, 7.0);
    assert_eq!((m.counts.sent, m.counts.lost, m.counts.late), (6, 1, 1));
    close(m.loss, 2.0 / 6.0);

    let mut ba = b.clone();
    ba.merge(&a);
    assert_eq!(ab, ba, "merging is commutative");
}

#[test]
fn merging_across_the_limit_keeps_every_sample() {
    let big: Vec<f64> = (0..EXACT_LIMIT).map(|i| 10.0 + i as f64 / 100.0).collect();
    let mut a = stats_of(&big);
    let b = stats_of(&[1.0, 2.0]);
    a.merge(&b);
    let m = a.metrics();
    assert_eq!(m.samples, EXACT_LIMIT as u64 + 2);
    close(m.rtt.min, 1.0);
    let mut c = b.clone();
    c.merge(&stats_of(&big));
    assert_eq!(c.metrics().samples, m.samples);
    assert_eq!(c.metrics().rtt.p50, m.rtt.p50);
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
fn statistic_names_round_trip() {
    for s in Statistic::ALL {
        assert_eq!(s.as_str().parse::<Statistic>(), Ok(s));
    }
    assert_eq!(
        " Trimmed_Mean ".parse::<Statistic>(),
        Ok(Statistic::TrimmedMean)
    );
    let err = "average".parse::<Statistic>().unwrap_err();
    assert!(err.to_string().contains("average"), "{err}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Exact quantiles are the nearest-rank order statistics of the sorted samples.
        #[test]
        fn exact_quantiles_are_order_statistics(
            values in prop::collection::vec(1u64..1_000_000, 1..40),
            q in 0.0f64..=1.0,
        ) {
            let mut s = Samples::new();
            for &v in &values {
                s.record(Duration::from_micros(v));
            }
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let n = sorted.len() as f64;
            let rank = ((q * n - 1e-9).ceil() as usize).clamp(1, sorted.len());
            prop_assert_eq!(s.quantile(q), Some(Duration::from_micros(sorted[rank - 1])));
        }
    }
}

#[test]
fn totals_stay_exact_across_the_spill_and_exact_samples_take_32_bytes() {
    let values: Vec<f64> = (0..=EXACT_LIMIT).map(|i| 1.0 + i as f64 * 0.37).collect();
    let below = stats_of(&values[..EXACT_LIMIT]);
    let above = stats_of(&values);
    assert!(below.samples().is_exact());
    assert!(
        !above.samples().is_exact(),
        "{} samples spill",
        values.len()
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    close(below.metrics().rtt.mean, mean(&values[..EXACT_LIMIT]));
    close(above.metrics().rtt.mean, mean(&values));
    close(above.metrics().rtt.min, values[0]);
    close(above.metrics().rtt.max, values[EXACT_LIMIT]);
    // Two exact halves that spill when merged keep the same totals as one stream.
    let mut merged = stats_of(&values[..200]);
    merged.merge(&stats_of(&values[200..]));
    assert!(!merged.samples().is_exact());
    let (m, a) = (merged.metrics().rtt, above.metrics().rtt);
    assert_eq!(
        (m.mean, m.stddev, m.min, m.max),
        (a.mean, a.stddev, a.min, a.max)
    );
    assert_eq!(m.trimmed_mean, a.trimmed_mean);
    // Kept once per beacon and per location: the sorted samples and a pointer, nothing more.
    assert_eq!(std::mem::size_of::<Samples>(), 32);
}

#[test]
fn room_made_ahead_changes_no_figure_and_one_sample_makes_no_jitter_room() {
    let mut reserved = Stats::new();
    reserved.reserve(10);
    let mut plain = Stats::new();
    for v in [5.0, 3.0, 9.0, 4.0] {
        reserved.record(ms(v));
        plain.record(ms(v));
    }
    assert_eq!(reserved.metrics(), plain.metrics());
    assert!(reserved.samples.exact.capacity() >= 10);
    let mut single = Stats::new();
    single.reserve(1);
    single.record(ms(5.0));
    assert!(single.jitter.is_none());
    assert!(single.jitter_differences().is_none());
    // Room made for more samples than come: still no difference before the second sample.
    let mut lonely = Stats::new();
    lonely.reserve(10);
    lonely.record(ms(5.0));
    assert!(lonely.jitter_differences().is_none());
    assert_eq!(lonely.metrics(), stats_of(&[5.0]).metrics());
    // Room past the exact limit is never made.
    let mut big = Samples::new();
    big.reserve(100_000);
    assert!(big.exact.capacity() <= EXACT_LIMIT);
}

#[test]
fn room_made_ahead_is_not_a_difference_between_two_stats() {
    let mut reserved = Stats::new();
    reserved.reserve(10);
    reserved.record(ms(5.0));
    assert_eq!(reserved, stats_of(&[5.0]));
}

#[test]
fn scoring_metrics_are_the_full_metrics_figures_a_score_reads() {
    let mut s = stats_of(&[12.0, 10.0, 30.0, 11.0, 13.0]);
    s.counts_mut().sent = 6;
    s.counts_mut().received = 5;
    s.counts_mut().lost = 1;
    let full = s.metrics();
    for statistic in [
        Statistic::Median,
        Statistic::Mean,
        Statistic::TrimmedMean,
        Statistic::Min,
    ] {
        let scoring = s.scoring_metrics(statistic);
        assert_eq!(scoring.statistic(statistic), full.statistic(statistic));
        assert_eq!(scoring.rtt.jitter, full.rtt.jitter);
        assert_eq!((scoring.loss, scoring.counts), (full.loss, full.counts));
        assert_eq!(scoring.samples, full.samples);
    }
    let empty = Stats::new().scoring_metrics(Statistic::Median);
    assert_eq!(empty, Stats::new().metrics());
}
