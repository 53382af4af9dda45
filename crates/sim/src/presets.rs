//! The built-in scenarios: the `demo`, the twelve-location benchmark and the `harsh` one.

use std::net::{IpAddr, Ipv4Addr};

use crate::network::{Congestion, GilbertElliott, Network, Spikes};
use crate::scenario::Scenario;
use crate::spec::BeaconSpec;

/// Seed of [`Scenario::demo`].
pub const DEMO_SEED: u64 = 7;

/// `(city, country, delay ms, jitter ms, loss)` of the demo; the address is `127.0.0.(11 + i)`.
const DEMO: [(&str, &str, f64, f64, f64); 10] = [
    ("Montreal", "Canada", 12.0, 1.0, 0.01),
    ("Chicago", "United States", 24.0, 1.0, 0.0),
    ("New York", "United States", 18.0, 1.5, 0.01),
    ("Los Angeles", "United States", 62.0, 2.0, 0.02),
    ("Sao Paulo", "Brazil", 120.0, 3.0, 0.03),
    ("Frankfurt", "Germany", 85.0, 2.0, 0.01),
    ("London", "United Kingdom", 78.0, 2.0, 0.0),
    ("Tokyo", "Japan", 165.0, 3.0, 0.02),
    ("Singapore", "Singapore", 210.0, 3.0, 0.03),
    ("Sydney", "Australia", 230.0, 3.0, 0.02),
];

/// The demo beacon that is down (ports closed).
const DEMO_DOWN: &str = "Singapore";

/// `(city, country, delay ms)` of the benchmark; the address is `127.0.0.(31 + i)`.
const TWELVE: [(&str, &str, f64); 12] = [
    ("Montreal", "Canada", 8.0),
    ("Toronto", "Canada", 14.0),
    ("New York", "United States", 22.0),
    ("Chicago", "United States", 30.0),
    ("Dallas", "United States", 45.0),
    ("Los Angeles", "United States", 62.0),
    ("London", "United Kingdom", 80.0),
    ("Frankfurt", "Germany", 95.0),
    ("Sao Paulo", "Brazil", 130.0),
    ("Tokyo", "Japan", 165.0),
    ("Singapore", "Singapore", 210.0),
    ("Sydney", "Australia", 250.0),
];

/// `(city, country, delay ms)` of the harsh preset; the address is `127.0.0.(71 + i)`. The
/// two best are 8 ms apart, far less than the noise.
const HARSH: [(&str, &str, f64); 12] = [
    ("Frankfurt", "Germany", 28.0),
    ("Amsterdam", "Netherlands", 36.0),
    ("London", "United Kingdom", 47.0),
    ("Paris", "France", 55.0),
    ("Warsaw", "Poland", 68.0),
    ("Madrid", "Spain", 82.0),
    ("New York", "United States", 105.0),
    ("Chicago", "United States", 128.0),
    ("Dubai", "United Arab Emirates", 155.0),
    ("Los Angeles", "United States", 185.0),
    ("Tokyo", "Japan", 220.0),
    ("Sydney", "Australia", 250.0),
];

/// Jitter of every harsh beacon, ms.
const HARSH_JITTER_MS: f64 = 6.0;

/// The harsh preset's spikes: 10 % of replies delayed by up to 120 ms more.
const HARSH_SPIKES: Spikes = Spikes {
    probability: 0.1,
    max_ms: 120.0,
};

/// The harsh preset's bursty loss: 10 % of packets in the bad state (`0.025 / (0.025 +
/// 0.225)`), which loses half of them and lasts 1 / 0.225 = 4.4 packets on average: 5 % loss,
/// in bursts.
const HARSH_BURSTY_LOSS: GilbertElliott = GilbertElliott {
    enter_bad: 0.025,
    exit_bad: 0.225,
    loss_good: 0.0,
    loss_bad: 0.5,
};

/// The harsh preset's shared congestion: 40 ms episodes adding 40-80 ms, starting 3.3 times a
/// second (about every 300 ms).
const HARSH_CONGESTION: Congestion = Congestion {
    per_s: 3.3,
    length_ms: 40.0,
    extra_min_ms: 40.0,
    extra_max_ms: 80.0,
};

