//! The harsh-network model: per-packet delay [`Spikes`] and bursty [`GilbertElliott`] loss on
//! each beacon, and the [`Congestion`] episodes of a shared last hop that every beacon of a
//! scenario sees alike (the scenario's [`Network`], the `[network]` table of a scenario file).
//!
//! Everything here is pure and seeded: no sockets, no clock. A beacon's per-packet draws come
//! from its own generator (see [`crate::Behaviour`]); the congestion timeline is a function of
//! the scenario seed and of the time since the simulation started
//! ([`CongestionTimeline::extra_at`]), the same for every beacon and whatever order it is
//! asked in.
//!
//! # The shared timeline
//!
//! Episodes start as a Poisson process of rate [`Congestion::per_s`]: time is cut into
//! one-second slots, and slot `k` draws its episodes from a generator seeded with the scenario
//! seed and `k` alone (exponential gaps from the slot's start until the slot's end, which by
//! memorylessness is exactly a Poisson process). Each episode lasts [`Congestion::length_ms`]
//! and adds one extra delay, drawn uniformly in
//! [[`extra_min_ms`](Congestion::extra_min_ms), [`extra_max_ms`](Congestion::extra_max_ms)]
//! once per episode, to every reply whose probe arrives while it lasts, on every beacon. Where
//! episodes overlap, the largest extra applies (one queue, not two). So two beacons probed
//! within a few milliseconds of each other inside an episode both get the same extra delay,
//! as they would behind a congested home router or radio link.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::behaviour::mix;

/// Per-packet delay spikes of one beacon (a radio link's retransmissions, a busy scheduler):
/// with probability `probability`, a reply is delayed by an extra amount drawn uniformly in
/// `[0, max_ms]`, on top of `delay_ms` and jitter.
///
/// In a scenario file: `spikes = { probability = 0.1, max_ms = 120.0 }` on a beacon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spikes {
    /// Probability in `0..=1` that a reply gets a spike.
    pub probability: f64,
    /// Largest spike, in milliseconds (`0..=3600000`); each spike is uniform in `[0, max_ms]`.
    pub max_ms: f64,
}

impl Spikes {
    /// Whether a spike can add any delay.
    pub fn is_active(&self) -> bool {
        self.probability > 0.0 && self.max_ms > 0.0
    }

    /// The extra delay of one packet, from two uniform draws in `[0, 1)`: `hit` decides
    /// whether it spikes, `size` how much.
    pub fn extra_ms(&self, hit: f64, size: f64) -> f64 {
        if hit < self.probability {
            self.max_ms * size
        } else {
            0.0
        }
    }

    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        probability("spikes.probability", self.probability)?;
        milliseconds("spikes.max_ms", self.max_ms)
    }
}

/// Bursty loss of one beacon: a Gilbert–Elliott channel, a good and a bad state with their
/// own loss rates. Each packet is lost with its current state's rate; then the state moves,
/// from good to bad with probability `enter_bad` and from bad to good with `exit_bad` (per
/// packet of this beacon, not per second). The first packet's state is drawn from the
/// stationary distribution, so the loss rate is [`GilbertElliott::stationary_loss`] from the
/// start.
///
/// It combines with the beacon's plain `loss` as two independent drops in a row: a packet gets
/// a reply only if both let it through, so the overall loss is
/// `1 - (1 - loss) * (1 - stationary_loss)`.
///
/// In a scenario file:
/// `bursty_loss = { enter_bad = 0.025, exit_bad = 0.225, loss_good = 0.0, loss_bad = 0.5 }`
/// on a beacon (`loss_good` defaults to 0, `loss_bad` to 1: the classic Gilbert channel).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GilbertElliott {
    /// Probability in `0..=1` of moving from the good state to the bad one after a packet.
    pub enter_bad: f64,
    /// Probability in `0..=1` of moving from the bad state back to the good one after a
    /// packet; the bad state lasts `1 / exit_bad` packets on average.
    pub exit_bad: f64,
    /// Loss probability in the good state, `0..=1`. Default 0.
    #[serde(default)]
    pub loss_good: f64,
    /// Loss probability in the bad state, `0..=1`. Default 1.
    #[serde(default = "one")]
    pub loss_bad: f64,
}

