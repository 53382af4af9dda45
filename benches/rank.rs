//! Statistics and ranking speed: recording into and merging histograms, ranking 10,000
//! locations, and the early decision over as many.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_main};
use edgegap_rank::{
    BeaconMeasurement, LiveLocation, LocationKey, Protocol, RankConfig, Stats, decide, rank,
};

/// A small deterministic generator (no randomness crate needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// An RTT between `base_us` and `base_us + spread_us` microseconds.
    fn rtt(&mut self, base_us: u64, spread_us: u64) -> Duration {
        Duration::from_micros(base_us + self.next() % spread_us.max(1))
    }
}

fn samples(n: usize, seed: u64) -> Vec<Duration> {
    let mut rng = Lcg(seed);
    (0..n).map(|_| rng.rtt(5_000, 250_000)).collect()
}

fn stats_of(rtts: &[Duration]) -> Stats {
    let mut s = Stats::new();
    for &r in rtts {
        s.record(r);
    }
    s
}

fn measurements(locations: usize, per_location: usize) -> Vec<BeaconMeasurement> {
    let mut rng = Lcg(7);
    let mut out = Vec::with_capacity(locations);
    for i in 0..locations {
        let key = LocationKey::new(format!("City {i}"), format!("Country {}", i % 50));
        let base = 5_000 + rng.next() % 250_000;
        let mut m = BeaconMeasurement::new(key, format!("10.{}.{}.1", i / 256 % 256, i % 256));
        m.port = Some(9000);
        m.protocol = Some(Protocol::Udp);
        m.rtts = (0..per_location).map(|_| rng.rtt(base, 2_000)).collect();
        m.counts.received = u32::try_from(per_location).unwrap_or(u32::MAX);
        m.counts.lost = u32::from(rng.next().is_multiple_of(10));
        m.counts.sent = m.counts.received + m.counts.lost;
        if i.is_multiple_of(97) {
            m.rtts.clear();
            m.counts.received = 0;
            m.unreachable = Some(edgegap_probe::Unreachable::NoReply);
        }
        out.push(m);
    }
    out
}

fn bench_stats(c: &mut Criterion) {
    let mut group = c.benchmark_group("stats");
    for n in [10usize, 1_000] {
        let rtts = samples(n, 1);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("record", n), &rtts, |b, rtts| {
            b.iter(|| stats_of(black_box(rtts)));
        });
    }
    let a = stats_of(&samples(1_000, 2));
    let b = stats_of(&samples(1_000, 3));
    group.throughput(Throughput::Elements(1));
    group.bench_function("merge/1000+1000", |bench| {
        bench.iter_batched_ref(
            || a.clone(),
            |merged| merged.merge(black_box(&b)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("metrics/1000", |bench| {
        bench.iter(|| black_box(&a).metrics());
    });
    group.finish();
}

fn bench_rank(c: &mut Criterion) {
    let mut group = c.benchmark_group("rank");
    group.sample_size(20);
    let input = measurements(10_000, 10);
    let config = RankConfig::default();
    let previous = LocationKey::new("City 42", "Country 42");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10000_locations", |b| {
        b.iter(|| rank(black_box(&input), &config, Some(&previous)));
    });
    let ranking = rank(&input, &config, None);
    group.bench_function("payload/10000_locations", |b| {
        b.iter(|| black_box(&ranking).payload("beacons"));
    });
    group.finish();
}

fn bench_decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    let mut rng = Lcg(11);
    let live: Vec<LiveLocation> = (0..10_000)
        .map(|i| {
            let base = 5.0 + (rng.next() % 250_000) as f64 / 1000.0;
            let mut l = LiveLocation::new(LocationKey::new(format!("City {i}"), "X"));
            for _ in 0..3 {
                let ms = base + (rng.next() % 2_000) as f64 / 1000.0;
                l.stats
                    .record(std::time::Duration::from_secs_f64(ms / 1000.0));
                l.stats.counts_mut().sent += 1;
                l.stats.counts_mut().received += 1;
            }
            l
        })
        .collect();
    let config = RankConfig::default();
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10000_locations", |b| {
        b.iter(|| decide(black_box(&live), &config, 3));
    });
    group.finish();
}

/// The groups of this file (in a private module: `criterion_group!` makes an undocumented fn).
mod groups {
    use super::{bench_decide, bench_rank, bench_stats};
    criterion::criterion_group!(benches, bench_stats, bench_rank, bench_decide);
}
criterion_main!(groups::benches);