fn loopback(last: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last as u8))
}

impl Scenario {
    /// Ten cities with realistic delays (12 ms Montreal .. 230 ms Sydney), 1-3 ms jitter,
    /// 0-3 % loss, Singapore down; each on its own address `127.0.0.11` .. `127.0.0.20`.
    /// Same content as `scenarios/demo.toml`. Only Singapore has a TCP port (closed: refused):
    /// the others are delayed, which a TCP handshake would not show.
    pub fn demo() -> Scenario {
        let beacons = DEMO
            .iter()
            .enumerate()
            .map(
                |(i, &(city, country, delay_ms, jitter_ms, loss))| BeaconSpec {
                    country: country.to_owned(),
                    jitter_ms,
                    loss,
                    down: city == DEMO_DOWN,
                    ..BeaconSpec::new(city, loopback(11 + i), delay_ms)
                },
            )
            .collect();
        Scenario {
            seed: DEMO_SEED,
            beacons,
        }
    }

    /// The benchmark: twelve locations with delays from 8 ms to 250 ms, 2 % loss and 2 ms
    /// jitter each, on `127.0.0.31` .. `127.0.0.42`. Same content as `scenarios/twelve.toml`
    /// (whose seed is 42). UDP only: delayed beacons have no TCP port.
    pub fn twelve_locations(seed: u64) -> Scenario {
        let beacons = TWELVE
            .iter()
            .enumerate()
            .map(|(i, &(city, country, delay_ms))| BeaconSpec {
                country: country.to_owned(),
                jitter_ms: 2.0,
                loss: 0.02,
                ..BeaconSpec::new(city, loopback(31 + i), delay_ms)
            })
            .collect();
        Scenario { seed, beacons }
    }

    /// A harsh network, for ranking under noise: twelve locations whose two best, Frankfurt
    /// (28 ms) and Amsterdam (36 ms), are only 8 ms apart, the rest spread up to Sydney
    /// (250 ms); on `127.0.0.71` .. `127.0.0.82`. Every beacon has 6 ms jitter, 5 % bursty loss
    /// (Gilbert–Elliott: a bad state entered with probability 0.025 per packet, left with
    /// 0.225, losing half its packets) and spikes (10 % of replies up to 120 ms later); all of
    /// them sit behind one congested last hop (episodes of 40 ms adding 40-80 ms, 3.3 a
    /// second). Same content as `scenarios/harsh.toml` (whose seed is 42). UDP only.
    pub fn harsh(seed: u64) -> Scenario {
        let beacons = HARSH
            .iter()
            .enumerate()
            .map(|(i, &(city, country, delay_ms))| BeaconSpec {
                country: country.to_owned(),
                jitter_ms: HARSH_JITTER_MS,
                spikes: Some(HARSH_SPIKES),
                bursty_loss: Some(HARSH_BURSTY_LOSS),
                ..BeaconSpec::new(city, loopback(71 + i), delay_ms)
            })
            .collect();
        let mut scenario = Scenario { seed, beacons };
        scenario.set_network(Network {
            congestion: Some(HARSH_CONGESTION),
        });
        scenario
    }

    /// The acceptance scenario of ranking under noise: [`Scenario::harsh`] with the runner-up
    /// (Amsterdam) 5 to 10 ms behind the best (`5 + seed % 6` ms) and heavier spikes (15 % of
    /// replies up to 120 ms later). Frankfurt is always the right answer.
    pub fn harsh_contest(seed: u64) -> Scenario {
        let mut scenario = Scenario::harsh(seed);
        let best = scenario.beacons[0].delay_ms;
        #[allow(clippy::cast_precision_loss)] // seed % 6 < 6
        let gap = 5.0 + (seed % 6) as f64;
        scenario.beacons[1].delay_ms = best + gap;
        for b in &mut scenario.beacons {
            b.spikes = Some(Spikes {
                probability: 0.15,
                max_ms: HARSH_SPIKES.max_ms,
            });
        }
        scenario
    }
}
