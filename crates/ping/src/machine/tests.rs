//! Deterministic tests of the core: synthetic instants, no sockets.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::types::{Host, Ports, ProtocolChoice};
use edgegap_core::ProbeCounts;

fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)), 4000 + u16::from(i))
}

fn udp_target(i: u8) -> TargetSpec {
    TargetSpec {
        id: TargetId(u32::from(i)),
        host: Host::Ip(addr(i).ip()),
        ports: Ports {
            udp: Some(addr(i).port()),
            tcp: None,
        },
        protocol: ProtocolChoice::Udp,
    }
}

fn config() -> EngineConfig {
    EngineConfig {
        count: 2,
        interval: ms(10),
        min_gap: ms(1),
        timeout: ms(100),
        timeout_floor: ms(20),
        extra_probes: 2,
        ..EngineConfig::default()
    }
}

/// [`config()`] with three samples per target.
fn three_probes() -> EngineConfig {
    EngineConfig {
        count: 3,
        ..config()
    }
}

/// [`three_probes()`] with a 1 s timeout: only the adaptive timeout or the time threshold can
/// end a probe early.
fn three_probes_slow_timeout() -> EngineConfig {
    EngineConfig {
        timeout: ms(1000),
        ..three_probes()
    }
}

const NONCE: u64 = 0x1234_5678_9abc_def0;
/// Seeds the per-probe secrets: tests are deterministic, and learn each probe's secret only
/// from its `Transmit`, as a beacon learns it only from the probe.
const SEED: [u8; 32] = [7; 32];

fn machine(n: u8, config: EngineConfig, t0: Instant) -> Machine {
    let specs: Vec<TargetSpec> = (1..=n).map(udp_target).collect();
    Machine::new(&specs, config, NONCE, SEED, t0)
}

/// The bytes the driver sends for a probe.
fn probe_bytes(m: &Machine, tx: &Transmit) -> Vec<u8> {
    payload::encode(NONCE, tx.key.seq, tx.secret, m.config().payload_size)
}

/// The echo of probe `tx` (its real bytes) as the beacon at `addr(i)` would send it.
fn echo(m: &mut Machine, now: Instant, i: u8, tx: &Transmit) {
    let data = probe_bytes(m, tx);
    m.on_datagram(now, Family::V4, addr(i), &data);
}

fn drain(m: &mut Machine) -> Vec<Event> {
    std::iter::from_fn(|| m.poll_event()).collect()
}

fn done(events: &[Event]) -> Vec<TargetSummary> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Done { summary } => Some((**summary).clone()),
            _ => None,
        })
        .collect()
}

use crate::event::{Seq, TargetSummary};

#[test]
fn sends_on_schedule_without_waiting_for_replies() {
    let t0 = Instant::now();
    let mut m = machine(1, config(), t0);
    let a = m.poll_transmit(t0).unwrap();
    assert_eq!(a.dest, addr(1));
    assert_eq!(m.poll_transmit(t0), None, "interval not reached");
    assert_eq!(m.poll_timeout(), Some(t0 + ms(10)));
    let b = m.poll_transmit(t0 + ms(10)).unwrap();
    assert_ne!(a.key, b.key);
    assert_eq!(
        m.poll_transmit(t0 + ms(20)),
        None,
        "count probes live: no more"
    );
    // Nothing to send: next wake-up is the oldest probe's timeout.
    assert_eq!(m.poll_timeout(), Some(t0 + ms(100)));
}

