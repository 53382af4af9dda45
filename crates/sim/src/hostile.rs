//! Hostile beacons: peers that try to look closer than they are by answering probes they
//! have not seen, and peers that bury the prober in junk. For the engine's fault tests.
//!
//! A hostile beacon never echoes a probe (its honest round trip is never measured). It knows
//! the probe format the way any attacker reading the engine's documentation would:
//! `"EGpb" (4) | run nonce (8) | sequence number (4, big endian) | per-probe secret (8) |
//! padding`, where the padding is a SplitMix64 stream seeded with
//! `nonce ^ secret ^ (seq << 32 | seq)` (and, before the secret existed,
//! `"EGpb" | nonce | seq | padding` seeded with `nonce ^ (seq << 32 | seq)`). Sequence numbers
//! count up, so from one probe it predicts the next ones; what it cannot know is the next
//! probes' secrets. Its forgeries for a sequence number are therefore:
//!
//! - [`old_layout`]: the bytes the former layout (no secret) gave that probe, which were
//!   entirely predictable from one probe;
//! - [`next_guess`]: its best guess of the current layout, a seen probe's bytes with the
//!   sequence number replaced and the padding rebuilt by the public rule, so the datagram is
//!   well-formed and only the secret (the seen probe's) is wrong.
//!
//! The modes ([`BeaconSpec`] fields; several may be combined):
//!
//! - `predict_and_spray = N`: from the first probe it sees (its template), forges replies
//!   (both kinds) for every sequence number from N before to N after the latest probe seen
//!   (never the template's own), and re-sends that window every `spray_every_ms` (about: it
//!   waits on tokio's millisecond timer), for as long as probes keep coming and
//!   [`SPRAY_LINGER`] after the last one. So a forgery for each upcoming probe lands within
//!   about `spray_every_ms` after it is sent, and keeps landing while it is in flight, as
//!   from a beacon far away that learns of each probe only long after it was sent (on
//!   loopback the beacon sees every probe at once; forging only from the template keeps it
//!   from simply echoing).
//! - `early_replies = N`: on each probe, forges replies (both kinds) for the next N sequence
//!   numbers, timed to arrive `early_by_ms` before the beacon expects its next probe (the
//!   gap between the last two probes it saw; at once after the first one): answers that are
//!   on the prober's socket before the probe they claim to answer has left.
//! - `flood = N`: on each probe, at once, N junk datagrams: random bytes, and the probe
//!   itself with a byte flipped, cut short, lengthened, with another sequence number as is or
//!   rebuilt ([`next_guess`]), or in the old layout. Never an exact echo.
//!
//! Everything here is pure (bytes in, bytes out, a seeded generator); the sockets are in
//! the beacon's UDP responder.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::spec::BeaconSpec;

/// How long a `predict_and_spray` beacon keeps spraying after the last probe it saw (longer
/// than the engine's default 1 s timeout, so a probe in flight is sprayed until it times out).
pub const SPRAY_LINGER: Duration = Duration::from_millis(1500);

/// Bytes up to and including the sequence number.
const SEQ_END: usize = 16;
/// Bytes up to and including the per-probe secret (the current layout's header).
const HEADER_LEN: usize = 24;

/// The sequence number a probe carries (bytes 12..16, big endian), if it is long enough.
pub fn seq_of(probe: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(probe.get(12..SEQ_END)?.try_into().ok()?))
}

/// What the former probe layout (`"EGpb" | nonce | seq | padding`, no secret) gave probe
/// `seq` of the run whose nonce `probe` carries, as long as `probe`: the whole datagram was
/// predictable from any one probe. `None` for a datagram shorter than 16 bytes.
pub fn old_layout(probe: &[u8], seq: u32) -> Option<Vec<u8>> {
    let nonce = u64::from_be_bytes(probe.get(4..12)?.try_into().ok()?);
    let len = probe.len().max(SEQ_END);
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&probe[..4]);
    out.extend_from_slice(&nonce.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    pad(&mut out, nonce ^ spread(seq), len);
    Some(out)
}

