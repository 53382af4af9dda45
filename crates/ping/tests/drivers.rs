//! The two drivers (`EngineConfig::dedicated_thread`): on Linux and Android a run of addresses
//! over UDP or ICMP is driven from a thread of its own, elsewhere (and when asked) on the
//! runtime. Both must measure, refuse, time out, forget forgeries, stop and cancel alike.
mod common;

use std::time::{Duration, Instant};

use common::{beacon, median, run, sim, targets};
use edgegap_ping::{EngineConfig, Event, ProtocolChoice, TargetId, TargetStatus, Unreachable};

fn config(dedicated_thread: bool) -> EngineConfig {
    let mut c = common::quick(Duration::from_millis(200));
    c.dedicated_thread = dedicated_thread;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_drivers_measure_refuse_time_out_and_drop_forgeries_alike() {
    let mut down = beacon("down", 71, 5.0);
    down.down = true;
    let mut silent = beacon("silent", 72, 5.0);
    silent.silent = true;
    let mut forged = beacon("forged", 73, 5.0);
    forged.wrong_source_port = true;
    let sim = sim(vec![beacon("clean", 70, 5.0), down, silent, forged]).await;
    for dedicated_thread in [true, false] {
        let config = config(dedicated_thread);
        let out = run(targets(&sim, ProtocolChoice::Udp), config.clone()).await;
        let s = &out.summary.targets;
        let why = format!("dedicated_thread {dedicated_thread}: {s:?}");
        assert_eq!(s[0].status, TargetStatus::Complete, "{why}");
        let m = median(&s[0].rtts);
        assert!(
            m >= Duration::from_micros(4800) && m <= Duration::from_millis(30),
            "median {m:?}, {why}"
        );
        // Linux reads the port unreachable from the error queue; elsewhere it is a timeout.
        let refused = if cfg!(any(target_os = "linux", target_os = "android")) {
            Unreachable::Refused
        } else {
            Unreachable::NoReply
        };
        assert_eq!(s[1].status, TargetStatus::Unreachable(refused), "{why}");
        assert_eq!(
            s[2].status,
            TargetStatus::Unreachable(Unreachable::NoReply),
            "{why}"
        );
        assert!(
            s[3].rtts.is_empty(),
            "a reply from another port is no sample: {why}"
        );
        assert!(out.summary.foreign > 0, "{why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_drivers_stop_a_target_and_cancel_the_run_promptly() {
    let specs = (0..4)
        .map(|i| beacon(&format!("far{i}"), 75 + i, 30.0))
        .collect();
    let sim = sim(specs).await;
    for dedicated_thread in [true, false] {
        let mut config = config(dedicated_thread);
        config.count = 50;
        config.timeout = Duration::from_secs(1);
        let mut run = edgegap_ping::start(targets(&sim, ProtocolChoice::Udp), config).unwrap();
        let control = run.control();
        let mut replies = 0;
        while let Some(e) = run.events.recv().await {
            if matches!(e, Event::Received { .. }) {
                replies += 1;
                if replies == 4 {
                    control.stop_target(TargetId(0));
                }
                if replies == 12 {
                    break;
                }
            }
        }
        let cancelled_at = Instant::now();
        control.cancel();
        let summary = run.finish().await;
        let why = format!("dedicated_thread {dedicated_thread}: {summary:?}");
        assert!(
            cancelled_at.elapsed() < Duration::from_millis(500),
            "finish took {:?}, {why}",
            cancelled_at.elapsed()
        );
        assert!(summary.ended_early(), "{why}");
        assert_eq!(summary.targets[0].status, TargetStatus::Stopped, "{why}");
        for s in &summary.targets[1..] {
            assert_eq!(s.status, TargetStatus::Cancelled, "{why}");
        }
        for s in &summary.targets {
            assert!(s.counts.adds_up(), "{why}");
        }
    }
}

/// The dedicated thread is what drives the run: it keeps sending while the runtime's only
/// thread is blocked, where the runtime's driver cannot.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[tokio::test(flavor = "current_thread")]
async fn a_run_on_its_own_thread_goes_on_while_the_runtime_is_blocked() {
    let specs = (0..4)
        .map(|i| beacon(&format!("near{i}"), 80 + i, 1.0))
        .collect();
    let sim = sim(specs).await;
    for dedicated_thread in [true, false] {
        let mut config = config(dedicated_thread);
        config.count = 20;
        config.interval = Duration::from_millis(10);
        let mut run = edgegap_ping::start(targets(&sim, ProtocolChoice::Udp), config).unwrap();
        let blocked_from = Instant::now();
        // Blocks the runtime's one thread. The simulated beacons are tasks on it too: they
        // answer once it is free again, within the 200 ms timeout.
        std::thread::sleep(Duration::from_millis(150));
        let blocked_until = Instant::now();
        let mut sent_while_blocked = 0;
        while let Some(e) = run.events.recv().await {
            if let Event::Sent { at, .. } = e
                && at > blocked_from
                && at < blocked_until
            {
                sent_while_blocked += 1;
            }
        }
        let summary = run.finish().await;
        if dedicated_thread {
            // 150 ms at 4 targets every 10 ms: about 60 sends; far fewer only if the thread
            // itself was starved for most of it.
            assert!(sent_while_blocked >= 10, "{sent_while_blocked} sends");
            for s in &summary.targets {
                assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
            }
        } else {
            assert_eq!(sent_while_blocked, 0);
        }
    }
}

/// The dedicated thread reads replies late while its next send is near (each is timed by the
/// kernel's stamp of its arrival): a busy run's round trips are those of a run that reads at
/// once, and nothing is lost or late for a reply left unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_read_late_keep_their_round_trips_and_lose_nothing() {
    let specs = (0..16)
        .map(|i| beacon(&format!("busy{i}"), 90 + i, 5.0))
        .collect();
    let sim = sim(specs).await;
    let mut config = config(true);
    config.count = 8;
    // A send every millisecond: every wait is short, so the thread reads late.
    config.interval = Duration::from_millis(16);
    let out = run(targets(&sim, ProtocolChoice::Udp), config).await;
    for s in &out.summary.targets {
        let why = format!("{s:?}");
        assert_eq!(s.status, TargetStatus::Complete, "{why}");
        assert!(s.counts.adds_up(), "{why}");
        assert_eq!((s.counts.lost, s.counts.late), (0, 0), "{why}");
        assert_eq!(s.counts.received, s.counts.sent, "{why}");
        let m = median(&s.rtts);
        assert!(
            m >= Duration::from_micros(4800) && m <= Duration::from_millis(30),
            "median {m:?}, {why}"
        );
    }
}
