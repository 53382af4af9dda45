//! The harsh preset on real sockets: a short smoke test. Which probes get an answer is exact
//! (it depends on the seed and the order of the datagrams only, and is checked against the
//! model); the round trips are bounded from below exactly and from above loosely. The model's
//! statistics are tested deterministically in the crate (`src/network.rs`,
//! `src/behaviour.rs`).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use edgegap_beacon_sim::{BeaconSpec, Behaviour, Decision, Scenario};
use tokio::net::UdpSocket;

const PROBES: u32 = 20;
const SEED: u64 = 42;

/// What the model says each of `PROBES` probes gets, the shared congestion left out (it only
/// ever adds delay, and depends on when a probe arrives).
fn expected(spec: &BeaconSpec, index: usize) -> Vec<Option<Duration>> {
    let mut model = Behaviour::new(
        &BeaconSpec {
            congestion: None,
            ..spec.clone()
        },
        SEED,
        index,
    );
    (0..PROBES)
        .map(|_| match model.decide(Duration::ZERO) {
            Decision::Drop => None,
            Decision::Reply(delay) => Some(delay),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harsh_preset_echoes_on_loopback_as_its_model_says() {
    let scenario = Scenario::harsh(SEED);
    let sim = scenario.start().await.unwrap();
    assert_eq!(sim.beacons().len(), 12);
    assert!(sim.beacons().iter().all(|b| b.tcp.is_none()));
    let targets: Vec<SocketAddr> = sim.beacons().iter().map(|b| b.udp.unwrap()).collect();
    let model: Vec<Vec<Option<Duration>>> = scenario
        .beacons
        .iter()
        .enumerate()
        .map(|(i, b)| expected(b, i))
        .collect();
    let answers = model.iter().flatten().filter(|d| d.is_some()).count();
    assert!(
        answers > 200 && answers < 240,
        "{answers} of 240 at 5 % loss"
    );

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sent_at = RefCell::new(vec![vec![None::<Instant>; PROBES as usize]; targets.len()]);
    // Round after round, every beacon probed within a fraction of a millisecond.
    let send = async {
        for probe in 0..PROBES {
            for (beacon, target) in targets.iter().enumerate() {
                let mut payload = [0u8; 5];
                payload[0] = beacon as u8;
                payload[1..].copy_from_slice(&probe.to_be_bytes());
                sent_at.borrow_mut()[beacon][probe as usize] = Some(Instant::now());
                socket.send_to(&payload, target).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    // Until every answer the model expects is in (a generous limit for a loaded machine),
    // then a little longer for any that should not come.
    let receive = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        let limit = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let until = if got.len() < answers {
                limit
            } else {
                tokio::time::Instant::now() + Duration::from_millis(300)
            };
            match tokio::time::timeout_at(until, socket.recv_from(&mut buf)).await {
                Ok(Ok((5, from))) => {
                    let at = Instant::now();
                    let beacon = usize::from(buf[0]);
                    let probe = u32::from_be_bytes(buf[1..5].try_into().unwrap());
                    assert_eq!(from, targets[beacon]);
                    got.push((beacon, probe, at));
                }
                Ok(other) => panic!("unexpected datagram {other:?}"),
                Err(_) => return got,
            }
        }
    };
    let ((), got) = tokio::join!(send, receive);

    let sent_at = sent_at.into_inner();
    let mut answered = vec![vec![false; PROBES as usize]; targets.len()];
    for (beacon, probe, at) in got {
        assert!(
            !std::mem::replace(&mut answered[beacon][probe as usize], true),
            "beacon {beacon} probe {probe} answered twice"
        );
        let rtt = at - sent_at[beacon][probe as usize].unwrap();
        let floor = model[beacon][probe as usize]
            .unwrap_or_else(|| panic!("beacon {beacon} answered probe {probe}, which it drops"));
        // Exact from below: delay, jitter and spike as drawn, plus congestion (>= 0). From
        // above: at most 80 ms of congestion, and room for a loaded machine.
        assert!(
            rtt >= floor,
            "beacon {beacon} probe {probe}: {rtt:?} < {floor:?}"
        );
        assert!(
            rtt < floor + Duration::from_millis(80 + 2000),
            "beacon {beacon} probe {probe}: {rtt:?}"
        );
    }
    for (beacon, (answered, model)) in answered.iter().zip(&model).enumerate() {
        let expected: Vec<bool> = model.iter().map(Option::is_some).collect();
        assert_eq!(
            answered, &expected,
            "beacon {beacon}: answers as the model says"
        );
    }
    for (stats, model) in sim.stats().iter().zip(&model) {
        let replies = model.iter().filter(|d| d.is_some()).count() as u64;
        assert_eq!(
            (stats.udp_received, stats.udp_replied, stats.udp_dropped),
            (u64::from(PROBES), replies, u64::from(PROBES) - replies),
            "{stats:?}"
        );
    }
    sim.shutdown().await;
}