fn one() -> f64 {
    1.0
}

impl GilbertElliott {
    /// The long-run share of packets sent in the bad state:
    /// `enter_bad / (enter_bad + exit_bad)` (0 when `enter_bad` is 0: the bad state is never
    /// entered).
    pub fn stationary_bad(&self) -> f64 {
        if self.enter_bad <= 0.0 {
            0.0
        } else {
            self.enter_bad / (self.enter_bad + self.exit_bad)
        }
    }

    /// The long-run loss rate:
    /// `stationary_bad * loss_bad + (1 - stationary_bad) * loss_good`.
    pub fn stationary_loss(&self) -> f64 {
        let bad = self.stationary_bad();
        bad * self.loss_bad + (1.0 - bad) * self.loss_good
    }

    /// Mean length of a stay in the bad state, in packets (`1 / exit_bad`; infinite when 0).
    pub fn mean_bad_packets(&self) -> f64 {
        1.0 / self.exit_bad
    }

    /// Whether any packet can be lost.
    pub fn is_active(&self) -> bool {
        self.loss_good > 0.0 || (self.enter_bad > 0.0 && self.loss_bad > 0.0)
    }

    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        probability("bursty_loss.enter_bad", self.enter_bad)?;
        probability("bursty_loss.exit_bad", self.exit_bad)?;
        probability("bursty_loss.loss_good", self.loss_good)?;
        probability("bursty_loss.loss_bad", self.loss_bad)
    }
}

/// The state of one beacon's [`GilbertElliott`] channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Channel {
    model: GilbertElliott,
    bad: bool,
}

impl Channel {
    /// A channel starting in its stationary distribution: bad when `start < stationary_bad`
    /// (`start` is a uniform draw in `[0, 1)`).
    pub fn new(model: GilbertElliott, start: f64) -> Channel {
        Channel {
            model,
            bad: start < model.stationary_bad(),
        }
    }

    /// Whether the channel is in its bad state (for the next packet).
    pub fn is_bad(&self) -> bool {
        self.bad
    }

    /// One packet, from two uniform draws in `[0, 1)`: whether it is lost (`loss_draw` against
    /// the current state's rate), then the state moves (`step` against `enter_bad` or
    /// `exit_bad`).
    pub fn packet(&mut self, loss_draw: f64, step: f64) -> bool {
        let lost = loss_draw
            < if self.bad {
                self.model.loss_bad
            } else {
                self.model.loss_good
            };
        self.bad = if self.bad {
            step >= self.model.exit_bad
        } else {
            step < self.model.enter_bad
        };
        lost
    }
}

/// Congestion episodes of the last hop all beacons share (see the [module docs](self)):
/// episodes start `per_s` times a second on average (a Poisson process), each lasts
/// `length_ms` and adds one extra delay, uniform in `[extra_min_ms, extra_max_ms]`, to every
/// beacon's replies to probes that arrive while it lasts.
///
/// In a scenario file, the `[network.congestion]` table:
/// `per_s = 3.3`, `length_ms = 40.0`, `extra_min_ms = 40.0`, `extra_max_ms = 80.0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Congestion {
    /// Episode starts per second on average (`0..=1000`; 0: never).
    pub per_s: f64,
    /// Length of each episode, in milliseconds (`0..=60000`).
    pub length_ms: f64,
    /// Smallest extra delay of an episode, in milliseconds (`0..=3600000`).
    pub extra_min_ms: f64,
    /// Largest extra delay of an episode, in milliseconds (`extra_min_ms..=3600000`).
    pub extra_max_ms: f64,
}

impl Congestion {
    /// Whether an episode can add any delay.
    pub fn is_active(&self) -> bool {
        self.per_s > 0.0 && self.length_ms > 0.0 && self.extra_max_ms > 0.0
    }