#[test]
fn answered_probes_complete_the_target_with_rtts_in_send_order() {
    let t0 = Instant::now();
    let mut m = machine(1, config(), t0);
    let a = m.poll_transmit(t0).unwrap();
    let b = m.poll_transmit(t0 + ms(10)).unwrap();
    echo(&mut m, t0 + ms(25), 1, &a);
    echo(&mut m, t0 + ms(28), 1, &b);
    assert!(m.is_finished());
    let events = drain(&mut m);
    let summary = &done(&events)[0];
    assert_eq!(summary.status, TargetStatus::Complete);
    assert_eq!(summary.rtts, vec![ms(25), ms(18)]);
    assert_eq!((summary.counts.sent, summary.counts.received), (2, 2));
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn timeout_then_late_is_counted_once_as_late_never_as_sample() {
    let t0 = Instant::now();
    let mut m = machine(1, config(), t0);
    let s0 = m.poll_transmit(t0).unwrap();
    let s1 = m.poll_transmit(t0 + ms(10)).unwrap();
    m.handle_timeout(t0 + ms(100));
    // The replacement goes out at once: s0 is no longer live.
    let s2 = m.poll_transmit(t0 + ms(100)).unwrap();
    echo(&mut m, t0 + ms(105), 1, &s0);
    echo(&mut m, t0 + ms(106), 1, &s1);
    echo(&mut m, t0 + ms(107), 1, &s2);
    let events = drain(&mut m);
    assert!(events.contains(&Event::Lost {
        target: TargetId(1),
        seq: s0.key.seq,
        cause: LossCause::Timeout
    }));
    assert!(events.contains(&Event::Late {
        target: TargetId(1),
        seq: s0.key.seq,
        rtt: ms(105)
    }));
    let s = &done(&events)[0];
    assert_eq!(s.status, TargetStatus::Complete);
    assert_eq!(
        (
            s.counts.sent,
            s.counts.received,
            s.counts.late,
            s.counts.lost
        ),
        (3, 2, 1, 0)
    );
    assert_eq!(s.rtts, vec![ms(96), ms(7)]);
}

/// A driver that reads late asks `expires_by` before it skips a read: it must say yes exactly
/// when `handle_timeout` would time a probe out (and at the deadline).
#[test]
fn expires_by_says_when_a_probe_would_time_out_or_the_run_end() {
    let t0 = Instant::now();
    let mut m = machine(1, config(), t0);
    assert!(!m.expires_by(t0 + ms(500)), "nothing in flight");
    m.poll_transmit(t0).unwrap();
    // The first probe's timeout is the configured 100 ms (no sample yet).
    assert!(!m.expires_by(t0 + ms(99)));
    assert!(m.expires_by(t0 + ms(100)));
    m.handle_timeout(t0 + ms(99));
    assert!(
        drain(&mut m)
            .iter()
            .all(|e| !matches!(e, Event::Lost { .. }))
    );
    m.handle_timeout(t0 + ms(100));
    assert!(
        drain(&mut m)
            .iter()
            .any(|e| matches!(e, Event::Lost { .. }))
    );
    let deadline = EngineConfig {
        deadline: Some(ms(50)),
        ..config()
    };
    let m = machine(1, deadline, t0);
    assert!(!m.expires_by(t0 + ms(49)));
    assert!(m.expires_by(t0 + ms(50)));
}

#[test]
fn a_second_answer_is_a_duplicate_and_changes_nothing() {
    let t0 = Instant::now();
    let mut m = machine(1, three_probes(), t0);
    let s0 = m.poll_transmit(t0).unwrap();
    echo(&mut m, t0 + ms(5), 1, &s0);
    echo(&mut m, t0 + ms(6), 1, &s0);
    let events = drain(&mut m);
    assert!(events.contains(&Event::Received {
        target: TargetId(1),
        seq: s0.key.seq,
        rtt: ms(5)
    }));
    assert!(events.contains(&Event::Duplicate {
        target: TargetId(1),
        seq: s0.key.seq
    }));
    m.cancel(t0 + ms(7));
    let s = &done(&drain(&mut m))[0];
    assert_eq!((s.counts.received, s.counts.duplicates), (1, 1));
    assert_eq!(s.rtts, vec![ms(5)]);
}

#[test]
fn forged_and_altered_replies_are_foreign() {
    let t0 = Instant::now();
    let mut m = machine(2, config(), t0);
    let a = m.poll_transmit(t0).unwrap();
    let data = probe_bytes(&m, &a);
    let mut wrong_port = a.dest;
    wrong_port.set_port(a.dest.port() + 1);
    m.on_datagram(t0 + ms(1), Family::V4, wrong_port, &data);
    m.on_datagram(t0 + ms(1), Family::V4, addr(2), &data);
    let mut altered = data.clone();
    altered[20] ^= 1;
    m.on_datagram(t0 + ms(1), Family::V4, a.dest, &altered);
    m.on_datagram(
        t0 + ms(1),
        Family::V4,
        a.dest,
        &payload::encode(NONCE ^ 1, a.key.seq, a.secret, 32),
    );
    m.on_datagram(
        t0 + ms(1),
        Family::V4,
        a.dest,
        &payload::encode(NONCE, Seq(999), a.secret, 32),
    );
    assert_eq!(m.summary(t0).foreign, 5);
    assert!(
        !drain(&mut m)
            .iter()
            .any(|e| matches!(e, Event::Received { .. }))
    );
    echo(&mut m, t0 + ms(3), 1, &a);
    assert!(drain(&mut m).contains(&Event::Received {
        target: TargetId(1),
        seq: a.key.seq,
        rtt: ms(3)
    }));
}

#[test]
fn a_reply_with_the_right_sequence_but_a_wrong_secret_is_foreign() {
    let t0 = Instant::now();
    let mut m = machine(1, config(), t0);
    let a = m.poll_transmit(t0).unwrap();
    let b = m.poll_transmit(t0 + ms(10)).unwrap();
    assert_ne!(a.secret, b.secret, "every probe draws its own secret");
    let size = m.config().payload_size;
    // Well-formed replies to a live probe, from the right address, all with a wrong secret:
    // another probe's, a flipped bit, and a beacon's guess of b made from a's bytes before b
    // was sent (a's secret, b's sequence number, padding rebuilt by the public rule).
    for forged in [
        payload::encode(NONCE, a.key.seq, b.secret, size),
        payload::encode(NONCE, a.key.seq, a.secret ^ 1, size),
        payload::encode(NONCE, b.key.seq, a.secret, size),
    ] {
        assert!(payload::decode(NONCE, size, &forged).is_some());
        m.on_datagram(t0 + ms(12), Family::V4, addr(1), &forged);
    }
    assert_eq!(m.summary(t0).foreign, 3);
    assert!(
        drain(&mut m)
            .iter()
            .all(|e| matches!(e, Event::Resolved { .. } | Event::Sent { .. }))
    );
    // The real echoes still count, with their true round trips.
    echo(&mut m, t0 + ms(20), 1, &a);
    echo(&mut m, t0 + ms(21), 1, &b);
    let s = &done(&drain(&mut m))[0];
    assert_eq!(s.rtts, vec![ms(20), ms(11)]);
}

#[test]
fn icmp_echoes_are_matched_by_address_sequence_and_secret() {
    let t0 = Instant::now();
    let icmp = |i: u8| TargetSpec {
        protocol: ProtocolChoice::Icmp,
        ..udp_target(i)
    };
    let mut m = Machine::new(&[icmp(1), icmp(2)], config(), NONCE, SEED, t0);
    let a = m.poll_transmit(t0).unwrap();
    let b = m.poll_transmit(t0 + ms(1)).unwrap();
    assert_eq!(a.key.channel, Channel::Icmp(Family::V4));
    assert_eq!(a.dest, SocketAddr::new(addr(1).ip(), 0));
    let size = m.config().payload_size;
    // The right bytes from the other target's address, a's sequence number with b's secret,
    // a probe's bytes on the UDP channel, and bytes that are no probe at all: foreign.
    m.on_echo(t0 + ms(2), Family::V4, addr(2).ip(), &probe_bytes(&m, &a));
    m.on_echo(
        t0 + ms(2),
        Family::V4,
        addr(1).ip(),
        &payload::encode(NONCE, a.key.seq, b.secret, size),
    );
    m.on_datagram(t0 + ms(2), Family::V4, addr(1), &probe_bytes(&m, &a));
    m.on_echo(t0 + ms(2), Family::V4, addr(1).ip(), b"not a probe");
    assert_eq!(m.summary(t0).foreign, 4);
    // The real echoes are samples, timed from the send to their arrival.
    m.on_echo(t0 + ms(4), Family::V4, addr(1).ip(), &probe_bytes(&m, &a));
    m.on_echo(t0 + ms(4), Family::V4, addr(2).ip(), &probe_bytes(&m, &b));
    assert!(drain(&mut m).contains(&Event::Received {
        target: TargetId(1),
        seq: a.key.seq,
        rtt: ms(4)
    }));
    // An echo received at its send instant was not made from the probe.
    let c = m.poll_transmit(t0 + ms(10)).unwrap();
    m.on_echo(t0 + ms(10), Family::V4, addr(1).ip(), &probe_bytes(&m, &c));
    assert_eq!(m.summary(t0).foreign, 5);
}

#[test]
fn a_reply_timestamped_before_its_send_is_foreign() {
    let t0 = Instant::now();
    let mut m = machine(1, config(), t0);
    let a = m.poll_transmit(t0 + ms(5)).unwrap();
    // Byte-exact echoes that the kernel stamped before the probe left, or at that very
    // instant: made without the probe, so forged (and a round trip is never zero or negative).
    echo(&mut m, t0 + ms(4), 1, &a);
    echo(&mut m, t0 + ms(5), 1, &a);
    assert_eq!(m.summary(t0).foreign, 2);
    assert!(
        !drain(&mut m)
            .iter()
            .any(|e| matches!(e, Event::Received { .. } | Event::Duplicate { .. }))
    );
    // The probe is still in flight: a real answer after the send is its sample.
    echo(&mut m, t0 + ms(5) + Duration::from_micros(300), 1, &a);
    assert!(drain(&mut m).contains(&Event::Received {
        target: TargetId(1),
        seq: a.key.seq,
        rtt: Duration::from_micros(300)
    }));
    // A copy stamped before the send is still forged, not a duplicate.
    echo(&mut m, t0 + ms(1), 1, &a);
    assert_eq!(m.summary(t0).foreign, 3);
    assert!(drain(&mut m).is_empty());
}

#[test]
fn a_sequence_number_not_sent_yet_is_foreign() {
    let t0 = Instant::now();
    let mut m = machine(1, config(), t0);
    let a = m.poll_transmit(t0).unwrap();
    // A beacon guessing the next sequence number, with any secret: nothing in the table.
    let next = Seq(a.key.seq.0 + 1);
    m.on_datagram(
        t0 + ms(1),
        Family::V4,
        addr(1),
        &payload::encode(NONCE, next, a.secret, m.config().payload_size),
    );
    assert_eq!(m.summary(t0).foreign, 1);
    // Once that number is sent, the early guess has not become an answer.
    let b = m.poll_transmit(t0 + ms(10)).unwrap();
    assert_eq!(b.key.seq, next);
    assert!(
        !drain(&mut m)
            .iter()
            .any(|e| matches!(e, Event::Received { .. }))
    );
}

#[test]
fn lenient_mode_never_takes_a_datagram_from_before_the_send() {
    let t0 = Instant::now();
    let mut m = machine(
        1,
        EngineConfig {
            lenient: true,
            ..config()
        },
        t0,
    );
    let a = m.poll_transmit(t0 + ms(5)).unwrap();
    m.on_datagram(t0 + ms(3), Family::V4, addr(1), b"pong");
    m.on_datagram(t0 + ms(5), Family::V4, addr(1), b"pong");
    assert_eq!(m.summary(t0).foreign, 2);
    m.on_datagram(t0 + ms(7), Family::V4, addr(1), b"pong");
    assert!(drain(&mut m).contains(&Event::Received {
        target: TargetId(1),
        seq: a.key.seq,
        rtt: ms(2)
    }));
}

#[test]
fn a_zero_round_trip_from_a_transport_is_foreign() {
    let t0 = Instant::now();
    let spec = TargetSpec {
        ports: Ports {
            udp: None,
            tcp: Some(443),
        },
        protocol: ProtocolChoice::Tcp,
        ..udp_target(1)
    };
    let mut m = Machine::new(&[spec], config(), NONCE, SEED, t0);
    let a = m.poll_transmit(t0).unwrap();
    assert_eq!(a.key.channel, Channel::Tcp(Family::V4));
    m.on_probe_reply(t0 + ms(1), a.key, Duration::ZERO);
    assert_eq!(m.summary(t0).foreign, 1);
    assert!(
        !drain(&mut m)
            .iter()
            .any(|e| matches!(e, Event::Received { .. }))
    );
    m.on_probe_reply(t0 + ms(2), a.key, Duration::from_micros(900));
    assert!(drain(&mut m).contains(&Event::Received {
        target: TargetId(1),
        seq: a.key.seq,
        rtt: Duration::from_micros(900)
    }));
}

#[test]
fn secrets_differ_per_probe_and_per_run_seed() {
    let t0 = Instant::now();
    let secrets = |seed: [u8; 32]| {
        let cfg = EngineConfig {
            count: 50,
            interval: ms(1),
            min_gap: ms(1),
            timeout: ms(1000),
            ..config()
        };
        let mut m = Machine::new(&[udp_target(1)], cfg, NONCE, seed, t0);
        (0..50)
            .map(|i| m.poll_transmit(t0 + ms(i)).unwrap().secret)
            .collect::<Vec<u64>>()
    };
    let run = secrets(SEED);
    assert_eq!(run.iter().collect::<HashSet<_>>().len(), run.len());
    assert_eq!(
        secrets(SEED),
        run,
        "the core is deterministic given its seed"
    );
    assert!(
        secrets([8; 32]).iter().all(|s| !run.contains(s)),
        "another run's secrets have nothing in common"
    );
}

#[test]
fn lenient_mode_takes_any_datagram_from_thebeacon_as_the_oldest_probe() {
    let t0 = Instant::now();
    let mut m = machine(
        1,
        EngineConfig {
            lenient: true,
            ..config()
        },
        t0,
    );
    let s0 = m.poll_transmit(t0).unwrap();
    let _s1 = m.poll_transmit(t0 + ms(10)).unwrap();
    m.on_datagram(t0 + ms(12), Family::V4, addr(1), b"pong");
    let mut other = addr(1);
    other.set_port(1);
    m.on_datagram(t0 + ms(13), Family::V4, other, b"pong");
    let events = drain(&mut m);
    assert!(events.contains(&Event::Received {
        target: TargetId(1),
        seq: s0.key.seq,
        rtt: ms(12)
    }));
    assert_eq!(m.summary(t0).foreign, 1);
}

#[test]
fn port_unreachable_ends_the_target_at_once() {
    let t0 = Instant::now();
    let mut m = machine(2, config(), t0);
    let a = m.poll_transmit(t0).unwrap();
    let data = probe_bytes(&m, &a);
    m.on_udp_refused(t0 + ms(1), Family::V4, a.dest, &data);
    let events = drain(&mut m);
    let s = &done(&events)[0];
    assert_eq!(s.id, TargetId(1));
    assert_eq!(s.status, TargetStatus::Unreachable(Unreachable::Refused));
    assert_eq!((s.counts.sent, s.counts.lost), (1, 1));
    assert!(!m.is_finished(), "the other target goes on");
    assert_eq!(m.poll_transmit(t0 + ms(1)).map(|t| t.target), Some(1));
}

#[test]
fn targets_sharing_an_address_are_all_found_by_it() {
    let t0 = Instant::now();
    let shared = |id: u32| TargetSpec {
        id: TargetId(id),
        ..udp_target(1)
    };
    let specs = vec![shared(1), udp_target(2), shared(3), shared(4)];
    let mut m = Machine::new(
        &specs,
        EngineConfig {
            lenient: true,
            ..config()
        },
        NONCE,
        SEED,
        t0,
    );
    let sent: Vec<Transmit> = (0..4)
        .map(|i| m.poll_transmit(t0 + ms(i)).unwrap())
        .collect();
    // Lenient: a datagram from the shared address answers the first of its targets with a
    // probe in flight (one each so far), then the next.
    m.on_datagram(t0 + ms(5), Family::V4, addr(1), b"pong");
    m.on_datagram(t0 + ms(6), Family::V4, addr(1), b"pong");
    let events = drain(&mut m);
    let answered: Vec<TargetId> = events
        .iter()
        .filter_map(|e| match e {
            Event::Received { target, .. } => Some(*target),
            _ => None,
        })
        .collect();
    assert_eq!(answered, vec![TargetId(1), TargetId(3)]);
    // A refusal whose copy of the probe is too short to name it ends every target at the
    // address (complete with the sample it has, or refused); the other address goes on.
    m.on_udp_refused(t0 + ms(7), Family::V4, addr(1), &[]);
    let done = done(&drain(&mut m));
    let ids: Vec<(TargetId, TargetStatus)> =
        done.iter().map(|s| (s.id, s.status.clone())).collect();
    let refused = TargetStatus::Unreachable(Unreachable::Refused);
    assert_eq!(
        ids,
        vec![
            (TargetId(1), TargetStatus::Complete),
            (TargetId(3), TargetStatus::Complete),
            (TargetId(4), refused),
        ]
    );
    assert!(!m.is_finished());
    assert_eq!(sent[1].dest, addr(2));
    m.assert_queues_exact();
}

#[test]
fn udp_targets_are_found_by_address_in_resolve_order_whether_resolved_by_new_or_later() {
    let t0 = Instant::now();
    let named = |id: u32, host: &str| TargetSpec {
        id: TargetId(id),
        host: Host::Name(host.to_owned()),
        ..udp_target(1)
    };
    let v6 = SocketAddr::new("::1".parse().unwrap(), 4001);
    let specs = vec![
        named(0, "later.example"),
        udp_target(3),
        TargetSpec {
            id: TargetId(2),
            ..udp_target(1)
        },
        named(3, "six.example"),
        TargetSpec {
            id: TargetId(4),
            ..udp_target(1)
        },
    ];
    let mut m = Machine::new(&specs, config(), NONCE, SEED, t0);
    // Resolved by `new`, in the sorted table: targets 2 and 4 at addr(1), target 1 at addr(3).
    assert_eq!(m.udp_v4.len(), 3);
    assert!(m.udp_v4.is_sorted());
    // Resolved later, in the map: target 0 at addr(1) too, target 3 at an IPv6 address.
    m.on_resolved(t0, 0, Ok(vec![addr(1).ip()]), specs[0].ports);
    m.on_resolved(t0, 3, Ok(vec![v6.ip()]), specs[3].ports);
    assert_eq!(m.udp_targets(addr(1)).collect::<Vec<_>>(), vec![2, 4, 0]);
    assert_eq!(m.udp_targets(addr(3)).collect::<Vec<_>>(), vec![1]);
    assert_eq!(m.udp_targets(v6).collect::<Vec<_>>(), vec![3]);
    assert_eq!(m.udp_targets(addr(2)).count(), 0);
    let other_port = SocketAddr::new(addr(1).ip(), 9);
    assert_eq!(m.udp_targets(other_port).count(), 0);
    // A refusal naming no probe ends every target at the address, in that order.
    m.on_udp_refused(t0 + ms(1), Family::V4, addr(1), &[]);
    let ids: Vec<TargetId> = done(&drain(&mut m)).iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![TargetId(2), TargetId(4), TargetId(0)]);
    let summary = m.summary(t0 + ms(2));
    assert_eq!(summary.targets[3].addr, Some(v6));
    assert_eq!(summary.targets[1].addr, Some(addr(3)));
    m.assert_queues_exact();
}

