//! Hostile beacons against the engine, beside honest ones, on loopback: a beacon that predicts
//! upcoming probes and sprays forged replies, one whose replies arrive before the probes they
//! claim to answer, and one that floods junk. None of them may ever get a sample (each never
//! echoes, so it must end unreachable), the honest beacons keep their true round trips, and
//! every forgery that reached the engine while it ran is counted as foreign.
mod common;

use std::time::{Duration, Instant};

use common::{Outcome, beacon, median, ms, sim, targets};
use edgegap_beacon_sim::hostile::{next_guess, old_layout};
use edgegap_beacon_sim::{BeaconSpec, Simulation};
use edgegap_ping::payload::{self, Header};
use edgegap_ping::{
    EngineConfig, Event, ProtocolChoice, Seq, TargetStatus, TargetSummary, Unreachable,
};

fn quick() -> EngineConfig {
    common::quick(Duration::from_millis(200))
}

/// A run, with how many datagrams the hostile beacon had forged when the run's last probe
/// went out (all of them reached the engine while it was still waiting for that probe) and
/// in all.
struct Watched {
    out: Outcome,
    forged_before_last_send: u64,
    forged_in_all: u64,
}

async fn run_watching(sim: &Simulation, hostile: usize, config: EngineConfig) -> Watched {
    let started = Instant::now();
    let mut run =
        edgegap_ping::start(targets(sim, ProtocolChoice::Udp), config.clone()).expect("starts");
    let mut events = Vec::new();
    let mut forged_before_last_send = 0;
    while let Some(e) = run.events.recv().await {
        if matches!(e, Event::Sent { .. }) {
            forged_before_last_send = sim.stats()[hostile].udp_forged;
        }
        events.push((Instant::now(), e));
    }
    let summary = run.finish().await;
    let forged_in_all = sim.stats()[hostile].udp_forged;
    let out = Outcome {
        started,
        events,
        summary,
    };
    out.assert_invariants(&config);
    Watched {
        out,
        forged_before_last_send,
        forged_in_all,
    }
}

/// The beacons of every test: honest ones at 20 and 40 ms around a hostile one that is
/// "really" 150 ms away (it never echoes, so that delay is never seen).
async fn scene(last: u8, hostile: impl FnOnce(&mut BeaconSpec)) -> Simulation {
    let mut bad = beacon("hostile", last + 1, 150.0);
    hostile(&mut bad);
    sim(vec![
        beacon("near", last, 20.0),
        bad,
        beacon("mid", last + 2, 40.0),
    ])
    .await
}

/// The hostile beacon got nothing; the honest ones got their true round trips.
fn assert_only_honest_samples(w: &Watched) {
    let [near, hostile, mid] = &w.out.summary.targets[..] else {
        panic!("three targets")
    };
    assert_no_sample(hostile);
    for (s, delay) in [(near, 20), (mid, 40)] {
        assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
        let floor = Duration::from_micros(delay * 1000 - 200);
        let delay = Duration::from_millis(delay);
        // Never below the injected delay (the loopback adds to it); loose above: other builds
        // may be loading the machine.
        assert!(
            s.rtts.iter().all(|r| *r >= floor),
            "a sample below the beacon's delay: {s:?}"
        );
        let m = median(&s.rtts);
        assert!(
            m <= delay + Duration::from_millis(15),
            "{}: median {:.2} ms",
            s.id,
            ms(m)
        );
    }
    // Only the hostile beacon sends what matches no probe: all its forgeries that reached
    // the engine while it was listening are foreign, and nothing else is.
    assert!(
        w.out.summary.foreign >= w.forged_before_last_send,
        "foreign {} < {} forged before the last probe",
        w.out.summary.foreign,
        w.forged_before_last_send
    );
    assert!(
        w.out.summary.foreign <= w.forged_in_all,
        "foreign {} > {} forged in all",
        w.out.summary.foreign,
        w.forged_in_all
    );
}