    /// The long-run share of time inside at least one episode: `1 - exp(-per_s * length)`.
    pub fn busy_fraction(&self) -> f64 {
        1.0 - (-self.per_s * self.length_ms / 1000.0).exp()
    }

    /// The timeline of a scenario seeded with `seed`.
    pub fn timeline(&self, seed: u64) -> CongestionTimeline {
        CongestionTimeline {
            congestion: *self,
            key: mix(seed ^ TIMELINE_SALT),
        }
    }

    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if !(self.per_s.is_finite() && (0.0..=MAX_PER_S).contains(&self.per_s)) {
            return Err((
                "network.congestion.per_s",
                format!("{} is not a rate per second in 0..=1000", self.per_s),
            ));
        }
        if !(self.length_ms.is_finite() && (0.0..=MAX_LENGTH_MS).contains(&self.length_ms)) {
            return Err((
                "network.congestion.length_ms",
                format!(
                    "{} is not a number of milliseconds in 0..=60000",
                    self.length_ms
                ),
            ));
        }
        milliseconds("network.congestion.extra_min_ms", self.extra_min_ms)?;
        milliseconds("network.congestion.extra_max_ms", self.extra_max_ms)?;
        if self.extra_max_ms < self.extra_min_ms {
            return Err((
                "network.congestion.extra_max_ms",
                format!(
                    "{} is below extra_min_ms = {}",
                    self.extra_max_ms, self.extra_min_ms
                ),
            ));
        }
        Ok(())
    }
}

/// What is shared by every beacon of a scenario: the `[network]` table of a scenario file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Congestion episodes of the shared last hop. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion: Option<Congestion>,
}

impl Network {
    /// Whether nothing is set (the table is then left out of a written scenario).
    pub fn is_empty(&self) -> bool {
        self.congestion.is_none()
    }
}

/// One congestion episode, in time since the simulation started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Episode {
    /// When it starts.
    pub start: Duration,
    /// When it ends (`start + length_ms`).
    pub end: Duration,
    /// The extra delay it adds.
    pub extra: Duration,
}

/// The congestion episodes of one scenario: a pure function of its seed and [`Congestion`],
/// queried by time since the simulation started (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CongestionTimeline {
    congestion: Congestion,
    key: u64,
}

/// Above this rate, episodes are back to back anyway.
const MAX_PER_S: f64 = 1000.0;
/// One minute: longer episodes are an outage, not congestion.
const MAX_LENGTH_MS: f64 = 60_000.0;
/// The timeline's slots, in seconds.
const SLOT_S: f64 = 1.0;
/// Keeps the timeline's generators apart from the beacons' ones.
const TIMELINE_SALT: u64 = 0x636F_6E67_6573_7421;

impl CongestionTimeline {
    /// The parameters.
    pub fn congestion(&self) -> Congestion {
        self.congestion
    }

    /// Calls `f` with each episode starting in slot `k`, in order.
    fn slot(&self, k: u64, mut f: impl FnMut(Episode)) {
        let c = &self.congestion;
        if c.per_s <= 0.0 {
            return;
        }
        let mut rng = SplitMix(mix(self.key ^ mix(k)));
        let end = (k + 1) as f64 * SLOT_S;
        let mut t = k as f64 * SLOT_S;
        loop {
            t += -(1.0 - rng.uniform()).ln() / c.per_s;
            if t >= end {
                return;
            }
            let extra = rng.uniform();
            let start = Duration::from_secs_f64(t);
            f(Episode {
                start,
                end: start + Duration::from_secs_f64(c.length_ms / 1000.0),
                extra: Duration::from_secs_f64(
                    (c.extra_min_ms + (c.extra_max_ms - c.extra_min_ms) * extra) / 1000.0,
                ),
            });
        }
    }

