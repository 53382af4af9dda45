//! `start_observed`: the events go to an observer called where the engine runs, which steers
//! the run at once; `finish` hands it back with every event seen, under both drivers.
mod common;

use std::time::{Duration, Instant};

use common::{beacon, sim, targets};
use edgegap_ping::{EngineConfig, Event, Observer, ProtocolChoice, Steer, TargetId, TargetStatus};

/// Keeps every event, stops target 0 after its third reply, and asks for a look every 5 ms.
#[derive(Default)]
struct Watcher {
    events: Vec<Event>,
    calls: usize,
    stopped: bool,
    next: Option<Instant>,
}

impl Observer for Watcher {
    fn observe(&mut self, events: &mut Vec<Event>, now: Instant, steer: &mut Steer) {
        self.calls += 1;
        self.events.append(events);
        let replies_of_0 = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Received { target, .. } if *target == TargetId(0)))
            .count();
        if replies_of_0 >= 3 && !self.stopped {
            self.stopped = true;
            steer.stop_target(TargetId(0));
        }
        self.next = Some(now + Duration::from_millis(5));
    }

    fn next_look(&self) -> Option<Instant> {
        self.next.or_else(|| Some(Instant::now()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_sees_every_event_and_steers_the_run_under_both_drivers() {
    let specs = (0..3)
        .map(|i| beacon(&format!("obs{i}"), 90 + i, 2.0))
        .collect();
    let sim = sim(specs).await;
    for dedicated_thread in [true, false] {
        let mut config = EngineConfig::default();
        config.count = 20;
        config.interval = Duration::from_millis(10);
        config.dedicated_thread = dedicated_thread;
        let run = edgegap_ping::start_observed(
            targets(&sim, ProtocolChoice::Udp),
            config,
            Watcher::default(),
        )
        .unwrap();
        let (watcher, finished) = run.finish().await.unwrap();
        let summary = finished.summary();
        let why = format!("dedicated_thread {dedicated_thread}: {summary:?}");
        assert_eq!(summary.targets[0].status, TargetStatus::Stopped, "{why}");
        assert!(summary.targets[0].counts.received < 20, "{why}");
        for s in &summary.targets[1..] {
            assert_eq!(s.status, TargetStatus::Complete, "{why}");
        }
        // Every probe the summary counts was an event the observer saw, and one `Done` each.
        for s in &summary.targets {
            let sent = watcher
                .events
                .iter()
                .filter(|e| matches!(e, Event::Sent { target, .. } if *target == s.id))
                .count();
            let received = watcher
                .events
                .iter()
                .filter(|e| matches!(e, Event::Received { target, .. } if *target == s.id))
                .count();
            assert_eq!(sent as u32, s.counts.sent, "{why}");
            assert_eq!(received as u32, s.counts.received, "{why}");
            let done = watcher
                .events
                .iter()
                .filter(|e| matches!(e, Event::Done { summary } if summary.id == s.id))
                .count();
            assert_eq!(done, 1, "{why}");
        }
        // It was called for batches along the run, not once at its end.
        assert!(watcher.calls > 3, "{} calls, {why}", watcher.calls);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_can_cancel_its_run() {
    struct Canceller;
    impl Observer for Canceller {
        fn observe(&mut self, events: &mut Vec<Event>, _: Instant, steer: &mut Steer) {
            if events.iter().any(|e| matches!(e, Event::Received { .. })) {
                steer.cancel();
            }
        }
    }
    let sim = sim(vec![beacon("c0", 95, 2.0), beacon("c1", 96, 2.0)]).await;
    for dedicated_thread in [true, false] {
        let mut config = EngineConfig::default();
        config.count = 100;
        config.dedicated_thread = dedicated_thread;
        let started = Instant::now();
        let run =
            edgegap_ping::start_observed(targets(&sim, ProtocolChoice::Udp), config, Canceller)
                .unwrap();
        let (_, finished) = run.finish().await.unwrap();
        let summary = finished.summary();
        assert!(summary.ended_early(), "{summary:?}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        for s in &summary.targets {
            assert_eq!(s.status, TargetStatus::Cancelled, "{s:?}");
            assert!(s.counts.adds_up(), "{s:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_an_observed_run_stops_its_probes() {
    struct Quiet;
    impl Observer for Quiet {
        fn observe(&mut self, events: &mut Vec<Event>, _: Instant, _: &mut Steer) {
            events.clear();
        }
    }
    let mut silent = beacon("silent", 97, 5.0);
    silent.silent = true;
    let sim = sim(vec![silent]).await;
    for dedicated_thread in [true, false] {
        let mut config = EngineConfig::default();
        config.count = 1000;
        config.extra_probes = 0;
        config.interval = Duration::from_millis(5);
        config.dedicated_thread = dedicated_thread;
        let before = sim.stats()[0].udp_received;
        let run = edgegap_ping::start_observed(targets(&sim, ProtocolChoice::Udp), config, Quiet)
            .unwrap();
        // Probes flow, then the run is dropped without finishing it.
        tokio::time::sleep(Duration::from_millis(60)).await;
        drop(run);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let settled = sim.stats()[0].udp_received;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(settled >= before + 3, "{before} then {settled}");
        assert_eq!(
            sim.stats()[0].udp_received,
            settled,
            "probes kept coming after the run was dropped (dedicated_thread {dedicated_thread})"
        );
    }
}