fn assert_no_sample(s: &TargetSummary) {
    assert_eq!(
        s.status,
        TargetStatus::Unreachable(Unreachable::NoReply),
        "{s:?}"
    );
    assert!(s.rtts.is_empty(), "{s:?}");
    assert_eq!(
        (s.counts.received, s.counts.late, s.counts.duplicates),
        (0, 0, 0),
        "no forgery may pass for an answer, even a late one: {s:?}"
    );
    assert_eq!(s.counts.lost, s.counts.sent, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beacon_predicting_and_spraying_replies_never_gets_a_sample() {
    let sim = scene(70, |b| {
        b.predict_and_spray = 8;
        b.spray_every_ms = 1.0;
    })
    .await;
    let w = run_watching(&sim, 1, quick()).await;
    assert_only_honest_samples(&w);
    // The spray ran for the whole run: hundreds of forgeries, one at least for each probe.
    let hostile = &w.out.summary.targets[1];
    assert!(
        w.forged_before_last_send >= 16 * u64::from(hostile.counts.sent),
        "only {} forgeries",
        w.forged_before_last_send
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beacon_answering_before_the_probes_are_sent_never_gets_a_sample() {
    let sim = scene(73, |b| {
        b.early_replies = 8;
        b.early_by_ms = 0.5;
    })
    .await;
    let w = run_watching(&sim, 1, quick()).await;
    assert_only_honest_samples(&w);
    let hostile = &w.out.summary.targets[1];
    assert!(
        w.forged_before_last_send >= 16 * 2 && hostile.counts.sent >= 3,
        "only {} forgeries",
        w.forged_before_last_send
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_beacon_never_gets_a_sample_and_every_junk_datagram_is_foreign() {
    let sim = scene(76, |b| b.flood = 50).await;
    let w = run_watching(&sim, 1, quick()).await;
    assert_only_honest_samples(&w);
    // A flood leaves at once on each probe, while the engine waits for that probe's answer.
    let hostile = &w.out.summary.targets[1];
    assert!(
        w.out.summary.foreign >= 50 * u64::from(hostile.counts.sent),
        "foreign {} for {} probes",
        w.out.summary.foreign,
        hostile.counts.sent
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beacon_doing_everything_at_once_never_gets_a_sample() {
    let sim = scene(79, |b| {
        b.predict_and_spray = 8;
        b.early_replies = 8;
        b.flood = 20;
    })
    .await;
    let w = run_watching(&sim, 1, quick()).await;
    assert_only_honest_samples(&w);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_mode_gives_up_this_protection() {
    // Documented: lenient mode takes any datagram from the beacon as an answer, so a beacon
    // that never echoes but sprays looks close. Strict mode (above) is the protection.
    let mut sprayer = beacon("sprayer", 82, 150.0);
    sprayer.predict_and_spray = 2;
    let sim = sim(vec![sprayer]).await;
    let mut config = quick();
    config.lenient = true;
    let out = common::run(targets(&sim, ProtocolChoice::Udp), config).await;
    let s = &out.summary.targets[0];
    assert_eq!(s.status, TargetStatus::Complete, "{s:?}");
    assert!(
        median(&s.rtts) < Duration::from_millis(100),
        "{s:?}: a 150 ms beacon measured faster, as documented"
    );
    assert!(s.rtts.iter().all(|r| !r.is_zero()));
}

#[test]
fn the_simulators_best_guess_is_well_formed_so_only_the_secret_stops_it() {
    // The hostile simulator reads the documented layout correctly: its guess of probe 8 made
    // from probe 7 decodes as probe 8, carrying probe 7's secret (which the core compares with
    // probe 8's own, see the machine tests); its old-layout forgery is not even well-formed.
    let (nonce, secret) = (0x0102_0304_0506_0708, 0xFEDC_BA98_7654_3210);
    let seen = payload::encode(nonce, Seq(7), secret, 32);
    let guess = next_guess(&seen, 8).unwrap();
    assert_eq!(
        payload::decode(nonce, 32, &guess),
        Some(Header {
            seq: Seq(8),
            secret
        })
    );
    assert_eq!(
        guess,
        payload::encode(nonce, Seq(8), secret, 32),
        "the guess is what the engine would send for 8 if it reused 7's secret"
    );
    assert_eq!(
        payload::decode(nonce, 32, &old_layout(&seen, 8).unwrap()),
        None
    );
}
