//! Loss, silence, closed ports, forged / altered / duplicate replies, lenient mode,
//! unresolvable names and cancellation, against real beacons on loopback.
mod common;

use std::time::{Duration, Instant};

use common::{beacon, median, ms, run, sim, targets};
use edgegap_ping::{
    EngineConfig, Event, Host, Ports, ProtocolChoice, TargetId, TargetSpec, TargetStatus,
    Unreachable,
};

fn quick() -> EngineConfig {
    common::quick(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_loss_is_reported_within_bounds() {
    let lossy = |i: u8| {
        let mut b = beacon(&format!("lossy{i}"), 30 + i, 5.0);
        b.loss = 0.3;
        b
    };
    let sim = sim(vec![lossy(0), lossy(1), lossy(2)]).await;
    let config = {
        let mut c = EngineConfig::default();
        c.count = 20;
        c.extra_probes = 30;
        c.timeout = Duration::from_millis(300);
        c
    };
    let out = run(targets(&sim, ProtocolChoice::Udp), config).await;
    let (mut lost, mut decided) = (0, 0);
    for s in &out.summary.targets {
        assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
        lost += s.counts.lost + s.counts.late;
        decided += s.counts.received + s.counts.lost + s.counts.late;
        // Loss never costs accuracy: every sample is still the beacon's delay (loose above:
        // other builds may be loading the machine; never below the injected delay).
        let m = median(&s.rtts);
        assert!(
            m >= Duration::from_micros(4800) && m <= Duration::from_millis(30),
            "median {:.2} ms",
            ms(m)
        );
    }
    let fraction = f64::from(lost) / f64::from(decided);
    assert!(
        (0.1..=0.5).contains(&fraction),
        "loss {fraction:.3} over {decided} probes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_beacon_ends_no_reply_without_any_rtt() {
    let mut silent = beacon("silent", 40, 5.0);
    silent.silent = true;
    let sim = sim(vec![silent, beacon("clean", 41, 5.0)]).await;
    let out = run(targets(&sim, ProtocolChoice::Udp), quick()).await;
    let s = &out.summary.targets[0];
    assert_eq!(
        s.status,
        TargetStatus::Unreachable(Unreachable::NoReply),
        "{s:?}"
    );
    assert!(s.rtts.is_empty());
    assert_eq!(
        (s.counts.sent, s.counts.lost),
        (6, 6),
        "the whole budget, all timed out: {s:?}"
    );
    assert_eq!(out.summary.targets[1].status, TargetStatus::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_beacon_is_refused_long_before_the_timeout() {
    let mut down = beacon("down", 42, 5.0);
    down.down = true;
    let sim = sim(vec![down, beacon("clean", 43, 100.0)]).await;
    let config = EngineConfig::default(); // 1 s timeout
    let out = run(targets(&sim, ProtocolChoice::Udp), config.clone()).await;
    let s = &out.summary.targets[0];
    assert_eq!(
        s.status,
        TargetStatus::Unreachable(Unreachable::Refused),
        "{s:?}"
    );
    assert!(s.rtts.is_empty());
    assert!(
        out.done_after(0) < config.timeout / 2,
        "refused after {:?}",
        out.done_after(0)
    );
    assert_eq!(out.summary.targets[1].status, TargetStatus::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_altered_and_duplicate_replies_never_change_an_rtt() {
    let mut forged = beacon("forged", 44, 20.0);
    forged.wrong_source_port = true;
    let mut altered = beacon("altered", 45, 20.0);
    altered.alter_bytes = true;
    let mut dup = beacon("dup", 46, 20.0);
    dup.duplicates = 2;
    let sim = sim(vec![beacon("clean", 47, 20.0), forged, altered, dup]).await;
    let out = run(targets(&sim, ProtocolChoice::Udp), quick()).await;
    let [clean, forged, altered, dup] = &out.summary.targets[..] else {
        panic!("four targets")
    };
    assert_eq!(clean.status, TargetStatus::Complete);
    for s in [forged, altered] {
        assert_eq!(
            s.status,
            TargetStatus::Unreachable(Unreachable::NoReply),
            "{s:?}"
        );
        assert!(
            s.rtts.is_empty(),
            "a forged or altered reply is never a sample: {s:?}"
        );
    }
    // Every forged and altered reply was seen and counted as foreign.
    assert!(
        out.summary.foreign >= u64::from(forged.counts.sent + altered.counts.sent),
        "foreign {}",
        out.summary.foreign
    );
    assert_eq!(dup.status, TargetStatus::Complete);
    assert_eq!(dup.rtts.len(), clean.rtts.len());
    // A duplicate carries its probe's sequence number: it is never taken for another probe's
    // answer, so no sample is below the injected delay, and the figures match the clean
    // beacon's (within scheduling noise).
    assert!(
        dup.rtts
            .iter()
            .chain(&clean.rtts)
            .all(|r| *r >= Duration::from_micros(19_800)),
        "{dup:?} {clean:?}"
    );
    let (c, d) = (median(&clean.rtts), median(&dup.rtts));
    assert!(
        c.abs_diff(d) < Duration::from_millis(15),
        "clean {:.2} ms, duplicated {:.2} ms",
        ms(c),
        ms(d)
    );
    // Two extra copies per reply: counted as duplicates, or as stale once the target is done.
    let extra = u64::from(dup.counts.duplicates) + out.summary.stale;
    assert!(
        extra >= 2 * u64::from(dup.counts.received) - 2,
        "duplicates {} stale {}",
        dup.counts.duplicates,
        out.summary.stale
    );
    assert!(dup.counts.duplicates >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_mode_accepts_a_beacon_that_does_not_echo() {
    let mut pong = beacon("pong", 48, 10.0);
    pong.reply_with = Some("pong".into());
    let sim = sim(vec![pong]).await;
    let strict = run(targets(&sim, ProtocolChoice::Udp), quick()).await;
    assert_eq!(
        strict.summary.targets[0].status,
        TargetStatus::Unreachable(Unreachable::NoReply)
    );
    assert!(strict.summary.foreign >= 3);
    let lenient = run(targets(&sim, ProtocolChoice::Udp), {
        let mut c = quick();
        c.lenient = true;
        c
    })
    .await;
    let s = &lenient.summary.targets[0];
    assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
    let m = median(&s.rtts);
    assert!(
        m >= Duration::from_micros(9800) && m <= Duration::from_millis(40),
        "median {:.2} ms",
        ms(m)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_name_is_that_targets_error_only() {
    let sim = sim(vec![beacon("clean", 49, 5.0)]).await;
    let mut list = targets(&sim, ProtocolChoice::Udp);
    list.push(TargetSpec {
        id: TargetId(99),
        host: Host::Name("nothing.invalid".into()),
        ports: Ports {
            udp: Some(9),
            tcp: None,
        },
        protocol: ProtocolChoice::Udp,
    });
    list.push(TargetSpec {
        id: TargetId(100),
        host: Host::Name("localhost".into()),
        ports: Ports {
            udp: None,
            tcp: None,
        },
        protocol: ProtocolChoice::Udp,
    });
    let out = run(list, quick()).await;
    assert_eq!(out.summary.targets[0].status, TargetStatus::Complete);
    assert!(
        matches!(
            out.summary.targets[1].status,
            TargetStatus::Unreachable(Unreachable::ResolveFailed(_))
        ),
        "{:?}",
        out.summary.targets[1]
    );
    assert_eq!(
        out.summary.targets[2].status,
        TargetStatus::Unreachable(Unreachable::NoPort(edgegap_ping::Protocol::Udp))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_run_returns_promptly_with_what_was_measured() {
    let specs = (0..5)
        .map(|i| beacon(&format!("far{i}"), 50 + i, 60.0))
        .collect();
    let sim = sim(specs).await;
    let config = {
        let mut c = EngineConfig::default();
        c.count = 50;
        c.interval = Duration::from_millis(20);
        c
    };
    let mut run = edgegap_ping::start(targets(&sim, ProtocolChoice::Udp), config).unwrap();
    let control = run.control();
    let mut replies = 0;
    while let Some(e) = run.events.recv().await {
        if matches!(e, Event::Received { .. }) {
            replies += 1;
            if replies == 10 {
                break;
            }
        }
    }
    let cancelled_at = Instant::now();
    control.cancel();
    let summary = run.finish().await;
    assert!(
        cancelled_at.elapsed() < Duration::from_millis(500),
        "finish took {:?}",
        cancelled_at.elapsed()
    );
    assert!(summary.ended_early());
    let answered: u32 = summary.targets.iter().map(|s| s.counts.received).sum();
    assert!(answered >= 10);
    let in_flight: u32 = summary.targets.iter().map(|s| s.counts.cancelled).sum();
    assert!(in_flight > 0, "probes in flight end cancelled: {summary:?}");
    for s in &summary.targets {
        assert_eq!(s.status, TargetStatus::Cancelled);
        assert!(s.counts.received < 50, "partial data: {s:?}");
        assert_eq!(
            s.counts.sent,
            s.counts.received + s.counts.lost + s.counts.late + s.counts.cancelled
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_target_ends_it_and_the_others_go_on() {
    let sim = sim(vec![beacon("a", 56, 30.0), beacon("b", 57, 30.0)]).await;
    let config = {
        let mut c = EngineConfig::default();
        c.count = 10;
        c
    };
    let mut run = edgegap_ping::start(targets(&sim, ProtocolChoice::Udp), config).unwrap();
    let control = run.control();
    let mut stopped_done = None;
    while let Some(e) = run.events.recv().await {
        match &e {
            Event::Received {
                target: TargetId(0),
                ..
            } if stopped_done.is_none() => control.stop_target(TargetId(0)),
            Event::Done { summary } if summary.id == TargetId(0) => {
                stopped_done = Some(summary.clone());
            }
            _ => {}
        }
    }
    let summary = run.finish().await;
    let s0 = stopped_done.unwrap();
    assert_eq!(s0.status, TargetStatus::Stopped);
    assert!(s0.counts.received < 10);
    assert_eq!(summary.targets[1].status, TargetStatus::Complete);
    assert_eq!(summary.targets[1].counts.received, 10);
    assert!(!summary.ended_early());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_udp_to_loopback() {
    let sim = sim(vec![edgegap_beacon_sim::BeaconSpec::new(
        "v6",
        "::1".parse().unwrap(),
        10.0,
    )])
    .await;
    let out = run(targets(&sim, ProtocolChoice::Udp), quick()).await;
    let s = &out.summary.targets[0];
    assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
    assert!(s.addr.unwrap().is_ipv6());
    let m = median(&s.rtts);
    assert!(
        m >= Duration::from_micros(9800) && m <= Duration::from_millis(40),
        "median {:.2} ms",
        ms(m)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_ends_the_run_and_says_so() {
    let mut silent = beacon("silent", 58, 5.0);
    silent.silent = true;
    let sim = sim(vec![silent]).await;
    let config = {
        let mut c = EngineConfig::default();
        c.deadline = Some(Duration::from_millis(150));
        c
    };
    let out = run(targets(&sim, ProtocolChoice::Udp), config).await;
    let s = &out.summary.targets[0];
    assert_eq!(out.summary.stopped, Some(edgegap_ping::RunStop::Deadline));
    assert_eq!(s.status, TargetStatus::Deadline, "{s:?}");
    assert_eq!(s.unreachable(), Some(edgegap_ping::Unreachable::Deadline));
    assert_eq!(
        s.counts.cancelled, s.counts.sent,
        "every probe was still in flight (1 s timeout): {s:?}"
    );
    assert!(out.summary.elapsed >= Duration::from_millis(150));
    assert!(
        out.summary.elapsed < Duration::from_secs(1),
        "{:?}",
        out.summary.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_run_stops_its_probes() {
    let mut silent = beacon("silent", 59, 5.0);
    silent.silent = true;
    let sim = sim(vec![silent]).await;
    let config = {
        let mut c = EngineConfig::default();
        c.count = 1000;
        c.extra_probes = 0;
        c.interval = Duration::from_millis(5);
        c
    };
    let mut run = edgegap_ping::start(targets(&sim, ProtocolChoice::Udp), config).unwrap();
    // Wait until probes flow, then drop the run without finishing it.
    while let Some(e) = run.events.recv().await {
        if matches!(e, Event::Sent { seq, .. } if seq.0 >= 3) {
            break;
        }
    }
    drop(run);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let settled = sim.stats()[0].udp_received;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(settled >= 3);
    assert_eq!(
        sim.stats()[0].udp_received,
        settled,
        "probes kept coming after the run was dropped"
    );
}