/// The best guess of probe `seq`'s reply in the current layout from a probe seen earlier:
/// its bytes with `seq` in place of its sequence number and the padding rebuilt from the
/// nonce, `seq` and the seen probe's secret (the one thing that cannot be predicted). `None`
/// for a datagram shorter than the 24-byte header.
pub fn next_guess(probe: &[u8], seq: u32) -> Option<Vec<u8>> {
    let nonce = u64::from_be_bytes(probe.get(4..12)?.try_into().ok()?);
    let secret = u64::from_be_bytes(probe.get(SEQ_END..HEADER_LEN)?.try_into().ok()?);
    let mut out = Vec::with_capacity(probe.len());
    out.extend_from_slice(&probe[..12]);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&secret.to_be_bytes());
    pad(&mut out, nonce ^ secret ^ spread(seq), probe.len());
    Some(out)
}

/// Both forgeries ([`old_layout`], [`next_guess`]) for each of the `n` sequence numbers after
/// `probe`'s, in order.
pub fn forgeries(probe: &[u8], n: u32) -> Vec<Vec<u8>> {
    let Some(seq) = seq_of(probe) else {
        return Vec::new();
    };
    (1..=n)
        .flat_map(|step| {
            let next = seq.wrapping_add(step);
            [old_layout(probe, next), next_guess(probe, next)]
        })
        .flatten()
        .collect()
}

fn spread(seq: u32) -> u64 {
    u64::from(seq) << 32 | u64::from(seq)
}

fn pad(out: &mut Vec<u8>, mut state: u64, len: usize) {
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let word = (z ^ (z >> 31)).to_le_bytes();
        let take = (len - out.len()).min(word.len());
        out.extend_from_slice(&word[..take]);
    }
}

/// A datagram to send at `due` to the prober.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forged {
    /// When to send it.
    pub due: Instant,
    /// Where (the source of the probe that prompted it).
    pub to: SocketAddr,
    /// What.
    pub bytes: Vec<u8>,
}

/// Where and when the latest probe came from (for the cadence of `early_replies`).
#[derive(Debug, Clone, Copy)]
struct Seen {
    from: SocketAddr,
    at: Instant,
}

/// What a spray forges from: the first probe seen, and the latest one's sequence number,
/// source and arrival.
#[derive(Debug, Clone)]
struct Spray {
    template: Vec<u8>,
    latest_seq: u32,
    to: SocketAddr,
    last_probe_at: Instant,
}

/// The hostile behaviour of one beacon (see the module docs).
#[derive(Debug)]
pub struct Hostile {
    spray: u32,
    spray_every: Duration,
    early: u32,
    early_by: Duration,
    flood: u32,
    rng: StdRng,
    latest: Option<Seen>,
    spraying: Option<Spray>,
    next_spray: Option<Instant>,
}

impl Hostile {
    /// The hostile behaviour of beacon number `index` of a scenario seeded with `seed`, or
    /// `None` for a beacon with no hostile mode.
    pub fn new(spec: &BeaconSpec, seed: u64, index: usize) -> Option<Hostile> {
        spec.hostile_mode()?;
        Some(Hostile {
            spray: spec.predict_and_spray,
            spray_every: Duration::from_secs_f64(spec.spray_every_ms / 1000.0),
            early: spec.early_replies,
            early_by: Duration::from_secs_f64(spec.early_by_ms / 1000.0),
            flood: spec.flood,
            // Its own generator: the loss and jitter draws replay the same with or without it.
            rng: StdRng::seed_from_u64(seed ^ (index as u64).rotate_left(32) ^ 0x686F_7374),
            latest: None,
            spraying: None,
            next_spray: None,
        })
    }

