//! The built-in scenarios: the `demo` and the twelve-location benchmark.

use std::net::{IpAddr, Ipv4Addr};

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
}