#[test]
fn stop_target_finds_ids_that_are_not_input_positions() {
    let t0 = Instant::now();
    // Ids are input positions (no map)...
    let dense: Vec<TargetSpec> = (0..3).map(scale_target).collect();
    let mut m = Machine::new(&dense, config(), NONCE, SEED, t0);
    assert!(m.by_id.is_none());
    m.stop_target(t0, TargetId(2));
    m.stop_target(t0, TargetId(7)); // no such target: nothing
    let s = done(&drain(&mut m));
    assert_eq!(
        s.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![TargetId(2)]
    );
    // ...or anything else.
    let sparse: Vec<TargetSpec> = [40, 7, 1_000_000]
        .into_iter()
        .enumerate()
        .map(|(i, id)| TargetSpec {
            id: TargetId(id),
            ..scale_target(i)
        })
        .collect();
    let mut m = Machine::new(&sparse, config(), NONCE, SEED, t0);
    m.stop_target(t0, TargetId(1_000_000));
    m.stop_target(t0, TargetId(1));
    let s = done(&drain(&mut m));
    assert_eq!(
        s.iter()
            .map(|s| (s.id, s.status.clone()))
            .collect::<Vec<_>>(),
        vec![(TargetId(1_000_000), TargetStatus::Stopped)]
    );
    m.assert_queues_exact();
}