    /// A probe (`data`) arrived from `from` at `at`: the early replies and the flood it
    /// prompts (a spray is started or moved on to it).
    pub fn on_probe(&mut self, data: &[u8], from: SocketAddr, at: Instant) -> Vec<Forged> {
        let previous = self.latest.replace(Seen { from, at });
        if self.spray > 0
            && let Some(seq) = seq_of(data)
        {
            let spray = self.spraying.get_or_insert_with(|| Spray {
                template: data.to_vec(),
                latest_seq: seq,
                to: from,
                last_probe_at: at,
            });
            spray.latest_seq = seq;
            spray.to = from;
            spray.last_probe_at = at;
            if self
                .next_spray
                .is_none_or(|next| next > at + self.spray_every)
            {
                self.next_spray = Some(at + self.spray_every);
            }
        }
        let mut out = Vec::new();
        if self.early > 0 {
            // The next probe is expected one gap (between the last two probes) after this one.
            let due = previous
                .filter(|p| p.from == from)
                .and_then(|p| at.checked_duration_since(p.at))
                .map_or(at, |gap| {
                    (at + gap).checked_sub(self.early_by).unwrap_or(at).max(at)
                });
            out.extend(forgeries(data, self.early).into_iter().map(|bytes| Forged {
                due,
                to: from,
                bytes,
            }));
        }
        for i in 0..self.flood {
            let bytes = self.junk(data, i);
            out.push(Forged {
                due: at,
                to: from,
                bytes,
            });
        }
        out
    }

    /// When the next spray is due, while one is going on.
    pub fn next_spray(&self) -> Option<Instant> {
        self.next_spray
    }

    /// The spray due now: both forgeries, made from the template, for each sequence number
    /// from `predict_and_spray` before to `predict_and_spray` after the latest probe's (never
    /// the template's own), sent to the latest probe's source. Schedules the next one, or ends
    /// the spray once [`SPRAY_LINGER`] has passed since the latest probe.
    pub fn spray(&mut self, now: Instant) -> Vec<Forged> {
        let Some(spray) = &self.spraying else {
            self.next_spray = None;
            return Vec::new();
        };
        if now >= spray.last_probe_at + SPRAY_LINGER {
            self.next_spray = None;
            return Vec::new();
        }
        self.next_spray = Some(now + self.spray_every);
        let Some(first) = seq_of(&spray.template) else {
            return Vec::new();
        };
        // How far the latest probe is past the template (sequence numbers wrap around).
        let ahead = spray.latest_seq.wrapping_sub(first);
        let from = ahead.saturating_sub(self.spray).max(1);
        let to = ahead.saturating_add(self.spray);
        (from..=to)
            .flat_map(|step| {
                let seq = first.wrapping_add(step);
                [
                    old_layout(&spray.template, seq),
                    next_guess(&spray.template, seq),
                ]
            })
            .flatten()
            .map(|bytes| Forged {
                due: now,
                to: spray.to,
                bytes,
            })
            .collect()
    }

