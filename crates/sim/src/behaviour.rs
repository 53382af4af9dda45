//! What a beacon does with each datagram: the seeded loss / delay decision and the reply bytes.
//! Pure: no sockets, no clock (the time since the simulation started is passed in).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::network::{Channel, CongestionTimeline, Spikes};
use crate::spec::BeaconSpec;

/// The fate of one received datagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// No reply (loss, a silent beacon, or a hostile one).
    Drop,
    /// Reply this long after the datagram was received.
    Reply(Duration),
}

/// The seeded decisions of one beacon: what its UDP responder does with each datagram, without
/// the sockets, so that a test can replay a beacon's model exactly (same seed, same index,
/// same datagram order and times: same decisions).
///
/// Two generators, both seeded from the scenario seed and the beacon's index: the first draws
/// the plain `loss` and `jitter_ms` decisions (two numbers per datagram, as before the harsh
/// model existed, so older scenarios replay exactly as they did), the second the
/// `bursty_loss` and `spikes` ones (four numbers per datagram, whatever the outcome). The
/// shared congestion depends on the time only ([`CongestionTimeline`]).
#[derive(Debug)]
pub struct Behaviour {
    rng: StdRng,
    harsh: StdRng,
    delay_ms: f64,
    jitter_ms: f64,
    loss: f64,
    silent: bool,
    spikes: Option<Spikes>,
    channel: Option<Channel>,
    congestion: Option<CongestionTimeline>,
}