#[test]
fn the_events_of_the_start_come_first_in_input_order_whenever_they_are_polled() {
    let t0 = Instant::now();
    let no_port = TargetSpec {
        protocol: ProtocolChoice::Tcp,
        ..udp_target(2)
    };
    let mut m = Machine::new(
        &[udp_target(1), no_port, udp_target(3)],
        config(),
        NONCE,
        SEED,
        t0,
    );
    // The run goes on before anyone reads an event.
    let a = m.poll_transmit(t0).unwrap();
    m.stop_target(t0 + ms(1), TargetId(3));
    let events = drain(&mut m);
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(
        events[0],
        Event::Resolved {
            target: TargetId(1),
            addr: addr(1),
            protocol: Protocol::Udp
        }
    );
    assert!(
        matches!(&events[1], Event::Done { summary } if summary.id == TargetId(2)
            && summary.status == TargetStatus::Unreachable(Unreachable::NoPort(Protocol::Tcp))
            && summary.counts == ProbeCounts::default()),
        "{:?}",
        events[1]
    );
    assert_eq!(
        events[2],
        Event::Resolved {
            target: TargetId(3),
            addr: addr(3),
            protocol: Protocol::Udp
        }
    );
    assert_eq!(
        events[3],
        Event::Sent {
            target: TargetId(1),
            seq: a.key.seq,
            at: t0
        }
    );
    assert!(
        matches!(&events[4], Event::Done { summary } if summary.id == TargetId(3) && summary.status == TargetStatus::Stopped)
    );
    assert_eq!(m.startup.capacity(), 0, "nothing held once read");
}

#[test]
fn cancellation_mid_flight_cancels_in_flight_probes_and_stops_sending() {
    let t0 = Instant::now();
    let mut m = machine(2, three_probes(), t0);
    let a = m.poll_transmit(t0).unwrap();
    let b = m.poll_transmit(t0 + ms(1)).unwrap();
    echo(&mut m, t0 + ms(2), 1, &a);
    m.cancel(t0 + ms(3));
    assert!(m.is_finished());
    assert_eq!(m.poll_transmit(t0 + ms(50)), None);
    echo(&mut m, t0 + ms(4), 2, &b);
    let events = drain(&mut m);
    let summaries = done(&events);
    assert_eq!(summaries.len(), 2);
    assert!(
        summaries
            .iter()
            .all(|s| s.status == TargetStatus::Cancelled)
    );
    assert_eq!(
        (summaries[0].counts.received, summaries[0].counts.cancelled),
        (1, 0)
    );
    assert_eq!(
        (summaries[1].counts.received, summaries[1].counts.cancelled),
        (0, 1)
    );
    let run = m.summary(t0 + ms(5));
    assert_eq!(run.stopped, Some(RunStop::Cancelled));
    assert_eq!(run.stale, 1);
    assert_eq!(run.elapsed, ms(3));
}

#[test]
fn a_held_target_waits_for_its_controller_and_extends_aligned() {
    let t0 = Instant::now();
    let cfg = EngineConfig {
        hold_complete: true,
        ..config()
    };
    let mut m = machine(1, cfg, t0);
    let a = m.poll_transmit(t0).unwrap();
    echo(&mut m, t0 + ms(3), 1, &a);
    let b = m.poll_transmit(t0 + ms(10)).unwrap();
    echo(&mut m, t0 + ms(13), 1, &b);
    assert!(done(&drain(&mut m)).is_empty(), "held with its two samples");
    assert_eq!(
        m.poll_transmit(t0 + ms(20)),
        None,
        "idle: nothing more to send"
    );
    assert!(!m.is_finished());
    // Two more samples, not before 35 ms (the interval alone would allow 20 ms).
    m.extend_target(t0 + ms(20), TargetId(1), 2, Some(t0 + ms(35)));
    assert_eq!(m.poll_transmit(t0 + ms(30)), None);
    let third = m.poll_transmit(t0 + ms(35)).unwrap();
    assert_eq!(third.target, 0);
    echo(&mut m, t0 + ms(38), 1, &third);
    let fourth = m.poll_transmit(t0 + ms(45)).unwrap();
    echo(&mut m, t0 + ms(48), 1, &fourth);
    assert!(
        done(&drain(&mut m)).is_empty(),
        "still held with four samples"
    );
    m.release_target(t0 + ms(50), TargetId(1));
    let s = done(&drain(&mut m));
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].status, TargetStatus::Complete);
    assert_eq!((s[0].counts.sent, s[0].counts.received), (4, 4));
    assert!(m.is_finished());
}

#[test]
fn a_released_target_sends_no_more_and_ends_when_its_probes_settle() {
    let t0 = Instant::now();
    let cfg = EngineConfig {
        count: 5,
        ..config()
    };
    let mut m = machine(1, cfg, t0);
    let a = m.poll_transmit(t0).unwrap();
    echo(&mut m, t0 + ms(3), 1, &a);
    let b = m.poll_transmit(t0 + ms(10)).unwrap();
    m.release_target(t0 + ms(11), TargetId(1));
    assert_eq!(
        m.poll_transmit(t0 + ms(20)),
        None,
        "released: nothing more is sent"
    );
    assert!(
        done(&drain(&mut m)).is_empty(),
        "its probe is still in flight"
    );
    echo(&mut m, t0 + ms(14), 1, &b);
    let s = done(&drain(&mut m));
    assert_eq!(s[0].status, TargetStatus::Complete);
    assert_eq!(
        (
            s[0].counts.sent,
            s[0].counts.received,
            s[0].counts.cancelled
        ),
        (2, 2, 0)
    );
}

#[test]
fn a_held_target_without_a_sample_still_ends() {
    let t0 = Instant::now();
    let cfg = EngineConfig {
        hold_complete: true,
        extra_probes: 0,
        ..config()
    };
    let mut m = machine(1, cfg, t0);
    let mut now = t0;
    while !m.is_finished() && now < t0 + ms(1000) {
        m.handle_timeout(now);
        while m.poll_transmit(now).is_some() {}
        now += ms(5);
    }
    let s = done(&drain(&mut m));
    assert_eq!(s[0].status, TargetStatus::Unreachable(Unreachable::NoReply));
}

#[test]
fn stop_target_ends_only_that_target() {
    let t0 = Instant::now();
    let mut m = machine(2, config(), t0);
    let _a = m.poll_transmit(t0).unwrap();
    m.stop_target(t0 + ms(1), TargetId(1));
    let b = m.poll_transmit(t0 + ms(1)).unwrap();
    assert_eq!(b.target, 1);
    m.stop_target(t0 + ms(2), TargetId(1)); // twice: still one Done
    let events = drain(&mut m);
    let s = done(&events);
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].status.clone(), s[0].counts.cancelled),
        (TargetStatus::Stopped, 1)
    );
    assert!(!m.is_finished());
}

