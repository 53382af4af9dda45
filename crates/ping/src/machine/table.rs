//! The in-flight table: which probe a (channel, sequence number) belongs to, and the
//! allocation of sequence numbers so that one is never reused while its probe may
//! still be answered.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::target::Tick;
use crate::event::Seq;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub(crate) fn of(ip: std::net::IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }
}

/// One sequence space: a socket (UDP, ICMP) or the TCP connects of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Channel {
    /// The run's UDP socket of this family.
    Udp(Family),
    /// TCP connects of this family (the sequence number never goes on the wire).
    Tcp(Family),
    /// The run's ICMP client of this family (16-bit sequence numbers).
    Icmp(Family),
}

impl Channel {
    /// How many channels there are.
    pub(crate) const COUNT: usize = 6;

    /// Every channel, in the order of [`Channel::slot`].
    pub(crate) const ALL: [Channel; Channel::COUNT] = [
        Channel::Udp(Family::V4),
        Channel::Udp(Family::V6),
        Channel::Tcp(Family::V4),
        Channel::Tcp(Family::V6),
        Channel::Icmp(Family::V4),
        Channel::Icmp(Family::V6),
    ];

    /// The channel's position in [`Channel::ALL`] (an index into per-channel arrays).
    pub(crate) fn slot(self) -> usize {
        match self {
            Channel::Udp(Family::V4) => 0,
            Channel::Udp(Family::V6) => 1,
            Channel::Tcp(Family::V4) => 2,
            Channel::Tcp(Family::V6) => 3,
            Channel::Icmp(Family::V4) => 4,
            Channel::Icmp(Family::V6) => 5,
        }
    }

    /// How many sequence numbers the channel has.
    pub(crate) fn seq_space(self) -> u64 {
        match self {
            Channel::Icmp(_) => 1 << 16,
            Channel::Udp(_) | Channel::Tcp(_) => 1 << 32,
        }
    }
}

/// Identifies a probe for the whole run while it is in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ProbeKey {
    /// Its sequence space.
    pub(crate) channel: Channel,
    /// Its number there.
    pub(crate) seq: Seq,
}

/// Where a probe lives: target index and probe index within that target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProbeRef {
    pub(crate) target: usize,
    pub(crate) probe: usize,
}

/// Hashes a [`ProbeKey`] with one multiplication (Fibonacci hashing of its channel and
/// number) instead of SipHash: the keys are the table's own (a reply's number is only looked
/// up), consecutive numbers spread over every bucket, and a lookup is on the path of every
/// probe sent and every reply.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }
}

/// Keys stay in the table until their probe's hard timeout has passed, whatever
/// their state, so a late or duplicate answer is recognised instead of being foreign,
/// and a sequence number is never handed out while an answer to it may still come.
#[derive(Debug, Default)]
pub(crate) struct ProbeTable {
    /// Target and probe index of each key (as `u32`s: 16 bytes an entry with the key).
    entries: HashMap<ProbeKey, (u32, u32), BuildHasherDefault<KeyHasher>>,
    /// The keys in the order they were inserted, each with its expiry (the run's [`Tick`]:
    /// 16 bytes an entry, where an `Instant` would make 24).
    expiry: VecDeque<(Tick, ProbeKey)>,
    /// The next number to try on each channel, by [`Channel::slot`].
    next_seq: [u64; Channel::COUNT],
    /// Shrinks every channel's sequence space (tests of wraparound).
    space_override: Option<u64>,
}

impl ProbeTable {
    /// A table whose sequence spaces are `space` numbers wide (tests only).
    #[cfg(test)]
    pub(crate) fn with_space(space: u64) -> ProbeTable {
        ProbeTable {
            space_override: Some(space.max(1)),
            ..ProbeTable::default()
        }
    }

    /// A free sequence number on `channel`, or `None` when every number is still in use.
    pub(crate) fn allocate(&mut self, channel: Channel) -> Option<Seq> {
        let space = self.space_override.unwrap_or_else(|| channel.seq_space());
        let next = &mut self.next_seq[channel.slot()];
        let tries = space.min(self.entries.len() as u64 + 1);
        for step in 0..tries {
            let candidate = (*next + step) % space;
            let key = ProbeKey {
                channel,
                seq: Seq(candidate as u32),
            };
            if !self.entries.contains_key(&key) {
                *next = (candidate + 1) % space;
                return Some(key.seq);
            }
        }
        None
    }

    /// Records a probe until `expires_at`.
    pub(crate) fn insert(&mut self, key: ProbeKey, at: ProbeRef, expires_at: Tick) {
        let to_u32 = |i: usize| u32::try_from(i).expect("fewer than 2^32 targets and probes");
        self.entries
            .insert(key, (to_u32(at.target), to_u32(at.probe)));
        self.expiry.push_back((expires_at, key));
    }