    /// The `i`-th junk datagram of a flood for `probe`: never `probe` itself.
    fn junk(&mut self, probe: &[u8], i: u32) -> Vec<u8> {
        let seq = seq_of(probe).unwrap_or(0);
        let mut out = match i % 7 {
            0 => {
                let len = self.rng.random_range(1..=probe.len().max(8) * 2);
                (0..len).map(|_| self.rng.random()).collect()
            }
            1 if !probe.is_empty() => {
                let mut out = probe.to_vec();
                let pos = self.rng.random_range(0..out.len());
                out[pos] ^= self.rng.random_range(1..=255u8);
                out
            }
            2 if probe.len() > 1 => probe[..self.rng.random_range(1..probe.len())].to_vec(),
            3 => {
                let mut out = probe.to_vec();
                out.push(self.rng.random());
                out
            }
            4 if probe.len() >= SEQ_END => {
                let mut out = probe.to_vec();
                out[12..SEQ_END].copy_from_slice(&seq.wrapping_add(1).to_be_bytes());
                out
            }
            5 => next_guess(probe, seq.wrapping_add(1)).unwrap_or_default(),
            6 => old_layout(probe, seq).unwrap_or_default(),
            _ => Vec::new(),
        };
        if out.is_empty() || out == probe {
            // Too short a probe for that kind (or an old-layout probe): plain junk instead.
            out = vec![0xA5; probe.len() + 1];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    /// A probe in the current layout, built from the documented rule.
    fn probe(nonce: u64, seq: u32, secret: u64, len: usize) -> Vec<u8> {
        let mut out = b"EGpb".to_vec();
        out.extend_from_slice(&nonce.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&secret.to_be_bytes());
        pad(&mut out, nonce ^ secret ^ spread(seq), len);
        out
    }

    fn spec() -> BeaconSpec {
        BeaconSpec::new("X", IpAddr::V4(Ipv4Addr::LOCALHOST), 0.0)
    }

    fn from() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn guesses_are_well_formed_but_keep_the_seen_secret() {
        let seen = probe(9, 41, 0xDEAD_BEEF, 32);
        let guess = next_guess(&seen, 42).unwrap();
        assert_eq!(guess, probe(9, 42, 0xDEAD_BEEF, 32));
        assert_ne!(
            guess,
            probe(9, 42, 0xFEED, 32),
            "the real probe 42 has its own secret"
        );
        let old = old_layout(&seen, 42).unwrap();
        assert_eq!(old.len(), 32);
        assert_eq!(&old[..16], &guess[..16]);
        assert_eq!(seq_of(&old), Some(42));
        assert_eq!(forgeries(&seen, 3).len(), 6);
        assert_eq!(forgeries(b"short", 3), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn no_hostile_field_no_hostile_behaviour() {
        assert!(Hostile::new(&spec(), 1, 0).is_none());
    }

    #[test]
    fn early_replies_are_timed_before_the_next_expected_probe() {
        let s = BeaconSpec {
            early_replies: 2,
            early_by_ms: 1.0,
            ..spec()
        };
        let mut h = Hostile::new(&s, 1, 0).unwrap();
        let t0 = Instant::now();
        let first = h.on_probe(&probe(1, 10, 5, 32), from(), t0);
        assert_eq!(first.len(), 4);
        assert!(first.iter().all(|f| f.due == t0 && f.to == from()));
        let t1 = t0 + Duration::from_millis(20);
        let second = h.on_probe(&probe(1, 13, 6, 32), from(), t1);
        assert!(
            second
                .iter()
                .all(|f| f.due == t1 + Duration::from_millis(19))
        );
        assert_eq!(seq_of(&second[0].bytes), Some(14));
        assert_eq!(seq_of(&second[3].bytes), Some(15));
        assert_eq!(h.next_spray(), None);
    }

    #[test]
    fn a_spray_follows_the_latest_probe_and_stops_after_the_linger() {
        let s = BeaconSpec {
            predict_and_spray: 3,
            spray_every_ms: 2.0,
            ..spec()
        };
        let mut h = Hostile::new(&s, 1, 0).unwrap();
        let t0 = Instant::now();
        let template = probe(1, 10, 5, 32);
        assert!(h.on_probe(&template, from(), t0).is_empty());
        let first = t0 + Duration::from_millis(2);
        assert_eq!(h.next_spray(), Some(first));
        let seqs = |spray: &[Forged]| -> Vec<u32> {
            spray.iter().filter_map(|f| seq_of(&f.bytes)).collect()
        };
        let spray = h.spray(first);
        assert_eq!(seqs(&spray), vec![11, 11, 12, 12, 13, 13]);
        assert_eq!(spray[1].bytes, next_guess(&template, 11).unwrap());
        assert_eq!(h.next_spray(), Some(first + Duration::from_millis(2)));
        // Probe 20 seen: the window follows it, still forged from the first probe, and keeps
        // the probes just seen (still in flight) in it.
        let latest = probe(1, 20, 7, 32);
        h.on_probe(&latest, from(), first);
        let spray = h.spray(first);
        assert_eq!(seqs(&spray).first(), Some(&17));
        assert_eq!(seqs(&spray).last(), Some(&23));
        assert!(spray.iter().all(|f| f.bytes != latest));
        assert!(
            spray
                .iter()
                .any(|f| f.bytes == next_guess(&template, 20).unwrap())
        );
        assert!(h.spray(first + SPRAY_LINGER).is_empty());
        assert_eq!(h.next_spray(), None);
    }

    #[test]
    fn a_flood_is_never_an_echo() {
        let s = BeaconSpec {
            flood: 70,
            ..spec()
        };
        for seen in [probe(1, 10, 5, 32), b"pi".to_vec(), Vec::new(), vec![7; 16]] {
            let mut h = Hostile::new(&s, 1, 0).unwrap();
            let t0 = Instant::now();
            let flood = h.on_probe(&seen, from(), t0);
            assert_eq!(flood.len(), 70);
            assert!(
                flood
                    .iter()
                    .all(|f| f.due == t0 && !f.bytes.is_empty() && f.bytes != seen)
            );
        }
    }
}