#[test]
fn deadline_ends_the_run_and_says_so() {
    let t0 = Instant::now();
    let mut m = machine(
        1,
        EngineConfig {
            deadline: Some(ms(30)),
            timeout: ms(1000),
            ..config()
        },
        t0,
    );
    let _ = m.poll_transmit(t0).unwrap();
    assert_eq!(m.poll_timeout(), Some(t0 + ms(10)));
    let _ = m.poll_transmit(t0 + ms(10)).unwrap();
    assert_eq!(m.poll_timeout(), Some(t0 + ms(30)));
    m.handle_timeout(t0 + ms(30));
    assert!(m.is_finished());
    let s = done(&drain(&mut m))[0].clone();
    assert_eq!(
        s.status,
        TargetStatus::Deadline,
        "a deadline is not a cancel"
    );
    assert_eq!(s.unreachable(), Some(Unreachable::Deadline));
    assert_eq!((s.counts.sent, s.counts.cancelled), (2, 2));
    assert_eq!(m.summary(t0 + ms(30)).stopped, Some(RunStop::Deadline));
}

#[test]
fn silent_target_uses_exactly_itsbudget_then_ends_no_reply() {
    let t0 = Instant::now();
    let mut m = machine(
        1,
        EngineConfig {
            count: 2,
            extra_probes: 3,
            ..config()
        },
        t0,
    );
    let mut now = t0;
    let mut sent = 0;
    while !m.is_finished() {
        m.handle_timeout(now);
        while m.poll_transmit(now).is_some() {
            sent += 1;
        }
        now = m.poll_timeout().unwrap_or(now).max(now);
    }
    assert_eq!(sent, 5);
    let s = &done(&drain(&mut m))[0];
    assert_eq!(s.status, TargetStatus::Unreachable(Unreachable::NoReply));
    assert_eq!((s.counts.sent, s.counts.lost, s.counts.received), (5, 5, 0));
    assert!(s.rtts.is_empty());
}

#[test]
fn adaptive_timeout_ends_a_lost_probe_early() {
    let t0 = Instant::now();
    let mut m = machine(1, three_probes_slow_timeout(), t0);
    let s0 = m.poll_transmit(t0).unwrap();
    echo(&mut m, t0 + ms(5), 1, &s0);
    let s1 = m.poll_transmit(t0 + ms(10)).unwrap();
    // One sample of 5 ms: timeout = max(floor 20 ms, 15 ms) = 20 ms.
    assert_eq!(m.poll_timeout(), Some(t0 + ms(20)), "next send");
    let _s2 = m.poll_transmit(t0 + ms(20)).unwrap();
    assert_eq!(
        m.poll_timeout(),
        Some(t0 + ms(30)),
        "s1's adaptive timeout, not 1 s"
    );
    m.handle_timeout(t0 + ms(30));
    assert!(drain(&mut m).contains(&Event::Lost {
        target: TargetId(1),
        seq: s1.key.seq,
        cause: LossCause::Timeout
    }));
}

#[test]
fn a_later_answer_declares_an_old_probe_lostby_quic_time_threshold() {
    let t0 = Instant::now();
    let mut m = machine(1, three_probes_slow_timeout(), t0);
    let s0 = m.poll_transmit(t0).unwrap();
    let s1 = m.poll_transmit(t0 + ms(10)).unwrap();
    let s2 = m.poll_transmit(t0 + ms(20)).unwrap();
    echo(&mut m, t0 + ms(110), 1, &s1); // rtt 100: threshold 112.5 ms; s0 sent 110 ms ago
    assert!(
        !drain(&mut m)
            .iter()
            .any(|e| matches!(e, Event::Lost { .. }))
    );
    echo(&mut m, t0 + ms(120), 1, &s2); // s0 sent 120 ms ago > 112.5 ms
    let events = drain(&mut m);
    assert!(events.contains(&Event::Lost {
        target: TargetId(1),
        seq: s0.key.seq,
        cause: LossCause::Reordered
    }));
    // The replacement goes out right away instead of after a 1 s timeout.
    assert!(m.poll_transmit(t0 + ms(120)).is_some());
}

#[test]
fn sequence_numbers_wrap_around_without_confusing_probes() {
    let t0 = Instant::now();
    let cfg = EngineConfig {
        count: 6,
        extra_probes: 0,
        interval: ms(1),
        min_gap: ms(1),
        ..config()
    };
    let mut m = machine(1, cfg, t0).with_seq_space(4);
    let mut live = Vec::new();
    for i in 0..4 {
        live.push(m.poll_transmit(t0 + ms(i)).unwrap());
    }
    let seqs: HashSet<Seq> = live.iter().map(|t| t.key.seq).collect();
    assert_eq!(seqs.len(), 4);
    // Every number is in use until its probe's hard timeout: nothing more can go out...
    assert_eq!(m.poll_transmit(t0 + ms(10)), None);
    // ...even once answered (a duplicate must still be recognised).
    for (i, t) in live.iter().enumerate() {
        echo(&mut m, t0 + ms(20 + i as u64), 1, t);
    }
    assert_eq!(m.poll_transmit(t0 + ms(30)), None);
    // Kept for twice the hard timeout (100 ms) after sending, and the grace for replies a
    // driver reads late.
    let freed = t0 + ms(200) + UNREAD_GRACE;
    assert_eq!(
        m.poll_timeout(),
        Some(freed),
        "wakes when the first number frees up"
    );
    m.handle_timeout(freed);
    let again = m.poll_transmit(freed).unwrap();
    assert_eq!(again.key.seq, live[0].key.seq, "the freed number is reused");
    echo(&mut m, freed + ms(5), 1, &again);
    let events = drain(&mut m);
    assert!(events.contains(&Event::Received {
        target: TargetId(1),
        seq: again.key.seq,
        rtt: ms(5)
    }));
    assert!(!events.iter().any(|e| matches!(e, Event::Duplicate { .. })));
}

#[test]
fn a_channel_out_of_sequence_numbers_does_not_hold_up_another() {
    let t0 = Instant::now();
    let tcp_by_name = TargetSpec {
        id: TargetId(2),
        host: Host::Name("later.invalid".into()),
        ports: Ports {
            udp: None,
            tcp: Some(443),
        },
        protocol: ProtocolChoice::Tcp,
    };
    let cfg = EngineConfig {
        count: 3,
        extra_probes: 0,
        interval: ms(1),
        min_gap: ms(1),
        ..config()
    };
    let mut m = Machine::new(&[udp_target(1), tcp_by_name], cfg, NONCE, SEED, t0).with_seq_space(2);
    assert_eq!(m.poll_transmit(t0).map(|t| t.target), Some(0));
    assert_eq!(m.poll_transmit(t0 + ms(1)).map(|t| t.target), Some(0));
    // UDP is out of numbers: its target, due since t0 + 2 ms, waits.
    assert_eq!(m.poll_transmit(t0 + ms(2)), None);
    assert_eq!(
        m.poll_timeout(),
        Some(t0 + ms(100)),
        "the oldest probe's timeout"
    );
    m.on_resolved(
        t0 + ms(5),
        1,
        Ok(vec!["127.0.0.2".parse().unwrap()]),
        Ports {
            udp: None,
            tcp: Some(443),
        },
    );
    // The TCP target has waited less, but its channel has numbers: it goes.
    let tx = m.poll_transmit(t0 + ms(5)).unwrap();
    assert_eq!((tx.target, tx.key.channel), (1, Channel::Tcp(Family::V4)));
    assert_eq!(
        m.poll_timeout(),
        Some(t0 + ms(6)),
        "the TCP target's next probe; the blocked UDP one does not count"
    );
    m.assert_queues_exact();
}