    /// Every episode that overlaps `[from, to)`, in order of start.
    pub fn episodes(&self, from: Duration, to: Duration) -> Vec<Episode> {
        let length = self.congestion.length_ms / 1000.0;
        let first = slot_of((from.as_secs_f64() - length).max(0.0));
        let last = slot_of(to.as_secs_f64());
        let mut out = Vec::new();
        for k in first..=last {
            self.slot(k, |e| {
                if e.start < to && e.end > from {
                    out.push(e);
                }
            });
        }
        out
    }

    /// The extra delay at `at` (time since the simulation started): the largest of the
    /// episodes under way then, or zero.
    pub fn extra_at(&self, at: Duration) -> Duration {
        let length = self.congestion.length_ms / 1000.0;
        let first = slot_of((at.as_secs_f64() - length).max(0.0));
        let mut extra = Duration::ZERO;
        for k in first..=slot_of(at.as_secs_f64()) {
            self.slot(k, |e| {
                if e.start <= at && at < e.end {
                    extra = extra.max(e.extra);
                }
            });
        }
        extra
    }
}

/// SplitMix64, the timeline's generator: cheap to seed once per slot and query (every reply
/// asks), and the same on every platform and version.
struct SplitMix(u64);

impl SplitMix {
    /// Uniform in `[0, 1)`, 53 bits.
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        (mix(self.0) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn slot_of(seconds: f64) -> u64 {
    (seconds / SLOT_S).floor() as u64
}

fn probability(field: &'static str, p: f64) -> Result<(), (&'static str, String)> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err((field, format!("{p} is not a probability in 0..=1")))
    }
}