    /// The probe a key belongs to.
    pub(crate) fn get(&self, key: ProbeKey) -> Option<ProbeRef> {
        self.entries.get(&key).map(|&(target, probe)| ProbeRef {
            target: target as usize,
            probe: probe as usize,
        })
    }

    /// Forgets probes whose hard timeout has passed.
    pub(crate) fn purge(&mut self, now: Tick) {
        while let Some(&(expires_at, key)) = self.expiry.front() {
            if expires_at > now {
                break;
            }
            self.expiry.pop_front();
            self.entries.remove(&key);
        }
    }

    /// When the oldest entry expires.
    pub(crate) fn next_expiry(&self) -> Option<Tick> {
        self.expiry.front().map(|&(at, _)| at)
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Duration;

    /// The tick `ms` milliseconds into the run.
    fn ms(ms: u64) -> Tick {
        Tick::EPOCH.plus(Duration::from_millis(ms))
    }

    const CH: Channel = Channel::Udp(Family::V4);

    #[test]
    fn never_hands_out_a_number_in_use_and_wraps_around() {
        let mut table = ProbeTable::with_space(3);
        let mut got = Vec::new();
        for i in 0..3 {
            let seq = table.allocate(CH).unwrap();
            table.insert(
                ProbeKey { channel: CH, seq },
                ProbeRef {
                    target: 0,
                    probe: i,
                },
                ms(10 * (i as u64 + 1)),
            );
            got.push(seq.0);
        }
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(table.allocate(CH), None, "all three numbers are in use");
        table.purge(ms(10));
        assert_eq!(table.len(), 2);
        assert_eq!(
            table.allocate(CH),
            Some(Seq(0)),
            "only the expired number comes back"
        );
        assert_eq!(table.next_expiry(), Some(ms(20)));
    }

    #[test]
    fn channels_have_separate_spaces() {
        let mut table = ProbeTable::default();
        assert_eq!(table.allocate(CH), Some(Seq(0)));
        assert_eq!(table.allocate(Channel::Icmp(Family::V4)), Some(Seq(0)));
        assert_eq!(table.allocate(CH), Some(Seq(1)));
        assert_eq!(Channel::Icmp(Family::V6).seq_space(), 65_536);
    }

    #[test]
    fn expiries_out_of_order_go_with_the_front() {
        let t0 = ms(10_000);
        let mut table = ProbeTable::default();
        let key = |seq| ProbeKey {
            channel: CH,
            seq: Seq(seq),
        };
        let at = |probe| ProbeRef { target: 1, probe };
        let us = |us| Tick::EPOCH.plus(Duration::from_micros(us));
        // A later insert may expire earlier (tests do this): it goes with the front.
        table.insert(key(0), at(0), t0);
        table.insert(key(1), at(1), us(10_000_000 - 1_500));
        table.insert(key(2), at(2), us(10_000_007));
        assert_eq!(table.next_expiry(), Some(t0));
        assert_eq!(table.get(key(1)), Some(at(1)));
        table.purge(us(10_000_000 - 1));
        assert_eq!(table.len(), 3, "the front is not due: nothing goes");
        table.purge(t0);
        assert_eq!(table.len(), 1, "the front and the earlier one behind it go");
        assert_eq!(table.next_expiry(), Some(us(10_000_007)));
        table.purge(us(10_000_006));
        assert_eq!(table.get(key(2)), Some(at(2)));
        table.purge(us(10_000_007));
        assert_eq!((table.len(), table.next_expiry()), (0, None));
    }

    #[test]
    fn the_key_hasher_spreads_consecutive_numbers_and_tells_channels_apart() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let build = BuildHasherDefault::<KeyHasher>::default();
        let hash = |channel, seq| {
            build.hash_one(ProbeKey {
                channel,
                seq: Seq(seq),
            })
        };
        assert_ne!(hash(CH, 1), hash(Channel::Icmp(Family::V4), 1));
        assert_ne!(hash(CH, 1), hash(Channel::Udp(Family::V6), 1));
        // hashbrown picks a bucket from the low bits and a tag from the top 7: 4096
        // consecutive numbers land in 4096 distinct buckets of 4096, with varied tags.
        let buckets: HashSet<u64> = (0..4096).map(|s| hash(CH, s) & 4095).collect();
        assert_eq!(buckets.len(), 4096);
        let tags: HashSet<u64> = (0..4096).map(|s| hash(CH, s) >> 57).collect();
        assert!(tags.len() > 100, "{} tags", tags.len());
    }

    #[test]
    fn slots_index_all_channels() {
        for (slot, channel) in Channel::ALL.into_iter().enumerate() {
            assert_eq!(channel.slot(), slot);
        }
    }
}