#[test]
fn send_failures_use_thebudget_then_end_send_failed() {
    let t0 = Instant::now();
    let mut m = machine(
        1,
        EngineConfig {
            count: 1,
            extra_probes: 1,
            ..config()
        },
        t0,
    );
    let a = m.poll_transmit(t0).unwrap();
    m.on_send_failed(t0, a.key, "network unreachable".into());
    let b = m.poll_transmit(t0 + ms(10)).unwrap();
    m.on_send_failed(t0 + ms(10), b.key, "network unreachable".into());
    let s = &done(&drain(&mut m))[0];
    assert_eq!(
        s.status,
        TargetStatus::Unreachable(Unreachable::SendFailed("network unreachable".into()))
    );
    assert_eq!(s.counts.lost, 2);
}

#[test]
fn targets_without_the_needed_port_or_address_end_at_once() {
    let t0 = Instant::now();
    let specs = vec![
        TargetSpec {
            protocol: ProtocolChoice::Tcp,
            ..udp_target(1)
        },
        TargetSpec {
            id: TargetId(2),
            host: Host::Name("x.invalid".into()),
            ports: Ports::default(),
            protocol: ProtocolChoice::Icmp,
        },
        TargetSpec {
            id: TargetId(3),
            host: Host::Name("y.invalid".into()),
            ports: Ports::default(),
            protocol: ProtocolChoice::Icmp,
        },
        udp_target(4),
    ];
    let mut m = Machine::new(
        &specs,
        EngineConfig {
            ip_version: IpVersion::V6,
            ..config()
        },
        NONCE,
        SEED,
        t0,
    );
    m.on_resolved(t0, 1, Err("no such name".into()), Ports::default());
    m.on_resolved(
        t0,
        2,
        Ok(vec!["::1".parse().unwrap(), "127.0.0.1".parse().unwrap()]),
        Ports::default(),
    );
    let events = drain(&mut m);
    let s = done(&events);
    assert_eq!(
        s[0].status,
        TargetStatus::Unreachable(Unreachable::NoPort(Protocol::Tcp))
    );
    assert!(
        matches!(&s[1].status, TargetStatus::Unreachable(Unreachable::ResolveFailed(w)) if w.contains("IPv6")),
        "{:?}",
        s[1]
    );
    assert_eq!(
        s[2].status,
        TargetStatus::Unreachable(Unreachable::ResolveFailed("no such name".into()))
    );
    assert_eq!(s.len(), 3);
    assert!(events.contains(&Event::Resolved {
        target: TargetId(3),
        addr: "[::1]:0".parse().unwrap(),
        protocol: Protocol::Icmp
    }));
    assert_eq!(m.channel(2), Some(Channel::Icmp(Family::V6)));
}

#[test]
fn pick_address_respects_ip_version() {
    let both: Vec<IpAddr> = vec!["::1".parse().unwrap(), "127.0.0.1".parse().unwrap()];
    assert_eq!(
        pick_address(&both, IpVersion::Any),
        Some("127.0.0.1".parse().unwrap())
    );
    assert_eq!(
        pick_address(&both, IpVersion::V6),
        Some("::1".parse().unwrap())
    );
    assert_eq!(pick_address(&both[..1], IpVersion::V4), None);
}

/// A deterministic network for the property test: per-target delay, loss and duplicates.
#[derive(Debug, Clone)]
struct Peer {
    delay_ms: u64,
    lose_every: u32,
    duplicate: bool,
}

fn run_simulation(
    cfg: EngineConfig,
    peers: &[Peer],
    cancel_at: Option<u64>,
) -> (Vec<Event>, Vec<Instant>, RunSummary) {
    let t0 = Instant::now();
    let n = peers.len() as u8;
    let mut m = machine(n, cfg, t0);
    let mut arrivals: BinaryHeap<Reverse<(Instant, usize, u32, u64)>> = BinaryHeap::new();
    let mut sent_count: HashMap<usize, u32> = HashMap::new();
    let mut sends = Vec::new();
    let mut events = Vec::new();
    let mut now = t0;
    for _ in 0..100_000 {
        if cancel_at.is_some_and(|c| now >= t0 + ms(c)) {
            m.cancel(now);
        }
        while let Some(Reverse((at, target, seq, secret))) = arrivals.peek().copied() {
            if at > now {
                break;
            }
            arrivals.pop();
            let data = payload::encode(NONCE, Seq(seq), secret, m.config().payload_size);
            m.on_datagram(at.max(now), Family::V4, addr(target as u8 + 1), &data);
        }
        m.handle_timeout(now);
        while let Some(tx) = m.poll_transmit(now) {
            sends.push(now);
            let peer = &peers[tx.target];
            let k = sent_count.entry(tx.target).or_default();
            *k += 1;
            if peer.lose_every == 0 || !k.is_multiple_of(peer.lose_every) {
                let at = now + ms(peer.delay_ms);
                arrivals.push(Reverse((at, tx.target, tx.key.seq.0, tx.secret)));
                if peer.duplicate {
                    arrivals.push(Reverse((at + ms(1), tx.target, tx.key.seq.0, tx.secret)));
                }
            }
        }
        events.extend(std::iter::from_fn(|| m.poll_event()));
        m.assert_queues_exact();
        if m.is_finished() {
            break;
        }
        let mut next = m.poll_timeout();
        if let Some(Reverse((at, _, _, _))) = arrivals.peek() {
            next = Some(next.map_or(*at, |n| n.min(*at)));
        }
        if let Some(c) = cancel_at {
            next = Some(next.map_or(t0 + ms(c), |n| n.min(t0 + ms(c))));
        }
        now = next
            .expect("an unfinished run always has a next wake-up")
            .max(now);
    }
    assert!(m.is_finished(), "run did not finish");
    let summary = m.summary(now);
    assert_eq!(
        m.into_summary(now),
        summary,
        "the end-of-run summary says the same"
    );
    (events, sends, summary)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn pacing_states_and_done_hold_for_any_config(
        count in 1u32..6,
        extra in 0u32..4,
        interval in 0u64..30,
        gap_us in 0u64..3000,
        timeout in 20u64..300,
        floor in 1u64..50,
        peers in proptest::collection::vec((0u64..250, 0u32..4, any::<bool>()), 1..8),
        cancel_at in proptest::option::of(0u64..400),
    ) {
        let cfg = EngineConfig {
            count,
            extra_probes: extra,
            interval: ms(interval),
            min_gap: Duration::from_micros(gap_us),
            timeout: ms(timeout),
            timeout_floor: ms(floor),
            deadline: None,
            ..EngineConfig::default()
        };
        let peers: Vec<Peer> = peers.into_iter().map(|(delay_ms, lose_every, duplicate)| Peer { delay_ms, lose_every, duplicate }).collect();
        let (events, sends, summary) = run_simulation(cfg.clone(), &peers, cancel_at);
        // Pacing: never two sends closer than min_gap.
        for pair in sends.windows(2) {
            prop_assert!(pair[1] - pair[0] >= cfg.min_gap, "gap {:?} < {:?}", pair[1] - pair[0], cfg.min_gap);
        }
        // Exactly one Done per target, and nothing about a target after its Done.
        let mut finished = HashSet::new();
        for e in &events {
            prop_assert!(!finished.contains(&e.target()), "event after Done: {e:?}");
            if let Event::Done { summary } = e {
                finished.insert(summary.id);
            }
        }
        prop_assert_eq!(finished.len(), peers.len());
        for s in &summary.targets {
            // Every probe in exactly one terminal state.
            prop_assert_eq!(s.counts.sent, s.counts.received + s.counts.lost + s.counts.late + s.counts.cancelled, "{:?}", s);
            prop_assert_eq!(s.rtts.len() as u32, s.counts.received);
            prop_assert!(s.counts.received <= cfg.count);
            prop_assert!(s.counts.sent <= cfg.budget());
            let peer = &peers[(s.id.0 - 1) as usize];
            // Every sample is the true delay of the simulated network: duplicates never change one.
            // An "echo" in zero time cannot answer anything (it is foreign, never a sample): a
            // zero-delay peer gets at most its duplicates, 1 ms later, as samples.
            let expected = if peer.delay_ms == 0 { ms(1) } else { ms(peer.delay_ms) };
            for rtt in &s.rtts {
                prop_assert_eq!(*rtt, expected);
            }
            if peer.delay_ms == 0 && !peer.duplicate {
                prop_assert!(s.rtts.is_empty(), "{:?}", s);
            }
            let sent_events = events.iter().filter(|e| matches!(e, Event::Sent { target, .. } if *target == s.id)).count();
            prop_assert_eq!(sent_events as u32, s.counts.sent);
            if !summary.ended_early() {
                prop_assert_ne!(&s.status, &TargetStatus::Cancelled);
                if s.status == TargetStatus::Complete && s.counts.sent < cfg.budget() {
                    prop_assert_eq!(s.counts.received, cfg.count);
                }
            }
        }
    }
}

