//! What a beacon does with each datagram: the seeded loss / jitter decision and the reply bytes.
//! Pure: no sockets, no clock.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::spec::BeaconSpec;

/// The fate of one received datagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// No reply (loss, a silent beacon, or a hostile one).
    Drop,
    /// Reply this long after the datagram was received.
    Reply(Duration),
}

/// The seeded decisions of one beacon.
#[derive(Debug)]
pub struct Behaviour {
    rng: StdRng,
    delay_ms: f64,
    jitter_ms: f64,
    loss: f64,
    silent: bool,
}

/// SplitMix64: spreads a beacon index over all 64 bits, the same on every platform.
fn mix(index: u64) -> u64 {
    let mut z = index.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Behaviour {
    /// The behaviour of beacon number `index` of a scenario seeded with `seed`.
    pub fn new(spec: &BeaconSpec, seed: u64, index: usize) -> Behaviour {
        Behaviour {
            rng: StdRng::seed_from_u64(seed ^ mix(index as u64)),
            delay_ms: spec.delay_ms,
            jitter_ms: spec.jitter_ms,
            loss: spec.loss,
            // A hostile beacon never echoes: its honest round trip is never measured.
            silent: spec.silent || spec.hostile_mode().is_some(),
        }
    }

    /// Decides the fate of the next datagram. Always draws the same two numbers, whatever the
    /// outcome, so the n-th datagram gets the same decision in every replay.
    pub fn decide(&mut self) -> Decision {
        let loss_roll: f64 = self.rng.random();
        let jitter_roll: f64 = self.rng.random();
        if self.silent || loss_roll < self.loss {
            return Decision::Drop;
        }
        let total_ms = self.delay_ms + self.jitter_ms * (2.0 * jitter_roll - 1.0);
        Decision::Reply(Duration::from_secs_f64(total_ms.max(0.0) / 1000.0))
    }
}

/// How the reply bytes are made from the received ones.
#[derive(Debug, Clone)]
pub struct Payload {
    fixed: Option<Vec<u8>>,
    alter: bool,
}

impl Payload {
    /// The payload rule of `spec` (`reply_with`, `alter_bytes`).
    pub fn new(spec: &BeaconSpec) -> Payload {
        Payload {
            fixed: spec.reply_with.as_ref().map(|s| s.as_bytes().to_vec()),
            alter: spec.alter_bytes,
        }
    }

    /// The reply to `received`: an echo, or the fixed bytes, with every byte flipped if asked.
    pub fn reply(&self, received: &[u8]) -> Vec<u8> {
        let mut out = self.fixed.clone().unwrap_or_else(|| received.to_vec());
        if self.alter {
            for b in &mut out {
                *b ^= 0xFF;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn spec(delay: f64, jitter: f64, loss: f64) -> BeaconSpec {
        BeaconSpec {
            jitter_ms: jitter,
            loss,
            ..BeaconSpec::new("X", IpAddr::V4(Ipv4Addr::LOCALHOST), delay)
        }
    }

    fn run(spec: &BeaconSpec, seed: u64, index: usize, n: usize) -> Vec<Decision> {
        let mut b = Behaviour::new(spec, seed, index);
        (0..n).map(|_| b.decide()).collect()
    }

    #[test]
    fn same_seed_same_decisions_other_seed_or_index_differ() {
        let s = spec(10.0, 3.0, 0.3);
        assert_eq!(run(&s, 1, 0, 200), run(&s, 1, 0, 200));
        assert_ne!(run(&s, 1, 0, 200), run(&s, 2, 0, 200));
        assert_ne!(run(&s, 1, 0, 200), run(&s, 1, 1, 200));
    }

    #[test]
    fn jitter_stays_in_band_and_delay_never_negative() {
        for d in run(&spec(10.0, 3.0, 0.0), 5, 0, 1000) {
            let Decision::Reply(t) = d else {
                panic!("no loss configured")
            };
            let ms = t.as_secs_f64() * 1000.0;
            assert!((7.0..=13.0).contains(&ms), "{ms}");
        }
        for d in run(&spec(1.0, 5.0, 0.0), 5, 0, 1000) {
            let Decision::Reply(t) = d else {
                panic!("no loss configured")
            };
            assert!(t.as_secs_f64() * 1000.0 <= 6.0);
        }
    }

    #[test]
    fn loss_extremes_and_silence() {
        assert!(
            run(&spec(0.0, 0.0, 0.0), 3, 0, 500)
                .iter()
                .all(|d| *d != Decision::Drop)
        );
        assert!(
            run(&spec(0.0, 0.0, 1.0), 3, 0, 500)
                .iter()
                .all(|d| *d == Decision::Drop)
        );
        let silent = BeaconSpec {
            silent: true,
            ..spec(0.0, 0.0, 0.0)
        };
        assert!(run(&silent, 3, 0, 50).iter().all(|d| *d == Decision::Drop));
        let drops = run(&spec(0.0, 0.0, 0.25), 3, 0, 4000)
            .iter()
            .filter(|d| **d == Decision::Drop)
            .count();
        assert!((800..1200).contains(&drops), "{drops}");
    }

    #[test]
    fn payload_rules() {
        let base = spec(0.0, 0.0, 0.0);
        assert_eq!(Payload::new(&base).reply(b"abc"), b"abc");
        let alter = BeaconSpec {
            alter_bytes: true,
            ..base.clone()
        };
        assert_eq!(Payload::new(&alter).reply(&[0x00, 0x0F]), vec![0xFF, 0xF0]);
        let fixed = BeaconSpec {
            reply_with: Some("pong".into()),
            ..base
        };
        assert_eq!(Payload::new(&fixed).reply(b"anything"), b"pong");
    }
}