/// SplitMix64: spreads a beacon index over all 64 bits, the same on every platform.
pub(crate) fn mix(index: u64) -> u64 {
    let mut z = index.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Keeps the harsh-model generator apart from the plain one.
const HARSH_SALT: u64 = 0x6861_7273_685F_6E65;

impl Behaviour {
    /// The behaviour of beacon number `index` of a scenario seeded with `seed`.
    pub fn new(spec: &BeaconSpec, seed: u64, index: usize) -> Behaviour {
        let mut harsh = StdRng::seed_from_u64(mix(seed ^ mix(index as u64) ^ HARSH_SALT));
        let start: f64 = harsh.random();
        Behaviour {
            rng: StdRng::seed_from_u64(seed ^ mix(index as u64)),
            harsh,
            delay_ms: spec.delay_ms,
            jitter_ms: spec.jitter_ms,
            loss: spec.loss,
            // A hostile beacon never echoes: its honest round trip is never measured.
            silent: spec.silent || spec.hostile_mode().is_some(),
            spikes: spec.spikes,
            channel: spec.bursty_loss.map(|model| Channel::new(model, start)),
            congestion: spec.congestion.map(|c| c.timeline(seed)),
        }
    }

    /// Decides the fate of the next datagram, received `at` after the simulation started (the
    /// time only matters for the shared congestion). Always draws the same six numbers,
    /// whatever the outcome, so the n-th datagram gets the same decision in every replay.
    ///
    /// The reply delay is `max(0, delay_ms + jitter) + spike + congestion`; the datagram is
    /// dropped if the beacon is silent, or the plain `loss` draw or the bursty channel loses
    /// it.
    pub fn decide(&mut self, at: Duration) -> Decision {
        let loss_roll: f64 = self.rng.random();
        let jitter_roll: f64 = self.rng.random();
        let draws: [f64; 4] = self.harsh.random();
        let [channel_loss, channel_step, spike_hit, spike_size] = draws;
        let burst_lost = self
            .channel
            .as_mut()
            .is_some_and(|c| c.packet(channel_loss, channel_step));
        if self.silent || loss_roll < self.loss || burst_lost {
            return Decision::Drop;
        }
        let base_ms = (self.delay_ms + self.jitter_ms * (2.0 * jitter_roll - 1.0)).max(0.0);
        let spike_ms = self
            .spikes
            .map_or(0.0, |s| s.extra_ms(spike_hit, spike_size));
        let congestion = self.congestion.map_or(Duration::ZERO, |t| t.extra_at(at));
        Decision::Reply(Duration::from_secs_f64((base_ms + spike_ms) / 1000.0) + congestion)
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
    use crate::network::{Congestion, GilbertElliott};
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
        (0..n).map(|_| b.decide(Duration::ZERO)).collect()
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

    /// The decision rule before the harsh model, kept here to prove older scenarios replay
    /// exactly as they did.
    fn before_harsh(spec: &BeaconSpec, seed: u64, index: usize, n: usize) -> Vec<Decision> {
        let mut rng = StdRng::seed_from_u64(seed ^ mix(index as u64));
        (0..n)
            .map(|_| {
                let loss_roll: f64 = rng.random();
                let jitter_roll: f64 = rng.random();
                if spec.silent || loss_roll < spec.loss {
                    return Decision::Drop;
                }
                let total_ms = spec.delay_ms + spec.jitter_ms * (2.0 * jitter_roll - 1.0);
                Decision::Reply(Duration::from_secs_f64(total_ms.max(0.0) / 1000.0))
            })
            .collect()
    }

    #[test]
    fn scenarios_without_the_harsh_model_replay_as_before() {
        for (seed, index) in [(7, 0), (42, 11), (0, 3)] {
            let s = spec(12.0, 3.0, 0.2);
            assert_eq!(
                run(&s, seed, index, 2000),
                before_harsh(&s, seed, index, 2000)
            );
        }
    }

    fn harsh_spec(delay: f64, jitter: f64) -> BeaconSpec {
        BeaconSpec {
            spikes: Some(Spikes {
                probability: 0.1,
                max_ms: 120.0,
            }),
            bursty_loss: Some(GilbertElliott {
                enter_bad: 0.025,
                exit_bad: 0.225,
                loss_good: 0.0,
                loss_bad: 0.5,
            }),
            congestion: Some(CONGESTION),
            ..spec(delay, jitter, 0.0)
        }
    }

    const CONGESTION: Congestion = Congestion {
        per_s: 3.3,
        length_ms: 40.0,
        extra_min_ms: 40.0,
        extra_max_ms: 80.0,
    };

    fn ms_of(d: Decision) -> Option<f64> {
        match d {
            Decision::Drop => None,
            Decision::Reply(t) => Some(t.as_secs_f64() * 1000.0),
        }
    }

    #[test]
    fn spikes_hit_their_share_of_replies_up_to_their_maximum() {
        let s = BeaconSpec {
            spikes: Some(Spikes {
                probability: 0.1,
                max_ms: 120.0,
            }),
            ..spec(50.0, 0.0, 0.0)
        };
        let extras: Vec<f64> = run(&s, 3, 2, 100_000)
            .into_iter()
            .map(|d| ms_of(d).expect("no loss configured") - 50.0)
            .collect();
        assert!(extras.iter().all(|e| (-1e-6..=120.0 + 1e-6).contains(e)));
        let spikes: Vec<f64> = extras.into_iter().filter(|e| *e > 1e-6).collect();
        let share = spikes.len() as f64 / 100_000.0;
        assert!((share - 0.1).abs() < 0.005, "{share}");
        let max = spikes.iter().copied().fold(0.0, f64::max);
        assert!(max > 119.0, "largest spike {max}");
        // Uniform in [0, 120]: mean 60, a quarter above 90.
        let mean = spikes.iter().sum::<f64>() / spikes.len() as f64;
        assert!((mean - 60.0).abs() < 2.0, "{mean}");
        let above = spikes.iter().filter(|e| **e > 90.0).count() as f64 / spikes.len() as f64;
        assert!((above - 0.25).abs() < 0.02, "{above}");
    }

    #[test]
    fn plain_and_bursty_loss_combine_as_independent_drops() {
        let s = BeaconSpec {
            loss: 0.1,
            ..harsh_spec(20.0, 0.0)
        };
        let n = 200_000;
        let drops = run(&s, 8, 0, n)
            .iter()
            .filter(|d| **d == Decision::Drop)
            .count() as f64;
        let expected = 1.0 - 0.9 * (1.0 - 0.05);
        assert!((drops / n as f64 - expected).abs() < 0.006, "{drops}");
    }

    /// Two beacons behind the same congested last hop, probed 3 ms apart every 10 ms for
    /// 1000 s: their delays above base, side by side.
    fn side_by_side(seed_a: u64, seed_b: u64, jitter: f64) -> Vec<(f64, f64, Duration)> {
        let plain = |delay| BeaconSpec {
            congestion: Some(CONGESTION),
            ..spec(delay, jitter, 0.0)
        };
        let mut a = Behaviour::new(&plain(30.0), seed_a, 0);
        let mut b = Behaviour::new(&plain(100.0), seed_b, 1);
        (0..100_000u64)
            .map(|i| {
                let at = Duration::from_millis(i * 10);
                let da = ms_of(a.decide(at)).unwrap() - 30.0;
                let db = ms_of(b.decide(at + Duration::from_millis(3))).unwrap() - 100.0;
                (da, db, at)
            })
            .collect()
    }

    fn correlation(pairs: &[(f64, f64, Duration)]) -> f64 {
        let n = pairs.len() as f64;
        let (ma, mb) = pairs
            .iter()
            .fold((0.0, 0.0), |(x, y), (a, b, _)| (x + a / n, y + b / n));
        let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
        for (a, b, _) in pairs {
            cov += (a - ma) * (b - mb);
            va += (a - ma) * (a - ma);
            vb += (b - mb) * (b - mb);
        }
        cov / (va * vb).sqrt()
    }

    #[test]
    fn congestion_episodes_are_shared_by_every_beacon() {
        // Without jitter: each delay above base is exactly the timeline's extra at its time.
        let timeline = CONGESTION.timeline(5);
        let pairs = side_by_side(5, 5, 0.0);
        let mut both = 0;
        for (a, b, at) in &pairs {
            let ea = timeline.extra_at(*at).as_secs_f64() * 1000.0;
            let eb = timeline
                .extra_at(*at + Duration::from_millis(3))
                .as_secs_f64()
                * 1000.0;
            assert!(
                (a - ea).abs() < 1e-6 && (b - eb).abs() < 1e-6,
                "{a} {b} at {at:?}"
            );
            if *a > 0.0 && *b > 0.0 {
                both += 1;
                assert!(*a >= 40.0 - 1e-6 && *b >= 40.0 - 1e-6);
            }
        }
        // 3 ms apart inside a 40 ms episode: nearly every congested probe of one beacon has
        // a congested neighbour on the other.
        let a_busy = pairs.iter().filter(|(a, _, _)| *a > 0.0).count();
        assert!(f64::from(both) > 0.85 * a_busy as f64, "{both} of {a_busy}");
        let busy = a_busy as f64 / pairs.len() as f64;
        assert!((busy - CONGESTION.busy_fraction()).abs() < 0.015, "{busy}");

        // With 6 ms jitter each: strongly correlated on one timeline...
        let shared = correlation(&side_by_side(5, 5, 6.0));
        assert!(shared > 0.8, "{shared}");
        // ... and not at all on two (two scenarios' seeds).
        let apart = correlation(&side_by_side(5, 6, 6.0));
        assert!(apart.abs() < 0.05, "{apart}");
    }

    #[test]
    fn the_harsh_model_replays_with_its_seed() {
        let s = harsh_spec(28.0, 6.0);
        let times = |b: &mut Behaviour| -> Vec<Decision> {
            (0..5000u64)
                .map(|i| b.decide(Duration::from_millis(i * 7)))
                .collect()
        };
        let first = times(&mut Behaviour::new(&s, 42, 0));
        assert_eq!(first, times(&mut Behaviour::new(&s, 42, 0)));
        assert_ne!(first, times(&mut Behaviour::new(&s, 43, 0)));
        assert_ne!(first, times(&mut Behaviour::new(&s, 42, 1)));
        let drops = first.iter().filter(|d| **d == Decision::Drop).count();
        assert!((100..500).contains(&drops), "{drops} of 5000 at 5 % loss");
        // Never earlier than delay - jitter; never later than everything added up.
        for ms in first.iter().filter_map(|d| ms_of(*d)) {
            assert!(
                (22.0 - 1e-6..=34.0 + 120.0 + 80.0 + 1e-6).contains(&ms),
                "{ms}"
            );
        }
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