/// One step of a random event sequence driven into the core.
#[derive(Debug, Clone)]
enum Step {
    /// Time passes (ms), then timeouts are handled and everything due is sent.
    Advance(u64),
    /// The n-th probe sent so far (modulo) is echoed from its target's address.
    Echo(usize),
    /// The n-th probe sent so far is echoed from the wrong address.
    EchoFromElsewhere(usize),
    /// A well-formed reply to the n-th probe, from its address, but with another secret.
    WrongSecret(usize, u64),
    /// The n-th probe's bytes with the next sequence number (a guess of the next probe).
    Guessed(usize),
    /// The kernel reports the n-th probe's destination port unreachable.
    Refused(usize),
    /// The n-th probe could not be sent.
    SendFailed(usize),
    /// The early decision stops target n.
    Stop(u8),
    /// The controller asks more samples of target n, its next probe no earlier than in
    /// the given number of milliseconds.
    Extend(u8, u32, u64),
    /// The controller releases target n.
    Release(u8),
    /// The caller cancels the run.
    Cancel,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..60).prop_map(Step::Advance),
        4 => any::<usize>().prop_map(Step::Echo),
        1 => any::<usize>().prop_map(Step::EchoFromElsewhere),
        1 => (any::<usize>(), 1u64..).prop_map(|(n, flip)| Step::WrongSecret(n, flip)),
        1 => any::<usize>().prop_map(Step::Guessed),
        1 => any::<usize>().prop_map(Step::Refused),
        1 => any::<usize>().prop_map(Step::SendFailed),
        1 => (1u8..5).prop_map(Step::Stop),
        1 => (1u8..5, 0u32..4, 0u64..40).prop_map(|(id, more, after)| Step::Extend(id, more, after)),
        1 => (1u8..5).prop_map(Step::Release),
        1 => Just(Step::Cancel),
    ]
}

/// Counts rebuilt from the event stream alone, per target.
fn counts_from_events(events: &[Event]) -> HashMap<TargetId, ProbeCounts> {
    let mut counts: HashMap<TargetId, ProbeCounts> = HashMap::new();
    for e in events {
        let c = counts.entry(e.target()).or_default();
        match e {
            Event::Sent { .. } => c.sent += 1,
            Event::Received { .. } => c.received += 1,
            Event::Lost { .. } => c.lost += 1,
            Event::Late { .. } => {
                c.lost -= 1;
                c.late += 1;
            }
            Event::Duplicate { .. } => c.duplicates += 1,
            Event::Done { summary } => c.cancelled = summary.counts.cancelled,
            _ => {}
        }
    }
    counts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Whatever happens in whatever order (replies, refusals, send failures, stops, cancel,
    /// deadline), every probe sent has exactly one outcome: `sent = received + lost + late +
    /// cancelled`, per target, and the events tell the same story as the summaries.
    #[test]
    fn every_probe_is_accounted_for_under_random_event_sequences(
        targets in 1u8..5,
        deadline in proptest::option::of(20u64..400),
        hold_complete in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..120),
    ) {
        let t0 = Instant::now();
        let cfg = EngineConfig {
            count: 3,
            extra_probes: 2,
            hold_complete,
            deadline: deadline.map(ms),
            ..config()
        };
        let mut m = machine(targets, cfg, t0);
        let mut now = t0;
        let mut sent: Vec<Transmit> = Vec::new();
        let mut events = Vec::new();
        let pump = |m: &mut Machine, now: Instant, sent: &mut Vec<Transmit>| {
            m.handle_timeout(now);
            while let Some(tx) = m.poll_transmit(now) {
                sent.push(tx);
            }
        };
        pump(&mut m, now, &mut sent);
        for step in steps {
            let pick = |n: usize| (!sent.is_empty()).then(|| sent[n % sent.len()]);
            match step {
                Step::Advance(dt) => {
                    now += ms(dt);
                    pump(&mut m, now, &mut sent);
                }
                Step::Echo(n) => {
                    if let Some(tx) = pick(n) {
                        let data = payload::encode(NONCE, tx.key.seq, tx.secret, 32);
                        m.on_datagram(now, Family::V4, tx.dest, &data);
                    }
                }
                Step::EchoFromElsewhere(n) => {
                    if let Some(tx) = pick(n) {
                        let data = payload::encode(NONCE, tx.key.seq, tx.secret, 32);
                        m.on_datagram(now, Family::V4, addr(200), &data);
                    }
                }
                Step::WrongSecret(n, flip) => {
                    if let Some(tx) = pick(n) {
                        let data = payload::encode(NONCE, tx.key.seq, tx.secret ^ flip, 32);
                        events.extend(std::iter::from_fn(|| m.poll_event()));
                        let before = m.summary(now).foreign;
                        m.on_datagram(now, Family::V4, tx.dest, &data);
                        prop_assert_eq!(m.summary(now).foreign, before + 1, "a wrong secret is foreign");
                        prop_assert_eq!(m.poll_event(), None, "a wrong secret changes nothing");
                    }
                }
                Step::Guessed(n) => {
                    if let Some(tx) = pick(n) {
                        let mut data = payload::encode(NONCE, tx.key.seq, tx.secret, 32);
                        data[12..16].copy_from_slice(&tx.key.seq.0.wrapping_add(1).to_be_bytes());
                        events.extend(std::iter::from_fn(|| m.poll_event()));
                        let before = m.summary(now).foreign;
                        m.on_datagram(now, Family::V4, tx.dest, &data);
                        prop_assert_eq!(m.summary(now).foreign, before + 1, "a guess is foreign");
                        prop_assert_eq!(m.poll_event(), None, "a guess changes nothing");
                    }
                }
                Step::Refused(n) => {
                    if let Some(tx) = pick(n) {
                        let data = payload::encode(NONCE, tx.key.seq, tx.secret, 32);
                        m.on_udp_refused(now, Family::V4, tx.dest, &data);
                    }
                }
                Step::SendFailed(n) => {
                    if let Some(tx) = pick(n) {
                        m.on_send_failed(now, tx.key, "no route".into());
                    }
                }
                Step::Stop(id) => m.stop_target(now, TargetId(u32::from(id))),
                Step::Extend(id, more, after) => {
                    m.extend_target(now, TargetId(u32::from(id)), more, Some(now + ms(after)));
                    pump(&mut m, now, &mut sent);
                }
                Step::Release(id) => m.release_target(now, TargetId(u32::from(id))),
                Step::Cancel => m.cancel(now),
            }
            events.extend(std::iter::from_fn(|| m.poll_event()));
            m.assert_queues_exact();
        }
        // A held target waits for its controller: release them all.
        for id in 1..=targets {
            m.release_target(now, TargetId(u32::from(id)));
        }
        events.extend(std::iter::from_fn(|| m.poll_event()));
        m.assert_queues_exact();
        // Let the run end on its own (or by its deadline): timeouts settle what is in flight.
        for _ in 0..10_000 {
            if m.is_finished() {
                break;
            }
            now = m.poll_timeout().unwrap_or(now + ms(1)).max(now);
            pump(&mut m, now, &mut sent);
            events.extend(std::iter::from_fn(|| m.poll_event()));
        }
        prop_assert!(m.is_finished());
        let rebuilt = counts_from_events(&events);
        let run = m.summary(now);
        for s in &run.targets {
            prop_assert!(s.counts.adds_up(), "{:?}", s);
            prop_assert_eq!(s.rtts.len() as u32, s.counts.received);
            prop_assert!(s.rtts.iter().all(|rtt| !rtt.is_zero()), "a zero sample: {:?}", s);
            let mut from_events = rebuilt.get(&s.id).copied().unwrap_or_default();
            from_events.duplicates = s.counts.duplicates;
            prop_assert_eq!(from_events, s.counts, "events and summary disagree");
            if let Some(loss) = s.loss() {
                let settled = s.counts.sent - s.counts.cancelled;
                prop_assert!((loss - f64::from(s.counts.lost + s.counts.late) / f64::from(settled)).abs() < 1e-12);
            }
            if s.status == TargetStatus::Deadline {
                prop_assert_eq!(run.stopped, Some(RunStop::Deadline));
            }
            prop_assert_eq!(s.unreachable().is_some(), s.rtts.is_empty());
        }
        let done: Vec<_> = done(&events);
        prop_assert_eq!(done.len(), usize::from(targets));
    }
}