fn milliseconds(field: &'static str, ms: f64) -> Result<(), (&'static str, String)> {
    if ms.is_finite() && (0.0..=3_600_000.0).contains(&ms) {
        Ok(())
    } else {
        Err((
            field,
            format!("{ms} is not a number of milliseconds in 0..=3600000"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The harsh preset's congestion.
    const CONGESTION: Congestion = Congestion {
        per_s: 3.3,
        length_ms: 40.0,
        extra_min_ms: 40.0,
        extra_max_ms: 80.0,
    };

    const BURSTY: GilbertElliott = GilbertElliott {
        enter_bad: 0.025,
        exit_bad: 0.225,
        loss_good: 0.0,
        loss_bad: 0.5,
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn episodes_start_at_the_rate_last_their_length_and_add_an_extra_in_band() {
        let timeline = CONGESTION.timeline(1);
        let episodes = timeline.episodes(Duration::ZERO, Duration::from_secs(10_000));
        // Poisson: 33 000 expected, standard deviation 182.
        let n = episodes.len() as f64;
        assert!((n - 33_000.0).abs() < 1_000.0, "{n} episodes in 10 000 s");
        assert!(episodes.windows(2).all(|w| w[0].start <= w[1].start));
        for e in &episodes {
            assert_eq!(e.end.saturating_sub(e.start), ms(40), "{e:?}");
            assert!((ms(40)..=ms(80)).contains(&e.extra), "{e:?}");
        }
        let mean_extra = episodes.iter().map(|e| e.extra.as_secs_f64()).sum::<f64>() / n * 1000.0;
        assert!((mean_extra - 60.0).abs() < 1.0, "{mean_extra}");
        // Exponential gaps: P(gap > 300 ms) = exp(-3.3 * 0.3) = 0.37.
        let long = episodes
            .windows(2)
            .filter(|w| w[1].start.saturating_sub(w[0].start) > ms(300))
            .count() as f64
            / (n - 1.0);
        assert!((long - 0.372).abs() < 0.02, "{long}");
    }

    #[test]
    fn extra_at_is_the_largest_episode_under_way_and_busy_as_often_as_expected() {
        let timeline = CONGESTION.timeline(7);
        let horizon = Duration::from_secs(2000);
        let episodes = timeline.episodes(Duration::ZERO, horizon);
        let mut busy = 0u32;
        let mut samples = 0u32;
        let mut t = Duration::ZERO;
        let mut first = 0; // first episode that may still be under way at t
        while t < horizon {
            while first < episodes.len() && episodes[first].end <= t {
                first += 1;
            }
            let expected = episodes[first..]
                .iter()
                .take_while(|e| e.start <= t)
                .filter(|e| t < e.end)
                .map(|e| e.extra)
                .max()
                .unwrap_or_default();
            let extra = timeline.extra_at(t);
            assert_eq!(extra, expected, "at {t:?}");
            busy += u32::from(extra > Duration::ZERO);
            samples += 1;
            t += Duration::from_micros(4_999);
        }
        let fraction = f64::from(busy) / f64::from(samples);
        let expected = CONGESTION.busy_fraction(); // 1 - exp(-0.132) = 0.124
        assert!(
            (fraction - expected).abs() < 0.015,
            "{fraction} vs {expected}"
        );
    }

    #[test]
    fn an_episode_crossing_a_slot_boundary_is_seen_after_it() {
        let timeline = CONGESTION.timeline(3);
        let crossing = timeline
            .episodes(Duration::ZERO, Duration::from_secs(1000))
            .into_iter()
            .find(|e| e.start.as_secs() != e.end.as_secs() && e.end.subsec_millis() > 0)
            .expect("some episode starts less than 40 ms before a whole second");
        let after = Duration::from_secs(crossing.end.as_secs());
        assert!(timeline.extra_at(after) >= crossing.extra);
        assert!(timeline.episodes(after, after + ms(1)).contains(&crossing));
    }

    #[test]
    fn the_timeline_depends_on_the_seed_only_not_on_the_order_of_questions() {
        let times: Vec<Duration> = (0..3000u64).map(|i| ms(i * 7919 % 60_000)).collect();
        let forward: Vec<Duration> = times
            .iter()
            .map(|t| CONGESTION.timeline(5).extra_at(*t))
            .collect();
        let one = CONGESTION.timeline(5);
        let mut backward: Vec<Duration> = times.iter().rev().map(|t| one.extra_at(*t)).collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert!(forward.iter().any(|d| !d.is_zero()));
        let span = (Duration::ZERO, Duration::from_secs(60));
        assert_eq!(
            CONGESTION.timeline(5).episodes(span.0, span.1),
            one.episodes(span.0, span.1)
        );
        assert_ne!(
            CONGESTION.timeline(6).episodes(span.0, span.1),
            one.episodes(span.0, span.1)
        );
    }

    #[test]
    fn no_rate_or_no_length_never_congests() {
        for c in [
            Congestion {
                per_s: 0.0,
                ..CONGESTION
            },
            Congestion {
                length_ms: 0.0,
                ..CONGESTION
            },
        ] {
            let timeline = c.timeline(1);
            assert!(
                (0..5000u64).all(|i| timeline.extra_at(ms(i * 3)).is_zero()),
                "{c:?}"
            );
            assert!(!c.is_active());
        }
        assert!(CONGESTION.is_active());
    }

    #[test]
    fn gilbert_elliott_stationary_formulas() {
        assert!((BURSTY.stationary_bad() - 0.1).abs() < 1e-12);
        assert!((BURSTY.stationary_loss() - 0.05).abs() < 1e-12);
        assert!((BURSTY.mean_bad_packets() - 1.0 / 0.225).abs() < 1e-12);
        let never_bad = GilbertElliott {
            enter_bad: 0.0,
            exit_bad: 0.0,
            loss_good: 0.02,
            loss_bad: 1.0,
        };
        assert!((never_bad.stationary_loss() - 0.02).abs() < 1e-12);
        assert!(never_bad.is_active() && BURSTY.is_active());
        assert!(
            !GilbertElliott {
                loss_good: 0.0,
                ..never_bad
            }
            .is_active()
        );
    }

    /// Losses of `n` packets through `model`, the draws from a seeded generator.
    fn losses(model: GilbertElliott, seed: u64, n: usize) -> Vec<bool> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut channel = Channel::new(model, rng.random());
        (0..n)
            .map(|_| channel.packet(rng.random(), rng.random()))
            .collect()
    }

    /// (loss rate, P(lost | previous lost), mean length of a run of losses).
    fn loss_statistics(lost: &[bool]) -> (f64, f64, f64) {
        let total = lost.iter().filter(|l| **l).count() as f64;
        let after_loss = lost.windows(2).filter(|w| w[0]).count() as f64;
        let twice = lost.windows(2).filter(|w| w[0] && w[1]).count() as f64;
        let runs = lost.windows(2).filter(|w| w[1] && !w[0]).count().max(1) as f64;
        (total / lost.len() as f64, twice / after_loss, total / runs)
    }

    #[test]
    fn gilbert_elliott_loses_its_stationary_share() {
        for (i, model) in [
            BURSTY,
            GilbertElliott {
                enter_bad: 0.01,
                exit_bad: 0.1,
                loss_good: 0.01,
                loss_bad: 0.8,
            },
            GilbertElliott {
                enter_bad: 0.2,
                exit_bad: 0.3,
                loss_good: 0.05,
                loss_bad: 0.3,
            },
            GilbertElliott {
                enter_bad: 0.0,
                exit_bad: 0.5,
                loss_good: 0.1,
                loss_bad: 1.0,
            },
        ]
        .into_iter()
        .enumerate()
        {
            let (rate, _, _) = loss_statistics(&losses(model, 40 + i as u64, 400_000));
            let expected = model.stationary_loss();
            assert!(
                (rate - expected).abs() < 0.006,
                "{model:?}: {rate} vs {expected}"
            );
        }
    }

    #[test]
    fn gilbert_elliott_losses_come_in_bursts_iid_ones_do_not() {
        let (rate, after_loss, run) = loss_statistics(&losses(BURSTY, 9, 400_000));
        assert!((rate - 0.05).abs() < 0.004, "{rate}");
        // After a loss the channel is bad: it stays so with 1 - 0.225 and loses half.
        assert!((after_loss - 0.775 * 0.5).abs() < 0.02, "{after_loss}");
        assert!(run > 1.5, "mean run of losses {run}");
        // The same 5 % drawn independently: P(lost | lost) = 5 %, runs of about 1.05.
        let mut rng = StdRng::seed_from_u64(9);
        let iid: Vec<bool> = (0..400_000).map(|_| rng.random::<f64>() < 0.05).collect();
        let (iid_rate, iid_after, iid_run) = loss_statistics(&iid);
        assert!((iid_rate - 0.05).abs() < 0.004, "{iid_rate}");
        assert!(iid_after < 0.07 && iid_run < 1.1, "{iid_after} {iid_run}");
        assert!(run > iid_run + 0.4);
    }

    #[test]
    fn spikes_draws() {
        let s = Spikes {
            probability: 0.1,
            max_ms: 120.0,
        };
        assert!(s.extra_ms(0.1, 0.9).abs() < f64::EPSILON);
        assert!((s.extra_ms(0.05, 0.5) - 60.0).abs() < 1e-9);
        assert!(s.is_active());
        assert!(
            !Spikes {
                probability: 0.0,
                ..s
            }
            .is_active()
        );
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let bad_spikes = Spikes {
            probability: 1.5,
            max_ms: 10.0,
        };
        assert_eq!(bad_spikes.check().unwrap_err().0, "spikes.probability");
        let bad_burst = GilbertElliott {
            exit_bad: f64::NAN,
            ..BURSTY
        };
        assert_eq!(bad_burst.check().unwrap_err().0, "bursty_loss.exit_bad");
        for (field, c) in [
            (
                "network.congestion.per_s",
                Congestion {
                    per_s: -1.0,
                    ..CONGESTION
                },
            ),
            (
                "network.congestion.length_ms",
                Congestion {
                    length_ms: 120_000.0,
                    ..CONGESTION
                },
            ),
            (
                "network.congestion.extra_max_ms",
                Congestion {
                    extra_max_ms: 30.0,
                    ..CONGESTION
                },
            ),
        ] {
            assert_eq!(c.check().unwrap_err().0, field);
        }
        CONGESTION.check().unwrap();
        BURSTY.check().unwrap();
    }
}