/// How each target of [`drive_at_scale`] behaves, by its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Echoes every probe after 5-11 ms.
    Answers,
    /// Never answers: its probes time out.
    Silent,
    /// Its port is closed: the first probe comes back refused.
    Refused,
    /// Drops its first probe, echoes the rest (a timeout, then a replacement).
    LosesFirst,
}

fn behaviour(index: usize) -> Behaviour {
    match index % 4 {
        0 => Behaviour::Answers,
        1 => Behaviour::Silent,
        2 => Behaviour::Refused,
        _ => Behaviour::LosesFirst,
    }
}

/// Target `index` of a large run: one loopback address each (127.x.y.z), ids from 0.
fn scale_target(index: usize) -> TargetSpec {
    let i = index + 1;
    let ip = Ipv4Addr::new(127, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8);
    TargetSpec {
        id: TargetId(index as u32),
        host: Host::Ip(IpAddr::V4(ip)),
        ports: Ports {
            udp: Some(9000),
            tcp: None,
        },
        protocol: ProtocolChoice::Udp,
    }
}

/// Drives `n` targets through the core as the driver does (handle timeouts, send all that is
/// due, sleep until `poll_timeout` or the next arrival), with synthetic instants and a
/// simulated network; stops every 97th target 200 ms in. Returns the core's work counter,
/// the number of probes sent and the run's summary.
fn drive_at_scale(n: usize) -> (u64, u64, RunSummary) {
    let t0 = Instant::now();
    let cfg = EngineConfig {
        count: 2,
        extra_probes: 2,
        interval: ms(5),
        min_gap: Duration::from_micros(20),
        timeout: ms(300),
        timeout_floor: ms(20),
        deadline: None,
        ..EngineConfig::default()
    };
    let specs: Vec<TargetSpec> = (0..n).map(scale_target).collect();
    let mut m = Machine::new(&specs, cfg, NONCE, SEED, t0);
    // (arrival, index into `sent`, refused?)
    let mut arrivals: BinaryHeap<Reverse<(Instant, usize, bool)>> = BinaryHeap::new();
    let mut sent: Vec<Transmit> = Vec::new();
    let mut probes_of = vec![0u32; n];
    let stop_at = t0 + ms(200);
    let mut stopped = false;
    let mut done = 0;
    let mut now = t0;
    while !m.is_finished() {
        while let Some(&Reverse((at, k, refused))) = arrivals.peek() {
            if at > now {
                break;
            }
            arrivals.pop();
            let tx = sent[k];
            let data = payload::encode(NONCE, tx.key.seq, tx.secret, 32);
            if refused {
                m.on_udp_refused(at, Family::V4, tx.dest, &data);
            } else {
                m.on_datagram(at, Family::V4, tx.dest, &data);
            }
        }
        if !stopped && now >= stop_at {
            stopped = true;
            for index in (0..n).step_by(97) {
                m.stop_target(now, TargetId(index as u32));
            }
        }
        m.handle_timeout(now);
        while let Some(tx) = m.poll_transmit(now) {
            let k = sent.len();
            sent.push(tx);
            probes_of[tx.target] += 1;
            let delay = ms(5 + (tx.target % 7) as u64);
            match behaviour(tx.target) {
                Behaviour::Silent => {}
                Behaviour::LosesFirst if probes_of[tx.target] == 1 => {}
                Behaviour::Answers | Behaviour::LosesFirst => {
                    arrivals.push(Reverse((now + delay, k, false)));
                }
                Behaviour::Refused => arrivals.push(Reverse((now + ms(1), k, true))),
            }
        }
        while let Some(event) = m.poll_event() {
            done += usize::from(matches!(event, Event::Done { .. }));
        }
        assert!(
            m.events.capacity() <= EVENTS_KEPT,
            "a burst of events is not held"
        );
        if m.is_finished() {
            break;
        }
        let mut next = m.poll_timeout();
        if let Some(Reverse((at, _, _))) = arrivals.peek() {
            next = Some(next.map_or(*at, |x| x.min(*at)));
        }
        if !stopped {
            next = Some(next.map_or(stop_at, |x| x.min(stop_at)));
        }
        now = next
            .expect("an unfinished run always has a next wake-up")
            .max(now);
    }
    assert_eq!(done, n, "one Done per target");
    let budget = m.config().budget() as usize;
    for t in &m.targets {
        assert!(
            t.probes.capacity() <= budget,
            "room for {} probes, budget {budget}",
            t.probes.capacity()
        );
    }
    let visits = m.visits();
    // More targets than `into_summary` takes between two shrinks of their vector: the
    // summaries still come out whole and in input order.
    let summary = m.summary(now);
    let end = m.into_summary(now);
    assert_eq!(end, summary, "the end-of-run summary says the same");
    (visits, sent.len() as u64, end)
}

/// The core does O(log n) work per call, never a pass over every target: driving 20,000
/// targets (answering, silent, refused, losing a probe, some stopped) costs a bounded number
/// of target and probe visits per target, and ten times the targets cost ten times the work
/// (a scan per call made it grow with the square). Work is counted, not timed.
#[test]
fn work_per_target_stays_constant_at_scale() {
    let small = 2_000;
    let large = 20_000;
    let (visits_small, sent_small, _) = drive_at_scale(small);
    let (visits, sent, run) = drive_at_scale(large);
    for s in &run.targets {
        assert!(s.counts.adds_up(), "{s:?}");
        let index = s.id.0 as usize;
        if index.is_multiple_of(97) && s.status == TargetStatus::Stopped {
            continue;
        }
        let expected = match behaviour(index) {
            Behaviour::Answers | Behaviour::LosesFirst => TargetStatus::Complete,
            Behaviour::Silent => TargetStatus::Unreachable(Unreachable::NoReply),
            Behaviour::Refused => TargetStatus::Unreachable(Unreachable::Refused),
        };
        assert_eq!(s.status, expected, "{s:?}");
        if expected == TargetStatus::Complete {
            assert_eq!(s.counts.received, 2, "{s:?}");
        }
    }
    assert!(
        run.targets
            .iter()
            .any(|s| s.status == TargetStatus::Stopped),
        "some targets were stopped mid-run"
    );
    let per_target = visits as f64 / large as f64;
    let per_probe = visits as f64 / sent as f64;
    eprintln!(
        "{small} targets: {visits_small} visits, {sent_small} probes; \
         {large} targets: {visits} visits ({per_target:.1} per target, {per_probe:.1} per probe), {sent} probes"
    );
    // One pass over all targets per call would be at least `large` visits per probe sent.
    assert!(
        visits <= 40 * sent,
        "{visits} visits for {sent} probes: more than a constant per probe"
    );
    // Ten times the targets: at most 11 times the work (linear, with room for the mix).
    assert!(
        visits * small as u64 <= 11 * visits_small * (large / 10) as u64,
        "work grew faster than the number of targets: {visits_small} -> {visits}"
    );
}
